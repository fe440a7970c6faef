package core

import (
	"testing"
	"time"
)

// TestClaimAsksForTheRoomLeft: a claim asks for as many events as the
// destinations it knows can take now, not for every free place, and for
// at least one, so that destinations not heard from yet are still found.
func TestClaimAsksForTheRoomLeft(t *testing.T) {
	dl := newDeliverer(nil, 256, 64, time.Minute, true)
	if got := dl.room(256); got != 1 {
		t.Errorf("no destination known: room %d, want 1", got)
	}
	now := time.Now()
	a, b := dl.dest("http://a", now), dl.dest("http://b", now)
	a.limit, a.inflight = 64, 60
	b.limit, b.inflight = 8, 9 // over its limit after a halving: no room, not less
	if got := dl.room(196); got != 4 {
		t.Errorf("room %d, want 4 (a's 4, b's none)", got)
	}
	a.inflight = 0
	if got := dl.room(20); got != 20 {
		t.Errorf("room %d, want the 20 free places", got)
	}
	a.inflight = 64
	if got := dl.room(100); got != 1 {
		t.Errorf("every destination at its limit: room %d, want 1", got)
	}
}
