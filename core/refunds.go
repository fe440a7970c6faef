package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	if err := baoguan.CheckOrderNo("refund_no", in.RefundNo); err != nil {
		return nil, false, err
	}
	if err := baoguan.CheckOrderNo("order_no", in.OrderNo); err != nil {
		return nil, false, err
	}
	if in.Amount <= 0 {
		return nil, false, &baoguan.Error{Code: baoguan.EINVALID, Field: "amount", Reason: "bad_amount", Message: "refund amount must be a positive number of fen"}
	}
	h := sha256.Sum256([]byte(in.OrderNo + "\x00" + strconv.FormatInt(in.Amount, 10) + "\x00" + in.Reason))
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
		var open int64
		for _, r := range rs {
			if r.Status != baoguan.RefundFailed {
				open += r.Amount
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

// refundJob asks the channel to refund and records the outcome.
func (s *Service) refundJob(ctx context.Context, w *work) error {
	var r *baoguan.Refund
	var o *baoguan.Order
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if r, err = tx.Refund(w.job.MerchantID, w.job.RefID); err != nil {
			return err
		}
		o, err = tx.Order(r.MerchantID, r.OrderID)
		return err
	})
	if err != nil {
		return err
	}
	if r.Status != baoguan.RefundInit && r.Status != baoguan.RefundRequested {
		return nil
	}
	res, err := s.adapters(o.Sandbox).Channel.Refund(ctx, baoguan.RefundRequest{Refund: r, Order: o, Attempt: w.job.Attempts, Now: s.Now()})
	s.Metrics.ChannelCalls.WithLabelValues("refund").Inc()
	if err != nil {
		return err
	}
	var later bool
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		r, err := tx.Refund(w.job.MerchantID, w.job.RefID)
		if err != nil {
			return err
		}
		if r.Status != baoguan.RefundInit && r.Status != baoguan.RefundRequested {
			return w.done(tx)
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
			o.Refunded += r.Amount
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
			r.FailReason = res.Reason
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
		return w.done(tx)
	})
	if err == nil && later {
		wait, ok := s.Retries[baoguan.JobRefund].Next(w.job.Attempts)
		if !ok {
			wait = s.Retries[baoguan.JobRefund][len(s.Retries[baoguan.JobRefund])-1]
		}
		return Later(wait)
	}
	return err
}
