package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baoguan/baoguan"
)

// Loading a batch in chunks. A batch of 10,000 orders written in one
// transaction held SQLite's single writer for seconds, and every push
// waited behind it. CreateBatch stores the batch in transactions of
// Service.BatchChunk orders instead, and other writes take turns between
// them. The batch keeps its all-or-nothing answer:
//
//   - The first transaction creates the batch loading (baoguan.Batch):
//     under a lease, renewed by every chunk, with the fingerprint of the
//     upload, and with its batch number's key taken. A loading batch and
//     its orders are hidden from lookups and lists, and cannot be paid.
//   - The last chunk marks it loaded, in the transaction that stores its
//     last orders (and, with Pay, schedules their payment).
//   - A chunk that fails (an order number taken meanwhile, a refused
//     payment) discards the batch: its orders (and so their numbers) and
//     the batch go, in chunks too, and the upload answers the error as
//     before.
//   - A loader that dies leaves a loading batch whose lease runs out. A
//     repeat of the upload (the same batch number and orders, or, without
//     a number, the same orders) takes it over and finishes it from where
//     it stopped; otherwise the retention pass (Purge) discards it.
//   - A repeat that arrives while the batch loads waits for it, then is
//     answered as a repeat of a stored batch is.
const (
	// DefaultBatchChunk is how many orders one transaction of a batch
	// upload stores. Each chunk waits for its turn at SQLite's writer
	// behind the pushes queued meanwhile (a group commit or so each), so
	// with 64 clients pushing, the number of chunks, not their size, set
	// an upload's time. Stored with one statement per table (storeChunk),
	// 1,000 orders hold the writer some 40–60 ms on the benchmark's
	// machine, within what pushes beside an upload may wait.
	DefaultBatchChunk = 1000
	// batchLease is how long a loader may take over one chunk before a
	// repeat of the upload may take its batch over.
	batchLease = 30 * time.Second
	// ReasonBatchLoading (ECONFLICT) refuses what meets a batch still
	// loading: an order number among its orders, a second loader.
	ReasonBatchLoading = "batch_loading"
)

func errOrderLoading(no string) error {
	return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "merchant_order_no", Reason: ReasonBatchLoading,
		Message: "order " + no + " belongs to a batch that is still being uploaded; retry later"}
}

// BatchInput is a batch upload: up to MaxBatchOrders orders, checked as a
// whole before anything is written.
type BatchInput struct {
	No       string // the merchant's batch number, optional; unique per merchant
	Orders   []OrderInput
	Protocol string
	// Pay schedules the payment of every order in the transaction that
	// completes the batch (PayBatch's rules): either the batch is stored
	// with its pay jobs, or, when the payment is refused (funding short),
	// nothing is stored. Without it, orders wait unpaid until PayBatch.
	Pay bool
	// Progress, when set, is told after each stored chunk how many of the
	// orders are stored (a progress bar's figure; the batch stays hidden
	// until the last).
	Progress func(stored, total int)
	// Timing, when set, is told where the upload's time went.
	Timing *BatchTiming
	// Stored, when set, is told the summary of the batch's orders as the
	// upload's last chunk committed them, when CreateBatch knows it without
	// reading them back (BatchStored).
	Stored *BatchStored
}

// BatchStored is the summary of a new batch's orders as its upload stored
// them (BatchInput.Stored). Known when this upload stored every order of
// the batch with one statement per table (storeChunk): a batch it created,
// or took over before any of its chunks was stored, none of whose chunks
// was stored one order at a time. Those orders are all new, as the chunks
// inserted them, and nothing else could change them before the last chunk
// committed (a loading batch's orders are hidden), so Summary is what the
// store's BatchSummary would count at that commit, and a caller answering
// the upload need not read 10,000 orders back to count them (a few hundred
// milliseconds of a PostgreSQL upload beside pushes). Otherwise (a repeat
// of a stored batch, a takeover after chunks were stored, a chunk stored
// one order at a time, which may find orders that exist already) Known is
// false and the caller reads the summary from the store (Batch).
type BatchStored struct {
	Known   bool
	Summary baoguan.BatchSummary
}

// BatchTiming is where a batch upload's time went inside CreateBatch, for
// a front-end's Server-Timing header and the benchmark: Check, every
// order checked and fingerprinted before anything is written; Store, from
// the first transaction to the last one's commit, waits for the store's
// writer between chunks included; Write, the part of Store the chunks'
// transaction functions ran (on SQLite, what the upload held the single
// writer for, commits aside); Chunks, the transactions that stored orders.
type BatchTiming struct {
	Check, Store, Write time.Duration
	Chunks              int
	// Longest is the longest of the chunks' transaction functions: how
	// long, on SQLite, the upload held the writer at once.
	Longest time.Duration
}

