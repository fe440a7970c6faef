package pushorder_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/pushorder"
)

// TestAccess checks how a MerchantName is bound to its caller: by the
// secret path segment and/or the source network. Every refusal is 9912,
// on PushOrder and GetOrder alike (a query for an order that does not exist
// is 9999, so a client can tell the two apart), and writes nothing, in the
// named merchant or any other.
func TestAccess(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	// An order of A that strangers will try to read.
	mustOK(t, h.push(t, h.A, sampleOrder("ACC-A", "Merchant A")))

	cases := []struct {
		name   string
		path   string
		merch  string // MerchantName sent
		header []string
		ok     bool
	}{
		{"token and network", "/pushorder/tokA", "Merchant A", nil, true},
		{"network only merchant, plain path", "/pushorder", "Net Only", nil, true},
		{"token only merchant", "/pushorder/tokB", "Merchant B", nil, true},

		{"wrong token", "/pushorder/tokX", "Merchant A", nil, false},
		{"token merchant on the plain path", "/pushorder", "Merchant B", nil, false},
		{"another merchant's token", "/pushorder/tokA", "Merchant B", nil, false},
		{"a token for a network-only merchant", "/pushorder/tokA", "Net Only", nil, false},
		{"outside the allowed network", "/pushorder", "Far Net", nil, false},
		{"X-Forwarded-For is not trusted by default", "/pushorder", "Far Net", []string{"X-Forwarded-For", "203.0.113.9"}, false},
		{"merchant without pushorder settings", "/pushorder", "No Access", nil, false},
		{"unknown merchant", "/pushorder/tokA", "Nobody", nil, false},
		{"no MerchantName", "/pushorder/tokA", "", nil, false},
		{"name case matters", "/pushorder/tokA", "merchant a", nil, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			no := "ACC-" + strings.Repeat("x", i+1)
			counts := map[string]int{}
			for _, a := range []account{h.A, h.B, h.Net, h.Far, h.None} {
				counts[a.M.No] = len(h.orders(t, a))
			}
			r := h.call(t, c.path+"/PushTestOrder", sampleOrder(no, c.merch).body(), c.header...)
			if c.ok != (r.ReturnCode == pushorder.CodeOK) {
				t.Fatalf("push: %s %s", r.ReturnCode, r.ReturnMsg)
			}
			if !c.ok {
				if r.ReturnCode != pushorder.CodeUnsigned {
					t.Errorf("push refused with %s, want 9912", r.ReturnCode)
				}
				for _, a := range []account{h.A, h.B, h.Net, h.Far, h.None} {
					if n := len(h.orders(t, a)); n != counts[a.M.No] {
						t.Errorf("refused push wrote an order of %s (%d → %d)", a.M.Name, counts[a.M.No], n)
					}
				}
			}
			// The same binding guards the query: A's order is only A's.
			b, _ := json.Marshal(map[string]string{"OrderNo": "ACC-A", "MerchantName": c.merch})
			q := h.call(t, c.path+"/GetOrder", "data="+string(b), c.header...)
			switch {
			case !c.ok && q.ReturnCode != pushorder.CodeUnsigned:
				t.Errorf("refused query answered %+v, want 9912", q)
			case !c.ok && (q.PaymentNo != "" || q.PaymentStatus != nil || q.CustomsMsg != ""):
				t.Errorf("refused query shows order data: %+v", q)
			case c.ok && c.merch == "Merchant A" && q.ReturnCode != pushorder.CodeOK:
				t.Errorf("A cannot read its own order: %+v", q)
			case c.ok && c.merch != "Merchant A" && q.ReturnMsg != "获取信息失败：订单不存在":
				t.Errorf("%s reads A's order: %+v", c.merch, q)
			}
		})
	}
}

