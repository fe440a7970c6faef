package payzero_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// TestAmountFieldsAboveMaximum sends, in every amount field of every
// payzero interface that takes one (paymentAmount of a batch and of each
// way to create an order, refundAmount), amounts just above
// baoguan.MaxAmount and up to the largest int64: each is refused with
// success false and a message naming the field, and nothing is stored.
func TestAmountFieldsAboveMaximum(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("amounts")
	paidByQR(m, "AMX-PAID", 100) // refundable
	m.ok("POST", "/sdbc/agreeApply", apply, nil)
	var ag struct{ Agreeid string }
	m.ok("POST", "/sdbc/agreeConfirm", map[string]any{"requestId": "REQ1", "smsCode": "a1b2c3"}, &ag)
	n := 0
	for _, v := range []string{strconv.FormatInt(baoguan.MaxAmount+1, 10), "4611686018427387904", "9223372036854775807", `"9223372036854775807"`} {
		order := func(extra string) string {
			n++
			return fmt.Sprintf(`{"mchtOrderNo":"AMX-%d","paymentAmount":%s,"currency":"CNY","subject":"x"%s}`, n, v, extra)
		}
		cases := []struct{ path, body, field string }{
			{"/orderBatch", "[" + order("") + "]", "paymentAmount"},
			{"/order/createAndPay", order(""), "paymentAmount"},
			{"/order/createAndQrCode", order(`,"qrCodeType":"ALIPAY"`), "paymentAmount"},
			{"/order/createAndQuickpay", order(`,"agreeid":"` + ag.Agreeid + `"`), "paymentAmount"},
			{"/order/createAndMockpay", order(`,"needDeclare":false`), "paymentAmount"},
			{"/order/refund", `{"mchtOrderNo":"AMX-PAID","mchtRefundOrderNo":"AMX-R` + strconv.Itoa(n) + `","refundAmount":` + v + `}`, "refundAmount"},
		}
		for _, c := range cases {
			r := m.call("POST", c.path, c.body)
			if r.Env.Success || !strings.Contains(r.msg(), c.field) {
				t.Errorf("%s %s=%s: %d %s; want a refusal naming %s", c.path, c.field, v, r.Status, r.Raw, c.field)
			}
		}
	}
	for i := 1; i <= n; i++ {
		if _, err := h.svc.Order(h.ctx, m.M, fmt.Sprintf("AMX-%d", i)); err == nil {
			t.Errorf("order AMX-%d with an amount above the maximum was stored", i)
		}
	}
	if v := m.order("AMX-PAID"); v.Order.Refunded != 0 {
		t.Errorf("refunded %d", v.Order.Refunded)
	}
}
