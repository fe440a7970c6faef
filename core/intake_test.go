package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// TestRunnerGivesWayToPushes: while order pushes are coming in (one in
// flight, or one began less than IntakeWindow ago) the runner runs its
// batches small and waits between them (intake first), or with IntakeNone
// runs none until it is IntakeLag behind, and the pipeline still goes on:
// every order is paid, declared and notified meanwhile. It does not wait
// when no push is coming in, nor when the work it finds has been due
// IntakeLag or longer, nor by default.
func TestRunnerGivesWayToPushes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		inFlight bool
		share    float64
		lag      time.Duration
		window   time.Duration
		yields   bool
	}{
		{"no push in flight", false, 0.5, time.Hour, time.Nanosecond, false},
		{"a push in flight", true, 0.5, time.Hour, time.Nanosecond, true},
		{"a push begun less than IntakeWindow ago", false, 0.5, time.Hour, time.Hour, true},
		{"a push in flight, the work older than IntakeLag", true, 0.5, time.Nanosecond, time.Nanosecond, false},
		{"a push in flight, the default share (all)", true, 0, time.Hour, time.Nanosecond, false},
		{"a push in flight, no batch while pushes come in, IntakeLag short", true, core.IntakeNone, 50 * time.Millisecond, time.Nanosecond, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			db := openKind(t, "sqlite", nil)
			svc := deliveryService(db)
			m, notified := countingShop(t, svc)
			const orders = 40
			pushSome(t, svc, m, "I", orders)
			if c.inFlight {
				release := core.HoldPush(svc)
				defer release()
			}
			done := make(chan error, 1)
			o := core.RunnerOptions{Poll: 5 * time.Millisecond, Gather: time.Millisecond, Exclusive: true,
				IntakeBatch: 8, IntakeShare: c.share, IntakeLag: c.lag, IntakeWindow: c.window}
			go func() { done <- svc.Run(ctx, o) }()
			const want = 2 * orders // order.paid and declaration.succeeded of each
			waitNotified(t, notified, want)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			waited := counter(t, svc.Metrics.IntakeYield)
			if yielded := waited > 0; yielded != c.yields {
				t.Errorf("the runner waited %.3f s for pushes; want waits: %v", waited, c.yields)
			}
		})
	}
}

