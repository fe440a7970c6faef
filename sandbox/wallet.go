package sandbox

import (
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// The sandbox wallets: WeChat Pay and Alipay as a wallet-mode order meets
// them (docs/sandbox.md, "Wallets"). Payment-code (micro) payments are
// decided by the payer's auth code; every other mode issues a code whose
// page the gateway hosts (the sandbox wallet page) and is paid or given up
// there by the tester, as the payer.

// settleInOrderCurrency is the sandbox wallets' settlement rate: they
// settle merchants in the order's currency.
var settleInOrderCurrency = baoguan.MustRate("1")

// WalletCodeTTL is how long a sandbox wallet code can be paid: two hours,
// WeChat Pay's default life of an unpaid order (time_expire).
const WalletCodeTTL = 2 * time.Hour

// UserPayingFor is how long a micro payment whose auth code ends in 01 or
// 02 stays "user paying" (the payer confirming in the app), counted from
// the order's creation.
const UserPayingFor = 10 * time.Second

// The sandbox's wallet payer: who a wallet payment is made by when the
// tester does not say, the real-name holder a wallet reports to customs.
// It is the orderer of WiseCashier's declaration examples (§9), so a
// declaration copied from the document compares SAME.
const (
	WalletPayerName = "Lisa"
	WalletPayerID   = "510921199308772318"
)

// A wallet's customs registration, as customs' payment records name the
// payment company (the codes every integration prints for Tenpay and
// Alipay).
type walletPSP struct {
	psp, name, code string
	// failure codes, in the wallet's own words
	badCode, noMoney, cancelled string
}

var walletPSPs = map[string]walletPSP{
	baoguan.WalletWeChat: {psp: baoguan.PSPWeChat, name: "财付通支付科技有限公司", code: "4403169D3W",
		badCode: "AUTH_CODE_INVALID", noMoney: "NOTENOUGH", cancelled: "PAYERROR"},
	baoguan.WalletAlipay: {psp: baoguan.PSPAlipay, name: "支付宝（中国）网络技术有限公司", code: "31222699S7",
		badCode: "ACQ.PAYMENT_AUTH_CODE_INVALID", noMoney: "ACQ.BUYER_BALANCE_NOT_ENOUGH", cancelled: "ACQ.TRADE_HAS_CLOSE"},
}

// Reasons of failed sandbox wallet payments.
const (
	AuthCodeInvalidReason = "付款码无效（沙箱：微信付款码为 10–15 开头的 18 位数字，支付宝付款码为 25–30 开头的 16–24 位数字）"
	NotEnoughReason       = "用户余额不足（沙箱：付款码以 00 结尾）"
	PayerCancelledReason  = "付款人取消了支付"
)

// SampleAuthCode is the Alipay payment code WiseCashier's §7.2 example
// sends. It is not a real code (too short), but merchants copy the
// example: the sandbox answers it as the document shows, "user paying"
// (INIT), and then paid, like a code ending in 01.
const SampleAuthCode = "123456"

// authCodeOK applies the wallets' payment-code formats: WeChat Pay's are 18
// digits starting 10–15, Alipay's 16–24 digits starting 25–30.
func authCodeOK(wallet, code string) bool {
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	if len(code) < 2 {
		return false
	}
	p := code[:2]
	if wallet == baoguan.WalletAlipay {
		return len(code) >= 16 && len(code) <= 24 && p >= "25" && p <= "30"
	}
	return len(code) == 18 && p >= "10" && p <= "15"
}

// payType is the customs pay type of a wallet mode: 1 APP (in an app or
// the wallet's browser), 2 PC (a cashier page), 3 scan.
func payType(ch baoguan.Channel) string {
	switch ch {
	case baoguan.ChannelMicro, baoguan.ChannelNative:
		return payTypeScan
	case baoguan.ChannelDesk:
		return payTypePC
	}
	return "1"
}

// walletPayment is the payment a sandbox wallet records: the wallet's
// transaction number (28 digits, like both wallets'), its registration,
// and the payer.
func walletPayment(r baoguan.PayRequest, w walletPSP) baoguan.Payment {
	o := r.Order
	return baoguan.Payment{No: digits(28, "wallet", i64(merchantID(r)), i64(o.ID), o.MerchantOrderNo, i64(int64(o.PayAttempts))),
		PSP: w.psp, PSPName: w.name, PSPCode: w.code, VerDept: verDeptNetsUnion, PayType: payType(o.Channel)}
}

func walletOf(o *baoguan.Order) walletPSP {
	if w, ok := walletPSPs[o.Extra[baoguan.ExtraWallet]]; ok {
		return w
	}
	return walletPSPs[baoguan.WalletWeChat]
}

// payMicro answers a payment-code payment by the auth code:
//
//   - not a payment code of the wallet: FAIL, the wallet's AUTH_CODE_INVALID;
//   - ends in 00: FAIL, the wallet's "balance not enough";
//   - ends in 01: "user paying" (PAY_APPLIED) for UserPayingFor after the
//     order was created, then PAID;
//   - ends in 02: "user paying" for UserPayingFor, then FAIL (the payer
//     cancelled);
//   - ends in 03: "user paying" for good (the core closes the order after
//     baoguan.MicroWindow);
//   - otherwise PAID at once.
func payMicro(r baoguan.PayRequest) baoguan.PayResult {
	o := r.Order
	w := walletOf(o)
	code := o.Extra[baoguan.ExtraAuthCode]
	p := walletPayment(r, w)
	p.InitRequest = initRequest(r, p.PSP)
	fail := func(reason, code string) baoguan.PayResult {
		p.FailReason, p.FailCode = reason, code
		p.InitResponse = marshal(virtualResponse{Result: "FAIL", TradeNo: p.No, PayStatus: string(baoguan.PayFailed), Message: code + " " + reason})
		return baoguan.PayResult{Status: baoguan.PayFailed, Payment: p}
	}
	if o.Extra[baoguan.ExtraWallet] == baoguan.WalletAlipay && code == SampleAuthCode {
		code = "2800000000000000001" // the example: user paying, then paid
	}
	if !authCodeOK(o.Extra[baoguan.ExtraWallet], code) {
		return fail(AuthCodeInvalidReason, w.badCode)
	}
	paying := r.Now.Before(o.CreatedAt.Add(UserPayingFor))
	switch {
	case strings.HasSuffix(code, "00"):
		return fail(NotEnoughReason, w.noMoney)
	case strings.HasSuffix(code, "03"), paying && (strings.HasSuffix(code, "01") || strings.HasSuffix(code, "02")):
		p.InitResponse = marshal(virtualResponse{Result: "SUCCESS", TradeNo: p.No, PayStatus: string(baoguan.PayApplied), Message: "USERPAYING 需要用户输入支付密码"})
		return baoguan.PayResult{Status: baoguan.PayApplied, Payment: baoguan.Payment{PSP: p.PSP, InitRequest: p.InitRequest, InitResponse: p.InitResponse}}
	case strings.HasSuffix(code, "02"):
		return fail(PayerCancelledReason, w.cancelled)
	}
	return walletPaid(r, p, baoguan.PayerAction{})
}

// walletPaid completes p as paid now by the payer a says (default the
// sandbox wallet payer).
func walletPaid(r baoguan.PayRequest, p baoguan.Payment, a baoguan.PayerAction) baoguan.PayResult {
	p.PaidAt = r.Now
	if !r.Rate.IsZero() {
		// The wallet converts at the rate of the moment and settles in the
		// order's currency; the core computes the CNY at that rate.
		p.ExchangeRate, p.SettleRate = r.Rate, settleInOrderCurrency
	}
	p.PayerName, p.PayerID = WalletPayerName, WalletPayerID
	if strings.TrimSpace(a.PayerName) != "" || strings.TrimSpace(a.PayerID) != "" {
		p.PayerName, p.PayerID = strings.TrimSpace(a.PayerName), strings.TrimSpace(a.PayerID)
	}
	p.InitResponse = marshal(virtualResponse{Result: "SUCCESS", TradeNo: p.No, PayStatus: string(baoguan.PaySucceed), PaidAt: stamp(r.Now)})
	return baoguan.PayResult{Status: baoguan.PaySucceed, Payment: p}
}

// collectWallet issues a wallet-mode code. The gateway hosts its page (the
// URL is empty); the client parameters are what the wallet would issue: a
// prepay id, the sandbox app id (unless the merchant named its own) and
// partner id, all derived from the order, so a repeated call answers the
// same.
func collectWallet(r baoguan.CollectRequest) baoguan.CollectCode {
	o := r.Order
	w := walletPSPs[r.Wallet]
	if w.psp == "" {
		w = walletPSPs[baoguan.WalletWeChat]
	}
	mid := o.MerchantID
	if mid == 0 && r.Merchant != nil {
		mid = r.Merchant.ID
	}
	round := i64(int64(o.PayAttempts))
	params := map[string]string{}
	if r.Wallet == baoguan.WalletAlipay {
		params["partner"] = "2088" + digits(12, "alipay-partner", i64(mid))
		params["trade_no"] = digits(28, "alipay-trade", i64(mid), i64(o.ID), round)
	} else {
		params["prepay_id"] = "wx" + digits(34, "prepay", i64(mid), i64(o.ID), round)
		params["partnerid"] = digits(10, "wechat-mch", i64(mid))
		params["appid"] = "wx" + digits(16, "wechat-app", i64(mid))
	}
	if a := o.Extra[baoguan.ExtraAppID]; a != "" {
		params["appid"] = a
	}
	return baoguan.CollectCode{PSP: w.psp, ExpiresAt: r.Now.Add(WalletCodeTTL), Params: params}
}

// completeWallet is the payer acting on the sandbox wallet page: paid (by
// the sandbox wallet payer, or whom the tester typed), or given up.
func completeWallet(r baoguan.PayRequest, a baoguan.PayerAction) baoguan.PayResult {
	w := walletOf(r.Order)
	p := walletPayment(r, w)
	p.InitRequest = initRequest(r, p.PSP)
	if !a.Paid {
		p.FailReason, p.FailCode = PayerCancelledReason, w.cancelled
		p.InitResponse = marshal(virtualResponse{Result: "FAIL", TradeNo: p.No, PayStatus: string(baoguan.PayFailed), Message: PayerCancelledReason})
		return baoguan.PayResult{Status: baoguan.PayFailed, Payment: p}
	}
	return walletPaid(r, p, a)
}
