package sandbox_test

import (
	"context"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sandbox"
)

func complete(t *testing.T, o *baoguan.Order, evidence string) baoguan.PayResult {
	t.Helper()
	res, err := sandbox.NewChannel().Complete(context.Background(), baoguan.PayRequest{
		Order: o, Merchant: &baoguan.Merchant{ID: o.MerchantID}, Attempt: 1, Now: now}, evidence)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestComplete(t *testing.T) {
	tests := []struct {
		name, no, evidence string
		ch                 baoguan.Channel
		status             baoguan.PayStatus
		psp, payType       string
		reason             string
	}{
		{"qr paid", "Q1", sandbox.EvidencePay, baoguan.ChannelQR, baoguan.PaySucceed, "EASYPAY", "3", ""},
		{"qr failed by the tester", "Q2", sandbox.EvidenceFail, baoguan.ChannelQR, baoguan.PayFailed, "EASYPAY", "3", sandbox.QRFailReason},
		{"quick any code", "K1", "700336", baoguan.ChannelQuick, baoguan.PaySucceed, "ALLINPAY", "2", ""},
		{"quick bank refuses", "K2payfail", "700336", baoguan.ChannelQuick, baoguan.PayFailed, "ALLINPAY", "2", sandbox.PayFailReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOrder(tt.ch, tt.no)
			res := complete(t, o, tt.evidence)
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
			if again := complete(t, o, tt.evidence); again.Payment.No != p.No {
				t.Errorf("repeat changed the payment number: %s → %s", p.No, again.Payment.No)
			}
		})
	}
	if _, err := sandbox.NewChannel().Complete(context.Background(), baoguan.PayRequest{Order: testOrder(baoguan.ChannelMock, "M1"), Now: now}, "x"); err == nil {
		t.Error("completing a mock payment should fail")
	}
}
