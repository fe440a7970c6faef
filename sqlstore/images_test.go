package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// An update's values take those that equal the row's image from the image
// (boxer): building a paid order's values against its image as pushed
// allocates for the columns the payment changed, not for all 38 — and the
// values compare as they did (the changed columns are the ones that
// changed). The JSON columns are written without encoding/json.
func TestUpdateValuesReuseTheImage(t *testing.T) {
	tx := NewTx(context.Background(), nil, &Dialect{Name: "test"}, nil, time.Now(), true)
	o := &baoguan.Order{ID: 7, MerchantID: 1, Version: 1, Amount: 12345, Currency: "CNY", Subject: "tea set",
		Items:     []baoguan.Item{{Subject: "tea", Quantity: 2, UnitAmount: 6000}, {Subject: "cup <b>", Quantity: 1, UnitAmount: 345}},
		Payer:     baoguan.Payer{Name: "张三", IDType: "1", IDNumber: "110101199003070000", Phone: "13800000000"},
		OrderedAt: time.UnixMilli(1764979200123), NotifyURL: "http://127.0.0.1:9/notify", NeedDeclare: true,
		Channel: "alipay", Protocol: "native", PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclareNone,
		PayDueAt: time.UnixMilli(1764979200999), PayAttempts: 300, Refunded: 1000}
	vals, err := tx.orderArgs(o)
	if err != nil {
		t.Fatal(err)
	}
	tx.remember(orderTable, o.ID, o.Version, vals, nil)
	paid := *o
	paid.PayStatus, paid.Payment.No, paid.Payment.PSP, paid.PayDueAt = baoguan.PaySucceed, "P2026120600001", "sandbox", time.Time{}
	paid.Payment.PaidAt = time.UnixMilli(1764979201000)
	var again []any
	allocs := testing.AllocsPerRun(100, func() { again, _ = tx.orderArgs(&paid) })
	// The slice, the items' text, the two rates' texts, and the changed
	// values' boxes (pay status, payment number, PSP, paid time; pay due
	// is 0 now, which needs none): 7 when this was written, 23 with every
	// value boxed anew.
	if allocs > 10 {
		t.Errorf("an order's values against its image: %v allocations, want at most 10 (every column boxed anew: 23)", allocs)
	}
	mask := tx.changed(orderTable, o.ID, o.Version, again)
	var names []string
	for i, c := range orderTable.cols {
		if mask&(1<<i) != 0 {
			names = append(names, c)
		}
	}
	want := []string{"pay_status", "payment_no", "psp", "paid_at", "pay_due_at"}
	if len(names) != len(want) {
		t.Fatalf("changed columns %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("changed columns %v, want %v", names, want)
		}
	}
	// Without an image (another version) every value is built anew, and
	// equal to what the image holds where nothing changed.
	fresh := orderVals(o, itemsJSON(o.Items), stringMapJSON(o.Extra))
	for i := range fresh {
		if fresh[i] != vals[i] {
			t.Errorf("column %s: %#v against %#v", orderTable.cols[i], fresh[i], vals[i])
		}
	}
}

// TestNewRowsTakeATemplatesBoxes: a new row's values take the boxes of a
// row lately inserted where they agree (table.template), are what they
// would be built anew, and the template keeps nothing sealed.
func TestNewRowsTakeATemplatesBoxes(t *testing.T) {
	tx := NewTx(context.Background(), nil, &Dialect{Name: "test"}, nil, time.Now(), true)
	order := func(no string, amount int64) *baoguan.Order {
		return &baoguan.Order{MerchantID: 1, MerchantOrderNo: no, Amount: amount, Currency: "CNY", Subject: "tea set",
			Items:     []baoguan.Item{{Subject: "tea", Quantity: 2, UnitAmount: 6000}},
			Payer:     baoguan.Payer{Name: "张三", IDType: "IDCARD", IDNumber: "110101199003070000", Phone: "13800000000"},
			OrderedAt: time.UnixMilli(1764979200123), NotifyURL: "http://127.0.0.1:9/notify", NeedDeclare: true,
			Channel: "mock", Sandbox: true, Protocol: "native", PayStatus: baoguan.PayNotPayed,
			DeclareStatus: baoguan.DeclarePending, PayDueAt: time.UnixMilli(1764979200999), PayAttempts: 1}
	}
	first, err := tx.orderArgs(order("A1", 12345))
	if err != nil {
		t.Fatal(err)
	}
	for range templateEvery { // one of them renews the template
		orderTable.inserted(first)
	}
	for i, v := range orderTable.template() {
		if orderTable.sealed[i] && v != nil {
			t.Errorf("the template keeps sealed column %s", orderTable.cols[i])
		}
	}
	next := order("A2", 4023)
	next.PayDueAt = time.UnixMilli(1764979201555)
	var vals []any
	allocs := testing.AllocsPerRun(100, func() { vals, _ = tx.orderArgs(next) })
	// The slice, the items' text, the two rates' texts, and the boxes of
	// what differs (the amount, the pay due time) and of the two sealed
	// values: 9 when this was written, 21 with every value boxed anew.
	if allocs > 12 {
		t.Errorf("a new order's values: %v allocations, want at most 12 (every column boxed anew: 21)", allocs)
	}
	want := orderVals(next, itemsJSON(next.Items), stringMapJSON(next.Extra))
	for i := range want {
		if vals[i] != want[i] {
			t.Errorf("column %s: %#v, built anew %#v", orderTable.cols[i], vals[i], want[i])
		}
	}
}
