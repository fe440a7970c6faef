package sqlstore

import (
	"sync/atomic"
	"time"

	"github.com/baoguan/baoguan"
)

// HandoffTo is a receiver of the new due events a store's writers create
// (baoguan.EventHandoff), boxed for an atomic pointer, with the lease they
// are inserted with (PostgreSQL's SetLeasedHandoff; 0 on SQLite).
type HandoffTo struct {
	H     baoguan.EventHandoff
	Lease time.Duration
}

// Handed is what one group of Updates hands off: its new due events and
// whether it made others due, to the receiver set when it began (To, nil
// when none). Now is where the receiver set now is (the store's pointer):
// a receiver set while the group ran is handed nothing of it, but is told
// the table changed once the group is over, since its first read of the
// table may have come before the group committed. A nil *Handed does
// nothing.
type Handed struct {
	To     *HandoffTo
	Now    *atomic.Pointer[HandoffTo]
	events []baoguan.Event
	ids    []int64
	other  bool
}

// NewHandoff sets a store's receiver (SetHandoff, SetLeasedHandoff);
// stop ends it, unless another receiver was set since.
func NewHandoff(now *atomic.Pointer[HandoffTo], h baoguan.EventHandoff, lease time.Duration) (stop func()) {
	to := &HandoffTo{H: h, Lease: lease}
	now.Store(to)
	return func() { now.CompareAndSwap(to, nil) }
}

// Collect readies t, a call's Tx in the group, to keep the events it
// creates for the hand-off (and to insert them leased, with a lease).
func (h *Handed) Collect(t *Tx) {
	if h.To == nil {
		return
	}
	t.CollectEvents()
	if h.To.Lease > 0 {
		t.LeaseNew(t.Now().Add(h.To.Lease))
	}
}

// Keep adds the events t created to the group's, once its call succeeded.
func (h *Handed) Keep(t *Tx) {
	if h.To == nil {
		return
	}
	es, other := t.Created()
	h.events = append(h.events, es...)
	h.other = h.other || other
}

// Forget drops what the group kept (its transaction was rolled back to
// run again).
func (h *Handed) Forget() { h.events, h.other = h.events[:0], false }

// Expect names the group's events to the receiver; call it before COMMIT
// makes them visible to a read.
func (h *Handed) Expect() {
	if h.To == nil || len(h.events) == 0 {
		return
	}
	h.ids = make([]int64, len(h.events))
	for i := range h.events {
		h.ids[i] = h.events[i].ID
	}
	h.To.H.Expect(h.ids)
}

// Committed hands a committed (on SQLite with FULL, durable) group's
// events off.
func (h *Handed) Committed() {
	if h == nil {
		return
	}
	if h.To != nil {
		if len(h.events) > 0 {
			h.To.H.Committed(h.events)
		}
		if h.other {
			h.To.H.Dirty()
		}
	}
	h.changed()
}

// Cancel tells the receiver that the events it was named did not commit,
// or that whether they did is unknown.
func (h *Handed) Cancel() {
	if h == nil {
		return
	}
	if h.To != nil && len(h.ids) > 0 {
		h.To.H.Cancel(h.ids)
	}
	h.changed()
}

func (h *Handed) changed() {
	if cur := h.Now.Load(); cur != nil && cur != h.To {
		cur.H.Dirty()
	}
}
