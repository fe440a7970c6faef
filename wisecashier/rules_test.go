package wisecashier_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/wisecashier"
)

// The sandbox wallet's auth_code rules (docs/sandbox.md, "Payment codes")
// as a WiseCashier client sees them: §4.2 scan_pay and §7.2 alipay/scan_pay
// answer PAID, 555 with the wallet's code, or INIT that later becomes PAID,
// FAIL or EXPIRED in the order query.
func TestAuthCodeRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	type outcome struct {
		path, code, no string
		status         int    // HTTP status of the scan
		wxCode         string // 555's wx_code
		first          string // order status answered at once
	}
	cases := []outcome{
		{"/order/scan_pay", "135605691981176449", "AC-PAID", 200, "", "PAID"},
		{"/order/scan_pay", "999", "AC-BAD", 555, "AUTH_CODE_INVALID", ""},
		{"/order/scan_pay", "135605691981176400", "AC-POOR", 555, "NOTENOUGH", ""},
		{"/order/scan_pay", "135605691981176401", "AC-CONFIRM", 200, "", "INIT"},
		{"/order/scan_pay", "135605691981176402", "AC-CANCEL", 200, "", "INIT"},
		{"/order/scan_pay", "135605691981176403", "AC-NEVER", 200, "", "INIT"},
		{"/alipay/scan_pay", "2812345678901234567", "AC-ALI-PAID", 200, "", "PAID"},
		{"/alipay/scan_pay", "135605691981176449", "AC-ALI-BAD", 555, "ACQ.PAYMENT_AUTH_CODE_INVALID", ""},
		{"/alipay/scan_pay", "2812345678901234500", "AC-ALI-POOR", 555, "ACQ.BUYER_BALANCE_NOT_ENOUGH", ""},
		{"/alipay/scan_pay", "123456", "AC-ALI-SAMPLE", 200, "", "INIT"},
	}
	for _, c := range cases {
		p := map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "100", "auth_code": c.code}
		if strings.HasPrefix(c.path, "/alipay") {
			p["subject"], p["out_order_no"] = "x", c.no
		} else {
			p["product_info"], p["agent_order_id"] = "x", c.no
		}
		r := h.do(req{method: http.MethodPost, path: c.path, params: p})
		if r.Status != c.status || r.Env.Meta.StatusCode != c.status {
			t.Errorf("%s %s: %d %s", c.no, c.code, r.Status, r.Raw)
			continue
		}
		if c.status == 555 {
			var wx struct {
				WxMessage string `json:"wx_message"`
				WxCode    string `json:"wx_code"`
			}
			if err := json.Unmarshal([]byte(r.Env.Meta.Message), &wx); err != nil || wx.WxCode != c.wxCode || wx.WxMessage == "" {
				t.Errorf("%s: message %q is not {wx_message, wx_code=%s}", c.no, r.Env.Meta.Message, c.wxCode)
			}
			// The order is kept, FAIL, and can be queried.
			if st := h.orderStatus(t, c.path, c.no); st != "FAIL" {
				t.Errorf("%s after 555: %s, want FAIL", c.no, st)
			}
			continue
		}
		var out struct{ Order struct{ Status string } }
		r.data(t, &out)
		if out.Order.Status != c.first {
			t.Errorf("%s: %s at once, want %s", c.no, out.Order.Status, c.first)
		}
	}
	// The pay job asks again every 5 s; "user paying" ends 10 s after the
	// order for …01 (paid) and …02 (cancelled), and the two-minute window
	// closes …03 unpaid.
	h.settle()
	for range 2 {
		h.clock.Add(5 * time.Second)
		h.settle()
	}
	for no, want := range map[string]string{"AC-CONFIRM": "PAID", "AC-CANCEL": "FAIL", "AC-NEVER": "INIT", "AC-ALI-SAMPLE": "PAID"} {
		path := "/order/scan_pay"
		if strings.HasPrefix(no, "AC-ALI") {
			path = "/alipay/scan_pay"
		}
		if st := h.orderStatus(t, path, no); st != want {
			t.Errorf("%s after 10 s: %s, want %s", no, st, want)
		}
	}
	for range 22 { // to 2 minutes after the order
		h.clock.Add(5 * time.Second)
		h.settle()
	}
	if st := h.orderStatus(t, "/order/scan_pay", "AC-NEVER"); st != "EXPIRED" {
		t.Errorf("AC-NEVER after 2 minutes: %s, want EXPIRED", st)
	}
}

