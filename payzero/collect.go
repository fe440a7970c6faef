package payzero

import (
	"net/http"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Collection by QR code (§4), bank-card quick pay (§5) and virtual payment
// (§6): the order is created and its payment applied for in the request,
// so the answer carries the code, the SMS prompt or the outcome.

type qrResp struct {
	MchtOrderNo string  `json:"mchtOrderNo"`
	PSP         *string `json:"psp"`
	CodeURL     string  `json:"codeUrl"`
	QRCodeType  string  `json:"qrCodeType"`
}

// codeURL is where a code points: the channel's own URL, or, when the
// gateway hosts the code's page (the sandbox), that page.
func (s *Server) codeURL(r *http.Request, c *baoguan.Collection) string {
	if c.URL != "" {
		return c.URL
	}
	return s.pageURL(r, c.Token)
}

// pageURL is the sandbox page of a code's token.
func (s *Server) pageURL(r *http.Request, token string) string {
	return s.baseURL(r) + "/sandbox/qr/" + token
}

// baseURL is the front-end's public base URL: Options.PublicURL, else the
// request's scheme, host and prefix.
func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return trimSlash(s.publicURL)
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	prefix, _ := r.Context().Value(keyBase).(string)
	return scheme + "://" + r.Host + prefix
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// handleCreateQR is 4.1.
func (s *Server) handleCreateQR(w http.ResponseWriter, r *http.Request) {
	var req orderReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := req.input()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.QRCodeType == "" {
		s.fail(w, r, baoguan.FieldError("qr_code_type", "qrCodeType is required: WECHATPAY, ALIPAY or UNIONPAY"))
		return
	}
	o, qr, err := s.svc.Collect(r.Context(), merchantOf(r), in, string(req.QRCodeType))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, qrResp{MchtOrderNo: o.MerchantOrderNo, PSP: opt(qr.PSP), CodeURL: s.codeURL(r, qr), QRCodeType: qr.Kind})
}

// handleRefreshQR is 4.2.
func (s *Server) handleRefreshQR(w http.ResponseWriter, r *http.Request) {
	no, err := queryParam(r, "mchtOrderNo")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	typ, err := queryParam(r, "qrCodeType")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, qr, err := s.svc.Recollect(r.Context(), merchantOf(r), no, typ)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, qrResp{MchtOrderNo: o.MerchantOrderNo, PSP: opt(qr.PSP), CodeURL: s.codeURL(r, qr), QRCodeType: qr.Kind})
}

// agreementResp is the answer of 5.1 and 5.2. The card number is shown
// masked and cvv2 is always null: baoguan never keeps a CVV2.
type agreementResp struct {
	RequestID string  `json:"requestId"`
	AcctType  string  `json:"accttype"`
	AcctNo    string  `json:"acctno"`
	IDNo      string  `json:"idno"`
	AcctName  string  `json:"acctname"`
	Mobile    string  `json:"mobile"`
	ValidDate *string `json:"validdate"`
	CVV2      *string `json:"cvv2"`
	BankCode  string  `json:"bankcode"`
	BankName  string  `json:"bankname"`
	AgreeID   *string `json:"agreeid"`
	PSP       *string `json:"psp"`
	Message   string  `json:"message"`
}

func agreementOut(a *baoguan.CardAgreement, msg string) agreementResp {
	return agreementResp{RequestID: a.RequestID, AcctType: a.AcctType, AcctNo: baoguan.MaskCard(a.AcctNo), IDNo: a.IDNo,
		AcctName: a.AcctName, Mobile: a.Mobile, ValidDate: opt(a.ValidDate), BankCode: a.BankCode, BankName: a.BankName(),
		AgreeID: opt(a.AgreeID), PSP: opt(a.PSP), Message: msg}
}

type agreeApplyReq struct {
	RequestID jstr `json:"requestId"`
	AcctName  jstr `json:"acctname"`
	AcctNo    jstr `json:"acctno"`
	AcctType  jstr `json:"accttype"`
	BankCode  jstr `json:"bankcode"`
	IDNo      jstr `json:"idno"`
	Mobile    jstr `json:"mobile"`
	CVV2      jstr `json:"cvv2"`
	ValidDate jstr `json:"validdate"`
}

// handleAgreeApply is 5.1.
func (s *Server) handleAgreeApply(w http.ResponseWriter, r *http.Request) {
	var req agreeApplyReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.svc.BindCard(r.Context(), merchantOf(r), core.CardBindInput{
		RequestID: string(req.RequestID), AcctName: string(req.AcctName), AcctNo: string(req.AcctNo), AcctType: string(req.AcctType),
		BankCode: string(req.BankCode), IDNo: string(req.IDNo), Mobile: string(req.Mobile), CVV2: string(req.CVV2), ValidDate: string(req.ValidDate)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, agreementOut(a, "请输入短信验证码"))
}

type agreeConfirmReq struct {
	RequestID jstr `json:"requestId"`
	SMSCode   jstr `json:"smsCode"`
}

// handleAgreeConfirm is 5.2.
func (s *Server) handleAgreeConfirm(w http.ResponseWriter, r *http.Request) {
	var req agreeConfirmReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.svc.ConfirmCard(r.Context(), merchantOf(r), string(req.RequestID), string(req.SMSCode))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, agreementOut(a, "协议支付-账户认证成功"))
}

