package sqlstore

import (
	"time"

	"github.com/baoguan/baoguan"
)

const batchCols = `id, merchant_id, batch_no, total, amount, pay_calls, protocol, created_at, updated_at,
	loading_until, loaded, fingerprint`

const (
	qInsertBatch = `INSERT INTO batches (merchant_id, batch_no, total, amount, pay_calls, protocol, created_at, updated_at,
	loading_until, loaded, fingerprint)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`
	qUpdateBatch = `UPDATE batches SET batch_no = ?, total = ?, amount = ?, pay_calls = ?, protocol = ?, updated_at = ?
WHERE id = ? AND merchant_id = ?`
	qBatch = `SELECT ` + batchCols + ` FROM batches WHERE id = ? AND merchant_id = ?`
	// Loading batches are few; index batches_loading holds only them.
	qLoadingBatch = `SELECT ` + batchCols + ` FROM batches
WHERE merchant_id = ? AND fingerprint = ? AND loading_until > 0 ORDER BY id LIMIT 1`
	qStaleBatchLoads = `SELECT ` + batchCols + ` FROM batches
WHERE loading_until > 0 AND loading_until < ? ORDER BY id LIMIT ?`
	qLeaseBatch = `UPDATE batches SET loading_until = ?, loaded = ?, fingerprint = ?, updated_at = ?
WHERE id = ? AND merchant_id = ? AND loading_until = ?`
	qBatchOrderIDs = `SELECT id FROM orders WHERE batch_id = ? AND batch_id <> 0 AND merchant_id = ? ORDER BY id LIMIT ?`
	qDeleteBatch   = `DELETE FROM batches WHERE id = ? AND merchant_id = ?`
	qBatchExists   = `SELECT 1 FROM batches WHERE id = ? AND merchant_id = ?`
	qBatches       = `SELECT ` + batchCols + ` FROM batches WHERE merchant_id = ? AND loading_until = 0 AND (? = 0 OR id < ?)
ORDER BY id DESC LIMIT `

	// One pass over the batch's orders (index orders_merchant_batch) counts every
	// outcome; the CASE lists mirror baoguan.BatchSummary's documentation
	// (and BatchSummary.Add counts as they do: storetest BatchSummaryAdd).
	// PostgreSQL sums a BIGINT column into NUMERIC, hence the CAST.
	qBatchSummary = `SELECT COUNT(*),
	COALESCE(SUM(CASE WHEN pay_status = 'PAY_SUCCEED' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN pay_status = 'PAY_FAILED' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN declare_status = 'DECLARED' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN declare_status = 'DECLARE_FAILED' THEN 1 ELSE 0 END), 0),
	CAST(COALESCE(SUM(CASE WHEN pay_status = 'PAY_SUCCEED' THEN amount ELSE 0 END), 0) AS BIGINT),
	COALESCE(SUM(CASE WHEN pay_status IN ('PAY_FAILED', 'PAY_CANCELLED') OR pay_status = 'PAY_SUCCEED'
		AND declare_status IN ('DECLARED', 'DECLARE_FAILED', 'NOT_DECLARED') THEN 1 ELSE 0 END), 0)
FROM orders WHERE batch_id = ? AND batch_id <> 0 AND merchant_id = ?`
)

