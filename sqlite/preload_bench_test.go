package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
)

// BenchmarkOrdersWithDeclarations reads orders like the bench's, each
// with its declaration, 64 by id in a write transaction, as a runner's
// batch reads the orders it pays when they were not kept from their
// pushes (core's batchTx.preload; at --intake-share 20 most are not): on
// SQLite inside the single writer. It reports the process's CPU in the
// reading function per order (ns/op is per batch of 64).
func BenchmarkOrdersWithDeclarations(b *testing.B) {
	db, m := openWithMerchant(b, sqlite.Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	const perOp, orders = 64, 4096
	ids := make([]int64, 0, orders)
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	if err := db.Update(ctx, func(tx baoguan.Tx) error {
		for j := range orders {
			o := baoguan.Order{
				MerchantID: m.ID, MerchantOrderNo: fmt.Sprintf("BENCH%d", j), Amount: 4023, Currency: "CNY",
				Subject: "测试商品", Items: []baoguan.Item{{Subject: "测试商品1", Link: "http://example.com/1", ArticleNo: "HH00001"}},
				Payer:     baoguan.Payer{Name: storetest.PayerName, IDType: "IDCARD", IDNumber: storetest.PayerIDNumber, Phone: storetest.PayerPhone},
				OrderedAt: now, NeedDeclare: true, Channel: baoguan.ChannelMock, Sandbox: true, Protocol: "native",
				PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclareNone, PayDueAt: now,
			}
			if err := tx.CreateOrder(&o); err != nil {
				return err
			}
			if err := tx.CreateDeclaration(&baoguan.Declaration{OrderID: o.ID, MerchantID: m.ID, Customs: "HG014",
				Payer: o.Payer, State: baoguan.DeclUndeclared}); err != nil {
				return err
			}
			ids = append(ids, o.ID)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	type reader interface {
		OrdersWithDeclarations(ids []int64) ([]baoguan.Order, []baoguan.Declaration, error)
	}
	var spent time.Duration
	b.ResetTimer()
	for i := range b.N {
		from := i * perOp % orders
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			start := storetest.ProcessCPU()
			os, ds, err := tx.(reader).OrdersWithDeclarations(ids[from : from+perOp])
			spent += storetest.ProcessCPU() - start
			if err == nil && (len(os) != perOp || len(ds) != perOp || len(os[0].Items) != 1) {
				err = fmt.Errorf("read %d orders, %d declarations", len(os), len(ds))
			}
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(spent)/1e3/float64(b.N*perOp), "cpu-µs/order")
}
