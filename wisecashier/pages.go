package wisecashier

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Cashier desks (§4.6, §4.7, §6.4) and the sandbox wallet page.
//
// A cashier desk is a GET a browser is sent to: it creates the order and
// sends the payer on (303) to the wallet's page — in the sandbox, the
// sandbox wallet page. A browser cannot add headers, so the four
// authentication values may come in the query instead (AgentNo,
// Signature, Version, Timestamp; they are not signed parameters). When the
// payer has paid (or given up) the page sends them back to return_url with
// the §4.6.3 parameters — tarde_type as the document spells it and
// trade_type too — and every extra parameter the desk was opened with.
//
// The sandbox wallet page stands in for the wallet app: every code_url,
// qrcode, url, prepay id and cashier desk of a sandbox order leads to it,
// and the tester pays (as the sandbox payer, or whom they type) or
// cancels. Its link carries an unguessable token naming one code; live
// orders are never shown.

// desk is one cashier desk.
type desk struct {
	trade        string // tarde_type shown on return
	wallet       string
	noParam      string // the merchant order number's parameter
	subjectParam string
}

var (
	deskPC     = desk{"PC_DESK", baoguan.WalletWeChat, "agent_order_id", "product_info"}
	deskMP     = desk{"MP_DESK", baoguan.WalletWeChat, "agent_order_id", "product_info"}
	deskAlipay = desk{"DESK", baoguan.WalletAlipay, "out_order_no", "subject"}
)

// deskParams are the parameters a desk defines; any other is passed back
// to return_url as it came.
var deskParams = map[string]bool{"merchant_no": true, "currency": true, "amount": true, "product_info": true, "subject": true,
	"return_url": true, "agent_order_id": true, "out_order_no": true, "notify_url": true}

// returnParams are the names the return adds; an extra parameter may not
// take one (§4.6.4).
var returnParams = map[string]bool{"no": true, "agent_order_id": true, "out_order_no": true, "merchant_no": true, "currency": true,
	"amount": true, "exchange_rate": true, "tarde_type": true, "trade_type": true, "product_info": true, "subject": true,
	"trade_time": true, "status": true}

