package core

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/prometheus/client_golang/prometheus"
)

// Delivery: how notifications reach merchants.
//
// The events table is the delivery queue: an event is written pending, due
// at once, in the transaction of the state change it tells of, and no job
// is written for it. The deliverer takes due events in batches (one
// transaction reads the due ones, leases some, and reads their merchants
// once), sends each from a sender of its own (a goroutine that then waits
// for the next), and writes the outcomes of many attempts in one
// transaction (the attempt, the event's status and, after a failure, when
// it is due again on its protocol's schedule). An
// attempt is recorded only while its lease holds, so a delivery that
// outlived its lease, or an event redelivered meanwhile, records nothing.
//
// A deliverer alone on its database (RunnerOptions.Exclusive: a SQLite
// server) holds its leases in memory instead: it reads due events in a
// read transaction, beside the writer, leaves out those it holds, and
// writes nothing until the outcome. A crash loses nothing: an event not
// recorded is still pending and due, and is sent again at the restart.
// Its lease token is the event's lease_until as read, which every write
// of the event (a redelivery) changes, so such a write still makes the
// delivery in flight record nothing. On a store that hands new events off
// (SQLite), it does not read back the events its process commits: they
// come from the store's writer once durable (handoff.go), and it reads
// the table only for what may be there alone (at the start, redeliveries,
// retries that came due, hand-offs it had no room for).
//
// Deliveries to one destination (the URL's scheme, host and port) must not
// hold up the others: a receiver that accepts and never answers would
// otherwise take every sender in turn. So:
//
//   - each destination has a limit on deliveries in flight. It starts at
//     destStart and grows by one with every answer the destination gives
//     (any HTTP status), up to PerDestination; every delivery that gets no
//     answer (a timeout, a refused or reset connection) halves it, down to
//     one. A receiver that hangs therefore holds at most destStart
//     deliveries, however many of its events are due, while a healthy one
//     soon has all it needs;
//   - the deliverer only takes what it can send at once: among the oldest
//     due events it takes one per destination in turn (oldest first within
//     each), each destination within its room, so a destination with a
//     long backlog does not take every free place; when destinations at
//     their limit fill the head of the queue, it looks further (the first
//     thousand due events) without them;
//   - connecting, the TLS handshake and the whole exchange have short
//     timeouts (the HTTP client's, see netguard and `serve`).
//
// A healthy destination is thus held up only when hanging destinations
// hold every one of the Deliveries places: with the defaults, more than a
// hundred destinations hanging at once.

const (
	destStart    = 2    // deliveries in flight to a destination not yet heard from
	skipMax      = 1000 // most destinations left out of one query
	recordMax    = 256  // most outcomes written in one transaction
	destIdleDrop = 10 * time.Minute
	cursorAge    = time.Second // most a claim cursor is kept (deliverer.after)
	// gatherMax bounds deliverer.gatherEnds: 8 sent the backlog of a
	// burst no faster than 16, with more claims (benchmarks.md, change 73).
	gatherMax = 16
)

// deliverer is the notification sender of one runner.
type deliverer struct {
	s *Service
	// sends is the context of the deliveries: it outlives the runner's by
	// RunnerOptions.DeliveryGrace (nil: the claim's).
	sends  context.Context
	max    int // deliveries in flight at once
	perMax int // most in flight to one destination
	lease  time.Duration
	// memory: claims are held in held (event id → end of the claim), not
	// leased in the store. claimMu is held by a claim from its read of
	// the due events until it has added what it took to held, and by the
	// recorder to remove what it recorded, so that a claim never reads
	// an event as due after its outcome was recorded (a read that began
	// before) without finding it held.
	memory  bool
	claimMu sync.Mutex
	held    map[int64]time.Time
	// heldEnd is at most the earliest end of a claim in held: holding
	// looks through held only once it has passed.
	heldEnd time.Time
	// after: every due event up to it in the queue's order is held, so a
	// claim reads the queue from there instead of reading the events it
	// holds again. It is forgotten when a claim ends unrecorded, when
	// nothing is held, and cursorAge after it was set, so that an event
	// that became due behind it (a redelivery within the millisecond of
	// an event held, a clock set back) is found again.
	after    *baoguan.DueEvent
	afterSet time.Time
	// hand-off (memory, on a store that hands new events off; see
	// handoff.go): events committed by this process come to the deliverer
	// from the store's writer, not from a read of the events table.
	handoff bool
	// leased: the hand-off of a store shared by several processes
	// (baoguan.LeasedHandoffStore, PostgreSQL): the events come inserted
	// leased to this process, so sending one writes nothing before its
	// outcome; unlease holds those handed off it will not send (no room,
	// a lease too near its end, a commit whose outcome is unknown), whose
	// leases the next claim ends so that they are due at once.
	leased  bool
	unlease []int64
	hmu     sync.Mutex
	expect  map[int64]struct{}      // ids of events in a transaction committing
	ready   []baoguan.DueEvent      // handed off, not sent, in the queue's order (and readyDead taken)
	inReady map[int64]baoguan.Event // the events of ready kept with their bodies
	spilled map[int64]struct{}      // the events of ready kept by id alone (read back when sent)
	// readyDead counts the events of ready already taken (takeReady).
	readyDead int
	// handedTop is the largest id of an event handed off into ready.
	handedTop int64
	first     []baoguan.DueEvent // a claim's first list from the table (claimMu)
	// readyBuf and sendBuf are a claim's lists, reused by the next
	// (claimMu): readyDue's copy of the head of ready, and the events a
	// claim from ready sends (sendReady).
	readyBuf []baoguan.DueEvent
	sendBuf  []baoguan.Event
	// dirty: the events table may hold due events that are neither held
	// nor handed off (a restart, a redelivery, a hand-off dropped), which
	// only a read of it finds; forget: a hand-off was dropped, so the
	// cursor may have passed over one of its events.
	dirty, forget bool
	readyMax      int           // most events of ready kept with their bodies
	idMax         int           // most events in ready (bodies and spilled)
	handed        chan struct{} // something was handed off, or dirty set
	lastRead      time.Time     // the last claim that read the events table
	poll          time.Duration // most time between two such claims
	merchants     map[int64]cachedMerchant

	mu       sync.Mutex
	inflight int
	dests    map[string]*destState
	orders   map[int64]int // deliveries in flight by order: one at a time
	pruned   time.Time
	ended    int64 // deliveries ended (end), ever
	// gatherEnds: once this many deliveries have ended since a claim
	// began, the next claim comes at once (gather): a quarter of the
	// places of a destination at its limit, at most gatherMax.
	gatherEnds int64

	// Outcomes wait for the recorder in outs, as many as its
	// transactions lag behind the senders (on SQLite they wait for the
	// writer, behind a catch-up's batches), so that a sender hands its
	// outcome over and is free for the next delivery. A channel of
	// Deliveries outcomes made the senders wait with theirs once it was
	// full, and every delivery started meanwhile started a sender: ~3,800
	// of them, their stacks scanned by every collection, in a share-0
	// catch-up of 10,000 orders (benchmarks.md, change 75).
	// They wait in chunks of recordMax, one transaction's each: a list
	// grown by append copied itself at every doubling (11 MB a run).
	outMu    sync.Mutex
	outs     [][]delivered
	outFree  [][]delivered // chunks recorded, empty, for the next outcomes
	outDone  bool          // every sender has ended: the recorder ends once outs is empty
	outWake  chan struct{} // outs or outDone changed
	finished chan struct{} // a delivery ended: places are free
	idle     chan sendJob  // senders waiting for a delivery (unbuffered)
	wg       sync.WaitGroup
}

