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

// heldViews holds its first read transaction after it has read, until
// released, and counts them all.
type heldViews struct {
	baoguan.Store
	views         atomic.Int64
	held, release chan struct{}
}

func (h *heldViews) View(ctx context.Context, fn func(baoguan.Tx) error) error {
	n := h.views.Add(1)
	err := h.Store.View(ctx, fn)
	if n == 1 {
		close(h.held)
		<-h.release
	}
	return err
}

// TestAuthAllowedSharesReads: concurrent checks of the same source share a
// read of its bucket, but only a read begun after they arrived. While one
// check's read is under way (it has read the bucket full), another Service
// on the database empties the bucket; the eight checks that arrive then
// wait for that read to end and share the next one, which sees the failure:
// all eight are refused, with one read for the eight, and the first check,
// whose read began before the failure, is allowed.
func TestAuthAllowedSharesReads(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)}
			db := openKind(t, kind, c.Now)
			limits := core.Limits{AuthSource: core.Rate{PerSecond: 0.1, Burst: 1}, AuthSubject: core.Rate{PerSecond: -1}}
			h := &heldViews{Store: db, held: make(chan struct{}), release: make(chan struct{})}
			a := core.New(&core.Service{Store: h, Now: c.Now, Limits: limits})
			b := core.New(&core.Service{Store: db, Now: c.Now, Limits: limits})
			const src = "198.51.100.7:5000"

			first := make(chan error, 1)
			go func() { first <- a.AuthAllowed(ctx, src, "") }()
			<-h.held
			if err := b.AuthFailed(ctx, src, "", &baoguan.Error{Code: baoguan.EUNAUTHORIZED}); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
				t.Fatal(err)
			}
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = a.AuthAllowed(ctx, src, "") })
			}
			for core.AuthReadsWaiting(a) < n {
				time.Sleep(time.Millisecond)
			}
			close(h.release)
			wg.Wait()
			if err := <-first; err != nil {
				t.Errorf("the check whose read began before the failure: %v, want nil", err)
			}
			for i, err := range errs {
				if baoguan.ErrorCode(err) != baoguan.ERATELIMIT {
					t.Errorf("check %d, arrived after the failure: %v, want ERATELIMIT", i+1, err)
				}
			}
			if v := h.views.Load(); v != 2 {
				t.Errorf("%d reads for %d checks arriving while one read ran, want 2 (that one and one shared)", v, n+1)
			}
			// Alone, a check reads at once, and reads again the next time.
			c.Add(time.Minute)
			for range 2 {
				if err := a.AuthAllowed(ctx, src, ""); err != nil {
					t.Fatalf("a minute later: %v", err)
				}
			}
			if v := h.views.Load(); v != 4 {
				t.Errorf("%d reads after two checks one after the other, want 4", v)
			}
		})
	}
}
