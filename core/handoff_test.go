package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sqlite"
)

// retryFormat is testFormat retried once, after retryAfter.
type retryFormat struct{ testFormat }

const retryAfter = 300 * time.Millisecond

func (retryFormat) Schedule() baoguan.Retry { return baoguan.Retry{retryAfter} }

// notifications is a receiver that notes, for each order, the requests it
// got (type and whether it answered 2xx) and whether two of them were
// ever in flight at once. fail tells which requests to answer 500.
type notifications struct {
	srv        *httptest.Server
	mu         sync.Mutex
	inflight   map[string]int
	overlapped map[string]bool
	seen       map[string][]string // order → "type ok" or "type failed", in arrival order
	total      int
}

func newNotifications(t *testing.T, fail func(order, typ string, attempt int) bool) *notifications {
	n := &notifications{inflight: map[string]int{}, overlapped: map[string]bool{}, seen: map[string][]string{}}
	tries := map[string]int{}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct{ ID, Type, Order string }
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Error(err)
		}
		n.mu.Lock()
		n.inflight[b.Order]++
		if n.inflight[b.Order] > 1 {
			n.overlapped[b.Order] = true
		}
		tries[b.ID]++
		failed := fail(b.Order, b.Type, tries[b.ID])
		n.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		n.mu.Lock()
		n.inflight[b.Order]--
		n.total++
		if failed {
			n.seen[b.Order] = append(n.seen[b.Order], b.Type+" failed")
		} else {
			n.seen[b.Order] = append(n.seen[b.Order], b.Type+" ok")
		}
		n.mu.Unlock()
		if failed {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *notifications) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.total
}

// waitFor waits until the receiver got want requests (and fails the test
// after 30 s).
func (n *notifications) waitFor(t *testing.T, want int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); n.count() < want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d requests, want %d", n.count(), want)
		}
	}
}

