package core

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// queueTx is a transaction whose events table holds due events (in the
// queue's order) and has nothing else; skipped, when set, runs as a query
// leaves destinations out (a delivery may end meanwhile), read after the
// first query has read (an event may be committed and handed off since).
type queueTx struct {
	baoguan.Tx
	table         []baoguan.DueEvent
	skipped, read func()
}

func (tx queueTx) DueEvents(n int, skip []string, after *baoguan.DueEvent) ([]baoguan.DueEvent, error) {
	if len(skip) > 0 && tx.skipped != nil {
		tx.skipped()
	}
	var out []baoguan.DueEvent
	window := 0 // leaving destinations out, the query looks at the first dueWindow due events
	for _, d := range tx.table {
		if len(out) == n || (len(skip) > 0 && window == dueWindow) {
			break
		}
		if after != nil && !dueBefore(*after, d) {
			continue
		}
		window++
		if !slices.Contains(skip, d.Dest) {
			out = append(out, d)
		}
	}
	if len(skip) == 0 && tx.read != nil {
		tx.read()
	}
	return out, nil
}

func (tx queueTx) DueEventsOf(orders []int64) ([]baoguan.DueEvent, error) {
	var out []baoguan.DueEvent
	for _, d := range tx.table {
		if slices.Contains(orders, d.OrderID) {
			out = append(out, d)
		}
	}
	return out, nil
}

