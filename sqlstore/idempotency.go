package sqlstore

import (
	"encoding/json"

	"github.com/baoguan/baoguan"
)

const (
	qInsertIdem = `INSERT INTO idempotency (merchant_id, idem_key, request_hash, status, body, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`
	qIdem = `SELECT merchant_id, idem_key, request_hash, status, body, created_at, expires_at
FROM idempotency WHERE merchant_id = ? AND idem_key = ?`

	// qLockKey takes a transaction-scoped advisory lock on (merchant, key)
	// on PostgreSQL. hashtextextended seeds the 64-bit hash of the key with
	// the merchant id; two keys sharing a hash only wait for each other.
	qLockKey = `SELECT pg_advisory_xact_lock(hashtextextended(?, ?))`
)

// Idempotency returns the record stored under key. In a write transaction
// on a concurrent dialect it first locks the key until the transaction
// ends: a caller that reads a key to decide what to write (a batch
// number's record names the batch to go on with) and then inserts it
// keeps other transactions out of that decision, as SQLite's single writer
// does. (Taking a key outright needs no lock: core inserts it first, with
// ON CONFLICT DO NOTHING, which waits for a concurrent insert of the same
// key to end, and reads it only when the insert was skipped.)
func (t *Tx) Idempotency(merchantID int64, key string) (*baoguan.IdemRecord, error) {
	if t.write && t.d.Concurrent {
		if _, err := t.exec(qLockKey, key, merchantID); err != nil {
			return nil, err
		}
	}
	r := new(baoguan.IdemRecord)
	var created, expires int64
	found, err := t.one(qIdem, []any{merchantID, key}, func(s Scanner) error {
		return s.Scan(&r.MerchantID, &r.Key, &r.RequestHash, &r.Status, &r.Body, &created, &expires)
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("idempotency key %s not found", quote(key))
	}
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	sl := t.sealer()
	if r.Body = sl.openBytes(r.Body); sl.err != nil {
		return nil, sl.err
	}
	return r, nil
}

// PutIdempotency records the first response only: a second record for the
// same key is ECONFLICT, so two racing requests cannot both be "first".
func (t *Tx) PutIdempotency(r *baoguan.IdemRecord) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = t.now
	}
	// A saved answer may carry what the request did (a payer's ID number
	// in a protocol's echo of the order): sealed like other personal data.
	sl := t.sealer()
	body := sl.sealBytes(r.Body)
	if sl.err != nil {
		return sl.err
	}
	n, err := t.exec(qInsertIdem, r.MerchantID, r.Key, r.RequestHash, r.Status, body, ms(r.CreatedAt), ms(r.ExpiresAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return duplicate("idempotency_key", "idempotency key %s was already used", quote(r.Key))
	}
	return nil
}

const qUpdateIdem = `UPDATE idempotency SET request_hash = ?, status = ?, body = ?, created_at = ?, expires_at = ?
WHERE merchant_id = ? AND idem_key = ?`

// UpdateIdempotency rewrites an existing record: a response saved after the
// effect whose transaction took the key. ENOTFOUND when there is none.
func (t *Tx) UpdateIdempotency(r *baoguan.IdemRecord) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = t.now
	}
	sl := t.sealer()
	body := sl.sealBytes(r.Body)
	if sl.err != nil {
		return sl.err
	}
	n, err := t.exec(qUpdateIdem, r.RequestHash, r.Status, body, ms(r.CreatedAt), ms(r.ExpiresAt), r.MerchantID, r.Key)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("idempotency key %s not found", quote(r.Key))
	}
	return nil
}

// DeleteIdempotency deletes the merchant's records of keys.
func (t *Tx) DeleteIdempotency(merchantID int64, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	var cond string
	var arg any
	if t.d.Numbered {
		cond, arg = "idem_key = ANY(?)", keys
	} else {
		b, err := json.Marshal(keys)
		if err != nil {
			return err
		}
		cond, arg = "idem_key IN (SELECT value FROM json_each(?))", string(b)
	}
	_, err := t.exec(`DELETE FROM idempotency WHERE merchant_id = ? AND `+cond, merchantID, arg)
	return err
}
