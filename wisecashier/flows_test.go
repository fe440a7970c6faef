package wisecashier_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/wisecashier"
)

// paidHKD creates an HKD order paid by scanning the payer's code.
func (h *harness) paidHKD(t *testing.T, no, amount string) (orderNo string) {
	t.Helper()
	r := h.ok(req{method: http.MethodPost, path: "/order/scan_pay", params: map[string]string{"merchant_no": "xxx", "currency": "HKD",
		"amount": amount, "product_info": "奶粉", "auth_code": "135605691981176449", "agent_order_id": no, "notify_url": h.hooks.srv.URL + "/notify/" + no}})
	var out struct{ Order struct{ No, Status string } }
	r.data(t, &out)
	if out.Order.Status != "PAID" {
		t.Fatalf("%s: %s", no, r.Raw)
	}
	return out.Order.No
}

// §9: declaring a paid order to WeChat Pay's GUANGZHOU_HP_GJ (two pushes:
// GUANGZHOU_ZS and GUANGZHOU_HP_GJ), with the orderer's identity checked
// against the wallet's payer, a split, a modification, a re-declaration;
// Alipay's T/F check; customs sees CNY: the payment's CNY less refunds.
func TestDeclarations(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	no := h.paidHKD(t, "D-1", "100")
	declare := func(path string, p map[string]string) *resp {
		t.Helper()
		return h.do(req{method: http.MethodPost, path: path, params: p})
	}
	// The seed's two pushes, the orderer given as §9.1's example (the
	// sandbox wallet's payer: SAME).
	var obj map[string]any
	for _, customs := range []string{"GUANGZHOU_ZS", "GUANGZHOU_HP_GJ"} {
		r := declare("/wechatpay/declaration", map[string]string{"out_order_no": "D-1", "payment_no": no, "customs": customs,
			"mch_customs_no": "123456789BTW", "cert_id": "510921199308772318", "name": "Lisa"})
		if r.Status != 200 {
			t.Fatalf("declare %s: %d %s", customs, r.Status, r.Raw)
		}
		r.data(t, &obj)
		if obj["cert_check_result"] != "SAME" || obj["customs"] != customs {
			t.Errorf("declare %s: %s", customs, r.Raw)
		}
	}
	h.settle()
	r := h.ok(req{method: http.MethodGet, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no, "customs": "GUANGZHOU_HP_GJ"}})
	seedShape(t, "wechatpay_declaration.json", asIfSplit(r.Raw))
	r.data(t, &obj)
	if obj["state"] != "SUCCESS" || obj["wechatpay_no"] == "" {
		t.Errorf("query: %s", r.Raw)
	}
	// Customs got CNY: the payment's 87.89 yuan (100 HKD at 0.8789).
	ds, err := h.svc.Declarations(h.ctx, h.merchant("xxx"), "D-1")
	if err != nil || len(ds) != 2 || ds[0].OrderFee != 8789 || ds[1].OrderFee != 8789 {
		t.Errorf("declared amounts: %v %+v", err, ds)
	}
	// A different orderer: DIFFERENT, still declared (DIFF_PUSH).
	no2 := h.paidHKD(t, "D-2", "50")
	r = declare("/wechatpay/declaration", map[string]string{"payment_no": no2, "customs": "SHANGHAI_ZS", "mch_customs_no": "123456789BTW",
		"cert_id": "110105199001011232", "name": "张三"})
	r.data(t, &obj)
	if obj["cert_check_result"] != "DIFFERENT" {
		t.Errorf("a different orderer: %s", r.Raw)
	}
	// No orderer: UNCHECKED.
	no3 := h.paidHKD(t, "D-3", "200")
	r = declare("/wechatpay/declaration", map[string]string{"payment_no": no3, "customs": "NINGBO", "mch_customs_no": "123456789BTW"})
	r.data(t, &obj)
	if obj["cert_check_result"] != "UNCHECKED" {
		t.Errorf("no orderer: %s", r.Raw)
	}
	// A split: §9.1's amounts; product + transport must be the sub amount.
	bad := declare("/wechatpay/declaration", map[string]string{"payment_no": no3, "customs": "SHENZHEN", "mch_customs_no": "123456789BTW",
		"sub_order_no": "2018051716124", "sub_order_amount": "46.44", "transport_amount": "23.22", "product_amount": "23.21"})
	if bad.Status != 400 || !strings.Contains(bad.Env.Meta.Message, "sub_order_amount") {
		t.Errorf("split that does not add up: %d %s", bad.Status, bad.Raw)
	}
	r = h.ok(req{method: http.MethodPost, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no3, "customs": "SHENZHEN",
		"mch_customs_no": "123456789BTW", "sub_order_no": "2018051716124", "sub_order_amount": "46.44", "transport_amount": "23.22", "product_amount": "23.22",
		"cert_id": "510921199308772318", "name": "Lisa"}})
	seedShape(t, "wechatpay_declaration.json", r.Raw)
	golden(t, "wechatpay_declaration.json", r.Raw)
	h.settle()
	// Re-declaration (§9.2) of the sub-order, and a modification.
	r = h.ok(req{method: http.MethodPost, path: "/wechatpay/redeclaration", params: map[string]string{"sub_order_no": "2018051716124",
		"customs": "SHENZHEN", "mch_customs_no": "123456789BTW"}})
	seedShape(t, "wechatpay_redeclaration.json", r.Raw)
	h.settle()
	r = h.ok(req{method: http.MethodPost, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no3, "customs": "SHENZHEN",
		"mch_customs_no": "123456789BTW", "action_type": "MODIFY", "sub_order_no": "2018051716124", "sub_order_amount": "50.00",
		"transport_amount": "10.00", "product_amount": "40.00"}})
	r.data(t, &obj)
	if obj["sub_order_amount"] != "50.00" {
		t.Errorf("modify: %s", r.Raw)
	}
	// A declaration above what was paid (175.78 yuan for 200 HKD) is refused.
	over := declare("/wechatpay/declaration", map[string]string{"payment_no": no3, "customs": "SHENZHEN", "mch_customs_no": "123456789BTW",
		"sub_order_no": "S2", "sub_order_amount": "200.00", "transport_amount": "0", "product_amount": "200.00"})
	if over.Status != 400 {
		t.Errorf("above the paid amount: %d %s", over.Status, over.Raw)
	}
	// Codes of the other family are refused by name.
	if r := declare("/wechatpay/declaration", map[string]string{"payment_no": no3, "customs": "ZONGSHU", "mch_customs_no": "X"}); r.Status != 400 ||
		!strings.Contains(r.Env.Meta.Message, "customs") {
		t.Errorf("an Alipay code to WeChat Pay: %d %s", r.Status, r.Raw)
	}

	// Alipay: a paid Alipay order, HENAN (two pushes by its plan), T.
	ali := h.ok(req{method: http.MethodPost, path: "/alipay/scan_pay", params: map[string]string{"merchant_no": "xxx", "currency": "HKD",
		"amount": "100", "auth_code": "2812345678901234567", "subject": "x", "out_order_no": "AD-1"}})
	var ao struct {
		Order struct {
			Status    string
			PaymentNo string `json:"payment_no"`
		}
	}
	ali.data(t, &ao)
	r = h.ok(req{method: http.MethodPost, path: "/alipay/declaration", params: map[string]string{"out_order_no": "AD-1", "payment_no": ao.Order.PaymentNo,
		"customs": "ZONGSHU", "mch_customs_no": "123456789BTW", "merchant_customs_name": "xxxhanguo_card", "sub_order_no": "2018051716124",
		"sub_order_amount": "46.44", "cert_id": "510921199308772318", "name": "Lisa"}})
	seedShape(t, "alipay_declaration.json", r.Raw)
	golden(t, "alipay_declaration.json", r.Raw)
	h.settle()
	r = h.ok(req{method: http.MethodGet, path: "/alipay/declaration", params: map[string]string{"out_order_no": "AD-1"}})
	seedShape(t, "alipay_declaration.json", r.Raw)
	r = h.ok(req{method: http.MethodPost, path: "/alipay/redeclaration", params: map[string]string{"out_order_no": "AD-1", "sub_order_no": "2018051716124",
		"customs": "ZONGSHU", "mch_customs_no": "123456789BTW", "merchant_customs_name": "xxxhanguo_card"}})
	r.data(t, &obj)
	if obj["state"] != "SUBMITTED" {
		t.Errorf("alipay redeclaration: %s", r.Raw)
	}
}

