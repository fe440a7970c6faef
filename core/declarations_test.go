package core_test

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// paidUndeclared pushes an order without declarations and pays it.
func (e *env) paidUndeclared(t *testing.T, no, id string, amount int64) *baoguan.Order {
	t.Helper()
	if _, _, err := e.svc.CreateOrder(e.ctx, e.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: amount,
		Subject: "奶粉", Channel: baoguan.ChannelMock, Payer: baoguan.Payer{Name: "张三", IDNumber: id, Phone: "13800138000"}}}); err != nil {
		t.Fatal(err)
	}
	e.drain(t, 5*time.Second)
	o, err := e.svc.Order(e.ctx, e.m, no)
	if err != nil || !o.Paid() {
		t.Fatalf("order %s not paid: %+v %v", no, o, err)
	}
	return o
}

func TestDeclareOnce(t *testing.T) {
	e := newEnv(t, 0)
	o := e.paidUndeclared(t, "W1", "110105199001011232", 10000)
	if _, _, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{OrderNo: "W1", RefundNo: "R1", Amount: 2500}); err != nil {
		t.Fatal(err)
	}
	e.drain(t, 5*time.Second)

	// By payment number; the whole declarable amount is paid less refunded.
	_, d, created, err := e.svc.DeclareTarget(e.ctx, e.m, core.OrderRef{PaymentNo: o.Payment.No}, baoguan.DeclarationSpec{Customs: "SHANGHAI_ZS", MerchantCustomsNo: "31"})
	if err != nil || !created || d.OrderFee != 7500 || d.State != baoguan.DeclPending {
		t.Fatalf("DeclareOnce: %+v created=%v %v", d, created, err)
	}
	e.drain(t, 5*time.Second)
	// The same request again: the declaration as it is, nothing new.
	_, again, created, err := e.svc.DeclareTarget(e.ctx, e.m, core.OrderRef{No: "W1"}, baoguan.DeclarationSpec{Customs: "SHANGHAI_ZS", MerchantCustomsNo: "31"})
	if err != nil || created || again.ID != d.ID || again.State != baoguan.DeclSuccess {
		t.Fatalf("repeat: %+v created=%v %v", again, created, err)
	}
	// Other data for the same target is a conflict.
	_, _, _, err = e.svc.DeclareTarget(e.ctx, e.m, core.OrderRef{No: "W1"}, baoguan.DeclarationSpec{Customs: "SHANGHAI_ZS", MerchantCustomsNo: "32"})
	if baoguan.ErrorReason(err) != "duplicate_declaration" {
		t.Fatalf("other data: %v", err)
	}
	// Split parts to another code stay within paid less refunded.
	part := func(sub string, fee int64) error {
		_, _, _, err := e.svc.DeclareTarget(e.ctx, e.m, core.OrderRef{No: "W1"}, baoguan.DeclarationSpec{Customs: "NINGBO", SubOrderNo: sub,
			MerchantCustomsNo: "33", OrderFee: fee, ProductFee: fee})
		return err
	}
	if err := part("P1", 7000); err != nil {
		t.Fatal(err)
	}
	if err := part("P2", 501); baoguan.ErrorCode(err) != baoguan.ELIMIT {
		t.Fatalf("a part above paid less refunded: %v", err)
	}
	// Two numbers naming different orders are refused.
	e.paidUndeclared(t, "W2", "110105199001011232", 100)
	if _, _, _, err := e.svc.DeclareTarget(e.ctx, e.m, core.OrderRef{No: "W2", PaymentNo: o.Payment.No}, baoguan.DeclarationSpec{Customs: "NINGBO"}); baoguan.ErrorField(err) != "payment_no" {
		t.Fatalf("mismatched numbers: %v", err)
	}
}

