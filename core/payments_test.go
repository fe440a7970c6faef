package core_test

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

// CompletePayment records a later outcome once: a repeat is harmless, a
// contradicting one is refused.
func TestCompletePayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	o, qr, err := e.svc.Collect(e.ctx, e.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "QR1", Amount: 500, Subject: "口红",
		Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}}, "ALIPAY")
	if err != nil {
		t.Fatal(err)
	}
	if o.PayStatus != baoguan.PayApplied || qr.PSP != "EASYPAY" || !qr.ExpiresAt.Equal(qr.IssuedAt.Add(sandbox.CollectTTL)) {
		t.Fatalf("order %s, code %+v", o.PayStatus, qr)
	}
	paid := baoguan.PayResult{Status: baoguan.PaySucceed, Payment: baoguan.Payment{No: "P1", PSP: "EASYPAY", PayerName: "张三", PayerID: "110105199001011232"}}
	if o, err = e.svc.CompletePayment(e.ctx, e.m, "QR1", paid); err != nil || !o.Paid() || o.Payment.PaidAt.IsZero() {
		t.Fatalf("complete: %+v %v", o, err)
	}
	if _, err := e.svc.CompletePayment(e.ctx, e.m, "QR1", paid); err != nil {
		t.Errorf("repeat: %v", err)
	}
	if _, err := e.svc.CompletePayment(e.ctx, e.m, "QR1", baoguan.PayResult{Status: baoguan.PayFailed}); baoguan.ErrorReason(err) != "payment_finished" {
		t.Errorf("contradicting outcome: %v", err)
	}
	e.drain(t, time.Minute)
	if v := e.detail(t, "QR1"); v.Order.DeclareStatus != baoguan.DeclareDone {
		t.Errorf("declared: %s", v.Order.DeclareStatus)
	}
}

func TestFundingCards(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	f, err := e.svc.FundingCards(e.ctx, e.m)
	if err != nil || f.Recorded || len(f.Cards) != 1 || !f.Cards[0].Signed || f.Cards[0].Balance != e.m.FundingBalance {
		t.Fatalf("sandbox default: %+v %v", f, err)
	}
	in := func(no string) core.OrderInput {
		return core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: 500, Subject: "x"}}
	}
	for _, c := range []struct {
		cards  []baoguan.FundingCard
		reason string
	}{
		{nil, core.ReasonNoCard},
		{[]baoguan.FundingCard{{BankCode: "0308", AcctName: "某", AcctNo: "6225880212345678", Balance: 1000}}, core.ReasonNoSignedCard},
		{[]baoguan.FundingCard{{BankCode: "0308", AcctName: "某", AcctNo: "6225880212345678", Balance: 499, Signed: true}}, core.ReasonCardBalanceShort},
		{[]baoguan.FundingCard{{BankCode: "0308", AcctName: "某", AcctNo: "6225880212345678", Balance: 500, Signed: true}}, ""},
	} {
		if _, err := e.svc.ReplaceFundingCards(e.ctx, e.m, c.cards); err != nil {
			t.Fatal(err)
		}
		_, _, err := e.svc.CreateOrderPaidFromCards(e.ctx, e.m, in("A"+c.reason))
		if baoguan.ErrorReason(err) != c.reason || (c.reason == "" && err != nil) {
			t.Errorf("cards %+v: %v, want reason %q", c.cards, err, c.reason)
		}
	}
	if _, err := e.svc.ReplaceFundingCards(e.ctx, e.m, []baoguan.FundingCard{{BankCode: "9999", AcctName: "x", AcctNo: "6225880212345678"}}); baoguan.ErrorField(err) != "cards[0].bank_code" {
		t.Errorf("bad bank code: %v", err)
	}
}
