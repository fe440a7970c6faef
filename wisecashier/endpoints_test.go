package wisecashier_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/wisecashier"
)

// verifySHA256 checks a client-parameter signature with the platform key.
func (h *harness) verifySHA256(t *testing.T, what, msg, sig string) {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatalf("%s: signature %q is not base64", what, sig)
	}
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(&h.wc.Key().Private.PublicKey, crypto.SHA256, sum[:], b); err != nil {
		t.Errorf("%s: the signature does not verify with the platform key: %v", what, err)
	}
}

// Every interface of §4–§7 with the document's request: the answer has
// every member of the document's example (testdata/seed), and is as
// recorded (testdata/golden). Client parameters verify with the platform
// public key; codes lead to the sandbox wallet page.
func TestSeedRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	post := func(path string, p map[string]string) *resp {
		t.Helper()
		return h.ok(req{method: http.MethodPost, path: path, params: p})
	}
	get := func(path string, p map[string]string, version string) *resp {
		t.Helper()
		return h.ok(req{method: http.MethodGet, path: path, params: p, version: version})
	}
	check := func(name string, r *resp) {
		t.Helper()
		seedShape(t, name, r.Raw)
		golden(t, name, r.Raw)
	}

	// §4.2 scan_pay, the document's request.
	r := post("/order/scan_pay", map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100",
		"product_info": "这里是商品的描述", "ip": "102.142.32.12", "auth_code": "135605691981176449", "agent_order_id": "xxxx"})
	check("scan_pay.json", r)
	var scan struct {
		Order struct{ No, Status, PayAmount string }
	}
	r.data(t, &scan)
	// §4.3 scanned_pay.
	r = post("/order/scanned_pay", map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100",
		"product_info": "这是一个商品的名称", "ip": "102.142.32.12"})
	check("scanned_pay.json", r)
	var scanned struct {
		CodeURL string `json:"code_url"`
	}
	r.data(t, &scanned)
	if !strings.HasPrefix(scanned.CodeURL, h.srv.URL+"/wisecashier/sandbox/wallet/") {
		t.Errorf("code_url %s does not lead to the sandbox wallet page", scanned.CodeURL)
	}
	if page, err := http.Get(scanned.CodeURL); err != nil || page.StatusCode != 200 {
		t.Errorf("sandbox page: %v", err)
	} else {
		page.Body.Close()
	}
	// §4.1 mp_pay with the JavaScript example's parameters only.
	r = post("/mp_pay", map[string]string{"merchant_no": "xxx", "amount": "0.01", "openid": "oQx43wJiwtsjv8C0lT5Lj7Mw1QZ4"})
	check("mp_pay.json", r)
	var mp struct {
		JSParam map[string]string `json:"js_param"`
	}
	r.data(t, &mp)
	js := mp.JSParam
	h.verifySHA256(t, "js_param", wisecashier.JSAPIMessage(js["appId"], js["timeStamp"], js["nonceStr"], js["package"]), js["paySign"])
	if js["signType"] != "RSA" || !strings.HasPrefix(js["package"], "prepay_id=wx") {
		t.Errorf("js_param %v", js)
	}
	// §4.4 wx_openid, then mini_program_pay.
	r = get("/wx_openid", map[string]string{"code": "061a2b3c4d", "merchant_no": "xxx"}, "")
	check("wx_openid.json", r)
	var oid struct{ OpenID string }
	r.data(t, &oid)
	r = post("/mini_program_pay", map[string]string{"merchant_no": "xxx", "openid": oid.OpenID, "currency": "HKD", "amount": "88.80",
		"product_info": "奶粉", "agent_order_id": "MINI-1", "appid": "wx5e1a1b2c3d4e5f60"})
	check("mini_program_pay.json", r)
	var mini map[string]string
	r.data(t, &mini)
	h.verifySHA256(t, "mini program", wisecashier.JSAPIMessage("wx5e1a1b2c3d4e5f60", mini["timeStamp"], mini["nonceStr"], "prepay_id="+mini["prepay_id"]), mini["paySign"])
	// §4.5 app_pay.
	r = post("/order/app_pay", map[string]string{"merchant_no": "xxx", "currency": "USD", "amount": "9.99", "product_info": "维生素",
		"appid": "wx247c9d9d6191b108", "agent_order_id": "APP-1"})
	check("app_pay.json", r)
	var app map[string]string
	r.data(t, &app)
	h.verifySHA256(t, "app", wisecashier.AppMessage(app["appid"], app["timeStamp"], app["nonceStr"], app["prepayId"]), app["sign"])

	// §4.9 order queries, §4.8 refund (full, no amount), §4.10 refund queries.
	check("order_v1.json", get("/order", map[string]string{"order_no": scan.Order.No}, "1.0"))
	r = post("/refund", map[string]string{"order_no": scan.Order.No})
	check("refund.json", r)
	var rf struct{ Refund struct{ No, Status string } }
	r.data(t, &rf)
	if rf.Refund.Status != "SUCCESS" {
		t.Errorf("refund status %s", rf.Refund.Status)
	}
	check("order_v2.json", get("/order", map[string]string{"agent_order_id": "xxxx"}, "2.0"))
	check("refund_info.json", get("/refund", map[string]string{"refund_no": rf.Refund.No}, ""))
	check("refund_list.json", get("/refund", map[string]string{"order_no": scan.Order.No}, ""))
	// §4.11 rate.
	r = get("/rate", map[string]string{"merchant_no": "xxx", "currency": "USD"}, "")
	check("rate.json", r)

	// §6 Alipay online, §7 offline.
	check("alipay_scanned_pay.json", post("/alipay/scanned_pay", map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100", "subject": "这是一个商品的名称"}))
	r = post("/alipay/app_pay", map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "0.10", "subject": "wisecasheir test", "out_order_no": "ALI-APP-1"})
	check("alipay_app_pay.json", r)
	var aliApp struct {
		PrepayString string `json:"prepay_string"`
	}
	r.data(t, &aliApp)
	verifyPrepayString(t, h, aliApp.PrepayString)
	check("alipay_wap_pay.json", post("/alipay/wap_pay", map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100", "subject": "这是一个商品的名称"}))
	check("alipay_qrcode_pay.json", post("/alipay/qrcode_pay", map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100", "subject": "这是一个商品的名称"}))
	r = post("/alipay/scan_pay", map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100", "auth_code": "123456",
		"subject": "这是一个商品的名称", "out_order_no": "ALI-SCAN-1"})
	check("alipay_scan_pay.json", r)
	var aliScan struct {
		Order struct {
			Status    string
			PaymentNo string `json:"payment_no"`
		}
	}
	r.data(t, &aliScan)
	if aliScan.Order.Status != "INIT" {
		t.Errorf("§7.2's example code answers %s, the document shows INIT", aliScan.Order.Status)
	}
	// The payer confirms in the app: paid when the pay job asks again,
	// every 5 seconds, 10 seconds after the order.
	h.settle()
	for range 2 {
		h.clock.Add(5 * time.Second)
		h.settle()
	}
	if o, err := h.svc.Order(h.ctx, h.merchant("xxx"), "ALI-SCAN-1"); err != nil || !o.Paid() {
		t.Fatalf("the Alipay scan pay after 10 s: %v %+v", err, o)
	}
	check("alipay_order.json", get("/alipay/order", map[string]string{"out_order_no": "ALI-SCAN-1"}, ""))
	r = post("/alipay/refund", map[string]string{"payment_no": aliScan.Order.PaymentNo, "refund_amount": "30.00", "outer_refund_no": "ALI-R-1"})
	check("alipay_refund.json", r)
	var aliRefund struct {
		Refund struct {
			RefundNo string `json:"refund_no"`
		}
	}
	r.data(t, &aliRefund)
	check("alipay_refund_one.json", get("/alipay/refund", map[string]string{"refund_no": aliRefund.Refund.RefundNo}, ""))
	check("alipay_refund_list.json", get("/alipay/refund", map[string]string{"payment_no": aliScan.Order.PaymentNo}, ""))
	check("alipay_rate.json", get("/alipay/rate", map[string]string{"currency": "HKD"}, ""))
}

// verifyPrepayString checks an Alipay prepay_string's sign (SHA1withRSA
// over the other parameters) with the platform key.
func verifyPrepayString(t *testing.T, h *harness, ps string) {
	t.Helper()
	i := strings.Index(ps, `&sign="`)
	if i < 0 || !strings.HasSuffix(ps, `"&sign_type="RSA"`) {
		t.Fatalf("prepay_string %s", ps)
	}
	content := ps[:i]
	enc := strings.TrimSuffix(ps[i+len(`&sign="`):], `"&sign_type="RSA"`)
	sigText, err := url.QueryUnescape(enc)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte(content))
	if err := rsa.VerifyPKCS1v15(&h.wc.Key().Private.PublicKey, crypto.SHA1, sum[:], sig); err != nil {
		t.Errorf("prepay_string sign does not verify: %v", err)
	}
	if !strings.Contains(content, `service="mobile.securitypay.pay"`) || !strings.Contains(content, `total_fee="0.10"`) {
		t.Errorf("prepay_string content %s", content)
	}
}

// Amounts are minor units of the order's currency: yen and won have none,
// and Version 2.0 writes amounts as exact JSON numbers.
func TestCurrencies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range []struct{ cur, amount, want string }{
		{"JPY", "1500", "1500"}, {"KRW", "30000", "30000"}, {"USD", "12.5", "12.50"}, {"CNY", "0.01", "0.01"},
	} {
		r := h.ok(req{method: http.MethodPost, path: "/order/scan_pay", params: map[string]string{"merchant_no": "xxx", "currency": c.cur,
			"amount": c.amount, "product_info": "x", "auth_code": "135605691981176449", "agent_order_id": "CUR-" + c.cur}})
		var out struct {
			Order struct {
				Amount, Currency string
				ExchangeRate     string `json:"exchange_rate"`
				PayAmount        string `json:"pay_amount"`
			}
		}
		r.data(t, &out)
		if out.Order.Amount != c.want || out.Order.Currency != c.cur {
			t.Errorf("%s %s: %+v", c.cur, c.amount, out.Order)
		}
		cur, _ := baoguan.LookupCurrency(c.cur)
		amount, _ := baoguan.ParseAmount("amount", cur, c.amount)
		rate, _ := baoguan.ParseRate("rate", out.Order.ExchangeRate)
		cny, _ := baoguan.ToCNY("amount", amount, cur, rate)
		if out.Order.PayAmount != baoguan.FormatYuan(cny) {
			t.Errorf("%s: pay_amount %s, want %s at %s", c.cur, out.Order.PayAmount, baoguan.FormatYuan(cny), out.Order.ExchangeRate)
		}
		r = h.ok(req{method: http.MethodGet, path: "/order", params: map[string]string{"agent_order_id": "CUR-" + c.cur}, version: "2.0"})
		var raw struct {
			Order map[string]json.RawMessage
		}
		r.data(t, &raw)
		if want := strings.TrimRight(strings.TrimRight(c.want, "0"), "."); !strings.Contains(c.want, ".") && string(raw.Order["amount"]) != c.want ||
			strings.Contains(c.want, ".") && string(raw.Order["amount"]) != want {
			t.Errorf("%s: Version 2.0 amount %s", c.cur, raw.Order["amount"])
		}
	}
}
