package core_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// writeStore wraps a store to count the UPDATEs of orders and
// declarations, by merchant order number and by declaration id, and to run
// a hook before an order's UPDATE.
type writeStore struct {
	baoguan.Store
	mu     sync.Mutex
	orders map[string]int // merchant order no → UpdateOrder calls
	decls  map[int64]int  // declaration id → UpdateDeclaration calls
	calls  map[string]int // method → calls, for the methods writing many rows and CreateEvent
	events int            // events created
	before func(o *baoguan.Order)
}

func (s *writeStore) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	return s.Store.Update(ctx, func(tx baoguan.Tx) error { return fn(&writeTx{Tx: tx, s: s}) })
}

func (s *writeStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders, s.decls, s.calls, s.events = map[string]int{}, map[int64]int{}, map[string]int{}, 0
}

type writeTx struct {
	baoguan.Tx
	s *writeStore
}

func (t *writeTx) UpdateOrder(o *baoguan.Order) error {
	t.s.mu.Lock()
	t.s.orders[o.MerchantOrderNo]++
	before := t.s.before
	t.s.mu.Unlock()
	if before != nil {
		before(o)
	}
	return t.Tx.UpdateOrder(o)
}

func (t *writeTx) CreateEvent(e *baoguan.Event) error {
	t.s.mu.Lock()
	t.s.calls["CreateEvent"]++
	t.s.events++
	t.s.mu.Unlock()
	return t.Tx.CreateEvent(e)
}

func (t *writeTx) CreateEvents(es []baoguan.Event) error {
	t.s.mu.Lock()
	t.s.calls["CreateEvents"]++
	t.s.events += len(es)
	t.s.mu.Unlock()
	return t.Tx.CreateEvents(es)
}

func (t *writeTx) UpdateOrders(os []baoguan.Order) error {
	t.s.mu.Lock()
	t.s.calls["UpdateOrders"]++
	t.s.mu.Unlock()
	for i := range os {
		t.s.mu.Lock()
		t.s.orders[os[i].MerchantOrderNo]++
		before := t.s.before
		t.s.mu.Unlock()
		if before != nil {
			before(&os[i])
		}
	}
	return t.Tx.UpdateOrders(os)
}

func (t *writeTx) UpdateDeclarations(ds []baoguan.Declaration) error {
	t.s.mu.Lock()
	t.s.calls["UpdateDeclarations"]++
	for _, d := range ds {
		t.s.decls[d.ID]++
	}
	t.s.mu.Unlock()
	return t.Tx.UpdateDeclarations(ds)
}

func (t *writeTx) UpdateDeclaration(d *baoguan.Declaration) error {
	t.s.mu.Lock()
	t.s.decls[d.ID]++
	t.s.mu.Unlock()
	return t.Tx.UpdateDeclaration(d)
}

