package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/sandbox"
)

// testFormat renders every event as a small JSON object and counts any
// 2xx as acknowledged: the notification format of these tests.
type testFormat struct{}

func (testFormat) Render(n core.Notice) ([]byte, string, bool, error) {
	b, err := json.Marshal(map[string]string{"id": n.PublicID, "type": n.Type, "order": n.Order.MerchantOrderNo})
	return b, "application/json", true, err
}

func (testFormat) Deliver(ctx context.Context, c *http.Client, m *baoguan.Merchant, e *baoguan.Event) core.Delivery {
	d := core.Post(ctx, c, e.URL, e.ContentType, e.Body, nil)
	d.Acked = d.Err == nil && d.Status/100 == 2
	return d
}

func (testFormat) Schedule() baoguan.Retry { return baoguan.Retry{time.Minute} }

// Notifies leaves out the internal order.completed.
func (testFormat) Notifies(typ string) bool { return typ != core.EventOrderCompleted }

func (testFormat) URL(m *baoguan.Merchant, o *baoguan.Order) string {
	if o.NotifyURL != "" {
		return o.NotifyURL
	}
	return m.NotifyURL
}

// deliveryService is a service on db with the sandbox's adapters and
// testFormat registered as protocol "test".
func deliveryService(db baoguan.Store) *core.Service {
	svc := core.New(&core.Service{Store: db,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           &http.Client{Timeout: time.Hour}})
	svc.Formats.Register("test", testFormat{})
	return svc
}

// hangingReceiver accepts every request and never answers, until the test
// ends: it counts the requests it holds and any that ended without an
// answer (the sender gave up).
type hangingReceiver struct {
	srv          *httptest.Server
	release      chan struct{}
	held, gaveUp atomic.Int64
	mu           sync.Mutex
	maxHeld      int64
}

func newHangingReceiver(t *testing.T) *hangingReceiver {
	h := &hangingReceiver{release: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read to the end, so that the server watches the connection and
		// ends r's context when the sender gives up.
		_, _ = io.Copy(io.Discard, r.Body)
		n := h.held.Add(1)
		h.mu.Lock()
		h.maxHeld = max(h.maxHeld, n)
		h.mu.Unlock()
		defer h.held.Add(-1)
		select {
		case <-h.release:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
			h.gaveUp.Add(1)
		}
	}))
	t.Cleanup(func() { close(h.release); h.srv.Close() })
	return h
}

// TestHangingReceiversDoNotHoldUpOthers is issue 12's "one merchant's
// webhook receiver that accepts and never answers delayed another
// merchant's webhooks": twenty merchants whose receivers accept and never
// answer have ten orders each, pushed first, and a healthy merchant's
// orders come after them. Every notification of the healthy merchant
// arrives while every hanging receiver still holds its requests — none of
// them has ended — and no hanging receiver ever holds more than the few
// deliveries a destination not yet heard from is given. The HTTP client's
// timeout is far longer than the test: a sender that let the hanging
// receivers take every place would make the healthy merchant wait for it.
func TestHangingReceiversDoNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openKind(t, "sqlite", nil)
	svc := deliveryService(db)

	const hanging, perHanging, healthyOrders = 20, 10, 25
	order := func(m *baoguan.Merchant, no string) {
		t.Helper()
		_, _, err := svc.CreateOrder(ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: 100, Subject: "奶粉",
			Protocol: "test", Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	var receivers []*hangingReceiver
	for i := range hanging {
		h := newHangingReceiver(t)
		receivers = append(receivers, h)
		m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: fmt.Sprint("hangs", i), NotifyURL: h.srv.URL + "/hook"})
		if err != nil {
			t.Fatal(err)
		}
		for j := range perHanging {
			order(m, fmt.Sprintf("H%d-%d", i, j))
		}
	}
	var got atomic.Int64
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer healthy.Close()
	good, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "healthy", NotifyURL: healthy.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	for j := range healthyOrders {
		order(good, fmt.Sprint("G", j))
	}

	// 64 places: without a limit per destination, the hanging receivers'
	// 400 notifications, older than the healthy ones, would take them all.
	done := make(chan error, 1)
	go func() {
		done <- svc.Run(ctx, core.RunnerOptions{Poll: 20 * time.Millisecond, Deliveries: 64, DeliveryGrace: 100 * time.Millisecond})
	}()
	want := int64(2 * healthyOrders) // order.paid and declaration.succeeded
	for got.Load() < want {
		select {
		case err := <-done:
			t.Fatalf("runner stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	var held int64
	for i, h := range receivers {
		if n := h.gaveUp.Load(); n != 0 {
			t.Errorf("hanging receiver %d: %d deliveries ended before the healthy merchant got all of its notifications", i, n)
		}
		held += h.held.Load()
		h.mu.Lock()
		if h.maxHeld > 2 {
			t.Errorf("hanging receiver %d held %d deliveries at once; a destination not yet heard from gets 2", i, h.maxHeld)
		}
		h.mu.Unlock()
	}
	if held == 0 {
		t.Errorf("no hanging receiver holds a delivery: the test did not test")
	}
	t.Logf("healthy merchant: %d notifications; hanging receivers hold %d deliveries", got.Load(), held)
	// Stopped, the runner gives what it is sending its grace, then gives
	// up on it: it returns, and every held delivery ends unanswered.
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // the client's timeout is an hour
		t.Fatal("the runner did not stop: it waits for deliveries past their grace")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var still, gaveUp int64
		for _, h := range receivers {
			still += h.held.Load()
			gaveUp += h.gaveUp.Load()
		}
		if still == 0 && gaveUp >= held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the runner stopped, hanging receivers still hold %d deliveries (%d given up)", still, gaveUp)
		}
	}
}