// pushSome creates n orders prefix0… that the runner pays and declares.
func pushSome(t *testing.T, svc *core.Service, m *baoguan.Merchant, prefix string, n int) {
	t.Helper()
	for i := range n {
		_, _, err := svc.CreateOrder(context.Background(), m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: fmt.Sprintf("%s%d", prefix, i), Amount: 100, Subject: "奶粉",
			Protocol: "test", Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunnerRunsNothingWhilePushesComeIn: with IntakeNone, while a push is
// in flight and the runner is less than IntakeLag behind, it runs no batch
// at all — no order is paid, nothing is notified —, and once the pushes
// stop it catches up: every order is paid, declared and notified.
func TestRunnerRunsNothingWhilePushesComeIn(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openKind(t, "sqlite", nil)
	svc := deliveryService(db)
	m, notified := countingShop(t, svc)
	const orders = 20
	pushSome(t, svc, m, "N", orders)
	release := core.HoldPush(svc)
	done := make(chan error, 1)
	o := core.RunnerOptions{Poll: 5 * time.Millisecond, Gather: time.Millisecond, Exclusive: true,
		IntakeShare: core.IntakeNone, IntakeLag: time.Hour, IntakeWindow: time.Nanosecond}
	go func() { done <- svc.Run(ctx, o) }()
	// Ten waits at least: the runner has looked ten times.
	for deadline := time.Now().Add(20 * time.Second); counter(t, svc.Metrics.IntakeYield) < 0.05; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the runner did not wait for the push in flight")
		}
	}
	if n := notified.Load(); n > 0 {
		t.Errorf("%d notifications delivered while a push was in flight: the runner ran a batch", n)
	}
	if v, err := svc.Order(ctx, m, "N0"); err != nil {
		t.Fatal(err)
	} else if v.PayStatus == baoguan.PaySucceed {
		t.Error("an order was paid while a push was in flight")
	}
	release()
	const want = 2 * orders
	waitNotified(t, notified, want)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRunnerStaysBehindUntilCaughtUp: once the runner found work that had
// been due IntakeLag or longer, it runs full batches without waiting, a
// push in flight or not, until it has caught up — not only until its
// work is younger than IntakeLag (a stream of pushes the share cannot
// keep up with swung between the two). Orders pushed an hour ago, then
// younger ones, more than two full batches of them: the runner never
// waits (it waited, before, once the old orders were done).
func TestRunnerStaysBehindUntilCaughtUp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &clock{t: time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC)}
	db := openKind(t, "sqlite", c.Now)
	svc := deliveryService(db)
	svc.Now = c.Now
	m, notified := countingShop(t, svc)
	pushSome(t, svc, m, "S", 16) // due an hour before the runner starts
	c.Add(time.Hour)
	pushSome(t, svc, m, "T", 80) // due now: five full batches
	release := core.HoldPush(svc)
	defer release()
	done := make(chan error, 1)
	o := core.RunnerOptions{Poll: 5 * time.Millisecond, Gather: time.Millisecond, Exclusive: true,
		Batch: 16, IntakeBatch: 8, IntakeShare: 0.5, IntakeLag: 30 * time.Minute}
	go func() { done <- svc.Run(ctx, o) }()
	const want = 2 * 96
	waitNotified(t, notified, want)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if waited := counter(t, svc.Metrics.IntakeYield); waited > 0 {
		t.Errorf("the runner waited %.3f s for pushes before it had caught up", waited)
	}
}

// countingShop is a merchant whose notifications go to a receiver that
// counts them (the count it returns).
func countingShop(t *testing.T, svc *core.Service) (*baoguan.Merchant, *atomic.Int64) {
	t.Helper()
	notified := new(atomic.Int64)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		notified.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	m, _, err := svc.CreateMerchant(context.Background(), core.MerchantInput{Name: "shop", NotifyURL: recv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	return m, notified
}

// waitNotified waits until the receiver has counted want notifications.
func waitNotified(t *testing.T, notified *atomic.Int64, want int64) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); notified.Load() < want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d notifications delivered", notified.Load(), want)
		}
	}
}

// TestBatchersTakeTurns: with several batchers (RunnerOptions.Batchers,
// as a server on PostgreSQL runs them), a backlog larger than a batch and
// orders pushed after it, once the backlog is gone, are all paid and
// declared — the extra batchers help with the backlog, the first one goes
// on alone after it, woken by each push (the runner polls once an hour
// here: a wake-up lost would leave an order undeclared).
func TestBatchersTakeTurns(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			db := openKind(t, kind, nil)
			svc := deliveryService(db)
			m, _ := countingShop(t, svc)
			const backlog = 50
			pushSome(t, svc, m, "B", backlog)
			done := make(chan error, 1)
			o := core.RunnerOptions{Poll: time.Hour, Gather: time.Millisecond, Batchers: 3, Batch: 8, Exclusive: kind == "sqlite"}
			go func() { done <- svc.Run(ctx, o) }()
			declared := func(no string) {
				t.Helper()
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
					v, err := svc.Order(context.Background(), m, no)
					if err != nil {
						t.Fatal(err)
					}
					if v.PayStatus == baoguan.PaySucceed && v.DeclareStatus == baoguan.DeclareDone {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("order %s: pay status %s, declare status %s", no, v.PayStatus, v.DeclareStatus)
					}
				}
			}
			for i := range backlog {
				declared(fmt.Sprintf("B%d", i))
			}
			for i := range 5 {
				prefix := fmt.Sprintf("L%d-", i)
				pushSome(t, svc, m, prefix, 1)
				declared(prefix + "0")
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
