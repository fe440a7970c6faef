package main

// Failed-authentication limits through every front-end as `serve` mounts
// them, on two instances sharing one database.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/accp"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/pushorder"
)

// limitCase is one front-end's authentication, as the limits see it.
type limitCase struct {
	name string
	// bad is a request that fails authentication, from remote, naming the
	// case's merchant (or agent) when the protocol names one.
	bad func(remote string) call
	// good, when set, authenticates correctly from remote.
	good func(remote string) call
	// failure reports whether an answer is this protocol's ordinary
	// authentication failure.
	failure func(w *httptest.ResponseRecorder) bool
	// limited checks the protocol's own envelope of the 429.
	limited func(w *httptest.ResponseRecorder) error
	// perSubject: failures naming one merchant or agent from many sources
	// are limited too (false when the credential names no one).
	perSubject bool
}

// TestFailedAuthenticationLimits tries every front-end's authentication:
// a source's 20 failures (spread over two instances on one database) make
// its next try a 429 with Retry-After in the protocol's envelope on either
// instance, a correct credential included, while other sources are
// answered as before; failures naming one merchant from 50 sources refuse
// the 51st source; and successful authentications, however many, take
// nothing from any limit.
func TestFailedAuthenticationLimits(t *testing.T) {
	g1 := newGateway(t)
	g2 := newGatewayOn(t, g1.store) // a second instance on the same database
	failedAuthenticationLimits(t, g1, g2)
}

