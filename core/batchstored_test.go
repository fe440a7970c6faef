package core_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// A new batch's upload tells the summary of the orders it stored
// (BatchInput.Stored), which is the summary the store counts once the last
// chunk has committed — held or paid, one chunk at a time or side by side
// — so the native API answers it without reading the orders back. When
// the upload did not store every order of the batch itself with one
// statement per table (a chunk stored one order at a time, a takeover
// after chunks were stored, a repeat of a stored batch), it tells nothing.
func TestBatchStoredSummary(t *testing.T) {
	t.Parallel()
	for _, run := range []struct {
		kind   string
		atOnce int
	}{{"sqlite", 0}, {"postgres", 0}, {"postgres", 3}} {
		t.Run(fmt.Sprintf("%s-%d", run.kind, run.atOnce), func(t *testing.T) {
			t.Parallel()
			c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			e := envOn(t, openKind(t, run.kind, c.Now), c, func(s *core.Service) {
				s.BatchChunk, s.BatchChunksAtOnce = 40, run.atOnce
			})
			upload := func(in core.BatchInput) (*baoguan.Batch, bool, core.BatchStored) {
				t.Helper()
				var st core.BatchStored
				in.Stored = &st
				b, created, err := e.svc.CreateBatch(e.ctx, e.m, in)
				if err != nil {
					t.Fatal(err)
				}
				return b, created, st
			}
			stored := func(name string, b *baoguan.Batch, st core.BatchStored) {
				t.Helper()
				read, sum, err := e.svc.Batch(e.ctx, e.m, b.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !st.Known || st.Summary != sum {
					t.Errorf("%s: stored %+v, the store counts %+v", name, st, sum)
				}
				if read.ID != b.ID || read.No != b.No || read.Total != b.Total || read.Amount != b.Amount ||
					read.PayCalls != b.PayCalls || !read.CreatedAt.Equal(b.CreatedAt) || read.Loading() {
					t.Errorf("%s: CreateBatch answered %+v, the store holds %+v", name, b, read)
				}
			}

			b, created, st := upload(batchIn("HELD", "H", 130, 100))
			if !created {
				t.Fatal("HELD: not created")
			}
			stored("held", b, st)
			in := batchIn("PAID", "P", 90, 100)
			in.Pay = true
			b, _, st = upload(in)
			stored("paid", b, st)
			if st.Summary.Total != 90 || st.Summary.PayOther != 90 {
				t.Errorf("paid: %+v, want 90 orders waiting for their payment", st.Summary)
			}

			// A repeat of a stored batch: answered with it, nothing told.
			if _, created, st := upload(batchIn("HELD", "H", 130, 100)); created || st.Known {
				t.Errorf("repeat: created=%v, stored %+v", created, st)
			}
			// An order pushed before with the same content: its chunk is
			// stored one order at a time, which answers the order as it
			// exists (outside the batch).
			again := batchIn("SLOW", "S", 100, 100)
			if _, _, err := e.svc.CreateOrder(e.ctx, e.m, again.Orders[55]); err != nil {
				t.Fatal(err)
			}
			if b, _, st := upload(again); st.Known {
				_, sum, _ := e.svc.Batch(e.ctx, e.m, b.ID)
				t.Errorf("a chunk stored one order at a time: stored %+v (the store counts %+v)", st, sum)
			}
			// What a front-end answers (CreateBatchDetail) is the store's
			// count, whether counted (a new batch) or read back (a repeat).
			for _, in := range []core.BatchInput{batchIn("HELD", "H", 130, 100), batchIn("NEW", "N", 50, 100)} {
				b, sum, _, err := e.svc.CreateBatchDetail(e.ctx, e.m, in)
				if err != nil {
					t.Fatal(err)
				}
				if _, want, err := e.svc.Batch(e.ctx, e.m, b.ID); err != nil || sum != want || sum.Total != len(in.Orders) {
					t.Errorf("CreateBatchDetail %s: %+v, the store counts %+v (%v)", in.No, sum, want, err)
				}
			}
		})
	}
}

// A takeover of an upload whose loader died after storing chunks tells
// nothing: the orders stored before it are not its own to count.
func TestBatchStoredSummaryTakeover(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.BatchChunk = 3
	in := batchIn("BATCH-TAKE", "T", 10, 100)
	crashAfter(t, e, in, 2)
	e.clock.Add(time.Minute)
	var st core.BatchStored
	in.Stored = &st
	b, created, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if err != nil || !created || st.Known {
		t.Fatalf("takeover: %+v created=%v %v, stored %+v", b, created, err, st)
	}
}

// reservingStore records the ids a batch upload draws ahead.
type reservingStore struct {
	baoguan.Store
	orders, decls []int64
}

func (s *reservingStore) ReserveIDs(ctx context.Context, orders, declarations int) ([]int64, []int64, error) {
	var err error
	s.orders, s.decls, err = s.Store.(baoguan.IDReserver).ReserveIDs(ctx, orders, declarations)
	return s.orders, s.decls, err
}

// On PostgreSQL an upload draws its orders' and declarations' ids beside
// its first transaction (baoguan.IDReserver), and its chunks, side by
// side, insert the rows with them: order i has the i-th id drawn, its
// declaration the i-th declaration id.
func TestBatchUploadReservedIDs(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	st := &reservingStore{Store: openKind(t, "postgres", c.Now)}
	e := envOn(t, st, c, func(s *core.Service) { s.BatchChunk, s.BatchChunksAtOnce = 50, 3 })
	in := batchIn("RESERVED", "R", 160, 100)
	b, created, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if err != nil || !created {
		t.Fatalf("CreateBatch: %+v %v %v", b, created, err)
	}
	if len(st.orders) != 160 || len(st.decls) != 160 {
		t.Fatalf("drew %d order ids and %d declaration ids, want 160 each", len(st.orders), len(st.decls))
	}
	for _, i := range []int{0, 49, 50, 123, 149} {
		o, err := e.svc.Order(e.ctx, e.m, in.Orders[i].Order.MerchantOrderNo)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := e.svc.Declarations(e.ctx, e.m, o.MerchantOrderNo)
		if err != nil || len(ds) != 1 {
			t.Fatalf("declarations of %s: %v %v", o.MerchantOrderNo, ds, err)
		}
		if o.ID != st.orders[i] || o.BatchID != b.ID || ds[0].ID != st.decls[i] || ds[0].OrderID != o.ID {
			t.Errorf("order %d: id %d (drawn %d), declaration %d of order %d (drawn %d)", i, o.ID, st.orders[i], ds[0].ID, ds[0].OrderID, st.decls[i])
		}
	}
}
