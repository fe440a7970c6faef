package core_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// viewCounter counts read transactions.
type viewCounter struct {
	baoguan.Store
	views atomic.Int64
}

func (v *viewCounter) View(ctx context.Context, fn func(baoguan.Tx) error) error {
	v.views.Add(1)
	return v.Store.View(ctx, fn)
}

// TestAuthAllowedExclusiveStore: a Service that holds its store alone
// (a SQLite server) reads a source's bucket once while it is full, not on
// every request, and still refuses the source as soon as its failures
// empty the bucket — including failures another Service left in the
// database before this one started, and failures recorded while requests
// of the same source are being checked.
func TestAuthAllowedExclusiveStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	db := openKind(t, "sqlite", c.Now)
	limits := core.Limits{AuthSource: core.Rate{PerSecond: 0.1, Burst: 3}, AuthSubject: core.Rate{PerSecond: -1}}
	bad := &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "invalid API key"}
	const src, other = "198.51.100.7:5000", "198.51.100.8:5000"

	// An earlier server left src's bucket with one token.
	before := core.New(&core.Service{Store: db, Now: c.Now, Limits: limits})
	for range 2 {
		if err := before.AuthFailed(ctx, src, "", bad); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
			t.Fatalf("failure before the restart: %v", err)
		}
	}

	vc := &viewCounter{Store: db}
	svc := core.New(&core.Service{Store: vc, Now: c.Now, Limits: limits, ExclusiveStore: true})
	allowed := func(source string) error { return svc.AuthAllowed(ctx, source, "") }
	for i := range 5 {
		if err := allowed(src); err != nil {
			t.Fatalf("check %d with one token left: %v", i+1, err)
		}
	}
	if n := vc.views.Load(); n != 5 {
		t.Errorf("%d reads for 5 checks of a bucket that is not full, want 5", n)
	}
	if err := svc.AuthFailed(ctx, src, "", bad); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
		t.Fatalf("third failure: %v", err)
	}
	if err := allowed(src); baoguan.ErrorCode(err) != baoguan.ERATELIMIT || baoguan.RetryAfter(err) != 10 {
		t.Fatalf("after the earlier server's 2 failures and this one's: %v, want ERATELIMIT after 10 s", err)
	}

	// Full again after 30 s: read once, then known.
	c.Add(30 * time.Second)
	vc.views.Store(0)
	for i := range 100 {
		if err := allowed(src); err != nil {
			t.Fatalf("check %d of a full bucket: %v", i+1, err)
		}
		if err := allowed(other); err != nil {
			t.Fatalf("check %d of a source with no bucket: %v", i+1, err)
		}
	}
	if n := vc.views.Load(); n != 2 {
		t.Errorf("%d reads for 200 checks of 2 full buckets, want 2", n)
	}
	// Failures empty it: known full or not, it is refused at once.
	for i := range 3 {
		if err := svc.AuthFailed(ctx, src, "", bad); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
			t.Fatalf("failure %d of 3: %v", i+1, err)
		}
	}
	if err := allowed(src); baoguan.ErrorCode(err) != baoguan.ERATELIMIT {
		t.Fatalf("after 3 failures: %v, want ERATELIMIT", err)
	}
	if err := allowed(other); err != nil {
		t.Fatalf("another source: %v", err)
	}

	// Failures recorded while the same source is being checked: once the
	// third has returned, every check is refused.
	c.Add(30 * time.Second)
	for round := range 50 {
		c.Add(30 * time.Second) // full again
		if err := allowed(src); err != nil {
			t.Fatalf("round %d: full bucket: %v", round, err)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						_ = allowed(src)
					}
				}
			})
		}
		for i := range 3 {
			if err := svc.AuthFailed(ctx, src, "", bad); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
				t.Fatalf("round %d: failure %d: %v", round, i+1, err)
			}
		}
		if err := allowed(src); baoguan.ErrorCode(err) != baoguan.ERATELIMIT {
			t.Fatalf("round %d: after 3 failures among concurrent checks: %v, want ERATELIMIT", round, err)
		}
		close(stop)
		wg.Wait()
		if err := allowed(src); baoguan.ErrorCode(err) != baoguan.ERATELIMIT {
			t.Fatalf("round %d: after the concurrent checks ended: %v, want ERATELIMIT", round, err)
		}
	}
}

// TestAuthAllowedSharedStore: without ExclusiveStore (PostgreSQL, or two
// Services on one database), every check reads the buckets, so a failure
// recorded by the other Service is seen by the next check.
func TestAuthAllowedSharedStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	db := openKind(t, "sqlite", c.Now)
	limits := core.Limits{AuthSource: core.Rate{PerSecond: 0.1, Burst: 1}, AuthSubject: core.Rate{PerSecond: -1}}
	vc := &viewCounter{Store: db}
	a := core.New(&core.Service{Store: vc, Now: c.Now, Limits: limits})
	b := core.New(&core.Service{Store: db, Now: c.Now, Limits: limits})
	const src = "198.51.100.7:5000"
	for i := range 10 {
		if err := a.AuthAllowed(ctx, src, ""); err != nil {
			t.Fatalf("check %d: %v", i+1, err)
		}
	}
	if n := vc.views.Load(); n != 10 {
		t.Errorf("%d reads for 10 checks, want 10", n)
	}
	if err := b.AuthFailed(ctx, src, "", &baoguan.Error{Code: baoguan.EUNAUTHORIZED}); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
		t.Fatal(err)
	}
	if err := a.AuthAllowed(ctx, src, ""); baoguan.ErrorCode(err) != baoguan.ERATELIMIT {
		t.Fatalf("after the other Service's failure: %v, want ERATELIMIT", err)
	}
}
