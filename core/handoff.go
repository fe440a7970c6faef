package core

import (
	"context"
	"time"

	"github.com/baoguan/baoguan"
)

// The hand-off: on a store that hands new events off
// (baoguan.HandoffStore: SQLite), a deliverer alone on its database takes
// the events committed in this process from the store's writer instead
// of reading them back from the events table. The table stays the truth:
// what was not handed off (a restart, a redelivery, a retry, an event the
// hand-off had no room for, a transaction whose outcome is unknown) is
// found by reading it, as before.
//
// On a store shared by several processes (baoguan.LeasedHandoffStore:
// PostgreSQL) the events handed off are inserted leased to this process
// (deliverer.leased, claimLeased): no other process takes them, and the
// deliverer sends them with no write before the outcome. One it will not
// send from memory has its lease ended (unlease, endLeases), so that it
// is due at once in the table.
//
// The writer names a group's new events before its COMMIT (Expect), so a
// claim that reads the table afterwards finds them the deliverer's (as it
// finds those it holds) and leaves them out; once the group is durable
// the events come (Committed) and wait in ready, in the queue's order,
// until a claim sends them: one per order at a time, each destination
// within its room, exactly as a claim from the table chooses. An event
// handed off is never also claimed from the table, and the reverse: a
// claim from the table leaves out every event expected or ready, and
// Committed keeps only the events still expected.

// cachedMerchant is a merchant as deliveries need it (with its retired
// webhook secrets), read at at, while the service's merchant generation
// was gen.
type cachedMerchant struct {
	m   *baoguan.Merchant
	at  time.Time
	gen uint64
}

// merchantTTL bounds how long a merchant read for deliveries is reused.
// Changes made through the service (keys, settings) end it at once
// (authCache.forget); a change written by another process is seen within
// it, as by authentication (authCacheTTL).
const merchantTTL = time.Second

// Expect notes the ids of events about to commit: the deliverer's from
// now on (baoguan.EventHandoff).
func (dl *deliverer) Expect(ids []int64) {
	dl.hmu.Lock()
	for _, id := range ids {
		dl.expect[id] = struct{}{}
	}
	dl.hmu.Unlock()
}

// Committed takes the events of a durable transaction into ready, those
// still expected. Past the room for bodies (readyMax), and while any
// does, an event waits by its id alone (spilled: its body is read back by
// id when it is sent, or ahead of it), up to idMax events in all; past
// that, or on a leased hand-off, it is left to the table.
func (dl *deliverer) Committed(es []baoguan.Event) {
	dl.hmu.Lock()
	for i := range es {
		e := &es[i]
		if _, ok := dl.expect[e.ID]; !ok {
			continue
		}
		delete(dl.expect, e.ID)
		if len(dl.inReady) >= dl.readyMax || len(dl.spilled) > 0 {
			// Once some wait by their id, newer ones do too: the room
			// for bodies freed at the head is for the oldest (sendReady
			// reads their bodies ahead, spilledAhead).
			if dl.leased || len(dl.inReady)+len(dl.spilled) >= dl.idMax {
				dl.dirty, dl.forget = true, true
				if dl.leased {
					dl.unlease = append(dl.unlease, e.ID) // due at once (endLeases)
				}
				continue
			}
			dl.spilled[e.ID] = struct{}{}
		} else {
			dl.inReady[e.ID] = *e
		}
		dl.handedTop = max(dl.handedTop, e.ID)
		d := baoguan.DueEvent{ID: e.ID, MerchantID: e.MerchantID, OrderID: e.OrderID, Dest: baoguan.Destination(e.URL), NextAt: e.NextAt}
		dl.ready = append(dl.ready, d)
		for j := len(dl.ready) - 1; j > 0 && dueBefore(dl.ready[j], dl.ready[j-1]); j-- {
			dl.ready[j], dl.ready[j-1] = dl.ready[j-1], dl.ready[j]
		}
	}
	dl.hmu.Unlock()
	dl.wakeHanded()
}