// orderStatus queries an order's status as the interface's family does.
func (h *harness) orderStatus(t *testing.T, path, no string) string {
	t.Helper()
	q := req{method: http.MethodGet, path: "/order", params: map[string]string{"agent_order_id": no}}
	if strings.HasPrefix(path, "/alipay") {
		q = req{method: http.MethodGet, path: "/alipay/order", params: map[string]string{"out_order_no": no}}
	}
	r := h.ok(q)
	var out struct{ Order struct{ Status string } }
	r.data(t, &out)
	return out.Order.Status
}

// The operator's rate (`baoguan rate set`) is what GET /rate and GET
// /alipay/rate answer, written with the decimals it was set with, and what
// new orders are priced at; an order already paid keeps the rate it was
// paid at.
func TestOperatorRates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	paid := h.paidHKD(t, "RATE-1", "100") // at the sandbox's 0.8789
	if _, err := h.svc.SetRate(h.ctx, "HKD", baoguan.MustRate("0.860000")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SetRate(h.ctx, "USD", baoguan.MustRate("7.1")); err != nil {
		t.Fatal(err)
	}
	r := h.ok(req{method: http.MethodGet, path: "/alipay/rate", params: map[string]string{"currency": "HKD"}})
	var top struct {
		Meta struct {
			StatusCode int `json:"status_code"`
		} `json:"meta"`
		Rate struct{ Currency, Rate string } `json:"rate"`
		Data *json.RawMessage                `json:"data"`
	}
	if err := json.Unmarshal(r.Raw, &top); err != nil || top.Rate.Currency != "HKD" || top.Rate.Rate != "0.860000" || top.Meta.StatusCode != 200 || top.Data != nil {
		t.Errorf("/alipay/rate: %s", r.Raw)
	}
	r = h.ok(req{method: http.MethodGet, path: "/rate", params: map[string]string{"merchant_no": "xxx", "currency": "USD"}})
	var in struct{ Currency, Rate string }
	r.data(t, &in)
	if in.Currency != "USD" || in.Rate != "7.1" {
		t.Errorf("/rate: %s", r.Raw)
	}
	// A new order is priced at the operator's rate: 100 HKD at 0.86 = 86.00.
	r = h.ok(req{method: http.MethodPost, path: "/order/scanned_pay", params: map[string]string{"merchant_no": "xxx", "currency": "HKD",
		"amount": "100", "agent_order_id": "RATE-2"}})
	var created struct {
		Order struct {
			ExchangeRate string `json:"exchange_rate"`
			PayAmount    string `json:"pay_amount"`
		}
	}
	r.data(t, &created)
	if created.Order.ExchangeRate != "0.860000" || created.Order.PayAmount != "86.00" {
		t.Errorf("new order at the operator's rate: %+v", created.Order)
	}
	// The paid order keeps 0.8789 and 87.89.
	r = h.ok(req{method: http.MethodGet, path: "/order", params: map[string]string{"order_no": paid}})
	var old struct {
		Order struct {
			ExchangeRate string `json:"exchange_rate"`
			PayAmount    string `json:"pay_amount"`
		}
	}
	r.data(t, &old)
	if old.Order.ExchangeRate != "0.8789" || old.Order.PayAmount != "87.89" {
		t.Errorf("a paid order moved with the rate: %+v", old.Order)
	}
}

