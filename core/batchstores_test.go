package core_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

// A batch upload queues each chunk while the one before it commits, and
// pushes go on meanwhile, on both stores: every order of the batch is
// stored once, in it, with its payment scheduled, and every push is
// stored too. (On PostgreSQL a chunk queued ahead may run before the one
// before it has committed; it then writes nothing and runs again.)
//
// On PostgreSQL with BatchChunksAtOnce (three chunks' transactions side by
// side, each renewing the lease once the one before it has committed) the
// same holds.
func TestBatchUploadChunksAheadBothStores(t *testing.T) {
	t.Parallel()
	for _, run := range []struct {
		kind   string
		atOnce int
	}{{"sqlite", 0}, {"postgres", 0}, {"postgres", 3}} {
		kind := run.kind
		t.Run(fmt.Sprintf("%s-%d", kind, run.atOnce), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			db := openKind(t, kind, c.Now)
			counter := &chunkCounter{Store: db}
			var store baoguan.Store = counter
			if r, ok := db.(baoguan.IDReserver); ok {
				store = reservingCounter{counter, r} // ids drawn ahead, as on the store itself
			}
			svc := core.New(&core.Service{Store: store, Now: c.Now,
				Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
				SampleIdentity: sandbox.IsSampleIdentity, BatchChunk: 50, BatchChunksAtOnce: run.atOnce})
			m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			in := batchIn("BATCH-AHEAD", "A", 600, 100)
			in.Pay = true
			var tm core.BatchTiming
			in.Timing = &tm
			var steps []int
			in.Progress = func(n, _ int) { steps = append(steps, n) }
			stop := make(chan struct{})
			var wg sync.WaitGroup
			pushed := 0
			var pushErr error
			wg.Go(func() {
				for ; ; pushed++ {
					select {
					case <-stop:
						return
					default:
					}
					_, _, pushErr = svc.CreateOrder(ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: fmt.Sprintf("P-%d", pushed),
						Amount: 100, Subject: "口红", Channel: baoguan.ChannelMock,
						Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}}})
					if pushErr != nil {
						return
					}
				}
			})
			b, created, err := svc.CreateBatch(ctx, m, in)
			close(stop)
			wg.Wait()
			if pushErr != nil {
				t.Fatalf("a push during the upload: %v", pushErr)
			}
			if err != nil || !created || b.Total != 600 || b.Loading() || b.PayCalls != 1 {
				t.Fatalf("CreateBatch: %+v %v %v", b, created, err)
			}
			if fmt.Sprint(steps[len(steps)-1]) != "600" || len(steps) != 12 {
				t.Errorf("progress %v, want 12 chunks of 50 in order", steps)
			}
			for i := 1; i < len(steps); i++ {
				if steps[i] != steps[i-1]+50 {
					t.Errorf("progress %v, want 12 chunks of 50 in order", steps)
					break
				}
			}
			inBatch := 0
			for f := (baoguan.OrderFilter{BatchID: b.ID, Page: baoguan.Page{Limit: 1000}}); ; {
				os, err := svc.Orders(ctx, m, f)
				if err != nil {
					t.Fatal(err)
				}
				inBatch += len(os)
				if len(os) < f.Limit {
					break
				}
				f.Cursor = os[len(os)-1].ID
			}
			// Payments queued on their orders count as queued pay jobs.
			counts, err := svc.JobCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			payJobs := counts[baoguan.JobQueued][baoguan.JobPay]
			// Pushes are paid as they come (their payments are queued too).
			if inBatch != 600 || payJobs != 600+pushed {
				t.Errorf("%d orders in the batch, %d queued pay jobs; want 600 and %d", inBatch, payJobs, 600+pushed)
			}
			for i := 0; i < pushed; i++ {
				if _, err := svc.Order(ctx, m, fmt.Sprintf("P-%d", i)); err != nil {
					t.Errorf("push P-%d: %v", i, err)
				}
			}
			if run.atOnce > 1 {
				// Each chunk waited for the one before it to commit, and
				// found the lease it left: no chunk was queued again, and
				// the chunks' transactions overlapped (two or more wrote
				// at once).
				if n := core.ChunksAgain(svc); n != 0 {
					t.Errorf("%d chunks queued again, want none", n)
				}
				counter.mu.Lock()
				most := counter.maxWriting
				counter.mu.Unlock()
				if most < 2 || most > run.atOnce {
					t.Errorf("at most %d chunks wrote at once (transactions %v in a store phase of %v): want 2 to %d, side by side", most, tm.Write, tm.Store, run.atOnce)
				}
			}
			t.Logf("%d pushes during the upload; %d chunks queued again; transactions %v in %v", pushed, core.ChunksAgain(svc), tm.Write, tm.Store)
		})
	}
}

