package core

import (
	"context"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// Card payments (quick pay, payzero §5). A payer's card is bound once by an
// agreement (BindCard, then ConfirmCard with an SMS code) and paid with
// later by its agreement number: each payment is applied for (PAY_APPLIED,
// the bank sends an SMS code) and confirmed with the code. The gateway's
// rules are the SMS challenge's: a code is good for SMSCodeTTL and for one
// try; a wrong or late code burns it, and only a new application (BindCard
// again, or ReapplyQuickPay for a payment) sends another. What a bank
// accepts (which banks, which codes) is the card channel's: the sandbox's
// rules are in package sandbox.

// SMSCodeTTL is how long an SMS code can be used (payzero 5.5).
const SMSCodeTTL = 3 * time.Minute

// Reasons of SMS code refusals, which front-ends map to their codes.
const (
	ReasonSMSWrong   = "sms_wrong"   // the bank refused the code
	ReasonSMSExpired = "sms_expired" // sent more than SMSCodeTTL ago
	ReasonSMSUsed    = "sms_used"    // burnt by a wrong try, or already used: apply again
)

// CardBindInput is an application for a quick-pay agreement (5.1). CVV2 is
// passed on to the bank for the call and never stored.
type CardBindInput struct {
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

func (in *CardBindInput) validate() error {
	if err := baoguan.CheckOrderNo("request_id", in.RequestID); err != nil {
		return err
	}
	in.AcctName = strings.TrimSpace(in.AcctName)
	if in.AcctName == "" || utf8.RuneCountInString(in.AcctName) > 60 {
		return baoguan.FieldError("acct_name", "acct_name (the card holder's name) is required, at most 60 characters")
	}
	no, err := baoguan.CheckCardNo("acct_no", in.AcctNo)
	if err != nil {
		return err
	}
	in.AcctNo = no
	if in.AcctType != "00" && in.AcctType != "02" {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "acct_type", Reason: "bad_acct_type", Message: `acct_type must be "00" (debit card) or "02" (credit card)`}
	}
	if _, ok := baoguan.BankCodes[in.BankCode]; !ok {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "bank_code", Reason: "bad_bank_code", Message: "bank_code " + in.BankCode + " is not a known bank code (payzero appendix A.5)"}
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

// cardChannel is the card channel of the merchant's mode, or ESTATE reason
// no_quickpay_channel when there is none (live: no live bank yet).
func (s *Service) cardChannel(m *baoguan.Merchant) (baoguan.CardChannel, error) {
	if ch := s.merchantAdapters(m).Cards; ch != nil {
		return ch, nil
	}
	return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_quickpay_channel",
		Message: "本安装尚未接入可签约快捷支付协议的真实渠道，请使用沙箱商户"}
}

// BindCard applies for a quick-pay agreement (5.1): the card channel has
// the bank send the card holder an SMS code, to be confirmed with
// ConfirmCard under the same request id. Applying again with a request id
// not yet confirmed sends a new code. Errors: EINVALID naming the field
// (and the channel's refusals: the sandbox takes bank 999 only, reason
// sandbox_bank); ECONFLICT reason duplicate_request_id when the request id
// was already confirmed; ESTATE reason no_quickpay_channel; ERATELIMIT
// reason too_many_sms (Limits.SMS).
func (s *Service) BindCard(ctx context.Context, m *baoguan.Merchant, in CardBindInput) (*baoguan.CardAgreement, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	ch, err := s.cardChannel(m)
	if err != nil {
		return nil, err
	}
	if err := s.allowSMS(ctx, m); err != nil {
		return nil, err
	}
	confirmed := func(tx baoguan.Tx) error {
		prev, err := tx.CardAgreementByRequest(m.ID, in.RequestID)
		if err == nil && prev.Confirmed() {
			return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "request_id", Reason: "duplicate_request_id",
				Message: "请求流水号 " + in.RequestID + " 已完成签约，请使用新的请求流水号"}
		}
		if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
			return nil
		}
		return err
	}
	if err := s.view(ctx, confirmed); err != nil {
		return nil, err
	}
	a := &baoguan.CardAgreement{MerchantID: m.ID, RequestID: in.RequestID, AcctName: in.AcctName, AcctNo: in.AcctNo,
		AcctType: in.AcctType, BankCode: in.BankCode, IDNo: in.IDNo, Mobile: in.Mobile, ValidDate: in.ValidDate}
	psp, err := ch.ApplyAgreement(ctx, baoguan.AgreementRequest{Merchant: m, Agreement: a, CVV2: in.CVV2, Now: s.Now()})
	s.Metrics.ChannelCalls.WithLabelValues("apply_agreement").Inc()
	if err != nil {
		return nil, err
	}
	a.PSP = psp
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		if err := confirmed(tx); err != nil {
			return err
		}
		a.AppliedAt = tx.Now()
		if err := tx.PutCardAgreement(a); err != nil {
			return err
		}
		return tx.PutSMSChallenge(&baoguan.SMSChallenge{MerchantID: m.ID, Purpose: baoguan.SMSBindCard, Ref: in.RequestID, SentAt: a.AppliedAt})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ConfirmCard confirms an agreement application with the SMS code (5.2)