// Another agent's orders are not found (404) by any interface that names
// an order or refund, and nothing is written: no refund, no declaration.
// A live merchant on an installation without a live wallet is 503, and
// nothing is written either.
func TestAgentsAreKeptApart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	no := h.paidHKD(t, "MINE-1", "100")
	r := h.ok(req{method: http.MethodPost, path: "/refund", params: map[string]string{"order_no": no, "refund_amount": "10", "outer_refund_no": "MINE-R1"}})
	var rf struct{ Refund struct{ No string } }
	r.data(t, &rf)
	o := h.other
	for _, c := range []req{
		{method: http.MethodGet, path: "/order", params: map[string]string{"order_no": no}},
		{method: http.MethodGet, path: "/order", params: map[string]string{"agent_order_id": "MINE-1"}},
		{method: http.MethodGet, path: "/alipay/order", params: map[string]string{"payment_no": no}},
		{method: http.MethodGet, path: "/refund", params: map[string]string{"refund_no": rf.Refund.No}},
		{method: http.MethodGet, path: "/refund", params: map[string]string{"outer_refund_no": "MINE-R1"}},
		{method: http.MethodGet, path: "/refund", params: map[string]string{"order_no": no}},
		{method: http.MethodPost, path: "/refund", params: map[string]string{"order_no": no}},
		{method: http.MethodPost, path: "/alipay/refund", params: map[string]string{"payment_no": no, "refund_amount": "1"}},
		{method: http.MethodPost, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no, "customs": "SHENZHEN", "mch_customs_no": "X1"}},
		{method: http.MethodGet, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no}},
	} {
		c.agent = o
		if r := h.do(c); r.Status != http.StatusNotFound || r.Env.Meta.StatusCode != 404 || r.Env.Meta.Success {
			t.Errorf("%s %s %v by another agent: %d %s", c.method, c.path, c.params, r.Status, r.Raw)
		}
	}
	// Naming one of the agent's merchants explicitly is 403.
	if r := h.do(req{method: http.MethodGet, path: "/order", params: map[string]string{"agent_order_id": "MINE-1", "merchant_no": "xxx"}, agent: o}); r.Status != 403 {
		t.Errorf("another agent naming the merchant: %d %s", r.Status, r.Raw)
	}
	h.settle()
	v, err := h.svc.OrderDetail(h.ctx, h.merchant("xxx"), "MINE-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Refunds) != 1 || len(v.Declarations) != 0 {
		t.Errorf("another agent's requests wrote something: refunds %d, declarations %d", len(v.Refunds), len(v.Declarations))
	}

	// A live merchant: no live wallet is built in, 503.
	if _, _, err := h.svc.CreateMerchant(h.ctx, core.MerchantInput{No: "LIVE1", Name: "live shop", Mode: baoguan.ModeLive}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.AttachMerchant(h.ctx, h.agent.A.No, "LIVE1", false); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/order/scan_pay", "/order/scanned_pay"} {
		r := h.do(req{method: http.MethodPost, path: path, params: map[string]string{"merchant_no": "LIVE1", "currency": "HKD", "amount": "1",
			"auth_code": "135605691981176449", "agent_order_id": "LIVE-" + path[7:]}})
		if r.Status != http.StatusServiceUnavailable || r.Env.Meta.StatusCode != 503 {
			t.Errorf("%s for a live merchant: %d %s", path, r.Status, r.Raw)
		}
	}
	if r := h.do(req{method: http.MethodGet, path: "/wx_openid", params: map[string]string{"merchant_no": "LIVE1", "code": "x"}}); r.Status != 503 {
		t.Errorf("wx_openid for a live merchant: %d %s", r.Status, r.Raw)
	}
	if os, err := h.svc.Orders(h.ctx, h.merchant("LIVE1"), baoguan.OrderFilter{}); err != nil || len(os) != 0 {
		t.Errorf("a 503 wrote orders: %v %d", err, len(os))
	}
}

