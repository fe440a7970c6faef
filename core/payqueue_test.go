package core_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// diesStore rolls back every write transaction while dying is set, as
// when the process stops before the commit.
type diesStore struct {
	baoguan.Store
	dying bool
}

func (d *diesStore) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	err := d.Store.Update(ctx, func(tx baoguan.Tx) error {
		if err := fn(tx); err != nil || !d.dying {
			return err
		}
		return errors.New("the process stopped before the commit")
	})
	return err
}

// TestOrderPayQueue: a pushed order whose payment an in-process adapter
// makes is queued on the order itself, with no pay job row; `baoguan
// jobs` counts it as a queued pay job and Busy as work due. The runner's
// batch pays and declares it and takes it off the queue; a batch whose
// transaction never commits (the process died) leaves it due, and the
// next one pays it, once.
func TestOrderPayQueue(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			ds := &diesStore{Store: openKind(t, kind, c.Now)}
			e := envOn(t, ds, c, nil)
			svc := e.svc
			nos := []string{"Q-1", "Q-2", "Q-3"}
			for _, no := range nos {
				e.order(t, no, "110105199001011232", baoguan.ChannelAuto, 100)
			}
			check := func(when string, queued, rows int) {
				t.Helper()
				counts, err := svc.JobCounts(ctx)
				if err != nil {
					t.Fatal(err)
				}
				js, err := svc.Jobs(ctx, baoguan.JobFilter{Kind: baoguan.JobPay})
				if err != nil {
					t.Fatal(err)
				}
				busy, err := svc.Busy(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if counts[baoguan.JobQueued][baoguan.JobPay] != queued || len(js) != rows || busy != queued {
					t.Errorf("%s: %d pay jobs queued, %d pay job rows, busy %d; want %d, %d, %d", when,
						counts[baoguan.JobQueued][baoguan.JobPay], len(js), busy, queued, rows, queued)
				}
			}
			check("after the pushes", 3, 0)
			for _, no := range nos {
				if v := e.detail(t, no); !v.Order.PayDueAt.Equal(c.Now().Truncate(time.Millisecond)) {
					t.Errorf("%s: payment due at %v, want now", no, v.Order.PayDueAt)
				}
			}

			ds.dying = true
			if _, err := svc.RunOnce(ctx); err == nil {
				t.Fatal("a batch that did not commit reported no error")
			}
			ds.dying = false
			check("after a batch that did not commit", 3, 0)

			if _, err := svc.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			for _, no := range nos {
				v := e.detail(t, no)
				if v.Order.PayStatus != baoguan.PaySucceed || v.Declarations[0].State != baoguan.DeclSuccess || !v.Order.PayDueAt.IsZero() {
					t.Errorf("%s: %s, declaration %s, payment due at %v; want paid, declared, off the queue", no,
						v.Order.PayStatus, v.Declarations[0].State, v.Order.PayDueAt)
				}
			}
			check("after the run", 0, 0)
			if n := jobCount(t, svc, "pay", "done"); n != 3 {
				t.Errorf("%v pay jobs counted done in the metrics, want 3", n)
			}
		})
	}
}

// payAsJobRows moves the orders' payments from their queue to pay job
// rows of their round, as a database from before the order queue holds
// them.
func payAsJobRows(t *testing.T, s baoguan.Store, os ...*baoguan.Order) {
	t.Helper()
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		for _, o := range os {
			if err := tx.DequeueOrderPays([]int64{o.ID}); err != nil {
				return err
			}
			if _, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: fmt.Sprintf("pay:%d:%d", o.ID, o.PayAttempts),
				MerchantID: o.MerchantID, RefID: o.ID, MaxAttempts: 6}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// jobCount reads the jobs metric of a kind and outcome.
func jobCount(t *testing.T, svc *core.Service, kind, outcome string) float64 {
	t.Helper()
	var m dto.Metric
	if err := svc.Metrics.Jobs.WithLabelValues(kind, outcome).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// takesTx records what a batch transaction took from each queue.
type takesTx struct {
	baoguan.Tx
	rows, orders *int
}

func (t *takesTx) Claim(kinds []string, n int, lease time.Duration) ([]baoguan.Job, error) {
	js, err := t.Tx.Claim(kinds, n, lease)
	*t.rows += len(js)
	return js, err
}

func (t *takesTx) DueOrderPays(n int) ([]baoguan.Job, error) {
	js, err := t.Tx.DueOrderPays(n)
	*t.orders += len(js)
	return js, err
}

type takesStore struct {
	baoguan.Store
	rows, orders []int // per write transaction that took something
}

func (s *takesStore) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	var rows, orders int
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		rows, orders = 0, 0
		return fn(&takesTx{Tx: tx, rows: &rows, orders: &orders})
	})
	if rows+orders > 0 {
		s.rows, s.orders = append(s.rows, rows), append(s.orders, orders)
	}
	return err
}

// TestOrderPayQueueShares: a backlog of due job rows does not keep the
// payments queued on orders out of a batch, nor they the rows: the first
// batch takes every queued order beside job rows, and fills its room.
func TestOrderPayQueueShares(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	ts := &takesStore{Store: openKind(t, "sqlite", c.Now)}
	e := envOn(t, ts, c, nil)
	svc := e.svc
	for i := range 100 {
		payAsJobRows(t, ts.Store, e.order(t, fmt.Sprint("ROW-", i), "110105199001011232", baoguan.ChannelAuto, 100))
	}
	for i := range 10 {
		e.order(t, fmt.Sprint("ON-", i), "110105199001011232", baoguan.ChannelAuto, 100)
	}
	ts.rows, ts.orders = nil, nil
	if _, err := svc.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// RunOnce's batches take 64.
	if len(ts.rows) == 0 || ts.orders[0] != 10 || ts.rows[0] != 54 {
		t.Errorf("the first batch took %v job rows and %v orders (per batch); want 54 and 10", ts.rows, ts.orders)
	}
	v := e.detail(t, "ON-9")
	if v.Order.PayStatus != baoguan.PaySucceed {
		t.Errorf("ON-9: %s", v.Order.PayStatus)
	}
}
