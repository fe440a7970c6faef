package core

import (
	"context"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// Bank-card quick pay (payzero §5). A shopper's card is bound once by an
// agreement (apply, then confirm with an SMS code) and paid with later by
// its agreement number: each payment is applied for (PAY_APPLIED, an SMS
// code is sent) and confirmed with the code. An SMS code is good for
// PayzeroSMSTTL and for one try: a wrong or late code burns it, and only a
// new application (agreeApply again, or redoQuickpay for a payment) sends
// another, as payzero's 5.4 says.
//
// Sandbox rules (payzero's test environment, §5.1/5.2): bank code 999 with
// any card number, and any 6 characters as the SMS code. No SMS is sent.
// Live merchants need a live channel that signs agreements, which baoguan
// does not have yet.

// PayzeroSMSTTL is how long an SMS code can be used (payzero 5.5).
const PayzeroSMSTTL = 3 * time.Minute

// Reasons of quick-pay errors, which front-ends map to their codes.
const (
	ReasonSMSWrong   = "sms_wrong"   // the code is not the one sent
	ReasonSMSExpired = "sms_expired" // sent more than PayzeroSMSTTL ago
	ReasonSMSUsed    = "sms_used"    // burnt by a wrong try, or already used: apply again
)

// PayzeroAgreementInput is a quick-pay agreement application (5.1). CVV2 is
// passed on to the bank for the call and never stored.
type PayzeroAgreementInput struct {
	RequestID string
	AcctName  string
	AcctNo    string
	AcctType  string // "00" debit, "02" credit
	BankCode  string
	IDNo      string
	Mobile    string
	CVV2      string
	ValidDate string // yyMM, credit cards
}

// PayzeroAgreement is an agreement, applied for or confirmed. AcctNo and
// IDNo are personal data: kept sealed, shown masked.
type PayzeroAgreement struct {
	RequestID   string    `json:"request_id"`
	AgreeID     string    `json:"agree_id,omitempty"` // set once confirmed
	AcctName    string    `json:"acct_name"`
	AcctNo      string    `json:"acct_no"`
	AcctType    string    `json:"acct_type"`
	BankCode    string    `json:"bank_code"`
	IDNo        string    `json:"id_no"`
	Mobile      string    `json:"mobile"`
	ValidDate   string    `json:"valid_date,omitempty"`
	PSP         string    `json:"psp"`
	AppliedAt   time.Time `json:"applied_at"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	// SMSBurnt marks the application's SMS code as spent by a wrong or late
	// try; agreeApply again sends a new one.
	SMSBurnt bool `json:"sms_burnt,omitempty"`
}

// Confirmed reports whether the agreement can pay.
func (a *PayzeroAgreement) Confirmed() bool { return a.AgreeID != "" }

// BankName is the bank's name from appendix A.5.
func (a *PayzeroAgreement) BankName() string { return PayzeroBanks[a.BankCode] }

// smsChallenge is the SMS code sent for one payment of an order.
type smsChallenge struct {
	AgreeID  string    `json:"agree_id"`
	SentAt   time.Time `json:"sent_at"`
	Burnt    bool      `json:"burnt,omitempty"`
	UsedAt   time.Time `json:"used_at,omitzero"`
	Attempts int       `json:"attempts"`
}

func sandboxOnly(m *baoguan.Merchant) error {
	if m.Mode != baoguan.ModeSandbox {
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_quickpay_channel",
			Message: "本安装尚未接入可签约快捷支付协议的真实渠道，请使用沙箱商户"}
	}
	return nil
}

// smsCodeOK is the sandbox's SMS rule: any 6 characters, none of them space.
func smsCodeOK(code string) bool {
	return utf8.RuneCountInString(code) == 6 && strings.TrimSpace(code) == code && !strings.ContainsAny(code, " \t\r\n")
}

func (in *PayzeroAgreementInput) validate(m *baoguan.Merchant) error {
	if err := baoguan.CheckOrderNo("request_id", in.RequestID); err != nil {
		return err
	}
	in.AcctName = strings.TrimSpace(in.AcctName)
	if in.AcctName == "" || utf8.RuneCountInString(in.AcctName) > 60 {
		return baoguan.FieldError("acct_name", "acct_name (the card holder's name) is required, at most 60 characters")
	}
	no, err := checkCardNo("acct_no", in.AcctNo)
	if err != nil {
		return err
	}
	in.AcctNo = no
	if in.AcctType != "00" && in.AcctType != "02" {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "acct_type", Reason: "bad_acct_type", Message: `acct_type must be "00" (debit card) or "02" (credit card)`}
	}
	if _, ok := PayzeroBanks[in.BankCode]; !ok {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "bank_code", Reason: "bad_bank_code", Message: "bank_code " + in.BankCode + " is not a bank code of payzero appendix A.5"}
	}
	if m.Mode == baoguan.ModeSandbox && in.BankCode != PayzeroTestBank {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "bank_code", Reason: "sandbox_bank",
			Message: "沙箱环境请使用银行代码 999（网联测试专用银行）配合任意卡号"}
	}
	in.IDNo = strings.TrimSpace(in.IDNo)
	if err := baoguan.CheckIDFormat("id_no", baoguan.IDTypeIDCard, in.IDNo); err != nil {
		return err
	}
	if len(in.Mobile) != 11 || in.Mobile[0] != '1' || strings.Trim(in.Mobile, "0123456789") != "" {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "mobile", Reason: "bad_phone", Message: "mobile must be a mainland mobile number of 11 digits"}
	}
	if in.AcctType == "02" {
		if len(in.CVV2) != 3 || strings.Trim(in.CVV2, "0123456789") != "" {
			return &baoguan.Error{Code: baoguan.EINVALID, Field: "cvv2", Reason: "bad_cvv2", Message: "cvv2 (3 digits on the back of the card) is required for a credit card"}
		}
		if _, err := time.Parse("0601", in.ValidDate); err != nil || len(in.ValidDate) != 4 {
			return &baoguan.Error{Code: baoguan.EINVALID, Field: "valid_date", Reason: "bad_valid_date", Message: "valid_date (yyMM) is required for a credit card"}
		}
	}
	return nil
}

// PayzeroApplyAgreement applies for a quick-pay agreement (5.1): the bank
// sends the card holder an SMS code, to be confirmed with
// PayzeroConfirmAgreement under the same request id. Applying again with
// a request id not yet confirmed sends a new code.
// Errors: EINVALID naming the field (sandbox: bank code other than 999,
// reason sandbox_bank); ECONFLICT reason duplicate_request_id when the
// request id was already confirmed; ESTATE for live merchants.
func (s *Service) PayzeroApplyAgreement(ctx context.Context, m *baoguan.Merchant, in PayzeroAgreementInput) (*PayzeroAgreement, error) {
	if err := in.validate(m); err != nil {
		return nil, err
	}
	if err := sandboxOnly(m); err != nil {
		return nil, err
	}
	// The sandbox bank would get the CVV2 here; nothing keeps it.
	in.CVV2 = ""
	a := &PayzeroAgreement{RequestID: in.RequestID, AcctName: in.AcctName, AcctNo: in.AcctNo, AcctType: in.AcctType,
		BankCode: in.BankCode, IDNo: in.IDNo, Mobile: in.Mobile, ValidDate: in.ValidDate, PSP: s.pspFor(true, baoguan.ChannelQuick)}
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		var prev PayzeroAgreement
		found, err := getJSON(tx, payzeroKey("agreeapply", m.ID, in.RequestID), &prev)
		if err != nil {
			return err
		}
		if found && prev.Confirmed() {
			return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "request_id", Reason: "duplicate_request_id",
				Message: "请求流水号 " + in.RequestID + " 已完成签约，请使用新的请求流水号"}
		}
		a.AppliedAt = tx.Now()
		return putJSON(tx, payzeroKey("agreeapply", m.ID, in.RequestID), a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// pspFor asks the channel which payment company it uses.
func (s *Service) pspFor(sandbox bool, ch baoguan.Channel) string {
	if n, ok := s.adapters(sandbox).Channel.(pspNamer); ok {
		return n.PSPFor(ch)
	}
	return ""
}

// PayzeroConfirmAgreement confirms an agreement application with the SMS
// code (5.2) and returns the agreement with its number. Confirming again
// returns the same agreement.
// Errors: ENOTFOUND (no application with that request id); ESTATE reason
// sms_wrong, sms_expired or sms_used (apply again for a new code).
func (s *Service) PayzeroConfirmAgreement(ctx context.Context, m *baoguan.Merchant, requestID, code string) (*PayzeroAgreement, error) {
	if err := baoguan.CheckOrderNo("request_id", requestID); err != nil {
		return nil, err
	}
	if code == "" {
		return nil, baoguan.FieldError("sms_code", "sms_code is required")
	}
	var out *PayzeroAgreement
	var refusal error
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		key := payzeroKey("agreeapply", m.ID, requestID)
		var a PayzeroAgreement
		found, err := getJSON(tx, key, &a)
		if err != nil {
			return err
		}
		if !found {
			return &baoguan.Error{Code: baoguan.ENOTFOUND, Field: "request_id", Reason: "no_application",
				Message: "请求流水号 " + requestID + " 没有签约申请，请先调用 agreeApply"}
		}
		if a.Confirmed() {
			out = &a
			return nil
		}
		now := tx.Now()
		switch {
		case a.SMSBurnt:
			refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSUsed, Message: "请求异常：短信验证码已失效，请重新调用 agreeApply 获取"}
		case now.Sub(a.AppliedAt) > PayzeroSMSTTL:
			refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSExpired, Message: "短信验证码已过期（有效期3分钟），请重新调用 agreeApply 获取"}
		case !smsCodeOK(code):
			refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSWrong, Message: "短信验证码错误，请重新调用 agreeApply 获取新的验证码"}
		}
		if refusal != nil {
			// The code is spent either way; the refusal is answered, and
			// what it burnt is kept.
			a.SMSBurnt = true
			return putJSON(tx, key, a)
		}
		for {
			a.AgreeID = now.In(ChinaTime).Format("20060102150405") + randomDigits(4)
			var taken PayzeroAgreement
			found, err := getJSON(tx, payzeroKey("agreement", m.ID, a.AgreeID), &taken)
			if err != nil {
				return err
			}
			if !found {
				break
			}
		}
		a.ConfirmedAt = now
		if err := putJSON(tx, payzeroKey("agreement", m.ID, a.AgreeID), a); err != nil {
			return err
		}
		out = &a
		return putJSON(tx, key, a)
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	return out, nil
}

// PayzeroAgreementByID returns a confirmed agreement. ENOTFOUND (field
// agreeid).
func (s *Service) PayzeroAgreementByID(ctx context.Context, m *baoguan.Merchant, agreeID string) (*PayzeroAgreement, error) {
	var a *PayzeroAgreement
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		a, err = agreementTx(tx, m.ID, agreeID)
		return err
	})
	return a, err
}

func agreementTx(tx baoguan.Tx, merchantID int64, agreeID string) (*PayzeroAgreement, error) {
	var a PayzeroAgreement
	found := false
	if agreeID != "" && !strings.ContainsAny(agreeID, " .") {
		var err error
		if found, err = getJSON(tx, payzeroKey("agreement", merchantID, agreeID), &a); err != nil {
			return nil, err
		}
	}
	if !found {
		if agreeID == "" {
			return nil, baoguan.FieldError("agreeid", "agreeid is required")
		}
		return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Field: "agreeid", Reason: "no_agreement",
			Message: "快捷支付协议号 " + agreeID + " 不存在"}
	}
	return &a, nil
}

// PayzeroCreateQuickPay creates an order paid by the quick-pay agreement
// agreeID and applies for its payment (5.3): the order is PAY_APPLIED and
// an SMS code is sent, to be confirmed with PayzeroConfirmQuickPay.
// Repeating the same order returns it without sending another code while
// one is pending. Errors: those of CreateOrder; ENOTFOUND field agreeid.
func (s *Service) PayzeroCreateQuickPay(ctx context.Context, m *baoguan.Merchant, in OrderInput, agreeID string) (*baoguan.Order, error) {
	if _, err := s.PayzeroAgreementByID(ctx, m, agreeID); err != nil {
		return nil, err
	}
	in.Order.Channel = baoguan.ChannelQuick
	in.Order.Extra = maps.Clone(in.Order.Extra)
	if in.Order.Extra == nil {
		in.Order.Extra = map[string]string{}
	}
	in.Order.Extra[ExtraAgreeID] = agreeID
	in.Hold = true // applied for below, with its SMS challenge
	o, created, err := s.CreateOrder(ctx, m, in)
	if err != nil {
		return nil, err
	}
	if !created && o.PayStatus != baoguan.PayNotPayed {
		return o, nil
	}
	return s.applyQuick(ctx, m, o.MerchantOrderNo, agreeID)
}

// applyQuick applies for the order's payment and stores its SMS challenge
// in the same transaction as PAY_APPLIED.
func (s *Service) applyQuick(ctx context.Context, m *baoguan.Merchant, no, agreeID string) (*baoguan.Order, error) {
	o, _, err := s.applyNow(ctx, m, no, func(tx baoguan.Tx, o *baoguan.Order, r baoguan.PayResult) error {
		if o.Channel != baoguan.ChannelQuick || o.PayStatus != baoguan.PayApplied {
			return nil // paid or failed at once by the channel: no code to confirm
		}
		return putJSON(tx, payzeroKey("sms", m.ID, no), smsChallenge{AgreeID: agreeID, SentAt: tx.Now()})
	})
	return o, err
}

// PayzeroConfirmQuickPay confirms a quick-pay payment with its SMS code
// (5.4) and records the outcome. The payer the declarations compare with is
// the card holder of the agreement. A paid order is returned as it is.
// Errors: ENOTFOUND; EINVALID field agreeid (not the order's agreement);
// ESTATE reason not_quick, not_applied, sms_wrong, sms_expired or sms_used
// (redoQuickpay for a new code).
func (s *Service) PayzeroConfirmQuickPay(ctx context.Context, m *baoguan.Merchant, no, agreeID, code string) (*baoguan.Order, error) {
	if code == "" {
		return nil, baoguan.FieldError("sms_code", "sms_code is required")
	}
	var o *baoguan.Order
	var a *PayzeroAgreement
	var mm *baoguan.Merchant
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		if mm, err = tx.Merchant(m.ID); err != nil {
			return err
		}
		a, err = agreementTx(tx, m.ID, agreeID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if o.Channel != baoguan.ChannelQuick {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_quick", Message: "订单 " + no + " 不是快捷支付订单"}
	}
	if o.Paid() {
		return o, nil
	}
	if o.PayStatus != baoguan.PayApplied {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_applied",
			Message: "请求异常：订单 " + no + " 当前状态 " + string(o.PayStatus) + "，请调用 redoQuickpay 重新申请支付"}
	}
	if o.Extra[ExtraAgreeID] != agreeID {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "agreeid", Reason: "agreement_mismatch",
			Message: "协议号 " + agreeID + " 不是该订单申请支付时使用的协议号"}
	}
	// The challenge is checked and, when refused, burnt in one write, so two
	// confirmations racing cannot both try a code.
	var refusal error
	err = s.Store.Update(ctx, func(tx baoguan.Tx) error {
		key := payzeroKey("sms", m.ID, no)
		var c smsChallenge
		found, err := getJSON(tx, key, &c)
		if err != nil {
			return err
		}
		now := tx.Now()
		switch {
		case !found || c.Burnt || !c.UsedAt.IsZero() || c.AgreeID != agreeID:
			refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSUsed, Message: "请求异常：短信验证码已失效，请调用 redoQuickpay 重新获取"}
			return nil
		case now.Sub(c.SentAt) > PayzeroSMSTTL:
			refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSExpired, Message: "短信验证码已过期（有效期3分钟），请调用 redoQuickpay 重新获取"}
		case o.Sandbox && !smsCodeOK(code):
			refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSWrong, Message: "短信验证码错误，请调用 redoQuickpay 重新获取新的验证码"}
		}
		c.Attempts++
		if refusal != nil {
			c.Burnt = true
		}
		return putJSON(tx, key, c)
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	ch, ok := s.adapters(o.Sandbox).Channel.(CompletingChannel)
	if !ok {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_channel", Message: "the payment channel cannot confirm quick payments"}
	}
	r, err := ch.Complete(ctx, baoguan.PayRequest{Order: o, Merchant: mm, Attempt: 1, Now: s.Now()}, code)
	s.Metrics.ChannelCalls.WithLabelValues("complete").Inc()
	if err != nil {
		return nil, err
	}
	if r.Status == baoguan.PaySucceed {
		// Whoever holds the card paid; declarations compare with them.
		r.Payment.PayerName, r.Payment.PayerID = a.AcctName, a.IDNo
	}
	return s.completePayment(ctx, m, no, r, func(tx baoguan.Tx, o *baoguan.Order) error {
		key := payzeroKey("sms", m.ID, no)
		var c smsChallenge
		if _, err := getJSON(tx, key, &c); err != nil {
			return err
		}
		c.UsedAt = tx.Now()
		return putJSON(tx, key, c)
	})
}

// PayzeroRedoQuickPay applies for an order's payment again (5.5): after an
// SMS code expired or was refused, after a failed payment (a new payment
// round), or to pay with another agreement. A new SMS code is sent and the
// order is paid by quick pay from then on.
// Errors: ENOTFOUND (order, or field agreeid); ESTATE reason already_paid
// or not_payable.
func (s *Service) PayzeroRedoQuickPay(ctx context.Context, m *baoguan.Merchant, no, agreeID string) (*baoguan.Order, error) {
	if _, err := s.PayzeroAgreementByID(ctx, m, agreeID); err != nil {
		return nil, err
	}
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		o, err := tx.OrderByNo(m.ID, no)
		if err != nil {
			return err
		}
		if err := unpaidForSwitch(o); err != nil {
			return err
		}
		if err := newRound(o); err != nil {
			return err
		}
		o.Channel = baoguan.ChannelQuick
		o.Extra = maps.Clone(o.Extra)
		if o.Extra == nil {
			o.Extra = map[string]string{}
		}
		o.Extra[ExtraAgreeID] = agreeID
		return tx.UpdateOrder(o)
	})
	if err != nil {
		return nil, err
	}
	return s.applyQuick(ctx, m, no, agreeID)
}
