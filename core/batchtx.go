package core

import (
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// batchTx is a batch's transaction as its handlers see it: the store's Tx,
// with the rows the batch's jobs concern read once (preload, then on first
// use) and kept as they are written, so that a payment and the declaration
// it causes, run one after the other in the batch, read the order once.
// Jobs of an inline kind enqueued due now are kept in chain for the batch
// to run rather than written.
//
// The cache follows the transaction: a savepoint rolled back forgets
// every row written under it, and the jobs it chained. Rows are handed out
// as copies; the maps and slices inside them (an order's items and extras)
// are shared, and handlers replace rather than modify them.
//
// When the batch runs without a savepoint per job (deferred), a cached
// order or declaration written is not written to the store at once: the
// cache keeps it as dirty, and flush writes each dirty row once, when the
// batch's jobs have run. The events (notifications) the jobs create wait
// the same way and are inserted together. An order paid then declared in
// one batch is then one UPDATE, not two, and the store's row images (sqlstore) make it name
// only the columns that differ from the row as it was read. The version
// check is kept: a write of a cached row at another version than the
// cache's goes to the store, which refuses it as stale, and the flush's
// UPDATE checks the version the row was read at, so a row another
// transaction changed meanwhile (PostgreSQL) fails the flush as stale and
// the batch is replayed with a savepoint per job, where writes go through
// at once, as before. A row written in the batch has its version raised
// once in the cache, as the flush raises it once in the database. Every
// method that reads or writes orders or declarations by SQL other than
// the cached ones flushes first, so a statement never sees a row older
// than the cache (TestBatchTxWrapsOrderReads holds the list to the store's
// Tx).
type batchTx struct {
	baoguan.Tx
	orders    map[int64]*baoguan.Order
	decls     map[int64][]baoguan.Declaration // by order id: all of the order's declarations
	declOrder map[int64]int64                 // declaration id → order id, for cached orders
	merchants map[int64]*baoguan.Merchant
	chain     []baoguan.Job
	woke      bool // a job due now was written

	deferred   bool            // writes of cached orders and declarations, and new events, wait for flush
	dirtyOrder map[int64]bool  // orders written in the cache only
	dirtyDecl  map[int64]bool  // declarations written in the cache only
	events     []baoguan.Event // events created, not yet written
	jobs       int             // the jobs preloaded: the events' room (renderLater)
	rend       *renderer       // renders the bodies of events among them (emitNotice), beside the batch
	touched    []touch         // rows written since the outermost savepoint began
}

// touch is a cached row written in the current savepoint.
type touch struct {
	table byte // 'o' order (and its declarations), 'm' merchant
	id    int64
}

// newBatchTx wraps tx for a batch; deferred keeps the writes of cached
// rows for flush.
func newBatchTx(tx baoguan.Tx, deferred bool) *batchTx {
	return &batchTx{Tx: tx, orders: map[int64]*baoguan.Order{}, decls: map[int64][]baoguan.Declaration{},
		declOrder: map[int64]int64{}, merchants: map[int64]*baoguan.Merchant{},
		deferred: deferred, dirtyOrder: map[int64]bool{}, dirtyDecl: map[int64]bool{}}
}

// flush writes every dirty row to the store, orders then declarations,
// each by id (so that concurrent batches on PostgreSQL lock rows in one
// order), then the events the jobs created. The store checks each row
// against the version it was read at and writes only the columns that
// changed since; each table's rows go in one call (UpdateOrders,
// UpdateDeclarations, CreateEvents: on PostgreSQL one round trip each, not
// one a row). The notifications' bodies are rendered meanwhile
// (renderer), and the events get them before they are inserted.
func (t *batchTx) flush() error {
	rend := t.rend
	t.rend = nil
	defer rend.release() // the insert has run: nothing holds the sealed bodies
	if err := t.flushRows(); err != nil {
		rend.wait()
		return err
	}
	sealed, err := rend.wait()
	if err != nil {
		return err
	}
	if len(t.events) > 0 {
		es := t.events
		t.events = nil
		if c, ok := t.Tx.(sealedEventsCreator); ok && sealed != nil {
			return c.CreateSealedEvents(es, sealed)
		}
		if err := t.Tx.CreateEvents(es); err != nil {
			return err
		}
	}
	return nil
}

// renderLag is how many notices waiting for the renderer's goroutine make
// a batch render the next ones itself (renderLater).
const renderLag = 16

// sealedEventsCreator is a Tx that takes events with their bodies sealed
// beforehand, on another goroutine (sqlstore.Tx).
type sealedEventsCreator interface {
	EventBodySealer() func(dst, body []byte) ([]byte, error)
	CreateSealedEvents(es []baoguan.Event, sealed [][]byte) error
}

// flushRows writes the dirty orders, then the dirty declarations.
func (t *batchTx) flushRows() error {
	if len(t.dirtyOrder) == 0 && len(t.dirtyDecl) == 0 {
		return nil
	}
	// The rows' copies are a buffer of the batches' (flushBufs), cleared
	// when written: the store reads them and keeps none of them.
	b := flushBufs.Get().(*flushBuf)
	defer b.put()
	if len(t.dirtyOrder) > 0 {
		for _, id := range b.sorted(t.dirtyOrder) {
			b.orders = append(b.orders, *t.orders[id])
			b.orders[len(b.orders)-1].Version-- // the version read: the cache raised it once
		}
		if err := t.Tx.UpdateOrders(b.orders); err != nil {
			return err
		}
		clear(t.dirtyOrder)
	}
	if len(t.dirtyDecl) > 0 {
		for _, id := range b.sorted(t.dirtyDecl) {
			b.decls = append(b.decls, *t.cachedDecl(id))
			b.decls[len(b.decls)-1].Version--
		}
		if err := t.Tx.UpdateDeclarations(b.decls); err != nil {
			return err
		}
		clear(t.dirtyDecl)
	}
	return nil
}

// flushBuf holds a flush's copies of the rows it writes: a batch's flush
// of 256 jobs copied up to 256 orders (of some 600 bytes) and their
// declarations into new slices, in the SQLite writer, batch after batch.
type flushBuf struct {
	ids    []int64
	orders []baoguan.Order
	decls  []baoguan.Declaration
}

// flushBufs are the flushes' buffers: a pool, since batches on PostgreSQL
// flush at the same time.
var flushBufs = sync.Pool{New: func() any { return new(flushBuf) }}

// sorted returns dirty's ids in order, in b's buffer.
func (b *flushBuf) sorted(dirty map[int64]bool) []int64 {
	b.ids = b.ids[:0]
	for id := range dirty {
		b.ids = append(b.ids, id)
	}
	slices.Sort(b.ids)
	return b.ids
}

// put empties b, so that it keeps no row's strings, maps and personal
// data alive, and returns it to the pool.
func (b *flushBuf) put() {
	clear(b.orders)
	clear(b.decls)
	b.orders, b.decls = b.orders[:0], b.decls[:0]
	flushBufs.Put(b)
}

// pendingRender is a notification kept for flush with its event
// (events[i]), whose body is still to be rendered.
type pendingRender struct {
	f      Format
	n      Notice
	i      int
	seal   func(dst, body []byte) ([]byte, error) // nil: the store seals at the insert
	body   []byte
	sealed []byte
	ct     string
	ok     bool
	err    error
}

// render renders and seals the notice, into a's buffers; a panic in the
// format is its error, as it would have been in the batch's transaction
// (the renderer's goroutine must not take the process down).
func (r *pendingRender) render(a *sealArena) {
	defer func() {
		if p := recover(); p != nil {
			r.err = fmt.Errorf("core: panic rendering a %s notice: %v\n%s", r.n.Type, p, debug.Stack())
		}
	}()
	r.body, r.ct, r.ok, r.err = r.f.Render(r.n)
	if r.err == nil && r.ok && r.seal != nil {
		r.sealed, r.err = a.seal(r.seal, r.body)
	}
}

// renderer renders a batch's notifications on a goroutine of its own as
// the batch's handlers emit them, and seals their bodies as the store
// keeps them (sealedEventsCreator), beside the handlers and the writes of
// the batch's rows (on SQLite the batch holds the single writer the whole
// time, and the other processor may be free meanwhile); flush renders
// those the goroutine has not begun and gives the events their bodies
// (wait).
type renderer struct {
	t    *batchTx
	seal func(dst, body []byte) ([]byte, error)
	rs   []*pendingRender
	slab []pendingRender // where rs's notices are (renderLater)
	ch   chan *pendingRender
	done chan struct{}
	now  int // notices rendered at once (renderLater)

	// The sealed bodies' buffers: the writer's (renderLater, wait) and
	// the goroutine's, each used by its goroutine alone.
	arena, goArena sealArena
}

// renderLater keeps e for flush, its body rendered from n by f: by the
// renderer's goroutine, from n detached from rows that may still change,
// or at once when renderLag notices wait for that goroutine. A goroutine
// the writer wakes is queued on the writer's own processor, and while the
// other one is busy (a loaded server) it runs only when the writer waits —
// at the flush, where the writer renders what it has not taken anyway
// (wait). Rendered at once, the notice needs no copy of its rows and no
// hand-off; it is kept as the goroutine would have kept it, a format's
// error or panic met at the flush as before. While the other processor
// has room the goroutine keeps up (a notice renders in a few microseconds;
// a batch's handlers emit one every ten or so), and the writer renders
// none.
func (t *batchTx) renderLater(f Format, n Notice, e *baoguan.Event) {
	if t.events == nil && t.jobs > 0 {
		// Room for two a job (a payment's and its declaration's), where
		// growing by doubling copied the events about twice.
		t.events = make([]baoguan.Event, 0, 2*t.jobs)
	}
	t.events = append(t.events, *e)
	if t.rend == nil {
		t.rend = &renderer{t: t, ch: make(chan *pendingRender, 256), done: make(chan struct{})}
		if c, ok := t.Tx.(sealedEventsCreator); ok {
			t.rend.seal = c.EventBodySealer()
		}
		go func(ch <-chan *pendingRender, done chan<- struct{}, a *sealArena) {
			defer close(done)
			for r := range ch {
				r.render(a)
			}
		}(t.rend.ch, t.rend.done, &t.rend.goArena)
	}
	rd := t.rend
	if len(rd.slab) == cap(rd.slab) {
		// The notices in arrays of the batch's size, not one allocation
		// each; an array is never grown, so that the pointers in rs and
		// on the channel stay its elements.
		rd.slab = make([]pendingRender, 0, max(2*t.jobs, 16))
		rd.rs = slices.Grow(rd.rs, cap(rd.slab))
	}
	rd.slab = append(rd.slab, pendingRender{f: f, n: n, i: len(t.events) - 1, seal: rd.seal})
	r := &rd.slab[len(rd.slab)-1]
	rd.rs = append(rd.rs, r)
	if len(t.rend.ch) >= renderLag {
		r.render(&rd.arena)
		r.n = Notice{}
		t.rend.now++
		return
	}
	r.n = n.detached()
	t.rend.ch <- r
}

// wait ends the renderer: it renders what the goroutine has not taken,
// waits for it, and gives each kept event its body, dropping those the
// format does not render. It returns the sealed bodies beside the events
// (nil where the store is to seal, or when it seals them all). A format's
// error, or a seal's, is the first one met. A nil renderer has nothing to
// wait for.
func (rd *renderer) wait() ([][]byte, error) {
	if rd == nil {
		return nil, nil
	}
	close(rd.ch)
	for r := range rd.ch {
		r.render(&rd.arena)
	}
	<-rd.done
	t := rd.t
	var sealed [][]byte
	if rd.seal != nil {
		sealed = make([][]byte, len(t.events))
	}
	var dropped map[int]bool
	for _, r := range rd.rs {
		if r.err != nil {
			return nil, r.err
		}
		if !r.ok {
			if dropped == nil {
				dropped = map[int]bool{}
			}
			dropped[r.i] = true
			continue
		}
		t.events[r.i].Body, t.events[r.i].ContentType = r.body, r.ct
		if sealed != nil {
			sealed[r.i] = r.sealed
		}
	}
	if dropped != nil {
		kept, keptSealed := t.events[:0], sealed[:0]
		for i, e := range t.events {
			if !dropped[i] {
				kept = append(kept, e)
				if sealed != nil {
					keptSealed = append(keptSealed, sealed[i])
				}
			}
		}
		clear(t.events[len(kept):])
		t.events = kept
		if sealed != nil {
			sealed = keptSealed
		}
	}
	return sealed, nil
}

// release gives the sealed bodies' buffers back, once the events'
// insert has run (or will not): the store keeps nothing of them. A nil
// renderer has none.
func (rd *renderer) release() {
	if rd != nil {
		rd.arena.release()
		rd.goArena.release()
	}
}

// sealArena holds sealed notification bodies in chunks reused batch
// after batch (sealChunks): a sealed body lives only until the batch's
// events are inserted, and a new one each was some 2 KB an order
// allocated in the SQLite writer, where most notices are rendered.
type sealArena struct {
	cur    []byte
	chunks [][]byte // full ones
}

// sealChunk is the size of a sealArena's chunks: some 50 sealed bodies.
const sealChunk = 64 << 10

// sealChunks are the chunks of sealArenas between batches.
var sealChunks = sync.Pool{New: func() any { b := make([]byte, 0, sealChunk); return &b }}

// seal appends body sealed by seal to a's chunk and returns it.
func (a *sealArena) seal(seal func(dst, body []byte) ([]byte, error), body []byte) ([]byte, error) {
	// At most: base64 (a third more, SealBytes), a header, nonce and tag.
	need := len(body) + len(body)/3 + 256
	if need > sealChunk {
		return seal(nil, body)
	}
	if cap(a.cur)-len(a.cur) < need {
		if a.cur != nil {
			a.chunks = append(a.chunks, a.cur)
		}
		a.cur = (*sealChunks.Get().(*[]byte))[:0]
	}
	n := len(a.cur)
	out, err := seal(a.cur[n:n:n+need], body)
	if err != nil {
		return nil, err
	}
	if len(out) <= need {
		a.cur = a.cur[:n+len(out)] // out is in the chunk: keep it
	}
	return out[:len(out):len(out)], nil
}

// release puts a's chunks back in the pool.
func (a *sealArena) release() {
	if a.cur != nil {
		a.chunks = append(a.chunks, a.cur)
	}
	for _, c := range a.chunks {
		c = c[:0]
		sealChunks.Put(&c)
	}
	a.cur, a.chunks = nil, nil
}

// discard ends a renderer whose batch is not flushed (a batch replayed
// or failed), so that its goroutine ends.
func (t *batchTx) discard() {
	if t.rend != nil {
		t.rend.wait()
		t.rend.release()
		t.rend = nil
	}
}

// flushOrder writes the order if it is dirty, and its dirty declarations.
func (t *batchTx) flushOrder(id int64) error {
	if err := t.writeOrder(id); err != nil {
		return err
	}
	for _, d := range t.decls[id] {
		if err := t.flushDecl(d.ID); err != nil {
			return err
		}
	}
	return nil
}

// writeOrder writes the order if it is dirty.
func (t *batchTx) writeOrder(id int64) error {
	if !t.dirtyOrder[id] {
		return nil
	}
	c := *t.orders[id]
	c.Version-- // the version read: the cache raised it once
	if err := t.Tx.UpdateOrder(&c); err != nil {
		return err
	}
	delete(t.dirtyOrder, id)
	return nil
}

// flushDecl writes the declaration if it is dirty.
func (t *batchTx) flushDecl(id int64) error {
	if !t.dirtyDecl[id] {
		return nil
	}
	d := t.cachedDecl(id)
	c := *d
	c.Version--
	if err := t.Tx.UpdateDeclaration(&c); err != nil {
		return err
	}
	delete(t.dirtyDecl, id)
	return nil
}

// cachedDecl is the cached declaration id, nil when not cached.
func (t *batchTx) cachedDecl(id int64) *baoguan.Declaration {
	oid, ok := t.declOrder[id]
	if !ok {
		return nil
	}
	ds := t.decls[oid]
	for i := range ds {
		if ds[i].ID == id {
			return &ds[i]
		}
	}
	return nil
}

// preload reads the rows of a batch's jobs with one query per table: the
// orders of pay jobs, the declarations of declare and poll jobs, and for
// both the orders with all their declarations. The orders of payments
// queued on them that their pushes kept in fresh (nil: none) are taken
// from there instead, with their declarations, when the store adopts them
// (freshRows).
func (t *batchTx) preload(jobs []baoguan.Job, fresh *freshRows) error {
	t.jobs = len(jobs)
	adopter, _ := t.Tx.(rowAdopter)
	if adopter == nil {
		fresh = nil
	}
	imager, _ := t.Tx.(rowImager)
	var orderIDs, declIDs []int64
	// The kept orders taken are the batch's own (take forgets them), and
	// so are their declarations (keep copied them): the batch holds them
	// where they were kept. Copied into slices of the batch, they were
	// the batch's largest allocation (benchmarks.md, change 71).
	var kept []*freshOrder
	var imgs []any // the kept rows' images, where their pushes kept them
	var bare []int // the kept orders without: adopted as rows
	for _, j := range jobs {
		switch j.Kind {
		case baoguan.JobPay:
			if j.ID == 0 && fresh != nil {
				if f, ok := fresh.take(j.RefID, j.MerchantID, j.CreatedAt, j.RunAt); ok {
					if f.img != nil && imager != nil {
						imgs = append(imgs, f.img)
					} else {
						bare = append(bare, len(kept))
					}
					kept = append(kept, f)
					continue
				}
			}
			orderIDs = append(orderIDs, j.RefID)
		case baoguan.JobDeclare, baoguan.JobPoll:
			declIDs = append(declIDs, j.RefID)
		}
	}
	if len(kept) > 0 {
		if len(imgs) > 0 {
			if err := imager.AdoptImages(imgs); err != nil {
				return err
			}
		}
		if len(bare) > 0 {
			os := make([]baoguan.Order, 0, len(bare))
			var ds []baoguan.Declaration
			for _, i := range bare {
				os = append(os, kept[i].o)
				ds = append(ds, kept[i].ds...)
			}
			if err := adopter.AdoptRows(os, ds); err != nil {
				return err
			}
		}
		for _, f := range kept {
			o := &f.o
			t.orders[o.ID] = o
			t.decls[o.ID] = f.ds
			for _, d := range f.ds {
				t.declOrder[d.ID] = o.ID
			}
		}
	}
	if len(declIDs) > 0 {
		ds, err := t.Tx.DeclarationsByID(declIDs)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if _, kept := t.orders[d.OrderID]; !kept {
				orderIDs = append(orderIDs, d.OrderID)
			}
		}
	}
	if len(orderIDs) == 0 {
		return nil
	}
	var os []baoguan.Order
	var ds []baoguan.Declaration
	var err error
	if r, ok := t.Tx.(ordersWithDeclarationsReader); ok {
		os, ds, err = r.OrdersWithDeclarations(orderIDs)
	} else {
		os, err = t.Tx.OrdersByID(orderIDs)
		if err == nil {
			ds, err = t.Tx.DeclarationsOfOrders(orderIDs)
		}
	}
	if err != nil {
		return err
	}
	for i := range os {
		o := &os[i] // the slice is the batch's: no copy of each order
		t.orders[o.ID] = o
		t.decls[o.ID] = []baoguan.Declaration{}
	}
	for _, d := range ds {
		if _, ok := t.decls[d.OrderID]; ok {
			t.decls[d.OrderID] = append(t.decls[d.OrderID], d)
			t.declOrder[d.ID] = d.OrderID
		}
	}
	return nil
}

