package main

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/baoguan/baoguan/alipay/alipaytest"
)

// A declare that crashes mid-call is repeated safely (issue 14: "a repeated
// declare after a crash is safe"). The live binary declares an order paid
// through WeChat Pay and one paid through Alipay; each wallet records the
// declaration and then never answers, and the binary is killed (SIGKILL)
// while both calls hang, before it could record anything. Restarted on the
// same database, it takes the jobs over once their lease ends and sends the
// same declarations again: WeChat answers with the record it holds, Alipay
// re-pushes the same out_request_no. Both reach SUCCESS and each wallet
// holds one record. Then WeChat fails (503, a call that never answers):
// retried on the declare schedule to SUCCESS, or EXCEPT when it fails
// throughout, with never a second record.
func TestWalletDeclareAfterCrashAndFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary")
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

	// WeChat Pay: a second baoguan, behind a proxy that lets the first
	// declaration through and then keeps the answer.
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
	wx := &apiClient{t: t, base: wechat.base, key: wxMerchant.APIKey}
	target, _ := url.Parse(wechat.base)
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	held, declares := 0, 0
	var inject []string // failures of the next customs calls: "503", "hang"
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/v3/global/customs/") {
			rp.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		mode := ""
		if len(inject) > 0 {
			mode, inject = inject[0], inject[1:]
		}
		if mode == "" && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/orders") {
			declares++
			if declares == 1 {
				mode = "hold"
			}
		}
		mu.Unlock()
		switch mode {
		case "503":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"code":"SYSTEM_ERROR","message":"系统繁忙,请稍后重试"}`))
		case "hang":
			<-r.Context().Done()
		case "hold":
			rp.ServeHTTP(httptest.NewRecorder(), r) // WeChat does the work…
			mu.Lock()
			held++
			mu.Unlock()
			<-r.Context().Done() // …and the answer never comes
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	defer proxy.Close()

	// Alipay: the stand-in, told to keep its first answer.
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
	ali.InjectNext(alipaytest.InjectHangAfter)

	liveDB := "sqlite:" + filepath.Join(dir, "live.db")
	var live struct {
		APIKey string `json:"api_key"`
	}
	mustJSON(t, run("merchant", "create", "--db", liveDB, "--name", "跨境小店", "--no", "LIVE1", "--mode", "live", "--json"), &live)
	writeFile(t, dir, "wechatpay.json", `{"appid":"wxd678efh567hg6787","mchid":"1230000109","cert_serial":"`+serial+
		`","private_key":"@apiclient_key.pem","platform_certs":["@platform.pem"]}`)
	writeFile(t, dir, "alipay.json", `{"partner":"`+ali.Partner+`","sign_type":"RSA2","private_key":"@alipay_key.pem","alipay_public_key":"@alipay_public.pem"}`)
	run("merchant", "credentials", "--db", liveDB, "--merchant", "LIVE1", "--kind", "wechatpay", "--file", filepath.Join(dir, "wechatpay.json"))
	run("merchant", "credentials", "--db", liveDB, "--merchant", "LIVE1", "--kind", "alipay", "--file", filepath.Join(dir, "alipay.json"))
	run("merchant", "customs", "--db", liveDB, "--merchant", "LIVE1", "--customs", "SHANGHAI_ZS", "--no", "1234567", "--name", "上海跨境小店有限公司")
	run("merchant", "customs", "--db", liveDB, "--merchant", "LIVE1", "--customs", "ZONGSHU", "--no", "31222699S7", "--name", "上海跨境小店有限公司")
	flags := []string{"--wechatpay-url", proxy.URL + "/wechatpay", "--alipay-gateway", ali.URL(), "--upstream-poll", "200ms",
		"--upstream-timeout", "4s", "--job-lease", "10s", "--declare-retries", "300ms,300ms"}
	p := startServe(t, bin, filepath.Join(dir, "live.db"), flags...)
	lv := &apiClient{t: t, base: p.base, key: live.APIKey}
	payer := map[string]any{"name": "张三", "id_number": "110105199001011232", "phone": "13800138000"}

	wx.call("POST", "/v1/orders", map[string]any{"merchant_order_no": "WX-CRASH", "amount": 6600, "subject": "奶粉",
		"channel": "mock", "payer": payer}, http.StatusCreated)
	var tx string
	waitFor(t, wechat, "WeChat to take the payment", func() bool {
		o := wx.order("WX-CRASH")
		tx = o.Payment.PaymentNo
		return o.PayStatus == "PAY_SUCCEED"
	})
	ali.AddTrade("2026010222001000009999", alipaytest.Trade{Amount: 7700, BuyerName: "张三", BuyerID: "110105199001011232"})
	lv.call("POST", "/v1/orders", map[string]any{"merchant_order_no": "WX-CRASH", "amount": 6600, "subject": "奶粉",
		"channel": "external", "payment_no": tx, "psp": "WECHAT", "payer": payer,
		"declarations": []map[string]any{{"customs": "SHANGHAI_ZS"}}}, http.StatusCreated)
	lv.call("POST", "/v1/orders", map[string]any{"merchant_order_no": "ALI-CRASH", "amount": 7700, "subject": "面膜",
		"channel": "external", "payment_no": "2026010222001000009999", "psp": "ALIPAY", "payer": payer,
		"declarations": []map[string]any{{"customs": "ZONGSHU"}}}, http.StatusCreated)

	// Both wallets hold the declaration; neither answer has come back.
	waitFor(t, p, "both wallets to record the declarations", func() bool {
		mu.Lock()
		h := held
		mu.Unlock()
		return h == 1 && len(ali.Decls("2026010222001000009999")) == 1
	})
	for _, no := range []string{"WX-CRASH", "ALI-CRASH"} {
		if d := lv.order(no).Declarations[0]; d.State != "PENDING" || d.Attempts != 0 {
			t.Fatalf("%s before the crash: %+v", no, d)
		}
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	p = startServe(t, bin, filepath.Join(dir, "live.db"), flags...)
	lv.base = p.base
	for _, no := range []string{"WX-CRASH", "ALI-CRASH"} {
		waitFor(t, p, no+" to succeed after the restart", func() bool {
			ds := lv.order(no).Declarations
			return len(ds) == 1 && ds[0].State == "SUCCESS"
		})
		if d := lv.order(no).Declarations[0]; d.Attempts != 1 {
			t.Errorf("%s after the restart: %+v, want attempt 1", no, d)
		}
	}
	// One record at each wallet: WeChat answered the repeat with the one it
	// had (declared once), Alipay pushed the same declaration again.
	if ds := wx.order("WX-CRASH").Declarations; len(ds) != 1 || ds[0].Attempts != 1 {
		t.Errorf("WeChat holds %+v", ds)
	}
	if ds := ali.Decls("2026010222001000009999"); len(ds) != 1 || ds[0].Pushes != 2 || ds[0].Updates != 0 {
		t.Errorf("Alipay holds %+v", ds)
	}
	mu.Lock()
	if declares != 2 {
		t.Errorf("WeChat was sent %d declarations, want the first and its repeat", declares)
	}
	mu.Unlock()
	for _, no := range []string{"WX-CRASH", "ALI-CRASH"} {
		calls := lv.calls(no)
		if len(calls) < 2 || calls[0].Operation != "declare" || calls[0].Outcome != "ok" {
			t.Errorf("%s calls after the restart: %+v", no, calls)
		}
	}

	// WeChat failing: a 503, then a call that never answers, then it
	// answers again: retried on the schedule to SUCCESS, one record.
	wxPaid := func(no string, amount int64) string {
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
	setInject := func(modes ...string) {
		mu.Lock()
		inject = modes
		mu.Unlock()
	}
	txF := wxPaid("WX-FLAKY", 3300)
	setInject("503", "hang")
	lv.call("POST", "/v1/orders", map[string]any{"merchant_order_no": "WX-FLAKY", "amount": 3300, "subject": "奶粉",
		"channel": "external", "payment_no": txF, "psp": "WECHAT", "payer": payer,
		"declarations": []map[string]any{{"customs": "SHANGHAI_ZS"}}}, http.StatusCreated)
	waitFor(t, p, "WX-FLAKY to succeed", func() bool {
		ds := lv.order("WX-FLAKY").Declarations
		return len(ds) == 1 && ds[0].State == "SUCCESS"
	})
	if d := lv.order("WX-FLAKY").Declarations[0]; d.Attempts != 3 {
		t.Errorf("WX-FLAKY: %+v, want SUCCESS at attempt 3", d)
	}
	if ds := wx.order("WX-FLAKY").Declarations; len(ds) != 1 || ds[0].Attempts != 1 {
		t.Errorf("WeChat holds %+v for WX-FLAKY", ds)
	}
	outcomes := map[string]int{}
	for _, c := range lv.calls("WX-FLAKY") {
		outcomes[c.Outcome]++
	}
	if outcomes["retry"] != 2 {
		t.Errorf("WX-FLAKY call outcomes %v, want two retries", outcomes)
	}

	// WeChat down through the whole schedule (three attempts): EXCEPT, and
	// WeChat holds nothing.
	txD := wxPaid("WX-DOWN", 1100)
	setInject("503", "503", "503")
	lv.call("POST", "/v1/orders", map[string]any{"merchant_order_no": "WX-DOWN", "amount": 1100, "subject": "奶粉",
		"channel": "external", "payment_no": txD, "psp": "WECHAT", "payer": payer,
		"declarations": []map[string]any{{"customs": "SHANGHAI_ZS"}}}, http.StatusCreated)
	waitFor(t, p, "WX-DOWN to end", func() bool { return lv.order("WX-DOWN").DeclareStatus == "DECLARE_FAILED" })
	if d := lv.order("WX-DOWN").Declarations[0]; d.State != "EXCEPT" || d.Attempts != 3 {
		t.Errorf("WX-DOWN: %+v", d)
	}
	if ds := wx.order("WX-DOWN").Declarations; len(ds) != 0 {
		t.Errorf("WeChat holds %+v for WX-DOWN", ds)
	}
	mu.Lock()
	if len(inject) != 0 {
		t.Errorf("injected failures left unused: %v", inject)
	}
	mu.Unlock()
}