// CreateBatch stores a batch and its orders, in chunks (see above), with
// their payment when in.Pay is set. A bad order refuses the whole batch
// with an error whose field is prefixed "orders[i]."; nothing is kept. Re-
// sending a batch number with the same orders returns the first batch
// (created=false) and pays nothing more; a repeat of an upload whose
// loader died finishes it (created=true). Errors: EINVALID, ETOOLARGE,
// ECONFLICT (reason batch_loading: an order number belongs to a batch
// still loading), EMERCHANT; with Pay, those of PayBatch (EINSUFFICIENT
// reason funding_short).
func (s *Service) CreateBatch(ctx context.Context, m *baoguan.Merchant, in BatchInput) (*baoguan.Batch, bool, error) {
	if len(in.Orders) == 0 {
		return nil, false, baoguan.FieldError("orders", "a batch needs at least one order")
	}
	if len(in.Orders) > baoguan.MaxBatchOrders {
		return nil, false, &baoguan.Error{Code: baoguan.ETOOLARGE, Field: "orders", Reason: "batch_too_large",
			Message: fmt.Sprintf("a batch holds at most %d orders, got %d", baoguan.MaxBatchOrders, len(in.Orders))}
	}
	if in.No != "" {
		if err := baoguan.CheckOrderNo("batch_no", in.No); err != nil {
			return nil, false, err
		}
	}
	t0 := time.Now()
	prep, errs := s.prepareBatch(m, in)
	seen := make(map[string]int, len(in.Orders))
	h := sha256.New()
	amounts := make([]int64, len(in.Orders))
	var need int64
	overflow := false
	for i := range in.Orders {
		oi := &in.Orders[i]
		if errs[i] != nil {
			return nil, false, prefixField(errs[i], i)
		}
		if j, dup := seen[oi.Order.MerchantOrderNo]; dup {
			return nil, false, &baoguan.Error{Code: baoguan.EINVALID, Field: fmt.Sprintf("orders[%d].merchant_order_no", i), Reason: "duplicate_order_no",
				Message: fmt.Sprintf("order number %s appears twice in the batch (orders[%d] and orders[%d])", oi.Order.MerchantOrderNo, j, i)}
		}
		seen[oi.Order.MerchantOrderNo] = i
		amounts[i] = oi.Order.Amount
		if oi.Order.Channel == baoguan.ChannelAuto && !overflow {
			if sum, ok := baoguan.AddAmounts(need, oi.Order.Amount); ok {
				need = sum
			} else {
				overflow = true
			}
		}
		h.Write([]byte(prep[i].fp))
	}
	fp := hex.EncodeToString(h.Sum(nil))
	// Every amount passed Order.Validate (≤ MaxAmount) and there are at
	// most MaxBatchOrders, so the total fits; it is still summed checked.
	total, ok := baoguan.SumAmounts(amounts...)
	if !ok {
		return nil, false, &baoguan.Error{Code: baoguan.EINVALID, Field: "orders", Reason: "bad_amount", Message: "the batch's total amount is too large"}
	}
	// The loading batch is found again by its upload: its number and
	// orders, or its orders alone when it has no number of its own.
	load := fp
	if in.No != "" {
		load = in.No + "/" + fp
	}

	t1 := time.Now()
	if in.Timing != nil {
		in.Timing.Check = t1.Sub(t0)
		defer func() { in.Timing.Store = time.Since(t1) }()
	}

	// On a store that draws ids ahead (PostgreSQL) the upload's orders' and
	// declarations' ids are drawn beside its first transaction, so that no
	// chunk's transaction asks for them first (baoguan.IDReserver).
	ids := s.reserveBatchIDs(ctx, in, prep)

	var b *baoguan.Batch
	deadline := time.Now().Add(idemWait)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		var done bool
		var err error
		b, done, err = s.startBatch(ctx, m, in, fp, load, total, need, overflow)
		if err == nil && done {
			return b, false, nil
		}
		if err == nil {
			break
		}
		if baoguan.ErrorReason(err) != ReasonBatchLoading || time.Now().After(deadline) {
			return nil, false, err
		}
		// The same upload is loading under another request: wait for it
		// to finish (or to die, leaving it to this one).
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(pause):
		}
	}

	chunk := s.BatchChunk
	if chunk <= 0 {
		chunk = DefaultBatchChunk
	}
	// Chunks are handed to the store ahead of their turn: a chunk is
	// queued once the transaction of the chunk BatchChunksAtOnce before it
	// has run — on SQLite (one at once) the one just before it, as soon
	// as its transaction has run rather than once it has committed (the
	// writer starts its next group the moment a group commits, and a
	// chunk queued only then waits for that whole group of pushes before
	// its own); on PostgreSQL several, whose transactions run side by
	// side. Each chunk's lease is decided when it is queued, so the chunk
	// after it knows what the batch will look like once it commits: a
	// chunk writes its orders, waits until what the chunk before it wrote
	// is visible to it (chunkRun.visible: on SQLite once that chunk's
	// transaction has run, on PostgreSQL once it has committed), then
	// renews the lease only if it is the one that chunk leaves
	// (LeaseBatch's compare-and-set). If the chunk before it fails or
	// does not commit, it finds the batch as that chunk found it, writes
	// nothing (errChunkAhead: its transaction is rolled back) and is
	// queued again once that chunk's outcome is known. With chunks side
	// by side, a chunk is queued a turn earlier, once the chunk
	// BatchChunksAtOnce+1 before it has run, and waits in its transaction,
	// before its first statement, for the chunk BatchChunksAtOnce before
	// it to have run (runChunk's start): the store takes a queued call
	// when a writer is free, behind the pushes queued meanwhile (10–70 ms
	// beside 64 pushing clients, where a chunk's commit takes 2–36), and
	// the chunk queued a turn ahead has waited there while the others
	// wrote. As many chunks as before write at once; the upload holds
	// BatchChunksAtOnce+2 of the store's writers at most. Tests that stop
	// a loader between chunks (afterBatchChunk) queue one chunk at a time.
	atOnce := max(1, s.BatchChunksAtOnce)
	queued := atOnce
	if atOnce > 1 {
		queued++
	}
	ahead := s.afterBatchChunk == nil
	var tm batchTimer
	cur := *b
	// The batch's orders are all this upload's when no chunk was stored
	// before it (a new batch, or a takeover of one whose loader stored
	// nothing); sum counts them as each chunk commits (BatchStored).
	known := b.Loaded == 0
	var sum baoguan.BatchSummary
	// runs are the chunks in the store's hands, in order; runs[0] is the
	// next to commit.
	runs := []*chunkRun{s.runChunk(ctx, m, in, prep, cur, nil, nil, chunk, false, need, overflow, &tm, ids)}
	for {
		c := runs[0]
		var gate <-chan struct{} // closed when another chunk may be queued
		if last := runs[len(runs)-1]; ahead && last.end < len(in.Orders) {
			if len(runs) < queued {
				closed := make(chan struct{})
				close(closed)
				gate = closed
			} else {
				gate = runs[len(runs)-queued].ran
			}
		}
		select {
		case <-gate:
			last := runs[len(runs)-1]
			var start *chunkRun // the chunk that must have run before this one writes
			if len(runs) >= atOnce && atOnce < queued {
				start = runs[len(runs)-atOnce]
			}
			runs = append(runs, s.runChunk(ctx, m, in, prep, last.plan, last, start, chunk, false, need, overflow, &tm, ids))
			continue
		case <-c.done:
		}
		if c.err != nil {
			// The chunks after it find the batch as the failed chunk
			// found it, and write nothing.
			for _, next := range runs[1:] {
				<-next.done
				if next.err == nil {
					return nil, false, fmt.Errorf("core: batch %d: chunk at %d committed after the chunk before it failed", b.ID, next.start)
				}
			}
			runs = runs[:0]
		}
		switch err := c.err; {
		case err == errChunkAhead:
			s.chunksAgain.Add(1)
			runs = append(runs, s.runChunk(ctx, m, in, prep, cur, nil, nil, chunk, false, need, overflow, &tm, ids))
			continue
		case err == errSlowChunk && !c.slow:
			// Nothing of the chunk was kept: store it again one order at
			// a time, which answers what the chunk met.
			s.slowChunks.Add(1)
			runs = append(runs, s.runChunk(ctx, m, in, prep, cur, nil, nil, chunk, true, need, overflow, &tm, ids))
			continue
		case err != nil:
			*b = cur
			if baoguan.ErrorReason(err) == ReasonBatchLoading && baoguan.ErrorCode(err) == baoguan.ECONFLICT && baoguan.ErrorField(err) == "" {
				// Another loader took the batch over (this one was
				// too slow to renew its lease): the batch is its now.
				return nil, false, err
			}
			s.discardBatch(context.WithoutCancel(ctx), b)
			return nil, false, err
		}
		runs = runs[1:]
		cur = c.after()
		*b = cur
		if c.slow {
			known = false
		}
		sum.Merge(c.summary())
		if in.Timing != nil {
			in.Timing.Chunks++
			in.Timing.Write, in.Timing.Longest = tm.totals()
		}
		if s.afterBatchChunk != nil {
			s.afterBatchChunk(b)
		}
		if in.Progress != nil {
			in.Progress(b.Loaded, len(in.Orders))
		}
		if c.end == len(in.Orders) {
			if in.Stored != nil && known {
				*in.Stored = BatchStored{Known: true, Summary: sum}
			}
			return b, true, nil
		}
		if len(runs) == 0 {
			runs = append(runs, s.runChunk(ctx, m, in, prep, cur, nil, nil, chunk, false, need, overflow, &tm, ids))
		}
	}
}

