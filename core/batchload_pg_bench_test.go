package core_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/storetest"
)

// BenchmarkCreateBatchPostgres is BenchmarkCreateBatch on PostgreSQL
// (BAOGUAN_TEST_POSTGRES, a server on this machine): a 10,000-order upload
// into a fresh database with nothing else writing, held or paid with it.
// store_ms/op is the upload's store phase (its transactions and their
// commits), pg_cpu_ms/op the CPU time the database's backends used for
// it (read from /proc), go_cpu_ms/op the CPU time this process used (the
// checks, the rows, the pool): CPU times, which a busy machine changes
// less than the times.
//
// The sub-benchmarks name how many chunks run side by side
// (Service.BatchChunksAtOnce): held-1, held-3, pay-1, pay-3.
func BenchmarkCreateBatchPostgres(b *testing.B) {
	for _, pay := range []bool{false, true} {
		for _, atOnce := range []int{1, 3} {
			name := map[bool]string{false: "held", true: "pay"}[pay] + "-" + strconv.Itoa(atOnce)
			b.Run(name, func(b *testing.B) { benchmarkCreateBatchPostgres(b, pay, atOnce) })
		}
	}
}

func benchmarkCreateBatchPostgres(b *testing.B, pay bool, atOnce int) {
	ctx := context.Background()
	var store, write, longest, pgCPU, goCPU time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		keys, err := keyring.New(make([]byte, 32))
		if err != nil {
			b.Fatal(err)
		}
		c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
		url := pgtest.URL(b)
		db, err := postgres.Open(ctx, postgres.Options{URL: url, Keys: keys, Now: c.Now})
		if err != nil {
			b.Fatal(err)
		}
		svc := core.New(&core.Service{Store: db, Now: c.Now,
			Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
			SampleIdentity: sandbox.IsSampleIdentity, BatchChunksAtOnce: atOnce})
		m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop"})
		if err != nil {
			b.Fatal(err)
		}
		in := benchBatch(pay)
		var tm core.BatchTiming
		in.Timing = &tm
		cpu0 := backendCPU(b, url)
		go0 := storetest.ProcessCPU()
		b.StartTimer()
		if _, _, err := svc.CreateBatch(ctx, m, in); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		goCPU += storetest.ProcessCPU() - go0
		pgCPU += backendCPU(b, url) - cpu0
		store += tm.Store
		write += tm.Write
		longest = max(longest, tm.Longest)
		db.Close()
	}
	b.ReportMetric(float64(store.Microseconds())/1000/float64(b.N), "store_ms/op")
	b.ReportMetric(float64(write.Microseconds())/1000/float64(b.N), "write_ms/op")
	b.ReportMetric(float64(longest.Microseconds())/1000, "max_tx_ms")
	b.ReportMetric(float64(pgCPU.Microseconds())/1000/float64(b.N), "pg_cpu_ms/op")
	b.ReportMetric(float64(goCPU.Microseconds())/1000/float64(b.N), "go_cpu_ms/op")
}

// backendCPU is the CPU time the PostgreSQL backends of the database at
// url have used (pgtest.BackendCPU).
func backendCPU(b *testing.B, url string) time.Duration {
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	return pgtest.BackendCPU(b, c)
}