// destState is what the deliverer knows of one destination.
type destState struct {
	inflight int
	limit    int
	used     time.Time
}

// delivered is one attempt's outcome, on its way to being recorded: of
// the event, only what its record writes (the event, leased, is pending).
// Behind a catch-up the outcomes wait for the writer by the thousands;
// the whole event (its strings, about 380 bytes an outcome with them)
// made most of what a 20,000-order burst held live (docs/benchmarks.md,
// change 85).
type delivered struct {
	id         int64
	attempts   int       // before this attempt
	next, done time.Time // the event's NextAt and DeliveredAt as leased
	lease      time.Time // the event's LeaseUntil: the lease's token
	f          Format
	d          Delivery
	at         time.Time
	latency    time.Duration
}

// memoryRoom is the room for handed-off events with their bodies of a
// deliverer alone on its database (SQLite): 8,192 bodies of about a
// kilobyte, about 10 MB of the heap (20–40 MB of peak RSS on a burst of
// 10,000–20,000 orders at --intake-share 0), enough that the notifications
// of such a burst are sent as the runner makes them, without being read
// back (benchmarks.md, change 54).
const memoryRoom = 8192

// newDeliverer's room for handed-off events with their bodies (readyMax)
// is a few seconds of new events on a store shared by several processes
// (PostgreSQL's leased hand-off, where one left out costs two writes, its
// lease ended and taken again), a second or so alone on a database
// (SQLite); past it, there, an event waits by its id alone (about a
// hundred bytes), up to idMax events in all — a backlog of tens of
// thousands of notifications, a burst of pushes caught up in full batches
// faster than the receivers take them. One left to the table makes the
// claims read the table again.
func newDeliverer(s *Service, total, perDest int, lease time.Duration, memory bool) *deliverer {
	dl := &deliverer{s: s, max: total, perMax: max(perDest, 1), lease: lease, memory: memory, held: map[int64]time.Time{},
		dests: map[string]*destState{}, orders: map[int64]int{}, outWake: make(chan struct{}, 1), finished: make(chan struct{}, 1), idle: make(chan sendJob),
		expect: map[int64]struct{}{}, inReady: map[int64]baoguan.Event{}, spilled: map[int64]struct{}{}, dirty: true, readyMax: max(16*total, 4096),
		handed: make(chan struct{}, 1), poll: 250 * time.Millisecond, merchants: map[int64]cachedMerchant{}}
	dl.idMax = 16 * dl.readyMax
	dl.gatherEnds = int64(min(max(min(dl.perMax, total)/4, 1), gatherMax))
	if memory {
		// Alone on its database (SQLite), past the bodies' room an event
		// waits by its id, read back a room's worth at a time. The room
		// is memoryRoom bodies: a backlog's bodies in full were tens of
		// megabytes of the heap (benchmarks.md, change 45), but a room of
		// 1,024 made the burst after intake first (--intake-share 0) read
		// most of its notifications back (change 54).
		dl.readyMax = max(4*total, memoryRoom)
	}
	if s != nil && s.handoffRoom > 0 {
		dl.readyMax = s.handoffRoom
		dl.idMax = max(s.handoffIDs, dl.readyMax)
	}
	return dl
}

// holding counts the claims held in memory, forgetting those that ended
// (their outcome was never recorded: the event is due again, as after a
// lease's end); call with claimMu held.
func (dl *deliverer) holding(now time.Time) int {
	if len(dl.held) > 0 && !now.Before(dl.heldEnd) {
		var next time.Time
		for id, until := range dl.held {
			if !until.After(now) {
				delete(dl.held, id)
				dl.after = nil
				dl.markDirty(false) // due again: only the table has it
			} else if next.IsZero() || until.Before(next) {
				next = until
			}
		}
		dl.heldEnd = next
	}
	if len(dl.held) == 0 || now.Sub(dl.afterSet) > cursorAge {
		dl.after = nil
	}
	return len(dl.held)
}

// advance moves the cursor past the events at the head of due (a claim's
// list, in the queue's order) that are held or handed off; call with
// claimMu held.
func (dl *deliverer) advance(due []baoguan.DueEvent, now time.Time) {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	last := -1
	for i := range due {
		if !dl.mine(due[i].ID) {
			break
		}
		if dl.after == nil && last < 0 {
			dl.afterSet = now
		}
		last = i
	}
	if last >= 0 {
		d := due[last] // one copy, not one an event passed
		dl.after = &d
	}
}

// unheld leaves out of due the events held in memory or expected, and
// those handed off by the time the claim copied ready (ids up to top);
// call with claimMu held. One handed off since stays: the claim's copy of
// ready lacks it, and its order's next event may have been left to the
// table meanwhile (no room), where the claim finds it; chosen, it is
// taken from ready (fromTable, takeReady).
func (dl *deliverer) unheld(due []baoguan.DueEvent, top int64) []baoguan.DueEvent {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	if len(dl.held)+len(dl.expect)+len(dl.inReady)+len(dl.spilled) == 0 {
		return due
	}
	out := make([]baoguan.DueEvent, 0, len(due))
	for _, d := range due {
		if !dl.mine(d.ID) || (d.ID > top && dl.waiting(d.ID)) {
			out = append(out, d)
		}
	}
	return out
}

