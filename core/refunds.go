package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/baoguan/baoguan"
)

// RefundInput asks to refund part of a paid order.
type RefundInput struct {
	OrderNo  string
	RefundNo string
	Amount   int64
	Reason   string
	Protocol string
	// PayerMoneyOnly refuses refunds of orders for which no payer's money
	// moved through baoguan: virtual payment (mock) and automatic payment
	// from the merchant's own funding account (auto). payzero refuses them
	// (9.1); the native API does not, so that sandbox refunds can be tried
	// on any order.
	PayerMoneyOnly bool
	// Rest refunds everything still refundable (the paid amount less the
	// refunds that have not failed) instead of Amount; ELIMIT reason
	// nothing_to_refund when nothing is left.
	Rest bool
}

// CreateRefund records a refund and queues the job that asks the channel.
// The refund number is unique per merchant: a repeat with the same content
// returns the first refund (created=false), with other content ECONFLICT.
// Errors: EINVALID, ENOTFOUND (order), ESTATE (not paid; reason
// refund_not_supported with PayerMoneyOnly), ELIMIT (refunds would exceed
// the paid amount).
func (s *Service) CreateRefund(ctx context.Context, m *baoguan.Merchant, in RefundInput) (*baoguan.Refund, bool, error) {
	if in.PayerMoneyOnly {
		if err := baoguan.CheckOrderNo("order_no", in.OrderNo); err != nil {
			return nil, false, err
		}
		o, err := s.Order(ctx, m, in.OrderNo)
		if err != nil {
			return nil, false, err
		}
		if o.Channel == baoguan.ChannelAuto || o.Channel == baoguan.ChannelMock {
			return nil, false, &baoguan.Error{Code: baoguan.ESTATE, Reason: "refund_not_supported",
				Message: "订单 " + in.OrderNo + " 经由自动支付或无支付推单创建，无法退款"}
		}
	}
	if in.Rest {
		in.Amount = 0 // the amount is what is left, found below
	}
	if err := baoguan.CheckRefundRequest(in.RefundNo, in.OrderNo, in.Amount, in.Rest, in.Reason); err != nil {
		return nil, false, err
	}
	amountKey := strconv.FormatInt(in.Amount, 10)
	if in.Rest {
		amountKey = "rest"
	}
	h := sha256.Sum256([]byte(in.OrderNo + "\x00" + amountKey + "\x00" + in.Reason))
	fp := hex.EncodeToString(h[:])
	var out *baoguan.Refund
	created := false
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		if prev, err := takeKey(tx, m.ID, refundKey(in.RefundNo), fp, 0, nil); err != nil {
			return err
		} else if prev != nil {
			if prev.RequestHash != fp {
				return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "refund_no", Reason: "duplicate_refund_no",
					Message: "refund " + in.RefundNo + " already exists with different content"}
			}
			out, err = tx.RefundByNo(m.ID, in.RefundNo)
			return err
		}
		o, err := tx.OrderByNo(m.ID, in.OrderNo)
		if err != nil {
			return err
		}
		rs, err := tx.Refunds(m.ID, o.ID)
		if err != nil {
			return err
		}
		open := baoguan.OpenRefunds(rs)
		if in.Rest {
			if in.Amount = o.Amount - open; o.Paid() && in.Amount <= 0 {
				return &baoguan.Error{Code: baoguan.ELIMIT, Field: "amount", Reason: "nothing_to_refund",
					Message: "order " + o.MerchantOrderNo + " has nothing left to refund"}
			}
		}
		if err := baoguan.CheckRefund(o, in.Amount, open); err != nil {
			return err
		}
		r := &baoguan.Refund{MerchantID: m.ID, OrderID: o.ID, MerchantOrderNo: o.MerchantOrderNo,
			MerchantRefundNo: in.RefundNo, Amount: in.Amount, Reason: in.Reason, Status: baoguan.RefundInit, Protocol: in.Protocol}
		if err := tx.CreateRefund(r); err != nil {
			return err
		}
		if err := q.add(baoguan.JobRefund, "refund:"+strconv.FormatInt(r.ID, 10), m.ID, r.ID, tx.Now()); err != nil {
			return err
		}
		out, created = r, true
		return nil
	})
	return out, created, err
}

// RefundByNo returns one of the merchant's refunds. ENOTFOUND.
func (s *Service) RefundByNo(ctx context.Context, m *baoguan.Merchant, no string) (*baoguan.Refund, error) {
	var r *baoguan.Refund
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		r, err = tx.RefundByNo(m.ID, no)
		return err
	})
	return r, err
}