// §9's states beyond SUCCESS as the sandbox port decides them by the
// declared orderer (docs/sandbox.md): FAIL with customs' explanation,
// EXCEPT; cert_check_result for a declaration without orderer stays
// UNCHECKED in the query; Alipay's F.
func TestDeclarationOutcomes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	query := func(no, customs string) map[string]any {
		t.Helper()
		var obj map[string]any
		h.ok(req{method: http.MethodGet, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no, "customs": customs}}).data(t, &obj)
		return obj
	}
	// No orderer: the wallet's payer is declared; UNCHECKED, also later.
	no := h.paidHKD(t, "DO-1", "100")
	h.ok(req{method: http.MethodPost, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no, "customs": "NINGBO", "mch_customs_no": "M1"}})
	h.settle()
	if d := query(no, "NINGBO"); d["state"] != "SUCCESS" || d["cert_check_result"] != "UNCHECKED" {
		t.Errorf("no orderer, queried: %v", d)
	}
	// Sequence code 999: FAIL, with customs' reason in explanation.
	no = h.paidHKD(t, "DO-2", "100")
	h.ok(req{method: http.MethodPost, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no, "customs": "NINGBO", "mch_customs_no": "M1",
		"cert_id": "110105199001019998", "name": "张三"}})
	h.settle()
	if d := query(no, "NINGBO"); d["state"] != "FAIL" || !strings.Contains(d["explanation"].(string), "支付人姓名和证件号不匹配") || d["cert_check_result"] != "DIFFERENT" {
		t.Errorf("FAIL: %v", d)
	}
	// The failed declaration is modified with the payer as orderer
	// (MODIFY takes cert_id and name too): SAME, then SUCCESS.
	r := h.ok(req{method: http.MethodPost, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no, "customs": "NINGBO", "mch_customs_no": "M1",
		"action_type": "MODIFY", "cert_id": "510921199308772318", "name": "Lisa"}})
	var mod map[string]any
	r.data(t, &mod)
	if mod["cert_check_result"] != "SAME" || mod["state"] != "SUBMITTED" {
		t.Errorf("MODIFY with a new orderer: %s", r.Raw)
	}
	h.settle()
	if d := query(no, "NINGBO"); d["state"] != "SUCCESS" || d["cert_check_result"] != "SAME" || d["explanation"] != "" {
		t.Errorf("after MODIFY: %v", d)
	}
	// Sequence code 997: EXCEPT (customs' interface fails on every attempt).
	no = h.paidHKD(t, "DO-3", "100")
	h.ok(req{method: http.MethodPost, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no, "customs": "NINGBO", "mch_customs_no": "M1",
		"cert_id": "110105199001019971", "name": "张三"}})
	h.settle()
	if d := query(no, "NINGBO"); d["state"] != "EXCEPT" {
		t.Errorf("EXCEPT: %v", d)
	}
	// An unpaid order cannot be declared (400): WiseCashier's declarations
	// are of payments.
	r = h.ok(req{method: http.MethodPost, path: "/order/scanned_pay", params: map[string]string{"merchant_no": "xxx", "amount": "1", "agent_order_id": "DO-UNPAID"}})
	var unpaid struct{ Order struct{ No string } }
	r.data(t, &unpaid)
	if r := h.do(req{method: http.MethodPost, path: "/wechatpay/declaration", params: map[string]string{"payment_no": unpaid.Order.No, "customs": "NINGBO", "mch_customs_no": "M1"}}); r.Status != 400 {
		t.Errorf("declaring an unpaid order: %d %s", r.Status, r.Raw)
	}
	// Alipay: an orderer other than the payer is F, still declared.
	ali := h.ok(req{method: http.MethodPost, path: "/alipay/scan_pay", params: map[string]string{"merchant_no": "xxx", "currency": "HKD",
		"amount": "100", "auth_code": "2812345678901234567", "subject": "x", "out_order_no": "DO-ALI"}})
	var ao struct {
		Order struct {
			PaymentNo string `json:"payment_no"`
		}
	}
	ali.data(t, &ao)
	r = h.ok(req{method: http.MethodPost, path: "/alipay/declaration", params: map[string]string{"payment_no": ao.Order.PaymentNo, "customs": "HANGZHOU_ZONGSHU",
		"mch_customs_no": "M1", "merchant_customs_name": "shop", "cert_id": "110105199001011232", "name": "张三"}})
	var obj map[string]any
	r.data(t, &obj)
	if obj["cert_check_result"] != "F" {
		t.Errorf("alipay, another orderer: %s", r.Raw)
	}
	h.settle()
	r = h.ok(req{method: http.MethodPost, path: "/alipay/redeclaration", params: map[string]string{"payment_no": ao.Order.PaymentNo, "customs": "HANGZHOU_ZONGSHU",
		"mch_customs_no": "M1", "merchant_customs_name": "shop"}})
	seedShape(t, "alipay_declaration.json", asIfSplitAlipay(r.Raw))
	h.settle()

	// Alipay has no MODIFY: §9.5's re-declaration carries the corrected
	// orderer and a sub-order's new amount. A failed declaration (sequence
	// code 999) is declared again with the payer: T, SUCCESS.
	ali = h.ok(req{method: http.MethodPost, path: "/alipay/scan_pay", params: map[string]string{"merchant_no": "xxx", "currency": "HKD",
		"amount": "100", "auth_code": "2812345678901234567", "subject": "x", "out_order_no": "DO-ALI-2"}})
	ali.data(t, &ao)
	aliQuery := func() map[string]any {
		t.Helper()
		var obj map[string]any
		h.ok(req{method: http.MethodGet, path: "/alipay/declaration", params: map[string]string{"out_order_no": "DO-ALI-2", "sub_order_no": "S1"}}).data(t, &obj)
		return obj
	}
	h.ok(req{method: http.MethodPost, path: "/alipay/declaration", params: map[string]string{"out_order_no": "DO-ALI-2", "customs": "NINGBO",
		"mch_customs_no": "M1", "merchant_customs_name": "shop", "sub_order_no": "S1", "sub_order_amount": "40.00",
		"cert_id": "110105199001019998", "name": "张三"}})
	h.settle()
	if d := aliQuery(); d["state"] != "FAIL" || d["cert_check_result"] != "F" {
		t.Errorf("alipay FAIL: %v", d)
	}
	r = h.ok(req{method: http.MethodPost, path: "/alipay/redeclaration", params: map[string]string{"out_order_no": "DO-ALI-2", "sub_order_no": "S1",
		"customs": "NINGBO", "mch_customs_no": "M1", "merchant_customs_name": "shop", "sub_order_amount": "50.00",
		"cert_id": "510921199308772318", "name": "Lisa"}})
	r.data(t, &obj)
	if obj["cert_check_result"] != "T" || obj["sub_order_amount"] != "50.00" || obj["state"] != "SUBMITTED" {
		t.Errorf("alipay re-declaration with a new orderer and amount: %s", r.Raw)
	}
	h.settle()
	if d := aliQuery(); d["state"] != "SUCCESS" || d["cert_check_result"] != "T" || d["sub_order_amount"] != "50.00" {
		t.Errorf("after the alipay re-declaration: %v", d)
	}
	// sub_order_amount names a sub-order's amount: 400 for a whole order.
	if r := h.do(req{method: http.MethodPost, path: "/alipay/redeclaration", params: map[string]string{"out_order_no": "DO-ALI", "customs": "HANGZHOU_ZONGSHU",
		"mch_customs_no": "M1", "merchant_customs_name": "shop", "sub_order_amount": "1.00"}}); r.Status != 400 || !strings.Contains(r.Env.Meta.Message, "sub_order_amount") {
		t.Errorf("sub_order_amount without a split: %d %s", r.Status, r.Raw)
	}
}

