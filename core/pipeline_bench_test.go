package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
)

// BenchmarkOrderPipeline runs the SQLite writer's work for orders like
// the bench's, without HTTP: rounds of 512 orders pushed from 64
// goroutines (CreateOrder), then RunOnce: the runner's batches paying and
// declaring them (two notifications an order, bodies of about a
// kilobyte) and the deliverer sending the notifications, each
// acknowledged at once without a network, and recording the outcomes.
// ns/op is per order; cpu_us/order the CPU of the process an order
// (getrusage); tx_us/order the time the Updates' functions ran, what the
// single writer was held for (its COMMITs aside); commit_us/order the
// time of its COMMITs, which write the pages the groups changed to the
// WAL.
func BenchmarkOrderPipeline(b *testing.B) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	ts := &timedStore{Store: openKind(b, "sqlite", c.Now)}
	svc := core.New(&core.Service{Store: ts, Now: c.Now,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity})
	svc.Formats.Register("benchjson", benchFormat{})
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop"})
	if err != nil {
		b.Fatal(err)
	}
	cpu := storetest.ProcessCPU
	committed := ts.Store.(*sqlite.DB).Stats().CommitTime
	ts.total.Store(0)
	b.ResetTimer()
	start := cpu()
	for done := 0; done < b.N; done += 512 {
		n := min(512, b.N-done)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > int64(n) {
						return
					}
					_, _, err := svc.CreateOrder(ctx, m, benchOrder(fmt.Sprintf("P%d", done+int(i)), "benchjson"))
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if _, err := svc.RunOnce(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu()-start)/1e3/float64(b.N), "cpu_us/order")
	b.ReportMetric(float64(ts.total.Load())/1e3/float64(b.N), "tx_us/order")
	b.ReportMetric(float64(ts.Store.(*sqlite.DB).Stats().CommitTime-committed)/1e3/float64(b.N), "commit_us/order")
}

// benchFormat renders order.paid and declaration.succeeded notices as
// their order in JSON (about a kilobyte, as the native format's), and
// "sends" them acknowledged at once.
type benchFormat struct{ recordFormat }

func (benchFormat) Notifies(t string) bool {
	return t == baoguan.EventOrderPaid || t == baoguan.EventDeclSucceeded
}

func (benchFormat) Deliver(context.Context, *http.Client, *baoguan.Merchant, *baoguan.Event) core.Delivery {
	return core.Delivery{Status: 204, Acked: true}
}

func (benchFormat) Render(n core.Notice) ([]byte, string, bool, error) {
	b, err := json.Marshal(struct {
		Type  string
		Order *baoguan.Order
	}{n.Type, n.Order})
	return b, "application/json", true, err
}

func (benchFormat) URL(*baoguan.Merchant, *baoguan.Order) string { return "http://127.0.0.1:9/hook" }
