package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/postgres/pgtest"
)

// BenchmarkBatchWrites writes what a job batch writes when it has paid
// and declared its orders: 64 orders and their declarations, read in the
// transaction that changes them as a batch reads them (so only the changed
// columns are written) and written by UpdateOrders and
// UpdateDeclarations. It reports the CPU
// of the database's backends an order in those transactions (from /proc);
// creating the orders is not counted.
func BenchmarkBatchWrites(b *testing.B) {
	db, c, m := benchStore(b)
	ctx := context.Background()
	const batch = 64
	var db_ time.Duration
	n := 0
	b.ResetTimer()
	for n < b.N {
		b.StopTimer()
		var ids []int64
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			var err error
			ids, err = createDeclaredOrders(tx, m.ID, n, batch)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		mark := pgtest.BackendCPU(b, c)
		b.StartTimer()
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			os, err := tx.OrdersByID(ids)
			if err != nil {
				return err
			}
			ds, err := tx.DeclarationsOfOrders(ids)
			if err != nil {
				return err
			}
			for i := range os {
				o := &os[i]
				o.PayStatus, o.DeclareStatus, o.PayDueAt = baoguan.PaySucceed, baoguan.DeclareRunning, time.Time{}
				o.Payment.No, o.Payment.PSP, o.Payment.PaidAt = fmt.Sprintf("PAY-%d", o.ID), "sandbox", tx.Now()
			}
			for i := range ds {
				d := &ds[i]
				d.State, d.OrderFee, d.IdentityCheck = baoguan.DeclSubmitted, 100, baoguan.CheckSame
			}
			if err := tx.UpdateOrders(os); err != nil {
				return err
			}
			return tx.UpdateDeclarations(ds)
		}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db_ += pgtest.BackendCPU(b, c) - mark
		b.StartTimer()
		n += batch
	}
	b.StopTimer()
	b.ReportMetric(float64(db_.Microseconds())/float64(n), "db-µs/order")
}