// asIfSplitAlipay adds the split member §9.5's table shows only for a
// split to a whole-order Alipay answer; every other member is checked as
// it is.
func asIfSplitAlipay(b []byte) []byte {
	s := string(b)
	for _, k := range []string{"sub_order_no", "sub_order_amount"} {
		if !strings.Contains(s, `"`+k+`"`) {
			s = strings.Replace(s, `"state":`, `"`+k+`":"","state":`, 1)
		}
	}
	return []byte(s)
}

// §8's three months: end_date may be the day before start_date + 3
// months, not the day after.
func TestBillSpan(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range []struct {
		start, end string
		status     int
	}{
		{"2017-01-01", "2017-03-31", 200},
		{"2017-01-01", "2017-04-01", 400},
		{"20170401", "20170630", 200},
		{"2017-06-23", "2017-06-23", 200},
	} {
		r := h.do(req{method: http.MethodGet, path: "/download_bill", params: map[string]string{"agent_no": "123456", "start_date": c.start, "end_date": c.end}})
		if r.Status != c.status {
			t.Errorf("%s to %s: %d %s", c.start, c.end, r.Status, r.Raw)
		}
	}
}

// The test vector printed in docs/protocols/wisecashier.md is the one
// TestSignatureVector checks: the key, the signing string and the
// signature in the page are testdata's.
func TestSignatureVectorInDocs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/protocols/wisecashier.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"testdata/vector_string.txt", "testdata/vector_signature.txt"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "\n"+strings.TrimSpace(string(b))+"\n") {
			t.Errorf("docs/protocols/wisecashier.md does not print %s", f)
		}
	}
	if !strings.Contains(string(doc), "Timestamp: "+vectorTimestamp) || !strings.Contains(string(doc), "wisecashier/testdata/agent_private.pem") {
		t.Error("docs/protocols/wisecashier.md does not name the vector's timestamp and key")
	}
}