// TestFailedAuthenticationLimitsPostgres is the same over two stores, as
// two processes open them, on one PostgreSQL database.
func TestFailedAuthenticationLimitsPostgres(t *testing.T) {
	url := pgtest.URL(t)
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	open := func() *failingStore {
		db, err := postgres.Open(context.Background(), postgres.Options{URL: url, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return &failingStore{Store: db}
	}
	failedAuthenticationLimits(t, newGatewayOn(t, open()), newGatewayOn(t, open()))
}

func failedAuthenticationLimits(t *testing.T, g1, g2 *gateway) {
	ctx := context.Background()
	svc := g1.svc

	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	newMerchant := func(name string, settings map[string]string) (*baoguan.Merchant, core.Credentials) {
		m, cr, err := svc.CreateMerchant(ctx, core.MerchantInput{No: name, Name: name, Mode: baoguan.ModeSandbox})
		if err != nil {
			t.Fatal(err)
		}
		if len(settings) > 0 {
			if m, err = svc.UpdateMerchant(ctx, m.No, func(m *baoguan.Merchant) error {
				if m.Settings == nil {
					m.Settings = map[string]string{}
				}
				for k, v := range settings {
					m.Settings[k] = v
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return m, cr
	}
	const token = "pushorderAccessTokenLimits0123456789abcdef"
	_, apiCr := newMerchant("lim-api", nil)
	_, pzCr := newMerchant("lim-payzero", nil)
	newMerchant("lim-push", map[string]string{pushorder.SettingAccessToken: token})
	newMerchant("lim-accp", map[string]string{accp.SettingPublicKey: pubPEM})
	newMerchant("lim-wx", map[string]string{"wechatv3.mchid": "1900009999", "wechatv3.public-key": pubPEM, "wechatv3.serial": "ABCDEF0123"})
	if _, err := svc.CreateAgent(ctx, core.AgentInput{No: "LIMAG", Name: "limits agent"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateAgent(ctx, "LIMAG", func(a *baoguan.Agent) error {
		if a.Settings == nil {
			a.Settings = map[string]string{}
		}
		a.Settings["wisecashier.public-key"] = pubPEM
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	jsonField := func(w *httptest.ResponseRecorder, path ...string) string {
		var v any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			return ""
		}
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return ""
			}
			v = m[p]
		}
		switch x := v.(type) {
		case string:
			return x
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return ""
	}
	want := func(w *httptest.ResponseRecorder, got, wantCode string) error {
		if got != wantCode {
			return fmt.Errorf("code %q, want %q; body %s", got, wantCode, w.Body)
		}
		return nil
	}
	sig := "QUJD" + strings.Repeat("A", 340)
	now := func() string { return strconv.FormatInt(time.Now().Unix(), 10) }
	form := map[string]string{"Content-Type": form}

	cases := []limitCase{
		{
			name: "native API key",
			bad: func(remote string) call {
				return call{method: "GET", target: "/v1/merchant", remote: remote, header: map[string]string{"Authorization": "Bearer bg_wrong_key_0123456789"}}
			},
			good: func(remote string) call {
				return call{method: "GET", target: "/v1/merchant", remote: remote, header: map[string]string{"Authorization": "BEARER " + apiCr.APIKey}}
			},
			failure: func(w *httptest.ResponseRecorder) bool { return w.Code == 401 },
			limited: func(w *httptest.ResponseRecorder) error {
				return want(w, jsonField(w, "error", "code"), core.ReasonTooManyFailures)
			},
		},
		{
			name: "payzero login",
			bad: func(remote string) call {
				return call{method: "POST", target: "/payzero/auth/login", remote: remote, header: map[string]string{"Content-Type": "application/json"},
					body: `{"username":"` + pzCr.AppID + `","password":"wrong-app-key"}`}
			},
			good: func(remote string) call {
				return call{method: "POST", target: "/payzero/auth/login", remote: remote, header: map[string]string{"Content-Type": "application/json"},
					body: `{"username":"` + pzCr.AppID + `","password":"` + pzCr.AppKey + `"}`}
			},
			failure:    func(w *httptest.ResponseRecorder) bool { return w.Code == 401 && jsonField(w, "errorCode") == "40001" },
			limited:    func(w *httptest.ResponseRecorder) error { return want(w, jsonField(w, "errorCode"), "40029") },
			perSubject: true,
		},
		{
			name: "payzero token",
			bad: func(remote string) call {
				return call{method: "GET", target: "/payzero/order/feedback?mchtOrderNo=X1", remote: remote, header: map[string]string{"Authorization": "Bearer not.a.token"}}
			},
			failure: func(w *httptest.ResponseRecorder) bool { return w.Code == 401 },
			limited: func(w *httptest.ResponseRecorder) error { return want(w, jsonField(w, "errorCode"), "40029") },
		},
		{
			name: "pushorder path token",
			bad: func(remote string) call {
				return call{method: "POST", target: "/pushorder/wrongTokenWrongToken0123456789abc/GetTestOrder", remote: remote, header: form,
					body: url.Values{"data": {`{"OrderNo":"X1","MerchantName":"lim-push"}`}}.Encode()}
			},
			good: func(remote string) call {
				return call{method: "POST", target: "/pushorder/" + token + "/GetTestOrder", remote: remote, header: form,
					body: url.Values{"data": {`{"OrderNo":"X1","MerchantName":"lim-push"}`}}.Encode()}
			},
			failure:    func(w *httptest.ResponseRecorder) bool { return w.Code == 200 && jsonField(w, "ReturnCode") == "9912" },
			limited:    func(w *httptest.ResponseRecorder) error { return want(w, jsonField(w, "ReturnCode"), "9912") },
			perSubject: true,
		},
		{
			name: "accp signature",
			bad: func(remote string) call {
				return call{method: "POST", target: "/accp/v1/cbpayment/query-pushpay", remote: remote,
					header: map[string]string{"Content-Type": "application/json", "Signature-Type": "RSA", "Signature-Data": sig},
					body:   `{"mch_id":"lim-accp","txn_seqno":"T1","timestamp":"20240101120000"}`}
			},
			failure:    func(w *httptest.ResponseRecorder) bool { return w.Code == 200 && jsonField(w, "ret_code") == "1001" },
			limited:    func(w *httptest.ResponseRecorder) error { return want(w, jsonField(w, "ret_code"), "1007") },
			perSubject: true,
		},
		{
			name: "wechatv3 signature",
			bad: func(remote string) call {
				return call{method: "GET", target: "/wechatpay/v3/certificates", remote: remote, header: map[string]string{"Authorization": `WECHATPAY2-SHA256-RSA2048 mchid="1900009999",nonce_str="N` +
					strings.ReplaceAll(remote, ".", "") + `",timestamp="` + now() + `",serial_no="ABCDEF0123",signature="` + sig + `"`}}
			},
			failure:    func(w *httptest.ResponseRecorder) bool { return w.Code == 401 && jsonField(w, "code") == "SIGN_ERROR" },
			limited:    func(w *httptest.ResponseRecorder) error { return want(w, jsonField(w, "code"), "FREQUENCY_LIMITED") },
			perSubject: true,
		},
		{
			name: "wisecashier signature",
			bad: func(remote string) call {
				return call{method: "GET", target: "/wisecashier/rate?currency=USD", remote: remote,
					header: map[string]string{"AgentNo": "LIMAG", "Signature": sig, "Timestamp": now() + "000"}}
			},
			failure:    func(w *httptest.ResponseRecorder) bool { return w.Code == 401 },
			limited:    func(w *httptest.ResponseRecorder) error { return want(w, jsonField(w, "meta", "status_code"), "429") },
			perSubject: true,
		},
	}
	instances := []*gateway{g1, g2}
	check429 := func(t *testing.T, c limitCase, w *httptest.ResponseRecorder, what string) {
		t.Helper()
		if w.Code != 429 {
			t.Fatalf("%s: status %d, want 429; body %s", what, w.Code, w.Body)
		}
		if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("%s: Retry-After %q, want whole seconds ≥ 1", what, w.Header().Get("Retry-After"))
		}
		if err := c.limited(w); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	defer func() {
		// Both instances count what they saw.
		for k, g := range instances {
			m := g.do(call{method: "GET", target: "/metrics"}).Body.String()
			for _, re := range []string{`(?m)^baoguan_auth_failures_total [1-9]`, `(?m)^baoguan_limit_refusals_total\{limit="auth"\} [1-9]`} {
				if !regexp.MustCompile(re).MatchString(m) {
					t.Errorf("instance %d: /metrics has no %s", k+1, re)
				}
			}
		}
	}()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case has its own addresses: 10.<case>.x.y.
			src := func(n int) string { return fmt.Sprintf("10.%d.%d.%d:40000", i+1, n/250, n%250+1) }
			// Successful authentications take nothing.
			if c.good != nil {
				for n := range 30 {
					w := instances[n%2].do(c.good(src(0)))
					if w.Code == 429 || c.failure(w) {
						t.Fatalf("correct credential, try %d: %d %s", n+1, w.Code, w.Body)
					}
				}
			}
			// One source: 20 failures over both instances, then 429.
			attacker := src(1)
			for n := range 20 {
				w := instances[n%2].do(c.bad(attacker))
				if !c.failure(w) {
					t.Fatalf("failure %d from one source: %d %s, want the ordinary failure", n+1, w.Code, w.Body)
				}
			}
			for k, g := range instances {
				check429(t, c, g.do(c.bad(attacker)), fmt.Sprintf("21st failure on instance %d", k+1))
			}
			if c.good != nil {
				check429(t, c, g2.do(c.good(attacker)), "a correct credential from the refused source")
			}
			// Another source (an IPv6 /64 counts as one) is answered as
			// before.
			if w := g1.do(c.bad(fmt.Sprintf("[2001:db8:%d::1]:5000", i+1))); !c.failure(w) {
				t.Errorf("another source: %d %s, want the ordinary failure", w.Code, w.Body)
			}
			if c.good != nil {
				if w := g1.do(c.good(src(2))); w.Code == 429 || c.failure(w) {
					t.Errorf("a correct credential from another source: %d %s", w.Code, w.Body)
				}
			}
			if !c.perSubject {
				return
			}
			// One merchant: failures from 50 sources (one each, the
			// 20 above counted) empty its bucket; the next source is
			// refused, with a correct credential too.
			for n := 3; n < 3+50-21; n++ {
				if w := instances[n%2].do(c.bad(src(n))); !c.failure(w) {
					t.Fatalf("failure from source %d: %d %s", n, w.Code, w.Body)
				}
			}
			check429(t, c, g2.do(c.bad(src(100))), "a new source naming the merchant")
			if c.good != nil {
				check429(t, c, g1.do(c.good(src(101))), "a correct credential for the refused merchant")
			}
		})
	}
}
