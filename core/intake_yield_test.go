package core

import (
	"context"
	"testing"
	"time"
)

// TestYieldEndsWithThePushes: the runner's wait after a batch that gave
// way to pushes goes on while a push is in flight, and ends once the
// pushes stop coming in (none in flight, the last began a window ago)
// rather than when the wait it was given is over: at the end of a burst
// the catch-up's full batches then start at once.
func TestYieldEndsWithThePushes(t *testing.T) {
	s := &Service{}
	const window = 20 * time.Millisecond
	pushed := s.intakeGate() // a push in flight
	ended := make(chan bool, 1)
	go func() { ended <- s.yieldWait(context.Background(), time.Hour, window) }()
	select {
	case <-ended:
		t.Fatal("the wait ended with a push in flight")
	case <-time.After(5 * window):
	}
	pushed() // the burst's last push answered
	select {
	case live := <-ended:
		if !live {
			t.Error("the wait reported its context ended")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the wait went on after the pushes stopped")
	}
}
