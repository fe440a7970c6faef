package wisecashier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Orders: the payment interfaces of §4–§7, the order object of §11.1, and
// how WiseCashier's numbers map onto baoguan's.
//
// An order's WiseCashier number (no, order_no, payment_no) is its creation
// time in China time and its baoguan id, 14 + 11 digits, so it needs no
// storage of its own and names exactly one order. agent_order_id (Alipay:
// out_order_no) is the merchant order number; an order created without one
// is given "wc" and 30 hex digits of the SHA-256 of the agent and the
// request's signature, so an exactly repeated request (a retry) finds the
// same order.

// cst is the zone the document writes times in.
var cst = core.ChinaTime

const timeLayout = "2006-01-02 15:04:05"

// orderNo is an order's WiseCashier number.
func orderNo(o *baoguan.Order) string {
	return o.CreatedAt.In(cst).Format("20060102150405") + fmt.Sprintf("%011d", o.ID)
}

// refundNo is a refund's WiseCashier number, made as orderNo.
func refundNo(r *baoguan.Refund) string {
	return r.CreatedAt.In(cst).Format("20060102150405") + fmt.Sprintf("%011d", r.ID)
}

// parseNo reads a WiseCashier number: the id it carries and the creation
// time it must match. ok is false for anything else (not found).
func parseNo(no string) (id int64, stamp string, ok bool) {
	if len(no) != 25 {
		return 0, "", false
	}
	for _, c := range no {
		if c < '0' || c > '9' {
			return 0, "", false
		}
	}
	id, err := strconv.ParseInt(no[14:], 10, 64)
	return id, no[:14], err == nil && id > 0
}

// generatedNo is the merchant order (or refund) number of a request that
// gave none: a retry of the same signed request finds the same object.
func generatedNo(prefix string, c *call) string {
	sum := sha256.Sum256([]byte(c.agent.No + "\x00" + c.r.Header.Get("Signature") + "\x00" + c.r.URL.Path))
	return prefix + hex.EncodeToString(sum[:15])
}

// tradeType names a mode as the document does.
func tradeType(o *baoguan.Order) string {
	if t := o.Extra[extraTradeType]; t != "" {
		return t
	}
	switch o.Channel {
	case baoguan.ChannelMicro:
		return "MICRO"
	case baoguan.ChannelNative:
		return "NATIVE"
	case baoguan.ChannelJSAPI:
		return "JSAPI"
	case baoguan.ChannelMiniProgram:
		return "MINIPROGRAM"
	case baoguan.ChannelApp:
		return "APP"
	case baoguan.ChannelWAP:
		return "WAP"
	case baoguan.ChannelDesk:
		return "DESK"
	}
	return strings.ToUpper(string(o.Channel))
}

// Order.Extra keys this front-end keeps: what the request named that
// baoguan has no field for, shown back in the order object.
const (
	extraTradeType  = "wisecashier.trade_type"
	extraIP         = "wisecashier.ip"
	extraProductID  = "wisecashier.product_id"
	extraDeviceInfo = "wisecashier.device_info"
	extraReturnURL  = "wisecashier.return_url"
	extraReturnArgs = "wisecashier.return_args" // extra cashier parameters, URL-encoded
)

// status is the document's order status: INIT waiting for payment, PAID,
// FAIL, and EXPIRED for an order baoguan closed unpaid (PAY_CANCELLED).
func status(o *baoguan.Order) string {
	switch o.PayStatus {
	case baoguan.PaySucceed:
		return "PAID"
	case baoguan.PayFailed:
		return "FAIL"
	case baoguan.PayCancelled:
		return "EXPIRED"
	}
	return "INIT"
}

// money is an amount shown as the version asks: a decimal string (1.0) or
// a JSON number (2.0), exactly, without float.
type money struct {
	text   string
	number bool
}

func (m money) MarshalJSON() ([]byte, error) {
	if m.text == "" {
		return []byte(`""`), nil
	}
	if m.number {
		t := m.text
		if strings.Contains(t, ".") {
			t = strings.TrimRight(strings.TrimRight(t, "0"), ".")
		}
		return []byte(t), nil
	}
	return json.Marshal(m.text)
}

// amounts shows amounts of one order in its currency, and CNY amounts and
// rates, for one version.
type amounts struct {
	cur    baoguan.Currency
	number bool
}