// errChunkAhead ends the transaction of a chunk queued ahead that found
// the batch not as the chunk before it was to leave it (that chunk failed,
// or did not commit); it wrote nothing.
var errChunkAhead = errors.New("core: the chunk before this one did not commit")

// chunkRun is one chunk of a batch upload in the store's hands: the
// orders [start, end), stored from the batch as from.
type chunkRun struct {
	start, end int
	slow       bool
	plan       baoguan.Batch // the batch as the chunk is to leave it (its lease decided when queued)
	ran        chan struct{} // closed once the chunk's transaction has run to its end
	done       chan struct{} // closed once the store has answered, with err
	err        error

	mu  sync.Mutex
	to  baoguan.Batch        // the batch as the chunk's transaction left it
	sum baoguan.BatchSummary // the orders the chunk stored, when not slow
}

// visible waits until what the chunk's transaction wrote is seen by a
// transaction that runs after it, and reports whether it is: on a store
// with one writer (SQLite), once the chunk's transaction has run, as later
// transactions run after it, in its group or a later one; with writers
// side by side (PostgreSQL), once it has committed.
func (c *chunkRun) visible(sideBySide bool) bool {
	if sideBySide {
		<-c.done
		return c.err == nil
	}
	if !c.hasRun() {
		return false
	}
	select {
	case <-c.done: // ended already: its group may have failed
		return c.err == nil
	default:
		return true
	}
}