// ordersWithDeclarationsReader is a Tx that reads orders and all their
// declarations together (sqlstore.Tx: one round trip on PostgreSQL).
type ordersWithDeclarationsReader interface {
	OrdersWithDeclarations(ids []int64) ([]baoguan.Order, []baoguan.Declaration, error)
}

// savepoint runs fn in a savepoint of the store's transaction; when fn
// fails, the rows it wrote are forgotten and the jobs it chained dropped.
func (t *batchTx) savepoint(fn func() error) error {
	chained := len(t.chain)
	t.touched = t.touched[:0]
	err := t.Tx.Savepoint(fn)
	if err != nil {
		for _, k := range t.touched {
			t.forget(k)
		}
		t.chain = t.chain[:chained]
	}
	t.touched = t.touched[:0]
	return err
}

func (t *batchTx) forget(k touch) {
	switch k.table {
	case 'o':
		delete(t.orders, k.id)
		for _, d := range t.decls[k.id] {
			delete(t.declOrder, d.ID)
		}
		delete(t.decls, k.id)
	case 'm':
		delete(t.merchants, k.id)
	}
}

func notFound(what string) error {
	return &baoguan.Error{Code: baoguan.ENOTFOUND, Message: what + " not found"}
}

// Order returns a copy of the cached order, checking its merchant.
func (t *batchTx) Order(merchantID, id int64) (*baoguan.Order, error) {
	if o, ok := t.orders[id]; ok {
		if o.MerchantID != merchantID {
			return nil, notFound("order")
		}
		c := *o
		return &c, nil
	}
	o, err := t.Tx.Order(merchantID, id)
	if err != nil {
		return nil, err
	}
	c := *o
	t.orders[id] = &c
	return o, nil
}

