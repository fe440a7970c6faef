package sqlstore

import (
	"database/sql"

	"github.com/baoguan/baoguan"
)

// Receipts of asynchronous customs ports and the references of the
// declaration attempts they answer. A receipt's text and raw message come
// from outside and may quote the declaration (a payer's ID number in
// customs' explanation), so both are sealed.

const receiptCols = `r.id, r.port, r.ref, r.merchant_id, r.declaration_id, r.status, r.info, r.return_time, r.raw, r.source, r.received_at`

const (
	qInsertDeclarationRef = `INSERT INTO declaration_refs (port, ref, merchant_id, declaration_id, attempt, created_at)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (port, ref) DO NOTHING`
	qLinkReceipts = `UPDATE customs_receipts SET merchant_id = ?, declaration_id = ?
WHERE port = ? AND ref = ? AND declaration_id IS NULL`
	qDeclarationRef = `SELECT merchant_id, declaration_id FROM declaration_refs WHERE port = ? AND ref = ?`
	qInsertReceipt  = `INSERT INTO customs_receipts (port, ref, merchant_id, declaration_id, status, info, return_time, raw, source, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	qReceiptsByRef         = `SELECT ` + receiptCols + ` FROM customs_receipts r WHERE r.port = ? AND r.ref = ? ORDER BY r.return_time, r.id`
	qReceiptsOfDeclaration = `SELECT ` + receiptCols + ` FROM customs_receipts r
WHERE EXISTS (SELECT 1 FROM declaration_refs d WHERE d.port = r.port AND d.ref = r.ref AND d.declaration_id = ? AND d.merchant_id = ?)
ORDER BY r.return_time, r.id`
	qUnmatchedReceipts = `SELECT ` + receiptCols + ` FROM customs_receipts r
WHERE r.declaration_id IS NULL AND (? = '' OR r.port = ?) AND (? = 0 OR r.id < ?)
AND NOT EXISTS (SELECT 1 FROM declaration_refs d WHERE d.port = r.port AND d.ref = r.ref)
ORDER BY r.id DESC LIMIT `
)

// AddDeclarationRef records the ref of one attempt, and links receipts
// that came for it before it was recorded.
func (t *Tx) AddDeclarationRef(port, ref string, merchantID, declarationID int64, attempt int) error {
	if _, err := t.exec(qInsertDeclarationRef, port, ref, merchantID, declarationID, attempt, ms(t.now)); err != nil {
		if t.isForeignKey(err) {
			return notFound("declaration %d not found", declarationID)
		}
		return err
	}
	_, err := t.exec(qLinkReceipts, merchantID, declarationID, port, ref)
	return err
}

// AddCustomsReceipts stores receipts not stored yet, linked to the
// declaration that recorded their ref.
func (t *Tx) AddCustomsReceipts(rs []baoguan.CustomsReceipt) (int, error) {
	added := 0
	for i := range rs {
		r := &rs[i]
		var mid, did sql.NullInt64
		found, err := t.one(qDeclarationRef, []any{r.Port, r.Ref}, func(s Scanner) error { return s.Scan(&mid, &did) })
		if err != nil {
			return added, err
		}
		r.MerchantID, r.DeclarationID = 0, 0
		var mArg, dArg any // NULL unless found
		if found {
			r.MerchantID, r.DeclarationID = mid.Int64, did.Int64
			mArg, dArg = mid.Int64, did.Int64
		}
		if r.ReceivedAt.IsZero() {
			r.ReceivedAt = t.now
		}
		sl := t.sealer()
		info, raw := sl.seal(r.Info), sl.seal(r.Raw)
		if sl.err != nil {
			return added, sl.err
		}
		n, err := t.exec(qInsertReceipt, r.Port, r.Ref, mArg, dArg, r.Status, info, ms(r.ReturnTime), raw, r.Source, ms(r.ReceivedAt))
		if err != nil {
			return added, err
		}
		added += int(n)
	}
	return added, nil
}

func (t *Tx) receipts(q string, args ...any) ([]baoguan.CustomsReceipt, error) {
	var out []baoguan.CustomsReceipt
	err := t.each(q, args, func(s Scanner) error {
		var r baoguan.CustomsReceipt
		var mid, did sql.NullInt64
		var rt, at int64
		if err := s.Scan(&r.ID, &r.Port, &r.Ref, &mid, &did, &r.Status, &r.Info, &rt, &r.Raw, &r.Source, &at); err != nil {
			return err
		}
		r.MerchantID, r.DeclarationID, r.ReturnTime, r.ReceivedAt = mid.Int64, did.Int64, fromMS(rt), fromMS(at)
		sl := t.sealer()
		if r.Info, r.Raw = sl.openOrPlain(r.Info), sl.openOrPlain(r.Raw); sl.err != nil {
			return sl.err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// DeclarationReceipts lists the receipts of every ref the declaration
// recorded, oldest first.
func (t *Tx) DeclarationReceipts(merchantID, declarationID int64) ([]baoguan.CustomsReceipt, error) {
	return t.receipts(qReceiptsOfDeclaration, declarationID, merchantID)
}

// CustomsReceipts lists the receipts of one ref, oldest first.
func (t *Tx) CustomsReceipts(port, ref string) ([]baoguan.CustomsReceipt, error) {
	return t.receipts(qReceiptsByRef, port, ref)
}

// UnmatchedReceipts lists, newest first, receipts whose ref no declaration
// recorded.
func (t *Tx) UnmatchedReceipts(port string, p baoguan.Page) ([]baoguan.CustomsReceipt, error) {
	return t.receipts(qUnmatchedReceipts+itoa(int64(limit(p.Limit))), port, port, p.Cursor, p.Cursor)
}