// hasRun waits until the chunk's transaction has run, or the chunk has
// failed without running to its end, and reports whether it ran.
func (c *chunkRun) hasRun() bool {
	select {
	case <-c.ran:
		return true
	case <-c.done:
		select {
		case <-c.ran:
			return true
		default:
			return false
		}
	}
}

// after is the batch as the chunk leaves it; valid once ran is closed.
func (c *chunkRun) after() baoguan.Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.to
}

// summary counts the orders the chunk stored, as its transaction inserted
// them (none when it stored them one order at a time); valid once ran is
// closed.
func (c *chunkRun) summary() baoguan.BatchSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sum
}

// batchTimer adds up the chunks' transactions, which may run at once on a
// store with several writers.
type batchTimer struct {
	mu             sync.Mutex
	write, longest time.Duration
}

func (t *batchTimer) add(d time.Duration) {
	t.mu.Lock()
	t.write += d
	t.longest = max(t.longest, d)
	t.mu.Unlock()
}

func (t *batchTimer) totals() (time.Duration, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.write, t.longest
}

// runChunk hands the store the chunk of the upload that starts at
// from.Loaded, to store from the batch as from: with one statement per
// table (storeChunk), or, slow, one order at a time. The chunk's
// transaction then renews the batch's lease (or, the last, marks it loaded
// and, with in.Pay, schedules its payment), provided the batch is as from:
// with prev (the chunk before it, queued earlier), once what prev wrote is
// visible; errChunkAhead when prev failed or the batch is not as prev was
// to leave it. With start, the transaction writes nothing before start's
// has run (errChunkAhead, having written nothing, when start failed). The
// new lease is decided here, later than from's.
func (s *Service) runChunk(ctx context.Context, m *baoguan.Merchant, in BatchInput, prep []prepared, from baoguan.Batch, prev, start *chunkRun, chunk int,
	slow bool, need int64, overflow bool, tm *batchTimer, ids *batchIDs) *chunkRun {
	sideBySide := s.BatchChunksAtOnce > 1
	c := &chunkRun{start: from.Loaded, end: min(from.Loaded+chunk, len(in.Orders)), slow: slow,
		ran: make(chan struct{}), done: make(chan struct{})}
	last := c.end == len(in.Orders)
	c.plan = from
	c.plan.Loaded = c.end
	if !last {
		// Stores keep times to the millisecond; each lease is later than
		// the one before it, so that a compare-and-set on it tells the
		// chunks apart even on a clock that stands still.
		lease := s.Now().Add(batchLease).Truncate(time.Millisecond)
		if !lease.After(from.LoadingUntil) {
			lease = from.LoadingUntil.Truncate(time.Millisecond).Add(time.Millisecond)
		}
		c.plan.LoadingUntil = lease
	} else {
		c.plan.LoadingUntil = time.Time{}
	}
	var once sync.Once
	go func() {
		defer close(c.done)
		// A chunk is a long write: on a store with several writers
		// (PostgreSQL) it runs in a transaction of its own, so that the
		// pushes of a group do not wait for it (baoguan.LongUpdate).
		c.err = s.update(baoguan.LongUpdate(ctx), func(tx baoguan.Tx, q *queue) error {
			if start != nil && !start.hasRun() {
				return errChunkAhead
			}
			defer func(t0 time.Time) { tm.add(time.Since(t0)) }(time.Now())
			b := from // a retried fn starts afresh
			var sum baoguan.BatchSummary
			if !slow {
				var err error
				oids, dids := ids.chunk(c.start, c.end)
				if sum, err = s.storeChunk(tx, m, in.Orders[c.start:c.end], prep[c.start:c.end], b.ID, oids, dids); err != nil {
					return errSlowChunk
				}
			} else {
				for j := c.start; j < c.end; j++ {
					if _, _, _, err := s.createPreparedTx(tx, q, m, &in.Orders[j], prep[j].entries, prep[j].fp, b.ID); err != nil {
						return prefixField(err, j)
					}
				}
			}
			if prev != nil && !prev.visible(sideBySide) {
				return errChunkAhead
			}
			b.Loaded, b.LoadingUntil = c.plan.Loaded, c.plan.LoadingUntil
			if err := tx.LeaseBatch(&b, from.LoadingUntil); err != nil {
				if prev != nil && baoguan.ErrorReason(err) == ReasonBatchLoading {
					// The chunk before did not commit (or the batch was
					// taken over, which the chunk's next try finds).
					return errChunkAhead
				}
				return err
			}
			if last && in.Pay {
				// The batch and its payment commit together: a refusal
				// here discards the batch, so a retry creates and pays
				// it anew.
				if err := s.payLoadedTx(tx, q, m, &b, need, overflow); err != nil {
					return err
				}
			}
			c.mu.Lock()
			c.to, c.sum = b, sum
			c.mu.Unlock()
			once.Do(func() { close(c.ran) })
			return nil
		})
	}()
	return c
}

