package core_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

// A batch upload queues each chunk while the one before it commits, and
// pushes go on meanwhile, on both stores: every order of the batch is
// stored once, in it, with its payment scheduled, and every push is
// stored too. (On PostgreSQL a chunk queued ahead may run before the one
// before it has committed; it then writes nothing and runs again.)
func TestBatchUploadChunksAheadBothStores(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			db := openKind(t, kind, c.Now)
			svc := core.New(&core.Service{Store: db, Now: c.Now,
				Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
				SampleIdentity: sandbox.IsSampleIdentity, BatchChunk: 50})
			m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			in := batchIn("BATCH-AHEAD", "A", 600, 100)
			in.Pay = true
			var steps []int
			in.Progress = func(n, _ int) { steps = append(steps, n) }
			stop := make(chan struct{})
			var wg sync.WaitGroup
			pushed := 0
			var pushErr error
			wg.Go(func() {
				for ; ; pushed++ {
					select {
					case <-stop:
						return
					default:
					}
					_, _, pushErr = svc.CreateOrder(ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: fmt.Sprintf("P-%d", pushed),
						Amount: 100, Subject: "口红", Channel: baoguan.ChannelMock,
						Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}}})
					if pushErr != nil {
						return
					}
				}
			})
			b, created, err := svc.CreateBatch(ctx, m, in)
			close(stop)
			wg.Wait()
			if pushErr != nil {
				t.Fatalf("a push during the upload: %v", pushErr)
			}
			if err != nil || !created || b.Total != 600 || b.Loading() || b.PayCalls != 1 {
				t.Fatalf("CreateBatch: %+v %v %v", b, created, err)
			}
			if fmt.Sprint(steps[len(steps)-1]) != "600" || len(steps) != 12 {
				t.Errorf("progress %v, want 12 chunks of 50 in order", steps)
			}
			for i := 1; i < len(steps); i++ {
				if steps[i] != steps[i-1]+50 {
					t.Errorf("progress %v, want 12 chunks of 50 in order", steps)
					break
				}
			}
			inBatch := 0
			for f := (baoguan.OrderFilter{BatchID: b.ID, Page: baoguan.Page{Limit: 1000}}); ; {
				os, err := svc.Orders(ctx, m, f)
				if err != nil {
					t.Fatal(err)
				}
				inBatch += len(os)
				if len(os) < f.Limit {
					break
				}
				f.Cursor = os[len(os)-1].ID
			}
			js, err := svc.Jobs(ctx, baoguan.JobFilter{Kind: baoguan.JobPay, Page: baoguan.Page{Limit: 1000}})
			if err != nil {
				t.Fatal(err)
			}
			payJobs := 0
			for _, j := range js {
				if j.State == baoguan.JobQueued {
					payJobs++
				}
			}
			// Pushes are paid as they come (their jobs are queued too).
			if inBatch != 600 || payJobs != 600+pushed {
				t.Errorf("%d orders in the batch, %d queued pay jobs; want 600 and %d", inBatch, payJobs, 600+pushed)
			}
			for i := 0; i < pushed; i++ {
				if _, err := svc.Order(ctx, m, fmt.Sprintf("P-%d", i)); err != nil {
					t.Errorf("push P-%d: %v", i, err)
				}
			}
			t.Logf("%d pushes during the upload", pushed)
		})
	}
}