// pushOrders creates orders O0… that the runner pays and declares: each
// has an order.paid and a declaration.succeeded to notify.
func pushOrders(t *testing.T, svc *core.Service, m *baoguan.Merchant, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, _, err := svc.CreateOrder(context.Background(), m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: fmt.Sprint("O", i), Amount: 100,
			Subject: "奶粉", Protocol: "test", Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestHandedOffNotificationsAfterFailure: on a SQLite server (the
// deliverer alone on its database, which takes the events its process
// commits from the store's writer), orders pushed while it runs are
// notified one at a time per order, order.paid first; an order.paid whose
// first delivery fails lets the order's declaration go on and is sent
// again on the protocol's schedule, once; every notification ends
// delivered, and none is sent more often than its attempts say.
func TestHandedOffNotificationsAfterFailure(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openKind(t, "sqlite", nil)
	svc := deliveryService(db)
	svc.Formats.Register("test", retryFormat{})
	// The first order.paid of every third order fails.
	recv := newNotifications(t, func(order, typ string, attempt int) bool {
		var i int
		fmt.Sscanf(order, "O%d", &i)
		return typ == baoguan.EventOrderPaid && attempt == 1 && i%3 == 0
	})
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: recv.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- svc.Run(ctx, core.RunnerOptions{Poll: 50 * time.Millisecond, Gather: time.Millisecond, Exclusive: true, Deliveries: 64})
	}()
	const orders = 30
	failing := 0
	for i := range orders {
		pushOrders(t, svc, m, i, i+1)
		if i%3 == 0 {
			failing++
		}
	}
	recv.waitFor(t, 2*orders+failing)
	time.Sleep(2 * retryAfter) // a second retry, were one made, would come now
	cancel()
	<-done

	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.total != 2*orders+failing {
		t.Errorf("the receiver got %d requests, want %d", recv.total, 2*orders+failing)
	}
	for i := range orders {
		no := fmt.Sprint("O", i)
		if recv.overlapped[no] {
			t.Errorf("order %s: two of its notifications were in flight at once", no)
		}
		want := []string{"order.paid ok", "declaration.succeeded ok"}
		if i%3 == 0 {
			want = []string{"order.paid failed", "declaration.succeeded ok", "order.paid ok"}
		}
		if fmt.Sprint(recv.seen[no]) != fmt.Sprint(want) {
			t.Errorf("order %s: the receiver saw %v, want %v", no, recv.seen[no], want)
		}
	}
	es, err := svc.Events(context.Background(), m, baoguan.EventFilter{Page: baoguan.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2*orders {
		t.Fatalf("%d events, want %d", len(es), 2*orders)
	}
	for _, e := range es {
		_, as, err := svc.Event(context.Background(), m, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status != baoguan.EventDelivered {
			t.Errorf("event %d (%s) is %s after %d attempts", e.ID, e.Type, e.Status, len(as))
		}
		if len(as) == 2 && as[1].At.Sub(as[0].At) < retryAfter {
			t.Errorf("event %d was sent again %v after its failed attempt; its schedule says %v", e.ID, as[1].At.Sub(as[0].At), retryAfter)
		}
	}
}

// lostHandoff is a SQLite store whose hand-off never arrives: the
// deliverer is told of each new event before its transaction commits, and
// then not given it — the state of a server that died between a commit
// and the hand-off.
// set is closed once a deliverer takes its hand-off.
type lostHandoff struct {
	*sqlite.DB
	once sync.Once
	set  chan struct{}
}

func (s *lostHandoff) SetHandoff(h baoguan.EventHandoff) func() {
	stop := s.DB.SetHandoff(dropCommitted{h})
	s.once.Do(func() { close(s.set) })
	return stop
}

type dropCommitted struct{ baoguan.EventHandoff }

func (dropCommitted) Committed([]baoguan.Event) {}

// TestCrashBetweenCommitAndHandoff: events committed by a server that died
// before handing them to its deliverer are in the events table, pending
// and due; the next server sends each of them once.
func TestCrashBetweenCommitAndHandoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openKind(t, "sqlite", nil).(*sqlite.DB)
	recv := newNotifications(t, func(string, string, int) bool { return false })
	var events func() []baoguan.Event
	run := func(what string, store baoguan.Store, then func(), until func() bool) {
		t.Helper()
		svc := deliveryService(store)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- svc.Run(rctx, core.RunnerOptions{Poll: 20 * time.Millisecond, Gather: time.Millisecond, Exclusive: true})
		}()
		if then != nil {
			then()
		}
		for deadline := time.Now().Add(30 * time.Second); !until(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				for _, e := range events() {
					t.Logf("event %d %s order %d: %s, %d attempts, next %v", e.ID, e.Type, e.OrderID, e.Status, e.Attempts, e.NextAt)
				}
				t.Fatalf("%s: timed out; the receiver got %d", what, recv.count())
			}
		}
		cancel()
		<-done
	}
	svc := deliveryService(db)
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: recv.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	const orders = 5
	events = func() []baoguan.Event {
		es, err := svc.Events(ctx, m, baoguan.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	// The first server takes the orders, pays and declares them, and its
	// deliverer never gets their events.
	lost := &lostHandoff{DB: db, set: make(chan struct{})}
	run("the first server", lost, func() {
		<-lost.set // every event committed from now on is handed off (and lost)
		pushOrders(t, svc, m, 0, orders)
	}, func() bool { return len(events()) == 2*orders })
	if n := recv.count(); n != 0 {
		t.Fatalf("the receiver got %d requests from a server that never had the events", n)
	}
	for _, e := range events() {
		if e.Status != baoguan.EventPending {
			t.Fatalf("event %d is %s, want pending", e.ID, e.Status)
		}
	}
	// The next one sends them.
	run("the next server", db, nil, func() bool {
		for _, e := range events() {
			if e.Status == baoguan.EventPending {
				return false
			}
		}
		return true
	})
	for _, e := range events() {
		if e.Status != baoguan.EventDelivered || e.Attempts != 1 {
			t.Errorf("event %d (%s): %s after %d attempts, want delivered after one", e.ID, e.Type, e.Status, e.Attempts)
		}
	}
	if n := recv.count(); n != 2*orders {
		t.Errorf("the receiver got %d requests for %d events", n, 2*orders)
	}
}

// TestHandoffWithoutRoom: when the hand-off has no room left, the
// events it cannot keep are sent all the same, read from the table, and
// an order's still go one at a time, in order, each once. With room for
// their ids (their bodies read back by id when they are sent), the
// deliverer does not read the table for them at all: a backlog handed off
// made every claim read past it (benchmarks.md, changes 37 and 44).
func TestHandoffWithoutRoom(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		ids   int
		reads int64 // most reads of the table once the hand-off is set
	}{
		{"no room", 2, 1000},
		{"room for ids", 1000, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testHandoffWithoutRoom(t, c.ids, c.reads)
		})
	}
}

func testHandoffWithoutRoom(t *testing.T, ids int, reads int64) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openKind(t, "sqlite", nil)
	svc := deliveryService(db)
	core.SetHandoffRoom(svc, 2, ids)
	recv := newNotifications(t, func(string, string, int) bool { return false })
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: recv.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		// A poll longer than the test: what is read from the table is
		// read because the hand-off had no room.
		done <- svc.Run(ctx, core.RunnerOptions{Poll: time.Minute, Gather: time.Millisecond, Exclusive: true, Deliveries: 64})
	}()
	// One order first: once it is notified, the hand-off is set and every
	// event committed since was handed off.
	pushOrders(t, svc, m, 0, 1)
	recv.waitFor(t, 2)
	before := core.TableReads(svc)
	const orders = 41
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() { pushOrders(t, svc, m, 1+g*(orders-1)/4, 1+(g+1)*(orders-1)/4) })
	}
	wg.Wait()
	recv.waitFor(t, 2*orders)
	time.Sleep(100 * time.Millisecond) // a second delivery, were one made, would come now
	cancel()
	<-done
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.total != 2*orders {
		t.Errorf("the receiver got %d requests for %d notifications", recv.total, 2*orders)
	}
	for i := range orders {
		no := fmt.Sprint("O", i)
		if recv.overlapped[no] {
			t.Errorf("order %s: two of its notifications were in flight at once", no)
		}
		if want := "[order.paid ok declaration.succeeded ok]"; fmt.Sprint(recv.seen[no]) != want {
			t.Errorf("order %s: the receiver saw %v, want %v", no, recv.seen[no], want)
		}
	}
	n := core.TableReads(svc) - before
	t.Logf("%d reads of the events table after the first order", n)
	if n > reads {
		t.Errorf("the deliverer read the events table %d times after the first order, want at most %d", n, reads)
	}
}