// pushDeclared creates order no, of protocol (whose format renders its
// notifications), for the runner to pay on the auto channel and declare to
// HG014.
func (e *env) pushDeclared(t *testing.T, no, protocol string) {
	t.Helper()
	_, _, err := e.svc.CreateOrder(e.ctx, e.m, core.OrderInput{
		Order: baoguan.Order{MerchantOrderNo: no, Amount: 100, Subject: "口红", Channel: baoguan.ChannelAuto, Protocol: protocol,
			Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newWriteEnv(t *testing.T, kind string) (*env, *writeStore) {
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	ws := &writeStore{Store: openKind(t, kind, c.Now)}
	ws.reset()
	return envOn(t, ws, c, nil), ws
}

// TestBatchWritesEachRowOnce: a batch that pays an order and declares it
// (the payment, the declaration it causes and the port's answer: two
// changes of the order, two of its declaration) writes the order once and
// the declaration once, when its jobs have run; each row's version rises
// by one. The batch's orders are written by one call, its declarations by
// one, and the notifications it creates by one (on PostgreSQL one round
// trip each, not one a row).
func TestBatchWritesEachRowOnce(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e, ws := newWriteEnv(t, kind)
			e.svc.Formats.Register("rec", recordFormat{}) // notifications of every event
			nos := []string{"W-1", "W-2", "W-3"}
			before := map[string]*core.OrderView{}
			for _, no := range nos {
				e.pushDeclared(t, no, "rec")
				before[no] = e.detail(t, no)
			}
			ws.reset()
			if _, err := e.svc.RunOnce(e.ctx); err != nil {
				t.Fatal(err)
			}
			if r := replays(t, e.svc); r != 0 {
				t.Errorf("replays %v", r)
			}
			for _, no := range nos {
				v, was := e.detail(t, no), before[no]
				if v.Order.PayStatus != baoguan.PaySucceed || len(v.Declarations) != 1 || v.Declarations[0].State != baoguan.DeclSuccess {
					t.Fatalf("%s not paid and declared in one batch: %+v %+v", no, v.Order, v.Declarations)
				}
				ws.mu.Lock()
				nOrder, nDecl := ws.orders[no], ws.decls[v.Declarations[0].ID]
				ws.mu.Unlock()
				if nOrder != 1 || nDecl != 1 {
					t.Errorf("%s: the batch wrote the order %d times and its declaration %d times, want once each", no, nOrder, nDecl)
				}
				if v.Order.Version != was.Order.Version+1 || v.Declarations[0].Version != was.Declarations[0].Version+1 {
					t.Errorf("%s: versions %d→%d (order), %d→%d (declaration), want one more each", no,
						was.Order.Version, v.Order.Version, was.Declarations[0].Version, v.Declarations[0].Version)
				}
			}
			ws.mu.Lock()
			calls, events := ws.calls, ws.events
			ws.mu.Unlock()
			stored, err := e.svc.Events(e.ctx, e.m, baoguan.EventFilter{})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"UpdateOrders": 1, "UpdateDeclarations": 1, "CreateEvents": 1}
			if !maps.Equal(calls, want) || events != len(stored) || len(stored) < 2*len(nos) {
				t.Errorf("the batch's writes: %v calls, %d events (%d stored); want %v, every event", calls, events, len(stored), want)
			}
		})
	}
}