// asIfSplit adds empty split members to the answer of a whole-order
// declaration: the example file (§9.1's tables) holds the members "若拆单会
// 返回", which only a split declaration has; every other member is checked
// as it is.
func asIfSplit(b []byte) []byte {
	s := string(b)
	for _, k := range []string{"sub_order_no", "sub_order_amount", "transport_amount", "product_amount"} {
		if !strings.Contains(s, `"`+k+`"`) {
			s = strings.Replace(s, `"state":`, `"`+k+`":"","state":`, 1)
		}
	}
	return []byte(s)
}

// §10: a paid order is notified to notify_url as a form signed with the
// platform key, verified as a merchant would; an unacknowledged
// notification is retried on the schedule, each attempt recorded.
func TestNotifications(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.hooks.mu.Lock()
	h.hooks.fail["N-1"] = 2 // the receiver is busy twice
	h.hooks.mu.Unlock()
	first := h.clock.Now()
	h.paidHKD(t, "N-1", "100")
	for i, wait := range []time.Duration{0, 15 * time.Second, 15 * time.Second} {
		h.settle() // the failed attempt is rescheduled before the clock moves
		h.clock.Add(wait)
		h.waitFor("attempt", func() bool { return len(h.hooks.notices("N-1")) == i+1 })
	}
	h.settle()
	ns := h.hooks.notices("N-1")
	for i, n := range ns {
		verifyNotice(t, h, n)
		if want := first.Add([]time.Duration{0, 15 * time.Second, 30 * time.Second}[i]).Unix(); n.Timestamp != strconv.FormatInt(want, 10) {
			t.Errorf("attempt %d at %s, want %d", i+1, n.Timestamp, want)
		}
	}
	got := map[string]string{}
	for k := range ns[0].Form {
		got[k] = ns[0].Form.Get(k)
	}
	seedShape(t, "notification.json", mustJSON(t, got))
	if got["status"] != "PAID" || got["currency"] != "HKD" || got["amount"] != "100.00" || got["pay_amount"] != "87.89" || got["agent_order_id"] != "N-1" {
		t.Errorf("notification %v", got)
	}
	es, err := h.svc.Events(h.ctx, h.merchant("xxx"), baoguan.EventFilter{})
	if err != nil || len(es) != 1 || es[0].Status != baoguan.EventDelivered || es[0].Attempts != 3 {
		t.Fatalf("event %v %+v", err, es)
	}
	_, as, err := h.svc.Event(h.ctx, h.merchant("xxx"), es[0].ID)
	if err != nil || len(as) != 3 || as[0].Status != 503 || as[2].Status != 200 {
		t.Errorf("attempts %v %+v", err, as)
	}
	// The ack rule: only a 2xx with "success".
	for body, want := range map[string]bool{"success": true, " SUCCESS\n": true, `"success"`: true, "OK": false, "": false, `{"code":"SUCCESS"}`: false} {
		if wisecashier.Acknowledged(body) != want {
			t.Errorf("Acknowledged(%q) != %v", body, want)
		}
	}
}