// TestExclusiveDelivererWritesNoLease: a deliverer alone on its database
// (RunnerOptions.Exclusive, a SQLite server) holds its claims in memory.
// While a receiver holds the deliveries, the events are as they were
// written — pending, due, no lease_until in the future: no lease was
// written —, and the deliverer, claiming again every few milliseconds,
// sends neither of them twice. Once answered, each is delivered after one
// attempt.
func TestExclusiveDelivererWritesNoLease(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openKind(t, "sqlite", nil)
	svc := deliveryService(db)
	var requests atomic.Int64
	answer := make(chan struct{})
	var release sync.Once
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		<-answer
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	defer release.Do(func() { close(answer) }) // before Close, which waits for the handlers
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: recv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	// Two orders: an order's notifications go one at a time, so each
	// has one held in flight (its order.paid) while the other waits.
	const orders = 2
	for _, no := range []string{"A1", "A2"} {
		_, _, err = svc.CreateOrder(ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: 100, Subject: "奶粉",
			Protocol: "test", Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		done <- svc.Run(ctx, core.RunnerOptions{Poll: 5 * time.Millisecond, Gather: time.Millisecond, Exclusive: true})
	}()
	const held, want = orders, 2 * orders // in flight at once; order.paid and declaration.succeeded of each
	deadline := time.Now().Add(10 * time.Second)
	for requests.Load() < held {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d of %d notifications", requests.Load(), held)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // some forty claims
	events := func() []baoguan.Event {
		t.Helper()
		var es []baoguan.Event
		if err := db.View(ctx, func(tx baoguan.Tx) error {
			var err error
			es, err = tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(es) != want {
			t.Fatalf("%d events, want %d", len(es), want)
		}
		return es
	}
	now := time.Now()
	for _, e := range events() {
		if e.Status != baoguan.EventPending || e.LeaseUntil.After(now) || e.NextAt.After(now) || e.Attempts != 0 {
			t.Errorf("event %s in flight: status %s, lease until %v, next at %v, %d attempts; want pending, due, not leased in the store",
				e.Type, e.Status, e.LeaseUntil, e.NextAt, e.Attempts)
		}
	}
	if n := requests.Load(); n != held {
		t.Errorf("the receiver got %d requests while holding %d notifications: an event held in memory was sent again", n, held)
	}
	release.Do(func() { close(answer) })
	for deadline = time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		delivered := 0
		for _, e := range events() {
			if e.Status == baoguan.EventDelivered && e.Attempts == 1 {
				delivered++
			}
		}
		if delivered == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered after one attempt", delivered, want)
		}
	}
	if n := requests.Load(); n != want {
		t.Errorf("the receiver got %d requests for %d notifications", n, want)
	}
	cancel()
	<-done
}

// TestOrderEventsOneAtATime: an order's notifications are sent one at a
// time, oldest first, even when they are due together (a payment and the
// declaration it caused, written in one batch) and the receiver has room
// for many at once. A merchant's system that applies callbacks as they
// come then never sees an older state after a newer one.
func TestOrderEventsOneAtATime(t *testing.T) {
	for _, c := range []struct {
		kind      string
		exclusive bool
	}{{"sqlite", true}, {"sqlite", false}, {"postgres", false}} {
		t.Run(fmt.Sprintf("%s exclusive=%v", c.kind, c.exclusive), func(t *testing.T) {
			t.Parallel()
			testOrderEventsOneAtATime(t, c.kind, c.exclusive)
		})
	}
}

func testOrderEventsOneAtATime(t *testing.T, kind string, exclusive bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openKind(t, kind, nil)
	svc := deliveryService(db)
	// The receiver (handoff_test.go) takes its time over each request,
	// noting for each order whether two of its requests were ever held at
	// once and the order they came in.
	recv := newNotifications(t, func(string, string, int) bool { return false })
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: recv.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	const orders = 10
	pushOrders(t, svc, m, 0, orders)
	done := make(chan error, 1)
	go func() {
		done <- svc.Run(ctx, core.RunnerOptions{Poll: 5 * time.Millisecond, Gather: time.Millisecond, Exclusive: exclusive, Deliveries: 64})
	}()
	recv.waitFor(t, 2*orders)
	cancel()
	<-done
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.seen) != orders {
		t.Errorf("notifications for %d orders, want %d", len(recv.seen), orders)
	}
	want := []string{baoguan.EventOrderPaid + " ok", baoguan.EventDeclSucceeded + " ok"}
	for no, got := range recv.seen {
		if recv.overlapped[no] {
			t.Errorf("order %s: two of its notifications were sent at once", no)
		}
		if !slices.Equal(got, want) {
			t.Errorf("order %s: notifications %v, want %v", no, got, want)
		}
	}
}

// TestDeliveryInFlightAtShutdownIsAnswered: a notification being sent
// when the runner stops (a restart) is given time to be answered, and is
// recorded as delivered — not cancelled into a failed attempt that the
// next server would send again.
func TestDeliveryInFlightAtShutdownIsAnswered(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openKind(t, kind, nil)
			svc := deliveryService(db)
			arrived := make(chan struct{}, 16)
			var got atomic.Int64
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				arrived <- struct{}{}
				time.Sleep(300 * time.Millisecond) // still answering when the runner stops
				got.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer recv.Close()
			m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: recv.URL + "/hook"})
			if err != nil {
				t.Fatal(err)
			}
			pushOrders(t, svc, m, 0, 1)
			rctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				done <- svc.Run(rctx, core.RunnerOptions{Poll: 20 * time.Millisecond, Gather: time.Millisecond, Exclusive: kind == "sqlite"})
			}()
			select {
			case <-arrived:
			case <-time.After(30 * time.Second):
				t.Fatal("no notification was sent")
			}
			stop()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the runner did not stop")
			}
			es, err := svc.Events(ctx, m, baoguan.EventFilter{})
			if err != nil {
				t.Fatal(err)
			}
			delivered := int64(0)
			for _, e := range es {
				switch {
				case e.Status == baoguan.EventDelivered && e.Attempts == 1:
					delivered++
				case e.Status == baoguan.EventPending && e.Attempts == 0:
				default:
					t.Errorf("event %d (%s): %s after %d attempts; want delivered after one, or not sent yet", e.ID, e.Type, e.Status, e.Attempts)
				}
			}
			if delivered == 0 || delivered != got.Load() {
				t.Errorf("%d events recorded delivered, the receiver answered %d", delivered, got.Load())
			}
		})
	}
}

