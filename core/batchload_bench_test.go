package core_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// BenchmarkCreateBatch uploads a batch of 10,000 orders like the bench's
// (one declaration each, payer sealed) to a fresh SQLite store, with
// nothing else writing: the checks and the chunks' transactions, without
// HTTP and JSON; held, and paid with the upload. It reports the longest
// transaction of an upload (max_tx_ms), which is how long pushes beside it
// may wait for the store's writer, and the time its transactions ran
// (write_ms/op). Run with -cpuprofile to see where an
// upload's own time goes.
func BenchmarkCreateBatch(b *testing.B) {
	b.Run("held", func(b *testing.B) { benchmarkCreateBatch(b, false) })
	b.Run("pay", func(b *testing.B) { benchmarkCreateBatch(b, true) })
}

// BenchmarkPayBatch pays a held batch of 10,000 orders (PayBatch): one
// transaction.
func BenchmarkPayBatch(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, 0)
		bt, _, err := e.svc.CreateBatch(e.ctx, e.m, benchBatch(false))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if n, err := e.svc.PayBatch(e.ctx, e.m, bt.ID); err != nil || n != baoguan.MaxBatchOrders {
			b.Fatal(n, err)
		}
	}
}

// benchBatch is a batch like the bench's: 10,000 orders with one
// declaration each and a sealed payer.
func benchBatch(pay bool) core.BatchInput {
	in := core.BatchInput{Protocol: "native", Pay: pay}
	for j := 0; j < baoguan.MaxBatchOrders; j++ {
		in.Orders = append(in.Orders, benchOrder(fmt.Sprintf("BATCH%d", j), ""))
	}
	return in
}

// benchOrder is the bench's order (cmd/baoguan bench pushes the same):
// one item, a payer with an ID and a phone to seal, one declaration.
func benchOrder(no, protocol string) core.OrderInput {
	return core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: 4023, Subject: "测试商品", Protocol: protocol,
		Items: []baoguan.Item{{Subject: "测试商品1", Link: "http://example.com/1", ArticleNo: "HH00001"}},
		Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}}
}

func benchmarkCreateBatch(b *testing.B, pay bool) {
	var longest, write time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, 0)
		in := benchBatch(pay)
		var tm core.BatchTiming
		in.Timing = &tm
		b.StartTimer()
		if _, _, err := e.svc.CreateBatch(e.ctx, e.m, in); err != nil {
			b.Fatal(err)
		}
		longest = max(longest, tm.Longest)
		write += tm.Write
	}
	b.ReportMetric(float64(longest.Microseconds())/1000, "max_tx_ms")
	b.ReportMetric(float64(write.Microseconds())/1000/float64(b.N), "write_ms/op")
}
