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

// benchBody renders a notification body like the native format's for
// order i: an order.paid one (about 1.26 KB) or a declaration.succeeded
// one (about 0.54 KB), as `baoguan bench` makes them.
func benchBody(i int, paid bool) []byte {
	ts := time.Date(2026, 12, 5, 1, 28, 5, 0, time.UTC).Add(time.Duration(i) * 317 * time.Microsecond)
	at, pn := ts.Format("2006-01-02T15:04:05.000Z"), fmt.Sprintf("%020d", uint64(i)*2654435761%100000000000000000)
	if paid {
		return fmt.Appendf(nil, `{"id":"evt_%016x","type":"order.paid","timestamp":"%s","data":{"merchant_order_no":"BENCH%d","amount":4023,"currency":"CNY","subject":"测试商品","items":[{"subject":"测试商品1","link":"http://example.com/1","article_no":"HH00001"}],"payer":{"name":"张三","id_type":"IDCARD","id_number":"110***********1232","phone":"138****8000"},"ordered_at":"%s","channel":"mock","sandbox":true,"batch_id":null,"pay_status":"PAY_SUCCEED","declare_status":"PENDING_DECLARE","payment":{"payment_no":"%s","psp":"LYCHEEPAY","psp_name":"快付通","paid_at":"%s","ver_dept":"3","pay_type":"4","init_request":"{\"api\":\"sandbox/mockpay\",\"psp\":\"LYCHEEPAY\",\"channel\":\"mock\",\"merchant_order_no\":\"BENCH%d\",\"amount\":4023,\"currency\":\"CNY\",\"subject\":\"测试商品\",\"payer_name\":\"张*\",\"payer_id_type\":\"IDCARD\",\"payer_id\":\"110***********1232\",\"round\":1,\"request_time\":\"%s\"}","init_response":"{\"result\":\"SUCCESS\",\"trade_no\":\"%s\",\"pay_status\":\"PAY_SUCCEED\",\"paid_at\":\"%s\"}"},"refunded":0,"created_at":"%s","updated_at":"%s"}}`,
			2*i, at, i, at, pn, ts.Format(time.RFC3339Nano), i, ts.Format(time.RFC3339), pn, ts.Format(time.RFC3339), at, at)
	}
	return fmt.Appendf(nil, `{"id":"evt_%016x","type":"declaration.succeeded","timestamp":"%s","data":{"merchant_order_no":"BENCH%d","payment_no":"%s","id":"dcl_%016x","customs":"HANGZHOU","customs_name":"杭州海关","status":"SUCCESS","declared_at":"%s","receipt":{"code":"2","message":"申报成功","received_at":"%s"},"created_at":"%s","updated_at":"%s"}}`,
		2*i+1, at, i, pn, i, at, at, at, at)
}

// BenchmarkEventLifecycle writes notifications as a job batch and the
// deliverer do on a server: each op is one transaction inserting 64
// events (CreateEvents; half order.paid, half declaration.succeeded
// bodies) and one recording the outcomes of the previous op's
// (RecordAttempts), the writer's work for 32 orders' notifications. It
// reports the CPU time of the process per event, and the outcomes'
// transactions' part of it.
func BenchmarkEventLifecycle(b *testing.B) {
	db, m := openWithMerchant(b, sqlite.Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	const perOp = 64
	var prev []baoguan.Event
	n := 0
	cpu := storetest.ProcessCPU
	var recording time.Duration // the outcomes' transactions' share
	b.ResetTimer()
	start := cpu()
	for range b.N {
		es := make([]baoguan.Event, perOp)
		for j := range es {
			i := n + j/2
			es[j] = baoguan.Event{PublicID: fmt.Sprintf("evt_%016x", n*2+j), MerchantID: m.ID, OrderID: int64(i + 1),
				Type: "order.paid", Protocol: "native", URL: "http://127.0.0.1:9/hook", ContentType: "application/json",
				Body: benchBody(i, j%2 == 0), Status: baoguan.EventPending}
			if j%2 == 1 {
				es[j].Type = "declaration.succeeded"
			}
		}
		n += perOp / 2
		if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateEvents(es) }); err != nil {
			b.Fatal(err)
		}
		if prev != nil {
			os := make([]baoguan.Outcome, len(prev))
			now := time.Now()
			for j, e := range prev {
				e.Status, e.Attempts, e.DeliveredAt, e.NextAt = baoguan.EventDelivered, 1, now, time.Time{}
				os[j] = baoguan.Outcome{Event: e, Attempt: baoguan.Attempt{At: now, Status: 200, LatencyMS: 1}}
			}
			from := cpu()
			if err := db.Update(ctx, func(tx baoguan.Tx) error {
				rec, err := tx.RecordAttempts(os)
				for _, r := range rec {
					if !r {
						return fmt.Errorf("not recorded")
					}
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
			recording += cpu() - from
		}
		prev = es
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu()-start)/1e3/float64(b.N*perOp), "cpu-µs/event")
	b.ReportMetric(float64(recording)/1e3/float64(b.N*perOp), "outcome-cpu-µs/event")
}

// BenchmarkPendingEvents reads back, as the SQLite deliverer does the
// events it kept by id alone in a burst (core/delivery.go, sendReady),
// 256 pending notifications by id in one read transaction, out of 20,000
// pending (half order.paid, half declaration.succeeded bodies). It
// reports the time per event read.
func BenchmarkPendingEvents(b *testing.B) {
	db, m := openWithMerchant(b, sqlite.Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	const total, perRead = 20000, 256
	var ids []int64
	for n := 0; n < total; n += perRead {
		es := make([]baoguan.Event, perRead)
		for j := range es {
			i := (n + j) / 2
			es[j] = baoguan.Event{PublicID: fmt.Sprintf("evt_%016x", n+j), MerchantID: m.ID, OrderID: int64(i + 1),
				Type: "order.paid", Protocol: "native", URL: "http://127.0.0.1:9/hook", ContentType: "application/json",
				Body: benchBody(i, j%2 == 0), Status: baoguan.EventPending}
		}
		if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateEvents(es) }); err != nil {
			b.Fatal(err)
		}
		for _, e := range es {
			ids = append(ids, e.ID)
		}
	}
	b.ResetTimer()
	at := 0
	for range b.N {
		if at+perRead > len(ids) {
			at = 0
		}
		var got []baoguan.Event
		if err := db.View(ctx, func(tx baoguan.Tx) error {
			var err error
			got, err = tx.PendingEvents(ids[at : at+perRead])
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if len(got) != perRead {
			b.Fatalf("read back %d events, want %d", len(got), perRead)
		}
		at += perRead
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perRead), "ns/event")
}
