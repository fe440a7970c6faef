package main

// Tests of what the whole gateway, every front-end mounted as `serve`
// mounts them, lets out: secrets in request logs and internal error texts
// in answers.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/api"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/netguard"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
)

// failingStore is a real SQLite store that, once fail is set, answers
// every transaction with that error, the way a broken disk or a lost
// database connection would.
type failingStore struct {
	baoguan.Store
	fail atomic.Pointer[error]
}

func (f *failingStore) View(ctx context.Context, fn func(baoguan.Tx) error) error {
	if e := f.fail.Load(); e != nil {
		return *e
	}
	return f.Store.View(ctx, fn)
}

func (f *failingStore) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	if e := f.fail.Load(); e != nil {
		return *e
	}
	return f.Store.Update(ctx, fn)
}

// gateway is the handler serve builds, over a real store, with its log.
type gateway struct {
	store     *failingStore
	svc       *core.Service
	handler   http.Handler            // the main listener
	dedicated map[string]http.Handler // each front-end at the root of its own listener
	logs      *syncBuffer
}

func newGateway(t *testing.T) *gateway {
	t.Helper()
	ctx := context.Background()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "gw.db"), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newGatewayOn(t, &failingStore{Store: db})
}

// newGatewayOn builds another instance of the gateway on store: its own
// core service and front-ends, sharing only the database, as a second
// `serve` on one PostgreSQL database does.
func newGatewayOn(t *testing.T, store *failingStore) *gateway {
	t.Helper()
	ctx := context.Background()
	g := &gateway{store: store, logs: &syncBuffer{}, dedicated: map[string]http.Handler{}}
	log := newLogger(g.logs, slog.LevelDebug)
	reg := prometheus.NewRegistry()
	svc := core.New(&core.Service{
		Store:          g.store,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           netguard.Client(time.Second, false),
		Log:            log,
		Metrics:        core.NewMetrics(reg),
	})
	svc.Formats.Register(api.Protocol, api.NewFormat())
	g.svc = svc
	mux := http.NewServeMux()
	addOpsRoutes(mux, g.store, reg, log)
	api.New(api.Options{Svc: svc, Log: log}).Register(mux)
	fes, err := buildFrontends(ctx, svc, log)
	if err != nil {
		t.Fatal(err)
	}
	hm := newHTTPMetrics(reg)
	gate := newPreAuthGate(0, 0, log)
	mountFrontends(mux, fes, gate)
	for _, fe := range fes {
		m := http.NewServeMux()
		m.Handle("/", gate.wrap(fe.handler, fe.tokenAuth))
		g.dedicated[fe.name] = withObservability(m, log, hm)
	}
	g.handler = withObservability(mux, log, hm)
	return g
}

// call is one request to the gateway.
type call struct {
	name      string
	dedicated string // front-end whose own listener serves it; "" for the main one
	method    string
	target    string
	header    map[string]string
	body      string
	remote    string // the client's address, host:port; httptest's 192.0.2.1:1234 when empty
}

func (g *gateway) do(c call) *httptest.ResponseRecorder {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r := httptest.NewRequest(c.method, c.target, body)
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	if c.remote != "" {
		r.RemoteAddr = c.remote
	}
	w := httptest.NewRecorder()
	h := g.handler
	if c.dedicated != "" {
		h = g.dedicated[c.dedicated]
	}
	h.ServeHTTP(w, r)
	return w
}

// pushData is a complete pushorder order (every key the document requires).
func pushData(merchant string) string {
	return url.Values{"data": {`{"OperationType":"A","OrderNo":"GW1","ReceiverName":"张三","ReceiverCardNo":"110105199001011232",` +
		`"TotalNum":1,"OrderTotal":10.5,"ItemNames":"测试商品","ShopPayTime":"2018-07-01 21:22:34","MerchantName":"` + merchant +
		`","CapitalName":"资方","ReceiverMobile":"13817494910","CustomsCode":"HG014"}`}}.Encode()
}

const form = "application/x-www-form-urlencoded"

