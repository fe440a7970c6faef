package core

import (
	"context"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// Pushes stored together. Every order push used to be an Update of its
// own: the stores group concurrent Updates into one transaction (group
// commit), but each still ran its own statements — on PostgreSQL a
// savepoint and one statement a push, each a round trip and the backend's
// per-statement work. Here concurrent CreateOrderDetail calls, once
// checked and fingerprinted (outside any transaction, as before), queue
// what they prepared; a call that finds fewer than
// Service.CombinedWrites combined writes in flight runs one, an Update
// whose function, when the store runs it, takes up to maxCombined queued
// pushes and stores them all at once (sqlstore.Tx.CreateOrdersWith: one
// statement on PostgreSQL for the orders and their declarations; else
// Tx.CreateOrders and Tx.CreateDeclarations, as a batch upload's chunk),
// different merchants' pushes together. Nothing waits on a timer: while the writes
// in flight run, the pushes that arrive queue for the next one.
//
// Only the common case is stored so: new order numbers, each target
// planned once, no error. Anything else (a number taken — a repeat or a
// duplicate_order_no —, a target planned twice, a missing merchant, any
// error) fails the combined write, which is rolled back whole, and every
// push of it is stored again by the one-order path (createPreparedTx),
// which answers exactly as it always did. A combined write that took a
// single push runs that path itself. Two pushes of one number never share
// a write: the later ones go to the one-order path once the write is
// over, where they find the first's number taken as before. A push is
// answered only once the write that stored it has committed.
//
// Pushes with an Idempotency-Key (whose record is taken in the push's own
// transaction) always take the one-order path. Service.CombinedWrites is
// set per store (cmd/baoguan serve): on PostgreSQL, where every statement
// is a round trip and the backend's per-statement work; SQLite's
// statements cost no round trip, and there each push keeps its own.

// maxCombined bounds the pushes one combined write stores.
const maxCombined = 64

// combiner queues the pushes waiting for a combined write.
type combiner struct {
	mu      sync.Mutex
	queue   []*combinedPush
	writing int // combined writes submitted and not answered yet
	// pausedUntil: no push is combined before then (a write failed).
	pausedUntil time.Time
}

// combinePause is how long pushes are stored alone after a combined write
// failed: a client that sends pushes already stored again and again (each
// a repeat, which fails the write it is in) costs at most ten failed
// writes a second, each the work of its statement on top of every push
// stored alone.
const combinePause = 100 * time.Millisecond

// combinedPush is one push waiting for, or stored by, a combined write.
type combinedPush struct {
	m       *baoguan.Merchant
	in      *OrderInput
	entries []baoguan.CustomsEntry
	fp      string

	taken bool // a combined write took it (under combiner.mu)
	done  chan struct{}
	// What the write answered, once done is closed: alone means the push
	// is to be stored by the one-order path; otherwise v, created and err
	// are its answer.
	alone   bool
	v       *OrderView
	created bool
	err     error
}

// combinable tells whether a push may be stored by a combined write.
func (s *Service) combinable(ctx context.Context) bool {
	return s.CombinedWrites > 0 && claimOf(ctx) == nil
}

// createCombined stores a prepared push by a combined write, and reports
// alone when the caller is to store it by the one-order path instead.
func (s *Service) createCombined(ctx context.Context, m *baoguan.Merchant, in *OrderInput, entries []baoguan.CustomsEntry, fp string) (v *OrderView, created, alone bool, err error) {
	p := &combinedPush{m: m, in: in, entries: entries, fp: fp, done: make(chan struct{})}
	c := &s.combine
	c.mu.Lock()
	if !c.pausedUntil.IsZero() && time.Now().Before(c.pausedUntil) {
		c.mu.Unlock()
		return nil, false, true, nil
	}
	c.queue = append(c.queue, p)
	lead := c.writing < s.CombinedWrites
	if lead {
		c.writing++
	}
	c.mu.Unlock()
	if lead {
		s.combinedWrite()
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		// Dropped unrun if no write took it yet, as the store's queue
		// drops a call whose context ended; once taken, it is answered
		// with its outcome.
		c.mu.Lock()
		if !p.taken {
			for i, q := range c.queue {
				if q == p {
					c.queue = append(c.queue[:i], c.queue[i+1:]...)
					break
				}
			}
			c.mu.Unlock()
			return nil, false, false, ctx.Err()
		}
		c.mu.Unlock()
		<-p.done
	}
	return p.v, p.created, p.alone, p.err
}

// take removes up to maxCombined pushes from the queue for one write. A
// push whose number one of them has already is in later instead: it is
// answered alone once the write is over, so that it finds the number
// taken rather than taking it first.
func (c *combiner) take() (ps, later []*combinedPush) {
	type number struct {
		merchant int64
		no       string
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.queue), maxCombined)
	ps = make([]*combinedPush, 0, n)
	var seen map[number]bool
	for _, p := range c.queue[:n] {
		p.taken = true
		if n > 1 {
			k := number{p.m.ID, p.in.Order.MerchantOrderNo}
			if seen == nil {
				seen = make(map[number]bool, n)
			}
			if seen[k] {
				p.alone = true
				later = append(later, p)
				continue
			}
			seen[k] = true
		}
		ps = append(ps, p)
	}
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	return ps, later
}