func (c *call) amounts(o *baoguan.Order) amounts {
	cur, err := baoguan.LookupCurrency(o.Currency)
	if err != nil {
		cur = baoguan.CNY
	}
	return amounts{cur: cur, number: c.version == V2}
}

func (a amounts) of(minor int64) money {
	return money{text: baoguan.FormatAmount(a.cur, minor), number: a.number}
}
func (a amounts) cny(fen int64) money { return money{text: baoguan.FormatYuan(fen), number: a.number} }
func (a amounts) rate(r baoguan.Rate) money {
	return money{text: r.String(), number: a.number}
}

// orderInput translates the parameters every payment interface shares.
// names are the interface's parameter names for the merchant order number
// and the product (agent_order_id/product_info, or out_order_no/subject).
func (s *Server) orderInput(ctx context.Context, c *call, noParam, subjectParam string) (*baoguan.Merchant, core.OrderInput, error) {
	var in core.OrderInput
	m, err := s.svc.AgentMerchant(ctx, c.agent, c.get("merchant_no"))
	if err != nil {
		return nil, in, err
	}
	code := strings.ToUpper(c.get("currency"))
	if code == "" {
		code = baoguan.CNY.Code
	}
	cur, err := baoguan.LookupCurrency(code)
	if err != nil {
		return nil, in, err
	}
	if !c.has("amount") || c.get("amount") == "" {
		return nil, in, paramError("amount", "amount is required")
	}
	amount, err := baoguan.ParseAmount("amount", cur, c.get("amount"))
	if err != nil {
		return nil, in, err
	}
	if amount <= 0 {
		return nil, in, paramError("amount", "amount must be above zero")
	}
	o := &in.Order
	o.Amount, o.Currency, o.Protocol = amount, cur.Code, Protocol
	o.Subject = c.get(subjectParam)
	if o.Subject == "" && subjectParam == "subject" {
		o.Subject = c.get("product_info")
	}
	if o.Subject == "" {
		o.Subject = m.Name // the document's JSAPI example sends no product
	}
	o.NotifyURL = c.get("notify_url")
	o.Extra = map[string]string{}
	o.MerchantOrderNo = c.get(noParam)
	if o.MerchantOrderNo == "" {
		o.MerchantOrderNo = generatedNo("wc", c)
	}
	for k, p := range map[string]string{extraIP: "ip", extraProductID: "product_id", extraDeviceInfo: "device_info"} {
		if v := c.get(p); v != "" {
			o.Extra[k] = v
		}
	}
	return m, in, nil
}

// pay creates and pays an order in a wallet mode and answers its order
// object (and its code, if any) as the version shows it. A wallet's refusal
// of a micro payment is 555 with its message and code.
func (s *Server) pay(ctx context.Context, c *call, m *baoguan.Merchant, in core.OrderInput, w core.WalletPayment, trade string) (*baoguan.Order, *baoguan.Collection, error) {
	if trade != "" {
		in.Order.Extra[extraTradeType] = trade
	}
	o, col, err := s.svc.PayInWallet(ctx, m, in, w)
	if err != nil {
		return nil, nil, err
	}
	if w.Mode == baoguan.ChannelMicro && o.PayStatus == baoguan.PayFailed && o.Payment.FailCode != "" {
		return nil, nil, walletError(o.Payment.FailReason, o.Payment.FailCode)
	}
	return o, col, nil
}

// wxOrder is the order object of §11.1 and §4's examples (WeChat Pay).
type wxOrder struct {
	AgentOrderID     string `json:"agent_order_id"`
	Amount           money  `json:"amount"`
	Currency         string `json:"currency"`
	ExchangeRate     money  `json:"exchange_rate"`
	IP               string `json:"ip"`
	MerchantNo       string `json:"merchant_no"`
	No               string `json:"no"`
	ProductInfo      string `json:"product_info"`
	ProductID        string `json:"product_id"`
	DeviceInfo       string `json:"device_info"`
	OpenID           string `json:"openid"`
	PayAmount        money  `json:"pay_amount"`
	PayCurrency      string `json:"pay_currency"`
	Status           string `json:"status"`
	SettleRate       money  `json:"settle_rate"`
	TradeType        string `json:"trade_type"`
	TradeTime        string `json:"trade_time"`
	PayMethod        string `json:"pay_method"`
	RefundStatus     string `json:"refund_status"`
	RefundableAmount money  `json:"refundable_amount"`
}