// TestClaimKeepsAnOrdersNotificationsInOrder: a claim that reads the
// events table beside the events handed off never chooses an order's
// notification while an older one of the order waits, in the table or
// handed off, unseen by the claim: the case of a destination that has
// room again while the claim looks further without it (the failures of
// TestHandoffWithoutRoom under -race), of a read of the table cut short
// before the order's older event, and of an event handed off while the
// table is read, after its order's older one was left to the table.
func TestClaimKeepsAnOrdersNotificationsInOrder(t *testing.T) {
	const a, b = "http://a.example/hook", "http://b.example/hook"
	t0 := time.Now()
	ev := func(id, order int64, url string) baoguan.Event {
		return baoguan.Event{ID: id, OrderID: order, URL: url, NextAt: t0.Add(time.Duration(id) * time.Millisecond)}
	}
	due := func(e baoguan.Event) baoguan.DueEvent {
		return baoguan.DueEvent{ID: e.ID, OrderID: e.OrderID, Dest: baoguan.Destination(e.URL), NextAt: e.NextAt}
	}
	for _, c := range []struct {
		name         string
		table, ready []baoguan.Event
		during       []baoguan.Event // left to the table, then handed off, as the table is read
		handedFirst  bool            // during: handed off, then left to the table
		filler       int             // events to a, in the table, ahead of the others
		leased       bool            // PostgreSQL's hand-off: what is handed off is leased, not due in the table
		busy         int             // deliveries in flight to a
		ends         bool            // and they end as the claim looks further without a
		paid, later  int64
		other        int64 // an event handed off, of an order with nothing older, that the claim chooses
	}{
		{
			// Order 10's order.paid was handed off, its next event left
			// to the table; a is at its limit when the claim plans, and
			// has room again when it looks further without a.
			name:  "room again while looking further",
			ready: []baoguan.Event{ev(19, 10, a)},
			table: []baoguan.Event{ev(21, 10, a)},
			busy:  2, ends: true,
			paid: 19, later: 21,
		},
		{
			// Order 30's order.paid was left to the table, its next
			// event handed off; the read of the table (two events: the
			// room of a destination not heard from) stops before it.
			name:  "table read cut short",
			table: []baoguan.Event{ev(1, 1, a), ev(2, 2, a), ev(3, 30, b)},
			ready: []baoguan.Event{ev(4, 30, b)},
			paid:  3, later: 4,
		},
		{
			// Order 40's order.paid is left to the table (no room) and its
			// next event handed off, both after the read of the table.
			name:   "handed off while the table is read",
			table:  []baoguan.Event{ev(1, 1, a)},
			during: []baoguan.Event{ev(5, 40, b), ev(6, 40, b)},
			paid:   5, later: 6,
		},
		{
			// The same while a is at its limit: the claim looks further
			// without it.
			name:   "handed off while the table is read, a at its limit",
			table:  []baoguan.Event{ev(1, 1, a)},
			during: []baoguan.Event{ev(5, 40, b), ev(6, 40, b)},
			busy:   2,
			paid:   5, later: 6,
		},
		{
			// Order 50's order.paid is handed off after the claim copied
			// ready, its next event left to the table (no room), both
			// committed before the read of the table (the failures of
			// TestHandoffWithoutRoom under -race after change 87).
			name:   "handed off after ready was copied, the next left to the table",
			table:  []baoguan.Event{ev(7, 50, b), ev(8, 50, b)},
			during: []baoguan.Event{ev(7, 50, b), ev(8, 50, b)}, handedFirst: true,
			paid: 7, later: 8,
		},
		{
			// Order 60's order.paid is in the table past the first
			// thousand due events (a's backlog, a at its limit), its next
			// event handed off: the query that looks further without a
			// sees neither a's events nor order 60's first.
			name:   "past the window of the query that looks further",
			filler: dueWindow,
			table:  []baoguan.Event{ev(5001, 60, b)},
			ready:  []baoguan.Event{ev(5002, 60, b), ev(5003, 70, b)},
			busy:   2,
			paid:   5001, later: 5002, other: 5003,
		},
		{
			// The same on PostgreSQL.
			name:   "past the window of the query that looks further, leased",
			filler: dueWindow, leased: true,
			table: []baoguan.Event{ev(5001, 60, b)},
			ready: []baoguan.Event{ev(5002, 60, b), ev(5003, 70, b)},
			busy:  2,
			paid:  5001, later: 5002, other: 5003,
		},
		{
			// The same while a is at its limit.
			name:   "handed off after ready was copied, a at its limit",
			table:  []baoguan.Event{ev(1, 1, a), ev(7, 50, b), ev(8, 50, b)},
			during: []baoguan.Event{ev(7, 50, b), ev(8, 50, b)}, handedFirst: true,
			busy: 2,
			paid: 7, later: 8,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dl := newDeliverer(nil, 64, 64, time.Minute, !c.leased)
			dl.handoff, dl.leased = true, c.leased
			for _, e := range c.ready {
				dl.Expect([]int64{e.ID})
				dl.Committed([]baoguan.Event{e})
			}
			tx := queueTx{}
			for i := range c.filler {
				tx.table = append(tx.table, due(ev(int64(2000+i), int64(2000+i), a)))
			}
			handed := c.ready
			if c.leased {
				handed = nil // leased to the deliverer, not due
			}
			for _, e := range append(slices.Clone(c.table), handed...) {
				tx.table = append(tx.table, due(e)) // handed off, an event is in the table too
			}
			slices.SortFunc(tx.table, func(x, y baoguan.DueEvent) int {
				if dueBefore(x, y) {
					return -1
				}
				return 1
			})
			for i := range c.busy {
				dl.start(baoguan.Destination(a), int64(1000+i))
			}
			tx.skipped = func() {
				if !c.ends {
					return
				}
				for i := range c.busy {
					dl.end(baoguan.Destination(a), int64(1000+i), true)
				}
				c.busy = 0
			}
			tx.read = func() {
				if len(c.during) == 0 {
					return
				}
				dl.Expect([]int64{c.during[0].ID, c.during[1].ID})
				room, ids := dl.readyMax, dl.idMax
				if c.handedFirst {
					dl.Committed(c.during[:1])
					dl.readyMax, dl.idMax = 0, 0 // no room: left to the table
					dl.Committed(c.during[1:])
				} else {
					dl.readyMax, dl.idMax = 0, 0 // no room: left to the table
					dl.Committed(c.during[:1])
					dl.readyMax, dl.idMax = room, ids
					dl.Committed(c.during[1:])
				}
				dl.readyMax, dl.idMax = room, ids
				c.during = nil
			}
			_, pick, _, err := dl.due(tx, 64, 0, nil, true)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(pick, c.later) && !slices.Contains(pick, c.paid) {
				t.Errorf("the claim chose event %d while the order's older event %d waits (chose %v)", c.later, c.paid, pick)
			}
			if slices.Contains(pick, c.later) && slices.Contains(pick, c.paid) {
				t.Errorf("the claim chose two events of an order at once (chose %v)", pick)
			}
			if c.other != 0 && !slices.Contains(pick, c.other) {
				// Held back with the order behind its older event, the
				// other receivers' events would wait for a's backlog.
				t.Errorf("the claim left event %d, of an order with nothing older, for later (chose %v)", c.other, pick)
			}
		})
	}
}

// TestSendReadyLeavesItToTheTable: a claim that began with the table
// clean sends nothing from the hand-off once an event was left to the
// table meanwhile (here a commit whose outcome is unknown: its
// order.paid), as the order's next event may have been handed off since;
// the next claim reads the table, and the event handed off still waits.
func TestSendReadyLeavesItToTheTable(t *testing.T) {
	s := &Service{Formats: NewFormats(), Now: time.Now}
	dl := newDeliverer(s, 64, 64, time.Minute, true)
	dl.handoff, dl.dirty = true, false
	dl.merchants[1] = cachedMerchant{m: &baoguan.Merchant{ID: 1}, at: time.Now()}
	now := time.Now()
	dl.Expect([]int64{5})
	dl.Cancel([]int64{5})
	dl.Expect([]int64{6})
	dl.Committed([]baoguan.Event{{ID: 6, OrderID: 40, MerchantID: 1, URL: "http://b.example/hook", NextAt: now}})
	n, _, err := dl.sendReady(context.Background(), 64, 0, nil)
	dl.wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("sent %d handed off with the order's older event left to the table", n)
	}
	if !dl.isDirty() || !dl.isReady(6) {
		t.Errorf("dirty %v, event 6 ready %v: want the next claim to read the table, the event to wait", dl.isDirty(), dl.isReady(6))
	}
}