// peek returns the cached order itself, for reading only, checking its
// merchant; an order not cached is read as Order reads it.
func (t *batchTx) peek(merchantID, id int64) (*baoguan.Order, error) {
	if o, ok := t.orders[id]; ok {
		if o.MerchantID != merchantID {
			return nil, notFound("order")
		}
		return o, nil
	}
	return t.Order(merchantID, id)
}

// clearPayDue takes the cached order id off its pay queue (PayDueAt), in
// the cache, as UpdateOrder of a copy without it would: the flush writes
// it with the batch's other changes of the order. It is false, with
// nothing done, when writes are not deferred or the order is not cached.
func (t *batchTx) clearPayDue(id int64) bool {
	c, ok := t.orders[id]
	if !ok || !t.deferred {
		return false
	}
	if !c.PayDueAt.IsZero() {
		if !t.dirtyOrder[id] {
			t.dirtyOrder[id] = true
			c.Version++
		}
		c.PayDueAt = time.Time{}
		c.UpdatedAt = t.Now()
	}
	return true
}

// UpdateOrder writes o and keeps what was written. Deferred, a cached
// order at o's version is written in the cache only (its version raised
// once per flush, as the store raises it).
func (t *batchTx) UpdateOrder(o *baoguan.Order) error {
	if c, ok := t.orders[o.ID]; ok && t.deferred && c.MerchantID == o.MerchantID && c.Version == o.Version {
		if !t.dirtyOrder[o.ID] {
			t.dirtyOrder[o.ID] = true
			o.Version++
		}
		o.UpdatedAt = t.Now()
		// Over the cached row, not into a new one: the cache's rows are
		// its own (handed out as copies) and an order is written twice
		// in a batch, paid then declared.
		*c = *o
		return nil
	}
	// Through to the store, which decides: it sees the cache's last
	// write first.
	if err := t.flushOrder(o.ID); err != nil {
		return err
	}
	t.touched = append(t.touched, touch{'o', o.ID})
	if err := t.Tx.UpdateOrder(o); err != nil {
		t.forget(touch{'o', o.ID})
		return err
	}
	if _, ok := t.orders[o.ID]; ok {
		c := *o
		t.orders[o.ID] = &c
	}
	return nil
}

