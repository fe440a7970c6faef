package sqlite

import (
	"github.com/baoguan/baoguan"
)

const (
	qInsertIdem = `INSERT INTO idempotency (merchant_id, idem_key, request_hash, status, body, created_at)
VALUES (?, ?, ?, ?, ?, ?)`
	qIdem = `SELECT merchant_id, idem_key, request_hash, status, body, created_at
FROM idempotency WHERE merchant_id = ? AND idem_key = ?`
)

func (t *tx) Idempotency(merchantID int64, key string) (*baoguan.IdemRecord, error) {
	r := new(baoguan.IdemRecord)
	var created int64
	found, err := t.one(qIdem, []any{merchantID, key}, func(s scanner) error {
		return s.Scan(&r.MerchantID, &r.Key, &r.RequestHash, &r.Status, &r.Body, &created)
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("idempotency key %s not found", quote(key))
	}
	r.CreatedAt = fromMS(created)
	return r, nil
}

// PutIdempotency records the first response only: a second record for the
// same key is ECONFLICT, so two racing requests cannot both be "first".
func (t *tx) PutIdempotency(r *baoguan.IdemRecord) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = t.now
	}
	body := r.Body
	if body == nil {
		body = []byte{} // the column is NOT NULL; a nil slice would bind as NULL
	}
	_, err := t.exec(qInsertIdem, r.MerchantID, r.Key, r.RequestHash, r.Status, body, ms(r.CreatedAt))
	if isUnique(err) {
		return duplicate("idempotency_key", "idempotency key %s was already used", quote(r.Key))
	}
	return err
}
