package core

import (
	"context"

	"github.com/baoguan/baoguan"
)

// payJob asks the order's channel to pay, then records the outcome with
// its follow-ups (declarations queued, event) in one transaction.
func (s *Service) payJob(ctx context.Context, w *work) error {
	var o *baoguan.Order
	var m *baoguan.Merchant
	var ds []baoguan.Declaration
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.Order(w.job.MerchantID, w.job.RefID); err != nil {
			return err
		}
		if ds, err = tx.Declarations(o.MerchantID, o.ID); err != nil {
			return err
		}
		m, err = tx.Merchant(o.MerchantID)
		return err
	})
	if err != nil {
		return err
	}
	if o.PayStatus != baoguan.PayNotPayed {
		return nil // paid, failed or cancelled by an earlier run or another path
	}
	ch := s.adapters(o.Sandbox).Channel
	r, err := ch.Pay(ctx, baoguan.PayRequest{Order: o, Merchant: m, Attempt: w.job.Attempts, Now: s.Now()})
	s.Metrics.ChannelCalls.WithLabelValues("pay").Inc()
	if err != nil {
		return err
	}
	round := o.PayAttempts
	return s.optimistic(ctx, true, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.Order(w.job.MerchantID, w.job.RefID); err != nil {
			return err
		}
		ds, err = tx.Declarations(o.MerchantID, o.ID)
		return err
	}, func(tx baoguan.Tx, q *queue) error {
		if o.PayStatus != baoguan.PayNotPayed || o.PayAttempts != round {
			return w.done(tx)
		}
		q.m = m
		c := *o
		if err := s.applyPayment(tx, q, &c, r, ds); err != nil {
			return err
		}
		return w.done(tx)
	})
}

// applyPayment records a channel's answer on an order. It is shared by the
// pay job and by channels whose answer arrives later (QR, SMS confirm).
// ds are the order's declarations as read with o (nil: read them here);
// every row written is version-checked, so a stale read fails the write.
func (s *Service) applyPayment(tx baoguan.Tx, q *queue, o *baoguan.Order, r baoguan.PayResult, ds []baoguan.Declaration) error {
	switch r.Status {
	case baoguan.PayApplied, baoguan.PaySMSConfirmed:
		if err := o.MovePay(r.Status); err != nil {
			return err
		}
		return tx.UpdateOrder(o)
	case baoguan.PaySucceed:
		if r.Debit > 0 {
			ok, err := tx.DebitFunding(o.MerchantID, r.Debit)
			if err != nil {
				return err
			}
			if !ok {
				r.Status = baoguan.PayFailed
				r.Payment.FailReason = "商户垫资账户余额不足"
				return s.applyPayment(tx, q, o, r, ds)
			}
		}
		if err := o.MovePay(baoguan.PaySucceed); err != nil {
			return err
		}
		keepNo := o.Payment.No
		o.Payment = r.Payment
		if o.Payment.No == "" {
			o.Payment.No = keepNo
		}
		if o.Payment.PaidAt.IsZero() {
			o.Payment.PaidAt = tx.Now()
		}
		s.Metrics.Payments.WithLabelValues(string(baoguan.PaySucceed)).Inc()
		// Declarations waiting for the payment are queued now; the order
		// is written once, with its new declare status.
		if ds == nil {
			var err error
			if ds, err = tx.Declarations(o.MerchantID, o.ID); err != nil {
				return err
			}
		}
		ds = append([]baoguan.Declaration(nil), ds...)
		for i := range ds {
			d := &ds[i]
			if d.State != baoguan.DeclUndeclared {
				continue
			}
			if d.SubOrderNo == "" && d.OrderFee == 0 {
				d.OrderFee, d.ProductFee = o.Declarable(), o.Declarable()
			}
			if err := s.queueDeclare(tx, d); err != nil {
				return err
			}
		}
		o.DeclareStatus = baoguan.DeriveDeclareStatus(ds)
		if err := tx.UpdateOrder(o); err != nil {
			return err
		}
		if err := s.emit(tx, q, baoguan.EventOrderPaid, o, nil, nil); err != nil {
			return err
		}
		if len(ds) == 0 {
			return s.emitOrderDone(tx, q, o, nil)
		}
		return nil
	case baoguan.PayFailed, baoguan.PayCancelled:
		if err := o.MovePay(r.Status); err != nil {
			return err
		}
		o.Payment.FailReason = r.Payment.FailReason
		s.Metrics.Payments.WithLabelValues(string(r.Status)).Inc()
		if err := tx.UpdateOrder(o); err != nil {
			return err
		}
		if err := s.emit(tx, q, baoguan.EventOrderPaymentFailed, o, nil, nil); err != nil {
			return err
		}
		return s.emitOrderDone(tx, q, o, ds)
	}
	return &baoguan.Error{Code: baoguan.EINTERNAL, Message: "payment channel answered an unknown status " + string(r.Status)}
}
