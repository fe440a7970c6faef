package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/netguard"
)

// OrderInput is an order as a front-end received it, already translated to
// baoguan's names and units.
type OrderInput struct {
	Order        baoguan.Order
	Declarations []baoguan.DeclarationSpec
	// Test marks a request from a protocol's test endpoint: it is paid and
	// declared through the sandbox whatever the merchant's mode.
	Test bool
	// Hold leaves the order unpaid until its batch is paid (payzero 2.1/2.2).
	Hold bool
}

// fingerprint is what makes two pushes of the same order number "the same":
// every field the merchant sent, nothing baoguan filled in.
func (in *OrderInput) fingerprint() string {
	o := in.Order
	b, _ := json.Marshal(struct {
		No, Cur, Subj, Notify, Cap, PayNo, Proto string
		Amount                                   int64
		Items                                    []baoguan.Item
		Payer                                    baoguan.Payer
		Need, Test                               bool
		Channel                                  baoguan.Channel
		Decl                                     []baoguan.DeclarationSpec
		Extra                                    map[string]string
		At                                       int64
	}{o.MerchantOrderNo, o.Currency, o.Subject, o.NotifyURL, o.CapitalName, o.Payment.No, o.Protocol,
		o.Amount, o.Items, o.Payer, o.NeedDeclare, in.Test, o.Channel, in.Declarations, o.Extra, o.OrderedAt.Unix()})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// natural-key idempotency: the first content seen for an order, refund or
// batch number is remembered in the idempotency table under these keys.
func orderKey(no string) string  { return "order:" + no }
func refundKey(no string) string { return "refund:" + no }

// CreateOrder validates and stores an order with its declarations and, unless
// it is held for a batch, the job that pays it — all in one transaction.
// A repeat of the same order number with the same content returns the stored
// order and created=false; with other content it is ECONFLICT (reason
// duplicate_order_no). Errors: EINVALID naming the field, EMERCHANT,
// ECONFLICT.
func (s *Service) CreateOrder(ctx context.Context, m *baoguan.Merchant, in OrderInput) (*baoguan.Order, bool, error) {
	v, created, err := s.CreateOrderDetail(ctx, m, in)
	if err != nil {
		return nil, false, err
	}
	return v.Order, created, nil
}

// CreateOrderDetail is CreateOrder returning the order with its
// declarations as committed, so a front-end can answer without reading
// them back.
func (s *Service) CreateOrderDetail(ctx context.Context, m *baoguan.Merchant, in OrderInput) (*OrderView, bool, error) {
	v := &OrderView{}
	created := false
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		o, ds, c, err := s.createOrderTx(tx, q, m, &in, 0)
		v.Order, v.Declarations, created = o, ds, c
		if err == nil && !c {
			if v.Declarations, err = tx.Declarations(m.ID, o.ID); err == nil {
				v.Refunds, err = tx.Refunds(m.ID, o.ID)
			}
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if created {
		s.Metrics.OrdersCreated.Inc()
	}
	return v, created, nil
}

// prepareOrder checks an input without writing, so a batch can be refused
// whole before anything is stored.
func (s *Service) prepareOrder(m *baoguan.Merchant, in *OrderInput) ([]baoguan.CustomsEntry, error) {
	if err := m.Active(); err != nil {
		return nil, err
	}
	o := &in.Order
	if o.Channel == "" {
		o.Channel = baoguan.ChannelMock
	}
	if len(in.Declarations) > 0 {
		o.NeedDeclare = true
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.NotifyURL != "" {
		if err := netguard.CheckURL(o.NotifyURL); err != nil {
			return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "notify_url", Reason: "bad_notify_url", Message: err.Error()}
		}
	}
	// The store keeps milliseconds; the answer must show what is stored.
	o.OrderedAt = o.OrderedAt.UTC().Truncate(time.Millisecond)
	sandbox := in.Test || m.Mode == baoguan.ModeSandbox
	if a := s.adapters(sandbox); a.Channel == nil || a.Port == nil {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "merchant", Reason: "no_live_adapters",
			Message: "this installation has no live payment channel or customs port; use the sandbox"}
	}
	if o.NeedDeclare && len(in.Declarations) == 0 {
		return nil, baoguan.FieldError("customs", "customs is required when the order is to be declared")
	}
	entries := make([]baoguan.CustomsEntry, len(in.Declarations))
	for i := range in.Declarations {
		e, err := in.Declarations[i].Validate()
		if err != nil {
			return nil, err
		}
		if in.Declarations[i].OrderFee > o.Amount {
			return nil, &baoguan.Error{Code: baoguan.ELIMIT, Field: "order_fee", Reason: "declared_above_paid",
				Message: "declared order_fee is above the order amount"}
		}
		entries[i] = e
	}
	return entries, nil
}

func (s *Service) createOrderTx(tx baoguan.Tx, q *queue, m *baoguan.Merchant, in *OrderInput, batchID int64) (*baoguan.Order, []baoguan.Declaration, bool, error) {
	entries, err := s.prepareOrder(m, in)
	if err != nil {
		return nil, nil, false, err
	}
	fp := in.fingerprint()
	if prev, err := tx.Idempotency(m.ID, orderKey(in.Order.MerchantOrderNo)); err == nil {
		if prev.RequestHash != fp {
			return nil, nil, false, &baoguan.Error{Code: baoguan.ECONFLICT, Field: "merchant_order_no", Reason: "duplicate_order_no",
				Message: "order " + in.Order.MerchantOrderNo + " already exists with different content"}
		}
		o, err := tx.OrderByNo(m.ID, in.Order.MerchantOrderNo)
		return o, nil, false, err
	} else if baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		return nil, nil, false, err
	}
	now := tx.Now()
	o := in.Order
	o.MerchantID = m.ID
	o.BatchID = batchID
	o.Sandbox = in.Test || m.Mode == baoguan.ModeSandbox
	o.PayStatus = baoguan.PayNotPayed
	o.DeclareStatus = baoguan.DeclareNone
	o.PayAttempts = 1
	if o.OrderedAt.IsZero() {
		o.OrderedAt = now
	}
	if len(in.Declarations) > 0 {
		o.DeclareStatus = baoguan.DeclarePending
	}
	if err := tx.CreateOrder(&o); err != nil {
		if baoguan.ErrorCode(err) == baoguan.ECONFLICT {
			return nil, nil, false, &baoguan.Error{Code: baoguan.ECONFLICT, Field: "merchant_order_no", Reason: "duplicate_order_no",
				Message: "order " + o.MerchantOrderNo + " already exists"}
		}
		return nil, nil, false, err
	}
	if err := tx.PutIdempotency(&baoguan.IdemRecord{MerchantID: m.ID, Key: orderKey(o.MerchantOrderNo), RequestHash: fp, CreatedAt: now}); err != nil {
		return nil, nil, false, err
	}
	decls := []baoguan.Declaration{}
	for i, spec := range in.Declarations {
		ds, err := s.planDeclarations(tx, &o, spec, entries[i], nil, decls)
		if err != nil {
			return nil, nil, false, err
		}
		decls = append(decls, ds...)
	}
	if !in.Hold {
		if err := s.schedulePay(q, &o, now); err != nil {
			return nil, nil, false, err
		}
	}
	return &o, decls, true, nil
}