// CreateBatch inserts b; a missing merchant is ENOTFOUND.
func (t *Tx) CreateBatch(b *baoguan.Batch) error {
	id, inserted, err := t.insertID(qInsertBatch, []any{b.MerchantID, b.No, b.Total, b.Amount, b.PayCalls, b.Protocol, ms(t.now), ms(t.now),
		ms(b.LoadingUntil), b.Loaded, b.Fingerprint})
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

func scanBatch(s Scanner, b *baoguan.Batch) error {
	var created, updated, until int64
	if err := s.Scan(&b.ID, &b.MerchantID, &b.No, &b.Total, &b.Amount, &b.PayCalls, &b.Protocol, &created, &updated,
		&until, &b.Loaded, &b.Fingerprint); err != nil {
		return err
	}
	b.CreatedAt, b.UpdatedAt, b.LoadingUntil = fromMS(created), fromMS(updated), fromMS(until)
	return nil
}

// Batch reads one of the merchant's batches; ENOTFOUND.
func (t *Tx) Batch(merchantID, id int64) (*baoguan.Batch, error) {
	b := new(baoguan.Batch)
	found, err := t.one(qBatch, []any{id, merchantID}, func(s Scanner) error { return scanBatch(s, b) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("batch %d not found", id)
	}
	return b, nil
}

// Batches lists a merchant's loaded batches, newest first, a page at a time.
func (t *Tx) Batches(merchantID int64, p baoguan.Page) ([]baoguan.Batch, error) {
	out := []baoguan.Batch{}
	err := t.each(qBatches+itoa(int64(limit(p.Limit))), []any{merchantID, p.Cursor, p.Cursor}, func(s Scanner) error {
		out = append(out, baoguan.Batch{})
		return scanBatch(s, &out[len(out)-1])
	})
	return out, err
}

// LoadingBatch finds the merchant's loading batch with a fingerprint;
// ENOTFOUND.
func (t *Tx) LoadingBatch(merchantID int64, fingerprint string) (*baoguan.Batch, error) {
	b := new(baoguan.Batch)
	found, err := t.one(qLoadingBatch, []any{merchantID, fingerprint}, func(s Scanner) error { return scanBatch(s, b) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no loading batch with these orders")
	}
	return b, nil
}

// LeaseBatch writes b's lease, progress and fingerprint if its lease is
// still prev (a compare-and-set: two loaders of one batch cannot both go
// on); ECONFLICT reason batch_loading otherwise.
func (t *Tx) LeaseBatch(b *baoguan.Batch, prev time.Time) error {
	n, err := t.exec(qLeaseBatch, ms(b.LoadingUntil), b.Loaded, b.Fingerprint, ms(t.now), b.ID, b.MerchantID, ms(prev))
	if err != nil {
		return err
	}
	if n == 0 {
		return &baoguan.Error{Code: baoguan.ECONFLICT, Reason: "batch_loading",
			Message: "batch " + b.No + " is being loaded by another request"}
	}
	b.UpdatedAt = t.now
	return nil
}

// StaleBatchLoads lists loading batches whose lease ended before before.
func (t *Tx) StaleBatchLoads(before time.Time, n int) ([]baoguan.Batch, error) {
	out := []baoguan.Batch{}
	err := t.each(qStaleBatchLoads, []any{ms(before), n}, func(s Scanner) error {
		out = append(out, baoguan.Batch{})
		return scanBatch(s, &out[len(out)-1])
	})
	return out, err
}

// BatchOrderIDs returns the ids of up to n of a batch's orders (index
// orders_merchant_batch).
func (t *Tx) BatchOrderIDs(merchantID, batchID int64, n int) ([]int64, error) {
	var ids []int64
	err := t.each(qBatchOrderIDs, []any{batchID, merchantID, n}, func(s Scanner) error {
		var id int64
		if err := s.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// DeleteOrders deletes the merchant's orders with the given ids and their
// declarations.
func (t *Tx) DeleteOrders(merchantID int64, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if t.d.CheckedRefs {
		// Declarations name their order without a foreign key: the orders
		// are locked first, so that a declaration being inserted (which
		// locks its order FOR KEY SHARE) commits before its deletion below,
		// or finds its order gone.
		cond, arg := t.inIDs("id", ids)
		if err := t.each(`SELECT id FROM orders WHERE merchant_id = ? AND `+cond+` FOR UPDATE`, []any{merchantID, arg}, func(Scanner) error { return nil }); err != nil {
			return 0, err
		}
	}
	// By their orders: SQLite, which keeps no statistics, would otherwise
	// read every declaration of the merchant (declarations_merchant_created)
	// to find a chunk's. PostgreSQL's statistics choose the same index.
	cond, arg := t.inIDs("order_id", ids)
	if _, err := t.exec(`DELETE FROM declarations`+t.hint("declarations_target")+` WHERE merchant_id = ? AND `+cond, merchantID, arg); err != nil {
		return 0, err
	}
	cond, arg = t.inIDs("id", ids)
	n, err := t.exec(`DELETE FROM orders WHERE merchant_id = ? AND `+cond, merchantID, arg)
	return int(n), err
}

// DeleteBatch deletes a batch row.
func (t *Tx) DeleteBatch(merchantID, id int64) error {
	_, err := t.exec(qDeleteBatch, id, merchantID)
	return err
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
