package sqlstore

import (
	"time"

	"github.com/baoguan/baoguan"
)

// The order as its own pay queue: an order whose pay_due_at is set (> 0)
// waits for its payment to be asked for, due at pay_due_at, without a pay
// job row (see baoguan.Order.PayDueAt and core's runner). Index
// orders_pay_due holds only such orders, so a claim reads a short index
// however many orders the table holds, and an order leaves it when its
// own UPDATE sets pay_due_at back to 0.

const (
	qDueOrderPays = `SELECT id, merchant_id, pay_due_at, created_at FROM orders
WHERE pay_due_at > 0 AND pay_due_at <= ? ORDER BY pay_due_at, id LIMIT ?`
	// On PostgreSQL several batch transactions claim at once: each locks
	// the orders it takes, and passes over those another holds, until it
	// ends. FOR NO KEY UPDATE is the lock the order's UPDATE takes anyway,
	// and leaves inserts that reference the order (its events) unblocked.
	qDueOrderPaysLocked = qDueOrderPays + ` FOR NO KEY UPDATE SKIP LOCKED`

	// qQueueOrderPays leaves out an order whose round already has a pay job
	// row (core's key, as qEnqueuePayJobs writes it). dedupe_key <> '' lets
	// SQLite look the key up in the partial index jobs_dedupe; without it
	// each order read the whole jobs table.
	qQueueOrderPays = `UPDATE orders SET pay_due_at = ?
WHERE batch_id = ? AND batch_id <> 0 AND merchant_id = ? AND sandbox = ? AND pay_status = 'NOT_PAYED' AND pay_due_at = 0
AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.dedupe_key = 'pay:' || orders.id || ':' || orders.pay_attempts AND jobs.dedupe_key <> '')`

	qDequeueOrderPays = `UPDATE orders SET pay_due_at = 0 WHERE `

	qCountOrderPays = `SELECT COUNT(*), COUNT(CASE WHEN pay_due_at <= ? THEN 1 END)
FROM orders WHERE pay_due_at > 0`
)

// DueOrderPays takes up to n orders whose payment is due now, oldest
// first, as pay jobs without a row (ID 0, attempt 1, RefID the order, RunAt
// when it was due, CreatedAt when the order was): see baoguan.Tx. They stay queued in the table until
// the transaction sets their pay_due_at; on a concurrent dialect they are
// locked until it ends.
func (t *Tx) DueOrderPays(n int) ([]baoguan.Job, error) {
	if n <= 0 {
		return nil, nil
	}
	q := qDueOrderPays
	if t.d.Concurrent {
		q = qDueOrderPaysLocked
	}
	var out []baoguan.Job
	// One row's place for every row: Scan takes their addresses, which
	// put them on the heap, a job and two integers a row.
	var due, created int64
	var j baoguan.Job
	err := t.each(q, []any{ms(t.now), n}, func(s Scanner) error {
		j = baoguan.Job{Kind: baoguan.JobPay, State: baoguan.JobRunning, Attempts: 1}
		if err := s.Scan(&j.RefID, &j.MerchantID, &due, &created); err != nil {
			return err
		}
		j.RunAt, j.CreatedAt = fromMS(due), fromMS(created)
		out = append(out, j)
		return nil
	})
	return out, err
}

// DequeueOrderPays sets pay_due_at back to 0 on the orders: see
// baoguan.Tx. The version stays: the column is the queue's, and an UPDATE
// of the order names it only when it changed it (images.go).
func (t *Tx) DequeueOrderPays(ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	in, arg := t.inIDs("id", ids)
	_, err := t.exec(qDequeueOrderPays+in, arg)
	return err
}

// QueueOrderPays queues on the orders themselves, due now, the payment of
// each NOT_PAYED order of the batch whose sandbox flag is sandbox, unless
// it is queued already (on the order or by a pay job row of its round);
// it returns how many it queued.
func (t *Tx) QueueOrderPays(merchantID, batchID int64, sandbox bool) (int, error) {
	n, err := t.exec(qQueueOrderPays, ms(t.now), batchID, merchantID, sandbox)
	t.enqueued += int(n)
	return int(n), err
}

// CountOrderPays counts the payments queued on orders, and of them those
// due at now.
func (t *Tx) CountOrderPays(now time.Time) (queued, due int, err error) {
	_, err = t.one(qCountOrderPays, []any{ms(now)}, func(s Scanner) error { return s.Scan(&queued, &due) })
	return queued, due, err
}
