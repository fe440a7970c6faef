package baoguan

import (
	"strings"
	"time"
)

// PayFlow is how a payment mode moves money, which decides the adapter the
// core asks and how the payment ends. Every flow ends in the same place:
// the channel's PayResult is recorded on the order with its event and the
// declarations it queues.
type PayFlow int

const (
	// FlowAtOnce: PaymentChannel.Pay answers the outcome (mock, auto,
	// external, and micro: the payer's wallet code scanned by the
	// merchant). A channel that answers PAY_APPLIED for a micro payment
	// ("the payer is confirming it") is asked again by the pay job until
	// it answers an outcome or the payer's time runs out (MicroWindow).
	FlowAtOnce PayFlow = iota
	// FlowCard: PaymentChannel.Pay applies for the payment by a card
	// agreement and the bank sends the payer an SMS code (PAY_APPLIED);
	// CompletingChannel.Complete with the code pays (quick).
	FlowCard
	// FlowCollect: CollectChannel.Collect issues a code the payer pays on
	// their own device (PAY_APPLIED until paid); the outcome arrives by
	// CompletingChannel.Complete (the sandbox page) or the channel's
	// callback. qr and the wallet modes — native (a code_url or QR code),
	// jsapi, miniprogram and app (client parameters), wap and desk (pages
	// the payer is sent to) — are this flow, each a Channel and the code
	// kinds of CollectRequest.
	FlowCollect
)

// The wallet modes: how a payer pays with a wallet app (WalletWeChat,
// WalletAlipay), whichever protocol asked. The wallet is kept on the order
// (Order.Extra[ExtraWallet]); the sandbox channel answers every mode as
// docs/sandbox.md describes.
const (
	// ChannelMicro: the merchant scans the payer's payment code (WeChat
	// MICRO 付款码, Alipay 条码); the code is the request's auth code.
	ChannelMicro Channel = "micro"
	// ChannelNative: the payer scans a code the merchant shows (WeChat
	// NATIVE code_url, Alipay qrcode / QR page url).
	ChannelNative Channel = "native"
	// ChannelJSAPI: the payer pays in the wallet's own browser (WeChat
	// official account 公众号支付) with the client parameters issued.
	ChannelJSAPI Channel = "jsapi"
	// ChannelMiniProgram: the payer pays in a mini program.
	ChannelMiniProgram Channel = "miniprogram"
	// ChannelApp: the merchant's app hands the client parameters to the
	// wallet's SDK (WeChat app pay, Alipay prepay_string).
	ChannelApp Channel = "app"
	// ChannelWAP: the payer is sent to the wallet's mobile web page.
	ChannelWAP Channel = "wap"
	// ChannelDesk: the payer is sent to a cashier page (收银台) that
	// returns them to the merchant's page when done.
	ChannelDesk Channel = "desk"
)

// Channels lists every payment mode.
func Channels() []Channel {
	return []Channel{ChannelMock, ChannelAuto, ChannelExternal, ChannelQR, ChannelQuick,
		ChannelMicro, ChannelNative, ChannelJSAPI, ChannelMiniProgram, ChannelApp, ChannelWAP, ChannelDesk}
}

func channelList() string {
	names := make([]string, 0, 12)
	for _, c := range Channels() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// Flow says how a payment mode moves money. New modes are added to
// Channel's constants and here, and need no other special case.
func (c Channel) Flow() PayFlow {
	switch c {
	case ChannelQuick:
		return FlowCard
	case ChannelQR, ChannelNative, ChannelJSAPI, ChannelMiniProgram, ChannelApp, ChannelWAP, ChannelDesk:
		return FlowCollect
	}
	return FlowAtOnce
}

// Wallet reports whether c is a wallet mode: its order names the wallet
// (Order.Extra[ExtraWallet]) and, unpaid when its time is up, is closed
// (PAY_CANCELLED: the wallet's "expired" order), rather than left for a
// new code as payzero's QR codes are.
func (c Channel) Wallet() bool {
	switch c {
	case ChannelMicro, ChannelNative, ChannelJSAPI, ChannelMiniProgram, ChannelApp, ChannelWAP, ChannelDesk:
		return true
	}
	return false
}

// A micro payment the wallet answers "user paying" (the payer is asked to
// confirm in the wallet app) is asked about again every MicroPoll; one
// still unconfirmed MicroWindow after the order was created is closed
// unpaid (PAY_CANCELLED), as WeChat Pay and Alipay advise merchants to
// cancel a payment-code transaction the payer leaves unconfirmed.
const (
	MicroPoll   = 5 * time.Second
	MicroWindow = 2 * time.Minute
)

// Wallets a wallet-mode order is paid with.
const (
	WalletWeChat = "WECHATPAY"
	WalletAlipay = "ALIPAY"
)

// The payment companies of the wallets, as Payment.PSP names them: a
// customs route for a live merchant follows the wallet a payment was made
// with.
const (
	PSPWeChat = "WECHAT"
	PSPAlipay = "ALIPAY"
)

// CheckWallet validates a wallet name: EINVALID field wallet.
func CheckWallet(w string) error {
	if w == WalletWeChat || w == WalletAlipay {
		return nil
	}
	return &Error{Code: EINVALID, Field: "wallet", Reason: "bad_wallet", Message: "wallet must be " + WalletWeChat + " or " + WalletAlipay}
}

// Order.Extra keys of wallet-mode orders, read by the core and the
// channel: the wallet, and what the mode needs from the payer's side.
const (
	ExtraWallet   = "wallet"    // WalletWeChat or WalletAlipay
	ExtraAuthCode = "auth_code" // micro: the payer's payment code
	ExtraOpenID   = "openid"    // jsapi, miniprogram: the payer in the merchant's app
	ExtraAppID    = "appid"     // miniprogram, app: the merchant's app at the wallet
)
