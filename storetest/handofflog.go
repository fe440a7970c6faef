package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

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

// HandoffSetDuringGroup checks that a receiver set (by set, which returns
// its stop) while a group of s runs is handed nothing of that group — it
// began without a receiver, so its event is inserted due, not handed off
// — but is told the table changed once the group has committed: the
// receiver's first read of the table may have come before the commit, and
// the event would otherwise wait for its next poll. The event is then due.
func HandoffSetDuringGroup(t *testing.T, s baoguan.Store, m *baoguan.Merchant, set func(*HandoffLog) (stop func())) {
	t.Helper()
	ctx := context.Background()
	h := &HandoffLog{}
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx baoguan.Tx) error {
			e := pendingEvent(m.ID, 1)
			if err := tx.CreateEvent(&e); err != nil {
				return err
			}
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	defer set(h)()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	committed, dirty := h.Take()
	if len(committed) != 0 {
		t.Errorf("%d events handed off by a group that began without a receiver", len(committed))
	}
	if dirty == 0 {
		t.Error("the receiver set while the group ran was not told the table changed")
	}
	if err := s.Update(ctx, func(tx baoguan.Tx) error {
		due, err := tx.DueEvents(10, nil, nil)
		if err == nil && len(due) != 1 {
			err = fmt.Errorf("%d events due, want the group's one", len(due))
		}
		return err
	}); err != nil {
		t.Error(err)
	}
}
