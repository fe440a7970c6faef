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

// BenchmarkOrderPaid writes orders' payments as a job batch does when the
// sandbox answers (core's batchTx.flush): each op creates 64 orders like
// the bench's (one transaction, not counted) and then, in another, takes
// them as pushed (AdoptRows) and writes each as paid (UpdateOrders): pay
// and declare status, the payment with its raw exchange (init_request and
// init_response, sealed, as the sandbox's mock channel makes them) and its
// payer (paid_by_id, sealed), the pay queue's due time back to 0 — the
// thirteen columns such an update names. It reports the process's CPU per
// paid order in that second transaction (its COMMIT included).
//
// The payment numbers are 20 digits either growing with the orders, as
// the sandbox's (and real PSPs' transaction ids) do since change 80, or
// scattered as the sandbox's hash-random ones were: each of those went
// into the payment number's index at a page of its own, a page written
// to the WAL per paid order of a batch.
func BenchmarkOrderPaid(b *testing.B) {
	for _, c := range []struct {
		name string
		no   func(i int) string
	}{
		{"ordered", func(i int) string { return fmt.Sprintf("1%013d001%03d", i, i%1000) }},
		{"scattered", func(i int) string { return fmt.Sprintf("%020d", uint64(i)*2654435761%100000000000000000) }},
	} {
		b.Run(c.name, func(b *testing.B) { benchmarkOrderPaid(b, c.no) })
	}
}

func benchmarkOrderPaid(b *testing.B, paymentNo func(int) string) {
	db, m := openWithMerchant(b, sqlite.Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	const perOp = 64
	n := 0
	var spent time.Duration
	for range b.N {
		os := make([]baoguan.Order, perOp)
		now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond)
		for j := range os {
			os[j] = baoguan.Order{
				MerchantID: m.ID, MerchantOrderNo: fmt.Sprintf("BENCH%d", n+j), Amount: 4023, Currency: "CNY",
				Subject: "测试商品", Items: []baoguan.Item{{Subject: "测试商品1", Link: "http://example.com/1", ArticleNo: "HH00001", Quantity: 1, UnitAmount: 4023}},
				Payer:     baoguan.Payer{Name: storetest.PayerName, IDType: "IDCARD", IDNumber: storetest.PayerIDNumber, Phone: storetest.PayerPhone},
				OrderedAt: now, NeedDeclare: true, Channel: baoguan.ChannelMock, Sandbox: true, Protocol: "native",
				PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclareNone, PayDueAt: now,
			}
		}
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			for j := range os {
				if err := tx.CreateOrder(&os[j]); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		created := append([]baoguan.Order(nil), os...)
		for j := range os {
			o := &os[j]
			pn := paymentNo(n + j)
			o.PayStatus, o.DeclareStatus, o.PayDueAt, o.PayAttempts = baoguan.PaySucceed, baoguan.DeclarePending, time.Time{}, 1
			o.Payment = baoguan.Payment{No: pn, PSP: "LYCHEEPAY", PSPName: "快付通", PaidAt: now, VerDept: "3", PayType: "4",
				InitRequest:  fmt.Sprintf(`{"api":"sandbox/mockpay","psp":"LYCHEEPAY","channel":"mock","merchant_order_no":"BENCH%d","amount":4023,"currency":"CNY","subject":"测试商品","payer_name":"张*","payer_id_type":"IDCARD","payer_id":"110***********1232","round":1,"request_time":"%s"}`, n+j, now.Format(time.RFC3339)),
				InitResponse: fmt.Sprintf(`{"result":"SUCCESS","trade_no":"%s","pay_status":"PAY_SUCCEED","paid_at":"%s"}`, pn, now.Format(time.RFC3339)),
				PayerName:    storetest.PayerName, PayerID: storetest.PayerIDNumber}
		}
		n += perOp
		start := storetest.ProcessCPU()
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			if err := tx.(interface {
				AdoptRows([]baoguan.Order, []baoguan.Declaration) error
			}).AdoptRows(created, nil); err != nil {
				return err
			}
			return tx.UpdateOrders(os)
		}); err != nil {
			b.Fatal(err)
		}
		spent += storetest.ProcessCPU() - start
	}
	b.StopTimer()
	if err := db.View(ctx, func(tx baoguan.Tx) error {
		o, err := tx.OrderByNo(m.ID, fmt.Sprintf("BENCH%d", n-1))
		if err != nil {
			return err
		}
		if o.PayStatus != baoguan.PaySucceed || o.Payment.PayerID != storetest.PayerIDNumber || o.Payment.InitResponse == "" {
			return fmt.Errorf("order read back as %s, payer %q, response %q", o.PayStatus, o.Payment.PayerID, o.Payment.InitResponse)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(spent)/1e3/float64(b.N*perOp), "cpu-µs/order")
}