// and returns the agreement with the number the bank issued. Confirming
// again returns the same agreement. Errors: EINVALID field sms_code;
// ENOTFOUND (no application with that request id); ESTATE reason
// sms_wrong, sms_expired or sms_used (apply again for a new code).
func (s *Service) ConfirmCard(ctx context.Context, m *baoguan.Merchant, requestID, code string) (*baoguan.CardAgreement, error) {
	if err := baoguan.CheckOrderNo("request_id", requestID); err != nil {
		return nil, err
	}
	if code == "" {
		return nil, baoguan.FieldError("sms_code", "sms_code is required")
	}
	ch, err := s.cardChannel(m)
	if err != nil {
		return nil, err
	}
	var a *baoguan.CardAgreement
	var c *baoguan.SMSChallenge
	err = s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if a, err = tx.CardAgreementByRequest(m.ID, requestID); baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
			return &baoguan.Error{Code: baoguan.ENOTFOUND, Field: "request_id", Reason: "no_application",
				Message: "请求流水号 " + requestID + " 没有签约申请，请先调用 agreeApply"}
		} else if err != nil {
			return err
		}
		if c, err = tx.SMSChallenge(m.ID, baoguan.SMSBindCard, requestID); baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
			c, err = &baoguan.SMSChallenge{MerchantID: m.ID, Purpose: baoguan.SMSBindCard, Ref: requestID, Burnt: true}, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if a.Confirmed() {
		return a, nil
	}
	var refusal error
	switch {
	case c.Burnt || !c.UsedAt.IsZero():
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSUsed, Message: "请求异常：短信验证码已失效，请重新调用 agreeApply 获取"}
	case s.Now().Sub(c.SentAt) > SMSCodeTTL:
		refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSExpired, Message: "短信验证码已过期（有效期3分钟），请重新调用 agreeApply 获取"}
	}
	var agreeID string
	if refusal == nil {
		agreeID, err = ch.ConfirmAgreement(ctx, baoguan.AgreementRequest{Merchant: m, Agreement: a, Now: s.Now()}, code)
		s.Metrics.ChannelCalls.WithLabelValues("confirm_agreement").Inc()
		switch {
		case baoguan.ErrorReason(err) == ReasonSMSWrong:
			refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSWrong, Message: "短信验证码错误，请重新调用 agreeApply 获取新的验证码"}
		case err != nil:
			return nil, err
		}
	}
	var out *baoguan.CardAgreement
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		cur, err := tx.CardAgreementByRequest(m.ID, requestID)
		if err != nil {
			return err
		}
		if cur.Confirmed() {
			out = cur
			return nil
		}
		c, err := tx.SMSChallenge(m.ID, baoguan.SMSBindCard, requestID)
		if err != nil {
			return err
		}
		c.Attempts++
		if refusal != nil || c.Burnt {
			// The code is spent either way; the refusal is answered, and
			// what it burnt is kept.
			c.Burnt = true
			return tx.PutSMSChallenge(c)
		}
		c.UsedAt = tx.Now()
		if err := tx.PutSMSChallenge(c); err != nil {
			return err
		}
		cur.AgreeID, cur.ConfirmedAt = agreeID, tx.Now()
		out = cur
		return tx.PutCardAgreement(cur)
	})
	switch {
	case err != nil:
		return nil, err
	case out != nil:
		return out, nil
	case refusal != nil:
		return nil, refusal
	}
	return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSUsed, Message: "请求异常：短信验证码已失效，请重新调用 agreeApply 获取"}
}

// CardAgreement returns a confirmed agreement. EINVALID field agreeid when
// empty; ENOTFOUND field agreeid reason no_agreement.
func (s *Service) CardAgreement(ctx context.Context, m *baoguan.Merchant, agreeID string) (*baoguan.CardAgreement, error) {
	var a *baoguan.CardAgreement
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		a, err = agreementTx(tx, m.ID, agreeID)
		return err
	})
	return a, err
}

func agreementTx(tx baoguan.Tx, merchantID int64, agreeID string) (*baoguan.CardAgreement, error) {
	if agreeID == "" {
		return nil, baoguan.FieldError("agreeid", "agreeid is required")
	}
	a, err := tx.CardAgreement(merchantID, agreeID)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Field: "agreeid", Reason: "no_agreement",
			Message: "快捷支付协议号 " + agreeID + " 不存在"}
	}
	return a, err
}

