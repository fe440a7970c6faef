package core

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// QR-code payment (payzero §4). An order paid by QR code is applied for at
// once (PAY_APPLIED) and the money moves when the shopper scans the code.
// baoguan issues each code a random token; in the sandbox the code's URL
// opens a page on which a tester pays or fails the order, which is
// PayzeroScanQR.

// PayzeroQRTTL is how long a QR code can be paid. payzero's document only
// says codes expire (4.2); two hours is the usual life of a WeChat Pay
// native code.
const PayzeroQRTTL = 2 * time.Hour

// PayzeroQRTypes are the QR code types of payzero appendix A.3.
var PayzeroQRTypes = []string{"WECHATPAY", "ALIPAY", "UNIONPAY"}

// Extra keys under which payzero orders keep what their wire format sent
// beyond the core fields, so later calls can use the last value.
const (
	ExtraQRType   = "qr_code_type"
	ExtraAgreeID  = "agreeid"
	ExtraCustoms  = "customs"
	ExtraAreaCode = "customs_area_code"
	ExtraJyOrg    = "customs_jy_org"
	ExtraInType   = "customs_in_type"
)

// PayzeroQR is one issued QR code.
type PayzeroQR struct {
	Token      string    `json:"token"` // the code's capability: "<merchantID>-<32 hex>"
	Type       string    `json:"type"`
	MerchantID int64     `json:"merchant_id"`
	OrderNo    string    `json:"order_no"`
	PSP        string    `json:"psp"`
	IssuedAt   time.Time `json:"issued_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UsedAt     time.Time `json:"used_at,omitzero"`
}

// Expired reports whether the code can no longer be paid at now.
func (q *PayzeroQR) Expired(now time.Time) bool { return !now.Before(q.ExpiresAt) }

// qrRef is the token index: which order a token belongs to.
type qrRef struct {
	OrderNo string `json:"order_no"`
}

func checkQRType(t string) error {
	for _, x := range PayzeroQRTypes {
		if t == x {
			return nil
		}
	}
	return &baoguan.Error{Code: baoguan.EINVALID, Field: "qr_code_type", Reason: "bad_qr_type",
		Message: "qr_code_type must be one of " + strings.Join(PayzeroQRTypes, ", ")}
}

// PayzeroCreateQR creates an order to be paid by QR code and issues its
// code (payzero 4.1). Repeating the same order returns its current code
// while it can still be paid, else a new one.
// Errors: those of CreateOrder; EINVALID field qr_code_type.
func (s *Service) PayzeroCreateQR(ctx context.Context, m *baoguan.Merchant, in OrderInput, qrType string) (*baoguan.Order, *PayzeroQR, error) {
	if err := checkQRType(qrType); err != nil {
		return nil, nil, err
	}
	in.Order.Channel = baoguan.ChannelQR
	in.Order.Extra = maps.Clone(in.Order.Extra)
	if in.Order.Extra == nil {
		in.Order.Extra = map[string]string{}
	}
	in.Order.Extra[ExtraQRType] = qrType
	in.Hold = true // the code is issued below, not by the pay job
	o, created, err := s.CreateOrder(ctx, m, in)
	if err != nil {
		return nil, nil, err
	}
	if !created && o.Channel == baoguan.ChannelQR {
		// A repeat, e.g. after a lost answer: the code issued first is
		// still the one to show while it can be paid, or once it was.
		var cur PayzeroQR
		var ok bool
		err := s.View(ctx, func(tx baoguan.Tx) error {
			var err error
			ok, err = getJSON(tx, payzeroKey("qr", m.ID, o.MerchantOrderNo), &cur)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		usable := o.PayStatus == baoguan.PayApplied && cur.UsedAt.IsZero() && !cur.Expired(s.Now())
		if ok && cur.Type == qrType && (usable || o.Paid()) {
			return o, &cur, nil
		}
	}
	return s.issueQR(ctx, m, o.MerchantOrderNo, qrType)
}

// PayzeroRefreshQR issues a new QR code for an existing order (payzero
// 4.2): one whose code expired, one that should be paid by another type of
// code, one uploaded in a batch, or one whose payment failed (a new payment
// round). The order is paid by QR code from then on; earlier codes no
// longer work. Errors: ENOTFOUND; EINVALID field qr_code_type; ESTATE
// reason already_paid or not_payable.
func (s *Service) PayzeroRefreshQR(ctx context.Context, m *baoguan.Merchant, no, qrType string) (*baoguan.Order, *PayzeroQR, error) {
	if err := checkQRType(qrType); err != nil {
		return nil, nil, err
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
		o.Channel = baoguan.ChannelQR
		o.Extra = maps.Clone(o.Extra)
		if o.Extra == nil {
			o.Extra = map[string]string{}
		}
		o.Extra[ExtraQRType] = qrType
		return tx.UpdateOrder(o)
	})
	if err != nil {
		return nil, nil, err
	}
	return s.issueQR(ctx, m, no, qrType)
}

// issueQR applies for the order's payment and stores a new code in the
// same transaction as PAY_APPLIED.
func (s *Service) issueQR(ctx context.Context, m *baoguan.Merchant, no, qrType string) (*baoguan.Order, *PayzeroQR, error) {
	var qr *PayzeroQR
	o, _, err := s.applyNow(ctx, m, no, func(tx baoguan.Tx, o *baoguan.Order, r baoguan.PayResult) error {
		if o.PayStatus != baoguan.PayApplied || o.Channel != baoguan.ChannelQR {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable",
				Message: "订单 " + no + " 当前状态 " + string(o.PayStatus) + "，无法生成二维码"}
		}
		now := tx.Now()
		qr = &PayzeroQR{Token: strconv.FormatInt(m.ID, 10) + "-" + randomHex(16), Type: qrType, MerchantID: m.ID,
			OrderNo: no, PSP: o.Payment.PSP, IssuedAt: now, ExpiresAt: now.Add(PayzeroQRTTL)}
		if err := putJSON(tx, payzeroKey("qr", m.ID, no), qr); err != nil {
			return err
		}
		return putJSON(tx, "payzero.qrtoken."+qr.Token, qrRef{OrderNo: no})
	})
	if err != nil {
		return nil, nil, err
	}
	return o, qr, nil
}

// PayzeroQRByToken returns a QR code, its merchant and its order, for the
// page the code opens. ENOTFOUND when the token is unknown; ESTATE reason
// qr_replaced when a newer code was issued for the order.
func (s *Service) PayzeroQRByToken(ctx context.Context, token string) (*PayzeroQR, *baoguan.Merchant, *baoguan.Order, error) {
	var qr PayzeroQR
	var m *baoguan.Merchant
	var o *baoguan.Order
	notFound := &baoguan.Error{Code: baoguan.ENOTFOUND, Reason: "no_qr", Message: "二维码不存在"}
	mid, _, ok := strings.Cut(token, "-")
	id, err := strconv.ParseInt(mid, 10, 64)
	if !ok || err != nil || id <= 0 {
		return nil, nil, nil, notFound
	}
	err = s.View(ctx, func(tx baoguan.Tx) error {
		var ref qrRef
		found, err := getJSON(tx, "payzero.qrtoken."+token, &ref)
		if err != nil {
			return err
		}
		if !found {
			return notFound
		}
		if _, err := getJSON(tx, payzeroKey("qr", id, ref.OrderNo), &qr); err != nil {
			return err
		}
		if qr.Token != token {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "qr_replaced", Message: "该二维码已被刷新，请使用新的二维码"}
		}
		if m, err = tx.Merchant(id); err != nil {
			return err
		}
		o, err = tx.OrderByNo(id, ref.OrderNo)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return &qr, m, o, nil
}

// PayzeroScanQR is a shopper paying (or failing to pay) a sandbox QR code:
// evidence is the sandbox channel's EvidencePay or EvidenceFail. The
// outcome is recorded as a real channel's would be, with its notification.
// Errors: those of PayzeroQRByToken; EFORBIDDEN for a live order (only a
// real payment can pay it); ESTATE reason qr_expired, qr_used or
// not_payable.
func (s *Service) PayzeroScanQR(ctx context.Context, token, evidence string) (*baoguan.Order, error) {
	qr, m, o, err := s.PayzeroQRByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if !o.Sandbox {
		return nil, &baoguan.Error{Code: baoguan.EFORBIDDEN, Reason: "live_order", Message: "只有沙箱订单可以在此页面支付"}
	}
	if !qr.UsedAt.IsZero() || o.Paid() {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "qr_used", Message: "该二维码已支付"}
	}
	if qr.Expired(s.Now()) {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "qr_expired", Message: "二维码已过期，请商户调用 /order/qrCode 重新生成"}
	}
	if o.PayStatus != baoguan.PayApplied || o.Channel != baoguan.ChannelQR {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable", Message: "订单当前状态 " + string(o.PayStatus) + "，无法扫码支付"}
	}
	ch, ok := s.adapters(o.Sandbox).Channel.(CompletingChannel)
	if !ok {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_channel", Message: "the payment channel cannot complete QR payments"}
	}
	r, err := ch.Complete(ctx, baoguan.PayRequest{Order: o, Merchant: m, Attempt: 1, Now: s.Now()}, evidence)
	s.Metrics.ChannelCalls.WithLabelValues("complete").Inc()
	if err != nil {
		return nil, err
	}
	return s.completePayment(ctx, m, o.MerchantOrderNo, r, func(tx baoguan.Tx, o *baoguan.Order) error {
		var cur PayzeroQR
		if _, err := getJSON(tx, payzeroKey("qr", m.ID, o.MerchantOrderNo), &cur); err != nil {
			return err
		}
		if cur.Token != token {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "qr_replaced", Message: "该二维码已被刷新，请使用新的二维码"}
		}
		cur.UsedAt = tx.Now()
		return putJSON(tx, payzeroKey("qr", m.ID, o.MerchantOrderNo), cur)
	})
}
