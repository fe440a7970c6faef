package core_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// stuckFormat renders "body N" for the order of id N; its first render
// waits until release is closed, as a renderer goroutine that gets no
// processor would, and started is closed when that first render begins.
type stuckFormat struct {
	started, release chan struct{}
	calls, done      atomic.Int64
}

func (f *stuckFormat) Render(n core.Notice) ([]byte, string, bool, error) {
	if f.calls.Add(1) == 1 {
		close(f.started)
		<-f.release
	}
	f.done.Add(1)
	return fmt.Appendf(nil, "body %d", n.Order.ID), "text/plain", true, nil
}

func (f *stuckFormat) Deliver(context.Context, *http.Client, *baoguan.Merchant, *baoguan.Event) core.Delivery {
	return core.Delivery{}
}
func (f *stuckFormat) Schedule() baoguan.Retry                      { return baoguan.Retry{} }
func (f *stuckFormat) URL(*baoguan.Merchant, *baoguan.Order) string { return "" }

// A batch whose renderer goroutine lags RenderLag notices behind (on a
// loaded server it runs only when the writer waits) renders the next ones
// at once, as it emits them, instead of copying their rows and queueing
// them for the flush, where the writer would render them anyway; every
// event still gets its own body, in order.
func TestBatchRendersAtOnceWhileTheRendererLags(t *testing.T) {
	f := &stuckFormat{started: make(chan struct{}), release: make(chan struct{})}
	tx := core.NewBatchTx(nil)
	n := core.RenderLag + 10
	for i := 1; i <= n; i++ {
		core.RenderLater(tx, f, core.Notice{Type: "order.paid", Order: &baoguan.Order{ID: int64(i)}}, &baoguan.Event{OrderID: int64(i)})
		if i == 1 {
			<-f.started // the goroutine took the first and is stuck in it
		}
	}
	// RenderLag of them wait in the goroutine's queue; the nine after
	// were rendered as they came.
	if got := f.done.Load(); got != 9 {
		t.Errorf("%d notices rendered while the renderer was stuck, want 9", got)
	}
	close(f.release)
	es, err := core.RenderedEvents(tx)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != n {
		t.Fatalf("%d events, want %d", len(es), n)
	}
	for i, e := range es {
		if want := fmt.Sprintf("body %d", i+1); string(e.Body) != want || e.ContentType != "text/plain" {
			t.Errorf("event %d: body %q (%s), want %q", i, e.Body, e.ContentType, want)
		}
	}
}
