package wisecashier_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// TestAmountFieldsAboveMaximum sends, in every amount parameter of every
// WiseCashier interface that takes one (the payments' amount, a refund's
// refund_amount, a declaration's sub_order_amount, transport_amount and
// product_amount), amounts just above baoguan.MaxAmount and far beyond it:
// each is a 400 whose message names the parameter, and nothing is stored.
func TestAmountFieldsAboveMaximum(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	no := h.paidHKD(t, "AMX-PAID", "100")
	over := []string{baoguan.FormatYuan(baoguan.MaxAmount + 1), "92233720368547758.07", "99999999999999999999"}
	n := 0
	for _, v := range over {
		pay := func(path string) (string, map[string]string, string) {
			n++
			return path, map[string]string{"merchant_no": "xxx", "currency": "CNY", "amount": v, "product_info": "奶粉",
				"auth_code": "135605691981176449", "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "sub_appid": "wx1234567890abcdef",
				"agent_order_id": "AMX-" + strconv.Itoa(n), "return_url": "https://shop.example/r"}, "amount"
		}
		decl := func(field string) (string, map[string]string, string) {
			p := map[string]string{"payment_no": no, "customs": "SHENZHEN", "mch_customs_no": "123456789BTW", "sub_order_no": "S1",
				"sub_order_amount": "10", "transport_amount": "5", "product_amount": "5"}
			p[field] = v
			return "/wechatpay/declaration", p, field
		}
		cases := [][3]any{}
		add := func(path string, p map[string]string, field string) { cases = append(cases, [3]any{path, p, field}) }
		for _, path := range []string{"/mp_pay", "/order/scan_pay", "/order/scanned_pay", "/mini_program_pay", "/order/app_pay",
			"/alipay/scanned_pay", "/alipay/app_pay", "/alipay/wap_pay", "/alipay/qrcode_pay", "/alipay/scan_pay"} {
			add(pay(path))
		}
		for _, path := range []string{"/refund", "/alipay/refund"} {
			add(path, map[string]string{"order_no": no, "payment_no": no, "merchant_no": "xxx", "outer_refund_no": "AMX-R" + strconv.Itoa(n), "refund_amount": v}, "refund_amount")
		}
		for _, f := range []string{"sub_order_amount", "transport_amount", "product_amount"} {
			add(decl(f))
		}
		for _, c := range cases {
			path, p, field := c[0].(string), c[1].(map[string]string), c[2].(string)
			r := h.do(req{method: http.MethodPost, path: path, params: p})
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Env.Meta.Message, field) {
				t.Errorf("POST %s %s=%s: %d %s; want 400 naming %s", path, field, v, r.Status, r.Raw, field)
			}
		}
	}
	h.settle()
	m := h.merchant("xxx")
	os, err := h.svc.Orders(h.ctx, m, baoguan.OrderFilter{})
	if err != nil || len(os) != 1 {
		t.Errorf("orders stored: %d %v; want only the paid one", len(os), err)
	}
	if ds, err := h.svc.Declarations(h.ctx, m, "AMX-PAID"); err != nil || len(ds) != 0 {
		t.Errorf("declarations stored: %+v %v", ds, err)
	}
}
