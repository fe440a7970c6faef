package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"strconv"
	"strings"
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
			usable := cur.Payable(o, s.Now())
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
	kind := o.Extra[ExtraQRType]
	if o.Channel.Wallet() {
		kind = o.Extra[baoguan.ExtraWallet]
	}
	c := &baoguan.Collection{Token: strconv.FormatInt(o.MerchantID, 10) + "-" + randomHex(16), MerchantID: o.MerchantID,
		OrderID: o.ID, OrderNo: o.MerchantOrderNo, Kind: kind, PSP: code.PSP, URL: code.URL, Params: code.Params,
		Closes: o.Channel.Wallet(), IssuedAt: tx.Now(), ExpiresAt: code.ExpiresAt}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(defaultCollectTTL)
	}
	if err := tx.CreateCollection(c); err != nil {
		return nil, err
	}
	if c.Closes {
		// The one expiry job, created with the first code that closes its
		// order; it reschedules itself from then on.
		q := queue{svc: s, tx: tx}
		if err := q.add(baoguan.JobExpire, expireKey, 0, 0, c.ExpiresAt); err != nil {
			return nil, err
		}
		if q.n > 0 {
			defer s.Wake()
		}
	}
	return c, nil
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
	rate, err := s.payRate(ctx, o, m)
	if err != nil {
		return baoguan.PayResult{}, err
	}
	r, err := ch.Complete(ctx, baoguan.PayRequest{Order: o, Merchant: m, Attempt: 1, Now: s.Now(), Rate: rate}, a)
	s.Metrics.ChannelCalls.WithLabelValues("complete").Inc()
	if err == nil {
		err = recordCurrency(o, &r, rate)
	}
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

// Wallet modes. An order paid with a wallet (WeChat Pay, Alipay) names the
// wallet and the mode (baoguan.Channel.Wallet): micro payments are asked
// at once with the payer's code (FlowAtOnce), the other modes issue a code,
// client parameters or a page (FlowCollect). Their codes close the order
// when they expire unpaid (the expiry job below).

// WalletPayment says how a wallet-mode order is to be paid.
type WalletPayment struct {
	Mode     baoguan.Channel // a wallet mode: micro, native, jsapi, miniprogram, app, wap, desk
	Wallet   string          // baoguan.WalletWeChat or baoguan.WalletAlipay
	AuthCode string          // micro: the payer's payment code, as scanned
	OpenID   string          // jsapi, miniprogram: the payer in the merchant's app
	AppID    string          // miniprogram, app: the merchant's app at the wallet
}

// validate checks what the mode needs. EINVALID naming the field.
func (w *WalletPayment) validate() error {
	if !w.Mode.Wallet() {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "channel", Reason: "bad_channel",
			Message: string(w.Mode) + " is not a wallet payment mode"}
	}
	if err := baoguan.CheckWallet(w.Wallet); err != nil {
		return err
	}
	need := func(field, v string) error {
		if strings.TrimSpace(v) == "" {
			return &baoguan.Error{Code: baoguan.EINVALID, Field: field, Reason: "missing", Message: field + " is required"}
		}
		if len(v) > 128 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return &baoguan.Error{Code: baoguan.EINVALID, Field: field, Reason: "bad_" + field,
				Message: field + " must be at most 128 printable ASCII characters without spaces"}
		}
		return nil
	}
	switch w.Mode {
	case baoguan.ChannelMicro:
		return need("auth_code", w.AuthCode)
	case baoguan.ChannelJSAPI, baoguan.ChannelMiniProgram:
		if err := need("openid", w.OpenID); err != nil {
			return err
		}
	}
	if w.AppID != "" {
		return need("appid", w.AppID)
	}
	return nil
}

