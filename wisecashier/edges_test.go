package wisecashier_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// TestAgentCertificateValidity: an agent key registered as a certificate
// signs only within the certificate's validity on the gateway's clock;
// outside it the correctly signed request is 401 naming the dates.
func TestAgentCertificateValidity(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	notBefore, notAfter := now.Add(-24*time.Hour), now.Add(24*time.Hour)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "agent"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &h.agent.Key.PublicKey, h.agent.Key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.UpdateAgent(h.ctx, h.agent.A.No, func(a *baoguan.Agent) error {
		a.Settings["wisecashier.public-key"] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		at    time.Time
		valid bool
	}{
		{"a second before NotBefore", notBefore.Add(-time.Second), false},
		{"at NotBefore", notBefore, true},
		{"now", now, true},
		{"at NotAfter", notAfter, true},
		{"a second after NotAfter", notAfter.Add(time.Second), false},
		{"ten years after NotAfter", notAfter.AddDate(10, 0, 0), false},
	} {
		h.clock.mu.Lock()
		h.clock.t = tc.at
		h.clock.mu.Unlock()
		r := h.do(req{method: http.MethodGet, path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}})
		switch {
		case tc.valid && r.Status == http.StatusUnauthorized:
			t.Errorf("%s: refused: %s", tc.name, r.Raw)
		case !tc.valid && (r.Status != http.StatusUnauthorized || !strings.Contains(r.Env.Meta.Message, "valid from")):
			t.Errorf("%s: %d %s, want 401 naming the validity", tc.name, r.Status, r.Raw)
		}
	}
}

// TestExtremeTimestamps: the Timestamp check compares whole seconds with
// bounds: timestamps whose difference from the clock would overflow a
// time.Duration or an int64 product, in seconds and milliseconds, are 411
// (or 401 when they are not a Unix time at all), never accepted.
func TestExtremeTimestamps(t *testing.T) {
	// Every try here is a failed authentication from one address.
	h := newHarness(t, func(o *harnessOptions) { o.limits = core.NoLimits() })
	now := h.clock.Now().Unix()
	for _, ts := range []string{
		"9223372036854775807", "9223372036854", "9999999999999", "9999999999", "0", "1", "0000000000001",
		strconv.FormatInt(now+9223372036, 10), strconv.FormatInt(now-9223372036, 10), // ±2^63 ns in seconds
		strconv.FormatInt(now+18446744074, 10), strconv.FormatInt((now+9223372037)*1000, 10),
		strconv.FormatInt(now+301, 10), strconv.FormatInt(now-301, 10), strconv.FormatInt((now+301)*1000, 10),
		"-1", "-9223372036854775808", "1e10", "0x5f5e100", strconv.FormatInt(now, 10) + ".9999999999",
	} {
		r := h.do(req{method: http.MethodGet, path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}, timestamp: ts})
		if r.Status == http.StatusOK || r.Status != 411 && r.Status != http.StatusUnauthorized {
			t.Errorf("Timestamp %s: %d %s, want 411 or 401", ts, r.Status, r.Raw)
		}
	}
	if r := h.do(req{method: http.MethodGet, path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}, timestamp: strconv.FormatInt(now, 10)}); r.Status != http.StatusOK {
		t.Errorf("the clock's own second: %d %s", r.Status, r.Raw)
	}
}

// TestNotifyURLSchemes: an order's notify_url other than plain http(s) is
// refused when the order is made (400 naming notify_url), and no order is
// made.
func TestNotifyURLSchemes(t *testing.T) {
	h := newHarness(t)
	for i, u := range []string{"ftp://merchant.example.com/notify", "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO",
		"javascript:alert(1)", "data:text/plain,hi", "ws://merchant.example.com/n", "merchant.example.com/notify"} {
		no := "BADURL" + strconv.Itoa(i)
		r := h.do(req{method: http.MethodPost, path: "/order/scan_pay", params: map[string]string{"merchant_no": "xxx", "currency": "HKD",
			"amount": "1.00", "product_info": "奶粉", "auth_code": "135605691981176449", "agent_order_id": no, "notify_url": u}})
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Env.Meta.Message, "notify_url") {
			t.Errorf("notify_url %s: %d %s, want 400 naming notify_url", u, r.Status, r.Raw)
		}
		if _, err := h.svc.MerchantByNo(h.ctx, "xxx"); err == nil {
			if o, err := h.svc.Order(h.ctx, h.merchant("xxx"), no); err == nil {
				t.Errorf("notify_url %s: order %s was made", u, o.MerchantOrderNo)
			}
		}
	}
}