// openPostgres is a PostgreSQL store on a fresh database, and that
// database's URL.
func openPostgres(t *testing.T) (baoguan.Store, string) {
	t.Helper()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), postgres.Options{URL: dbURL, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dbURL
}

// merchantEvents lists a merchant's events.
func merchantEvents(t *testing.T, db baoguan.Store, m *baoguan.Merchant) []baoguan.Event {
	t.Helper()
	var es []baoguan.Event
	if err := db.View(context.Background(), func(tx baoguan.Tx) error {
		var err error
		es, err = tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return es
}

// TestSharedDelivererWritesNoLease: on PostgreSQL (a deliverer that shares
// its database with other instances), the events the runner's own
// transactions commit are inserted leased to it and handed off, so that
// an event's delivery writes it once, at its outcome: pg_stat_user_tables
// counts one update of events per attempt recorded (a lease written by
// the claim was a second).
func TestSharedDelivererWritesNoLease(t *testing.T) {
	db, dbURL := openPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := deliveryService(db)
	recv := newNotifications(t, func(order, typ string, attempt int) bool { return false })
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: recv.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- svc.Run(ctx, core.RunnerOptions{Poll: 20 * time.Millisecond, Gather: time.Millisecond})
	}()
	time.Sleep(200 * time.Millisecond) // the deliverer has started: what is committed now is handed off
	const orders = 8
	pushOrders(t, svc, m, 0, orders)
	recv.waitFor(t, 2*orders)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		delivered := 0
		for _, e := range merchantEvents(t, db, m) {
			if e.Status == baoguan.EventDelivered {
				delivered++
			}
		}
		if delivered == 2*orders {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d notifications delivered", delivered, 2*orders)
		}
	}
	cancel()
	<-done
	c, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var attempts, upd int64
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM attempts").Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	// The counts reach the statistics when the backends flush them (at
	// most once a second, and within ten when idle).
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err := c.QueryRow(context.Background(), "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'events'").Scan(&upd); err != nil {
			t.Fatal(err)
		}
		if upd >= attempts {
			break
		}
	}
	time.Sleep(1500 * time.Millisecond) // any later flush
	if err := c.QueryRow(context.Background(), "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'events'").Scan(&upd); err != nil {
		t.Fatal(err)
	}
	if attempts != 2*orders || upd != attempts {
		t.Errorf("%d attempts recorded for %d notifications, %d updates of events: want one attempt and one update each", attempts, 2*orders, upd)
	}
}

