package core_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

// An order number is taken by the order's own insert (the orders table's
// unique index and fingerprint column), first writer wins, on both stores:
// pushes of one number at once, half with one content and half with
// another, create one order; the pushes of the winner's content are
// answered with it, the others are duplicate_order_no.
func TestSameOrderNumberAtOnceBothStores(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			db := openKind(t, kind, c.Now)
			svc := core.New(&core.Service{Store: db, Now: c.Now,
				Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
				SampleIdentity: sandbox.IsSampleIdentity})
			m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			const n = 16
			type answer struct {
				o       *baoguan.Order
				created bool
				err     error
			}
			answers := make([]answer, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					in := core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "SAME-1", Amount: int64(100 + i%2), Subject: "口红",
						Channel: baoguan.ChannelMock, Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
						Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}}
					<-start
					a := &answers[i]
					a.o, a.created, a.err = svc.CreateOrder(ctx, m, in)
				})
			}
			close(start)
			wg.Wait()
			var first *baoguan.Order
			for _, a := range answers {
				if a.created {
					if first != nil {
						t.Fatalf("two pushes of one number created orders %d and %d", first.ID, a.o.ID)
					}
					first = a.o
				}
			}
			if first == nil {
				t.Fatalf("no push created the order: %+v", answers)
			}
			for i, a := range answers {
				switch {
				case a.created:
				case int64(100+i%2) == first.Amount:
					if a.err != nil || a.o.ID != first.ID {
						t.Errorf("push %d, the winner's content: %+v %v; want the order %d", i, a.o, a.err, first.ID)
					}
				case baoguan.ErrorReason(a.err) != "duplicate_order_no" || baoguan.ErrorCode(a.err) != baoguan.ECONFLICT:
					t.Errorf("push %d, other content: %v; want ECONFLICT duplicate_order_no", i, a.err)
				}
			}
			os, err := svc.Orders(ctx, m, baoguan.OrderFilter{})
			if err != nil || len(os) != 1 {
				t.Fatalf("%d orders stored, %v; want 1", len(os), err)
			}
			v, err := svc.OrderDetail(ctx, m, "SAME-1")
			if err != nil || len(v.Declarations) != 1 {
				t.Errorf("the order's declarations: %d, %v; want 1", len(v.Declarations), err)
			}
		})
	}
}