// TestTrustedProxy checks allow-net behind a reverse proxy: the client is
// the rightmost X-Forwarded-For address that is not a trusted proxy.
func TestTrustedProxy(t *testing.T) {
	h := newHarness(t, harnessOptions{proxies: "127.0.0.1/32,10.0.0.0/8"})
	cases := []struct {
		xff string
		ok  bool
	}{
		{"203.0.113.9", true},
		{"203.0.113.9, 10.1.2.3", true},      // through a second trusted proxy
		{"203.0.113.9, 198.51.100.7", false}, // the hop next to us is not in Far's network
		{"198.51.100.7, 203.0.113.9", true},  // whatever the client wrote on the left is ignored
		{"", false},                          // the proxy itself (127.0.0.1) is not in Far's network
		{"not-an-ip", false},
	}
	for i, c := range cases {
		no := "PXY-" + strings.Repeat("x", i+1)
		r := h.call(t, "/pushorder/PushTestOrder", sampleOrder(no, "Far Net").body(), "X-Forwarded-For", c.xff)
		if c.ok != (r.ReturnCode == pushorder.CodeOK) {
			t.Errorf("X-Forwarded-For %q: %s %s", c.xff, r.ReturnCode, r.ReturnMsg)
		}
		_, err := h.svc.Order(context.Background(), h.Far.M, no)
		if c.ok != (err == nil) {
			t.Errorf("X-Forwarded-For %q: stored=%v", c.xff, err == nil)
		}
	}
}

// TestGetOrderNoAccessVsNoOrder: a misconfigured client (wrong token) and a
// client asking for an order that does not exist get different answers —
// 9912, PushOrder's signing code, for the first; 9999 for the second — and
// neither shows any order data.
func TestGetOrderNoAccessVsNoOrder(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	mustOK(t, h.push(t, h.A, sampleOrder("NA-1", "Merchant A")))
	get := func(path, no string) reply {
		b, _ := json.Marshal(map[string]string{"OrderNo": no, "MerchantName": "Merchant A"})
		return h.call(t, path+"/GetOrder", "data="+string(b))
	}
	if r := get("/pushorder/tokWRONG", "NA-1"); r.ReturnCode != pushorder.CodeUnsigned || !strings.Contains(r.ReturnMsg, "未签约") || r.PaymentNo != "" {
		t.Errorf("no access: %+v", r)
	}
	if r := get("/pushorder/tokA", "NA-NONE"); r.ReturnCode != pushorder.CodeQueryFailed || r.ReturnMsg != "获取信息失败：订单不存在" {
		t.Errorf("no such order: %+v", r)
	}
	if r := get("/pushorder/tokA", "NA-1"); r.ReturnCode != pushorder.CodeOK {
		t.Errorf("with access: %+v", r)
	}
}

// TestAccessTokenRotation: an access token replaced with a grace period
// still opens the door until the operator revokes it (or the period ends);
// the new token works at once, and a refused push writes nothing.
func TestAccessTokenRotation(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	if err := h.svc.RotateSetting(ctx, h.B.M.No, pushorder.SettingAccessToken, "Rt7tokB2x9Qm4Lz8Vw3Nc6Kp1Hd5Js0F", time.Hour); err != nil {
		t.Fatal(err)
	}
	push := func(path, no string) string {
		t.Helper()
		return h.call(t, path+"/PushTestOrder", sampleOrder(no, "Merchant B").body()).ReturnCode
	}
	if got := push("/pushorder/tokB", "ROT-1"); got != pushorder.CodeOK {
		t.Errorf("old token in its grace period: %s, want %s", got, pushorder.CodeOK)
	}
	if got := push("/pushorder/Rt7tokB2x9Qm4Lz8Vw3Nc6Kp1Hd5Js0F", "ROT-2"); got != pushorder.CodeOK {
		t.Errorf("new token: %s", got)
	}
	if got := push("/pushorder/tokX", "ROT-3"); got != pushorder.CodeUnsigned {
		t.Errorf("wrong token: %s, want 9912", got)
	}
	if err := h.svc.RevokeKeys(ctx, h.B.M.No, "setting:"+pushorder.SettingAccessToken); err != nil {
		t.Fatal(err)
	}
	before := len(h.orders(t, h.B))
	if got := push("/pushorder/tokB", "ROT-4"); got != pushorder.CodeUnsigned {
		t.Errorf("old token after revocation: %s, want 9912", got)
	}
	if n := len(h.orders(t, h.B)); n != before {
		t.Errorf("refused push wrote an order (%d → %d)", before, n)
	}
	if got := push("/pushorder/Rt7tokB2x9Qm4Lz8Vw3Nc6Kp1Hd5Js0F", "ROT-5"); got != pushorder.CodeOK {
		t.Errorf("new token after revoking the old: %s", got)
	}
}
