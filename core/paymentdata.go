package core

import (
	"context"
	"errors"
	"time"

	"github.com/baoguan/baoguan"
)

// Payment data requests: customs asks a platform for the raw data of an
// order's payment (GACC announcement 2018 No. 179). The request is recorded
// and answered at once; a job uploads the data through Service.PaymentData.

// DataRequest is customs' request as it came.
type DataRequest struct {
	OrderNo     string
	SessionID   string
	ServiceTime time.Time
	// MerchantNo narrows the search to one merchant when customs called
	// that merchant's own address; "" searches every merchant.
	MerchantNo string
}

// RequestPaymentData records a request of customs and queues its upload.
// It finds the order (or sub-order) by number; a number no order has, or
// that several merchants' orders have (at the shared address), is recorded
// with state unknown_order or ambiguous, logged, and not uploaded: customs
// is still answered that the request was taken, as it expects. A second
// request with the same session is not recorded again (repeat is true).
// Errors: EINVALID when no service uploads payment data.
func (s *Service) RequestPaymentData(ctx context.Context, in DataRequest) (r *baoguan.PaymentDataRequest, repeat bool, err error) {
	if s.PaymentData == nil {
		return nil, false, &baoguan.Error{Code: baoguan.EINVALID, Reason: "no_payment_data_service",
			Message: "this installation does not answer customs' payment data requests"}
	}
	r = &baoguan.PaymentDataRequest{Service: s.PaymentData.Name(), SessionID: in.SessionID, OrderNo: in.OrderNo,
		MerchantNo: in.MerchantNo, ServiceTime: in.ServiceTime, State: baoguan.DataQueued}
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		r.MerchantID, r.OrderID, r.DeclarationID, r.State = 0, 0, 0, baoguan.DataQueued
		matches, err := tx.FindOrdersByNumber(in.OrderNo)
		if err != nil {
			return err
		}
		if in.MerchantNo != "" {
			m, err := tx.MerchantByNo(in.MerchantNo)
			if err != nil && baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
				return err
			}
			var mine []baoguan.OrderMatch
			for _, x := range matches {
				if m != nil && x.MerchantID == m.ID {
					mine = append(mine, x)
				}
			}
			matches = mine
		}
		switch {
		case len(matches) == 0:
			r.State = baoguan.DataUnknownOrder
		case len(matches) > 1:
			r.State = baoguan.DataAmbiguous
		default:
			r.MerchantID, r.OrderID, r.DeclarationID = matches[0].MerchantID, matches[0].OrderID, matches[0].DeclarationID
		}
		inserted, err := tx.CreatePaymentDataRequest(r)
		if err != nil {
			return err
		}
		repeat = !inserted
		if inserted && r.State == baoguan.DataQueued {
			return q.add(baoguan.JobPaymentData, "payment_data:"+r.Service+":"+r.SessionID, r.MerchantID, r.ID, tx.Now())
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	switch {
	case repeat:
		s.Log.Info("payment data request repeated", "session", r.SessionID, "order_no", r.OrderNo)
	case r.State == baoguan.DataUnknownOrder:
		s.Log.Warn("payment data request for an unknown order number kept", "session", r.SessionID, "order_no", r.OrderNo, "merchant_no", r.MerchantNo)
	case r.State == baoguan.DataAmbiguous:
		s.Log.Warn("payment data request for an order number several merchants use kept; give each merchant its own address", "session", r.SessionID, "order_no", r.OrderNo)
	}
	return r, repeat, nil
}

// PaymentDataRequests lists customs' requests, newest first. Operators only.
func (s *Service) PaymentDataRequests(ctx context.Context, p baoguan.Page) ([]baoguan.PaymentDataRequest, error) {
	var out []baoguan.PaymentDataRequest
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.PaymentDataRequests(p)
		return err
	})
	return out, err
}

// paymentDataJob uploads the data of one request and records customs'
// answer. A refusal is final (failed, with the answer); other failures are
// retried on the job's schedule, and the last one records the request as
// failed.
func (s *Service) paymentDataJob(ctx context.Context, w *work) error {
	var u baoguan.PaymentDataUpload
	err := s.view(ctx, func(tx baoguan.Tx) error {
		r, err := tx.PaymentDataRequest(w.job.RefID)
		if err != nil {
			return err
		}
		u.Request = r
		if r.State != baoguan.DataQueued {
			return nil
		}
		if u.Order, err = tx.Order(r.MerchantID, r.OrderID); err != nil {
			return err
		}
		if u.Merchant, err = tx.Merchant(r.MerchantID); err != nil {
			return err
		}
		if r.DeclarationID != 0 {
			u.Declaration, err = tx.Declaration(r.MerchantID, r.DeclarationID)
		}
		return err
	})
	if err != nil {
		return err
	}
	r := u.Request
	if r.State != baoguan.DataQueued || s.PaymentData == nil {
		return nil
	}
	u.Now = s.Now()
	// The uploader's calls (signing service, customs) are stored with the
	// request's outcome or retry, under the order they concern.
	rctx := baoguan.WithCallRecorder(ctx, func(c baoguan.UpstreamCall) {
		c.MerchantID, c.OrderID, c.DeclarationID, c.Attempt = r.MerchantID, r.OrderID, r.DeclarationID, r.Attempts+1
		w.record(c)
	})
	ans, err := s.PaymentData.UploadPaymentData(rctx, u)
	s.Metrics.PortCalls.WithLabelValues("payment_data").Inc()
	var perm *baoguan.PermanentError
	last := w.job.Attempts >= w.job.MaxAttempts
	if err != nil && !errors.As(err, &perm) && !last {
		s.Log.Warn("payment data upload failed; retrying", "session", r.SessionID, "order_no", r.OrderNo, "err", err)
		uerr := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
			r.Attempts++
			r.Message = err.Error()
			return tx.UpdatePaymentDataRequest(r)
		})
		return errors.Join(err, uerr)
	}
	r.Attempts++
	r.Code, r.Message = ans.Code, ans.Message
	r.State = baoguan.DataUploaded
	if err != nil {
		r.State = baoguan.DataFailed
		if r.Message == "" {
			r.Message = err.Error()
		}
		s.Log.Error("payment data upload failed for good", "session", r.SessionID, "order_no", r.OrderNo, "code", ans.Code, "err", err)
	}
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		if err := tx.UpdatePaymentDataRequest(r); err != nil {
			return err
		}
		if err := s.storeCalls(tx, w); err != nil {
			return err
		}
		return w.done(tx)
	})
	if err == nil {
		s.committed(w)
	}
	return err
}
