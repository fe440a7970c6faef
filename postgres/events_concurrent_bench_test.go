package postgres_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
)

// BenchmarkConcurrentEvents creates events of one merchant as a busy
// server does: 64 goroutines, each Update a job batch's notifications (8
// events, one CreateEvents), on 16 writers at once. It reports the CPU of
// the database's backends an event (db-µs/event, from /proc) and the
// multixacts the cluster created an event (multixacts/event: the
// cluster's, so other work on it counts too). With a foreign key from
// events to merchants each insert locked the merchant's row FOR KEY SHARE
// from every writer at once.
func BenchmarkConcurrentEvents(b *testing.B) {
	dbURL := testURL(b)
	db := openTest(b, postgres.Options{URL: dbURL, Writers: 16})
	c := raw(b, dbURL)
	m := &baoguan.Merchant{No: "acme", Name: "acme"}
	ctx := context.Background()
	if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateMerchant(m) }); err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 1200)
	const per, workers = 8, 64
	multixacts := func() int64 {
		var n int64
		if err := c.QueryRow(ctx, "SELECT blks_hit + blks_zeroed FROM pg_stat_slru WHERE name = 'MultiXactOffset'").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	var next atomic.Int64
	cpu0, mx0 := pgtest.BackendCPU(b, c), multixacts()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				n := next.Add(per)
				if n > int64(b.N)+per-1 {
					return
				}
				es := make([]baoguan.Event, per)
				for i := range es {
					es[i] = baoguan.Event{MerchantID: m.ID, OrderID: n + int64(i), Type: baoguan.EventOrderPaid, Protocol: "native",
						URL: "https://acme.example/hook", ContentType: "application/json", Body: body, Status: baoguan.EventPending,
						NextAt: time.Now().Add(time.Hour)}
				}
				if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateEvents(es) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	made := float64(next.Load())
	b.ReportMetric(float64((pgtest.BackendCPU(b, c)-cpu0).Microseconds())/made, "db-µs/event")
	b.ReportMetric(float64(multixacts()-mx0)/made, "multixacts/event")
}
