package sqlstore

import (
	"github.com/baoguan/baoguan"
)

const refundCols = `id, merchant_id, order_id, merchant_order_no, merchant_refund_no, amount, reason,
	status, fail_reason, refund_no, protocol, cny_amount, created_at, updated_at, version`

const (
	qInsertRefund = `INSERT INTO refunds (merchant_id, order_id, merchant_order_no, merchant_refund_no, amount,
	reason, status, fail_reason, refund_no, protocol, cny_amount, created_at, updated_at, version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
ON CONFLICT DO NOTHING
RETURNING id`

	// The order and the merchant's refund number identify the refund and
	// never change.
	qUpdateRefund = `UPDATE refunds SET amount = ?, reason = ?, status = ?, fail_reason = ?, refund_no = ?,
	protocol = ?, cny_amount = ?, updated_at = ?, version = version + 1
WHERE id = ? AND merchant_id = ? AND version = ?`

	qRefund       = `SELECT ` + refundCols + ` FROM refunds WHERE id = ? AND merchant_id = ?`
	qRefundByNo   = `SELECT ` + refundCols + ` FROM refunds WHERE merchant_id = ? AND merchant_refund_no = ?`
	qRefunds      = `SELECT ` + refundCols + ` FROM refunds WHERE order_id = ? AND merchant_id = ? ORDER BY id`
	qRefundExists = `SELECT 1 FROM refunds WHERE id = ? AND merchant_id = ?`
	qListRefunds  = `SELECT ` + refundCols + ` FROM refunds`
)

// CreateRefund inserts r at version 1. A refund number the merchant
// already used is ECONFLICT reason duplicate; a missing order is ENOTFOUND.
func (t *Tx) CreateRefund(r *baoguan.Refund) error {
	id, inserted, err := t.insertID(qInsertRefund, []any{r.MerchantID, r.OrderID, r.MerchantOrderNo, r.MerchantRefundNo,
		r.Amount, r.Reason, string(r.Status), r.FailReason, r.RefundNo, r.Protocol, r.CNYAmount, ms(t.now), ms(t.now)})
	switch {
	case t.isForeignKey(err):
		return notFound("order %d not found", r.OrderID)
	case err != nil:
		return err
	case !inserted: // the only unique key is (merchant, merchant_refund_no)
		return duplicate("merchant_refund_no", "refund %s already exists", quote(r.MerchantRefundNo))
	}
	r.ID, r.Version, r.CreatedAt, r.UpdatedAt = id, 1, t.now, t.now
	return nil
}

// UpdateRefund writes r if its Version is current and bumps it: ECONFLICT
// reason stale otherwise, ENOTFOUND if there is no such row.
func (t *Tx) UpdateRefund(r *baoguan.Refund) error {
	n, err := t.exec(qUpdateRefund, r.Amount, r.Reason, string(r.Status), r.FailReason, r.RefundNo,
		r.Protocol, r.CNYAmount, ms(t.now), r.ID, r.MerchantID, r.Version)
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

func scanRefund(sc Scanner, r *baoguan.Refund) error {
	var status string
	var created, updated int64
	if err := sc.Scan(&r.ID, &r.MerchantID, &r.OrderID, &r.MerchantOrderNo, &r.MerchantRefundNo, &r.Amount,
		&r.Reason, &status, &r.FailReason, &r.RefundNo, &r.Protocol, &r.CNYAmount, &created, &updated, &r.Version); err != nil {
		return err
	}
	r.Status = baoguan.RefundStatus(status)
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return nil
}

func (t *Tx) refundBy(q string, args []any, what string) (*baoguan.Refund, error) {
	r := new(baoguan.Refund)
	found, err := t.one(q, args, func(s Scanner) error { return scanRefund(s, r) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("refund %s not found", what)
	}
	return r, nil
}

// Refund reads one of the merchant's refunds by id; ENOTFOUND.
func (t *Tx) Refund(merchantID, id int64) (*baoguan.Refund, error) {
	return t.refundBy(qRefund, []any{id, merchantID}, itoa(id))
}

// RefundByNo reads one of the merchant's refunds by its number; ENOTFOUND.
func (t *Tx) RefundByNo(merchantID int64, no string) (*baoguan.Refund, error) {
	return t.refundBy(qRefundByNo, []any{merchantID, no}, quote(no))
}

// Refunds returns the order's refunds, oldest first.
func (t *Tx) Refunds(merchantID, orderID int64) ([]baoguan.Refund, error) {
	out := []baoguan.Refund{}
	err := t.each(qRefunds, []any{orderID, merchantID}, func(s Scanner) error {
		out = append(out, baoguan.Refund{})
		return scanRefund(s, &out[len(out)-1])
	})
	return out, err
}

// ListRefunds pages through a merchant's refunds by id, oldest first,
// within a creation-time range (index refunds_merchant_created).
func (t *Tx) ListRefunds(f baoguan.RefundFilter) ([]baoguan.Refund, error) {
	w := new(where)
	w.add("merchant_id = ?", f.MerchantID)
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	if !f.From.IsZero() {
		w.add("created_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		w.add("created_at < ?", ms(f.To))
	}
	if f.Cursor != 0 {
		w.add("id > ?", f.Cursor)
	}
	out := []baoguan.Refund{}
	err := t.each(qListRefunds+w.String()+" ORDER BY id LIMIT ?", append(w.args, limit(f.Limit)), func(s Scanner) error {
		out = append(out, baoguan.Refund{})
		return scanRefund(s, &out[len(out)-1])
	})
	return out, err
}
