package api

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// BenchmarkRender: the two notifications of a bench order, rendered as the
// SQLite writer renders them (in the transaction of the state change).
func BenchmarkRender(b *testing.B) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	o := &baoguan.Order{MerchantOrderNo: "BENCH1", Amount: 4023, Currency: "CNY", Subject: "测试商品",
		Items:     []baoguan.Item{{Subject: "测试商品1", Link: "http://example.com/1", ArticleNo: "HH00001"}},
		Payer:     baoguan.Payer{Name: "张三", IDType: "1", IDNumber: "110105199001011232", Phone: "13800138000"},
		OrderedAt: now, CreatedAt: now, UpdatedAt: now, Channel: baoguan.ChannelMock, Sandbox: true,
		PayStatus: baoguan.PaySucceed, DeclareStatus: baoguan.DeclarePending,
		Payment: baoguan.Payment{No: "P1", PSP: "sandbox", PSPName: "Sandbox", PaidAt: now,
			// The raw exchange as the sandbox's mock channel makes it, which
			// the order's JSON quotes.
			InitRequest:  `{"api":"sandbox/mockpay","psp":"LYCHEEPAY","channel":"mock","merchant_order_no":"BENCH1","amount":4023,"currency":"CNY","subject":"测试商品","payer_name":"张*","payer_id_type":"IDCARD","payer_id":"110***********1232","round":1,"request_time":"2026-12-03T18:00:00+08:00"}`,
			InitResponse: `{"result":"SUCCESS","trade_no":"71583729101928374651","pay_status":"PAY_SUCCEED","paid_at":"2026-12-03T18:00:00+08:00"}`}}
	d := &baoguan.Declaration{ID: 1, Customs: "HG014", Port: "sandbox", Route: "sandbox", State: baoguan.DeclSuccess, Attempts: 1, ModifiedAt: now}
	f := nativeFormat{}
	paid := core.Notice{Type: baoguan.EventOrderPaid, PublicID: "evt_1", At: now, Order: o}
	decl := core.Notice{Type: baoguan.EventDeclSucceeded, PublicID: "evt_2", At: now, Order: o, Declaration: d}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := f.Render(paid); err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := f.Render(decl); err != nil {
			b.Fatal(err)
		}
	}
}
