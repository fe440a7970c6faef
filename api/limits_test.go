package api_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/baoguan/baoguan/core"
)

// limitsGroup runs on a harness with the default limits: 20 wrong keys
// from one address (the harness's client, 127.0.0.1) are each 401, then
// every authenticated route refuses that address with 429, Retry-After
// and the code too_many_failures — the right key included, since while
// refused no key is checked.
func limitsGroup(t *testing.T, h *harness) {
	var table []scenario
	// Successful calls take nothing from the limit.
	for i := range 30 {
		table = append(table, scenario{Name: fmt.Sprintf("right key %d", i+1), Method: "GET", Path: "/v1/merchant", Status: 200})
	}
	for i := range 20 {
		table = append(table, scenario{Name: fmt.Sprintf("wrong key %d", i+1), Method: "GET", Path: "/v1/merchant",
			Auth: "Bearer bg_wrong_" + strconv.Itoa(i), Status: 401, Expect: []string{errFrag("unauthorized")}})
	}
	retryAfter := func(t *testing.T, r *response) {
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 5 {
			t.Errorf("Retry-After %q, want 1 to 5 seconds (one failure back every 5 s)", r.Header.Get("Retry-After"))
		}
	}
	routes := []struct{ method, path string }{
		{"POST", "/v1/orders"}, {"GET", "/v1/orders"}, {"GET", "/v1/orders/X-1"}, {"POST", "/v1/orders/X-1/pay"},
		{"POST", "/v1/orders/X-1/declarations"}, {"GET", "/v1/orders/X-1/declarations"}, {"GET", "/v1/orders/X-1/calls"},
		{"POST", "/v1/refunds"}, {"GET", "/v1/refunds/R-1"}, {"POST", "/v1/batches"}, {"GET", "/v1/batches/1"},
		{"POST", "/v1/batches/1/pay"}, {"GET", "/v1/batches/1/orders"}, {"GET", "/v1/events"}, {"GET", "/v1/events/1"},
		{"POST", "/v1/events/1/redeliver"}, {"GET", "/v1/merchant"}, {"PATCH", "/v1/merchant"},
	}
	for _, rt := range routes {
		table = append(table, scenario{Name: "refused " + rt.method + " " + rt.path + " with the right key", Method: rt.method, Path: rt.path,
			Body: obj{}, Status: 429, Expect: []string{errFrag("too_many_failures")}, Check: retryAfter})
	}
	table = append(table, scenario{Name: "refused with a wrong key", Method: "GET", Path: "/v1/merchant", Auth: "Bearer bg_wrong",
		Status: 429, Expect: []string{errFrag("too_many_failures")}, Check: retryAfter})
	h.run(t, table)
}

// TestAuthLimits: the native API's failed-authentication limit.
func TestAuthLimits(t *testing.T) {
	limitsGroup(t, newHarnessLimits(t, "sqlite", core.Limits{}))
}
