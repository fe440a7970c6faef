package sqlite

import (
	"github.com/baoguan/baoguan"
)

const refundCols = `id, merchant_id, order_id, merchant_order_no, merchant_refund_no, amount, reason,
	status, fail_reason, refund_no, protocol, created_at, updated_at, version`

const (
	qInsertRefund = `INSERT INTO refunds (merchant_id, order_id, merchant_order_no, merchant_refund_no, amount,
	reason, status, fail_reason, refund_no, protocol, created_at, updated_at, version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
RETURNING id`

	// The order and the merchant's refund number identify the refund and
	// never change.
	qUpdateRefund = `UPDATE refunds SET amount = ?, reason = ?, status = ?, fail_reason = ?, refund_no = ?,
	protocol = ?, updated_at = ?, version = version + 1
WHERE id = ? AND merchant_id = ? AND version = ?`

	qRefund       = `SELECT ` + refundCols + ` FROM refunds WHERE id = ? AND merchant_id = ?`
	qRefundByNo   = `SELECT ` + refundCols + ` FROM refunds WHERE merchant_id = ? AND merchant_refund_no = ?`
	qRefunds      = `SELECT ` + refundCols + ` FROM refunds WHERE order_id = ? AND merchant_id = ? ORDER BY id`
	qRefundExists = `SELECT 1 FROM refunds WHERE id = ? AND merchant_id = ?`
)

func (t *tx) CreateRefund(r *baoguan.Refund) error {
	var id int64
	found, err := t.one(qInsertRefund, []any{r.MerchantID, r.OrderID, r.MerchantOrderNo, r.MerchantRefundNo,
		r.Amount, r.Reason, string(r.Status), r.FailReason, r.RefundNo, r.Protocol, ms(t.now), ms(t.now)},
		func(s scanner) error { return s.Scan(&id) })
	switch {
	case isUnique(err):
		return duplicate("merchant_refund_no", "refund %s already exists", quote(r.MerchantRefundNo))
	case isForeignKey(err):
		return notFound("order %d not found", r.OrderID)
	case err != nil:
		return err
	case !found:
		return errNoReturning
	}
	r.ID, r.Version, r.CreatedAt, r.UpdatedAt = id, 1, t.now, t.now
	return nil
}

func (t *tx) UpdateRefund(r *baoguan.Refund) error {
	n, err := affected(t.exec(qUpdateRefund, r.Amount, r.Reason, string(r.Status), r.FailReason, r.RefundNo,
		r.Protocol, ms(t.now), r.ID, r.MerchantID, r.Version))
	if err != nil {
		return err
	}
	if n == 0 {
		ok, err := t.exists(qRefundExists, r.ID, r.MerchantID)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("refund %d not found", r.ID)
		}
		return stale("refund %s", quote(r.MerchantRefundNo))
	}
	r.Version++
	r.UpdatedAt = t.now
	return nil
}

func scanRefund(sc scanner, r *baoguan.Refund) error {
	var status string
	var created, updated int64
	if err := sc.Scan(&r.ID, &r.MerchantID, &r.OrderID, &r.MerchantOrderNo, &r.MerchantRefundNo, &r.Amount,
		&r.Reason, &status, &r.FailReason, &r.RefundNo, &r.Protocol, &created, &updated, &r.Version); err != nil {
		return err
	}
	r.Status = baoguan.RefundStatus(status)
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return nil
}

func (t *tx) refundBy(q string, args []any, what string) (*baoguan.Refund, error) {
	r := new(baoguan.Refund)
	found, err := t.one(q, args, func(s scanner) error { return scanRefund(s, r) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("refund %s not found", what)
	}
	return r, nil
}

func (t *tx) Refund(merchantID, id int64) (*baoguan.Refund, error) {
	return t.refundBy(qRefund, []any{id, merchantID}, itoa(id))
}

func (t *tx) RefundByNo(merchantID int64, no string) (*baoguan.Refund, error) {
	return t.refundBy(qRefundByNo, []any{merchantID, no}, quote(no))
}

// Refunds returns the order's refunds, oldest first.
func (t *tx) Refunds(merchantID, orderID int64) ([]baoguan.Refund, error) {
	out := []baoguan.Refund{}
	err := t.each(qRefunds, []any{orderID, merchantID}, func(s scanner) error {
		out = append(out, baoguan.Refund{})
		return scanRefund(s, &out[len(out)-1])
	})
	return out, err
}