// release forgets the claims of recorded outcomes.
func (dl *deliverer) release(rs []delivered) {
	if !dl.memory {
		return
	}
	dl.claimMu.Lock()
	for _, r := range rs {
		delete(dl.held, r.id)
	}
	dl.claimMu.Unlock()
}

// dest returns the state of a destination, creating it; call with mu held.
func (dl *deliverer) dest(name string, now time.Time) *destState {
	d := dl.dests[name]
	if d == nil {
		d = &destState{limit: min(destStart, dl.perMax)}
		dl.dests[name] = d
	}
	d.used = now
	return d
}

// plan chooses, among due events (oldest first), at most free to send
// now: one per destination in turn, each within its destination's room,
// and none of an order that has a delivery in flight or an older event
// among due (an order's events go one at a time, oldest due first).
func (dl *deliverer) plan(due []baoguan.DueEvent, free int) []int64 {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	now := time.Now()
	type group struct {
		room int
		ids  []int64
	}
	var order []string
	groups := map[string]*group{}
	first := make(map[int64]bool, len(due)) // orders seen in due
	for _, d := range due {
		if d.OrderID != 0 { // (every event has an order; one of none would go alone)
			if first[d.OrderID] || dl.orders[d.OrderID] > 0 {
				continue
			}
			first[d.OrderID] = true
		}
		g := groups[d.Dest]
		if g == nil {
			st := dl.dest(d.Dest, now)
			g = &group{room: st.limit - st.inflight}
			groups[d.Dest] = g
			order = append(order, d.Dest)
		}
		g.ids = append(g.ids, d.ID)
	}
	var picked []int64
	for round := 0; len(picked) < free; round++ {
		progress := false
		for _, name := range order {
			g := groups[name]
			if round < len(g.ids) && round < g.room && len(picked) < free {
				picked = append(picked, g.ids[round])
				progress = true
			}
		}
		if !progress {
			break
		}
	}
	return picked
}

// saturated lists the destinations at their limit, to leave out of the
// query for due events.
func (dl *deliverer) saturated() []string {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	var out []string
	for name, d := range dl.dests {
		if d.inflight >= d.limit && len(out) < skipMax {
			out = append(out, name)
		}
	}
	return out
}

// free is how many more deliveries may start.
func (dl *deliverer) free() int {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.max - dl.inflight
}

func (dl *deliverer) start(dest string, order int64) {
	dl.mu.Lock()
	dl.inflight++
	dl.orders[order]++
	dl.dest(dest, time.Now()).inflight++
	dl.mu.Unlock()
}

// end records that a delivery of one of order's events to dest ended,
// answered or not.
func (dl *deliverer) end(dest string, order int64, answered bool) {
	dl.mu.Lock()
	dl.inflight--
	dl.ended++
	if dl.orders[order]--; dl.orders[order] <= 0 {
		delete(dl.orders, order)
	}
	d := dl.dest(dest, time.Now())
	d.inflight--
	if answered {
		d.limit = min(d.limit+1, dl.perMax)
	} else {
		d.limit = max(d.limit/2, 1)
	}
	if now := time.Now(); now.Sub(dl.pruned) > destIdleDrop {
		for name, d := range dl.dests {
			if d.inflight == 0 && now.Sub(d.used) > destIdleDrop {
				delete(dl.dests, name)
			}
		}
		dl.pruned = now
	}
	dl.mu.Unlock()
	select {
	case dl.finished <- struct{}{}:
	default:
	}
}