func TestModifyAndRedeclareOne(t *testing.T) {
	e := newEnv(t, 0)
	e.paidUndeclared(t, "M1", "110105199001019998", 10000) // the sandbox fails this payer
	target := core.DeclarationTarget{Order: core.OrderRef{No: "M1"}, Customs: "SHANGHAI_ZS"}
	if _, _, _, err := e.svc.DeclareTarget(e.ctx, e.m, target.Order, baoguan.DeclarationSpec{Customs: "SHANGHAI_ZS", MerchantCustomsNo: "31"}); err != nil {
		t.Fatal(err)
	}
	// In flight: neither modifiable nor re-declarable.
	if _, _, err := e.svc.ModifyDeclaration(e.ctx, e.m, target, core.DeclarationChange{}); baoguan.ErrorReason(err) != "declaration_in_flight" {
		t.Fatalf("modify in flight: %v", err)
	}
	e.drain(t, 5*time.Second)
	if _, _, err := e.svc.Redeclare(e.ctx, e.m, target, ""); baoguan.ErrorReason(err) != "not_redeclarable" {
		t.Fatalf("redeclare from FAIL: %v", err)
	}
	duty := int64(5)
	_, d, err := e.svc.ModifyDeclaration(e.ctx, e.m, target, core.DeclarationChange{Duty: &duty})
	if err != nil || d.State != baoguan.DeclPending || d.Duty != 5 || d.OrderFee != 10000 {
		t.Fatalf("modify from FAIL: %+v %v", d, err)
	}
	e.drain(t, 5*time.Second)
	if _, d, err = e.svc.Redeclare(e.ctx, e.m, target, "99"); baoguan.ErrorField(err) != "merchant_customs_no" {
		t.Fatalf("redeclare with another customs no: %v", err)
	}
	// A new orderer is checked, declared and compared again with the payer
	// the channel reported.
	bad := baoguan.Payer{Name: "张三", IDType: baoguan.IDTypeIDCard, IDNumber: "12"}
	if _, _, err := e.svc.ModifyDeclaration(e.ctx, e.m, target, core.DeclarationChange{Payer: &bad}); baoguan.ErrorField(err) != "payer.id_number" {
		t.Fatalf("modify with a malformed orderer: %v", err)
	}
	p := baoguan.Payer{Name: "李四", IDType: baoguan.IDTypeIDCard, IDNumber: "110105199001011232"}
	_, d, err = e.svc.ModifyDeclaration(e.ctx, e.m, target, core.DeclarationChange{Payer: &p})
	if err != nil || d.State != baoguan.DeclPending || d.Payer.IDNumber != p.IDNumber || d.IdentityCheck != baoguan.CheckDifferent {
		t.Fatalf("modify with a new orderer: %+v %v", d, err)
	}
	e.drain(t, 5*time.Second)
	ds, err := e.svc.Declarations(e.ctx, e.m, "M1")
	if err != nil || len(ds) != 1 || ds[0].Payer.Name != "李四" || ds[0].IdentityCheck != baoguan.CheckDifferent || ds[0].State != baoguan.DeclSuccess {
		t.Fatalf("after the new orderer: %+v %v", ds, err)
	}
}

func TestCheckPayerAndFind(t *testing.T) {
	e := newEnv(t, 0)
	o := e.paidUndeclared(t, "C1", "11010519900101123x", 10000)
	for _, sub := range []string{"S1", "S2"} {
		if _, _, _, err := e.svc.DeclareTarget(e.ctx, e.m, core.OrderRef{No: "C1"}, baoguan.DeclarationSpec{Customs: "NINGBO", SubOrderNo: sub,
			MerchantCustomsNo: "33", OrderFee: 100, ProductFee: 100}); err != nil {
			t.Fatal(err)
		}
	}
	target := core.DeclarationTarget{Order: core.OrderRef{PaymentNo: o.Payment.No}, Customs: "NINGBO", SubOrderNo: "S2"}
	for _, tc := range []struct {
		name, id, want string
	}{{"张三", "11010519900101123X", baoguan.CheckSame}, {"张三", "110105199001011232", baoguan.CheckDifferent}, {"李四", "11010519900101123x", baoguan.CheckDifferent}} {
		if _, _, got, err := e.svc.CheckPayer(e.ctx, e.m, target, baoguan.Payer{Name: tc.name, IDNumber: tc.id}); err != nil || got != tc.want {
			t.Errorf("CheckPayer(%s, %s) = %s, %v; want %s", tc.name, tc.id, got, err, tc.want)
		}
	}
	ms, err := e.svc.FindDeclarations(e.ctx, e.m, core.DeclarationQuery{SubOrderNo: "S2", Customs: "NINGBO"})
	if err != nil || len(ms) != 1 || ms[0].Order.MerchantOrderNo != "C1" {
		t.Fatalf("find by sub-order: %+v %v", ms, err)
	}
	if _, err := e.svc.FindDeclarations(e.ctx, e.m, core.DeclarationQuery{SubOrderID: ms[0].Declaration.SubOrderID + "x"}); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Fatalf("find an unknown sub-order id: %v", err)
	}
}

func TestMerchantBySettingAndNonces(t *testing.T) {
	e := newEnv(t, 0)
	if _, err := e.svc.UpdateMerchant(e.ctx, e.m.No, func(m *baoguan.Merchant) error {
		m.Settings["wechatv3.mchid"] = "1900000109"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	m, err := e.svc.MerchantBySetting(e.ctx, "wechatv3.mchid", "1900000109")
	if err != nil || m.ID != e.m.ID {
		t.Fatalf("MerchantBySetting: %+v %v", m, err)
	}
	if _, err := e.svc.MerchantBySetting(e.ctx, "wechatv3.mchid", "1900000110"); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Fatalf("unknown mchid: %v", err)
	}
	other, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UseNonce(e.ctx, m, "wxnonce", "N1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UseNonce(e.ctx, m, "wxnonce", "N1"); baoguan.ErrorReason(err) != "nonce_reused" {
		t.Fatalf("a reused nonce: %v", err)
	}
	if err := e.svc.UseNonce(e.ctx, other, "wxnonce", "N1"); err != nil {
		t.Fatalf("another merchant's nonce space: %v", err)
	}
}
