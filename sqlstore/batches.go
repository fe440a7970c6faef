package sqlstore

import (
	"github.com/baoguan/baoguan"
)

const batchCols = `id, merchant_id, batch_no, total, amount, pay_calls, protocol, created_at, updated_at`

const (
	qInsertBatch = `INSERT INTO batches (merchant_id, batch_no, total, amount, pay_calls, protocol, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`
	qUpdateBatch = `UPDATE batches SET batch_no = ?, total = ?, amount = ?, pay_calls = ?, protocol = ?, updated_at = ?
WHERE id = ? AND merchant_id = ?`
	qBatch       = `SELECT ` + batchCols + ` FROM batches WHERE id = ? AND merchant_id = ?`
	qBatchExists = `SELECT 1 FROM batches WHERE id = ? AND merchant_id = ?`

	// One pass over the batch's orders (index orders_batch) counts every
	// outcome; the CASE lists mirror baoguan.BatchSummary's documentation.
	// PostgreSQL sums a BIGINT column into NUMERIC, hence the CAST.
	qBatchSummary = `SELECT COUNT(*),
	COALESCE(SUM(CASE WHEN pay_status = 'PAY_SUCCEED' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN pay_status = 'PAY_FAILED' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN declare_status = 'DECLARED' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN declare_status = 'DECLARE_FAILED' THEN 1 ELSE 0 END), 0),
	CAST(COALESCE(SUM(CASE WHEN pay_status = 'PAY_SUCCEED' THEN amount ELSE 0 END), 0) AS BIGINT),
	COALESCE(SUM(CASE WHEN pay_status IN ('PAY_FAILED', 'PAY_CANCELLED') OR pay_status = 'PAY_SUCCEED'
		AND declare_status IN ('DECLARED', 'DECLARE_FAILED', 'NOT_DECLARED') THEN 1 ELSE 0 END), 0)
FROM orders WHERE batch_id = ? AND merchant_id = ?`
)

// CreateBatch inserts b; a missing merchant is ENOTFOUND.
func (t *Tx) CreateBatch(b *baoguan.Batch) error {
	id, inserted, err := t.insertID(qInsertBatch, []any{b.MerchantID, b.No, b.Total, b.Amount, b.PayCalls, b.Protocol, ms(t.now), ms(t.now)})
	switch {
	case t.isForeignKey(err):
		return notFound("merchant %d not found", b.MerchantID)
	case err != nil:
		return err
	case !inserted:
		return errNoRow
	}
	b.ID, b.CreatedAt, b.UpdatedAt = id, t.now, t.now
	return nil
}

// UpdateBatch writes b; ENOTFOUND unless it is the merchant's.
func (t *Tx) UpdateBatch(b *baoguan.Batch) error {
	n, err := t.exec(qUpdateBatch, b.No, b.Total, b.Amount, b.PayCalls, b.Protocol, ms(t.now), b.ID, b.MerchantID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("batch %d not found", b.ID)
	}
	b.UpdatedAt = t.now
	return nil
}

// Batch reads one of the merchant's batches; ENOTFOUND.
func (t *Tx) Batch(merchantID, id int64) (*baoguan.Batch, error) {
	b := new(baoguan.Batch)
	var created, updated int64
	found, err := t.one(qBatch, []any{id, merchantID}, func(s Scanner) error {
		return s.Scan(&b.ID, &b.MerchantID, &b.No, &b.Total, &b.Amount, &b.PayCalls, &b.Protocol, &created, &updated)
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("batch %d not found", id)
	}
	b.CreatedAt, b.UpdatedAt = fromMS(created), fromMS(updated)
	return b, nil
}

// BatchSummary counts the outcomes of a batch's orders; ENOTFOUND.
func (t *Tx) BatchSummary(merchantID, id int64) (baoguan.BatchSummary, error) {
	var s baoguan.BatchSummary
	ok, err := t.exists(qBatchExists, id, merchantID)
	if err != nil {
		return s, err
	}
	if !ok {
		return s, notFound("batch %d not found", id)
	}
	_, err = t.one(qBatchSummary, []any{id, merchantID}, func(sc Scanner) error {
		return sc.Scan(&s.Total, &s.PaySucceed, &s.PayFailed, &s.DeclareSucceed, &s.DeclareFailed, &s.PaidAmount, &s.Finished)
	})
	s.PayOther = s.Total - s.PaySucceed - s.PayFailed
	s.DeclareOther = s.Total - s.DeclareSucceed - s.DeclareFailed
	return s, err
}