// claim takes due events it can send now and starts sending them. It
// returns how many it started and whether it took all it asked for.
func (dl *deliverer) claim(ctx context.Context) (int, bool, error) {
	if dl.memory {
		return dl.claimHeld(ctx)
	}
	if dl.leased {
		return dl.claimLeased(ctx)
	}
	free := dl.free()
	if free <= 0 {
		return 0, false, nil
	}
	var evs []baoguan.Event
	merchants := map[int64]*baoguan.Merchant{}
	full := false
	err := dl.s.Store.Update(ctx, func(tx baoguan.Tx) error {
		evs, full = nil, false
		clear(merchants)
		due, pick, more, err := dl.due(tx, free, 0, nil, false)
		if err != nil || len(due) == 0 {
			return err
		}
		full = more
		if evs, err = tx.LeaseEvents(pick, tx.Now().Add(dl.lease)); err != nil {
			return err
		}
		for _, e := range evs {
			if merchants[e.MerchantID] != nil {
				continue
			}
			m, err := dl.s.readMerchant(tx, e.MerchantID)
			if err != nil {
				return err
			}
			merchants[e.MerchantID] = m
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	dl.send(ctx, evs, merchants)
	return len(evs), full, nil
}

// due lists the due events a claim for free places chooses among: the
// oldest (a few more than there are places, so that one destination's
// backlog leaves room for others, and mem more: those the deliverer holds
// or was handed, which the query also finds — at most memPast of them),
// after the cursor after, less those the deliverer has, and then, when
// destinations at their limit took the head of the queue, further events
// without them. With handed, the events handed off (memory; the first of
// ready, readyDue) are chosen among with them. more tells that the first
// query found as many as it asked for.
//
// An order's events go one at a time, oldest first, so the lists a claim
// plans from must not show an event without the order's older ones
// (plan): the events handed off are those ready before the table is read
// (an event committed since may be newer than one left to the table
// after the read began; one handed off after the copy of ready that the
// table's read shows stays in the table's list: unheld), none past the
// last event a query read when it found as many as it asked for (the
// table's further events, not read, may be older), and, looking further
// without the destinations at their limit, none of theirs from the table
// either (their events handed off are left out; one of their deliveries
// may end meanwhile).
func (dl *deliverer) due(tx baoguan.Tx, free, mem int, after *baoguan.DueEvent, handed bool) (due []baoguan.DueEvent, pick []int64, more bool, err error) {
	want := candidates(dl.room(free))
	mem = min(mem, memPast)
	if dl.s != nil {
		dl.s.tableReads.Add(1)
	}
	var ready []baoguan.DueEvent
	var top int64
	if handed {
		ready, top = dl.readyDue(want+dl.max, nil)
	}
	due, err = tx.DueEvents(want+mem, nil, after)
	if err != nil {
		return nil, nil, false, err
	}
	more = len(due) == want+mem
	if more {
		ready = upTo(ready, due[len(due)-1])
	}
	if dl.memory {
		dl.first = due
		due = dl.unheld(due, top)
	}
	all := merge(due, ready)
	pick = dl.plan(all, free)
	if len(pick) < free && len(pick) < len(all) {
		// Destinations at their limit took the head of the queue: look
		// further, without them.
		if skip := dl.saturated(); len(skip) > 0 {
			if handed {
				ready, _ = dl.readyDue(want+dl.max, skip)
			}
			n := free - len(pick) + mem
			further, err := tx.DueEvents(n, skip, after)
			if err != nil {
				return nil, nil, false, err
			}
			if len(further) == n {
				ready = upTo(ready, further[len(further)-1])
			} else if ready, err = dl.behindOlder(tx, ready, further, after, top); err != nil {
				return nil, nil, false, err
			}
			if dl.memory {
				further = dl.unheld(further, top)
			}
			seen := map[int64]bool{}
			for _, d := range due {
				seen[d.ID] = true
			}
			for _, d := range further {
				if !seen[d.ID] {
					due = append(due, d)
				}
			}
			pick = dl.plan(merge(without(due, skip), handedBy(ready, top)), free)
		}
	}
	return due, pick, more, nil
}

// behindOlder leaves out of ready (handed off, read for a claim that
// looks further) the events whose order has an older event due in the
// table that the query looking further did not show: it looks at the
// first dueWindow due events only (further, fewer than it asked for, read
// after the cursor after), while ready may reach past them. Those orders'
// due events are read by the orders' index; on SQLite, where every event
// handed off is in the table too, only for the events of ready past the
// query's last (inWindow). Cutting ready there instead would hold every
// other receiver's events behind one receiver's backlog of a thousand,
// which looking further exists to avoid.
func (dl *deliverer) behindOlder(tx baoguan.Tx, ready, further []baoguan.DueEvent, after *baoguan.DueEvent, top int64) ([]baoguan.DueEvent, error) {
	past := ready
	if dl.memory {
		past = ready[len(inWindow(ready, further, after)):]
	}
	var orders []int64
	for _, d := range past {
		if d.ID <= top { // (the others are left out: handedBy)
			orders = append(orders, d.OrderID)
		}
	}
	if len(orders) == 0 {
		return ready, nil
	}
	older, err := tx.DueEventsOf(orders)
	if err != nil {
		return nil, err
	}
	if dl.memory {
		older = dl.unheld(older, top)
	}
	if len(older) == 0 {
		return ready, nil
	}
	oldest := make(map[int64]baoguan.DueEvent, len(older)) // by order
	for _, d := range older {
		if _, ok := oldest[d.OrderID]; !ok {
			oldest[d.OrderID] = d
		}
	}
	out := make([]baoguan.DueEvent, 0, len(ready))
	for _, d := range ready {
		if o, ok := oldest[d.OrderID]; !ok || !dueBefore(o, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// inWindow is the events of ready (all of them in the table too) that a
// query which found fewer than it asked for, further, read after the
// cursor after, shows: those up to the last it found, or up to the cursor
// when it found none.
func inWindow(ready, further []baoguan.DueEvent, after *baoguan.DueEvent) []baoguan.DueEvent {
	switch {
	case len(further) > 0:
		return upTo(ready, further[len(further)-1])
	case after != nil:
		return upTo(ready, *after)
	}
	return nil
}

// upTo is the events of list (in the queue's order) up to last.
func upTo(list []baoguan.DueEvent, last baoguan.DueEvent) []baoguan.DueEvent {
	for i, d := range list {
		if dueBefore(last, d) {
			return list[:i]
		}
	}
	return list
}

// handedBy is the events of ready handed off before the table was read:
// those whose ids are at most top, the largest handed off then (a store
// that hands events off gives ids in the order of the commits: SQLite).
// The query looking further shows the table as the first did (SQLite's
// read transaction) or as it is now (PostgreSQL's).
func handedBy(ready []baoguan.DueEvent, top int64) []baoguan.DueEvent {
	out := ready[:0:0]
	for _, d := range ready {
		if d.ID <= top {
			out = append(out, d)
		}
	}
	return out
}

// without is a copy of due less the events to the destinations in skip.
func without(due []baoguan.DueEvent, skip []string) []baoguan.DueEvent {
	left := make(map[string]bool, len(skip))
	for _, d := range skip {
		left[d] = true
	}
	out := make([]baoguan.DueEvent, 0, len(due))
	for _, d := range due {
		if !left[d.Dest] {
			out = append(out, d)
		}
	}
	return out
}

// memPast bounds how many events the deliverer has (held, handed off) a
// claim's read of the table asks for beside those it may take: with a
// backlog handed off, a read past all of it at every claim cost more than
// the deliveries (benchmarks.md, change 44). The cursor (after) moves past
// the events it has at the head of each read, so the next read starts
// further; what lies beyond is found as the queue's head moves on.
const memPast = 1024

// merge is due and ready (each in the queue's order) in the queue's order.
func merge(due, ready []baoguan.DueEvent) []baoguan.DueEvent {
	if len(ready) == 0 {
		return due
	}
	if len(due) == 0 {
		return ready
	}
	out := make([]baoguan.DueEvent, 0, len(due)+len(ready))
	i, j := 0, 0
	for i < len(due) && j < len(ready) {
		if dueBefore(ready[j], due[i]) {
			out = append(out, ready[j])
			j++
		} else {
			out = append(out, due[i])
			i++
		}
	}
	out = append(out, due[i:]...)
	return append(out, ready[j:]...)
}

// dueBefore orders due events as events_due does: by due time, then id.
func dueBefore(a, b baoguan.DueEvent) bool {
	if !a.NextAt.Equal(b.NextAt) {
		return a.NextAt.Before(b.NextAt)
	}
	return a.ID < b.ID
}

// claimHeld is claim for a deliverer alone on its database, which holds
// its claims in memory: nothing is written, and when every due event the
// events table may hold is held or was handed off (not dirty, and the
// table read less than poll ago), the table is not read at all.
func (dl *deliverer) claimHeld(ctx context.Context) (int, bool, error) {
	free := dl.free()
	if free <= 0 {
		return 0, false, nil
	}
	dl.claimMu.Lock()
	defer dl.claimMu.Unlock()
	now := dl.s.Now()
	gen := dl.s.auth.gen.Load() // before any read of a merchant
	held := dl.holding(now)     // (claims that ended make the table dirty)
	dl.hmu.Lock()
	dirty, forget := dl.dirty || !dl.handoff, dl.forget
	dl.dirty, dl.forget = false, false
	dl.hmu.Unlock()
	if forget {
		dl.after = nil
	}
	if !dirty && time.Since(dl.lastRead) < dl.poll {
		return dl.sendReady(ctx, free, gen, func(evs []baoguan.Event) { dl.hold(evs, now) })
	}
	// Read the events table (beside the writer: nothing is written).
	for {
		after := dl.after
		evs, ms, full, left, err := dl.readTable(ctx, free, held, gen, now)
		if err != nil {
			return 0, false, err
		}
		if len(evs) > 0 || !full || left || dl.after == after {
			dl.send(ctx, evs, ms)
			return len(evs), full, nil
		}
		// The read found as many events as it asked for, all of them the
		// deliverer's own (sent and not yet recorded, or handed off):
		// with a backlog of outcomes waiting for the recorder, more than
		// a read looks past (memPast). The cursor has moved past them, so
		// read on at once: no hand-off or delivery may come to wake the
		// claim for an event further on, which then waited for the poll
		// (250 ms at the end of a burst: benchmarks.md, change 88).
	}
}

// readTable is one read of the events table for claimHeld (claimMu
// held): it chooses among the due events it finds and those handed off,
// takes those chosen (evs, with their merchants ms) and holds them, and
// moves the cursor past the head it has. full tells that the read found as
// many as it asked for, left that it left a due event of the table unpicked.
func (dl *deliverer) readTable(ctx context.Context, free, held int, gen uint64, now time.Time) (evs []baoguan.Event, ms map[int64]*baoguan.Merchant, full, left bool, err error) {
	var pick []int64
	dl.lastRead = time.Now()
	err = dl.s.Store.View(ctx, func(tx baoguan.Tx) error {
		evs, ms, pick, full, left, dl.first = nil, nil, nil, false, false, nil
		due, picked0, more, err := dl.due(tx, free, held+dl.handedCount(), dl.after, dl.handoff)
		if err != nil {
			return err
		}
		full, pick = more, picked0
		var fromTable []int64
		fromTable, left = dl.fromTable(pick, due)
		if evs, err = tx.PendingEvents(fromTable); err != nil {
			return err
		}
		merchants, _ := dl.picked(pick) // spilled ones picked are read from the table with the rest
		ms, err = dl.merchantsOf(ctx, tx, gen, append(merchants, merchantIDs(evs)...))
		return err
	})
	if err != nil {
		dl.markDirty(false)
		return nil, nil, false, false, err
	}
	if full || left {
		dl.markDirty(false)
	}
	evs = dl.takeReady(evs, pick)
	dl.hold(evs, now)
	dl.advance(dl.first, now)
	dl.first = nil
	return evs, ms, full, left, nil
}

// claimLeased is claim for a deliverer whose store hands off the events
// its process commits already leased to it (leased): those are sent as
// they are, with no write; the events table is read, and what is taken
// from it leased as claim does, only when it may hold due events the
// deliverer has not got — at the start, after a redelivery or a hand-off
// left to the table, after a claim that left due events there — and at
// least every poll (retries that came due, other processes' events whose
// lease ended).
func (dl *deliverer) claimLeased(ctx context.Context) (int, bool, error) {
	free := dl.free()
	if free <= 0 {
		return 0, false, nil
	}
	dl.claimMu.Lock()
	defer dl.claimMu.Unlock()
	gen := dl.s.auth.gen.Load() // before any read of a merchant
	dl.expireReady(dl.s.Now())
	if err := dl.endLeases(ctx); err != nil {
		return 0, false, err
	}
	dl.hmu.Lock()
	dirty := dl.dirty
	dl.dirty, dl.forget = false, false
	dl.hmu.Unlock()
	if !dirty && time.Since(dl.lastRead) < dl.poll {
		return dl.sendReady(ctx, free, gen, nil)
	}
	var evs []baoguan.Event
	var ms map[int64]*baoguan.Merchant
	var pick []int64
	full, left := false, false
	dl.lastRead = time.Now()
	err := dl.s.Store.Update(ctx, func(tx baoguan.Tx) error {
		evs, ms, pick, full, left = nil, nil, nil, false, false
		due, picked0, more, err := dl.due(tx, free, 0, nil, true)
		if err != nil {
			return err
		}
		full, pick = more, picked0
		var fromTable []int64
		fromTable, left = dl.fromTable(pick, due)
		if len(fromTable) > 0 {
			if evs, err = tx.LeaseEvents(fromTable, tx.Now().Add(dl.lease)); err != nil {
				return err
			}
		}
		merchants, _ := dl.picked(pick) // spilled ones picked are read from the table with the rest
		ms, err = dl.merchantsOf(ctx, tx, gen, append(merchants, merchantIDs(evs)...))
		return err
	})
	if err != nil {
		dl.markDirty(false)
		return 0, false, err
	}
	if full || left {
		dl.markDirty(false)
	}
	evs = dl.takeReady(evs, pick)
	dl.send(ctx, evs, ms)
	return len(evs), full, nil
}

// expireReady leaves to the table the events handed off (leased) whose
// lease has less than half its length left, so that none is sent late in
// its lease (or after it, when another process may have taken it): their
// leases are ended (endLeases) and they are read from the table again.
func (dl *deliverer) expireReady(now time.Time) {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	var gone bool
	for id, e := range dl.inReady {
		if e.LeaseUntil.Sub(now) < dl.lease/2 {
			delete(dl.inReady, id)
			if e.LeaseUntil.After(now) {
				dl.unlease = append(dl.unlease, id)
			}
			gone = true
		}
	}
	if !gone {
		return
	}
	dl.compactReady()
	dl.dirty = true
}

// endLeases ends the leases of the events handed off that will not be
// sent from memory (unlease), in a transaction of their own: they are due
// at once, and the next read of the table finds them.
func (dl *deliverer) endLeases(ctx context.Context) error {
	dl.hmu.Lock()
	ids := dl.unlease
	dl.unlease = nil
	dl.hmu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	err := dl.s.Store.Update(ctx, func(tx baoguan.Tx) error {
		_, err := tx.LeaseEvents(ids, time.Time{})
		return err
	})
	if err != nil {
		dl.hmu.Lock()
		dl.unlease = append(dl.unlease, ids...)
		dl.hmu.Unlock()
		return err
	}
	dl.markDirty(false)
	return nil
}

// leaveReady ends the leases of the events handed off and not sent (the
// deliverer stops): they are due at once for whichever process runs next.
func (dl *deliverer) leaveReady(ctx context.Context) {
	dl.hmu.Lock()
	for id := range dl.inReady {
		dl.unlease = append(dl.unlease, id)
	}
	clear(dl.inReady)
	clear(dl.spilled)
	dl.ready, dl.readyDead = nil, 0
	dl.hmu.Unlock()
	if err := dl.endLeases(ctx); err != nil {
		dl.s.Log.Error("ending the leases of notifications not sent", "err", err)
	}
}

// hold notes the claims of evs in memory, until a lease from now; call
// with claimMu held.
func (dl *deliverer) hold(evs []baoguan.Event, now time.Time) {
	until := now.Add(dl.lease)
	if len(evs) > 0 && (len(dl.held) == 0 || until.Before(dl.heldEnd)) {
		dl.heldEnd = until
	}
	for _, e := range evs {
		dl.held[e.ID] = until
	}
}

// send starts sending evs, each by a sender of its own: one waiting for
// work if there is one, a new one otherwise.
func (dl *deliverer) send(ctx context.Context, evs []baoguan.Event, merchants map[int64]*baoguan.Merchant) {
	sctx := ctx
	if dl.sends != nil {
		sctx = dl.sends
	}
	for _, e := range evs {
		j := sendJob{ctx: sctx, e: e, m: merchants[e.MerchantID], dest: baoguan.Destination(e.URL)}
		dl.start(j.dest, e.OrderID)
		dl.wg.Add(1)
		select {
		case dl.idle <- j:
		default:
			go dl.sender(j)
		}
	}
}

// sendJob is one delivery handed to a sender.
type sendJob struct {
	ctx  context.Context
	e    baoguan.Event
	m    *baoguan.Merchant
	dest string
}

// sender makes deliveries, the first j, then those it is handed while it
// waits, until idle is closed (deliver, once every delivery has ended). A
// goroutine started for each delivery grew its stack again each time
// through the HTTP client (docs/benchmarks.md, change 34); a sender keeps
// its stack for the next. There are at most as many as deliveries in
// flight at once (Deliveries).
func (dl *deliverer) sender(j sendJob) {
	for {
		r := dl.s.send(j.ctx, &j.e, j.m)
		dl.end(j.dest, j.e.OrderID, r.d.Status != 0)
		dl.post(r)
		j = sendJob{} // nothing of the last delivery kept while waiting
		dl.wg.Done()
		var ok bool
		if j, ok = <-dl.idle; !ok {
			return
		}
	}
}

// readMerchant reads a merchant as a delivery needs it: with its
// retired webhook secrets.
func (s *Service) readMerchant(tx baoguan.Tx, id int64) (*baoguan.Merchant, error) {
	m, err := tx.Merchant(id)
	if err != nil {
		return nil, err
	}
	if err := s.retiredWebhookSecrets(tx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// room is how many of free places the destinations known to have room
// can take now (at least one: a claim still looks at the head of the
// queue, where destinations not yet heard from are found, and the query
// that leaves out the saturated ones looks further). A claim asks for
// as many events as the room, not the free places: with one receiver at
// its limit, free places counted hundreds and a claim read as many rows
// to start a few deliveries.
func (dl *deliverer) room(free int) int {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	r := 0
	for _, d := range dl.dests {
		r += max(d.limit-d.inflight, 0)
	}
	return min(free, max(r, 1))
}

// candidates is how many due events a claim for n places looks at.
func candidates(free int) int { return min(free+64, 2*free) }

// send makes one delivery attempt of a leased event. e is the caller's,
// not a copy: the format's Deliver takes a pointer, and a copy made here
// would go to the heap at every delivery.
func (s *Service) send(ctx context.Context, e *baoguan.Event, m *baoguan.Merchant) delivered {
	r := delivered{id: e.ID, attempts: e.Attempts, next: e.NextAt, done: e.DeliveredAt, lease: e.LeaseUntil,
		f: s.Formats.Get(e.Protocol), at: s.Now()}
	if r.f == nil {
		r.d.Err = errors.New("no notification format for protocol " + e.Protocol)
		return r
	}
	start := time.Now()
	r.d = r.f.Deliver(ctx, s.HTTP, m, e)
	r.latency = time.Since(start)
	s.countAttempt(e.Protocol, r.d.Acked)
	return r
}

// deliveryKey names one series of Metrics.Deliveries.
type deliveryKey struct {
	vec      *prometheus.CounterVec
	protocol string
	acked    bool
}

// countAttempt counts a notification attempt in Metrics.Deliveries. Each
// series is kept once found (by the vector too, should Metrics be
// replaced): WithLabelValues hashes its labels into the vector at every
// call, twice an order.
func (s *Service) countAttempt(protocol string, acked bool) {
	k := deliveryKey{s.Metrics.Deliveries, protocol, acked}
	c, ok := s.attempts.Load(k)
	if !ok {
		c, _ = s.attempts.LoadOrStore(k, s.Metrics.Deliveries.WithLabelValues(protocol, strconv.FormatBool(acked)))
	}
	c.(prometheus.Counter).Inc()
}

// record writes the outcomes of attempts in one transaction, with one
// statement on PostgreSQL (Tx.RecordAttempts). An event whose lease was
// lost meanwhile keeps the state its new holder gives it. The outcomes are
// built in buf when it has room (the recorder's, reused: a new list of
// 400-byte outcomes for every transaction was made in the writer).
func (s *Service) record(ctx context.Context, rs []delivered, buf []baoguan.Outcome) error {
	return s.Store.Update(context.WithoutCancel(ctx), func(tx baoguan.Tx) error {
		os := buf[:0]
		if cap(os) < len(rs) {
			os = make([]baoguan.Outcome, 0, len(rs))
		}
		os = os[:len(rs)]
		for i, r := range rs {
			e := baoguan.Event{ID: r.id, Status: baoguan.EventPending, Attempts: r.attempts, NextAt: r.next, DeliveredAt: r.done}
			a := &baoguan.Attempt{At: r.at, Status: r.d.Status, LatencyMS: r.latency.Milliseconds(), Response: r.d.Response}
			switch {
			case r.d.Err != nil:
				a.Error = r.d.Err.Error()
			case !r.d.Acked:
				a.Error = "not acknowledged"
			}
			e.Attempts++
			var wait time.Duration
			more := false
			if r.f != nil {
				wait, more = r.f.Schedule().Next(e.Attempts)
			}
			switch {
			case r.d.Acked:
				e.Status, e.DeliveredAt = baoguan.EventDelivered, tx.Now()
			case !more:
				e.Status = baoguan.EventFailed
			default:
				e.NextAt = tx.Now().Add(wait)
			}
			os[i] = baoguan.Outcome{Event: e, Attempt: *a, Lease: r.lease}
		}
		recorded, err := tx.RecordAttempts(os)
		if err != nil {
			return err
		}
		for i, ok := range recorded {
			if !ok {
				s.Log.Info("a delivery's outcome is not recorded: the event was redelivered or taken over meanwhile", "event", os[i].Event.ID)
			}
		}
		return nil
	})
}

// post hands a delivery's outcome to the recorder.
func (dl *deliverer) post(r delivered) {
	dl.outMu.Lock()
	n := len(dl.outs)
	if n == 0 || len(dl.outs[n-1]) == recordMax {
		var c []delivered
		if k := len(dl.outFree); k > 0 {
			c, dl.outFree = dl.outFree[k-1], dl.outFree[:k-1]
		} else {
			c = make([]delivered, 0, recordMax)
		}
		dl.outs = append(dl.outs, c)
		n++
	}
	dl.outs[n-1] = append(dl.outs[n-1], r)
	dl.outMu.Unlock()
	dl.wakeRecorder()
}

// endOutcomes tells the recorder that no outcome comes after those
// posted: it ends once it has recorded them.
func (dl *deliverer) endOutcomes() {
	dl.outMu.Lock()
	dl.outDone = true
	dl.outMu.Unlock()
	dl.wakeRecorder()
}

func (dl *deliverer) wakeRecorder() {
	select {
	case dl.outWake <- struct{}{}:
	default:
	}
}

// recorder writes outcomes as they come, all those waiting, a chunk
// (up to recordMax) in each transaction, until endOutcomes.
func (dl *deliverer) recorder(ctx context.Context) {
	var taken [][]delivered // the chunks taken, swapped with outs
	outs := make([]baoguan.Outcome, recordMax)
	for {
		dl.outMu.Lock()
		taken, dl.outs = dl.outs, taken[:0]
		done := dl.outDone
		dl.outMu.Unlock()
		for _, rs := range taken {
			if err := dl.s.record(ctx, rs, outs); err != nil {
				// The events stay leased: when the lease ends they are
				// sent again, as after a crash.
				dl.s.Log.Error("recording notification attempts", "attempts", len(rs), "err", err)
			} else {
				dl.release(rs)
			}
			clear(rs)
			clear(outs[:len(rs)]) // nothing of these outcomes kept while waiting
		}
		dl.outMu.Lock()
		for _, rs := range taken {
			// A backlog's chunks beyond two are not kept for the next:
			// they would stay on the heap, scanned by every collection.
			if len(dl.outFree) < 2 {
				dl.outFree = append(dl.outFree, rs[:0])
			}
		}
		dl.outMu.Unlock()
		clear(taken)
		if done {
			return
		}
		<-dl.outWake
	}
}

// deliver runs the deliverer until ctx ends, then waits for the
// deliveries in flight and records them.
func (s *Service) deliver(ctx context.Context, o RunnerOptions) {
	dl := newDeliverer(s, o.Deliveries, o.PerDestination, o.Lease, o.Exclusive)
	dl.poll = o.Poll
	// The deliveries in flight when ctx ends have o.DeliveryGrace to be
	// answered (the return below waits for them), then are cancelled.
	sends, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	dl.sends = sends
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(o.DeliveryGrace, cancelSends) })
	defer stopGrace()
	if hs, ok := s.Store.(baoguan.HandoffStore); ok && dl.memory {
		// New events come from the store's writer (handoff.go).
		dl.handoff = true
		defer hs.SetHandoff(dl)()
	} else if ls, ok := s.Store.(baoguan.LeasedHandoffStore); ok && !dl.memory {
		// New events come from the store's writers, leased to this
		// process (handoff.go); those not sent are left due at the end.
		dl.handoff, dl.leased = true, true
		defer dl.leaveReady(context.WithoutCancel(ctx))
		defer ls.SetLeasedHandoff(dl, dl.lease)()
	}
	recorded := make(chan struct{})
	go func() { dl.recorder(ctx); close(recorded) }()
	defer func() {
		dl.wg.Wait()
		close(dl.idle) // the senders, all waiting now, end
		dl.endOutcomes()
		<-recorded
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		ended := dl.endedCount()
		n, full, err := dl.claim(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.Error("taking notifications to send", "err", err)
		}
		if full && n > 0 {
			continue // more may be due now
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(o.Poll)
		select {
		case <-ctx.Done():
			return
		case <-s.wakeDelivery:
		case <-dl.handed:
		case <-dl.finished:
		case <-timer.C:
			continue
		}
		if !dl.gather(ctx, o.Gather, ended) || ctx.Err() != nil {
			return
		}
	}
}

// endedCount is how many deliveries have ended so far.
func (dl *deliverer) endedCount() int64 {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.ended
}

// gather waits up to d for more wake-ups (each committed event, each
// finished delivery) to take into one claim, but only until gatherEnds
// deliveries have ended since the claim that began at ended: a claim per
// wake-up would cost more than the deliveries, but the places of
// deliveries that ended stay empty while it waits. With a backlog to a
// destination at its limit, every claim filled the places freed and the
// next waited out d, so the deliveries went in waves, the destination's
// places empty for d after each (benchmarks.md, change 73). Deliveries
// that do not end (a receiver that hangs) never cut it short. It returns
// false when ctx ended while it waited.
func (dl *deliverer) gather(ctx context.Context, d time.Duration, ended int64) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for dl.endedCount()-ended < dl.gatherEnds {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-dl.finished:
		}
	}
	return true
}

// deliverOnce sends every due notification once, one after another, and
// records the outcomes: RunOnce's part of delivery.
func (s *Service) deliverOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		var evs []baoguan.Event
		merchants := map[int64]*baoguan.Merchant{}
		err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
			evs = nil
			clear(merchants)
			due, err := tx.DueEvents(64, nil, nil)
			if err != nil || len(due) == 0 {
				return err
			}
			ids := make([]int64, len(due))
			for i, d := range due {
				ids[i] = d.ID
			}
			if evs, err = tx.LeaseEvents(ids, tx.Now().Add(time.Minute)); err != nil {
				return err
			}
			for _, e := range evs {
				if merchants[e.MerchantID] == nil {
					m, err := tx.Merchant(e.MerchantID)
					if err != nil {
						return err
					}
					if err := s.retiredWebhookSecrets(tx, m); err != nil {
						return err
					}
					merchants[e.MerchantID] = m
				}
			}
			return nil
		})
		if err != nil || len(evs) == 0 {
			return total, err
		}
		rs := make([]delivered, len(evs))
		for i, e := range evs {
			rs[i] = s.send(ctx, &evs[i], merchants[e.MerchantID])
		}
		if err := s.record(ctx, rs, nil); err != nil {
			return total, err
		}
		total += len(evs)
	}
}

// fromTable returns the picked events that only the table has (not handed
// off), and whether any due event read from the table was left unpicked.
func (dl *deliverer) fromTable(pick []int64, due []baoguan.DueEvent) (ids []int64, left bool) {
	picked := make(map[int64]bool, len(pick))
	for _, id := range pick {
		picked[id] = true
		if !dl.isReady(id) {
			ids = append(ids, id)
		}
	}
	for _, d := range due {
		if !picked[d.ID] {
			return ids, true // due, and only the table has it
		}
	}
	return ids, false
}

// merchantIDs are the events' merchants, one per event.
func merchantIDs(evs []baoguan.Event) []int64 {
	ids := make([]int64, len(evs))
	for i, e := range evs {
		ids[i] = e.MerchantID
	}
	return ids
}

// sendReady sends what was handed off, as the queue and the destinations'
// room allow, without reading the table — but for the bodies of the
// events it takes that wait by their id alone (spilled), read by id;
// before sends, when set, is told the events first (the in-memory claims
// hold them).
func (dl *deliverer) sendReady(ctx context.Context, free int, gen uint64, before func([]baoguan.Event)) (int, bool, error) {
	want := candidates(dl.room(free)) + dl.max
	ready, _ := dl.readyDue(want, nil)
	if len(ready) == 0 {
		return 0, false, nil
	}
	pick := dl.plan(ready, free)
	if len(pick) < free && len(pick) < len(ready) {
		// Destinations at their limit took the head of the queue.
		if skip := dl.saturated(); len(skip) > 0 {
			ready, _ = dl.readyDue(want, skip)
			pick = dl.plan(ready, free)
		}
	}
	if len(pick) == 0 || dl.isDirty() {
		// Dirty since the claim began: an event left to the table (no
		// room, an outcome unknown) may be older than one of its order
		// handed off since. The next claim, woken, reads the table.
		return 0, false, nil
	}
	evs := dl.sendBuf[:0]
	var ms map[int64]*baoguan.Merchant
	var err error
	merchants, spilled := dl.picked(pick)
	if len(spilled) > 0 {
		// The bodies of the next spilled events are read with them, as
		// many as the room for bodies holds (up to recordMax): a read
		// transaction for a claim's few would come at every claim.
		ahead := dl.spilledAhead(recordMax, spilled)
		var read []baoguan.Event
		err = dl.s.Store.View(ctx, func(tx baoguan.Tx) error {
			if read, err = tx.PendingEvents(append(spilled, ahead...)); err != nil {
				return err
			}
			ms, err = dl.merchantsOf(ctx, tx, gen, append(merchants, merchantIDs(read)...))
			return err
		})
		if err == nil {
			evs = dl.unspill(evs, read, spilled)
		}
	} else {
		ms, err = dl.merchantsOf(ctx, nil, gen, merchants)
	}
	if err != nil {
		return 0, false, err
	}
	evs = dl.takeReady(evs, pick)
	if before != nil {
		before(evs)
	}
	dl.send(ctx, evs, ms)
	// The senders have their copies: keep the list, not the bodies.
	clear(evs)
	dl.sendBuf = evs[:0]
	return len(evs), len(evs) == free, nil
}

// isDirty tells whether the table may hold due events only a read of it
// finds (dirty).
func (dl *deliverer) isDirty() bool {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	return dl.dirty
}

// spilledAhead lists the events of ready, oldest first, that wait by
// their id alone and are not among taken, at most as many as n and the
// room for bodies allow.
func (dl *deliverer) spilledAhead(n int, taken []int64) []int64 {
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	n = min(n, dl.readyMax-len(dl.inReady))
	if n <= 0 || len(dl.spilled) == 0 {
		return nil
	}
	skip := make(map[int64]bool, len(taken))
	for _, id := range taken {
		skip[id] = true
	}
	var out []int64
	for _, d := range dl.ready {
		if len(out) >= n {
			break
		}
		if _, ok := dl.spilled[d.ID]; ok && !skip[d.ID] {
			out = append(out, d.ID)
		}
	}
	return out
}

// unspill appends to out the events of read whose ids are among taken,
// and keeps the bodies of the others that still wait by their id alone.
func (dl *deliverer) unspill(out, read []baoguan.Event, taken []int64) []baoguan.Event {
	want := make(map[int64]bool, len(taken))
	for _, id := range taken {
		want[id] = true
	}
	dl.hmu.Lock()
	defer dl.hmu.Unlock()
	for _, e := range read {
		if want[e.ID] {
			out = append(out, e)
			continue
		}
		if _, ok := dl.spilled[e.ID]; ok {
			delete(dl.spilled, e.ID)
			dl.inReady[e.ID] = e
		}
	}
	return out
}