// TestRequestLogsCarryNoSecrets sends every front-end's secret-bearing
// request shapes (path tokens, Authorization headers, signatures, keys in
// query strings, passwords in bodies), matched and unmatched, on the main
// listener and the dedicated ones, with the store answering and with the
// store failing (so that the front-ends' own error logs run too), and
// checks that no secret reaches the log while every request is logged.
func TestRequestLogsCarryNoSecrets(t *testing.T) {
	g := newGateway(t)
	const (
		token = "Tok3nS3cr3t0123456789abcdefXYZ" // pushorder access token
		key   = "bg_test_K3yS3cr3t0123456789"    // native API key
		sig   = "S1gS3cr3tAAAABBBBCCCC0123456789=="
		jwt   = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTM2NyM3QifQ.JwtS3cr3tSig0123456789"
		pass  = "PassW0rdS3cr3t0123456789"
	)
	secrets := []string{token, key, sig, jwt, pass, "Tok3nS3cr3t", "K3yS3cr3t", "S1gS3cr3t", "JwtS3cr3t", "PassW0rdS3cr3t"}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	wxAuth := `WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="N0NCE1",timestamp="` + now + `",serial_no="5157F09EFDC096DE15EBE81A47057A7232F1B8E1",signature="` + sig + `"`
	calls := []call{
		{name: "pushorder token route", method: "POST", target: "/pushorder/" + token + "/PushOrder", header: map[string]string{"Content-Type": form}, body: pushData("商户1")},
		{name: "pushorder test token route", method: "POST", target: "/pushorder/" + token + "/GetTestOrder", header: map[string]string{"Content-Type": form}, body: url.Values{"data": {`{"OrderNo":"GW1","MerchantName":"商户1"}`}}.Encode()},
		{name: "pushorder token, wrong method", method: "GET", target: "/pushorder/" + token + "/PushOrder"},
		{name: "pushorder token, misspelt endpoint", method: "POST", target: "/pushorder/" + token + "/PushOrdr", body: "data={}"},
		{name: "pushorder token, dedicated listener", dedicated: "pushorder", method: "POST", target: "/" + token + "/PushOrder", header: map[string]string{"Content-Type": form}, body: pushData("商户1")},
		{name: "pushorder token, dedicated, unmatched", dedicated: "pushorder", method: "GET", target: "/" + token + "/Nope"},
		{name: "native API key", method: "GET", target: "/v1/merchant", header: map[string]string{"Authorization": "Bearer " + key}},
		{name: "native API key in lower case scheme", method: "GET", target: "/v1/orders?limit=1", header: map[string]string{"Authorization": "bearer " + key}},
		{name: "keys in a query string", method: "GET", target: "/v1/orders?api_key=" + key + "&token=" + token + "&sign=" + url.QueryEscape(sig), header: map[string]string{"Authorization": "Bearer " + key}},
		{name: "keys in an unmatched query string", method: "GET", target: "/v1/nope?access_token=" + token + "&signature=" + url.QueryEscape(sig)},
		{name: "native API key on a POST", method: "POST", target: "/v1/orders", header: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json", "Idempotency-Key": "idem-1"}, body: `{"merchant_order_no":"GW1","amount":1,"subject":"s"}`},
		{name: "wechatv3 signature", method: "GET", target: "/wechatpay/v3/global/customs/orders?appid=wx1&mchid=1900000109&out_trade_no=GW1&customs=GUANGZHOU_ZS", header: map[string]string{"Authorization": wxAuth}},
		{name: "wechatv3 signature, dedicated listener", dedicated: "wechatv3", method: "GET", target: "/v3/certificates", header: map[string]string{"Authorization": wxAuth}},
		{name: "accp signature", method: "POST", target: "/accp/v1/cbpayment/apply-pushpay", header: map[string]string{"Content-Type": "application/json;charset=utf-8", "Signature-Type": "RSA", "Signature-Data": sig}, body: `{"mch_id":"M1","txn_seqno":"T1","timestamp":"20240101120000"}`},
		{name: "payzero login password", method: "POST", target: "/payzero/auth/login", header: map[string]string{"Content-Type": "application/json"}, body: `{"username":"app1","password":"` + pass + `"}`},
		{name: "payzero bearer token", method: "GET", target: "/payzero/order/GW1", header: map[string]string{"Authorization": "Bearer " + jwt}},
		{name: "payzero token header, dedicated listener", dedicated: "payzero", method: "GET", target: "/order/GW1?token=" + jwt, header: map[string]string{"Authorization": "Bearer " + jwt}},
		{name: "wisecashier signature", method: "POST", target: "/wisecashier/order/scan_pay", header: map[string]string{"Content-Type": form,
			"AgentNo": "AG1", "Signature": sig, "Timestamp": now}, body: "merchant_no=M1&amount=1&auth_code=135605691981176449"},
		{name: "wisecashier cashier desk, signature in the query", method: "GET", target: "/wisecashier/wechatpay/cashier_desk?AgentNo=AG1&Signature=" +
			url.QueryEscape(sig) + "&Timestamp=" + now + "&merchant_no=M1&amount=1&return_url=https%3A%2F%2Fshop.example%2F"},
		{name: "wisecashier, dedicated listener", dedicated: "wisecashier", method: "GET", target: "/rate?currency=USD&signature=" + url.QueryEscape(sig),
			header: map[string]string{"AgentNo": "AG1", "Signature": sig, "Timestamp": now}},
	}
	requests := 0
	for _, failing := range []bool{false, true} {
		if failing {
			e := error(&baoguan.Error{Code: baoguan.EINTERNAL, Message: "the store is down"})
			g.store.fail.Store(&e)
		}
		for _, c := range calls {
			w := g.do(c)
			requests++
			if w.Code == 0 {
				t.Errorf("%s: no answer", c.name)
			}
		}
	}
	g.store.fail.Store(nil)
	out := g.logs.String()
	if n := strings.Count(out, `"msg":"request"`); n != requests {
		t.Errorf("%d request log lines for %d requests:\n%s", n, requests, out)
	}
	if !strings.Contains(out, "/pushorder/[redacted]/PushOrder") {
		t.Errorf("the pushorder path is not logged with its token redacted:\n%s", out)
	}
	if !strings.Contains(out, "pushorder internal error") {
		t.Errorf("the failing store did not reach pushorder's own error log:\n%s", out)
	}
	for _, s := range secrets {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, s) {
				t.Errorf("secret %q is in the log: %s", s, line)
			}
		}
	}
}

