package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
)

// TestRedeliverPendingStartsNoSecondChain is issue 12's "redelivering an
// event that is still pending starts a second retry chain beside the
// first": an event whose first delivery failed waits for its retry; it is
// redelivered five times, then the clock passes the retry time, then far
// beyond the schedule. Each redelivery sends it once; the retry time sends
// it once more — one chain, not one per redelivery — and then it fails
// with nothing more sent.
//
// So too on a SQLite server (exclusive), whose deliverer takes new events
// from the store's writer and finds redeliveries and retries in the table.
func TestRedeliverPendingStartsNoSecondChain(t *testing.T) {
	for _, exclusive := range []bool{false, true} {
		t.Run(fmt.Sprint("exclusive=", exclusive), func(t *testing.T) {
			t.Parallel()
			testRedeliverPendingStartsNoSecondChain(t, exclusive)
		})
	}
}

func testRedeliverPendingStartsNoSecondChain(t *testing.T, exclusive bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, advance := redeliveryService(ctx, t)
	svc.Formats.Register("test", testFormat{}) // retries once, a minute later

	var hmu sync.Mutex
	hits := map[string]int{} // event type → deliveries, whatever event carried it
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v struct{ Type string }
		_ = json.Unmarshal(b, &v)
		hmu.Lock()
		hits[v.Type]++
		hmu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable) // never acknowledged
	}))
	defer recv.Close()
	sent := func(id string) int { hmu.Lock(); defer hmu.Unlock(); return hits[id] }

	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "redeliver", NotifyURL: recv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateOrder(ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "RD-1", Amount: 100, Subject: "奶粉",
		Protocol: "test"}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, core.RunnerOptions{Poll: 10 * time.Millisecond, Exclusive: exclusive}) }()
	settle := func(what string) { t.Helper(); settleService(ctx, t, svc, what) }
	settle("the first delivery")
	es, err := svc.Events(ctx, m, baoguan.EventFilter{Type: "order.paid"})
	if err != nil || len(es) != 1 {
		t.Fatalf("events: %+v %v", es, err)
	}
	e := es[0]
	if e.Status != baoguan.EventPending || e.Attempts != 1 || sent(e.Type) != 1 {
		t.Fatalf("after the first delivery: %+v, sent %d; want pending after 1 attempt", e, sent(e.Type))
	}
	for i := range 5 {
		if _, err := svc.Redeliver(ctx, m, e.ID); err != nil {
			t.Fatal(err)
		}
		settle("a redelivery")
		if got := sent(e.Type); got != 2+i {
			t.Fatalf("redelivery %d: sent %d times in all, want %d", i+1, got, 2+i)
		}
	}
	advance(time.Minute + time.Second)
	settle("the retry")
	if got := sent(e.Type); got != 7 {
		t.Errorf("after the retry time: sent %d times in all, want 7 (one retry for the one chain)", got)
	}
	advance(24 * time.Hour)
	settle("the end of the schedule")
	_, _ = svc.Busy(ctx)
	if got := sent(e.Type); got != 7 {
		t.Errorf("after the schedule: sent %d times in all, want 7", got)
	}
	one, as, err := svc.Event(ctx, m, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if one.Status != baoguan.EventFailed || len(as) != 7 {
		t.Errorf("event %s after its schedule: %s with %d attempts recorded, want failed with 7", one.PublicID, one.Status, len(as))
	}
	cancel()
	<-done
}

// An event redelivered after it was delivered keeps, while the new chain
// fails, when it was first delivered: an attempt's outcome writes back the
// event as it was leased, not only the counters the attempt changed.
func TestRedeliveredEventKeepsItsDeliveryTime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, advance := redeliveryService(ctx, t)
	svc.Formats.Register("test", testFormat{})
	var down atomic.Bool // the receiver acknowledges until it is down
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer recv.Close()
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "redelivered", NotifyURL: recv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateOrder(ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "RD-2", Amount: 100, Subject: "奶粉",
		Protocol: "test"}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, core.RunnerOptions{Poll: 10 * time.Millisecond}) }()
	settle := func(what string) { t.Helper(); settleService(ctx, t, svc, what) }
	settle("the first delivery")
	es, err := svc.Events(ctx, m, baoguan.EventFilter{Type: "order.paid"})
	if err != nil || len(es) != 1 {
		t.Fatalf("events: %+v %v", es, err)
	}
	first := es[0]
	if first.Status != baoguan.EventDelivered || !first.DeliveredAt.Equal(svc.Now()) {
		t.Fatalf("after the first delivery: %s delivered at %v, want delivered at %v", first.Status, first.DeliveredAt, svc.Now())
	}
	down.Store(true)
	advance(time.Hour)
	if _, err := svc.Redeliver(ctx, m, first.ID); err != nil {
		t.Fatal(err)
	}
	settle("the redelivery")
	e, as, err := svc.Event(ctx, m, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != baoguan.EventPending || len(as) != 2 || !e.DeliveredAt.Equal(first.DeliveredAt) {
		t.Errorf("after a failed redelivery: %s, %d attempts, delivered at %v; want pending, 2 attempts, delivered at %v",
			e.Status, len(as), e.DeliveredAt, first.DeliveredAt)
	}
	cancel()
	<-done
}

// redeliveryService is a service on a SQLite file whose clock stands still
// until advance moves it, so that a test decides when retries come due.
func redeliveryService(ctx context.Context, t *testing.T) (svc *core.Service, advance func(time.Duration)) {
	t.Helper()
	var mu sync.Mutex
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "core.db"), Keys: keys, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc = core.New(&core.Service{Store: db, Now: clock,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           &http.Client{Timeout: 5 * time.Second}})
	return svc, func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
}

// settleService waits until svc has nothing left to run or send (Busy),
// failing the test after 20 s.
func settleService(ctx context.Context, t *testing.T, svc *core.Service, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := svc.Busy(ctx)
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still busy (%d, %v)", what, n, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
