package external_test

import (
	"context"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/external"
)

func TestPay(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	paid := now.Add(-time.Hour)
	for _, tc := range []struct {
		name string
		o    baoguan.Order
		want baoguan.PayStatus
		psp  string
		at   time.Time
	}{
		{"wallet payment", baoguan.Order{Channel: baoguan.ChannelExternal, Payment: baoguan.Payment{No: "42000", PSP: " wechat ", PaidAt: paid}},
			baoguan.PaySucceed, "WECHAT", paid},
		{"no time given", baoguan.Order{Channel: baoguan.ChannelExternal, Payment: baoguan.Payment{No: "2015", PSP: "ALIPAY"}},
			baoguan.PaySucceed, "ALIPAY", now},
		{"another mode", baoguan.Order{Channel: baoguan.ChannelQR}, baoguan.PayFailed, "", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := external.Channel{}.Pay(context.Background(), baoguan.PayRequest{Order: &tc.o, Now: now})
			if err != nil || r.Status != tc.want || r.Payment.PSP != tc.psp || !r.Payment.PaidAt.Equal(tc.at) {
				t.Fatalf("%+v %v", r, err)
			}
			if tc.want == baoguan.PaySucceed && (r.Payment.No != tc.o.Payment.No || r.Payment.PayerID != "" || r.Payment.VerDept != "3") {
				t.Fatalf("payment facts: %+v", r.Payment)
			}
			if tc.want == baoguan.PayFailed && r.Payment.FailReason == "" {
				t.Fatal("a refusal without a reason")
			}
		})
	}
}

func TestRefund(t *testing.T) {
	o := &baoguan.Order{Channel: baoguan.ChannelExternal}
	r, err := external.Channel{}.Refund(context.Background(), baoguan.RefundRequest{Refund: &baoguan.Refund{MerchantRefundNo: "R1"}, Order: o})
	if err != nil || r.Status != baoguan.RefundSucceed || r.RefundNo != "R1" {
		t.Fatalf("%+v %v", r, err)
	}
}
