package core

import (
	"context"
	"testing"
	"time"
)

// TestGatherEndsWhenDeliveriesEnd: after a wake-up the deliverer gathers
// more wake-ups into one claim, but not while the places of deliveries
// that ended wait empty: once a quarter of a destination's places have
// ended since the last claim began, it claims at once, however long the
// gathering window. Fewer, or deliveries that do not end (a receiver that
// hangs), leave it gathering.
func TestGatherEndsWhenDeliveriesEnd(t *testing.T) {
	dl := newDeliverer(nil, 256, 16, time.Minute, true) // a quarter of 16 places: 4
	const dest = "http://receiver"
	for i := range 8 {
		dl.start(dest, int64(i+1))
	}
	// An ended context tells whether gather would wait out the window: it
	// gives up (false) instead.
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	waits := func(since int64) bool { return !dl.gather(ended, time.Hour, since) }
	claimsAtOnce := func(since int64) bool {
		got := make(chan bool, 1)
		go func() { got <- dl.gather(context.Background(), time.Hour, since) }()
		select {
		case ok := <-got:
			return ok
		case <-time.After(30 * time.Second): // (the window is an hour)
			return false
		}
	}

	since := dl.endedCount()
	for i := range 3 {
		dl.end(dest, int64(i+1), true)
	}
	if !waits(since) {
		t.Fatal("3 deliveries of 16 places ended: want the window waited for")
	}
	dl.end(dest, 4, true)
	if !claimsAtOnce(since) {
		t.Fatal("4 deliveries of 16 places ended: want a claim at once, not after the window")
	}
	// The count starts again at each claim: those that ended before it do
	// not cut the next window short.
	since = dl.endedCount()
	dl.end(dest, 5, true)
	if !waits(since) {
		t.Fatal("1 delivery ended since the claim: want the window waited for")
	}
	for i := 6; i <= 8; i++ {
		dl.end(dest, int64(i), false) // no answer (a timeout): its place is free all the same
	}
	if !claimsAtOnce(since) {
		t.Fatal("4 deliveries ended since the claim: want a claim at once")
	}
}