// TestInternalErrorsStayInternal makes the store fail, with a plain error
// and with an internal *baoguan.Error, under a request of every front-end
// that reaches it, and checks that the answer is the protocol's generic
// internal error without the error's text, while the log has the text
// under the request's id.
func TestInternalErrorsStayInternal(t *testing.T) {
	g := newGateway(t)
	const secret = "open /var/lib/baoguan/secret-path.db: disk I/O error at 0xC0FFEE"
	now := strconv.FormatInt(time.Now().Unix(), 10)
	wxAuth := `WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="N0NCE2",timestamp="` + now + `",serial_no="AB12",signature="c2ln"`
	cases := []struct {
		call
		status int
		want   string // the protocol's generic internal answer
	}{
		{call{name: "api", method: "GET", target: "/v1/merchant", header: map[string]string{"Authorization": "Bearer bg_test_abc"}},
			500, `{"error":{"code":"internal","message":"internal error"}}`},
		{call{name: "pushorder", method: "POST", target: "/pushorder/tok123/PushOrder", header: map[string]string{"Content-Type": form}, body: pushData("商户1")},
			200, `"ReturnCode":"9910"`},
		{call{name: "pushorder query", method: "POST", target: "/pushorder/tok123/GetOrder", header: map[string]string{"Content-Type": form}, body: url.Values{"data": {`{"OrderNo":"GW1","MerchantName":"商户1"}`}}.Encode()},
			200, `"ReturnCode":"9999"`},
		{call{name: "accp", method: "POST", target: "/accp/v1/cbpayment/apply-pushpay", header: map[string]string{"Content-Type": "application/json"}, body: `{"mch_id":"M1","txn_seqno":"T1"}`},
			200, `"ret_code":"9999"`},
		{call{name: "wechatv3", method: "GET", target: "/wechatpay/v3/certificates", header: map[string]string{"Authorization": wxAuth}},
			500, `"code":"SYSTEM_ERROR"`},
		{call{name: "payzero", method: "POST", target: "/payzero/auth/login", header: map[string]string{"Content-Type": "application/json"}, body: `{"username":"app1","password":"x"}`},
			500, `"success":false`},
	}
	injected := map[string]error{
		"plain error":    errors.New(secret),
		"internal Error": &baoguan.Error{Code: baoguan.EINTERNAL, Message: secret},
		"wrapped":        errors.Join(errors.New("reading merchant"), &baoguan.Error{Code: baoguan.EINTERNAL, Message: secret}),
	}
	n := 0
	for kind, e := range injected {
		g.store.fail.Store(&e)
		for _, c := range cases {
			n++
			id := "leak-test-" + strconv.Itoa(n)
			c.header = cloneHeader(c.header)
			c.header["X-Request-Id"] = id
			w := g.do(c.call)
			body := w.Body.String()
			if w.Code != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%s, %s: %d %s; want %d with %s", c.name, kind, w.Code, body, c.status, c.want)
			}
			if strings.Contains(body, "secret-path") || strings.Contains(body, "0xC0FFEE") || strings.Contains(body, "reading merchant") {
				t.Errorf("%s, %s: the answer shows the internal error: %s", c.name, kind, body)
			}
			// The cause is logged under the id the caller can quote:
			// ours, or the protocol's own (WeChat's Request-ID header).
			logID := id
			if c.name == "wechatv3" {
				logID = w.Header().Get("Request-ID")
			}
			found := false
			for _, line := range strings.Split(g.logs.String(), "\n") {
				if strings.Contains(line, `"request_id":"`+logID+`"`) && strings.Contains(line, "secret-path") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s, %s: no log line holds the cause under request id %s:\n%s", c.name, kind, logID, g.logs.String())
			}
		}
	}
}

func cloneHeader(h map[string]string) map[string]string {
	c := make(map[string]string, len(h)+1)
	for k, v := range h {
		c[k] = v
	}
	return c
}