// ApplyQuickPay creates an order paid by the card agreement agreeID and
// applies for its payment (5.3): the order is PAY_APPLIED and an SMS code
// is sent, to be confirmed with ConfirmQuickPay. Repeating the same order
// returns it without sending another code while one is pending. Errors:
// those of CreateOrder; ENOTFOUND field agreeid; ERATELIMIT reason
// too_many_sms (Limits.SMS; the order stays, unpaid).
func (s *Service) ApplyQuickPay(ctx context.Context, m *baoguan.Merchant, in OrderInput, agreeID string) (*baoguan.Order, error) {
	if _, err := s.CardAgreement(ctx, m, agreeID); err != nil {
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
	// Refused here, the order stays created and unpaid; the same request
	// repeated later applies for it.
	if err := s.allowSMS(ctx, m); err != nil {
		return nil, err
	}
	o, _, err = s.payNow(ctx, m, o.MerchantOrderNo)
	return o, err
}

// allowSMS takes one of the merchant's SMS sends (Limits.SMS) before the
// bank is asked for anything that sends the payer a code: ERATELIMIT,
// reason too_many_sms, when none is left, and nothing is written.
func (s *Service) allowSMS(ctx context.Context, m *baoguan.Merchant) error {
	return s.allowSend(ctx, "sms", s.Limits.SMS, m.ID, "SMS codes sent")
}

// sendSMSChallenge records that the bank sent the payer of o a new SMS code
// for its payment, replacing the last one.
func (s *Service) sendSMSChallenge(tx baoguan.Tx, o *baoguan.Order) error {
	return tx.PutSMSChallenge(&baoguan.SMSChallenge{MerchantID: o.MerchantID, Purpose: baoguan.SMSPayment,
		Ref: o.MerchantOrderNo, AgreeID: o.Extra[ExtraAgreeID], SentAt: tx.Now()})
}

// ConfirmQuickPay confirms a card payment with its SMS code (5.4) and
// records the outcome. The payer the declarations compare with is the card
// holder of the agreement. A paid order is returned as it is.
// Errors: ENOTFOUND; EINVALID field agreeid (not the order's agreement);
// ESTATE reason not_quick, not_applied, sms_wrong, sms_expired or sms_used
// (ReapplyQuickPay for a new code).
func (s *Service) ConfirmQuickPay(ctx context.Context, m *baoguan.Merchant, no, agreeID, code string) (*baoguan.Order, error) {
	if code == "" {
		return nil, baoguan.FieldError("sms_code", "sms_code is required")
	}
	var o *baoguan.Order
	var a *baoguan.CardAgreement
	var mm *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
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
	if o.Channel.Flow() != baoguan.FlowCard {
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
	// The challenge is checked and counted (and, when refused, burnt) in
	// one write, so two confirmations racing cannot both find it fresh.
	var refusal error
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		c, err := tx.SMSChallenge(m.ID, baoguan.SMSPayment, no)
		if err != nil && baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
			return err
		}
		switch {
		case c == nil || c.Burnt || !c.UsedAt.IsZero() || c.AgreeID != agreeID:
			refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSUsed, Message: "请求异常：短信验证码已失效，请调用 redoQuickpay 重新获取"}
			return nil
		case tx.Now().Sub(c.SentAt) > SMSCodeTTL:
			refusal = &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSExpired, Message: "短信验证码已过期（有效期3分钟），请调用 redoQuickpay 重新获取"}
			c.Burnt = true
		}
		c.Attempts++
		return tx.PutSMSChallenge(c)
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	r, err := s.complete(ctx, o, mm, baoguan.PayerAction{SMSCode: code})
	if baoguan.ErrorReason(err) == ReasonSMSWrong {
		err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
			c, err := tx.SMSChallenge(m.ID, baoguan.SMSPayment, no)
			if err != nil {
				return err
			}
			c.Burnt = true
			return tx.PutSMSChallenge(c)
		})
		if err != nil {
			return nil, err
		}
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonSMSWrong, Message: "短信验证码错误，请调用 redoQuickpay 重新获取新的验证码"}
	}
	if err != nil {
		return nil, err
	}
	if r.Status == baoguan.PaySucceed {
		// Whoever holds the card paid; declarations compare with them.
		r.Payment.PayerName, r.Payment.PayerID = a.AcctName, a.IDNo
	}
	return s.completePayment(ctx, m, no, r, func(tx baoguan.Tx, o *baoguan.Order) error {
		c, err := tx.SMSChallenge(m.ID, baoguan.SMSPayment, no)
		if err != nil {
			return err
		}
		c.UsedAt = tx.Now()
		return tx.PutSMSChallenge(c)
	})
}

// ReapplyQuickPay applies for an order's payment again (5.5): after an SMS
// code expired or was refused, after a failed payment (a new payment
// round), or to pay with another agreement. A new SMS code is sent and the
// order is paid by card from then on.
// Errors: ENOTFOUND (order, or field agreeid); ESTATE reason already_paid
// or not_payable; ERATELIMIT reason too_many_sms (Limits.SMS).
func (s *Service) ReapplyQuickPay(ctx context.Context, m *baoguan.Merchant, no, agreeID string) (*baoguan.Order, error) {
	if _, err := s.CardAgreement(ctx, m, agreeID); err != nil {
		return nil, err
	}
	if err := s.allowSMS(ctx, m); err != nil {
		return nil, err
	}
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		o, err := tx.OrderByNo(m.ID, no)
		if err != nil {
			return err
		}
		if err := switchMode(o, baoguan.ChannelQuick, ExtraAgreeID, agreeID); err != nil {
			return err
		}
		return tx.UpdateOrder(o)
	})
	if err != nil {
		return nil, err
	}
	o, _, err := s.payNow(ctx, m, no)
	return o, err
}
