package wisecashier

import (
	"context"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Alipay online (§6) and offline (§7): the same wallet modes with Alipay's
// parameter names (out_order_no, subject) and order object (payment_no).

// alipayMode is one Alipay collect interface.
type alipayMode struct {
	channel baoguan.Channel
	trade   string // trade_type shown
	answer  string // the data member that carries the code: url, qrcode or prepay_string
}

var (
	modeAlipayScanned = alipayMode{baoguan.ChannelNative, "NATIVE", "url"}
	modeAlipayApp     = alipayMode{baoguan.ChannelApp, "APP", "prepay_string"}
	modeAlipayWAP     = alipayMode{baoguan.ChannelWAP, "WAP", "url"}
	modeAlipayQRCode  = alipayMode{baoguan.ChannelNative, "QRCODE", "qrcode"}
)

// aliOrder is the order object of §6.1–§6.5. The create answers name the
// merchant order number outer_order_no and the query out_order_no; both
// are given, with the same value.
type aliOrder struct {
	Status           string `json:"status"`
	TradeType        string `json:"trade_type"`
	PaymentNo        string `json:"payment_no"`
	Currency         string `json:"currency"`
	Amount           money  `json:"amount"`
	MerchantNo       string `json:"merchant_no"`
	OuterOrderNo     string `json:"outer_order_no"`
	OutOrderNo       string `json:"out_order_no"`
	TradeTime        string `json:"trade_time"`
	Subject          string `json:"subject"`
	ProductInfo      string `json:"product_info"`
	ExchangeRate     money  `json:"exchange_rate"`
	PayAmount        money  `json:"pay_amount"`
	PayCurrency      string `json:"pay_currency"`
	PayMethod        string `json:"pay_method"`
	Channel          string `json:"channel"`
	BuyerEmail       string `json:"buyer_email"`
	BuyerID          string `json:"buyer_id"`
	ChargeAmount     money  `json:"charge_amount"`
	RefundStatus     string `json:"refund_status"`
	RefundableAmount money  `json:"refundable_amount"`
}

func (s *Server) aliOrderOf(ctx context.Context, c *call, m *baoguan.Merchant, o *baoguan.Order, rs []baoguan.Refund) aliOrder {
	a := c.amounts(o)
	q := s.quote(ctx, m, o)
	channel := ""
	if o.Paid() {
		channel = "ALIPAYCN" // a mainland wallet paid, as §6.5 shows it
	}
	return aliOrder{Status: status(o), TradeType: tradeType(o), PaymentNo: orderNo(o), Currency: o.Currency, Amount: a.of(o.Amount),
		MerchantNo: m.No, OuterOrderNo: agentOrderID(o), OutOrderNo: agentOrderID(o), TradeTime: tradeTime(o), Subject: o.Subject,
		ProductInfo: o.Subject, ExchangeRate: a.rate(q.Rate), PayAmount: a.cny(q.CNY), PayCurrency: baoguan.CNY.Code,
		PayMethod: payMethod(o), Channel: channel, BuyerID: buyerID(o), ChargeAmount: a.of(0), RefundStatus: refundStatus(o),
		RefundableAmount: a.of(o.Refundable(rs))}
}

// buyerID is the payer's Alipay user id as the wallet reported it: the
// sandbox's is derived from the payer on record.
func buyerID(o *baoguan.Order) string {
	if !o.Paid() || o.Extra[baoguan.ExtraWallet] != baoguan.WalletAlipay {
		return ""
	}
	return "2088" + digitsOf(o.Payment.No, 12)
}

// digitsOf takes n digits from the end of s, for ids derived from a
// payment number.
func digitsOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// handleAlipayCollect serves §6.1 scanned_pay (url), §6.2 app_pay
// (prepay_string), §6.3 wap_pay (url, return_url) and §7.1 qrcode_pay
// (qrcode).
func (s *Server) handleAlipayCollect(mode alipayMode) handler {
	return func(ctx context.Context, c *call) (any, error) {
		m, in, err := s.orderInput(ctx, c, "out_order_no", "subject")
		if err != nil {
			return nil, err
		}
		if mode.channel == baoguan.ChannelWAP {
			if err := s.keepReturn(c, &in, nil); err != nil {
				return nil, err
			}
		}
		o, col, err := s.pay(ctx, c, m, in, core.WalletPayment{Mode: mode.channel, Wallet: baoguan.WalletAlipay}, mode.trade)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"order": s.aliOrderOf(ctx, c, m, o, nil)}
		switch mode.answer {
		case "prepay_string":
			if col == nil {
				return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable", Message: "order " + o.MerchantOrderNo + " is " + status(o)}
			}
			ps, err := s.prepayString(o, col, o.NotifyURL)
			if err != nil {
				return nil, err
			}
			out["prepay_string"] = ps
			if u := s.sandboxURL(c, o, col); u != "" {
				out["sandbox_url"] = u
			}
		default:
			out[mode.answer] = s.codeURL(c.r, col)
		}
		return out, nil
	}
}

// handleAlipayScanPay is §7.2 POST /alipay/scan_pay: the merchant scanned
// the payer's Alipay payment code.
func (s *Server) handleAlipayScanPay(ctx context.Context, c *call) (any, error) {
	m, in, err := s.orderInput(ctx, c, "out_order_no", "subject")
	if err != nil {
		return nil, err
	}
	o, _, err := s.pay(ctx, c, m, in, core.WalletPayment{Mode: baoguan.ChannelMicro, Wallet: baoguan.WalletAlipay, AuthCode: c.get("auth_code")}, "MICRO")
	if err != nil {
		return nil, err
	}
	return map[string]any{"order": s.aliOrderOf(ctx, c, m, o, nil)}, nil
}
