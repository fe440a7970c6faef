package core

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// TestAdvanceCursorPastHeld: the cursor stops at the last of the leading
// events that are held or expected, keeps its first setting's time while
// set, and does not move past an event of the table's own; the cursor is
// a copy, not the claim's list it was read from.
func TestAdvanceCursorPastHeld(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	dl := &deliverer{held: map[int64]time.Time{1: t0, 2: t0, 4: t0}, expect: map[int64]struct{}{3: {}}}
	due := []baoguan.DueEvent{{ID: 1}, {ID: 2}, {ID: 3}, {ID: 5}, {ID: 4}}
	dl.advance(due, t0)
	if dl.after == nil || dl.after.ID != 3 || !dl.afterSet.Equal(t0) {
		t.Fatalf("cursor %+v set at %v; want event 3 at %v", dl.after, dl.afterSet, t0)
	}
	due[2].ID = 99 // the claim's list reused
	if dl.after.ID != 3 {
		t.Fatalf("cursor changed with the claim's list: %+v", dl.after)
	}
	dl.advance([]baoguan.DueEvent{{ID: 4}}, t0.Add(time.Second))
	if dl.after.ID != 4 || !dl.afterSet.Equal(t0) {
		t.Fatalf("cursor %+v set at %v; want event 4, still set at %v", dl.after, dl.afterSet, t0)
	}
	dl.advance([]baoguan.DueEvent{{ID: 5}, {ID: 1}}, t0.Add(2*time.Second))
	if dl.after.ID != 4 {
		t.Fatalf("cursor moved to %+v past an event not held", dl.after)
	}
}