// schedulePay queues the pay job of the order's current payment round.
// The dedupe key makes a second call for the same round a no-op.
func (s *Service) schedulePay(q *queue, o *baoguan.Order, now time.Time) error {
	return q.add(baoguan.JobPay, "pay:"+strconv.FormatInt(o.ID, 10)+":"+strconv.Itoa(o.PayAttempts), o.MerchantID, o.ID, now)
}

// Order returns one of the merchant's orders by its number. ENOTFOUND.
func (s *Service) Order(ctx context.Context, m *baoguan.Merchant, no string) (*baoguan.Order, error) {
	var o *baoguan.Order
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		o, err = tx.OrderByNo(m.ID, no)
		return err
	})
	return o, err
}

// OrderView is an order with its declarations and refunds, as queries show it.
type OrderView struct {
	Order        *baoguan.Order
	Declarations []baoguan.Declaration
	Refunds      []baoguan.Refund
}

// OrderDetail returns an order with its declarations and refunds. ENOTFOUND.
func (s *Service) OrderDetail(ctx context.Context, m *baoguan.Merchant, no string) (*OrderView, error) {
	v := &OrderView{}
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		if v.Order, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		if v.Declarations, err = tx.Declarations(m.ID, v.Order.ID); err != nil {
			return err
		}
		v.Refunds, err = tx.Refunds(m.ID, v.Order.ID)
		return err
	})
	return v, err
}

// Orders lists the merchant's orders.
func (s *Service) Orders(ctx context.Context, m *baoguan.Merchant, f baoguan.OrderFilter) ([]baoguan.Order, error) {
	f.MerchantID = m.ID
	var out []baoguan.Order
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.ListOrders(f)
		return err
	})
	return out, err
}

// RearrangePay starts a new payment round for an order whose payment failed
// (payzero 2.7). ESTATE when the order is paid, cancelled or still paying.
func (s *Service) RearrangePay(ctx context.Context, m *baoguan.Merchant, no string) (*baoguan.Order, error) {
	var out *baoguan.Order
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		o, err := tx.OrderByNo(m.ID, no)
		if err != nil {
			return err
		}
		if o.PayStatus != baoguan.PayFailed && !(o.PayStatus == baoguan.PayNotPayed && o.BatchID != 0) {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_rearrangeable",
				Message: "order " + no + " is " + string(o.PayStatus) + "; only a failed payment can be arranged again"}
		}
		if err := s.rearrangeTx(tx, q, o); err != nil {
			return err
		}
		out = o
		return nil
	})
	return out, err
}

func (s *Service) rearrangeTx(tx baoguan.Tx, q *queue, o *baoguan.Order) error {
	if o.PayStatus == baoguan.PayFailed {
		if err := o.MovePay(baoguan.PayNotPayed); err != nil {
			return err
		}
		o.PayAttempts++
		o.Payment.FailReason = ""
	}
	if err := s.schedulePay(q, o, tx.Now()); err != nil {
		return err
	}
	return tx.UpdateOrder(o)
}