// secretFormat is testFormat that sends the merchant's webhook secrets in
// a header, for the receiver to check which ones a notification was
// signed with.
type secretFormat struct{ testFormat }

func (secretFormat) Deliver(ctx context.Context, c *http.Client, m *baoguan.Merchant, e *baoguan.Event) core.Delivery {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(e.Body))
	if err != nil {
		return core.Delivery{Err: err}
	}
	req.Header.Set("X-Secrets", strings.Join(append([]string{m.WebhookSecret}, m.PreviousWebhookSecrets...), " "))
	resp, err := c.Do(req)
	if err != nil {
		return core.Delivery{Err: err}
	}
	resp.Body.Close()
	return core.Delivery{Status: resp.StatusCode, Acked: resp.StatusCode/100 == 2}
}

// TestReissuedWebhookSecretSignsTheNextNotification: on a SQLite server,
// whose deliverer keeps the merchant it signs with for a moment, a
// notification committed after the webhook secret was reissued is signed
// with the new secret (and, in the old one's grace period, the old one
// beside it), and after a reissue without grace with the new one alone.
func TestReissuedWebhookSecretSignsTheNextNotification(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openKind(t, "sqlite", nil)
	svc := deliveryService(db)
	svc.Formats.Register("test", secretFormat{})
	var mu sync.Mutex
	got := map[string]string{} // order → secrets of its order.paid
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Type, Order string }
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Error(err)
		}
		if b.Type == baoguan.EventOrderPaid {
			mu.Lock()
			got[b.Order] = r.Header.Get("X-Secrets")
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: recv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- svc.Run(ctx, core.RunnerOptions{Poll: time.Minute, Gather: time.Millisecond, Exclusive: true})
	}()
	secrets := func(no string) string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			mu.Lock()
			s, ok := got[no]
			mu.Unlock()
			if ok {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("order %s: no order.paid received", no)
			}
		}
	}
	pushOrders(t, svc, m, 0, 1)
	first, err := svc.MerchantByNo(ctx, m.No)
	if err != nil {
		t.Fatal(err)
	}
	if s := secrets("O0"); s != first.WebhookSecret {
		t.Fatalf("order O0 signed with %q, want the merchant's secret %q", s, first.WebhookSecret)
	}
	second, err := svc.ReissueKey(ctx, m.No, baoguan.KeyWebhook, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pushOrders(t, svc, m, 1, 2)
	if s, want := secrets("O1"), second+" "+first.WebhookSecret; s != want {
		t.Errorf("after a reissue with grace: order O1 signed with %q, want %q", s, want)
	}
	third, err := svc.ReissueKey(ctx, m.No, baoguan.KeyWebhook, 0)
	if err != nil {
		t.Fatal(err)
	}
	pushOrders(t, svc, m, 2, 3)
	if s := secrets("O2"); s != third {
		t.Errorf("after a reissue without grace: order O2 signed with %q, want %q alone", s, third)
	}
	cancel()
	<-done
}