// UpdateOrders writes each order as UpdateOrder does.
func (t *batchTx) UpdateOrders(os []baoguan.Order) error {
	for i := range os {
		if err := t.UpdateOrder(&os[i]); err != nil {
			return err
		}
	}
	return nil
}

// Declarations returns a copy of the order's cached declarations.
func (t *batchTx) Declarations(merchantID, orderID int64) ([]baoguan.Declaration, error) {
	if ds, ok := t.decls[orderID]; ok {
		if o := t.orders[orderID]; o == nil || o.MerchantID != merchantID {
			return t.Tx.Declarations(merchantID, orderID)
		}
		return append([]baoguan.Declaration{}, ds...), nil
	}
	ds, err := t.Tx.Declarations(merchantID, orderID)
	if err != nil {
		return nil, err
	}
	if o := t.orders[orderID]; o != nil && o.MerchantID == merchantID {
		t.decls[orderID] = append([]baoguan.Declaration{}, ds...)
		for _, d := range ds {
			t.declOrder[d.ID] = orderID
		}
	}
	return ds, nil
}

// Declaration returns a copy of a cached declaration, checking its
// merchant.
func (t *batchTx) Declaration(merchantID, id int64) (*baoguan.Declaration, error) {
	if oid, ok := t.declOrder[id]; ok {
		for _, d := range t.decls[oid] {
			if d.ID == id {
				if d.MerchantID != merchantID {
					return nil, notFound("declaration")
				}
				return &d, nil
			}
		}
	}
	return t.Tx.Declaration(merchantID, id)
}