// Cancel leaves the events of a transaction that did not commit (or
// whose outcome is unknown) to the table.
func (dl *deliverer) Cancel(ids []int64) {
	dl.hmu.Lock()
	for _, id := range ids {
		delete(dl.expect, id)
	}
	if dl.leased {
		// Committed or not, nothing of them is leased unless they are.
		dl.unlease = append(dl.unlease, ids...)
	}
	dl.dirty, dl.forget = true, true
	dl.hmu.Unlock()
	dl.wakeHanded()
}

// Dirty notes that the table holds due events that were not handed off.
func (dl *deliverer) Dirty() { dl.markDirty(true) }

// markDirty makes the next claim read the table; wake wakes the
// deliverer for it.
func (dl *deliverer) markDirty(wake bool) {
	dl.hmu.Lock()
	dl.dirty = true
	dl.hmu.Unlock()
	if wake {
		dl.wakeHanded()
	}
}

func (dl *deliverer) wakeHanded() {
	select {
	case dl.handed <- struct{}{}:
	default:
	}
}

// mine tells whether the deliverer has event id: held (sent, not
// recorded), expected or ready; call with claimMu and hmu held.
func (dl *deliverer) mine(id int64) bool {
	if _, ok := dl.held[id]; ok {
		return true
	}
	if dl.waiting(id) {
		return true
	}
	_, ok := dl.expect[id]
	return ok
}

// waiting tells whether event id is in ready (its body kept or spilled);
// call with hmu held.
func (dl *deliverer) waiting(id int64) bool {
	if _, ok := dl.inReady[id]; ok {
		return true
	}
	_, ok := dl.spilled[id]
	return ok
}

// handedCount is how many events are expected or ready.
func (dl *deliverer) handedCount() int {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	return len(dl.expect) + len(dl.inReady) + len(dl.spilled)
}

// readyDue is a copy of the first n events of ready, less those to the
// destinations in skip, among its first dueWindow events when skip is
// set (as the table's query that leaves destinations out: Tx.DueEvents),
// and top, the largest id handed off when it was made (an event handed
// off later has a larger one).
// A claim chooses among as many of the oldest events as it may send
// (and a margin), not among all ready: a backlog of thousands handed off
// costs a claim no more than a few. The copy is made in readyBuf, which
// the next call reuses: a claim (claimMu held) chooses among it and
// keeps only the ids it picks. A new copy at every claim was a third of
// what the deliverer allocated (benchmarks.md, change 71).
func (dl *deliverer) readyDue(n int, skip []string) (ready []baoguan.DueEvent, top int64) {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	dl.trimReady()
	out := dl.readyBuf[:0]
	var skipped map[string]bool
	if len(skip) > 0 {
		skipped = make(map[string]bool, len(skip))
		for _, d := range skip {
			skipped[d] = true
		}
	}
	scanned := 0
	// The events taken are readyDead of ready's: once as many are passed,
	// the rest all wait, and are not looked up (with a backlog, two
	// lookups in maps of thousands for each of hundreds of events, at
	// every claim, were most of a claim's time; benchmarks.md, change 71).
	dead := dl.readyDead
	for _, d := range dl.ready {
		if len(out) >= n || (len(skip) > 0 && scanned >= dueWindow) {
			break
		}
		if dead > 0 && !dl.waiting(d.ID) {
			dead--
			continue // taken (takeReady)
		}
		scanned++
		if skipped[d.Dest] {
			continue
		}
		out = append(out, d)
	}
	dl.readyBuf = out
	return out, dl.handedTop
}

// dueWindow is how many of the oldest events ready a claim looks at
// when it leaves out destinations at their limit (as sqlstore's).
const dueWindow = 1000