// prepareBatch checks and fingerprints every order of an upload
// (prepareOrder), on every processor at once: the orders do not depend on
// one another, and what does depend on their order (duplicates, which bad
// order is named, the sums) CreateBatch takes afterwards, in order. errs[i]
// is order i's problem.
func (s *Service) prepareBatch(m *baoguan.Merchant, in BatchInput) ([]prepared, []error) {
	prep := make([]prepared, len(in.Orders))
	errs := make([]error, len(in.Orders))
	const block = 256
	workers := min(runtime.GOMAXPROCS(0), (len(in.Orders)+block-1)/block)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				start := int(next.Add(block)) - block
				if start >= len(in.Orders) {
					return
				}
				for i := start; i < min(start+block, len(in.Orders)); i++ {
					oi := &in.Orders[i]
					oi.Hold = true
					if oi.Order.Protocol == "" {
						oi.Order.Protocol = in.Protocol
					}
					entries, err := s.prepareOrder(m, oi)
					if err != nil {
						errs[i] = err
						continue
					}
					prep[i] = prepared{entries: entries, fp: oi.fingerprint()}
				}
			}
		})
	}
	wg.Wait()
	return prep, errs
}

// prepared is what CreateBatch's checks found for one order, kept for the
// chunk that stores it: its customs entries and its fingerprint.
type prepared struct {
	entries []baoguan.CustomsEntry
	fp      string
}

// errSlowChunk is what storeChunk's transaction ends with when the chunk
// met anything but the common case (an order number that exists, a
// target planned twice, any error): the transaction is rolled back and the
// chunk stored again one order at a time, by the code a single push runs,
// which answers with the error naming the order and field, or stores what
// it finds there as a push would.
var errSlowChunk = errors.New("core: the chunk is stored one order at a time")

// storeChunk stores a chunk of a batch upload, checked already, with one
// statement per table: the orders (which take their numbers, with their
// fingerprints: idempotency.go), their declarations. Batch orders are held, so there are no pay jobs to queue;
// the batch's payment is scheduled by the last chunk (payBatchTx). It
// returns the summary of the orders as inserted (BatchStored). Any error
// is for the caller to answer with errSlowChunk. oids and dids, when
// set, are ids drawn for the orders (one an order) and their
// declarations (in the order they are planned: batchIDs).
func (s *Service) storeChunk(tx baoguan.Tx, m *baoguan.Merchant, ins []OrderInput, prep []prepared, batchID int64, oids, dids []int64) (baoguan.BatchSummary, error) {
	var sum baoguan.BatchSummary
	now := tx.Now()
	os := make([]baoguan.Order, len(ins))
	for j := range ins {
		if !ins[j].Hold {
			return sum, errSlowChunk
		}
		os[j] = newOrder(m, &ins[j], prep[j].fp, batchID, now)
		if oids != nil {
			os[j].ID = oids[j]
		}
	}
	if err := tx.CreateOrders(os); err != nil {
		return sum, err
	}
	for j := range os {
		sum.Add(&os[j]) // as inserted: nothing below changes the orders' rows
	}
	ds := make([]baoguan.Declaration, 0, len(ins)) // one an order, mostly
	for j := range ins {
		decls := []baoguan.Declaration{}
		for k, spec := range ins[j].Declarations {
			planned, err := s.planDeclarationsInto(tx, &os[j], spec, prep[j].entries[k], nil, decls, &ds)
			if err != nil {
				return sum, err
			}
			decls = append(decls, planned...)
		}
	}
	if len(dids) == len(ds) {
		for i := range ds {
			ds[i].ID = dids[i]
		}
	}
	if err := tx.CreateDeclarations(ds); err != nil {
		return sum, err
	}
	return sum, nil
}

// reserveMinOrders is the fewest orders of an upload whose ids
// reserveBatchIDs draws ahead: a smaller one is a chunk or so of rows few
// enough to be inserted without COPY, which draws no ids first.
const reserveMinOrders = 64

// batchIDs are ids drawn for an upload's orders and their declarations
// before its chunks run (baoguan.IDReserver): orders[i] is order i's,
// decls[declFrom[i]:declFrom[i+1]] its declarations', one for each code of
// its customs entries' plans, in order — what storeChunk plans for a chunk
// of new orders.
type batchIDs struct {
	ready    chan struct{} // closed once drawn, or once drawing failed (orders nil)
	orders   []int64
	decls    []int64
	declFrom []int
}

// reserveBatchIDs starts drawing the ids of the upload's orders and
// declarations, on a store that reserves them and for an upload of
// reserveMinOrders orders or more; nil otherwise.
func (s *Service) reserveBatchIDs(ctx context.Context, in BatchInput, prep []prepared) *batchIDs {
	r, ok := s.Store.(baoguan.IDReserver)
	if !ok || len(in.Orders) < reserveMinOrders {
		return nil
	}
	ids := &batchIDs{ready: make(chan struct{}), declFrom: make([]int, len(prep)+1)}
	for i := range prep {
		n := 0
		for _, e := range prep[i].entries {
			n += len(e.Plan)
		}
		ids.declFrom[i+1] = ids.declFrom[i] + n
	}
	go func() {
		defer close(ids.ready)
		os, ds, err := r.ReserveIDs(ctx, len(prep), ids.declFrom[len(prep)])
		if err != nil {
			s.Log.Warn("drawing a batch upload's ids ahead; its chunks draw their own", "err", err)
			return
		}
		ids.orders, ids.decls = os, ds
	}()
	return ids
}

// chunk waits until the ids are drawn and returns those of the orders
// [start, end) and of their declarations; nil, nil when none were drawn.
func (ids *batchIDs) chunk(start, end int) (orders, decls []int64) {
	if ids == nil {
		return nil, nil
	}
	<-ids.ready
	if ids.orders == nil {
		return nil, nil
	}
	return ids.orders[start:end], ids.decls[ids.declFrom[start]:ids.declFrom[end]]
}

