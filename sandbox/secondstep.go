package sandbox

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// The payment companies the sandbox pretends to be for payments that finish
// in a second step. payzero's QR example (§4.1) answers EASYPAY; its quick
// pay examples (§5) answer ALLINPAY, and bank code 999 of its test
// environment is NetsUnion's test bank, hence verDept 2.
const (
	qrPSP        = "EASYPAY"
	qrPSPName    = "易生支付有限公司"
	quickPSP     = autoPSP
	quickPSPName = autoPSPName
	quickPSPCode = autoPSPCode

	verDeptNetsUnion = "2"
	payTypePC        = "2"
	payTypeScan      = "3"
)

// CollectTTL is how long a sandbox code can be paid. payzero's document
// only says codes expire (4.2); two hours is the usual life of a WeChat Pay
// native code.
const CollectTTL = 2 * time.Hour

// QRFailReason is the reason of a QR payment the tester failed on purpose.
const QRFailReason = "付款人未完成支付（沙箱：测试人员选择了支付失败）"

// PSPFor names the payment company the sandbox uses for a channel, so a
// front-end can tell the shopper which logo to show before the payment is
// made (payzero's psp field).
func PSPFor(ch baoguan.Channel) string {
	switch ch {
	case baoguan.ChannelQR:
		return qrPSP
	case baoguan.ChannelQuick, baoguan.ChannelAuto:
		return autoPSP
	case baoguan.ChannelMock:
		return mockPSP
	}
	return externalPSP
}

// applySecondStep is the first answer for qr and quick orders: the payment
// is applied for, and the money moves only when the shopper acts. The
// payment company is named already, as payzero answers it at once.
func applySecondStep(r baoguan.PayRequest) baoguan.PayResult {
	p := baoguan.Payment{PSP: PSPFor(r.Order.Channel)}
	if r.Order.Channel.Wallet() {
		p.PSP = walletOf(r.Order).psp
	}
	p.InitRequest = initRequest(r, p.PSP)
	p.InitResponse = marshal(virtualResponse{Result: "SUCCESS", PayStatus: string(baoguan.PayApplied), Message: appliedMessage(r.Order.Channel)})
	return baoguan.PayResult{Status: baoguan.PayApplied, Payment: p}
}

func appliedMessage(ch baoguan.Channel) string {
	if ch == baoguan.ChannelQuick {
		return "请输入短信验证码"
	}
	return "等待付款人扫码"
}

// Collect issues a code for a qr order: EASYPAY collects it, the gateway
// hosts its page (URL empty: the sandbox page stands in for the wallet
// app), and it can be paid for CollectTTL. Every code type is accepted.
func (c *Channel) Collect(ctx context.Context, r baoguan.CollectRequest) (baoguan.CollectCode, error) {
	if err := ctx.Err(); err != nil {
		return baoguan.CollectCode{}, err
	}
	if r.Order != nil && r.Order.Channel.Wallet() {
		return collectWallet(r), nil
	}
	return baoguan.CollectCode{PSP: qrPSP, ExpiresAt: r.Now.Add(CollectTTL)}, nil
}

// smsCodeOK is the sandbox's SMS rule (payzero's test environment, §5.2):
// any 6 characters, none of them a space.
func smsCodeOK(code string) bool {
	return utf8.RuneCountInString(code) == 6 && !strings.ContainsAny(code, " \t\r\n")
}

// errSMSWrong is the sandbox bank's answer to a code that breaks its rule.
var errSMSWrong = &baoguan.Error{Code: baoguan.ESTATE, Reason: "sms_wrong", Message: "短信验证码错误（沙箱：任意 6 位字符）"}

// Complete finishes a payment that Pay or Collect answered PAY_APPLIED. a
// is what the payer did: for qr, the choice on the sandbox page; for
// quick, the SMS code. The answer is:
//
//   - qr: PAY_SUCCEED (EASYPAY, pay type 3 scan) when the payer paid,
//     PAY_FAILED with QRFailReason when they gave up;
//   - quick: a code that is not 6 characters without spaces is refused
//     (ESTATE reason sms_wrong); otherwise PAY_SUCCEED (ALLINPAY, verDept 2
//     NetsUnion, pay type 2 PC), unless the order number ends in PAYFAIL:
//     then the bank refuses, as for mock and auto.
//
// The payment number is derived like Pay's, so a repeated call answers the
// same. The payer is the order's payer; the core replaces it with the card
// holder when it knows who really paid (quick pay agreements).
func (c *Channel) Complete(ctx context.Context, r baoguan.PayRequest, a baoguan.PayerAction) (baoguan.PayResult, error) {
	if err := ctx.Err(); err != nil {
		return baoguan.PayResult{}, err
	}
	o := r.Order
	if o == nil {
		return baoguan.PayResult{}, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL, "sandbox: complete request without an order"))
	}
	if o.Channel.Wallet() {
		return completeWallet(r, a), nil
	}
	p := baoguan.Payment{No: paymentNo(r)}
	fail := ""
	switch o.Channel {
	case baoguan.ChannelQR:
		p.PSP, p.PSPName, p.VerDept, p.PayType = qrPSP, qrPSPName, verDeptOther, payTypeScan
		if !a.Paid {
			fail = QRFailReason
		}
	case baoguan.ChannelQuick:
		if !smsCodeOK(a.SMSCode) {
			return baoguan.PayResult{}, errSMSWrong
		}
		p.PSP, p.PSPName, p.PSPCode, p.VerDept, p.PayType = quickPSP, quickPSPName, quickPSPCode, verDeptNetsUnion, payTypePC
		if strings.HasSuffix(strings.ToUpper(o.MerchantOrderNo), SuffixPayFail) {
			fail = PayFailReason
		}
	default:
		return baoguan.PayResult{}, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL,
			"sandbox: %s payments finish at once; there is nothing to complete", o.Channel))
	}
	p.InitRequest = initRequest(r, p.PSP)
	if fail != "" {
		p.FailReason = fail
		p.InitResponse = marshal(virtualResponse{Result: "FAIL", TradeNo: p.No, PayStatus: string(baoguan.PayFailed), Message: fail})
		return baoguan.PayResult{Status: baoguan.PayFailed, Payment: p}, nil
	}
	p.PaidAt = r.Now
	p.PayerName, p.PayerID = o.Payer.Name, o.Payer.IDNumber
	p.InitResponse = marshal(virtualResponse{Result: "SUCCESS", TradeNo: p.No, PayStatus: string(baoguan.PaySucceed), PaidAt: stamp(r.Now)})
	return baoguan.PayResult{Status: baoguan.PaySucceed, Payment: p}, nil
}