// UpdateDeclaration writes d and keeps what was written; deferred, in the
// cache only, as UpdateOrder.
func (t *batchTx) UpdateDeclaration(d *baoguan.Declaration) error {
	if c := t.cachedDecl(d.ID); c != nil && t.deferred && c.OrderID == d.OrderID && c.MerchantID == d.MerchantID && c.Version == d.Version {
		if !t.dirtyDecl[d.ID] {
			t.dirtyDecl[d.ID] = true
			d.Version++
		}
		*c = *d
		return nil
	}
	if err := t.flushDecl(d.ID); err != nil {
		return err
	}
	t.touched = append(t.touched, touch{'o', d.OrderID})
	if err := t.Tx.UpdateDeclaration(d); err != nil {
		t.forget(touch{'o', d.OrderID})
		return err
	}
	for i, c := range t.decls[d.OrderID] {
		if c.ID == d.ID {
			t.decls[d.OrderID][i] = *d
		}
	}
	return nil
}

// UpdateDeclarations writes each declaration as UpdateDeclaration does.
func (t *batchTx) UpdateDeclarations(ds []baoguan.Declaration) error {
	for i := range ds {
		if err := t.UpdateDeclaration(&ds[i]); err != nil {
			return err
		}
	}
	return nil
}

// CreateDeclaration writes d; the order's cached list is read again when
// next asked for.
func (t *batchTx) CreateDeclaration(d *baoguan.Declaration) error {
	if err := t.flushOrder(d.OrderID); err != nil {
		return err
	}
	t.forget(touch{'o', d.OrderID})
	return t.Tx.CreateDeclaration(d)
}