// TestBatchChunksSideBySideFailure: on PostgreSQL with chunks side by side,
// a chunk in the middle that fails (an order number taken before the
// upload, with other content) fails the upload as one chunk at a time
// does: the chunks queued after it write nothing, the batch is discarded,
// and none of its orders is left. With the same content the number is
// answered as a repeat and the upload completes.
func TestBatchChunksSideBySideFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	db := openKind(t, "postgres", c.Now)
	e := envOn(t, db, c, func(s *core.Service) { s.BatchChunk, s.BatchChunksAtOnce = 50, 3 })
	svc, m := e.svc, e.m
	in := batchIn("BATCH-MID", "M", 600, 100)
	// Order 275 (the sixth chunk) exists already, with another amount.
	taken := in.Orders[275]
	taken.Order.Amount = 999
	if _, _, err := svc.CreateOrder(ctx, m, taken); err != nil {
		t.Fatal(err)
	}
	_, _, err := svc.CreateBatch(ctx, m, in)
	if baoguan.ErrorCode(err) != baoguan.ECONFLICT || baoguan.ErrorField(err) != "orders[275].merchant_order_no" {
		t.Fatalf("CreateBatch over a taken number: %v (field %q), want ECONFLICT on orders[275].merchant_order_no", err, baoguan.ErrorField(err))
	}
	os, err := svc.Orders(ctx, m, baoguan.OrderFilter{Page: baoguan.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(os) != 1 || os[0].Amount != 999 {
		t.Errorf("%d orders left after the failed upload, want only the one pushed before", len(os))
	}
	bs, _, err := svc.Batches(ctx, m, baoguan.Page{Limit: 10})
	if err != nil || len(bs) != 0 {
		t.Errorf("batches after the failed upload: %v %v", bs, err)
	}

	// The same content: a repeat, the upload completes around it.
	in = batchIn("BATCH-MID-2", "N", 600, 100)
	if _, _, err := svc.CreateOrder(ctx, m, in.Orders[275]); err != nil {
		t.Fatal(err)
	}
	b, created, err := svc.CreateBatch(ctx, m, in)
	if err != nil || !created || b.Loaded != 600 || b.Loading() {
		t.Fatalf("CreateBatch around a repeated order: %+v %v %v", b, created, err)
	}
	n := 0
	for f := (baoguan.OrderFilter{BatchID: b.ID, Page: baoguan.Page{Limit: 1000}}); ; {
		os, err := svc.Orders(ctx, m, f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(os)
		if len(os) < f.Limit {
			break
		}
		f.Cursor = os[len(os)-1].ID
	}
	if n != 599 {
		t.Errorf("%d orders in the batch, want 599 (the repeated one stays outside it)", n)
	}
}

// TestBatchChunkQueuedAhead: on PostgreSQL with chunks side by side, a
// chunk is handed to the store a turn ahead and waits for its turn in its
// transaction, so that it has a writer when its turn comes: in the
// store's hands are the chunk committing, the BatchChunksAtOnce writing
// and the one waiting (one fewer when a chunk was queued only once the
// chunk BatchChunksAtOnce before it had run); no more than
// BatchChunksAtOnce chunks write at once, and the upload is stored whole,
// in order.
func TestBatchChunkQueuedAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	st := &chunkCounter{Store: openKind(t, "postgres", c.Now)}
	e := envOn(t, st, c, func(s *core.Service) { s.BatchChunk, s.BatchChunksAtOnce = 50, 3 })
	svc, m := e.svc, e.m
	var steps []int
	in := batchIn("BATCH-Q", "Q", 600, 100)
	in.Progress = func(n, _ int) { steps = append(steps, n) }
	b, created, err := svc.CreateBatch(ctx, m, in)
	if err != nil || !created || b.Loaded != 600 || b.Loading() {
		t.Fatalf("CreateBatch: %+v %v %v", b, created, err)
	}
	if fmt.Sprint(steps) != "[50 100 150 200 250 300 350 400 450 500 550 600]" {
		t.Errorf("progress %v, want 12 chunks of 50 in order", steps)
	}
	if n, all := visible(t, &env{ctx: ctx, svc: svc, m: m}, b.ID); n != 600 || all != 600 {
		t.Errorf("%d orders in the batch, %d in all; want 600", n, all)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.maxHeld != 5 || st.maxWriting > 3 || st.maxWriting < 2 {
		t.Errorf("at most %d chunks in the store's hands and %d writing at once; want 5 and 3 at most (side by side)", st.maxHeld, st.maxWriting)
	}
}

// chunkCounter counts a batch upload's chunks (long Updates) in the
// store's hands, and those writing (from their first order to the end of
// their transaction), and keeps the most of each at once.
type chunkCounter struct {
	baoguan.Store
	mu                  sync.Mutex
	held, writing       int
	maxHeld, maxWriting int
}

func (s *chunkCounter) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	if !baoguan.IsLongUpdate(ctx) {
		return s.Store.Update(ctx, fn)
	}
	s.add(&s.held, &s.maxHeld, 1)
	defer s.add(&s.held, &s.maxHeld, -1)
	return s.Store.Update(ctx, func(tx baoguan.Tx) error {
		w := &writingTx{Tx: tx, s: s}
		defer func() {
			if w.writing {
				s.add(&s.writing, &s.maxWriting, -1)
			}
		}()
		return fn(w)
	})
}

// reservingCounter is a chunkCounter over a store that draws ids ahead.
type reservingCounter struct {
	*chunkCounter
	r baoguan.IDReserver
}

func (s reservingCounter) ReserveIDs(ctx context.Context, orders, declarations int) ([]int64, []int64, error) {
	return s.r.ReserveIDs(ctx, orders, declarations)
}

func (s *chunkCounter) add(n, most *int, d int) {
	s.mu.Lock()
	*n += d
	*most = max(*most, *n)
	s.mu.Unlock()
}

type writingTx struct {
	baoguan.Tx
	s       *chunkCounter
	writing bool
}

func (w *writingTx) CreateOrders(os []baoguan.Order) error {
	if !w.writing {
		w.writing = true
		w.s.add(&w.s.writing, &w.s.maxWriting, 1)
	}
	return w.Tx.CreateOrders(os)
}

// LeaseBatch is a chunk's last write before its transaction ends (the
// chunk after it may start writing as soon as it has returned, before the
// transaction's function has), so the chunk stops counting as writing
// here.
func (w *writingTx) LeaseBatch(b *baoguan.Batch, from time.Time) error {
	err := w.Tx.LeaseBatch(b, from)
	if w.writing {
		w.writing = false
		w.s.add(&w.s.writing, &w.s.maxWriting, -1)
	}
	return err
}
