package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/postgres"
)

// TestAnalyzeKeepsWhatPlansNeed: ANALYZE of the busy tables gathers
// statistics for the columns queries filter and sort on, and none for
// what orders, declarations and notifications carry (migration 0020): no
// order's subject, items or payer ends up in pg_statistic, and analyzing
// costs what the queried columns need.
func TestAnalyzeKeepsWhatPlansNeed(t *testing.T) {
	dbURL := testURL(t)
	db := openTest(t, postgres.Options{URL: dbURL})
	ctx := context.Background()
	err := db.Update(ctx, func(tx baoguan.Tx) error {
		m := &baoguan.Merchant{No: "m", Name: "m"}
		if err := tx.CreateMerchant(m); err != nil {
			return err
		}
		for i := range 40 {
			o := &baoguan.Order{MerchantID: m.ID, MerchantOrderNo: fmt.Sprintf("SO-%d", i), Amount: 100, Currency: "CNY",
				Subject: "STATS-SUBJECT", Items: []baoguan.Item{{Subject: "STATS-ITEM", Quantity: 1, UnitAmount: 100}},
				Payer: baoguan.Payer{Name: "STATS-PAYER", IDType: "IDCARD", IDNumber: "110101199003077777"}}
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
			if err := tx.CreateDeclaration(&baoguan.Declaration{OrderID: o.ID, MerchantID: m.ID, Customs: "C",
				Payer: o.Payer, State: baoguan.DeclPending}); err != nil {
				return err
			}
			if err := tx.CreateEvent(&baoguan.Event{MerchantID: m.ID, OrderID: o.ID, Type: "order.paid",
				URL: "https://example.com/hook", Body: []byte(`{"subject":"STATS-SUBJECT"}`),
				Status: baoguan.EventPending}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := raw(t, dbURL)
	if _, err := c.Exec(ctx, "ANALYZE orders, declarations, events"); err != nil {
		t.Fatal(err)
	}
	analyzed := map[string]bool{}
	rows, err := c.Query(ctx, `SELECT tablename || '.' || attname FROM pg_stats
WHERE schemaname = current_schema() AND tablename IN ('orders', 'declarations', 'events')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			t.Fatal(err)
		}
		analyzed[col] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"orders.merchant_id", "orders.pay_status", "orders.declare_status", "orders.batch_id",
		"orders.created_at", "declarations.order_id", "events.status", "events.merchant_id", "events.type"} {
		if !analyzed[col] {
			t.Errorf("no statistics for %s, which list filters and claims query", col)
		}
	}
	for _, col := range []string{"orders.subject", "orders.items", "orders.payer_name", "orders.payer_id_number",
		"declarations.payer_name", "declarations.extras", "events.body", "events.url"} {
		if analyzed[col] {
			t.Errorf("statistics kept for %s, which no query filters on", col)
		}
	}
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stats WHERE schemaname = current_schema()
AND array_to_string(most_common_vals, ',') LIKE '%STATS-%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d columns keep an order's content among their most common values", n)
	}
}
