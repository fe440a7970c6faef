package sqlstore

import (
	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
)

// Columns that earlier versions stored in plaintext and this one seals:
// rendered notification bodies (a payzero notification carries the
// payer's ID number and phone), delivery attempts (a receiver's answer may
// echo them), saved Idempotency-Key answers, customs receipts, the raw
// channel exchange of a payment, and what a real-name check returned about
// the card. Reading them accepts plaintext (openOrPlain, openBytes), and
// Reseal seals what is left once, when a store opens.
var resealColumns = []struct {
	table, col string
	blob       bool
}{
	{"events", "body", true}, // event_bodies where Dialect.BodiesApart
	{"attempts", "error", false},
	{"attempts", "response", false},
	{"customs_receipts", "info", false},
	{"customs_receipts", "raw", false},
	{"orders", "init_request", false},
	{"orders", "init_response", false},
	{"realname_checks", "birth", false},
	{"realname_checks", "addr", false},
}

// resealMarker is the setting that records that Reseal ran to the end, so
// that later starts do not read every row again; resealVersion changes
// when resealColumns gains columns.
const (
	resealMarker  = "store.resealed"
	resealVersion = "1"
	resealBatch   = 500
)

// Reseal seals every value of resealColumns (and saved idempotency
// answers) still in plaintext, in transactions of at most resealBatch rows
// each, and then records that it is done. update runs a function in one
// write transaction of the store. It returns how many values it sealed.
//
// A store calls it when it opens, after its migrations: sealing needs the
// data keys, which SQL migrations do not have. Running it twice (two
// PostgreSQL instances starting together) seals nothing twice: a value is
// sealed only while it reads as plaintext.
func Reseal(update func(fn func(t *Tx) error) error) (int, error) {
	done := false
	if err := update(func(t *Tx) error {
		v, err := t.Setting(resealMarker)
		if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
			return nil
		}
		done = v == resealVersion
		return err
	}); err != nil || done {
		return 0, err
	}
	total := 0
	for _, c := range resealColumns {
		var cursor int64
		for more := true; more; {
			err := update(func(t *Tx) error {
				table := c.table
				if table == "events" && t.d.BodiesApart {
					table = "event_bodies"
				}
				n, last, sealed, err := t.resealStep(table, c.col, c.blob, cursor)
				cursor, more, total = last, n == resealBatch, total+sealed
				return err
			})
			if err != nil {
				return total, err
			}
		}
	}
	var mid int64
	var key string
	for more := true; more; {
		err := update(func(t *Tx) error {
			n, sealed, err := t.resealIdempotency(&mid, &key)
			more, total = n == resealBatch, total+sealed
			return err
		})
		if err != nil {
			return total, err
		}
	}
	return total, update(func(t *Tx) error {
		_, err := t.PutSetting(resealMarker, resealVersion, false)
		return err
	})
}

// resealStep seals the plaintext values of table.col among the resealBatch
// rows after id cursor; it returns how many rows it read, the last id and
// how many values it sealed.
func (t *Tx) resealStep(table, col string, blob bool, cursor int64) (n int, last int64, sealed int, err error) {
	type row struct {
		id int64
		v  string
	}
	var plain []row
	last = cursor
	err = t.each(`SELECT id, `+col+` FROM `+table+` WHERE id > ? ORDER BY id LIMIT `+itoa(resealBatch), []any{cursor},
		func(s Scanner) error {
			var r row
			var b []byte
			if err := s.Scan(&r.id, &b); err != nil {
				return err
			}
			n, last, r.v = n+1, r.id, string(b)
			if r.v != "" && !keyring.IsSealed(r.v) && !(blob && keyring.IsSealedBytes(b)) {
				plain = append(plain, r)
			}
			return nil
		})
	if err != nil {
		return n, last, 0, err
	}
	for _, r := range plain {
		sl := t.sealer()
		var v any
		if blob {
			v = sl.sealBytes([]byte(r.v))
		} else {
			v = sl.seal(r.v)
		}
		if sl.err != nil {
			return n, last, sealed, sl.err
		}
		if _, err := t.exec(`UPDATE `+table+` SET `+col+` = ? WHERE id = ?`, v, r.id); err != nil {
			return n, last, sealed, err
		}
		sealed++
	}
	return n, last, sealed, nil
}

// resealIdempotency is resealStep for the saved answers of the idempotency
// table, keyed by (merchant_id, idem_key).
func (t *Tx) resealIdempotency(mid *int64, key *string) (n, sealed int, err error) {
	type row struct {
		mid  int64
		key  string
		body string
	}
	var plain []row
	err = t.each(`SELECT merchant_id, idem_key, body FROM idempotency WHERE merchant_id > ? OR (merchant_id = ? AND idem_key > ?)
ORDER BY merchant_id, idem_key LIMIT `+itoa(resealBatch), []any{*mid, *mid, *key},
		func(s Scanner) error {
			var r row
			var b []byte
			if err := s.Scan(&r.mid, &r.key, &b); err != nil {
				return err
			}
			n, *mid, *key, r.body = n+1, r.mid, r.key, string(b)
			if r.body != "" && !keyring.IsSealedBytes(b) {
				plain = append(plain, r)
			}
			return nil
		})
	if err != nil {
		return n, 0, err
	}
	for _, r := range plain {
		sl := t.sealer()
		v := sl.sealBytes([]byte(r.body))
		if sl.err != nil {
			return n, sealed, sl.err
		}
		if _, err := t.exec(`UPDATE idempotency SET body = ? WHERE merchant_id = ? AND idem_key = ?`, v, r.mid, r.key); err != nil {
			return n, sealed, err
		}
		sealed++
	}
	return n, sealed, nil
}
