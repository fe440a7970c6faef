package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan/alipay/alipaytest"
)

// The wallet routes end to end, with the real binary (docs/live.md): a
// live merchant pushes orders paid through WeChat Pay and Alipay, through
// /v1 and through pushorder, and baoguan declares them with the merchant's
// own credentials — to WeChat Pay's APIv3 customs API, played by a second
// baoguan serving /wechatpay (real signatures both ways), and to Alipay's
// MAPI gateway, played by the stand-in of package alipaytest. Both reach
// SUCCESS; the merchant gets its webhooks and pushorder callbacks; a split
// order, a modify and a re-declaration work; a gateway failing the first
// calls, or timing out, leads to retries and SUCCESS, or EXCEPT once the
// schedule is spent; and neither far side ever holds a duplicate record.
func TestWalletRoutesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary twice")
	}
	bin := baoguanBinary(t)
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("baoguan %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}

	// ---- WeChat Pay: a second baoguan serving /wechatpay ----------------
	wxDB := "sqlite:" + filepath.Join(dir, "wechat.db")
	var wxMerchant struct {
		APIKey string `json:"api_key"`
	}
	mustJSON(t, run("merchant", "create", "--db", wxDB, "--name", "wx-shop", "--no", "WX1", "--json"), &wxMerchant)
	key, certPEM, serial := merchantCertificate(t, "1230000109")
	writeFile(t, dir, "apiclient_cert.pem", certPEM)
	writeFile(t, dir, "apiclient_key.pem", privatePEM(t, key))
	run("merchant", "key", "--db", wxDB, "--merchant", "WX1", "--protocol", "wechatv3", "--mchid", "1230000109",
		"--cert", filepath.Join(dir, "apiclient_cert.pem"), "--apiv3-key", "k7Q2mZ9xL4vR8tN1wB6cH3jP5sD0gF2a")
	writeFile(t, dir, "platform.pem", run("platform-cert", "--db", wxDB, "--protocol", "wechatv3"))
	wechat := startServe(t, bin, filepath.Join(dir, "wechat.db"))

	// ---- Alipay: the stand-in gateway ------------------------------------
	aliKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ali, err := alipaytest.New(&aliKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	defer ali.Close()
	writeFile(t, dir, "alipay_key.pem", privatePEM(t, aliKey))
	writeFile(t, dir, "alipay_public.pem", ali.AlipayPublicKeyPEM())

	// ---- the live installation and its merchant --------------------------
	hooks := newHookSink()
	defer hooks.srv.Close()
	liveDB := "sqlite:" + filepath.Join(dir, "live.db")
	var live struct {
		APIKey string `json:"api_key"`
	}
	mustJSON(t, run("merchant", "create", "--db", liveDB, "--name", "跨境小店", "--no", "LIVE1", "--mode", "live",
		"--notify-url", hooks.srv.URL+"/hooks", "--json"), &live)
	writeFile(t, dir, "wechatpay.json", `{"appid":"wxd678efh567hg6787","mchid":"1230000109","cert_serial":"`+serial+
		`","private_key":"@apiclient_key.pem","platform_certs":["@platform.pem"]}`)
	writeFile(t, dir, "alipay.json", `{"partner":"`+ali.Partner+`","sign_type":"RSA2","private_key":"@alipay_key.pem","alipay_public_key":"@alipay_public.pem"}`)
	out := run("merchant", "credentials", "--db", liveDB, "--merchant", "LIVE1", "--kind", "wechatpay", "--file", filepath.Join(dir, "wechatpay.json"))
	if strings.Contains(out, "PRIVATE KEY") || !strings.Contains(out, "private_key     set (PEM") {
		t.Fatalf("credentials listing shows a key: %s", out)
	}
	run("merchant", "credentials", "--db", liveDB, "--merchant", "LIVE1", "--kind", "alipay", "--file", filepath.Join(dir, "alipay.json"))
	run("merchant", "customs", "--db", liveDB, "--merchant", "LIVE1", "--customs", "SHANGHAI_ZS", "--no", "1234567", "--name", "上海跨境小店有限公司")
	run("merchant", "customs", "--db", liveDB, "--merchant", "LIVE1", "--customs", "ZONGSHU", "--no", "31222699S7", "--name", "上海跨境小店有限公司")
	run("merchant", "key", "--db", liveDB, "--merchant", "LIVE1", "--protocol", "pushorder", "--access-token", "L1veT0kenW8x3Qz7Rm2Pv5Nc9Kd4Hb6J",
		"--callback-url", hooks.srv.URL+"/pushorder")
	p := startServe(t, bin, filepath.Join(dir, "live.db"), "--wechatpay-url", wechat.base+"/wechatpay",
		"--alipay-gateway", ali.URL(), "--upstream-poll", "200ms", "--upstream-timeout", "1s",
		"--declare-retries", "300ms,300ms,300ms,300ms")
	lv := &apiClient{t: t, base: p.base, key: live.APIKey}
	wx := &apiClient{t: t, base: wechat.base, key: wxMerchant.APIKey}
	payer := map[string]any{"name": "张三", "id_number": "110105199001011232", "phone": "13800138000"}

	// wechatPaid pays an order at WeChat (the second baoguan pays it with
	// its mock channel) and returns WeChat's transaction_id.
	wechatPaid := func(no string, amount int64) string {
		t.Helper()
		wx.call("POST", "/v1/orders", map[string]any{"merchant_order_no": no, "amount": amount, "subject": "奶粉",
			"channel": "mock", "payer": payer}, http.StatusCreated)
		var o orderJSONView
		waitFor(t, wechat, "WeChat to take the payment of "+no, func() bool {
			o = wx.order(no)
			return o.PayStatus == "PAY_SUCCEED"
		})
		return o.Payment.PaymentNo
	}
	liveDecl := func(no, customs, sub string, state string) declJSONView {
		t.Helper()
		var d declJSONView
		waitFor(t, p, no+" "+customs+sub+" to be "+state, func() bool {
			for _, x := range lv.order(no).Declarations {
				if x.Customs == customs && x.SubOrderNo == sub {
					d = x
					return x.State == state
				}
			}
			return false
		})
		return d
	}

	// 1. WeChat-paid, through /v1.
	txWX := wechatPaid("WX-V1", 8800)
	lv.call("POST", "/v1/orders", map[string]any{"merchant_order_no": "WX-V1", "amount": 8800, "subject": "奶粉",
		"channel": "external", "payment_no": txWX, "psp": "WECHAT", "payer": payer,
		"declarations": []map[string]any{{"customs": "SHANGHAI_ZS"}}}, http.StatusCreated)
	d := liveDecl("WX-V1", "SHANGHAI_ZS", "", "SUCCESS")
	if d.Route != "wechatpay" || d.VerifyDepartment != "UNIONPAY" {
		t.Errorf("WX-V1 declaration: %+v", d)
	}
	hooks.wait(t, p, "declaration.succeeded WX-V1")
	calls := lv.calls("WX-V1")
	if len(calls) < 2 || calls[0].Service != "wechatpay.v3" || calls[0].Operation != "declare" ||
		calls[0].HTTPStatus != 200 || calls[0].Outcome != "ok" || calls[len(calls)-1].Operation != "query" {
		t.Errorf("WX-V1 calls: %+v", calls)
	}
	// Modify (a new registration number), then re-declare unchanged.
	lv.call("POST", "/v1/orders/WX-V1/declarations", map[string]any{"declarations": []map[string]any{
		{"customs": "SHANGHAI_ZS", "merchant_customs_no": "7654321"}}}, http.StatusAccepted)
	waitFor(t, p, "the modify at WeChat", func() bool {
		ds := wx.order("WX-V1").Declarations
		return len(ds) == 1 && ds[0].MerchantCustomsNo == "7654321" && ds[0].State == "SUCCESS"
	})
	if d := liveDecl("WX-V1", "SHANGHAI_ZS", "", "SUCCESS"); d.Attempts != 2 {
		t.Errorf("after the modify: %+v", d)
	}
	lv.call("POST", "/v1/orders/WX-V1/declarations", map[string]any{"declarations": []map[string]any{
		{"customs": "SHANGHAI_ZS", "merchant_customs_no": "7654321"}}}, http.StatusAccepted)
	waitFor(t, p, "the re-declaration at WeChat", func() bool {
		ds := wx.order("WX-V1").Declarations
		return len(ds) == 1 && ds[0].Attempts == 3 && ds[0].State == "SUCCESS"
	})
	if d := liveDecl("WX-V1", "SHANGHAI_ZS", "", "SUCCESS"); d.Attempts != 3 {
		t.Errorf("after the re-declaration: %+v", d)
	}
	ops := map[string]int{}
	for _, c := range lv.calls("WX-V1") {
		ops[c.Operation]++
	}
	if ops["declare"] != 1 || ops["modify"] != 1 || ops["redeclare"] != 1 {
		t.Errorf("WX-V1 operations: %v", ops)
	}

	// 2. WeChat-paid, through pushorder (HG022 reaches WeChat as SHANGHAI_ZS).
	txPO := wechatPaid("WX-PO", 5000)
	pushOrder(t, p.base+"/pushorder/L1veT0kenW8x3Qz7Rm2Pv5Nc9Kd4Hb6J/PushOrder", map[string]any{"OperationType": "A", "OrderNo": "WX-PO",
		"ReceiverName": "张三", "ReceiverCardNo": "110105199001011232", "ReceiverMobile": "13800138000", "TotalNum": 1,
		"OrderTotal": "50.00", "ItemNames": "奶粉", "ShopPayTime": "2026-01-02 10:00:00", "MerchantName": "跨境小店",
		"CustomsCode": "HG022", "PaymentNo": txPO, "PaymentCompany": "WECHAT"})
	liveDecl("WX-PO", "HG022", "", "SUCCESS")
	hooks.wait(t, p, "pushorder WX-PO")
	if ds := wx.order("WX-PO").Declarations; len(ds) != 1 || ds[0].Customs != "SHANGHAI_ZS" {
		t.Errorf("WX-PO at WeChat: %+v", ds)
	}

	// 3. Alipay-paid, through /v1, split in two.
	ali.AddTrade("2026010222001000000001", alipaytest.Trade{Amount: 10000, BuyerName: "张三", BuyerID: "110105199001011232"})
	lv.call("POST", "/v1/orders", map[string]any{"merchant_order_no": "ALI-V1", "amount": 10000, "subject": "面膜",
		"channel": "external", "payment_no": "2026010222001000000001", "psp": "ALIPAY", "payer": payer,
		"declarations": []map[string]any{
			{"customs": "ZONGSHU", "sub_order_no": "S1", "order_fee": 6000, "transport_fee": 1000, "product_fee": 5000},
			{"customs": "ZONGSHU", "sub_order_no": "S2", "order_fee": 4000, "transport_fee": 0, "product_fee": 4000}}}, http.StatusCreated)
	for _, sub := range []string{"S1", "S2"} {
		if d := liveDecl("ALI-V1", "ZONGSHU", sub, "SUCCESS"); d.Route != "alipay" || d.IdentityCheck != "SAME" {
			t.Errorf("ALI-V1 %s: %+v", sub, d)
		}
	}
	if ds := ali.Decls("2026010222001000000001"); len(ds) != 2 || ds[0].Amount+ds[1].Amount != 10000 {
		t.Errorf("Alipay holds %+v", ds)
	}

	// 4. Alipay-paid, through pushorder (HG016, Chongqing, reaches Alipay as ZONGSHU).
	ali.AddTrade("2026010222001000000002", alipaytest.Trade{Amount: 2000, BuyerName: "张三", BuyerID: "110105199001011232"})
	pushOrder(t, p.base+"/pushorder/L1veT0kenW8x3Qz7Rm2Pv5Nc9Kd4Hb6J/PushOrder", map[string]any{"OperationType": "A", "OrderNo": "ALI-PO",
		"ReceiverName": "张三", "ReceiverCardNo": "110105199001011232", "ReceiverMobile": "13800138000", "TotalNum": 1,
		"OrderTotal": "20.00", "ItemNames": "面膜", "ShopPayTime": "2026-01-02 10:00:00", "MerchantName": "跨境小店",
		"CustomsCode": "HG016", "PaymentNo": "2026010222001000000002", "PaymentCompany": "ALIPAY"})
	liveDecl("ALI-PO", "HG016", "", "SUCCESS")
	hooks.wait(t, p, "pushorder ALI-PO")

	// 5. The gateway fails the first calls (a 500, a timeout after doing the
	// work, a SYSTEM_ERROR): retries, then SUCCESS, one declaration.
	ali.AddTrade("2026010222001000000003", alipaytest.Trade{Amount: 3000, BuyerName: "张三", BuyerID: "110105199001011232"})
	ali.InjectNext(alipaytest.InjectHTTP500, alipaytest.InjectHangAfter, alipaytest.InjectSystemError)
	lv.call("POST", "/v1/orders", map[string]any{"merchant_order_no": "ALI-RETRY", "amount": 3000, "subject": "面膜",
		"channel": "external", "payment_no": "2026010222001000000003", "psp": "ALIPAY", "payer": payer,
		"declarations": []map[string]any{{"customs": "ZONGSHU"}}}, http.StatusCreated)
	if d := liveDecl("ALI-RETRY", "ZONGSHU", "", "SUCCESS"); d.Attempts < 3 {
		t.Errorf("ALI-RETRY: %+v", d)
	}
	if ds := ali.Decls("2026010222001000000003"); len(ds) != 1 || ds[0].Pushes != 1 {
		t.Errorf("Alipay holds %+v for ALI-RETRY", ds)
	}
	outcomes := map[string]int{}
	for _, c := range lv.calls("ALI-RETRY") {
		outcomes[c.Outcome]++
		if strings.Contains(c.Message, "110105199001011232") {
			t.Errorf("a call record shows the ID number: %+v", c)
		}
	}
	if outcomes["retry"] < 3 || outcomes["ok"] < 2 {
		t.Errorf("ALI-RETRY call outcomes: %v", outcomes)
	}

	// 6. The gateway fails every call of the schedule: EXCEPT, notified.
	ali.AddTrade("2026010222001000000004", alipaytest.Trade{Amount: 1000, BuyerName: "张三", BuyerID: "110105199001011232"})
	ali.InjectNext(alipaytest.InjectHTTP500, alipaytest.InjectHTTP500, alipaytest.InjectHTTP500, alipaytest.InjectHTTP500, alipaytest.InjectHTTP500)
	lv.call("POST", "/v1/orders", map[string]any{"merchant_order_no": "ALI-EXCEPT", "amount": 1000, "subject": "面膜",
		"channel": "external", "payment_no": "2026010222001000000004", "psp": "ALIPAY", "payer": payer,
		"declarations": []map[string]any{{"customs": "ZONGSHU"}}}, http.StatusCreated)
	waitFor(t, p, "ALI-EXCEPT to end", func() bool { return lv.order("ALI-EXCEPT").DeclareStatus == "DECLARE_FAILED" })
	if d := lv.order("ALI-EXCEPT").Declarations[0]; d.State != "EXCEPT" || d.Attempts != 5 || !strings.Contains(d.Explanation, "支付宝") {
		t.Errorf("ALI-EXCEPT: %+v", d)
	}
	hooks.wait(t, p, "declaration.failed ALI-EXCEPT")
	if n := len(ali.Decls("2026010222001000000004")); n != 0 {
		t.Errorf("Alipay holds %d declarations of a trade every call failed for", n)
	}

	// 7. A push no route can carry is refused, naming what to configure.
	status, body := lv.do("POST", "/v1/orders", map[string]any{"merchant_order_no": "WX-NOREG", "amount": 100, "subject": "x",
		"channel": "external", "payment_no": "42000000", "psp": "WECHAT", "payer": payer,
		"declarations": []map[string]any{{"customs": "HANGZHOU_ZS"}}})
	if status != http.StatusBadRequest || !strings.Contains(body, "no_route") || !strings.Contains(body, "baoguan merchant customs --merchant LIVE1 --customs HANGZHOU_ZS") {
		t.Errorf("push without a registration: %d %s", status, body)
	}

	// No duplicate anywhere: WeChat holds one declaration per order.
	for _, no := range []string{"WX-V1", "WX-PO"} {
		if n := len(wx.order(no).Declarations); n != 1 {
			t.Errorf("WeChat holds %d declarations of %s", n, no)
		}
	}
	// The operator's view of the calls.
	if out := run("calls", "--db", liveDB, "--merchant", "LIVE1", "--order", "WX-V1"); !strings.Contains(out, "wechatpay.v3") ||
		strings.Contains(out, "BEGIN") {
		t.Errorf("baoguan calls: %s", out)
	}
	// The same calls on the console's operator page, with the orders
	// they belong to.
	create := exec.Command(bin, "user", "create", "--db", liveDB, "--login", "ops", "--operator")
	create.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=", "BAOGUAN_PASSWORD=operator-password-1")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	page := consolePage(t, p.base, "ops", "operator-password-1", "/console/ops/upstream?merchant=LIVE1")
	for _, want := range []string{`href="/console/m/LIVE1/orders/WX-V1"`, "wechatpay.v3", "alipay", `<tr class="call">`} {
		if !strings.Contains(page, want) {
			t.Errorf("console upstream page lacks %q", want)
		}
	}
	if strings.Contains(page, "BEGIN") || strings.Contains(page, "110105199001011232") {
		t.Error("console upstream page shows a key or an ID number")
	}
	if dir := os.Getenv("BAOGUAN_DOC_SCREENSHOTS"); dir != "" {
		consoleScreenshot(t, p.base, "ops", "operator-password-1", "/console/ops/upstream?merchant=LIVE1", filepath.Join(dir, "console-ops-upstream.png"))
	}
}

// ---- helpers ---------------------------------------------------------------

type apiClient struct {
	t         *testing.T
	base, key string
}

func (c *apiClient) do(method, path string, body any) (int, string) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *apiClient) call(method, path string, body any, want int) string {
	c.t.Helper()
	status, b := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
	}
	return b
}