// page wraps a page handler: authenticated like an API call, with the
// authentication values also accepted in the query; errors answer in the
// envelope.
func (s *Server) page(prefix string, h func(ctx context.Context, w http.ResponseWriter, c *call) error) http.Handler {
	return s.withBase(prefix, func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r.Context(), w, r, true)
		if err == nil {
			err = h(r.Context(), w, c)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

// keepReturn checks return_url (an absolute http or https URL) and keeps it
// on the order with the extra parameters to pass back.
func (s *Server) keepReturn(c *call, in *core.OrderInput, extras url.Values) error {
	ru := c.get("return_url")
	if ru == "" {
		if extras == nil { // WAP: optional
			return nil
		}
		return paramError("return_url", "return_url is required")
	}
	u, err := url.Parse(ru)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(ru) > 1024 {
		return paramError("return_url", "return_url must be an absolute http or https URL of at most 1024 characters")
	}
	in.Order.Extra[extraReturnURL] = ru
	if len(extras) > 0 {
		in.Order.Extra[extraReturnArgs] = extras.Encode()
	}
	return nil
}

// deskHandler opens a cashier desk.
func (s *Server) deskHandler(d desk) func(ctx context.Context, w http.ResponseWriter, c *call) error {
	return func(ctx context.Context, w http.ResponseWriter, c *call) error {
		extras := url.Values{}
		for k, v := range c.params {
			switch {
			case deskParams[k]:
			case returnParams[k]:
				return paramError(k, "extra parameter "+k+" takes the name of a parameter the return adds")
			default:
				extras.Set(k, v)
			}
		}
		m, in, err := s.orderInput(ctx, c, d.noParam, d.subjectParam)
		if err != nil {
			return err
		}
		if err := s.keepReturn(c, &in, extras); err != nil {
			return err
		}
		_, col, err := s.pay(ctx, c, m, in, core.WalletPayment{Mode: baoguan.ChannelDesk, Wallet: d.wallet}, d.trade)
		if err != nil {
			return err
		}
		if col == nil {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable", Message: "the order can no longer be paid"}
		}
		http.Redirect(w, c.r, s.codeURL(c.r, col), http.StatusSeeOther)
		return nil
	}
}

// returnURL is where the payer goes back to: return_url with the §4.6.3
// (or §6.4.3) parameters and the desk's extra parameters.
func (s *Server) returnURL(ctx context.Context, m *baoguan.Merchant, o *baoguan.Order) string {
	ru := o.Extra[extraReturnURL]
	if ru == "" {
		return ""
	}
	u, err := url.Parse(ru)
	if err != nil {
		return ""
	}
	q := u.Query()
	if extra, err := url.ParseQuery(o.Extra[extraReturnArgs]); err == nil {
		for k, v := range extra {
			q[k] = v
		}
	}
	cur, err := baoguan.LookupCurrency(o.Currency)
	if err != nil {
		cur = baoguan.CNY
	}
	rate := s.quote(ctx, m, o).Rate
	q.Set("no", orderNo(o))
	q.Set("merchant_no", m.No)
	q.Set("currency", o.Currency)
	q.Set("amount", baoguan.FormatAmount(cur, o.Amount))
	q.Set("exchange_rate", rate.String())
	q.Set("tarde_type", tradeType(o))
	q.Set("trade_type", tradeType(o))
	q.Set("trade_time", tradeTime(o))
	q.Set("status", status(o))
	if o.Extra[baoguan.ExtraWallet] == baoguan.WalletAlipay {
		q.Set("out_order_no", agentOrderID(o))
		q.Set("subject", o.Subject)
	} else {
		q.Set("agent_order_id", agentOrderID(o))
		q.Set("product_info", o.Subject)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// walletPageURL is the sandbox wallet page of a code.
func (s *Server) walletPageURL(r *http.Request, token string) string {
	return s.baseURL(r) + "/sandbox/wallet/" + token
}

var walletPage = template.Must(template.New("wallet").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>baoguan 沙箱钱包 {{.OrderNo}}</title>
<style>body{font-family:sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem}
dt{color:#666}dd{margin:0 0 .6rem 0}button{font-size:1.1rem;padding:.5rem 1.5rem;margin-right:1rem}
label{display:block;margin:.4rem 0}input{font-size:1rem;width:100%}.note{color:#a60}#result{font-weight:bold}</style></head><body>
<h1>沙箱钱包 · {{.Wallet}}</h1>
<p class="note">这是 baoguan 的沙箱页面，代替钱包 App：不会产生真实扣款。点击“支付”即以下面的付款人完成支付，点击“取消”表示付款人放弃支付。</p>
{{if .Message}}<p id="result">{{.Message}}</p>{{end}}
<dl>
<dt>商户</dt><dd id="merchant">{{.Merchant}}</dd>
<dt>订单号</dt><dd id="order-no">{{.OrderNo}}</dd>
<dt>商品</dt><dd>{{.Subject}}</dd>
<dt>金额</dt><dd id="amount">{{.Amount}} {{.Currency}}</dd>
{{if .CNY}}<dt>折合人民币</dt><dd id="cny">¥{{.CNY}}（汇率 {{.Rate}}）</dd>{{end}}
<dt>支付方式</dt><dd>{{.TradeType}}</dd>
<dt>订单状态</dt><dd id="status">{{.Status}}</dd>
<dt>支付期限</dt><dd>{{.Expires}}</dd>
</dl>
{{if .QR}}<p><img src="{{.QR}}" width="200" height="200" alt="二维码"></p>{{end}}
{{if .Payable}}<form method="post">
<label>付款人姓名 <input name="payer_name" value="{{.PayerName}}"></label>
<label>付款人身份证号 <input name="payer_id" value="{{.PayerID}}"></label>
<p><button id="pay" name="action" value="pay">支付</button><button id="cancel" name="action" value="cancel">取消</button></p>
</form>{{end}}
{{if .Return}}<p><a id="return" href="{{.Return}}">返回商户</a></p>{{end}}
</body></html>
`))

type walletView struct {
	Wallet, Merchant, OrderNo, Subject, Amount, Currency, CNY, Rate, TradeType, Status, Expires string
	QR, Message, PayerName, PayerID, Return                                                     string
	Payable                                                                                     bool
}

// The sandbox wallet's default payer, prefilled on the page (see
// docs/sandbox.md); the sandbox wallet pays as it when the fields are
// left empty.
const (
	pagePayerName = "Lisa"
	pagePayerID   = "510921199308772318"
)

// handleWalletPage serves GET /sandbox/wallet/{token} and its QR code
// ({token}.png).
func (s *Server) handleWalletPage(w http.ResponseWriter, r *http.Request) {
	token, png := strings.CutSuffix(r.PathValue("token"), ".png")
	if png {
		_, _, o, err := s.svc.CollectionByToken(r.Context(), token)
		if err != nil || !o.Sandbox {
			http.NotFound(w, r)
			return
		}
		img, err := qrcode.Encode(s.walletPageURL(r, token), qrcode.Medium, 256)
		if err != nil {
			s.log.Error("encoding QR code", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(img)
		return
	}
	s.renderWallet(w, r, token, "", http.StatusOK)
}

func (s *Server) renderWallet(w http.ResponseWriter, r *http.Request, token, msg string, code int) {
	col, m, o, err := s.svc.CollectionByToken(r.Context(), token)
	if err == nil && !o.Sandbox {
		err = &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "没有这个支付码"}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		failed := http.StatusNotFound
		switch baoguan.ErrorCode(err) {
		case baoguan.EINTERNAL:
			failed = http.StatusInternalServerError
			s.log.Error("sandbox wallet page", "err", err)
		case baoguan.ESTATE:
			failed = http.StatusGone
		}
		w.WriteHeader(failed)
		_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>baoguan</title><p>` + template.HTMLEscapeString(baoguan.ErrorMessage(err)) + `</p>`))
		return
	}
	cur, cerr := baoguan.LookupCurrency(o.Currency)
	if cerr != nil {
		cur = baoguan.CNY
	}
	now := s.svc.Now()
	v := walletView{Wallet: o.Extra[baoguan.ExtraWallet], Merchant: m.Name, OrderNo: orderNo(o), Subject: o.Subject,
		Amount: baoguan.FormatAmount(cur, o.Amount), Currency: o.Currency, TradeType: tradeType(o), Status: status(o),
		Expires: col.ExpiresAt.In(cst).Format(time.DateTime), Message: msg, PayerName: pagePayerName, PayerID: pagePayerID,
		Payable: col.Payable(o, now)}
	if o.Currency != baoguan.CNY.Code {
		q := s.quote(r.Context(), m, o)
		v.CNY, v.Rate = baoguan.FormatYuan(q.CNY), q.Rate.String()
	}
	if o.Channel == baoguan.ChannelNative {
		v.QR = token + ".png"
	}
	if !v.Payable && o.PayStatus != baoguan.PayApplied {
		v.Return = s.returnURL(r.Context(), m, o)
	}
	if col.Expired(now) && msg == "" && !o.Paid() {
		v.Message = "支付码已过期"
	}
	w.WriteHeader(code)
	if err := walletPage.Execute(w, v); err != nil {
		s.log.Warn("rendering the sandbox wallet page", "err", err)
	}
}

// handleWalletAction is the page's form: action=pay (as payer_name,
// payer_id) or action=cancel. A desk or WAP order then returns the payer
// to return_url.
func (s *Server) handleWalletAction(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	var a baoguan.PayerAction
	switch r.PostFormValue("action") {
	case "pay":
		a.Paid = true
		a.PayerName, a.PayerID = strings.TrimSpace(r.PostFormValue("payer_name")), strings.TrimSpace(r.PostFormValue("payer_id"))
	case "cancel":
	default:
		s.renderWallet(w, r, token, "请选择“支付”或“取消”", http.StatusBadRequest)
		return
	}
	o, err := s.svc.PayCollection(r.Context(), token, a)
	if err != nil {
		if baoguan.ErrorCode(err) == baoguan.EINTERNAL {
			s.log.Error("sandbox wallet payment", "err", err)
		}
		s.renderWallet(w, r, token, baoguan.ErrorMessage(err), http.StatusConflict)
		return
	}
	if o.Extra[extraReturnURL] != "" {
		if _, m, _, err := s.svc.CollectionByToken(r.Context(), token); err == nil {
			if ru := s.returnURL(r.Context(), m, o); ru != "" {
				http.Redirect(w, r, ru, http.StatusSeeOther)
				return
			}
		}
	}
	msg := "支付成功"
	if !o.Paid() {
		msg = "支付未完成：" + o.Payment.FailReason
	}
	s.renderWallet(w, r, token, msg, http.StatusOK)
}