// TestSharedDelivererLeavesUnsentDue: the events handed off to a
// PostgreSQL deliverer (leased to it) that it has not sent when it stops
// have their leases ended: they are due at once for the next instance,
// not held for the rest of a lease no one will use.
func TestSharedDelivererLeavesUnsentDue(t *testing.T) {
	db, _ := openPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := deliveryService(db)
	recv := newHangingReceiver(t)
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: recv.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- svc.Run(ctx, core.RunnerOptions{Poll: 20 * time.Millisecond, Gather: time.Millisecond, Deliveries: 1,
			DeliveryGrace: 10 * time.Millisecond})
	}()
	time.Sleep(200 * time.Millisecond)
	const orders = 3
	pushOrders(t, svc, m, 0, orders)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := 0
		for range merchantEvents(t, db, m) {
			n++
		}
		if n == 2*orders && recv.held.Load() == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events, %d deliveries held; want %d and one", n, recv.held.Load(), 2*orders)
		}
	}
	time.Sleep(100 * time.Millisecond) // the others wait in the deliverer
	cancel()
	<-done
	now := time.Now()
	unsent := 0
	for _, e := range merchantEvents(t, db, m) {
		if e.Status != baoguan.EventPending {
			t.Errorf("event %d %s", e.ID, e.Status)
		}
		if e.Attempts > 0 {
			continue // the one in flight, cancelled: due again on its schedule
		}
		unsent++
		if e.LeaseUntil.After(now) {
			t.Errorf("event %d not sent is still leased, until %v", e.ID, e.LeaseUntil)
		}
	}
	if unsent != 2*orders-1 {
		t.Errorf("%d events not sent, want %d", unsent, 2*orders-1)
	}
}

// TestDeliveryAttemptsCounted: baoguan_notification_attempts_total counts
// each attempt once under its protocol and outcome — a receiver that
// acknowledges everything and one that refuses everything, at once.
func TestDeliveryAttemptsCounted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := deliveryService(openKind(t, "sqlite", nil))
	ok := newNotifications(t, func(string, string, int) bool { return false })
	refused := newNotifications(t, func(string, string, int) bool { return true })
	for i, recv := range []*notifications{ok, refused} {
		m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop " + strconv.Itoa(i), NotifyURL: recv.srv.URL + "/hook"})
		if err != nil {
			t.Fatal(err)
		}
		pushOrders(t, svc, m, 10*i, 10*i+5)
	}
	done := make(chan error, 1)
	go func() {
		done <- svc.Run(ctx, core.RunnerOptions{Poll: 5 * time.Millisecond, Gather: time.Millisecond, Deliveries: 8})
	}()
	ok.waitFor(t, 10)
	for refused.count() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	got := map[bool]float64{}
	for _, acked := range []bool{true, false} {
		got[acked] = counter(t, svc.Metrics.Deliveries.WithLabelValues("test", strconv.FormatBool(acked)))
	}
	want := map[bool]float64{true: float64(ok.count()), false: float64(refused.count())}
	if !maps.Equal(got, want) {
		t.Errorf("attempts counted %v, want %v", got, want)
	}
}
