package pushorder

import (
	"strings"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// The document prints one PaymentStatus, 10 "已撤销", and no list. baoguan
// numbers the others itself; docs/protocols/pushorder.md lists them.
const (
	payUnpaid    = 0  // 未支付: NOT_PAYED, INIT_FEE_PENDING
	payPaying    = 1  // 支付中: PAY_APPLIED, PAY_SMS_CONFIRMED
	payPaid      = 2  // 已支付: PAY_SUCCEED
	payFailed    = 3  // 支付失败: PAY_FAILED
	payCancelled = 10 // 已撤销: PAY_CANCELLED, or paid and refunded in full
)

// MsgDone is CustomsMsg (and the callback's result_msg) exactly when an
// order is paid and every declaration succeeded, the document's condition
// for "支付+报关都是 OK 的".
const MsgDone = "已支付+已报关"

// timeLayout is the document's yyyy-MM-dd HH:mm:ss, in China time.
const timeLayout = "2006-01-02 15:04:05"

// Declaration codes of the appendix ("报关返回"), shown at the start of
// CustomsMsg when they apply.
const (
	customsIdentity  = "9911" // 实名认证异常
	customsVerify    = "9912" // 支付单验证失败
	customsBalance   = "9913" // 卡上余额不足
	customsDuplicate = "9914" // 请勿重复下单
	customsRisk      = "9915" // 银联风险受限
)

var customsText = map[string]string{
	customsIdentity:  "实名认证异常",
	customsVerify:    "支付单验证失败",
	customsBalance:   "已请求支付,但是由于卡上余额不足,故报错后无法再次发起支付,原因是订单号重复",
	customsDuplicate: "请勿重复下单",
	customsRisk:      "银联风险受限",
}

// paymentState returns GetOrder's PaymentStatus and PaymentMsg.
func paymentState(o *baoguan.Order) (int, string) {
	switch o.PayStatus {
	case baoguan.PaySucceed:
		switch {
		case o.Refunded >= o.Amount:
			return payCancelled, "已撤销（已全额退款）"
		case o.Refunded > 0:
			return payPaid, "已支付（已退款 " + baoguan.FormatYuan(o.Refunded) + " 元）"
		}
		return payPaid, "已支付"
	case baoguan.PayApplied, baoguan.PaySMSConfirmed:
		return payPaying, "支付中"
	case baoguan.PayFailed:
		if o.Payment.FailReason != "" {
			return payFailed, "支付失败：" + o.Payment.FailReason
		}
		return payFailed, "支付失败"
	case baoguan.PayCancelled:
		return payCancelled, "已撤销"
	}
	return payUnpaid, "未支付"
}

// payTime is PayTime: the payment time in China time, "" until paid.
func payTime(o *baoguan.Order) string {
	if !o.Paid() || o.Payment.PaidAt.IsZero() {
		return ""
	}
	return o.Payment.PaidAt.In(core.ChinaTime).Format(timeLayout)
}

// customsMsg is GetOrder's CustomsMsg: where the order stands on the way
// to "已支付+已报关", and when it failed, why, led by the appendix's
// declaration code where one applies.
func customsMsg(o *baoguan.Order, ds []baoguan.Declaration) string {
	switch o.PayStatus {
	case baoguan.PaySucceed:
	case baoguan.PayFailed:
		return payFailure(o.Payment.FailReason)
	case baoguan.PayApplied, baoguan.PaySMSConfirmed:
		return "支付中"
	case baoguan.PayCancelled:
		return "已撤销"
	default:
		return "未支付"
	}
	switch o.DeclareStatus {
	case baoguan.DeclareDone:
		if len(ds) > 0 {
			return MsgDone
		}
	case baoguan.DeclareFailedSt:
		for i := range ds {
			if d := &ds[i]; d.Final() && d.State != baoguan.DeclSuccess {
				return declFailure(d)
			}
		}
		return "已支付+报关失败"
	case baoguan.DeclarePending, baoguan.DeclareRunning:
		return "已支付+报关中"
	}
	return "已支付+未报关"
}

// payFailure explains a failed payment: 9913 when the funding account was
// short (the sandbox and the core say "余额不足"), 9915 when a risk rule
// refused it, else the channel's reason.
func payFailure(reason string) string {
	switch {
	case strings.Contains(reason, "余额不足"):
		return withCode(customsBalance, reason)
	case strings.Contains(reason, "风险") || strings.Contains(reason, "风控"):
		return withCode(customsRisk, reason)
	case reason == "":
		return "支付失败"
	}
	return "支付失败：" + reason
}

// declFailure explains a declaration that ended without success, by the
// customs explanation: identity problems are 9911, duplicates 9914, risk
// refusals 9915, any other refusal 9912. An interface exception that
// retries could not heal has no appendix code.
func declFailure(d *baoguan.Declaration) string {
	why := d.Explanation
	switch {
	case strings.Contains(why, "重复"):
		return withCode(customsDuplicate, why)
	case strings.Contains(why, "风险") || strings.Contains(why, "风控"):
		return withCode(customsRisk, why)
	case containsAny(why, "身份证", "证件", "姓名", "实名", "身份信息"):
		return withCode(customsIdentity, why)
	case d.State == baoguan.DeclFail:
		return withCode(customsVerify, why)
	case why == "":
		return "报关失败"
	}
	return "报关失败：" + why
}

// withCode renders "9911 实名认证异常（支付人姓名和证件号不匹配）": the code
// and the appendix's text, then baoguan's explanation when it says more.
func withCode(code, why string) string {
	s := code + " " + customsText[code]
	if why != "" && why != customsText[code] {
		s += "（" + why + "）"
	}
	return s
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