// verifyNotice checks a notification as a merchant's receiver would, with
// the platform public key (`baoguan platform-cert --protocol wisecashier`).
func verifyNotice(t *testing.T, h *harness, n notice) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(n.Signature)
	if err != nil {
		t.Fatalf("Signature %q", n.Signature)
	}
	sum := sha256.Sum256([]byte(wisecashier.NotifySigningString(n.Form, n.Timestamp)))
	if err := rsa.VerifyPKCS1v15(&h.wc.Key().Private.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("notification signature: %v", err)
	}
}

// Cashier desks send the payer to the sandbox wallet page and, once paid,
// back to return_url with §4.6.3's parameters (tarde_type and trade_type)
// and the desk's extra parameters. The authentication values come in the
// query, as from a browser.
func TestCashierDesk(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range []struct {
		path, trade, noParam string
	}{{"/wechatpay/cashier_desk", "PC_DESK", "agent_order_id"}, {"/wechatpay/mp_cashier_desk", "MP_DESK", "agent_order_id"}, {"/alipay/cashier_desk", "DESK", "out_order_no"}} {
		params := map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100", "product_info": "演示订单", "subject": "演示订单",
			"return_url": "https://shop.example/return?from=desk", c.noParam: "DESK-" + c.trade, "cart": "42"}
		r := h.do(req{method: http.MethodGet, path: c.path, params: params, inQuery: true, noRedirect: true})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", c.path, r.Status, r.Raw)
		}
		page := r.Header.Get("Location")
		if !strings.HasPrefix(page, h.srv.URL+"/wisecashier/sandbox/wallet/") {
			t.Fatalf("%s sends to %s", c.path, page)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.PostForm(page, url.Values{"action": {"pay"}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		back, err := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || err != nil || back.Host != "shop.example" {
			t.Fatalf("%s: after paying %d %s", c.path, res.StatusCode, res.Header.Get("Location"))
		}
		q := back.Query()
		for k, want := range map[string]string{"tarde_type": c.trade, "trade_type": c.trade, "status": "PAID", "currency": "HKD", "amount": "100.00",
			"merchant_no": "xxx", c.noParam: "DESK-" + c.trade, "cart": "42", "from": "desk", "exchange_rate": "0.8789"} {
			if q.Get(k) != want {
				t.Errorf("%s return %s=%q, want %q (%s)", c.path, k, q.Get(k), want, back)
			}
		}
		if len(q.Get("no")) != 25 || q.Get("trade_time") == "" {
			t.Errorf("%s return %s", c.path, back)
		}
	}
	// An extra parameter may not take a returned name.
	r := h.do(req{method: http.MethodGet, path: "/wechatpay/cashier_desk", params: map[string]string{"merchant_no": "xxx", "amount": "1",
		"return_url": "https://shop.example/r", "status": "x"}, inQuery: true, noRedirect: true})
	if r.Status != 400 || !strings.Contains(r.Env.Meta.Message, "status") {
		t.Errorf("extra parameter named status: %d %s", r.Status, r.Raw)
	}
}

// §8: the bill lists the agent's payments and refunds of the period, and
// refuses more than three months or another agent's number.
func TestDownloadBill(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	no := h.paidHKD(t, "B-1", "100")
	h.clock.Add(time.Minute)
	h.ok(req{method: http.MethodPost, path: "/refund", params: map[string]string{"order_no": no, "refund_amount": "40", "outer_refund_no": "BR-1"}})
	h.clock.Add(time.Minute)
	h.paidHKD(t, "B-2", "20")
	day := h.clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	r := h.do(req{method: http.MethodGet, path: "/download_bill", params: map[string]string{"agent_no": "123456", "start_date": day, "end_date": day}})
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("bill: %d %s", r.Status, r.Raw)
	}
	lines := strings.Split(strings.TrimSpace(string(r.Raw)), "\n")
	if lines[0] != strings.Join(wisecashier.BillColumns, "\t") {
		t.Errorf("header %q", lines[0])
	}
	kinds := []string{}
	for _, l := range lines[1:] {
		kinds = append(kinds, strings.SplitN(l, "\t", 2)[0])
	}
	if strings.Join(kinds, ",") != "PAY,REFUND,PAY,SUM" {
		t.Errorf("bill lines %v:\n%s", kinds, r.Raw)
	}
	refund := strings.Split(lines[2], "\t")
	if refund[6] != "BR-1" || refund[10] != "40.00" || refund[13] != "35.16" || refund[9] != "HKD" {
		t.Errorf("refund line %q", lines[2])
	}
	if lines[4] != "SUM\tHKD\tpayments\t2\t120.00\trefunds\t1\t40.00" {
		t.Errorf("sum line %q", lines[4])
	}
	for name, p := range map[string]map[string]string{
		"four months": {"agent_no": "123456", "start_date": "2017-01-01", "end_date": "2017-05-01"},
		"reversed":    {"agent_no": "123456", "start_date": "2017-06-23", "end_date": "2017-06-22"},
		"bad date":    {"agent_no": "123456", "start_date": "23/06/2017", "end_date": "2017-06-23"},
	} {
		if r := h.do(req{method: http.MethodGet, path: "/download_bill", params: p}); r.Status != 400 {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	if r := h.do(req{method: http.MethodGet, path: "/download_bill", params: map[string]string{"agent_no": "654321", "start_date": day, "end_date": day}}); r.Status != 403 {
		t.Errorf("another agent's bill: %d %s", r.Status, r.Raw)
	}
}

// Codes expire: an unpaid NATIVE order is EXPIRED after two hours, and its
// page no longer pays.
func TestExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.ok(req{method: http.MethodPost, path: "/order/scanned_pay", params: map[string]string{"merchant_no": "xxx", "currency": "HKD",
		"amount": "1", "agent_order_id": "EXP-1"}})
	var out struct {
		CodeURL string `json:"code_url"`
		Order   struct{ Status string }
	}
	r.data(t, &out)
	if out.Order.Status != "INIT" {
		t.Fatalf("%s", r.Raw)
	}
	h.clock.Add(2*time.Hour + time.Minute)
	h.settle()
	h.waitFor("EXPIRED", func() bool {
		r := h.ok(req{method: http.MethodGet, path: "/order", params: map[string]string{"agent_order_id": "EXP-1"}})
		return strings.Contains(string(r.Raw), `"status":"EXPIRED"`)
	})
	res, err := http.PostForm(out.CodeURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode == 200 && strings.Contains(string(body), "支付成功") {
		t.Error("an expired code was paid")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