type declJSONView struct {
	ID                string `json:"id"`
	Customs           string `json:"customs"`
	Route             string `json:"route"`
	SubOrderNo        string `json:"sub_order_no"`
	MerchantCustomsNo string `json:"merchant_customs_no"`
	State             string `json:"state"`
	Explanation       string `json:"explanation"`
	IdentityCheck     string `json:"identity_check"`
	VerifyDepartment  string `json:"verify_department"`
	Attempts          int    `json:"attempts"`
}

type orderJSONView struct {
	PayStatus     string `json:"pay_status"`
	DeclareStatus string `json:"declare_status"`
	Payment       struct {
		PaymentNo string `json:"payment_no"`
	} `json:"payment"`
	Declarations []declJSONView `json:"declarations"`
}

func (c *apiClient) order(no string) orderJSONView {
	c.t.Helper()
	var o orderJSONView
	status, b := c.do("GET", "/v1/orders/"+no, nil)
	if status == http.StatusOK {
		mustJSON(c.t, b, &o)
	}
	return o
}

type callJSONView struct {
	Service, Operation, Code, Message, Outcome string
	HTTPStatus                                 int `json:"http_status"`
}

func (c *apiClient) calls(no string) []callJSONView {
	c.t.Helper()
	var l struct {
		Data []callJSONView `json:"data"`
	}
	mustJSON(c.t, c.call("GET", "/v1/orders/"+no+"/calls?limit=100", nil, http.StatusOK), &l)
	// oldest first
	for i, j := 0, len(l.Data)-1; i < j; i, j = i+1, j-1 {
		l.Data[i], l.Data[j] = l.Data[j], l.Data[i]
	}
	return l.Data
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func privatePEM(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// merchantCertificate makes a WeChat merchant API key and certificate, as
// WeChat's certificate tool would: the key, the certificate PEM and the
// serial as WeChat writes it.
func merchantCertificate(t *testing.T, mchid string) (*rsa.PrivateKey, string, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: mchid},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), fmt.Sprintf("%X", serial.Bytes())
}

