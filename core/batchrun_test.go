package core_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/sqlite"
)

// faultStore wraps a store so that a test can make a batch's job fail
// after it wrote: UpdateOrder of an order named in fail writes the row,
// then returns an error ("error") or panics ("panic"). It counts the
// savepoints the runner opens.
type faultStore struct {
	baoguan.Store
	mu         sync.Mutex
	fail       map[string]string // merchant order no → "error" or "panic"
	savepoints int
}

func (f *faultStore) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	return f.Store.Update(ctx, func(tx baoguan.Tx) error { return fn(&faultTx{Tx: tx, f: f}) })
}

func (f *faultStore) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.savepoints }

type faultTx struct {
	baoguan.Tx
	f *faultStore
}

func (t *faultTx) Savepoint(fn func() error) error {
	t.f.mu.Lock()
	t.f.savepoints++
	t.f.mu.Unlock()
	return t.Tx.Savepoint(fn)
}

func (t *faultTx) UpdateOrder(o *baoguan.Order) error {
	if err := t.Tx.UpdateOrder(o); err != nil {
		return err
	}
	t.f.mu.Lock()
	how := t.f.fail[o.MerchantOrderNo]
	t.f.mu.Unlock()
	switch how {
	case "error":
		return errors.New("injected failure after the order was written")
	case "panic":
		panic("injected panic after the order was written")
	}
	return nil
}

// UpdateOrders fails as UpdateOrder does, at the first order set to fail.
func (t *faultTx) UpdateOrders(os []baoguan.Order) error {
	for i := range os {
		if err := t.UpdateOrder(&os[i]); err != nil {
			return err
		}
	}
	return nil
}

func replays(t *testing.T, svc *core.Service) float64 {
	return counter(t, svc.Metrics.BatchReplays)
}

// counter reads a counter's value.
func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestBatchJobFailureUndoesItsWritesAlone: a batch whose jobs all succeed
// runs without a savepoint per job; when one job fails after writing (an
// error, a panic), the batch is replayed with a savepoint per job, the
// failed jobs' writes are undone and retried later, and every other job's
// outcome (its payment, the declaration it caused) commits.
func TestBatchJobFailureUndoesItsWritesAlone(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testBatchJobFailure(t, kind)
		})
	}
}

// openKind opens a store of kind ("sqlite", or "postgres", which is
// skipped without BAOGUAN_TEST_POSTGRES; CI sets it) on the clock now,
// closed when the test ends.
func openKind(t testing.TB, kind string, now func() time.Time) baoguan.Store {
	t.Helper()
	ctx := context.Background()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	var db baoguan.Store
	if kind == "sqlite" {
		db, err = sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "core.db"), Keys: keys, Now: now})
	} else {
		db, err = postgres.Open(ctx, postgres.Options{URL: pgtest.URL(t), Keys: keys, Now: now})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testBatchJobFailure(t *testing.T, kind string) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	db := openKind(t, kind, c.Now)
	fs := &faultStore{Store: db, fail: map[string]string{}}
	e := envOn(t, fs, c, nil)
	svc := e.svc
	paid := func(no string) bool {
		v := e.detail(t, no)
		return v.Order.PayStatus == baoguan.PaySucceed
	}
	declared := func(no string) bool {
		v := e.detail(t, no)
		return len(v.Declarations) == 1 && v.Declarations[0].State == baoguan.DeclSuccess
	}

	// All succeed: one savepoint for the batch, none per job, no replay.
	for _, no := range []string{"OK-1", "OK-2", "OK-3"} {
		e.order(t, no, "110105199001011232", baoguan.ChannelAuto, 100)
	}
	before := fs.count()
	if _, err := svc.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for _, no := range []string{"OK-1", "OK-2", "OK-3"} {
		if !paid(no) || !declared(no) {
			t.Fatalf("%s: %+v %+v", no, e.detail(t, no).Order, e.detail(t, no).Declarations)
		}
	}
	if n := fs.count() - before; n != 1 {
		t.Errorf("a batch of 3 payments and their 3 declarations opened %d savepoints, want 1", n)
	}
	if r := replays(t, svc); r != 0 {
		t.Errorf("replays %v after a batch without failures", r)
	}

	// One job fails with an error and one panics, both after writing
	// their order; the others sit before, between and after them.
	nos := []string{"A-1", "FAIL-ERR", "A-2", "FAIL-PANIC", "A-3"}
	for _, no := range nos {
		e.order(t, no, "110105199001011232", baoguan.ChannelAuto, 100)
	}
	fs.mu.Lock()
	fs.fail["FAIL-ERR"], fs.fail["FAIL-PANIC"] = "error", "panic"
	fs.mu.Unlock()
	before = fs.count()
	if _, err := svc.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if r := replays(t, svc); r != 1 {
		t.Errorf("replays %v, want 1", r)
	}
	// The batch's own savepoint, then one per job in the replay: 5
	// payments and the 3 declarations the successful ones caused.
	if n := fs.count() - before; n != 1+5+3 {
		t.Errorf("the failing batch opened %d savepoints, want %d", n, 1+5+3)
	}
	for _, no := range []string{"A-1", "A-2", "A-3"} {
		if !paid(no) || !declared(no) {
			t.Errorf("%s not paid and declared beside the failing jobs: %+v %+v", no, e.detail(t, no).Order, e.detail(t, no).Declarations)
		}
	}
	for no, want := range map[string]string{"FAIL-ERR": "injected failure", "FAIL-PANIC": "injected panic"} {
		v := e.detail(t, no)
		if v.Order.PayStatus != baoguan.PayNotPayed {
			t.Errorf("%s: the failed job's write was kept: %+v", no, v.Order)
		}
		if v.Declarations[0].State == baoguan.DeclSuccess {
			t.Errorf("%s declared", no)
		}
		var job *baoguan.Job
		if err := db.View(ctx, func(tx baoguan.Tx) error {
			js, err := tx.ListJobs(baoguan.JobFilter{})
			for i := range js {
				if js[i].Kind == baoguan.JobPay && js[i].RefID == v.Order.ID {
					job = &js[i]
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if job == nil || job.State != baoguan.JobQueued || job.Attempts != 1 || !strings.Contains(job.LastError, want) {
			t.Errorf("%s: pay job %+v, want queued for a retry after attempt 1 with %q", no, job, want)
		}
	}

	// Once the fault is gone, the retries pay and declare them.
	fs.mu.Lock()
	fs.fail = map[string]string{}
	fs.mu.Unlock()
	e.drain(t, 10*time.Minute)
	for _, no := range nos {
		if !paid(no) || !declared(no) {
			t.Errorf("%s not paid and declared after the retry", no)
		}
	}
}
