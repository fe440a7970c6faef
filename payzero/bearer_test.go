package payzero_test

import (
	"io"
	"net/http"
	"testing"
)

// TestBearerSchemeCaseInsensitive: the Authorization scheme is matched
// whatever its case (RFC 9110 §11.1), with one space or more; other
// schemes and a bare token are refused.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	h := newHarness(t)
	m := h.newMerchant("bearer")
	tok := m.login()
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{"Bearer " + tok, true}, {"bearer " + tok, true}, {"BEARER " + tok, true}, {"bEaReR " + tok, true},
		{"Bearer   " + tok, true}, {"Basic " + tok, false}, {tok, false}, {"Bearer" + tok, false}, {"Bearer ", false},
	} {
		req, _ := http.NewRequest("GET", h.srv.URL+"/payzero/order/feedback?mchtOrderNo=NONE", nil)
		req.Header.Set("Authorization", tc.header)
		res, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if authed := res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusForbidden; authed != tc.ok {
			t.Errorf("Authorization %.20q…: %d %s, want authenticated %v", tc.header, res.StatusCode, b, tc.ok)
		}
	}
}
