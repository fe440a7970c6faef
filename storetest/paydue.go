package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// testOrderPayQueue: an order whose PayDueAt is set is its own pay queue.
// DueOrderPays takes the due ones, oldest first, as pay jobs without a row
// (CreatedAt the order's);
// QueueOrderPays queues a batch's NOT_PAYED orders of one sandbox flag,
// passing over a round queued already (on the order or by a pay job row),
// and EnqueuePayJobs then leaves the orders queued on themselves out;
// CountOrderPays counts them; an UPDATE of the order that does not change
// PayDueAt leaves the queue as it is, DequeueOrderPays takes orders off it
// whatever their version.
func testOrderPayQueue(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	b := &baoguan.Batch{MerchantID: m.ID, No: "B-Q", Total: 4, Amount: 400}
	var now time.Time
	var pushed, later, held *baoguan.Order
	var os []*baoguan.Order
	update(t, s, func(tx baoguan.Tx) error {
		now = tx.Now()
		pushed, later, held = sampleOrder(m, "Q-PUSH"), sampleOrder(m, "Q-LATER"), sampleOrder(m, "Q-HELD")
		pushed.PayDueAt, later.PayDueAt = now, now.Add(time.Hour)
		for _, o := range []*baoguan.Order{pushed, later, held} {
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
		}
		if err := tx.CreateBatch(b); err != nil {
			return err
		}
		// 0 and 3 sandbox, 1 live, 2 paid, 4 sandbox with its round's pay job row.
		for i := range 5 {
			o := sampleOrder(m, fmt.Sprintf("Q-B%d", i))
			o.BatchID, o.Sandbox = b.ID, i != 1
			if i == 2 {
				o.PayStatus = baoguan.PaySucceed
			}
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
			os = append(os, o)
		}
		_, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: fmt.Sprintf("pay:%d:1", os[4].ID), MerchantID: m.ID, RefID: os[4].ID})
		return err
	})
	view(t, s, func(tx baoguan.Tx) error {
		o, err := tx.Order(m.ID, pushed.ID)
		if err != nil {
			return err
		}
		if !o.PayDueAt.Equal(now) {
			t.Errorf("PayDueAt read back %v, want %v", o.PayDueAt, now)
		}
		return nil
	})
	advance(t, s, time.Second)
	var queued, rows int
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		if queued, err = tx.QueueOrderPays(m.ID, b.ID, true); err != nil {
			return err
		}
		rows, err = tx.EnqueuePayJobs(m.ID, b.ID, 5)
		return err
	})
	if queued != 2 || rows != 1 {
		t.Errorf("QueueOrderPays queued %d (want 2: Q-B0, Q-B3), EnqueuePayJobs %d (want 1: Q-B1)", queued, rows)
	}
	view(t, s, func(tx baoguan.Tx) error {
		q, due, err := tx.CountOrderPays(tx.Now())
		if err != nil {
			return err
		}
		if q != 4 || due != 3 {
			t.Errorf("CountOrderPays: %d queued, %d due; want 4 and 3", q, due)
		}
		js, err := tx.ListJobs(baoguan.JobFilter{Kind: baoguan.JobPay})
		if err != nil {
			return err
		}
		if len(js) != 2 || js[1].RefID != os[1].ID {
			t.Errorf("pay job rows %+v, want Q-B4's and Q-B1's", js)
		}
		return nil
	})
	update(t, s, func(tx baoguan.Tx) error {
		got, err := tx.DueOrderPays(2)
		if err != nil {
			return err
		}
		want := []baoguan.Job{
			{Kind: baoguan.JobPay, State: baoguan.JobRunning, Attempts: 1, RefID: pushed.ID, MerchantID: m.ID, RunAt: now, CreatedAt: pushed.CreatedAt},
			{Kind: baoguan.JobPay, State: baoguan.JobRunning, Attempts: 1, RefID: os[0].ID, MerchantID: m.ID, RunAt: now.Add(time.Second),
				CreatedAt: os[0].CreatedAt},
		}
		same(t, "DueOrderPays(2)", got, want)
		// An UPDATE that leaves PayDueAt leaves the queue.
		o, err := tx.Order(m.ID, os[0].ID)
		if err != nil {
			return err
		}
		o.Subject = "changed"
		if err := tx.UpdateOrder(o); err != nil {
			return err
		}
		// One that clears it, and DequeueOrderPays, take orders off.
		p, err := tx.Order(m.ID, pushed.ID)
		if err != nil {
			return err
		}
		p.PayDueAt = time.Time{}
		if err := tx.UpdateOrder(p); err != nil {
			return err
		}
		return tx.DequeueOrderPays([]int64{os[3].ID})
	})
	update(t, s, func(tx baoguan.Tx) error {
		got, err := tx.DueOrderPays(10)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].RefID != os[0].ID {
			t.Errorf("due after the updates: %+v, want Q-B0 alone", got)
		}
		o, err := tx.Order(m.ID, os[3].ID)
		if err != nil {
			return err
		}
		if !o.PayDueAt.IsZero() || o.Version != os[3].Version {
			t.Errorf("dequeued order: due %v version %d, want zero and %d", o.PayDueAt, o.Version, os[3].Version)
		}
		return nil
	})
}

// testOrderPayConcurrentClaims: transactions taking due orders at once
// (PostgreSQL: several batches, several processes) each take an order
// once, every order once.
func testOrderPayConcurrentClaims(t *testing.T, s baoguan.Store) {
	const orders, workers = 120, 8
	m := newMerchant(t, s, "acme")
	update(t, s, func(tx baoguan.Tx) error {
		for i := range orders {
			o := sampleOrder(m, fmt.Sprint("C-", i))
			o.PayDueAt = tx.Now()
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
		}
		return nil
	})
	takeConcurrently(t, s, baoguan.LongUpdate(context.Background()), workers, orders, "order", func(tx baoguan.Tx) ([]int64, error) {
		got, err := tx.DueOrderPays(7)
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(got))
		for i, j := range got {
			ids[i] = j.RefID
		}
		time.Sleep(time.Millisecond) // others claim meanwhile
		return ids, tx.DequeueOrderPays(ids)
	})
}