// startBatch is a batch upload's first transaction. It returns the batch
// to load (new, or a loading one whose loader is gone, taken over from
// its Loaded count on), or done with a batch an earlier upload of the
// same number and orders stored. ECONFLICT reason batch_loading while the
// same upload is loading under another request.
func (s *Service) startBatch(ctx context.Context, m *baoguan.Merchant, in BatchInput, fp, load string, total, need int64, overflow bool) (*baoguan.Batch, bool, error) {
	var out *baoguan.Batch
	done := false
	// The first transaction runs alone (baoguan.LongUpdate), as the
	// chunks do: in a group of pushes it would commit only once every push
	// of the group had run (tens of milliseconds beside 64 pushing
	// clients), and no chunk starts before it has committed.
	err := s.update(baoguan.LongUpdate(ctx), func(tx baoguan.Tx, q *queue) error {
		var prev *baoguan.Batch
		if in.No != "" {
			rec, err := readKey(tx, m.ID, batchKey(in.No))
			if err != nil {
				return err
			}
			if rec != nil {
				if rec.RequestHash != fp {
					return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "batch_no", Reason: "duplicate_batch_no",
						Message: "batch " + in.No + " already exists with other orders"}
				}
				id, _ := strconv.ParseInt(string(rec.Body), 10, 64)
				b, err := tx.Batch(m.ID, id)
				if err != nil {
					return err
				}
				if !b.Loading() {
					out, done = b, true
					return nil
				}
				prev = b
			}
		} else {
			b, err := tx.LoadingBatch(m.ID, load)
			switch {
			case err == nil:
				prev = b
			case baoguan.ErrorCode(err) != baoguan.ENOTFOUND:
				return err
			}
		}
		now := tx.Now()
		if prev != nil {
			if prev.Fingerprint != load || prev.LoadingUntil.After(now) {
				return &baoguan.Error{Code: baoguan.ECONFLICT, Reason: ReasonBatchLoading,
					Message: "batch " + prev.No + " is being uploaded by another request; retry later"}
			}
			was := prev.LoadingUntil
			prev.LoadingUntil = now.Add(batchLease)
			if err := tx.LeaseBatch(prev, was); err != nil {
				return err
			}
			out = prev
			return nil
		}
		if in.Pay {
			// Refuse a payment the funding account cannot make before
			// storing anything; the last chunk checks again.
			mm, err := tx.Merchant(m.ID)
			if err != nil {
				return err
			}
			if err := fundingShort(mm, need, overflow); err != nil {
				return err
			}
		}
		no := in.No
		if no == "" {
			no = now.In(ChinaTime).Format("20060102150405") + fmt.Sprintf("%03d", now.Nanosecond()/1e6) + strconv.FormatUint(s.seq.Add(1)%1000, 10)
		}
		b := &baoguan.Batch{MerchantID: m.ID, No: no, Total: len(in.Orders), Amount: total, Protocol: in.Protocol,
			LoadingUntil: now.Add(batchLease), Fingerprint: load}
		if err := tx.CreateBatch(b); err != nil {
			return err
		}
		if in.No != "" {
			// The key was read (and, on PostgreSQL, locked) above; the
			// record names the batch a repeat is answered with.
			if _, err := takeKey(tx, m.ID, batchKey(in.No), fp, 0, []byte(strconv.FormatInt(b.ID, 10))); err != nil {
				return err
			}
		}
		out = b
		return nil
	})
	return out, done, err
}

// discardBatch removes a batch that failed to load: first it is marked
// discarded (no fingerprint, an expired lease: no repeat takes it over,
// and Purge finishes the job if this one stops) and its number freed, then
// its orders go in chunks (freeing their numbers), then the batch.
func (s *Service) discardBatch(ctx context.Context, b *baoguan.Batch) {
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		d := *b
		d.Fingerprint, d.LoadingUntil = "", time.UnixMilli(1)
		if err := tx.LeaseBatch(&d, b.LoadingUntil); err != nil {
			return err
		}
		return dropBatchKey(tx, b)
	})
	if err != nil {
		s.Log.Warn("discarding a batch that failed to load", "batch", b.ID, "err", err)
		return
	}
	if err := s.clearBatch(ctx, b.MerchantID, b.ID); err != nil {
		s.Log.Warn("discarding a batch that failed to load", "batch", b.ID, "err", err)
	}
}