// Merchant returns a copy of the merchant, read once per batch.
func (t *batchTx) Merchant(id int64) (*baoguan.Merchant, error) {
	if m, ok := t.merchants[id]; ok {
		c := *m
		return &c, nil
	}
	m, err := t.Tx.Merchant(id)
	if err != nil {
		return nil, err
	}
	c := *m
	t.merchants[id] = &c
	return m, nil
}

// UpdateMerchant and DebitFunding change the merchant: it is read again
// when next asked for.
func (t *batchTx) UpdateMerchant(m *baoguan.Merchant) error {
	t.forget(touch{'m', m.ID})
	return t.Tx.UpdateMerchant(m)
}

func (t *batchTx) DebitFunding(merchantID, amount int64) (bool, error) {
	t.forget(touch{'m', merchantID})
	return t.Tx.DebitFunding(merchantID, amount)
}

// Enqueue keeps a job of an inline kind due now for the batch to run;
// other jobs are written.
func (t *batchTx) Enqueue(j *baoguan.Job) (bool, error) {
	now := t.Now()
	if j.RunAt.IsZero() {
		j.RunAt = now
	}
	if j.State == "" {
		j.State = baoguan.JobQueued
	}
	if inlineKinds[j.Kind] && j.State == baoguan.JobQueued && !j.RunAt.After(now) {
		t.chain = append(t.chain, *j)
		return true, nil
	}
	ok, err := t.Tx.Enqueue(j)
	if ok && !j.RunAt.After(now) {
		t.woke = true
	}
	return ok, err
}