// TestBatchStaleRowAtFlush (PostgreSQL, where another transaction can
// change a row a batch has read): an order changed by another transaction
// after the batch read it fails the batch's write as stale; the batch is
// replayed, reads the row again and pays and declares the order, keeping
// the other transaction's change.
func TestBatchStaleRowAtFlush(t *testing.T) {
	e, ws := newWriteEnv(t, "postgres")
	// The payments go through pay job rows: an order taken from its own
	// queue is locked by the batch until it commits, so no transaction
	// can change it meanwhile.
	for _, no := range []string{"S-1", "S-2"} {
		payAsJobRows(t, ws.Store, e.order(t, no, "110105199001011232", baoguan.ChannelAuto, 100))
	}
	var once sync.Once
	ws.mu.Lock()
	ws.before = func(o *baoguan.Order) {
		if o.MerchantOrderNo != "S-2" {
			return
		}
		once.Do(func() {
			err := ws.Store.Update(e.ctx, func(tx baoguan.Tx) error {
				c, err := tx.Order(o.MerchantID, o.ID)
				if err != nil {
					return err
				}
				c.Subject = "changed meanwhile"
				return tx.UpdateOrder(c)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	ws.mu.Unlock()
	if _, err := e.svc.RunOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
	if r := replays(t, e.svc); r != 1 {
		t.Errorf("replays %v, want 1", r)
	}
	e.drain(t, time.Minute)
	for _, no := range []string{"S-1", "S-2"} {
		v := e.detail(t, no)
		if v.Order.PayStatus != baoguan.PaySucceed || v.Declarations[0].State != baoguan.DeclSuccess {
			t.Errorf("%s not paid and declared: %+v %+v", no, v.Order, v.Declarations)
		}
	}
	if v := e.detail(t, "S-2"); v.Order.Subject != "changed meanwhile" {
		t.Errorf("the other transaction's change was lost: subject %q", v.Order.Subject)
	}
}

// TestBatchTxDeferredWrites: in a batch's transaction, a cached order
// written twice is written to the store once, and before any statement
// that reads orders other than through the cache; a handler's own
// savepoint undoes what it wrote; a stale copy is still refused.
func TestBatchTxDeferredWrites(t *testing.T) {
	e, ws := newWriteEnv(t, "sqlite")
	o := e.order(t, "D-1", "110105199001011232", baoguan.ChannelAuto, 100)
	ws.reset()
	writes := func() int { ws.mu.Lock(); defer ws.mu.Unlock(); return ws.orders["D-1"] }
	err := ws.Store.Update(e.ctx, func(stx baoguan.Tx) error {
		tx := core.NewBatchTx(&writeTx{Tx: stx, s: ws})
		a, err := tx.Order(o.MerchantID, o.ID)
		if err != nil {
			return err
		}
		old := *a
		a.Subject = "one"
		if err := tx.UpdateOrder(a); err != nil {
			return err
		}
		a.PayStatus = baoguan.PayApplied
		if err := tx.UpdateOrder(a); err != nil {
			return err
		}
		if n := writes(); n != 0 {
			t.Errorf("%d writes before any statement needed the row, want 0", n)
		}
		if c, err := tx.Order(o.MerchantID, o.ID); err != nil || c.Subject != "one" || c.Version != o.Version+1 {
			t.Errorf("cached read: %+v %v", c, err)
		}
		// A statement reading orders sees the row as written.
		got, err := tx.OrderByNo(o.MerchantID, "D-1")
		if err != nil {
			return err
		}
		if got.Subject != "one" || got.PayStatus != baoguan.PayApplied || got.Version != o.Version+1 {
			t.Errorf("OrderByNo read %q %s version %d, want the cache's write", got.Subject, got.PayStatus, got.Version)
		}
		if n := writes(); n != 1 {
			t.Errorf("%d writes for the statement, want 1", n)
		}
		// The copy read before the writes is stale.
		if err := tx.UpdateOrder(&old); baoguan.ErrorReason(err) != "stale" {
			t.Errorf("update of the copy read before: %v, want stale", err)
		}
		// A savepoint that fails undoes its write, in the store and the cache.
		err = tx.Savepoint(func() error {
			c, err := tx.Order(o.MerchantID, o.ID)
			if err != nil {
				return err
			}
			c.Subject = "undone"
			if err := tx.UpdateOrder(c); err != nil {
				return err
			}
			return errors.New("boom")
		})
		if err == nil {
			t.Error("savepoint: no error")
		}
		if c, err := tx.Order(o.MerchantID, o.ID); err != nil || c.Subject != "one" {
			t.Errorf("after the savepoint failed: %+v %v", c, err)
		}
		// Written again, then flushed by the batch.
		c, err := tx.Order(o.MerchantID, o.ID)
		if err != nil {
			return err
		}
		c.Subject = "two"
		if err := tx.UpdateOrder(c); err != nil {
			return err
		}
		return core.Flush(tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := writes(); n != 4 {
		t.Errorf("%d UpdateOrder calls in all, want 4 (the statement's, the stale copy's, refused, the savepoint's, the flush's)", n)
	}
	if v := e.detail(t, "D-1"); v.Order.Subject != "two" || v.Order.PayStatus != baoguan.PayApplied || v.Order.Version != o.Version+2 {
		t.Errorf("committed %q %s version %d", v.Order.Subject, v.Order.PayStatus, v.Order.Version)
	}
}

// TestBatchTxEnqueueLater: in a batch's transaction a job enqueued without
// asking goes the way of Enqueue: one of an inline kind due now is kept for
// the batch to run, not written; another is written.
func TestBatchTxEnqueueLater(t *testing.T) {
	e := newEnv(t, 0)
	err := e.svc.Store.Update(e.ctx, func(stx baoguan.Tx) error {
		tx := core.NewBatchTx(stx)
		if err := tx.EnqueueLater(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "later:inline", MerchantID: e.m.ID, RefID: 1}); err != nil {
			return err
		}
		return tx.EnqueueLater(&baoguan.Job{Kind: baoguan.JobNotify, DedupeKey: "later:written", MerchantID: e.m.ID, RefID: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = e.svc.Store.View(e.ctx, func(tx baoguan.Tx) error {
		js, err := tx.ListJobs(baoguan.JobFilter{Page: baoguan.Page{Limit: 100}})
		var keys []string
		for _, j := range js {
			keys = append(keys, j.DedupeKey)
		}
		if len(keys) != 1 || keys[0] != "later:written" {
			t.Errorf("jobs written: %v; want the notify job only", keys)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pickFormat renders order.paid and declaration.succeeded with the order's
// statuses as they stand when the notice is emitted, and nothing else.
type pickFormat struct{ recordFormat }

func (pickFormat) Render(n core.Notice) ([]byte, string, bool, error) {
	switch n.Type {
	case baoguan.EventOrderPaid, baoguan.EventDeclSucceeded:
		return []byte(n.Type + " " + string(n.Order.PayStatus) + " " + string(n.Order.DeclareStatus)), "text/plain", true, nil
	}
	return nil, "", false, nil
}

// TestBatchRendersAtFlush: a batch renders its notifications at its flush,
// beside the writes of its rows; each is rendered from its rows as they
// stood when it was emitted (the order's payment before its declaration),
// and the notices a format does not render (here order.completed) are
// dropped, whichever protocol's order they are of.
func TestBatchRendersAtFlush(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres", "sqlite-plain", "postgres-plain"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			// Through writeStore the events are created by CreateEvents,
			// their bodies sealed by the store; on the store's own Tx by
			// CreateSealedEvents, sealed beside the batch.
			plain := strings.HasSuffix(kind, "-plain")
			e, ws := newWriteEnv(t, strings.TrimSuffix(kind, "-plain"))
			if plain {
				c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
				e = envOn(t, openKind(t, strings.TrimSuffix(kind, "-plain"), c.Now), c, nil)
			}
			e.svc.Formats.Register("rec", recordFormat{})
			e.svc.Formats.Register("pick", pickFormat{})
			for i, no := range []string{"R-1", "R-2", "R-3", "R-4"} {
				protocol := "pick"
				if i == 2 {
					protocol = "rec"
				}
				e.pushDeclared(t, no, protocol)
			}
			ws.reset()
			if _, err := e.svc.RunOnce(e.ctx); err != nil {
				t.Fatal(err)
			}
			if r := replays(t, e.svc); r != 0 {
				t.Errorf("replays %v", r)
			}
			ws.mu.Lock()
			calls, events := ws.calls["CreateEvents"], ws.events
			ws.mu.Unlock()
			stored, err := e.svc.Events(e.ctx, e.m, baoguan.EventFilter{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, ev := range stored {
				got[ev.Protocol] = append(got[ev.Protocol], string(ev.Body))
			}
			paid := "order.paid " + string(baoguan.PaySucceed) + " " + string(baoguan.DeclarePending)
			// The declaration's notice is emitted before its order's status
			// follows it, as when notices were rendered at once.
			declared := "declaration.succeeded " + string(baoguan.PaySucceed) + " " + string(baoguan.DeclarePending)
			for _, b := range got["pick"] {
				if b != paid && b != declared {
					t.Errorf("a pick notification reads %q, want %q or %q", b, paid, declared)
				}
			}
			if len(got["pick"]) != 6 || len(got["rec"]) != 3 {
				t.Errorf("stored %d pick notifications (want 6: order.paid and declaration.succeeded of three orders) and %d rec ones (want 3): %v",
					len(got["pick"]), len(got["rec"]), got)
			}
			if !plain && (calls != 1 || events != len(stored)) {
				t.Errorf("%d CreateEvents calls of %d events, %d stored; want one call of every stored event", calls, events, len(stored))
			}
		})
	}
}

// panicFormat renders like recordFormat but panics on one order's
// order.paid.
type panicFormat struct{ recordFormat }

func (f panicFormat) Render(n core.Notice) ([]byte, string, bool, error) {
	if n.Type == baoguan.EventOrderPaid && n.Order.MerchantOrderNo == "X-2" {
		panic("the format broke")
	}
	return f.recordFormat.Render(n)
}

// TestBatchRenderPanic: a format that panics rendering a batch's notice
// (on the batch's render goroutine or its own) fails that job alone, as a
// panic in a handler does: the batch is replayed, the other orders are
// paid and declared, and the process goes on.
func TestBatchRenderPanic(t *testing.T) {
	e := newEnv(t, 0)
	e.svc.Formats.Register("boom", panicFormat{})
	for _, no := range []string{"X-1", "X-2", "X-3"} {
		e.pushDeclared(t, no, "boom")
	}
	if _, err := e.svc.RunOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
	if r := replays(t, e.svc); r != 1 {
		t.Errorf("replays %v, want 1", r)
	}
	for _, no := range []string{"X-1", "X-2", "X-3"} {
		v := e.detail(t, no)
		paid := v.Order.PayStatus == baoguan.PaySucceed
		if paid != (no != "X-2") {
			t.Errorf("%s: pay status %s", no, v.Order.PayStatus)
		}
	}
}
