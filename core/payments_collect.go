package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"strconv"
	"time"

	"github.com/baoguan/baoguan"
)

// Collect modes: the payer pays on their own device. The order is applied
// for at once (PAY_APPLIED) by CollectChannel.Collect, which issues a code;
// baoguan keeps each code as a Collection with an unguessable token, and
// the money moves when the payer acts on it. A newer code for the same
// order replaces the older ones.
//
// QR codes (payzero §4) are the collect mode today. The wallet modes
// WiseCashier brings — a NATIVE code_url, JSAPI / mini-program / app
// parameters, WAP and cashier pages — are more kinds of the same
// collection: a Kind on the CollectRequest, the channel's answer in
// CollectCode, the order PAY_APPLIED until paid. A code that expires
// unpaid leaves the order PAY_APPLIED; the front-end shows its own
// "expired" (a job that closes such orders belongs here).
//
// In the sandbox the channel leaves the code's page to the gateway (an
// empty URL): the front-end whose code it is shows the order with a pay
// and a fail button, and PayCollection records what the tester chose as the
// sandbox channel answers it.

// Collect creates an order to be paid in a collect mode and issues its
// code (payzero 4.1: kind is the QR code type). Repeating the same order
// returns its current code while it can still be paid (or once it was),
// else a new one. Errors: those of CreateOrder; EINVALID field
// qr_code_type; ESTATE reason no_channel or not_payable.
func (s *Service) Collect(ctx context.Context, m *baoguan.Merchant, in OrderInput, kind string) (*baoguan.Order, *baoguan.Collection, error) {
	if err := baoguan.CheckQRType(kind); err != nil {
		return nil, nil, err
	}
	in.Order.Channel = baoguan.ChannelQR
	in.Order.Extra = maps.Clone(in.Order.Extra)
	if in.Order.Extra == nil {
		in.Order.Extra = map[string]string{}
	}
	in.Order.Extra[ExtraQRType] = kind
	in.Hold = true // the code is issued below, not by the pay job
	o, created, err := s.CreateOrder(ctx, m, in)
	if err != nil {
		return nil, nil, err
	}
	if !created && o.Channel.Flow() == baoguan.FlowCollect {
		// A repeat, e.g. after a lost answer: the code issued first is
		// still the one to show while it can be paid, or once it was.
		var cur *baoguan.Collection
		err := s.view(ctx, func(tx baoguan.Tx) error {
			var err error
			cur, err = tx.LatestCollection(m.ID, o.ID)
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				cur, err = nil, nil
			}
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		if cur != nil && cur.Kind == kind {
			usable := o.PayStatus == baoguan.PayApplied && cur.UsedAt.IsZero() && !cur.Expired(s.Now())
			if usable || o.Paid() {
				return o, cur, nil
			}
		}
	}
	return s.collectNow(ctx, m, o.MerchantOrderNo)
}

// Recollect issues a new code for an existing order (payzero 4.2): one
// whose code expired, one that should be paid by another kind of code, one
// uploaded in a batch, or one whose payment failed (a new payment round).
// The order is paid in the collect mode from then on; earlier codes no
// longer work. Errors: ENOTFOUND; EINVALID field qr_code_type; ESTATE
// reason already_paid, not_payable or no_channel.
func (s *Service) Recollect(ctx context.Context, m *baoguan.Merchant, no, kind string) (*baoguan.Order, *baoguan.Collection, error) {
	if err := baoguan.CheckQRType(kind); err != nil {
		return nil, nil, err
	}
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		o, err := tx.OrderByNo(m.ID, no)
		if err != nil {
			return err
		}
		if err := switchMode(o, baoguan.ChannelQR, ExtraQRType, kind); err != nil {
			return err
		}
		return tx.UpdateOrder(o)
	})
	if err != nil {
		return nil, nil, err
	}
	return s.collectNow(ctx, m, no)
}

// collectNow has the channel issue the order's code now.
func (s *Service) collectNow(ctx context.Context, m *baoguan.Merchant, no string) (*baoguan.Order, *baoguan.Collection, error) {
	o, col, err := s.payNow(ctx, m, no)
	if err != nil {
		return nil, nil, err
	}
	if col == nil {
		return nil, nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable",
			Message: "订单 " + no + " 当前状态 " + string(o.PayStatus) + "，无法生成二维码"}
	}
	return o, col, nil
}

// issueCollection keeps a code the channel issued for o, under a new
// token, in the transaction that records PAY_APPLIED.
func (s *Service) issueCollection(tx baoguan.Tx, o *baoguan.Order, code *baoguan.CollectCode) (*baoguan.Collection, error) {
	c := &baoguan.Collection{Token: strconv.FormatInt(o.MerchantID, 10) + "-" + randomHex(16), MerchantID: o.MerchantID,
		OrderID: o.ID, OrderNo: o.MerchantOrderNo, Kind: o.Extra[ExtraQRType], PSP: code.PSP, URL: code.URL,
		IssuedAt: tx.Now(), ExpiresAt: code.ExpiresAt}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(defaultCollectTTL)
	}
	return c, tx.CreateCollection(c)
}