// combinedWrite runs one combined write (the caller counted it in
// combiner.writing), answers its pushes, and starts the next one if
// pushes are waiting.
func (s *Service) combinedWrite() {
	c := &s.combine
	if s.beforeCombinedWrite != nil {
		s.beforeCombinedWrite()
	}
	var ps, later []*combinedPush
	took := false
	// No caller's context: the write answers every push it took, and each
	// caller waits for it.
	err := s.update(context.Background(), func(tx baoguan.Tx, q *queue) error {
		if !took { // a store may run the function twice: the same pushes
			ps, later = c.take()
			took = true
		}
		switch len(ps) {
		case 0:
			return nil
		case 1:
			// One push: its own path, which answers whatever it meets.
			p := ps[0]
			v, created, err := s.createPreparedView(tx, q, p.m, p.in, p.entries, p.fp)
			p.v, p.created, p.err = v, created, err
			return err
		}
		return s.storeCombined(tx, q, ps)
	})
	switch {
	case len(ps) == 1:
		if p := ps[0]; err != nil {
			p.v, p.created, p.err = nil, false, err
		}
	case err == nil && len(ps) > 1:
		s.Metrics.CombinedWrites.Inc()
		s.Metrics.OrdersCombined.Add(float64(len(ps)))
	case err != nil:
		for _, p := range ps {
			p.alone, p.v, p.created = true, nil, false
		}
		if s.combinePause > 0 {
			c.mu.Lock()
			c.pausedUntil = time.Now().Add(s.combinePause)
			c.mu.Unlock()
		}
	}
	for _, p := range ps {
		close(p.done)
	}
	for _, p := range later {
		close(p.done)
	}
	c.mu.Lock()
	c.writing--
	next := len(c.queue) > 0 && c.writing < s.CombinedWrites
	if next {
		c.writing++
	}
	c.mu.Unlock()
	if next {
		go s.combinedWrite()
	}
}

// storeCombined stores new orders as createPreparedTx stores one: the
// orders (which take their numbers, with their fingerprints) and their
// declarations, planned before the insert, with one statement per table
// or, on PostgreSQL, one for both (ordersWithDeclarations); their
// payments queued on them, or their pay jobs. Anything but new numbers
// and targets each planned once fails it: the caller then stores each
// push alone.
func (s *Service) storeCombined(tx baoguan.Tx, q *queue, ps []*combinedPush) error {
	now := tx.Now()
	os := make([]baoguan.Order, len(ps))
	ds := make([][]baoguan.Declaration, len(ps))
	ptx := &merchantsRead{Tx: tx}
	for i, p := range ps {
		os[i] = newOrder(p.m, p.in, p.fp, 0, now)
		if !p.in.Hold && s.payOnOrder(&os[i]) {
			os[i].PayDueAt = now
		}
		// Planned before the insert: they need nothing of the order's row
		// but its id, which the store sets. A target planned twice is
		// errSlowChunk.
		decls := []baoguan.Declaration{}
		for k, spec := range p.in.Declarations {
			if _, err := s.planDeclarationsInto(ptx, &os[i], spec, p.entries[k], nil, decls, &decls); err != nil {
				return err
			}
		}
		ds[i] = decls
	}
	if err := createOrdersWith(tx, os, ds); err != nil {
		return err
	}
	for i, p := range ps {
		switch {
		case p.in.Hold:
		case !os[i].PayDueAt.IsZero():
			q.n++
		default:
			if err := s.scheduleNewPay(q, &os[i], now); err != nil {
				return err
			}
		}
	}
	for i, p := range ps {
		p.v = &OrderView{Order: &os[i], Declarations: ds[i]}
		p.created = true
	}
	return nil
}

// ordersWithDeclarations is a Tx that inserts new orders and their
// declarations together (sqlstore.Tx.CreateOrdersWith: one statement on
// PostgreSQL).
type ordersWithDeclarations interface {
	CreateOrdersWith(os []baoguan.Order, ds [][]baoguan.Declaration) error
}

// createOrdersWith inserts new orders and ds[i], the new declarations of
// os[i], their OrderID set: with CreateOrdersWith, or one table after the
// other.
func createOrdersWith(tx baoguan.Tx, os []baoguan.Order, ds [][]baoguan.Declaration) error {
	if w, ok := tx.(ordersWithDeclarations); ok {
		return w.CreateOrdersWith(os, ds)
	}
	return baoguan.CreateOrdersThenDeclarations(tx, os, ds)
}

// merchantsRead is a Tx that reads each merchant once: a combined write
// plans the declarations of many live orders, each of which reads its
// merchant to choose a route, where a push read it once.
type merchantsRead struct {
	baoguan.Tx
	read map[int64]*baoguan.Merchant
}

func (t *merchantsRead) Merchant(id int64) (*baoguan.Merchant, error) {
	if m, ok := t.read[id]; ok {
		return m, nil
	}
	m, err := t.Tx.Merchant(id)
	if err == nil {
		if t.read == nil {
			t.read = map[int64]*baoguan.Merchant{}
		}
		t.read[id] = m
	}
	return m, err
}
