package sqlstore

import (
	"time"
)

// Retention: deleting what is no longer needed, a little at a time. Jobs
// and attempts are walked in id order, which is the order they were
// created in, from a cursor the caller keeps: each call reads at most n
// ids by primary key and deletes among them, so its cost does not depend
// on how large the table has grown, and it stops at the first row too
// young to go, since every later row is younger still.

// purgeWindow reads up to n rows of table from id from upward and returns
// the last id of those created before before, whether it stopped at a
// young row, and whether it read n rows.
func (t *Tx) purgeWindow(table, createdCol string, from int64, n int, before time.Time) (last int64, stopped, full bool, err error) {
	count := 0
	last = from - 1
	err = t.each(`SELECT id, `+createdCol+` FROM `+table+` WHERE id >= ? ORDER BY id LIMIT ?`, []any{from, n}, func(s Scanner) error {
		var id, created int64
		if err := s.Scan(&id, &created); err != nil {
			return err
		}
		count++
		if stopped {
			return nil
		}
		if created >= ms(before) {
			stopped = true
			return nil
		}
		last = id
		return nil
	})
	return last, stopped, count == n, err
}

// PurgeDoneJobs deletes the done jobs among the next n from id from that
// finished before before, stopping at the first job created at or after
// it.
func (t *Tx) PurgeDoneJobs(from int64, n int, before time.Time) (int, int64, bool, error) {
	last, stopped, full, err := t.purgeWindow("jobs", "created_at", from, n, before)
	if err != nil || last < from {
		return 0, from, false, err
	}
	deleted, err := t.exec(`DELETE FROM jobs WHERE id >= ? AND id <= ? AND state = 'done' AND updated_at < ?`, from, last, ms(before))
	return int(deleted), last + 1, full && !stopped, err
}

// PurgeAttempts deletes, among the next n attempts from id from, those of
// events delivered before before, stopping at the first attempt made at or
// after it.
func (t *Tx) PurgeAttempts(from int64, n int, before time.Time) (int, int64, bool, error) {
	last, stopped, full, err := t.purgeWindow("attempts", "at", from, n, before)
	if err != nil || last < from {
		return 0, from, false, err
	}
	deleted, err := t.exec(`DELETE FROM attempts WHERE id >= ? AND id <= ? AND event_id IN
	(SELECT id FROM events WHERE id IN (SELECT event_id FROM attempts WHERE id >= ? AND id <= ?)
	 AND status = 'delivered' AND delivered_at < ?)`, from, last, from, last, ms(before))
	return int(deleted), last + 1, full && !stopped, err
}

// PurgeExpiredKeys deletes up to n idempotency records past their
// ExpiresAt (index idempotency_expires).
func (t *Tx) PurgeExpiredKeys(n int) (int, error) {
	deleted, err := t.exec(`DELETE FROM idempotency WHERE (merchant_id, idem_key) IN
	(SELECT merchant_id, idem_key FROM idempotency WHERE expires_at > 0 AND expires_at < ? ORDER BY expires_at LIMIT ?)`,
		ms(t.now), n)
	return int(deleted), err
}