// PayInWallet creates an order paid with a wallet and asks the wallet at
// once, so the answer can carry the outcome (micro) or what the payer pays
// with (the other modes: the code, its client parameters, its page; the
// Collection returned). A micro order also has its pay job, which finishes
// a payment the wallet answered "user paying" or could not be asked now.
// Repeating an order returns it as it stands, with its current code while
// that can still be paid. Errors: those of CreateOrder; EINVALID naming
// the field; ESTATE reason no_channel or not_payable.
func (s *Service) PayInWallet(ctx context.Context, m *baoguan.Merchant, in OrderInput, w WalletPayment) (*baoguan.Order, *baoguan.Collection, error) {
	if err := w.validate(); err != nil {
		return nil, nil, err
	}
	in.Order.Channel = w.Mode
	in.Order.Extra = maps.Clone(in.Order.Extra)
	if in.Order.Extra == nil {
		in.Order.Extra = map[string]string{}
	}
	in.Order.Extra[baoguan.ExtraWallet] = w.Wallet
	for k, v := range map[string]string{baoguan.ExtraAuthCode: w.AuthCode, baoguan.ExtraOpenID: w.OpenID, baoguan.ExtraAppID: w.AppID} {
		if v != "" {
			in.Order.Extra[k] = v
		}
	}
	if w.Mode.Flow() == baoguan.FlowAtOnce {
		o, created, err := s.CreateOrder(ctx, m, in)
		if err != nil {
			return nil, nil, err
		}
		if !created || o.PayStatus != baoguan.PayNotPayed {
			return o, nil, nil
		}
		o, _, err = s.payNowOrLater(ctx, m, o, created)
		return o, nil, err
	}
	in.Hold = true // the code is issued below, not by the pay job
	o, created, err := s.CreateOrder(ctx, m, in)
	if err != nil {
		return nil, nil, err
	}
	if !created {
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
		if cur != nil && (o.PayStatus != baoguan.PayApplied || (cur.UsedAt.IsZero() && !cur.Expired(s.Now()))) {
			return o, cur, nil // paid, failed, closed, or still payable: as it stands
		}
	}
	return s.collectNow(ctx, m, o.MerchantOrderNo)
}

// WalletCode returns an order's current code, for a front-end that shows
// it again (a cashier page reloaded). ENOTFOUND when none was issued.
func (s *Service) WalletCode(ctx context.Context, m *baoguan.Merchant, o *baoguan.Order) (*baoguan.Collection, error) {
	var c *baoguan.Collection
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		c, err = tx.LatestCollection(m.ID, o.ID)
		return err
	})
	return c, err
}

// expireKey is the dedupe key of the one expiry job.
const expireKey = "expire"

// expireEvery is how often the expiry job looks for expired codes; an
// expired code cannot be paid meanwhile (PayCollection checks), so the
// order only shows as closed up to this late.
const expireEvery = time.Minute

// expireBatch bounds the codes one run closes; a full batch runs again at
// once.
const expireBatch = 200

// ExpiredReason is the fail reason of a wallet-mode order closed unpaid
// when its code expired.
const ExpiredReason = "订单已过期：付款人未在支付时限内完成支付"

// expireJob closes the orders of wallet-mode codes that expired unpaid:
// PAY_APPLIED → PAY_CANCELLED, one transaction per order, with the
// payment-failed event, and marks the code used. It never ends: it runs
// again every expireEvery, and a failure only delays it.
func (s *Service) expireJob(ctx context.Context, w *work) error {
	var cs []baoguan.Collection
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		cs, err = tx.ExpiredCollections(s.Now(), expireBatch)
		return err
	})
	if err != nil {
		s.Log.Warn("expiry job: reading expired codes", "err", err)
		return Later(expireEvery)
	}
	for i := range cs {
		if err := s.closeExpired(ctx, &cs[i]); err != nil {
			s.Log.Warn("expiry job: closing an order", "order", cs[i].OrderNo, "err", err)
			return Later(expireEvery)
		}
	}
	if len(cs) == expireBatch {
		return Later(0)
	}
	return Later(expireEvery)
}

// closeExpired closes the order of one expired code if the code is still
// the order's current one and the order still waits for the payer, and
// marks the code used either way so the job does not read it again.
func (s *Service) closeExpired(ctx context.Context, c *baoguan.Collection) error {
	var o *baoguan.Order
	var ds []baoguan.Declaration
	return s.optimistic(ctx, false, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.Order(c.MerchantID, c.OrderID); err != nil {
			return err
		}
		ds, err = tx.Declarations(o.MerchantID, o.ID)
		return err
	}, func(tx baoguan.Tx, q *queue) error {
		cur, err := tx.Collection(c.Token)
		if err != nil {
			return err
		}
		if !cur.UsedAt.IsZero() {
			return nil // paid or closed meanwhile
		}
		latest, err := tx.LatestCollection(c.MerchantID, c.OrderID)
		if err != nil {
			return err
		}
		cur.UsedAt = tx.Now()
		if err := tx.UpdateCollection(cur); err != nil {
			return err
		}
		if latest.Token != cur.Token || o.PayStatus != baoguan.PayApplied || !o.Channel.Wallet() {
			return nil // replaced by a newer code, or no longer waiting
		}
		oc := *o
		return s.applyPayment(tx, q, &oc, baoguan.PayResult{Status: baoguan.PayCancelled,
			Payment: baoguan.Payment{FailReason: ExpiredReason}}, ds)
	})
}
