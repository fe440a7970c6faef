// Package external is the live payment channel for orders paid elsewhere
// (channel "external"): the payer paid in the merchant's own shop, through
// a wallet (WeChat Pay, Alipay) or any other payment company, and the order
// arrives with the payment's facts — its number and the payment company
// (Payment.PSP, "WECHAT" or "ALIPAY" for a wallet). Nothing moves through
// baoguan: Pay records the payment as the merchant states it, and Refund
// records a refund the merchant made at its payment company, so that the
// declarable amount (paid less refunded) stays right.
//
// Other payment modes need a real channel; this one refuses them with
// PAY_FAILED, naming why.
package external

import (
	"context"
	"strings"

	"github.com/baoguan/baoguan"
)

// Channel is the live channel for payments made elsewhere.
type Channel struct{}

var _ baoguan.PaymentChannel = Channel{}

// Name identifies the channel in logs and stored payments.
func (Channel) Name() string { return "external" }

// verDeptOther is customs' verification department code "3 other" for a
// payment whose verification the payment company does itself.
const verDeptOther = "3"

// Supports tells core which payment modes the channel takes, so that
// another mode is refused when the order is pushed: external only.
func (Channel) Supports(c baoguan.Channel) bool { return c == baoguan.ChannelExternal }

// Pay records an external payment: what the merchant sent is kept, the
// payment company is upper-cased (WECHAT, ALIPAY), the time defaults to
// now. The payer as the payment company knows them is not known here, so
// PayerName and PayerID stay empty and the identity comparison is left to
// the wallet (or customs). Other modes are refused with PAY_FAILED.
func (Channel) Pay(_ context.Context, r baoguan.PayRequest) (baoguan.PayResult, error) {
	o := r.Order
	if o == nil {
		return baoguan.PayResult{}, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL, "external: pay request without an order"))
	}
	if o.Channel != baoguan.ChannelExternal {
		p := o.Payment
		p.FailReason = "this installation takes live payments made elsewhere only (channel external); " +
			string(o.Channel) + " needs a payment channel"
		return baoguan.PayResult{Status: baoguan.PayFailed, Payment: p}, nil
	}
	p := o.Payment
	p.FailReason = ""
	p.PSP = strings.ToUpper(strings.TrimSpace(p.PSP))
	if p.PaidAt.IsZero() {
		p.PaidAt = r.Now
	}
	if p.VerDept == "" {
		p.VerDept = verDeptOther
	}
	return baoguan.PayResult{Status: baoguan.PaySucceed, Payment: p}, nil
}

// Refund records a refund the merchant made at its payment company.
func (Channel) Refund(_ context.Context, r baoguan.RefundRequest) (baoguan.RefundResult, error) {
	if r.Refund == nil {
		return baoguan.RefundResult{}, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL, "external: refund request without a refund"))
	}
	if r.Order != nil && r.Order.Channel != baoguan.ChannelExternal {
		return baoguan.RefundResult{Status: baoguan.RefundFailed, Reason: "only payments made elsewhere can be refunded here"}, nil
	}
	return baoguan.RefundResult{Status: baoguan.RefundSucceed, RefundNo: r.Refund.MerchantRefundNo}, nil
}