// quickResp is the answer of 5.3, 5.4 and 5.5.
type quickResp struct {
	MchtOrderNo string  `json:"mchtOrderNo"`
	PSP         *string `json:"psp"`
	AgreeID     string  `json:"agreeid"`
	PayStatus   string  `json:"payStatus"`
	Message     *string `json:"message"`
}

func quickOut(o *baoguan.Order) quickResp {
	return quickResp{MchtOrderNo: o.MerchantOrderNo, PSP: opt(o.Payment.PSP), AgreeID: o.Extra[core.ExtraAgreeID],
		PayStatus: string(o.PayStatus), Message: opt(payMessage(o))}
}

// payMessage is the message of a payment answer: the SMS prompt while one
// is awaited, the failure reason, or nothing.
func payMessage(o *baoguan.Order) string {
	switch o.PayStatus {
	case baoguan.PayApplied:
		if o.Channel == baoguan.ChannelQuick {
			return "请输入短信验证码"
		}
	case baoguan.PayFailed, baoguan.PayCancelled:
		return o.Payment.FailReason
	case baoguan.PayNotPayed:
		return "支付处理中，请稍后查询"
	}
	return ""
}

// handleCreateQuickpay is 5.3.
func (s *Server) handleCreateQuickpay(w http.ResponseWriter, r *http.Request) {
	var req orderReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := req.input()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.svc.ApplyQuickPay(r.Context(), merchantOf(r), in, string(req.AgreeID))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, quickOut(o))
}

type confirmQuickReq struct {
	MchtOrderNo jstr `json:"mchtOrderNo"`
	AgreeID     jstr `json:"agreeid"`
	SMSCode     jstr `json:"smsCode"`
}

// handleConfirmQuickpay is 5.4.
func (s *Server) handleConfirmQuickpay(w http.ResponseWriter, r *http.Request) {
	var req confirmQuickReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := baoguan.CheckOrderNo("merchant_order_no", string(req.MchtOrderNo)); err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.svc.ConfirmQuickPay(r.Context(), merchantOf(r), string(req.MchtOrderNo), string(req.AgreeID), string(req.SMSCode))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, quickOut(o))
}

type redoQuickReq struct {
	MchtOrderNo jstr `json:"mchtOrderNo"`
	AgreeID     jstr `json:"agreeid"`
}

// handleRedoQuickpay is 5.5.
func (s *Server) handleRedoQuickpay(w http.ResponseWriter, r *http.Request) {
	var req redoQuickReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := baoguan.CheckOrderNo("merchant_order_no", string(req.MchtOrderNo)); err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.svc.ReapplyQuickPay(r.Context(), merchantOf(r), string(req.MchtOrderNo), string(req.AgreeID))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, quickOut(o))
}

// mockResp is the answer of 6.1 and 6.2.
type mockResp struct {
	MchtOrderNo string  `json:"mchtOrderNo"`
	PSP         *string `json:"psp"`
	PayStatus   string  `json:"payStatus"`
	Message     *string `json:"message"`
}

// handleCreateMockpay is 6.1.
func (s *Server) handleCreateMockpay(w http.ResponseWriter, r *http.Request) {
	var req orderReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := req.input()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in.Order.Channel = baoguan.ChannelMock // virtual payment
	o, _, err := s.svc.CreateAndPayNow(r.Context(), merchantOf(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, mockResp{MchtOrderNo: o.MerchantOrderNo, PSP: opt(o.Payment.PSP), PayStatus: string(o.PayStatus), Message: opt(payMessage(o))})
}

type orderNoReq struct {
	MchtOrderNo jstr `json:"mchtOrderNo"`
}

// handleRedoMockpay is 6.2.
func (s *Server) handleRedoMockpay(w http.ResponseWriter, r *http.Request) {
	var req orderNoReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := baoguan.CheckOrderNo("merchant_order_no", string(req.MchtOrderNo)); err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.svc.RepayNow(r.Context(), merchantOf(r), string(req.MchtOrderNo), baoguan.ChannelMock)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, mockResp{MchtOrderNo: o.MerchantOrderNo, PSP: opt(o.Payment.PSP), PayStatus: string(o.PayStatus), Message: opt(payMessage(o))})
}
