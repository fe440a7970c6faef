package wisecashier_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/wisecashier"
)

func signWith(t *testing.T, key *rsa.PrivateKey, s string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// vectorParams are the test vector's parameters: the seed's §4.2 request.
var vectorParams = map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100",
	"product_info": "这里是商品的描述", "ip": "102.142.32.12", "auth_code": "135605691981176449"}

const vectorTimestamp = "1498194422.123456"

// The signature test vector published in docs/protocols/wisecashier.md:
// the key pair in testdata/agent_private.pem and agent_public.pem, the
// seed's §4.2 parameters and a str(time.time()) timestamp. The signing
// string and the signature in testdata were made with openssl, not with
// this package; the signature is deterministic (PKCS #1 v1.5).
func TestSignatureVector(t *testing.T) {
	t.Parallel()
	wantString, err := os.ReadFile("testdata/vector_string.txt")
	if err != nil {
		t.Fatal(err)
	}
	wantSig, err := os.ReadFile("testdata/vector_signature.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := wisecashier.SigningString(vectorParams, vectorTimestamp, wisecashier.Encodings[0]); got != string(wantString) {
		t.Errorf("signing string\n got %s\nwant %s", got, wantString)
	}
	got, err := wisecashier.Sign(testKey(t, "agent_private.pem"), vectorParams, vectorTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	if got != strings.TrimSpace(string(wantSig)) {
		t.Errorf("signature\n got %s\nwant %s", got, wantSig)
	}
	// The server accepts the vector as is (its clock at the vector's time).
	h := newHarness(t)
	r := h.ok(req{method: http.MethodPost, path: "/order/scan_pay", params: vectorParams, timestamp: vectorTimestamp, signature: string(wantSig)})
	if !strings.Contains(string(r.Raw), `"status":"PAID"`) {
		t.Errorf("vector request: %s", r.Raw)
	}
}

// Every variant clients in the field send is accepted: the agent header's
// names, the timestamp's forms, form and multipart bodies, and each
// library's URL encoding of the signing string.
func TestSignatureVariants(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// A value that every encoding writes differently.
	tricky := map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "12.50", "ip": "",
		"product_info": "奶粉 2罐 ~*!'() a+b&c=d/e"}
	now := h.clock.Now()
	n := 0
	post := func(name string, q req) {
		t.Helper()
		n++
		q.method, q.path = http.MethodPost, "/order/scanned_pay"
		q.params = map[string]string{}
		for k, v := range tricky {
			q.params[k] = v
		}
		q.params["agent_order_id"] = "VAR-" + strconv.Itoa(n)
		r := h.do(q)
		if r.Status != http.StatusOK || !r.Env.Meta.Success {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	for _, hdr := range []string{"AgentNo", "MerchantNo", "MerchantNO", "agentno"} {
		post("header "+hdr, req{agentHeader: hdr})
	}
	for name, ts := range map[string]string{
		"seconds":          strconv.FormatInt(now.Unix(), 10),
		"seconds.fraction": strconv.FormatInt(now.Unix(), 10) + ".123456",
		"python2 str":      strconv.FormatInt(now.Unix(), 10) + ".12",
		"milliseconds":     strconv.FormatInt(now.UnixMilli(), 10),
	} {
		post("timestamp "+name, req{timestamp: ts})
	}
	post("multipart body", req{multipart: true})
	for _, e := range wisecashier.Encodings {
		post("encoding "+e.Name, req{encoding: e.Name})
		post("multipart, encoding "+e.Name, req{encoding: e.Name, multipart: true})
	}
	// GET: the query is the parameters; the dedicated listener too.
	for _, root := range []bool{false, true} {
		r := h.do(req{method: http.MethodGet, path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}, root: root, encoding: "javascript"})
		if r.Status != http.StatusOK {
			t.Errorf("GET /rate (root %v): %d %s", root, r.Status, r.Raw)
		}
	}
	// Version 2.0 is accepted; a signature over other parameters is not.
	if r := h.do(req{method: http.MethodGet, path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}, version: "2.0"}); r.Status != 200 {
		t.Errorf("Version 2.0: %d %s", r.Status, r.Raw)
	}
	bad := signWith(t, h.agent.Key, "amount=1,"+strconv.FormatInt(now.Unix(), 10))
	if r := h.do(req{method: http.MethodGet, path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}, signature: bad}); r.Status != http.StatusUnauthorized {
		t.Errorf("a signature over other parameters: %d %s", r.Status, r.Raw)
	}
}

