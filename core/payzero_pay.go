package core

import (
	"context"

	"github.com/baoguan/baoguan"
)

// CompletingChannel is implemented by payment channels whose payments end
// in a second step: Pay answers PAY_APPLIED, and the money moves when the
// shopper scans a QR code or types an SMS code. Complete is that step;
// evidence is what the shopper did (the SMS code, or a QR scan outcome).
// Like Pay, it must answer a repeated call the same way.
type CompletingChannel interface {
	Complete(ctx context.Context, r baoguan.PayRequest, evidence string) (baoguan.PayResult, error)
}

// pspNamer is implemented by channels that can name the payment company
// they use for a kind of payment before any payment is made.
type pspNamer interface {
	PSPFor(ch baoguan.Channel) string
}

// CompletePayment records the outcome of a payment whose result arrives
// after the channel's first answer (a QR code scanned, an SMS code
// confirmed, a channel's callback). r is applied as the pay job applies a
// channel's answer, in one transaction with the declarations it queues and
// the notification it causes. A repeat of the outcome already recorded
// returns the order unchanged.
// Errors: ENOTFOUND; ESTATE (reason payment_finished) when the order's
// payment already ended otherwise.
func (s *Service) CompletePayment(ctx context.Context, m *baoguan.Merchant, no string, r baoguan.PayResult) (*baoguan.Order, error) {
	return s.completePayment(ctx, m, no, r, nil)
}

// completePayment is CompletePayment with more to write in the same
// transaction (a used SMS challenge or QR code).
func (s *Service) completePayment(ctx context.Context, m *baoguan.Merchant, no string, r baoguan.PayResult, also func(tx baoguan.Tx, o *baoguan.Order) error) (*baoguan.Order, error) {
	var o *baoguan.Order
	var ds []baoguan.Declaration
	var out *baoguan.Order
	err := s.optimistic(ctx, false, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		ds, err = tx.Declarations(m.ID, o.ID)
		return err
	}, func(tx baoguan.Tx, q *queue) error {
		c := *o
		out = &c
		switch c.PayStatus {
		case baoguan.PayNotPayed, baoguan.PayApplied, baoguan.PaySMSConfirmed:
		case r.Status:
			return nil // the same outcome, told twice
		default:
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "payment_finished",
				Message: "order " + no + " is already " + string(c.PayStatus)}
		}
		if err := s.applyPayment(tx, q, &c, r, ds); err != nil {
			return err
		}
		if also != nil {
			return also(tx, &c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyNow asks the order's channel to pay now, in the request, instead of
// waiting for the pay job: payzero answers mock payments, QR codes and
// quick-pay SMS requests synchronously. The channel is asked when the
// order is NOT_PAYED, or PAY_APPLIED on a two-step channel (asking again
// refreshes a QR code or sends a new SMS code). Its answer is recorded as
// the pay job records one, together with also (given the answer, possibly
// empty when the channel was not asked) in the same transaction. An error
// from the channel is returned with the order as it stands; a pay job, if
// one is queued, retries on its own schedule.
func (s *Service) applyNow(ctx context.Context, m *baoguan.Merchant, no string, also func(tx baoguan.Tx, o *baoguan.Order, r baoguan.PayResult) error) (*baoguan.Order, baoguan.PayResult, error) {
	var o *baoguan.Order
	var mm *baoguan.Merchant
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		mm, err = tx.Merchant(m.ID)
		return err
	})
	if err != nil {
		return nil, baoguan.PayResult{}, err
	}
	twoStep := o.Channel == baoguan.ChannelQR || o.Channel == baoguan.ChannelQuick
	var r baoguan.PayResult
	if o.PayStatus == baoguan.PayNotPayed || (twoStep && o.PayStatus == baoguan.PayApplied) {
		ch := s.adapters(o.Sandbox).Channel
		if ch == nil {
			return o, r, &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_channel", Message: "no payment channel is configured for this order"}
		}
		r, err = ch.Pay(ctx, baoguan.PayRequest{Order: o, Merchant: mm, Attempt: 1, Now: s.Now()})
		s.Metrics.ChannelCalls.WithLabelValues("pay").Inc()
		if err != nil {
			return o, r, err
		}
	}
	round, channel := o.PayAttempts, o.Channel
	var ds []baoguan.Declaration
	var out *baoguan.Order
	err = s.optimistic(ctx, false, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		ds, err = tx.Declarations(m.ID, o.ID)
		return err
	}, func(tx baoguan.Tx, q *queue) error {
		c := *o
		out = &c
		if r.Status != "" && c.PayAttempts == round && c.Channel == channel {
			switch {
			case r.Status == baoguan.PayApplied && (c.PayStatus == baoguan.PayNotPayed || c.PayStatus == baoguan.PayApplied):
				if err := c.MovePay(baoguan.PayApplied); err != nil {
					return err
				}
				if r.Payment.PSP != "" {
					c.Payment.PSP = r.Payment.PSP
				}
				if err := tx.UpdateOrder(&c); err != nil {
					return err
				}
			case c.PayStatus == baoguan.PayNotPayed:
				if err := s.applyPayment(tx, q, &c, r, ds); err != nil {
					return err
				}
			}
		}
		if also != nil {
			return also(tx, &c, r)
		}
		return nil
	})
	if err != nil {
		return nil, r, err
	}
	return out, r, nil
}

