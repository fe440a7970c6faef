package core

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// TestOutcomesWaitWithoutSenders: while the recorder's transactions wait
// (on SQLite for the writer, behind a catch-up's batches), deliveries go
// on, each sent by one of at most Deliveries senders, and their outcomes
// wait for the recorder without a sender each; once the store lets it,
// every outcome is recorded, at most recordMax in a transaction, and no
// notification's body is kept for it.
func TestOutcomesWaitWithoutSenders(t *testing.T) {
	st := &gatedStore{gate: make(chan struct{})}
	s := New(&Service{Store: st})
	s.Formats.Register("instant", instantFormat{})
	const places, sent = 4, 400
	dl := newDeliverer(s, places, places, time.Minute, true)
	ctx := context.Background()
	recorded := make(chan struct{})
	go func() { dl.recorder(ctx); close(recorded) }()
	for i := 0; i < sent; i += places {
		evs := make([]baoguan.Event, places)
		for j := range evs {
			evs[j] = baoguan.Event{ID: int64(i + j + 1), OrderID: int64(i + j + 1), URL: "http://receiver", Protocol: "instant", Body: []byte("{}")}
		}
		since := dl.endedCount()
		dl.send(ctx, evs, nil)
		for deadline := time.Now().Add(30 * time.Second); dl.endedCount() < since+places; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d deliveries of %d ended with the recorder waiting", dl.endedCount(), i+places)
			}
		}
		// The next round's deliveries go to these senders once they
		// wait for work: a sender still busy with an outcome makes the
		// deliverer start another (as it should, and as a loaded machine
		// made it do when the next round came at once).
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
			if n, idle := senders(); n == idle {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("after %d deliveries with the recorder waiting, %d of %d senders still hold one", i+places, n-idle, n)
			}
		}
	}
	if n, _ := senders(); n > places {
		t.Errorf("%d senders after %d deliveries with the recorder waiting, want at most %d", n, sent, places)
	}
	close(st.gate)
	dl.wg.Wait()
	close(dl.idle)
	dl.endOutcomes()
	select {
	case <-recorded:
	case <-time.After(30 * time.Second):
		t.Fatal("the recorder did not end")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.ids) != sent {
		t.Errorf("%d outcomes recorded, want %d", len(st.ids), sent)
	}
	if st.most > recordMax {
		t.Errorf("%d outcomes in one transaction, want at most %d", st.most, recordMax)
	}
	if st.bodies > 0 {
		t.Errorf("%d outcomes kept their notification's body", st.bodies)
	}
}

// senders counts the goroutines running deliverer.sender, and those of
// them waiting for a delivery to send (counting them alone, not every
// goroutine of the test binary, leaves out what other tests left behind).
func senders() (n, idle int) {
	buf := make([]byte, 1<<16)
	for {
		k := runtime.Stack(buf, true)
		if k < len(buf) {
			buf = buf[:k]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "core.(*deliverer).sender(") {
			continue
		}
		n++
		if strings.Contains(g, "[chan receive") {
			idle++
		}
	}
	return n, idle
}

// instantFormat delivers every notification at once, acknowledged.
type instantFormat struct{}

func (instantFormat) Render(Notice) ([]byte, string, bool, error) { return nil, "", false, nil }
func (instantFormat) Deliver(context.Context, *http.Client, *baoguan.Merchant, *baoguan.Event) Delivery {
	return Delivery{Status: http.StatusNoContent, Acked: true}
}
func (instantFormat) Schedule() baoguan.Retry                      { return nil }
func (instantFormat) URL(*baoguan.Merchant, *baoguan.Order) string { return "" }

// gatedStore holds every Update until gate is closed, then records the
// outcomes its transactions are given.
type gatedStore struct {
	gate   chan struct{}
	mu     sync.Mutex
	ids    []int64
	most   int
	bodies int
}

func (s *gatedStore) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	<-s.gate
	return fn(outcomeTx{s: s})
}
func (s *gatedStore) View(ctx context.Context, fn func(baoguan.Tx) error) error {
	return fn(outcomeTx{s: s})
}
func (s *gatedStore) Close() error { return nil }

// outcomeTx is a transaction that records outcomes (and has nothing else).
type outcomeTx struct {
	baoguan.Tx
	s *gatedStore
}

func (outcomeTx) Now() time.Time { return time.Now() }

func (tx outcomeTx) RecordAttempts(os []baoguan.Outcome) ([]bool, error) {
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	tx.s.most = max(tx.s.most, len(os))
	for _, o := range os {
		tx.s.ids = append(tx.s.ids, o.Event.ID)
		if o.Event.Body != nil {
			tx.s.bodies++
		}
	}
	ok := make([]bool, len(os))
	for i := range ok {
		ok[i] = true
	}
	return ok, nil
}