// RefundNow is CreateRefund that also asks the channel at once, so the
// answer can carry the outcome; a refund the channel could not be asked
// about now, or answered "requested", is finished by its refund job.
// Errors: those of CreateRefund.
func (s *Service) RefundNow(ctx context.Context, m *baoguan.Merchant, in RefundInput) (*baoguan.Refund, bool, error) {
	r, created, err := s.CreateRefund(ctx, m, in)
	if err != nil || !created {
		return r, created, err
	}
	if _, err := s.refundStep(ctx, m.ID, r.ID, 1, nil); err != nil {
		s.Log.Warn("immediate refund failed; the refund job retries", "refund", r.MerchantRefundNo, "err", err)
		return r, created, nil
	}
	if now, err := s.RefundByNo(ctx, m, r.MerchantRefundNo); err == nil {
		r = now
	}
	return r, created, nil
}

// refundJob asks the channel to refund and records the outcome.
func (s *Service) refundJob(ctx context.Context, w *work) error {
	later, err := s.refundStep(ctx, w.job.MerchantID, w.job.RefID, w.job.Attempts, w)
	if err == nil && later {
		wait, ok := s.Retries[baoguan.JobRefund].Next(w.job.Attempts)
		if !ok {
			wait = s.Retries[baoguan.JobRefund][len(s.Retries[baoguan.JobRefund])-1]
		}
		return Later(wait)
	}
	return err
}

// refundStep asks the channel about a refund that has no outcome yet and
// records its answer, ending the job (w, nil outside the job) in the same
// transaction; later reports that the channel has not decided.
func (s *Service) refundStep(ctx context.Context, merchantID, refundID int64, attempt int, w *work) (later bool, err error) {
	var r *baoguan.Refund
	var o *baoguan.Order
	err = s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if r, err = tx.Refund(merchantID, refundID); err != nil {
			return err
		}
		o, err = tx.Order(r.MerchantID, r.OrderID)
		return err
	})
	if err != nil {
		return false, err
	}
	if r.Status != baoguan.RefundInit && r.Status != baoguan.RefundRequested {
		return false, nil
	}
	res, err := s.adapters(o.Sandbox).Channel.Refund(ctx, baoguan.RefundRequest{Refund: r, Order: o, Attempt: attempt, Now: s.Now()})
	s.Metrics.ChannelCalls.WithLabelValues("refund").Inc()
	if err != nil {
		return false, err
	}
	done := func(tx baoguan.Tx) error {
		if w == nil {
			return nil
		}
		return w.done(tx)
	}
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		later = false
		r, err := tx.Refund(merchantID, refundID)
		if err != nil {
			return err
		}
		if r.Status != baoguan.RefundInit && r.Status != baoguan.RefundRequested {
			return done(tx)
		}
		if res.RefundNo != "" {
			r.RefundNo = res.RefundNo
		}
		if r.Status == baoguan.RefundInit {
			if err := r.Move(baoguan.RefundRequested); err != nil {
				return err
			}
		}
		o, err := tx.Order(r.MerchantID, r.OrderID)
		if err != nil {
			return err
		}
		switch res.Status {
		case baoguan.RefundRequested, baoguan.RefundInit:
			later = true
			return tx.UpdateRefund(r)
		case baoguan.RefundSucceed:
			if err := r.Move(baoguan.RefundSucceed); err != nil {
				return err
			}
			if err := s.refunded(o, r); err != nil {
				return err
			}
			if err := tx.UpdateOrder(o); err != nil {
				return err
			}
			if err := tx.UpdateRefund(r); err != nil {
				return err
			}
			if err := s.emit(tx, q, baoguan.EventRefundSucceeded, o, nil, r); err != nil {
				return err
			}
		default:
			r.FailReason = baoguan.MaskPersonal(res.Reason) // a channel's text may quote the payer
			if err := r.Move(baoguan.RefundFailed); err != nil {
				return err
			}
			if err := tx.UpdateRefund(r); err != nil {
				return err
			}
			if err := s.emit(tx, q, baoguan.EventRefundFailed, o, nil, r); err != nil {
				return err
			}
		}
		return done(tx)
	})
	return later, err
}

// refunded adds a successful refund to its order's refunded total and
// fixes its CNY share, at the payment's recorded rate (Order.RefundCNY).
func (s *Service) refunded(o *baoguan.Order, r *baoguan.Refund) error {
	total, ok := baoguan.AddAmounts(o.Refunded, r.Amount)
	if !ok || total > o.Amount {
		// CheckRefund kept open refunds within the paid amount when this one
		// was accepted; a total above it is stored data that breaks the
		// rule, for an operator to look at, not a sum to wrap.
		return baoguan.Permanent(fmt.Errorf("refund %s of order %s: refunded total %d + %d exceeds the paid amount %d",
			r.MerchantRefundNo, o.MerchantOrderNo, o.Refunded, r.Amount, o.Amount))
	}
	r.CNYAmount = o.RefundCNY(o.Refunded, r.Amount)
	o.Refunded = total
	return nil
}