// Choices docs/protocols/wisecashier.md makes where the document is
// silent, each shown at the wire.
func TestDecisions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	scanned := func(merchant, no, amount string) *resp {
		t.Helper()
		return h.do(req{method: http.MethodPost, path: "/order/scanned_pay", params: map[string]string{"merchant_no": merchant, "currency": "HKD",
			"amount": amount, "agent_order_id": no}})
	}
	// agent_order_id makes creation idempotent: the same content answers
	// the same order, other content is 400 naming agent_order_id.
	first, again := scanned("xxx", "DEC-1", "10"), scanned("xxx", "DEC-1", "10")
	var a, b struct{ Order struct{ No string } }
	first.data(t, &a)
	again.data(t, &b)
	if first.Status != 200 || again.Status != 200 || a.Order.No != b.Order.No {
		t.Errorf("a repeated order: %s / %s", first.Raw, again.Raw)
	}
	if r := scanned("xxx", "DEC-1", "11"); r.Status != 400 || !strings.Contains(r.Env.Meta.Message, "agent_order_id") {
		t.Errorf("the same agent_order_id with another amount: %d %s", r.Status, r.Raw)
	}
	// Two of the agent's merchants with one agent_order_id: merchant_no
	// must say whose.
	scanned("A2", "DEC-1", "10")
	if r := h.do(req{method: http.MethodGet, path: "/order", params: map[string]string{"agent_order_id": "DEC-1"}}); r.Status != 400 ||
		!strings.Contains(r.Env.Meta.Message, "merchant_no") {
		t.Errorf("an ambiguous agent_order_id: %d %s", r.Status, r.Raw)
	}
	h.ok(req{method: http.MethodGet, path: "/order", params: map[string]string{"agent_order_id": "DEC-1", "merchant_no": "A2"}})
	// JSAPI needs the payer's openid.
	if r := h.do(req{method: http.MethodPost, path: "/mp_pay", params: map[string]string{"merchant_no": "xxx", "amount": "1"}}); r.Status != 400 ||
		!strings.Contains(r.Env.Meta.Message, "openid") {
		t.Errorf("mp_pay without openid: %d %s", r.Status, r.Raw)
	}
	// A file in a multipart body is 400.
	{
		var body strings.Builder
		body.WriteString("--B\r\nContent-Disposition: form-data; name=\"merchant_no\"\r\n\r\nxxx\r\n--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nx\r\n--B--\r\n")
		hr, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/wisecashier/order/scanned_pay", strings.NewReader(body.String()))
		hr.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
		hr.Header.Set("AgentNo", h.agent.A.No)
		hr.Header.Set("Timestamp", ts)
		hr.Header.Set("Signature", signWith(t, h.agent.Key, "merchant_no=xxx,"+ts))
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(got), "file") {
			t.Errorf("a multipart file: %d %s", res.StatusCode, got)
		}
	}

	// Refunds: above what is refundable is 400 naming refund_amount; the
	// sandbox's REFUNDFAIL is FAIL, REFUNDLATER PROCESSING until the
	// refund job asks again; without refund_amount the rest is refunded,
	// and when nothing is left that is 400.
	no := h.paidHKD(t, "DEC-R", "100")
	refund := func(p map[string]string) *resp {
		t.Helper()
		p["order_no"] = no
		return h.do(req{method: http.MethodPost, path: "/refund", params: p})
	}
	if r := refund(map[string]string{"refund_amount": "100.01"}); r.Status != 400 || !strings.Contains(r.Env.Meta.Message, "refund_amount") {
		t.Errorf("a refund above the paid amount: %d %s", r.Status, r.Raw)
	}
	stateOf := func(r *resp) string {
		t.Helper()
		var out struct{ Refund struct{ Status string } }
		r.data(t, &out)
		return out.Refund.Status
	}
	if r := refund(map[string]string{"refund_amount": "10", "outer_refund_no": "R-REFUNDFAIL"}); r.Status != 200 || stateOf(r) != "FAIL" {
		t.Errorf("REFUNDFAIL: %d %s", r.Status, r.Raw)
	}
	if r := refund(map[string]string{"refund_amount": "10", "outer_refund_no": "R-REFUNDLATER"}); r.Status != 200 || stateOf(r) != "PROCESSING" {
		t.Errorf("REFUNDLATER: %d %s", r.Status, r.Raw)
	}
	h.waitFor("the pending refund", func() bool {
		h.settle()
		h.clock.Add(time.Minute)
		var out struct{ Info struct{ Status string } }
		h.ok(req{method: http.MethodGet, path: "/refund", params: map[string]string{"outer_refund_no": "R-REFUNDLATER"}}).data(t, &out)
		return out.Info.Status == "SUCCESS"
	})
	// refund_order_no, which §4.10 and §6.7 name beside refund_no, is the
	// merchant's refund number.
	for _, path := range []string{"/refund", "/alipay/refund"} {
		r := h.ok(req{method: http.MethodGet, path: path, params: map[string]string{"refund_order_no": "R-REFUNDLATER"}})
		if !strings.Contains(string(r.Raw), `"outer_refund_no":"R-REFUNDLATER"`) || strings.Contains(string(r.Raw), `"refunds"`) {
			t.Errorf("%s by refund_order_no: %s", path, r.Raw)
		}
	}
	r := refund(map[string]string{})
	var rest struct {
		Refund struct {
			RefundAmount string `json:"refund_amount"`
			Status       string
		}
	}
	r.data(t, &rest)
	if rest.Refund.RefundAmount != "90.00" || rest.Refund.Status != "SUCCESS" {
		t.Errorf("the rest (100 less 10 refunded, the failed 10 not counted): %s", r.Raw)
	}
	// The same signed request again is a retry (the generated
	// outer_refund_no is the request's): the same refund.
	if r := refund(map[string]string{}); r.Status != 200 || !strings.Contains(string(r.Raw), `"refund_amount":"90.00"`) {
		t.Errorf("a retried refund: %d %s", r.Status, r.Raw)
	}
	h.clock.Add(time.Second) // a new request
	if r := refund(map[string]string{}); r.Status != 400 || !strings.Contains(r.Env.Meta.Message, "refund") {
		t.Errorf("a refund of nothing left: %d %s", r.Status, r.Raw)
	}
	var v1 struct {
		Order struct {
			RefundStatus     string `json:"refund_status"`
			RefundableAmount string `json:"refundable_amount"`
		}
	}
	h.ok(req{method: http.MethodGet, path: "/order", params: map[string]string{"order_no": no}}).data(t, &v1)
	if v1.Order.RefundStatus != "FULL" || v1.Order.RefundableAmount != "0.00" {
		t.Errorf("after refunding everything: %+v", v1.Order)
	}

	// A cashier desk's payer who cancels is sent back too, status FAIL.
	dr := h.do(req{method: http.MethodGet, path: "/wechatpay/cashier_desk", params: map[string]string{"merchant_no": "xxx", "currency": "HKD", "amount": "5",
		"return_url": "https://shop.example/back", "agent_order_id": "DEC-DESK"}, inQuery: true, noRedirect: true})
	if dr.Status != http.StatusSeeOther {
		t.Fatalf("desk: %d %s", dr.Status, dr.Raw)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(dr.Header.Get("Location"), url.Values{"action": {"cancel"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || back == nil || back.Query().Get("status") != "FAIL" || back.Query().Get("agent_order_id") != "DEC-DESK" {
		t.Errorf("after cancelling: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
}

// The Signature may come URL-safe, unpadded, or with "+" turned into a
// space on the way; the window is checked before the signature.
func TestSignatureForms(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := map[string]string{"merchant_no": "xxx", "currency": "USD"}
	ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
	sig := ""
	// A timestamp whose signature has a "+" and a "/" shows every form.
	for i := 0; ; i++ {
		ts = strconv.FormatInt(h.clock.Now().Unix(), 10) + "." + strconv.Itoa(100000+i)
		sig = signWith(t, h.agent.Key, wisecashier.SigningString(p, ts, wisecashier.Encodings[1]))
		if strings.Contains(sig, "+") && strings.Contains(sig, "/") {
			break
		}
	}
	for name, form := range map[string]string{
		"standard":         sig,
		"URL-safe":         strings.NewReplacer("+", "-", "/", "_").Replace(sig),
		"unpadded":         strings.TrimRight(sig, "="),
		"URL-safe, no pad": strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(sig), "="),
		"+ as space":       strings.ReplaceAll(sig, "+", " "),
	} {
		if r := h.do(req{method: http.MethodGet, path: "/rate", params: p, timestamp: ts, signature: form}); r.Status != 200 {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	stale := strconv.FormatInt(h.clock.Now().Add(-time.Hour).Unix(), 10)
	if r := h.do(req{method: http.MethodGet, path: "/rate", params: p, timestamp: stale, signature: "garbage"}); r.Status != 411 {
		t.Errorf("a stale request with a bad signature: %d %s", r.Status, r.Raw)
	}
}

// Where a notification goes: the order's notify_url, else the merchant's
// wisecashier notification URL (`baoguan merchant key --protocol
// wisecashier --notify-url`), else its general notify URL.
func TestNotifyURLPrecedence(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.svc.UpdateMerchant(h.ctx, "A2", func(m *baoguan.Merchant) error {
		m.Settings[wisecashier.SettingNotifyURL] = h.hooks.srv.URL + "/notify/A2-setting"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	scan := func(merchant, no, notify string) {
		t.Helper()
		p := map[string]string{"merchant_no": merchant, "currency": "HKD", "amount": "1", "auth_code": "135605691981176449", "agent_order_id": no}
		if notify != "" {
			p["notify_url"] = notify
		}
		h.ok(req{method: http.MethodPost, path: "/order/scan_pay", params: p})
	}
	scan("A2", "NU-1", h.hooks.srv.URL+"/notify/NU-1") // the order's own
	scan("A2", "NU-2", "")                             // the merchant's wisecashier URL
	scan("xxx", "NU-3", "")                            // the merchant's general URL
	for path, no := range map[string]string{"NU-1": "NU-1", "A2-setting": "NU-2", "xxx": "NU-3"} {
		h.waitFor("notification at "+path, func() bool { return len(h.hooks.notices(path)) == 1 })
		if n := h.hooks.notices(path)[0]; n.Form.Get("agent_order_id") != no {
			t.Errorf("%s got %v", path, n.Form)
		}
	}
}
