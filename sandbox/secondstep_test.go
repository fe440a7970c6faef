package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sandbox"
)

func complete(t *testing.T, o *baoguan.Order, a baoguan.PayerAction) baoguan.PayResult {
	t.Helper()
	res, err := sandbox.NewChannel().Complete(context.Background(), baoguan.PayRequest{
		Order: o, Merchant: &baoguan.Merchant{ID: o.MerchantID}, Attempt: 1, Now: now}, a)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestComplete(t *testing.T) {
	tests := []struct {
		name, no     string
		action       baoguan.PayerAction
		ch           baoguan.Channel
		status       baoguan.PayStatus
		psp, payType string
		reason       string
	}{
		{"qr paid", "Q1", baoguan.PayerAction{Paid: true}, baoguan.ChannelQR, baoguan.PaySucceed, "EASYPAY", "3", ""},
		{"qr failed by the tester", "Q2", baoguan.PayerAction{Paid: false}, baoguan.ChannelQR, baoguan.PayFailed, "EASYPAY", "3", sandbox.QRFailReason},
		{"quick any code", "K1", baoguan.PayerAction{SMSCode: "700336"}, baoguan.ChannelQuick, baoguan.PaySucceed, "ALLINPAY", "2", ""},
		{"quick bank refuses", "K2payfail", baoguan.PayerAction{SMSCode: "700336"}, baoguan.ChannelQuick, baoguan.PayFailed, "ALLINPAY", "2", sandbox.PayFailReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOrder(tt.ch, tt.no)
			res := complete(t, o, tt.action)
			p := res.Payment
			if res.Status != tt.status || p.PSP != tt.psp || p.PayType != tt.payType || p.FailReason != tt.reason {
				t.Fatalf("%+v, want %s %s payType %s reason %q", res, tt.status, tt.psp, tt.payType, tt.reason)
			}
			if len(p.No) != 20 || !isDigits(p.No) {
				t.Errorf("No = %q, want 20 digits", p.No)
			}
			if tt.status == baoguan.PaySucceed && (p.PaidAt.IsZero() || p.PayerID != o.Payer.IDNumber) {
				t.Errorf("success without paid time or payer: %+v", p)
			}
			if again := complete(t, o, tt.action); again.Payment.No != p.No {
				t.Errorf("repeat changed the payment number: %s → %s", p.No, again.Payment.No)
			}
		})
	}
	if _, err := sandbox.NewChannel().Complete(context.Background(), baoguan.PayRequest{Order: testOrder(baoguan.ChannelMock, "M1"), Now: now}, baoguan.PayerAction{Paid: true}); err == nil {
		t.Error("completing a mock payment should fail")
	}
	for _, code := range []string{"12345", "1234567", "12 456", ""} {
		_, err := sandbox.NewChannel().Complete(context.Background(), baoguan.PayRequest{Order: testOrder(baoguan.ChannelQuick, "K3"), Now: now},
			baoguan.PayerAction{SMSCode: code})
		if baoguan.ErrorReason(err) != "sms_wrong" {
			t.Errorf("SMS code %q: %v, want sms_wrong", code, err)
		}
	}
}

// Card agreements: bank 999 only, any 6-character code, an 18-digit
// agreement number that a repeated confirmation gets again.
func TestCardAgreement(t *testing.T) {
	ch := sandbox.NewChannel()
	a := &baoguan.CardAgreement{MerchantID: 7, RequestID: "REQ1", BankCode: "0308"}
	r := baoguan.AgreementRequest{Agreement: a, Now: now}
	if _, err := ch.ApplyAgreement(context.Background(), r); baoguan.ErrorReason(err) != "sandbox_bank" || baoguan.ErrorField(err) != "bank_code" {
		t.Errorf("bank 0308: %v", err)
	}
	a.BankCode = baoguan.TestBankCode
	if psp, err := ch.ApplyAgreement(context.Background(), r); err != nil || psp != "ALLINPAY" {
		t.Errorf("bank 999: %q %v", psp, err)
	}
	if _, err := ch.ConfirmAgreement(context.Background(), r, "12345"); baoguan.ErrorReason(err) != "sms_wrong" {
		t.Errorf("5-character code: %v", err)
	}
	id, err := ch.ConfirmAgreement(context.Background(), r, "a1b2c3")
	if err != nil || len(id) != 18 || !isDigits(id) || id[:14] != now.In(time.FixedZone("CST", 8*3600)).Format("20060102150405") {
		t.Fatalf("agreement number %q %v", id, err)
	}
	if again, _ := ch.ConfirmAgreement(context.Background(), r, "zzzzzz"); again != id {
		t.Errorf("repeat gave %s, then %s", id, again)
	}
}

// Real-name checks follow the first digit of the ID number.
func TestVerifyRealName(t *testing.T) {
	for id, want := range map[string]string{
		"110113198010101234": baoguan.RealNamePass, "210113198010101234": baoguan.RealNameCannotFindID,
		"310113198010101234": baoguan.RealNameNameInvalid, "410113198010101234": baoguan.RealNameIDNoInvalid,
		"510113198010101234": baoguan.RealNameNotPass, "1234": baoguan.RealNameIDNoInvalid,
	} {
		got, err := sandbox.NewChannel().VerifyRealName(context.Background(), baoguan.RealNameRequest{Name: "李白", IDNo: id, Now: now})
		if err != nil || got.Result != want {
			t.Errorf("%s: %+v %v, want %s", id, got, err, want)
		}
	}
	got, _ := sandbox.NewChannel().VerifyRealName(context.Background(), baoguan.RealNameRequest{Name: "李白", IDNo: "110113198010101234", Now: now})
	if got.Birth != "19801010" || got.Sex != "男" || got.Addr != "北京市顺义区" {
		t.Errorf("holder %+v", got)
	}
}