// newRound starts a new payment round for an order whose payment failed,
// without a pay job: the caller applies for the payment itself.
func newRound(o *baoguan.Order) error {
	if o.PayStatus != baoguan.PayFailed {
		return nil
	}
	if err := o.MovePay(baoguan.PayNotPayed); err != nil {
		return err
	}
	o.PayAttempts++
	o.Payment.FailReason = ""
	return nil
}

// unpaidForSwitch refuses to change how an order is paid once its payment
// succeeded or was cancelled.
func unpaidForSwitch(o *baoguan.Order) error {
	switch o.PayStatus {
	case baoguan.PayNotPayed, baoguan.PayApplied, baoguan.PayFailed:
		return nil
	case baoguan.PaySucceed:
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: "already_paid", Message: "订单 " + o.MerchantOrderNo + " 已支付成功"}
	}
	return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable",
		Message: "订单 " + o.MerchantOrderNo + " 当前状态 " + string(o.PayStatus) + " 不能再支付"}
}

// PayzeroMockPay creates an order paid by virtual payment (payzero 6.1)
// and pays it at once, so the answer can carry the outcome. The order also
// has its pay job, which finishes the payment if the immediate attempt met
// a transient channel error. Errors: those of CreateOrder.
func (s *Service) PayzeroMockPay(ctx context.Context, m *baoguan.Merchant, in OrderInput) (*baoguan.Order, bool, error) {
	in.Order.Channel = baoguan.ChannelMock
	o, created, err := s.CreateOrder(ctx, m, in)
	if err != nil {
		return nil, false, err
	}
	if o.PayStatus != baoguan.PayNotPayed {
		return o, created, nil
	}
	return s.payMockNow(ctx, m, o, created)
}

func (s *Service) payMockNow(ctx context.Context, m *baoguan.Merchant, o *baoguan.Order, created bool) (*baoguan.Order, bool, error) {
	paid, _, err := s.applyNow(ctx, m, o.MerchantOrderNo, nil)
	if err != nil {
		// The order and its pay job are stored: the job finishes what the
		// immediate attempt could not, and the answer shows NOT_PAYED.
		s.Log.Warn("immediate mock payment failed; the pay job retries", "order", o.MerchantOrderNo, "err", err)
		return o, created, nil
	}
	return paid, created, nil
}

// PayzeroRedoMockPay pays a virtual-payment order again after its payment
// failed (payzero 6.2). A paid order is returned as it is.
// Errors: ENOTFOUND; ESTATE reason not_mock (the order is paid another
// way) or not_payable (cancelled).
func (s *Service) PayzeroRedoMockPay(ctx context.Context, m *baoguan.Merchant, no string) (*baoguan.Order, error) {
	o, err := s.Order(ctx, m, no)
	if err != nil {
		return nil, err
	}
	if o.Channel != baoguan.ChannelMock {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_mock",
			Message: "订单 " + no + " 不是无支付推单（虚拟支付）订单，不能重新进行虚拟支付"}
	}
	switch o.PayStatus {
	case baoguan.PaySucceed:
		return o, nil
	case baoguan.PayFailed:
		if o, err = s.RearrangePay(ctx, m, no); err != nil {
			return nil, err
		}
	case baoguan.PayNotPayed:
	default:
		return nil, unpaidForSwitch(o)
	}
	o, _, err = s.payMockNow(ctx, m, o, false)
	return o, err
}
