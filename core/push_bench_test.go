package core_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/sandbox"
)

// BenchmarkCreateOrders pushes orders like the bench's (one declaration, a
// sealed payer) from 64 goroutines through CreateOrder, nothing else
// writing: the push's transaction alone, grouped as the store groups
// them. ns/op is per order; tx_us/order is the time the transactions'
// functions ran (on SQLite, what the pushes held the one writer for,
// commits aside; on PostgreSQL, round trips included); db_us/order, on
// PostgreSQL, the CPU the database's backends used an order (from /proc).
func BenchmarkCreateOrders(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			var store baoguan.Store
			var dbURL string // PostgreSQL: the database whose backends' CPU is read
			if kind == "postgres" {
				dbURL = pgtest.URL(b)
				keys, err := keyring.New(make([]byte, 32))
				if err != nil {
					b.Fatal(err)
				}
				db, err := postgres.Open(ctx, postgres.Options{URL: dbURL, Keys: keys, Now: c.Now})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { db.Close() })
				store = db
			} else {
				store = openKind(b, kind, c.Now)
			}
			ts := &timedStore{Store: store}
			svc := core.New(&core.Service{Store: ts, Now: c.Now,
				Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
				SampleIdentity: sandbox.IsSampleIdentity})
			m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop"})
			if err != nil {
				b.Fatal(err)
			}
			ts.total.Store(0)
			var dbCPU time.Duration
			if dbURL != "" {
				dbCPU = backendCPU(b, dbURL)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range 64 {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						_, _, err := svc.CreateOrder(ctx, m, benchOrder(fmt.Sprintf("BENCH%d", i), "native"))
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
			b.ReportMetric(float64(ts.total.Load())/1e3/float64(b.N), "tx_us/order")
			if dbURL != "" {
				b.ReportMetric(float64((backendCPU(b, dbURL)-dbCPU).Microseconds())/float64(b.N), "db_us/order")
			}
		})
	}
}

// timedStore adds up how long the functions of its Update calls run.
type timedStore struct {
	baoguan.Store
	total atomic.Int64 // ns
}

func (s *timedStore) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	return s.Store.Update(ctx, func(tx baoguan.Tx) error {
		t0 := time.Now()
		err := fn(tx)
		s.total.Add(int64(time.Since(t0)))
		return err
	})
}
