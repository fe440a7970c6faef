package storetest

import (
	"sync"

	"github.com/baoguan/baoguan"
)

// HandoffLog is a baoguan.EventHandoff that notes what a store tells it,
// for the stores' hand-off tests.
type HandoffLog struct {
	mu        sync.Mutex
	expected  map[int64]bool
	committed []baoguan.Event
	early     []int64 // committed without being expected first
	cancelled []int64
	dirty     int
}

func (h *HandoffLog) Expect(ids []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.expected == nil {
		h.expected = map[int64]bool{}
	}
	for _, id := range ids {
		h.expected[id] = true
	}
}

func (h *HandoffLog) Committed(es []baoguan.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range es {
		if !h.expected[e.ID] {
			h.early = append(h.early, e.ID)
		}
	}
	h.committed = append(h.committed, es...)
}

func (h *HandoffLog) Cancel(ids []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancelled = append(h.cancelled, ids...)
}

func (h *HandoffLog) Dirty() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dirty++
}

// Take returns what was handed off (Committed) and how many Dirty calls
// came since the last Take.
func (h *HandoffLog) Take() (committed []baoguan.Event, dirty int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	committed, dirty = h.committed, h.dirty
	h.committed, h.dirty = nil, 0
	return committed, dirty
}

// Misplaced returns the events handed off before they were expected and
// the ids cancelled, all so far.
func (h *HandoffLog) Misplaced() (early, cancelled []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int64(nil), h.early...), append([]int64(nil), h.cancelled...)
}