// defaultCollectTTL is the life of a code whose channel gave none.
const defaultCollectTTL = 2 * time.Hour

// CollectionByToken returns a code, its merchant and its order, for the
// page the code opens. ENOTFOUND when the token is unknown; ESTATE reason
// qr_replaced when a newer code was issued for the order.
func (s *Service) CollectionByToken(ctx context.Context, token string) (*baoguan.Collection, *baoguan.Merchant, *baoguan.Order, error) {
	var c *baoguan.Collection
	var m *baoguan.Merchant
	var o *baoguan.Order
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if c, err = currentCollection(tx, token); err != nil {
			return err
		}
		if m, err = tx.Merchant(c.MerchantID); err != nil {
			return err
		}
		o, err = tx.Order(c.MerchantID, c.OrderID)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return c, m, o, nil
}

// currentCollection reads the collection of token, refusing one a newer
// code replaced.
func currentCollection(tx baoguan.Tx, token string) (*baoguan.Collection, error) {
	c, err := tx.Collection(token)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Reason: "no_qr", Message: "二维码不存在"}
	}
	if err != nil {
		return nil, err
	}
	latest, err := tx.LatestCollection(c.MerchantID, c.OrderID)
	if err != nil {
		return nil, err
	}
	if latest.Token != token {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "qr_replaced", Message: "该二维码已被刷新，请使用新的二维码"}
	}
	return c, nil
}

// PayCollection is a payer acting on a code whose page the gateway hosts
// (the sandbox page): a.Paid says whether they paid or gave up. The
// channel says what that means (CompletingChannel.Complete) and the
// outcome is recorded as a callback's would be, with its notification.
// Errors: those of CollectionByToken; EFORBIDDEN for a live order (only a
// real payment can pay it); ESTATE reason qr_expired, qr_used, not_payable
// or no_channel.
func (s *Service) PayCollection(ctx context.Context, token string, a baoguan.PayerAction) (*baoguan.Order, error) {
	c, m, o, err := s.CollectionByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if !o.Sandbox {
		return nil, &baoguan.Error{Code: baoguan.EFORBIDDEN, Reason: "live_order", Message: "只有沙箱订单可以在此页面支付"}
	}
	if !c.UsedAt.IsZero() || o.Paid() {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "qr_used", Message: "该二维码已支付"}
	}
	if c.Expired(s.Now()) {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "qr_expired", Message: "二维码已过期，请商户调用 /order/qrCode 重新生成"}
	}
	if o.PayStatus != baoguan.PayApplied || o.Channel.Flow() != baoguan.FlowCollect {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable", Message: "订单当前状态 " + string(o.PayStatus) + "，无法扫码支付"}
	}
	r, err := s.complete(ctx, o, m, a)
	if err != nil {
		return nil, err
	}
	return s.completePayment(ctx, m, o.MerchantOrderNo, r, func(tx baoguan.Tx, o *baoguan.Order) error {
		cur, err := currentCollection(tx, token)
		if err != nil {
			return err
		}
		cur.UsedAt = tx.Now()
		return tx.UpdateCollection(cur)
	})
}

// complete asks the order's channel for the second step of its payment.
func (s *Service) complete(ctx context.Context, o *baoguan.Order, m *baoguan.Merchant, a baoguan.PayerAction) (baoguan.PayResult, error) {
	ch := s.adapters(o.Sandbox).Complete
	if ch == nil {
		return baoguan.PayResult{}, &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_channel", Message: "the payment channel cannot complete " + string(o.Channel) + " payments"}
	}
	r, err := ch.Complete(ctx, baoguan.PayRequest{Order: o, Merchant: m, Attempt: 1, Now: s.Now()}, a)
	s.Metrics.ChannelCalls.WithLabelValues("complete").Inc()
	return r, err
}

// switchMode makes an unpaid order be paid in mode from now on, keeping
// the mode's parameter (extraKey = value), and starts a new payment round
// if its payment failed. ESTATE reason already_paid or not_payable.
func switchMode(o *baoguan.Order, mode baoguan.Channel, extraKey, value string) error {
	if err := unpaidForSwitch(o); err != nil {
		return err
	}
	if err := newRound(o); err != nil {
		return err
	}
	o.Channel = mode
	o.Extra = maps.Clone(o.Extra)
	if o.Extra == nil {
		o.Extra = map[string]string{}
	}
	o.Extra[extraKey] = value
	return nil
}

// randomHex returns n random bytes as hex: tokens that must not be guessed
// (code page links) and identifiers that must not collide across instances.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
