package sqlstore

import (
	"database/sql"

	"github.com/baoguan/baoguan"
)

// Customs' requests for payment data (179) and the lookup of orders by the
// number customs gives, across merchants.

const (
	// Merchant by merchant, so each lookup uses the (merchant_id,
	// merchant_order_no) unique index: merchants are few, orders many.
	qOrdersByNumber = `SELECT o.merchant_id, o.id, 0 FROM merchants m JOIN orders o ON o.merchant_id = m.id AND o.merchant_order_no = ?
UNION ALL
SELECT d.merchant_id, d.order_id, d.id FROM declarations d WHERE d.sub_order_no = ? AND d.sub_order_no <> ''
ORDER BY 1, 2, 3`

	paymentDataCols = `id, service, session_id, order_no, merchant_no, merchant_id, order_id, declaration_id, service_time,
	state, code, message, attempts, received_at, updated_at`
	qInsertPaymentData = `INSERT INTO payment_data_requests (service, session_id, order_no, merchant_no, merchant_id, order_id,
	declaration_id, service_time, state, code, message, attempts, received_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (service, session_id) DO NOTHING RETURNING id`
	qPaymentData       = `SELECT ` + paymentDataCols + ` FROM payment_data_requests WHERE id = ?`
	qUpdatePaymentData = `UPDATE payment_data_requests SET state = ?, code = ?, message = ?, attempts = ?, updated_at = ? WHERE id = ?`
	qPaymentDataList   = `SELECT ` + paymentDataCols + ` FROM payment_data_requests WHERE (? = 0 OR id < ?) ORDER BY id DESC LIMIT `
)

// FindOrdersByNumber finds orders and sub-order declarations by number.
func (t *Tx) FindOrdersByNumber(no string) ([]baoguan.OrderMatch, error) {
	var out []baoguan.OrderMatch
	err := t.each(qOrdersByNumber, []any{no, no}, func(s Scanner) error {
		var m baoguan.OrderMatch
		if err := s.Scan(&m.MerchantID, &m.OrderID, &m.DeclarationID); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// CreatePaymentDataRequest stores r unless its session is stored.
func (t *Tx) CreatePaymentDataRequest(r *baoguan.PaymentDataRequest) (bool, error) {
	r.ReceivedAt, r.UpdatedAt = t.now, t.now
	id, inserted, err := t.insertID(qInsertPaymentData, []any{r.Service, r.SessionID, r.OrderNo, r.MerchantNo,
		nullID(r.MerchantID), nullID(r.OrderID), nullID(r.DeclarationID), ms(r.ServiceTime), r.State, r.Code, r.Message,
		r.Attempts, ms(t.now), ms(t.now)})
	if err != nil || !inserted {
		return false, err
	}
	r.ID = id
	return true, nil
}

func scanPaymentData(s Scanner, r *baoguan.PaymentDataRequest) error {
	var mid, oid, did sql.NullInt64
	var st, recv, upd int64
	if err := s.Scan(&r.ID, &r.Service, &r.SessionID, &r.OrderNo, &r.MerchantNo, &mid, &oid, &did, &st,
		&r.State, &r.Code, &r.Message, &r.Attempts, &recv, &upd); err != nil {
		return err
	}
	r.MerchantID, r.OrderID, r.DeclarationID = mid.Int64, oid.Int64, did.Int64
	r.ServiceTime, r.ReceivedAt, r.UpdatedAt = fromMS(st), fromMS(recv), fromMS(upd)
	return nil
}

// PaymentDataRequest reads one request.
func (t *Tx) PaymentDataRequest(id int64) (*baoguan.PaymentDataRequest, error) {
	var r baoguan.PaymentDataRequest
	found, err := t.one(qPaymentData, []any{id}, func(s Scanner) error { return scanPaymentData(s, &r) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("payment data request %d not found", id)
	}
	return &r, nil
}

// UpdatePaymentDataRequest writes a request's outcome.
func (t *Tx) UpdatePaymentDataRequest(r *baoguan.PaymentDataRequest) error {
	n, err := t.exec(qUpdatePaymentData, r.State, r.Code, r.Message, r.Attempts, ms(t.now), r.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("payment data request %d not found", r.ID)
	}
	r.UpdatedAt = t.now
	return nil
}

// PaymentDataRequests lists requests, newest first.
func (t *Tx) PaymentDataRequests(p baoguan.Page) ([]baoguan.PaymentDataRequest, error) {
	var out []baoguan.PaymentDataRequest
	err := t.each(qPaymentDataList+itoa(int64(limit(p.Limit))), []any{p.Cursor, p.Cursor}, func(s Scanner) error {
		var r baoguan.PaymentDataRequest
		if err := scanPaymentData(s, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