// EnqueueLater goes the way of Enqueue: a job of an inline kind due now
// is kept for the batch to run.
func (t *batchTx) EnqueueLater(j *baoguan.Job) error {
	_, err := t.Enqueue(j)
	return err
}

// Savepoint, a handler's own, runs fn with writes going through to the
// store, after the dirty rows: what the savepoint undoes is then in the
// store, not in the cache. When fn fails, the cached rows are forgotten
// (read again when next asked for) and the jobs it chained dropped.
func (t *batchTx) Savepoint(fn func() error) error {
	if err := t.flush(); err != nil {
		return err
	}
	deferred, chained := t.deferred, len(t.chain)
	t.deferred = false
	err := t.Tx.Savepoint(fn)
	t.deferred = deferred
	if err != nil {
		clear(t.orders)
		clear(t.decls)
		clear(t.declOrder)
		clear(t.merchants)
		t.chain = t.chain[:chained]
	}
	return err
}

// CreateEvent keeps a new event for flush when writes are deferred. Its ID
// is not set: nothing in a batch reads an event it created but through the
// store, and every read of events flushes first.
func (t *batchTx) CreateEvent(e *baoguan.Event) error {
	if !t.deferred {
		return t.Tx.CreateEvent(e)
	}
	t.events = append(t.events, *e)
	return nil
}

// CreateEvents, like CreateEvent, waits for flush when writes are deferred.
func (t *batchTx) CreateEvents(es []baoguan.Event) error {
	if !t.deferred {
		return t.Tx.CreateEvents(es)
	}
	t.events = append(t.events, es...)
	return nil
}

// The statements below read or change orders, declarations or events other
// than through the cache: each sees the dirty rows written first.

func (t *batchTx) UpdateEvent(e *baoguan.Event) error {
	if err := t.flush(); err != nil {
		return err
	}
	return t.Tx.UpdateEvent(e)
}

func (t *batchTx) Event(merchantID, id int64) (*baoguan.Event, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.Event(merchantID, id)
}

func (t *batchTx) ListEvents(f baoguan.EventFilter) ([]baoguan.Event, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.ListEvents(f)
}

func (t *batchTx) DueEvents(n int, skip []string, after *baoguan.DueEvent) ([]baoguan.DueEvent, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.DueEvents(n, skip, after)
}

func (t *batchTx) DueEventsOf(orders []int64) ([]baoguan.DueEvent, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.DueEventsOf(orders)
}

func (t *batchTx) LeaseEvents(ids []int64, until time.Time) ([]baoguan.Event, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.LeaseEvents(ids, until)
}

func (t *batchTx) PendingEvents(ids []int64) ([]baoguan.Event, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.PendingEvents(ids)
}

func (t *batchTx) RecordAttempt(e *baoguan.Event, a *baoguan.Attempt, lease time.Time) error {
	if err := t.flush(); err != nil {
		return err
	}
	return t.Tx.RecordAttempt(e, a, lease)
}

func (t *batchTx) RecordAttempts(os []baoguan.Outcome) ([]bool, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.RecordAttempts(os)
}

func (t *batchTx) AddAttempt(a *baoguan.Attempt) error {
	if err := t.flush(); err != nil {
		return err
	}
	return t.Tx.AddAttempt(a)
}