// quote is what an order's amounts are in CNY: as recorded once paid, at
// the rate source's rate before.
func (s *Server) quote(ctx context.Context, m *baoguan.Merchant, o *baoguan.Order) core.Quote {
	q, err := s.svc.QuoteOrder(ctx, m, o)
	if err != nil {
		s.log.Warn("wisecashier quoting an order", "order", o.MerchantOrderNo, "err", err)
	}
	return q
}

// refundStatus is §11.1's NONE, PART or FULL.
func refundStatus(o *baoguan.Order) string {
	switch {
	case o.Refunded <= 0:
		return "NONE"
	case o.Refunded >= o.Amount:
		return "FULL"
	}
	return "PART"
}

func payMethod(o *baoguan.Order) string {
	if w := o.Extra[baoguan.ExtraWallet]; w != "" {
		return w
	}
	return string(o.Channel)
}

func tradeTime(o *baoguan.Order) string { return o.OrderedAt.In(cst).Format(timeLayout) }

// agentOrderID is the merchant order number as shown, also when baoguan
// generated it (wc…): it names the order in queries like any other.
func agentOrderID(o *baoguan.Order) string { return o.MerchantOrderNo }

func (s *Server) wxOrderOf(ctx context.Context, c *call, m *baoguan.Merchant, o *baoguan.Order, rs []baoguan.Refund) wxOrder {
	a := c.amounts(o)
	q := s.quote(ctx, m, o)
	return wxOrder{AgentOrderID: agentOrderID(o), Amount: a.of(o.Amount), Currency: o.Currency, ExchangeRate: a.rate(q.Rate),
		IP: o.Extra[extraIP], MerchantNo: m.No, No: orderNo(o), ProductInfo: o.Subject, ProductID: o.Extra[extraProductID],
		DeviceInfo: o.Extra[extraDeviceInfo], OpenID: o.Extra[baoguan.ExtraOpenID], PayAmount: a.cny(q.CNY), PayCurrency: baoguan.CNY.Code,
		Status: status(o), SettleRate: a.rate(q.SettleRate), TradeType: tradeType(o), TradeTime: tradeTime(o), PayMethod: payMethod(o),
		RefundStatus: refundStatus(o), RefundableAmount: a.of(o.Refundable(rs))}
}

// handleScanPay is §4.2 POST /order/scan_pay (and §5.1, the HK wallet):
// the merchant scanned the payer's code; the answer carries the outcome.
func (s *Server) handleScanPay(ctx context.Context, c *call) (any, error) {
	m, in, err := s.orderInput(ctx, c, "agent_order_id", "product_info")
	if err != nil {
		return nil, err
	}
	o, _, err := s.pay(ctx, c, m, in, core.WalletPayment{Mode: baoguan.ChannelMicro, Wallet: baoguan.WalletWeChat, AuthCode: c.get("auth_code")}, "MICRO")
	if err != nil {
		return nil, err
	}
	return map[string]any{"order": s.wxOrderOf(ctx, c, m, o, nil)}, nil
}

// handleScannedPay is §4.3 POST /order/scanned_pay: a NATIVE code_url,
// which in the sandbox opens the sandbox wallet page.
func (s *Server) handleScannedPay(ctx context.Context, c *call) (any, error) {
	m, in, err := s.orderInput(ctx, c, "agent_order_id", "product_info")
	if err != nil {
		return nil, err
	}
	o, col, err := s.pay(ctx, c, m, in, core.WalletPayment{Mode: baoguan.ChannelNative, Wallet: baoguan.WalletWeChat}, "NATIVE")
	if err != nil {
		return nil, err
	}
	return struct {
		CodeURL string  `json:"code_url"`
		Order   wxOrder `json:"order"`
	}{s.codeURL(c.r, col), s.wxOrderOf(ctx, c, m, o, nil)}, nil
}

// codeURL is the link a code leads to: the wallet's own for a live code,
// the sandbox wallet page for a sandbox one.
func (s *Server) codeURL(r *http.Request, col *baoguan.Collection) string {
	if col == nil {
		return ""
	}
	if col.URL != "" {
		return col.URL
	}
	return s.walletPageURL(r, col.Token)
}