// pushOrder posts a PushOrder data= form and expects 0000.
func pushOrder(t *testing.T, endpoint string, data map[string]any) {
	t.Helper()
	b, _ := json.Marshal(data)
	resp, err := http.Post(endpoint, "application/x-www-form-urlencoded", strings.NewReader("data="+url.QueryEscape(string(b))))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(rb), `"0000"`) {
		t.Fatalf("PushOrder %v: %s", data["OrderNo"], rb)
	}
}

// hookSink receives the merchant's webhooks (/hooks) and pushorder
// callbacks (/pushorder), answering each as its protocol wants.
type hookSink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func newHookSink() *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.URL.Path == "/pushorder" {
			form, _ := url.ParseQuery(string(b))
			var d struct {
				OrderNo string `json:"order_no"`
			}
			_ = json.Unmarshal([]byte(form.Get("data")), &d)
			h.seen = append(h.seen, "pushorder "+d.OrderNo)
			io.WriteString(w, "ok")
			return
		}
		var e struct {
			Type string `json:"type"`
			Data struct {
				No string `json:"merchant_order_no"`
			} `json:"data"`
		}
		_ = json.Unmarshal(b, &e)
		h.seen = append(h.seen, e.Type+" "+e.Data.No)
		w.WriteHeader(http.StatusNoContent)
	}))
	return h
}

func (h *hookSink) wait(t *testing.T, p *proc, what string) {
	t.Helper()
	waitFor(t, p, "the notification "+what, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, s := range h.seen {
			if s == what {
				return true
			}
		}
		return false
	})
}