func (t *batchTx) Attempts(eventID int64) ([]baoguan.Attempt, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.Attempts(eventID)
}

func (t *batchTx) PurgeAttempts(from int64, n int, before time.Time) (int, int64, bool, error) {
	if err := t.flush(); err != nil {
		return 0, 0, false, err
	}
	return t.Tx.PurgeAttempts(from, n, before)
}

func (t *batchTx) OrderByNo(merchantID int64, no string) (*baoguan.Order, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.OrderByNo(merchantID, no)
}

func (t *batchTx) OrderByPaymentNo(merchantID int64, paymentNo string) (*baoguan.Order, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.OrderByPaymentNo(merchantID, paymentNo)
}

func (t *batchTx) ListOrders(f baoguan.OrderFilter) ([]baoguan.Order, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.ListOrders(f)
}

func (t *batchTx) CountOrders(f baoguan.OrderFilter) (int, error) {
	if err := t.flush(); err != nil {
		return 0, err
	}
	return t.Tx.CountOrders(f)
}

func (t *batchTx) OrdersByID(ids []int64) ([]baoguan.Order, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.OrdersByID(ids)
}

func (t *batchTx) DeclarationsByID(ids []int64) ([]baoguan.Declaration, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.DeclarationsByID(ids)
}

func (t *batchTx) DeclarationsOfOrders(orderIDs []int64) ([]baoguan.Declaration, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.DeclarationsOfOrders(orderIDs)
}

func (t *batchTx) BatchSummary(merchantID, id int64) (baoguan.BatchSummary, error) {
	if err := t.flush(); err != nil {
		return baoguan.BatchSummary{}, err
	}
	return t.Tx.BatchSummary(merchantID, id)
}

func (t *batchTx) OrderFingerprint(merchantID int64, no string) (string, bool, error) {
	if err := t.flush(); err != nil {
		return "", false, err
	}
	return t.Tx.OrderFingerprint(merchantID, no)
}

func (t *batchTx) BatchOrderIDs(merchantID, batchID int64, n int) ([]int64, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.BatchOrderIDs(merchantID, batchID, n)
}

func (t *batchTx) UnpaidBatchOrders(merchantID, batchID int64) ([]baoguan.UnpaidOrder, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.UnpaidBatchOrders(merchantID, batchID)
}

func (t *batchTx) EnqueuePayJobs(merchantID, batchID int64, maxAttempts int) (int, error) {
	if err := t.flush(); err != nil {
		return 0, err
	}
	return t.Tx.EnqueuePayJobs(merchantID, batchID, maxAttempts)
}

// QueueOrderPays changes orders beneath the cache: it forgets them all.
func (t *batchTx) QueueOrderPays(merchantID, batchID int64, sandbox bool) (int, error) {
	if err := t.flush(); err != nil {
		return 0, err
	}
	clear(t.orders)
	clear(t.decls)
	clear(t.declOrder)
	return t.Tx.QueueOrderPays(merchantID, batchID, sandbox)
}

// DequeueOrderPays also takes the cached orders off the queue.
func (t *batchTx) DequeueOrderPays(ids []int64) error {
	if err := t.flush(); err != nil {
		return err
	}
	for _, id := range ids {
		if o, ok := t.orders[id]; ok {
			o.PayDueAt = time.Time{}
		}
	}
	return t.Tx.DequeueOrderPays(ids)
}

func (t *batchTx) DueOrderPays(n int) ([]baoguan.Job, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.DueOrderPays(n)
}

func (t *batchTx) CountOrderPays(now time.Time) (int, int, error) {
	if err := t.flush(); err != nil {
		return 0, 0, err
	}
	return t.Tx.CountOrderPays(now)
}

// DeleteOrders also forgets the orders it deletes.
func (t *batchTx) DeleteOrders(merchantID int64, ids []int64) (int, error) {
	if err := t.flush(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		t.forget(touch{'o', id})
	}
	return t.Tx.DeleteOrders(merchantID, ids)
}

func (t *batchTx) FindOrdersByNumber(no string) ([]baoguan.OrderMatch, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.FindOrdersByNumber(no)
}

func (t *batchTx) OrderDays(f baoguan.StatsFilter) ([]baoguan.DayCount, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.OrderDays(f)
}

func (t *batchTx) DeclarationPorts(f baoguan.StatsFilter) ([]baoguan.PortCount, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.DeclarationPorts(f)
}

func (t *batchTx) DeclarationFailures(f baoguan.StatsFilter, limit int) ([]baoguan.FailureCount, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return t.Tx.DeclarationFailures(f, limit)
}