// handleMPPay is §4.1 POST /mp_pay: JSAPI in an official account's page;
// the answer is js_param for WeixinJSBridge getBrandWCPayRequest, signed.
func (s *Server) handleMPPay(ctx context.Context, c *call) (any, error) {
	m, in, err := s.orderInput(ctx, c, "agent_order_id", "product_info")
	if err != nil {
		return nil, err
	}
	o, col, err := s.pay(ctx, c, m, in, core.WalletPayment{Mode: baoguan.ChannelJSAPI, Wallet: baoguan.WalletWeChat, OpenID: c.get("openid")}, "JSAPI")
	if err != nil {
		return nil, err
	}
	js, err := s.clientParams(col)
	if err != nil {
		return nil, err
	}
	return struct {
		JSParam    jsParam `json:"js_param"`
		OrderNo    string  `json:"order_no"`
		Order      wxOrder `json:"order"`
		SandboxURL string  `json:"sandbox_url,omitempty"`
	}{js, orderNo(o), s.wxOrderOf(ctx, c, m, o, nil), s.sandboxURL(c, o, col)}, nil
}

// sandboxURL is, for a sandbox order, the sandbox wallet page a tester
// completes a JSAPI, mini-program or app payment on (no wallet app can).
func (s *Server) sandboxURL(c *call, o *baoguan.Order, col *baoguan.Collection) string {
	if !o.Sandbox || col == nil {
		return ""
	}
	return s.walletPageURL(c.r, col.Token)
}

// handleMiniProgramPay is §4.4 POST /mini_program_pay: the parameters of
// wx.requestPayment, signed.
func (s *Server) handleMiniProgramPay(ctx context.Context, c *call) (any, error) {
	m, in, err := s.orderInput(ctx, c, "agent_order_id", "product_info")
	if err != nil {
		return nil, err
	}
	o, col, err := s.pay(ctx, c, m, in, core.WalletPayment{Mode: baoguan.ChannelMiniProgram, Wallet: baoguan.WalletWeChat,
		OpenID: c.get("openid"), AppID: c.get("appid")}, "MINIPROGRAM")
	if err != nil {
		return nil, err
	}
	js, err := s.clientParams(col)
	if err != nil {
		return nil, err
	}
	return struct {
		TimeStamp  string `json:"timeStamp"`
		PrepayID   string `json:"prepay_id"`
		NonceStr   string `json:"nonceStr"`
		Package    string `json:"package"`
		SignType   string `json:"signType"`
		PaySign    string `json:"paySign"`
		AppID      string `json:"appId"`
		OrderNo    string `json:"order_no"`
		SandboxURL string `json:"sandbox_url,omitempty"`
	}{js.TimeStamp, col.Params["prepay_id"], js.NonceStr, js.Package, js.SignType, js.PaySign, js.AppID, orderNo(o), s.sandboxURL(c, o, col)}, nil
}

// handleAppPay is §4.5 POST /order/app_pay: the parameters of the WeChat
// SDK's PayReq, signed.
func (s *Server) handleAppPay(ctx context.Context, c *call) (any, error) {
	m, in, err := s.orderInput(ctx, c, "agent_order_id", "product_info")
	if err != nil {
		return nil, err
	}
	o, col, err := s.pay(ctx, c, m, in, core.WalletPayment{Mode: baoguan.ChannelApp, Wallet: baoguan.WalletWeChat, AppID: c.get("appid")}, "APP")
	if err != nil {
		return nil, err
	}
	p, err := s.appParams(col)
	if err != nil {
		return nil, err
	}
	p.OrderNo, p.SandboxURL = orderNo(o), s.sandboxURL(c, o, col)
	return p, nil
}

// handleOpenID is §4.4 GET /wx_openid: the payer's openid for a wx.login
// code. WeChat's jscode2session needs the mini program's secret, which
// baoguan does not hold; the sandbox answers a stable openid derived from
// the merchant and the code, so a test can carry on to mini_program_pay.
func (s *Server) handleOpenID(ctx context.Context, c *call) (any, error) {
	m, err := s.svc.AgentMerchant(ctx, c.agent, c.get("merchant_no"))
	if err != nil {
		return nil, err
	}
	code := c.get("code")
	if code == "" {
		return nil, paramError("code", "code is required: the login code wx.login() returned")
	}
	if m.Mode != baoguan.ModeSandbox {
		return nil, toWire(&baoguan.Error{Code: baoguan.ESTATE, Reason: "no_channel", Message: "openid lookup needs the mini program's credentials, which baoguan does not hold for live merchants"})
	}
	sum := sha256.Sum256([]byte(m.No + "\x00" + code))
	return map[string]string{"openid": "o" + strings.TrimRight(b64url(sum[:21]), "=")}, nil
}