// Each status of §3 is caused and answered in the envelope: 400 naming
// the parameter, 401, 411, 403, 404, 500, 503 and 555 with the wallet's
// message and code as JSON.
func TestErrorStatuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.opts.RateLimit, o.opts.RateBurst = 0.001, 40 })
	scan := func(p map[string]string) map[string]string {
		out := map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100", "product_info": "x", "auth_code": "135605691981176449"}
		for k, v := range p {
			out[k] = v
		}
		return out
	}
	other := &agent{A: h.agent.A, Key: h.other.Key}
	cases := []struct {
		name   string
		q      req
		status int
		want   string
	}{
		{"400 missing amount", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"amount": ""})}, 400, "amount"},
		{"400 amount with too many decimals", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"amount": "1.001"})}, 400, "amount"},
		{"400 unknown currency", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"currency": "XYZ"})}, 400, "currency"},
		{"400 yen with decimals", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"currency": "JPY", "amount": "100.5"})}, 400, "amount"},
		{"400 bad version", req{method: "GET", path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}, version: "3.0"}, 400, "Version"},
		{"400 no auth_code", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"auth_code": ""})}, 400, "auth_code"},
		{"401 wrong key", req{method: "GET", path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}, agent: other}, 401, "签名"},
		{"401 unknown agent", req{method: "GET", path: "/rate", params: map[string]string{"currency": "USD"}, agent: &agent{A: &baoguan.Agent{No: "999999"}, Key: h.agent.Key}}, 401, "not registered"},
		{"411 stale", req{method: "GET", path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}, timestamp: strconv.FormatInt(h.clock.Now().Add(-6*time.Minute).Unix(), 10)}, 411, "Timestamp"},
		{"411 future", req{method: "GET", path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}, timestamp: strconv.FormatInt(h.clock.Now().Add(6*time.Minute).Unix(), 10)}, 411, "Timestamp"},
		{"403 another agent's merchant", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"merchant_no": "O1", "agent_order_id": "F1"})}, 403, "merchant_no"},
		{"403 a merchant without agent", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"merchant_no": "N1", "agent_order_id": "F2"})}, 403, "merchant_no"},
		{"403 no such merchant", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"merchant_no": "ZZ", "agent_order_id": "F3"})}, 403, "merchant_no"},
		{"404 no such order", req{method: "GET", path: "/order", params: map[string]string{"order_no": "2017062313070200000009999"}}, 404, ""},
		{"404 no such interface", req{method: "GET", path: "/nothing"}, 404, ""},
		{"404 wrong method", req{method: "GET", path: "/order/scan_pay"}, 404, ""},
		{"555 invalid auth code", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"auth_code": "999", "agent_order_id": "W1"})}, 555, `{"wx_message":`},
		{"555 balance not enough", req{method: "POST", path: "/order/scan_pay", params: scan(map[string]string{"auth_code": "135605691981176400", "agent_order_id": "W2"})}, 555, `"wx_code":"NOTENOUGH"`},
	}
	for _, c := range cases {
		r := h.do(c.q)
		if r.Status != c.status || r.Env.Meta.StatusCode != c.status || r.Env.Meta.Success || !strings.Contains(r.Env.Meta.Message, c.want) {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Raw)
		}
		if string(r.Env.Data) != "null" {
			t.Errorf("%s: data %s, want null", c.name, r.Env.Data)
		}
	}
	// A refusal writes nothing: none of the 403 orders exist.
	for _, no := range []string{"O1", "N1"} {
		os, err := h.svc.Orders(h.ctx, h.merchant(no), baoguan.OrderFilter{})
		if err != nil || len(os) != 0 {
			t.Errorf("merchant %s has orders after a refused request: %v %d", no, err, len(os))
		}
	}
	// 500: the database fails; the cause is not told.
	h.store.fail.Store(true)
	r := h.do(req{method: "GET", path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}})
	h.store.fail.Store(false)
	if r.Status != 500 || strings.Contains(string(r.Raw), "database") {
		t.Errorf("500: %d %s", r.Status, r.Raw)
	}
	// 503: the agent exhausted its rate limit (burst 40).
	var last *resp
	for range 60 {
		if last = h.do(req{method: "GET", path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}}); last.Status == 503 {
			break
		}
	}
	if last.Status != 503 || last.Env.Meta.StatusCode != 503 {
		t.Errorf("503: %d %s", last.Status, last.Raw)
	}
}

// Bodies are read strictly: a charset other than UTF-8, a compressed body
// and bytes that are not UTF-8 are refused naming what is wrong, before
// anything is looked at.
func TestDecoderStrictness(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
	for _, c := range []struct {
		name, ct, ce, body, want string
	}{
		{"GBK charset", "application/x-www-form-urlencoded; charset=GBK", "", "merchant_no=xxx&amount=1", "Content-Type"},
		{"gzip", "application/x-www-form-urlencoded", "gzip", "merchant_no=xxx&amount=1", "Content-Encoding"},
		{"GBK bytes", "application/x-www-form-urlencoded", "", "merchant_no=xxx&product_info=%C4%CC%B7%DB", "product_info"},
		{"a parameter twice", "application/x-www-form-urlencoded", "", "amount=1&amount=2", "amount"},
		{"JSON", "application/json", "", `{"amount":"1"}`, "Content-Type"},
	} {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/wisecashier/order/scan_pay", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		if c.ce != "" {
			req.Header.Set("Content-Encoding", c.ce)
		}
		req.Header.Set("AgentNo", h.agent.A.No)
		req.Header.Set("Timestamp", ts)
		req.Header.Set("Signature", signWith(t, h.agent.Key, "x,"+ts))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %s", c.name, res.StatusCode, b)
		}
	}
}
