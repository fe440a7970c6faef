package pushorder_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/pushorder"
)

// TestUpdate covers OperationType U: an order may be changed and paid and
// declared again until it is "已支付+报关" (9906).
func TestUpdate(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	a := "Merchant A"

	t.Run("unpaid order: new content is what gets paid", func(t *testing.T) {
		// The sandbox pays at once, so an unpaid order is made through the
		// core, held (as a batch order would be).
		_, _, err := h.svc.CreateOrder(ctx, h.A.M, core.OrderInput{
			Order: baoguan.Order{MerchantOrderNo: "U-HELD", Amount: 10000, Subject: "测试商品", Channel: baoguan.ChannelAuto,
				Protocol: pushorder.Protocol, Payer: baoguan.Payer{Name: "张三", IDNumber: idOK, Phone: "13817494910"}},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}, Test: true, Hold: true})
		if err != nil {
			t.Fatal(err)
		}
		// Another customs target is refused: declarations are kept.
		if r := h.push(t, h.A, sampleOrder("U-HELD", a).with("OperationType", "U", "CustomsCode", "HG022")); r.ReturnCode != "9909" {
			t.Errorf("U to another customs: %+v", r)
		}
		if r := h.get(t, h.A, "U-HELD"); r.CustomsMsg != "未支付" || *r.PaymentStatus != 0 {
			t.Errorf("held order: %+v", r)
		}
		u := sampleOrder("U-HELD", a).with("OperationType", "U", "OrderTotal", json.Number("88.80"), "ReceiverName", "李四")
		if r := h.push(t, h.A, u); r.ReturnCode != "0000" || r.ReturnMsg != "订单更新成功" {
			t.Fatalf("U: %+v", r)
		}
		h.waitCustoms(t, h.A, "U-HELD", is(pushorder.MsgDone))
		v := h.detail(t, h.A, "U-HELD")
		if v.Order.Amount != 8880 || v.Order.Payer.Name != "李四" || v.Declarations[0].OrderFee != 8880 || v.Declarations[0].Payer.Name != "李四" {
			t.Errorf("paid %d for %s, declared %d for %s", v.Order.Amount, v.Order.Payer.Name, v.Declarations[0].OrderFee, v.Declarations[0].Payer.Name)
		}
		if cbs := h.cb.waitCallbacks(t, "/cb/a", "U-HELD", 1); cbs[0]["result"] != "T" {
			t.Errorf("callback %v", cbs[0])
		}
	})

	t.Run("9906 once paid and declared", func(t *testing.T) {
		mustOK(t, h.push(t, h.A, sampleOrder("U-DONE", a)))
		h.waitCustoms(t, h.A, "U-DONE", is(pushorder.MsgDone))
		before := h.detail(t, h.A, "U-DONE").Order
		r := h.push(t, h.A, sampleOrder("U-DONE", a).with("OperationType", "U", "ReceiverName", "李四"))
		if r.ReturnCode != "9906" || r.ReturnMsg != "该订单已支付+报关状态,无需重新支付+报关" {
			t.Fatalf("U of a declared order: %+v", r)
		}
		if after := h.detail(t, h.A, "U-DONE").Order; after.Version != before.Version || after.Payer.Name != "张三" {
			t.Errorf("9906 changed the order: %+v", after)
		}
	})

	t.Run("failed declaration: fix the payer and declare again", func(t *testing.T) {
		mustOK(t, h.push(t, h.A, sampleOrder("U-FIX", a).with("ReceiverCardNo", idMismatch)))
		h.waitCustoms(t, h.A, "U-FIX", func(s string) bool { return strings.HasPrefix(s, "9911") })
		// The amount of a paid order cannot change.
		if r := h.push(t, h.A, sampleOrder("U-FIX", a).with("OperationType", "U", "OrderTotal", json.Number("99.00"))); r.ReturnCode != "9909" {
			t.Errorf("U with another amount after payment: %+v", r)
		}
		if r := h.push(t, h.A, sampleOrder("U-FIX", a).with("OperationType", "U")); r.ReturnCode != "0000" {
			t.Fatalf("U with the corrected ID: %+v", r)
		}
		h.waitCustoms(t, h.A, "U-FIX", is(pushorder.MsgDone))
		cbs := h.cb.waitCallbacks(t, "/cb/a", "U-FIX", 2)
		if cbs[0]["result"] != "F" || cbs[1]["result"] != "T" || cbs[0]["payment_no"] != cbs[1]["payment_no"] {
			t.Errorf("callbacks %v", cbs)
		}
		v := h.detail(t, h.A, "U-FIX")
		if d := v.Declarations[0]; len(v.Declarations) != 1 || d.Attempts != 2 || d.Payer.IDNumber != idOK {
			t.Errorf("declaration after the fix: %+v", v.Declarations)
		}
	})

	t.Run("failed payment: top up and pay again", func(t *testing.T) {
		h.setMerchant(t, h.B, func(m *baoguan.Merchant) { m.FundingBalance = 5000 })
		mustOK(t, h.push(t, h.B, sampleOrder("U-FUND", "Merchant B")))
		h.waitCustoms(t, h.B, "U-FUND", func(s string) bool { return strings.HasPrefix(s, "9913") })
		h.setMerchant(t, h.B, func(m *baoguan.Merchant) { m.FundingBalance = 1_000_000 })
		if r := h.push(t, h.B, sampleOrder("U-FUND", "Merchant B").with("OperationType", "U")); r.ReturnCode != "0000" {
			t.Fatalf("U after top-up: %+v", r)
		}
		h.waitCustoms(t, h.B, "U-FUND", is(pushorder.MsgDone))
		if o := h.detail(t, h.B, "U-FUND").Order; o.PayAttempts != 2 {
			t.Errorf("payment rounds %d, want 2", o.PayAttempts)
		}
		cbs := h.cb.waitCallbacks(t, "/notify/b", "U-FUND", 2)
		if cbs[0]["result"] != "F" || cbs[1]["result"] != "T" {
			t.Errorf("callbacks %v", cbs)
		}
		ms, _ := h.svc.Merchants(ctx)
		for _, m := range ms {
			if m.ID == h.B.M.ID && m.FundingBalance != 1_000_000-10000 {
				t.Errorf("funding balance %d, want one debit of 10000", m.FundingBalance)
			}
		}
	})
}