// trimReady drops the events taken from the head of ready, and compacts
// it once taken events are half of it; call with hmu held.
func (dl *deliverer) trimReady() {
	k := 0
	for k < len(dl.ready) && !dl.waiting(dl.ready[k].ID) {
		k++
	}
	if k > 0 {
		clear(dl.ready[:k])
		dl.ready = dl.ready[k:]
		dl.readyDead = max(dl.readyDead-k, 0)
	}
	if dl.readyDead > 64 && dl.readyDead > len(dl.ready)/2 {
		dl.compactReady()
	}
}

// compactReady keeps in ready only the events still waiting; call with
// hmu held.
func (dl *deliverer) compactReady() {
	kept := make([]baoguan.DueEvent, 0, len(dl.inReady)+len(dl.spilled))
	for _, d := range dl.ready {
		if dl.waiting(d.ID) {
			kept = append(kept, d)
		}
	}
	dl.ready, dl.readyDead = kept, 0
}

func (dl *deliverer) isReady(id int64) bool {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	_, ok := dl.inReady[id]
	return ok
}

// picked splits the ready events among ids: the merchants of those kept
// with their bodies, and the ids of those that wait without (spilled: a
// claim that takes them reads them by id).
func (dl *deliverer) picked(ids []int64) (merchants, spilled []int64) {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	for _, id := range ids {
		if e, ok := dl.inReady[id]; ok {
			merchants = append(merchants, e.MerchantID)
		} else if _, ok := dl.spilled[id]; ok {
			spilled = append(spilled, id)
		}
	}
	return merchants, spilled
}

// takeReady removes the ready events among ids from ready and appends
// those whose body it kept to out, in ids' order (the spilled ones the
// claim has read by id); call with claimMu held (only a claim removes).
// An event taken stays in the slice ready until trimReady passes it:
// removing it there is a copy of all ready, at every claim.
func (dl *deliverer) takeReady(out []baoguan.Event, ids []int64) []baoguan.Event {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	for _, id := range ids {
		if e, ok := dl.inReady[id]; ok {
			out = append(out, e)
			delete(dl.inReady, id)
			dl.readyDead++
		} else if _, ok := dl.spilled[id]; ok {
			delete(dl.spilled, id)
			dl.readyDead++
		}
	}
	dl.trimReady()
	return out
}

// merchantsOf returns the merchants ids name as deliveries need them,
// from the cache while it holds them, else read in tx, or in a read
// transaction of their own when tx is nil; call with claimMu held. gen is
// the merchant generation (authCache.gen) read before tx began: a merchant
// read in a snapshot older than a change is kept as of before it.
func (dl *deliverer) merchantsOf(ctx context.Context, tx baoguan.Tx, gen uint64, ids []int64) (map[int64]*baoguan.Merchant, error) {
	out := make(map[int64]*baoguan.Merchant, 1)
	now := time.Now()
	var missing []int64
	for _, id := range ids {
		if _, seen := out[id]; seen {
			// ids names a merchant once per event: one read for all of
			// them (a claim's 32 events of one merchant were 32 reads,
			// 64 statements, whenever its cached copy had expired).
			continue
		}
		if c, ok := dl.merchants[id]; ok && c.gen == gen && now.Sub(c.at) < merchantTTL {
			out[id] = c.m
			continue
		}
		out[id] = nil
		missing = append(missing, id)
	}
	if len(missing) == 0 {
		return out, nil
	}
	read := func(tx baoguan.Tx) error {
		for _, id := range missing {
			m, err := dl.s.readMerchant(tx, id)
			if err != nil {
				return err
			}
			out[id] = m
		}
		return nil
	}
	var err error
	if tx != nil {
		err = read(tx)
	} else {
		err = dl.s.Store.View(ctx, read)
	}
	if err != nil {
		return nil, err
	}
	if len(dl.merchants) > 10000 {
		clear(dl.merchants)
	}
	for _, id := range missing {
		dl.merchants[id] = cachedMerchant{m: out[id], at: now, gen: gen}
	}
	return out, nil
}
