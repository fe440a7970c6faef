package core_test

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

// Sandbox ID numbers (docs/sandbox.md).
const (
	idOK       = "110105199001011232" // SUCCESS
	idMismatch = "110105199001019998" // FAIL 支付人姓名和证件号不匹配
)

// updateInput is the whole new content of order no, as pushorder's U sends it.
func updateInput(no string, amount int64, id, customs string) core.OrderInput {
	return core.OrderInput{
		Order: baoguan.Order{MerchantOrderNo: no, Amount: amount, Subject: "口红", Channel: baoguan.ChannelAuto,
			Payer: baoguan.Payer{Name: "李四", IDNumber: id, Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: customs}},
	}
}

func TestUpdateOrderStates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	reason := func(err error) string { return baoguan.ErrorReason(err) }

	// Not found.
	if _, err := e.svc.UpdateOrder(e.ctx, e.m, updateInput("NONE", 100, idOK, "HG014")); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Errorf("unknown order: %v", err)
	}

	// A pay job is queued for a new order: the channel may be paying the
	// old content, so an update must wait.
	e.order(t, "QUEUED", idOK, baoguan.ChannelMock, 4023)
	if _, err := e.svc.UpdateOrder(e.ctx, e.m, updateInput("QUEUED", 5000, idOK, "HG014")); reason(err) != "payment_in_progress" {
		t.Errorf("update while the pay job is queued: %v", err)
	}

	// A held order has no pay job: the update queues it with the new content.
	held := updateInput("HELD", 4023, idOK, "HG014")
	held.Hold = true
	held.Order.Payer.Name = "张三"
	if _, _, err := e.svc.CreateOrder(e.ctx, e.m, held); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateOrder(e.ctx, e.m, updateInput("HELD", 5000, idOK, "HG022")); reason(err) != "customs_fixed" {
		t.Errorf("update to another customs code: %v", err)
	}
	if _, err := e.svc.UpdateOrder(e.ctx, e.m, updateInput("HELD", 5000, idOK, "HG014")); err != nil {
		t.Fatalf("update of a held order: %v", err)
	}
	e.drain(t, time.Minute)
	// Failed payment (funding short): a new round on update.
	if _, err := e.svc.UpdateMerchant(e.ctx, e.m.No, func(m *baoguan.Merchant) error { m.FundingBalance = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	e.order(t, "SHORT", idOK, baoguan.ChannelAuto, 4023)
	// Failed declaration.
	e.order(t, "BADID", idMismatch, baoguan.ChannelMock, 4023)
	e.drain(t, time.Minute)

	v := e.detail(t, "HELD")
	if v.Order.PayStatus != baoguan.PaySucceed || v.Order.DeclareStatus != baoguan.DeclareDone || v.Order.Amount != 5000 ||
		v.Declarations[0].OrderFee != 5000 || v.Declarations[0].Payer.Name != "李四" {
		t.Errorf("held order after update: %+v %+v", v.Order, v.Declarations)
	}
	if _, err := e.svc.UpdateOrder(e.ctx, e.m, updateInput("HELD", 5000, idOK, "HG014")); reason(err) != "paid_and_declared" {
		t.Errorf("update of a declared order: %v", err)
	}
	if v := e.detail(t, "SHORT"); v.Order.PayStatus != baoguan.PayFailed {
		t.Fatalf("SHORT is %s", v.Order.PayStatus)
	}
	if _, err := e.svc.UpdateMerchant(e.ctx, e.m.No, func(m *baoguan.Merchant) error { m.FundingBalance = 1_000_000; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateOrder(e.ctx, e.m, updateInput("SHORT", 4023, idOK, "HG014")); err != nil {
		t.Fatalf("update after a failed payment: %v", err)
	}
	if v := e.detail(t, "BADID"); v.Order.DeclareStatus != baoguan.DeclareFailedSt {
		t.Fatalf("BADID is %s", v.Order.DeclareStatus)
	}
	if _, err := e.svc.UpdateOrder(e.ctx, e.m, updateInput("BADID", 9999, idOK, "HG014")); reason(err) != "amount_fixed" {
		t.Errorf("amount change after payment: %v", err)
	}
	if _, err := e.svc.UpdateOrder(e.ctx, e.m, updateInput("BADID", 4023, idOK, "HG014")); err != nil {
		t.Fatalf("update after a failed declaration: %v", err)
	}
	e.drain(t, time.Minute)
	if v := e.detail(t, "SHORT"); v.Order.PayStatus != baoguan.PaySucceed || v.Order.PayAttempts != 2 || v.Order.DeclareStatus != baoguan.DeclareDone {
		t.Errorf("SHORT after update: %s round %d %s", v.Order.PayStatus, v.Order.PayAttempts, v.Order.DeclareStatus)
	}
	v = e.detail(t, "BADID")
	if v.Order.DeclareStatus != baoguan.DeclareDone || v.Order.Payer.IDNumber != idOK || v.Declarations[0].Attempts != 2 {
		t.Errorf("BADID after update: %s %+v", v.Order.DeclareStatus, v.Declarations[0])
	}
}

func TestUpdateOrderInFlightAndMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Hour) // customs answers after an hour: the declaration stays PROCESSING
	e.order(t, "SLOW", idOK, baoguan.ChannelMock, 4023)
	e.drain(t, 5*time.Second)
	if d := e.detail(t, "SLOW").Declarations[0]; d.State != baoguan.DeclProcessing {
		t.Fatalf("SLOW declaration is %s", d.State)
	}
	if _, err := e.svc.UpdateOrder(e.ctx, e.m, updateInput("SLOW", 4023, idOK, "HG014")); baoguan.ErrorReason(err) != "declaration_in_flight" {
		t.Errorf("update while declaring: %v", err)
	}

	// A live merchant's test order stays a test order.
	e.svc.Live = core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)}
	live, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{Name: "live shop", Mode: baoguan.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	in := updateInput("T1", 100, idOK, "HG014")
	in.Test, in.Hold = true, true
	if _, _, err := e.svc.CreateOrder(e.ctx, live, in); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateOrder(e.ctx, live, updateInput("T1", 100, idOK, "HG014")); baoguan.ErrorReason(err) != "sandbox_mismatch" {
		t.Errorf("production update of a test order: %v", err)
	}
	in.Hold = false
	if _, err := e.svc.UpdateOrder(e.ctx, live, in); err != nil {
		t.Errorf("test update of a test order: %v", err)
	}
}