// clearBatch deletes a discarded batch's orders, which frees their
// numbers, a chunk per transaction, then the batch.
func (s *Service) clearBatch(ctx context.Context, merchantID, id int64) error {
	chunk := s.BatchChunk
	if chunk <= 0 {
		chunk = DefaultBatchChunk
	}
	for more := true; more; {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
			ids, err := tx.BatchOrderIDs(merchantID, id, chunk)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				more = false
				return tx.DeleteBatch(merchantID, id)
			}
			_, err = tx.DeleteOrders(merchantID, ids)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// discardStaleBatches discards the loading batches whose loaders died and
// which no repeat of their upload took over within a lease. It returns how
// many it discarded.
func (s *Service) discardStaleBatches(ctx context.Context) (int, error) {
	n := 0
	for {
		var stale []baoguan.Batch
		err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
			var err error
			stale, err = tx.StaleBatchLoads(tx.Now().Add(-batchLease), 10)
			if err != nil {
				return err
			}
			for i := range stale {
				d := stale[i]
				d.Fingerprint, d.LoadingUntil = "", time.UnixMilli(1)
				if err := tx.LeaseBatch(&d, stale[i].LoadingUntil); err != nil {
					return err
				}
				if err := dropBatchKey(tx, &stale[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		if len(stale) == 0 {
			return n, nil
		}
		for i := range stale {
			if err := s.clearBatch(ctx, stale[i].MerchantID, stale[i].ID); err != nil {
				return n, err
			}
			n++
		}
	}
}

// visibleBatch reads one of the merchant's batches as requests see them:
// a batch still loading is not there yet. ENOTFOUND.
func visibleBatch(tx baoguan.Tx, merchantID, id int64) (*baoguan.Batch, error) {
	b, err := tx.Batch(merchantID, id)
	if err == nil && b.Loading() {
		return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: fmt.Sprintf("batch %d not found", id)}
	}
	return b, err
}

func prefixField(err error, i int) error {
	e, ok := err.(*baoguan.Error)
	if !ok {
		return err
	}
	c := *e
	if c.Field != "" {
		c.Field = fmt.Sprintf("orders[%d].%s", i, c.Field)
	} else {
		c.Field = fmt.Sprintf("orders[%d]", i)
	}
	c.Message = fmt.Sprintf("orders[%d]: %s", i, c.Message)
	return &c
}

// Batch returns one of the merchant's batches. ENOTFOUND.
func (s *Service) Batch(ctx context.Context, m *baoguan.Merchant, id int64) (*baoguan.Batch, baoguan.BatchSummary, error) {
	var b *baoguan.Batch
	var sum baoguan.BatchSummary
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if b, err = visibleBatch(tx, m.ID, id); err != nil {
			return err
		}
		sum, err = tx.BatchSummary(m.ID, id)
		return err
	})
	return b, sum, err
}

// CreateBatchDetail is CreateBatch returning the batch's summary too, for
// a front-end answering the upload: counted as the chunks stored the
// orders when that is known (BatchStored), read from the store otherwise.
// in.Stored is its own.
func (s *Service) CreateBatchDetail(ctx context.Context, m *baoguan.Merchant, in BatchInput) (*baoguan.Batch, baoguan.BatchSummary, bool, error) {
	var stored BatchStored
	in.Stored = &stored
	b, created, err := s.CreateBatch(ctx, m, in)
	if err != nil {
		return nil, baoguan.BatchSummary{}, false, err
	}
	if created && stored.Known {
		return b, stored.Summary, true, nil
	}
	b, sum, err := s.Batch(ctx, m, b.ID)
	return b, sum, created, err
}

// Batches lists the merchant's batches, newest first, a page at a time,
// each with its summary.
func (s *Service) Batches(ctx context.Context, m *baoguan.Merchant, p baoguan.Page) ([]baoguan.Batch, []baoguan.BatchSummary, error) {
	var bs []baoguan.Batch
	var sums []baoguan.BatchSummary
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if bs, err = tx.Batches(m.ID, p); err != nil {
			return err
		}
		sums = make([]baoguan.BatchSummary, len(bs))
		for i := range bs {
			if sums[i], err = tx.BatchSummary(m.ID, bs[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	return bs, sums, err
}

// PayBatch queues payment of every order of the batch that is unpaid or
// whose payment failed (payzero 2.2: a second call pays only the failures).
// Errors: ENOTFOUND; ESTATE reason nothing_to_pay (payzero 50054);
// EINSUFFICIENT when "auto" orders exceed the funding balance (50056).
func (s *Service) PayBatch(ctx context.Context, m *baoguan.Merchant, id int64) (int, error) {
	n := 0
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		b, err := visibleBatch(tx, m.ID, id)
		if err != nil {
			return err
		}
		n, err = s.payBatchTx(tx, q, m, b, false)
		return err
	})
	return n, err
}

// payBatchTx schedules the payment of the batch's unpaid and failed orders
// in tx. With cards, the merchant's funding cards are checked first
// (PayBatchFromCards), in the same transaction as the scheduling, so that a
// card list replaced meanwhile cannot be paid against.
func (s *Service) payBatchTx(tx baoguan.Tx, q *queue, m *baoguan.Merchant, b *baoguan.Batch, cards bool) (int, error) {
	if b.Loading() {
		return 0, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: fmt.Sprintf("batch %d not found", b.ID)}
	}
	mm, err := tx.Merchant(m.ID)
	if err != nil {
		return 0, err
	}
	// The batch's orders are read light (Tx.UnpaidBatchOrders): ids,
	// amounts, channels and states, nothing to open.
	todo, err := tx.UnpaidBatchOrders(m.ID, b.ID)
	if err != nil {
		return 0, err
	}
	// need is what the batch's automatic payments take from the funding
	// account; orders stored before amounts were bounded could make the
	// sum wrap, so it is added checked and an overflow is "short".
	var need int64
	overflow, failed := false, 0
	for _, o := range todo {
		if o.PayStatus == baoguan.PayFailed {
			failed++
		}
		if o.Channel == baoguan.ChannelAuto && !overflow {
			if sum, ok := baoguan.AddAmounts(need, o.Amount); ok && o.Amount >= 0 {
				need = sum
			} else {
				overflow = true
			}
		}
	}
	if cards {
		f, err := fundingCardsTx(tx, m.ID)
		if err != nil {
			return 0, err
		}
		if err := checkFunding(f, 0, false); err != nil {
			return 0, err
		}
		if len(todo) > 0 {
			if err := checkFunding(f, need, overflow); err != nil {
				return 0, err
			}
		}
	}
	if len(todo) == 0 {
		msg := "batch has no order waiting for payment"
		if cards {
			msg = "没有需要被分配执行的订单" // payzero's own text for 50054
		}
		return 0, &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonNothingToPay, Message: msg}
	}
	if err := fundingShort(mm, need, overflow); err != nil {
		return 0, err
	}
	// A failed payment starts a new round (rearrangeTx: the order
	// changes); an order waiting unpaid only needs its round's pay job,
	// and one statement queues all of theirs (a round queued already is
	// left as it is), so a 10,000-order batch is not 10,000 updates and
	// inserts while every push waits for the writer.
	if failed > 0 {
		for _, u := range todo {
			if u.PayStatus != baoguan.PayFailed {
				continue
			}
			o, err := tx.Order(m.ID, u.ID)
			if err != nil {
				return 0, err
			}
			if err := s.rearrangeTx(tx, q, o); err != nil {
				return 0, err
			}
		}
	}
	if failed < len(todo) {
		n, err := s.queueBatchPays(tx, m.ID, b.ID)
		if err != nil {
			return 0, err
		}
		q.n += n
	}
	b.PayCalls++
	return len(todo), tx.UpdateBatch(b)
}

// payLoadedTx schedules the payment of a batch in the transaction that
// stores its last chunk: payBatchTx for a batch whose every order is
// known to wait unpaid (no one could read, pay or change the orders of a
// loading batch), so nothing is read or updated per order — one statement
// queues every order's payment (queueBatchPays), which on SQLite holds
// the writer milliseconds for 10,000 orders instead of an update and an
// insert per order did (seconds for 10,000 orders, while every push
// waited). need is the upload's automatic payments' sum, which CreateBatch
// added up from the same orders. ESTATE reason nothing_to_pay when none of
// the batch's orders waits (its every order existed before the upload,
// with the same content), as payBatchTx.
func (s *Service) payLoadedTx(tx baoguan.Tx, q *queue, m *baoguan.Merchant, b *baoguan.Batch, need int64, overflow bool) error {
	mm, err := tx.Merchant(m.ID)
	if err != nil {
		return err
	}
	if err := fundingShort(mm, need, overflow); err != nil {
		return err
	}
	n, err := s.queueBatchPays(tx, m.ID, b.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonNothingToPay, Message: "batch has no order waiting for payment"}
	}
	q.n += n
	b.PayCalls++
	return tx.UpdateBatch(b)
}

// fundingShort refuses a sandbox batch payment of need the merchant's
// funding balance cannot make (EINSUFFICIENT reason funding_short).
func fundingShort(mm *baoguan.Merchant, need int64, overflow bool) error {
	if mm.Mode == baoguan.ModeSandbox && (overflow || need > mm.FundingBalance) {
		return &baoguan.Error{Code: baoguan.EINSUFFICIENT, Reason: ReasonFundingShort,
			Message: "the funding account balance " + baoguan.FormatYuan(mm.FundingBalance) + " cannot pay this batch (" + amountText(need, overflow) + ")"}
	}
	return nil
}

// amountText renders a sum for a message: yuan, or "more than the maximum
// amount" when it overflowed.
func amountText(v int64, overflow bool) string {
	if overflow {
		return "more than " + baoguan.FormatYuan(baoguan.MaxAmount)
	}
	return baoguan.FormatYuan(v)
}

// MaxBatchPageSize is the largest page of a batch's orders (payzero 2.5).
const MaxBatchPageSize = 100

// BatchOrderPage returns one page of a batch's orders, newest first, each
// with its declarations, and the batch's order count (payzero 2.5). page
// counts from 1. Errors: ENOTFOUND; EINVALID field page or pagesize.
func (s *Service) BatchOrderPage(ctx context.Context, m *baoguan.Merchant, batchID int64, page, size int) ([]OrderView, int, error) {
	if page < 1 {
		return nil, 0, baoguan.FieldError("page", "page counts from 1")
	}
	if size < 1 || size > MaxBatchPageSize {
		return nil, 0, baoguan.FieldError("pagesize", "pagesize must be from 1 to %d", MaxBatchPageSize)
	}
	var out []OrderView
	total := 0
	err := s.view(ctx, func(tx baoguan.Tx) error {
		if _, err := visibleBatch(tx, m.ID, batchID); err != nil {
			return err
		}
		var err error
		f := baoguan.OrderFilter{MerchantID: m.ID, BatchID: batchID}
		if total, err = tx.CountOrders(f); err != nil {
			return err
		}
		skip := (page - 1) * size
		if skip >= total {
			return nil
		}
		f.Newest = true
		for skip > 0 {
			f.Limit = min(skip, 1000)
			os, err := tx.ListOrders(f)
			if err != nil || len(os) == 0 {
				return err
			}
			skip -= len(os)
			f.Cursor = os[len(os)-1].ID
		}
		f.Limit = size
		os, err := tx.ListOrders(f)
		if err != nil {
			return err
		}
		for i := range os {
			v := OrderView{Order: &os[i]}
			if v.Declarations, err = tx.Declarations(m.ID, os[i].ID); err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, total, err
}
