package postgres_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/sqlstore"
)

// TestGenericPlans: the store runs its statements on their generic plans,
// planned once a connection. A merchant's failed events listed eight times
// on the store's one connection ran on the generic plan each time, where
// PostgreSQL's default (plan_cache_mode auto) plans a statement for its
// arguments at its first five calls, and at every call while that looks
// cheaper. A URL that sets plan_cache_mode keeps the default.
func TestGenericPlans(t *testing.T) {
	ctx := context.Background()
	const list = "FROM events WHERE merchant_id = $1 AND status = $2"
	for _, c := range []struct {
		mode            string // the URL's plan_cache_mode, "" for none
		generic, custom int64
	}{{"", 8, 0}, {"auto", 3, 5}} {
		u, err := url.Parse(testURL(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("pool_max_conns", "1")
		if c.mode != "" {
			q.Set("plan_cache_mode", c.mode)
		}
		u.RawQuery = q.Encode()
		db := openTest(t, postgres.Options{URL: u.String(), Writers: 1})
		var m baoguan.Merchant
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			m = baoguan.Merchant{No: "m", Name: "m"}
			return tx.CreateMerchant(&m)
		}); err != nil {
			t.Fatal(err)
		}
		for range 8 {
			if err := db.View(ctx, func(tx baoguan.Tx) error {
				_, err := tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID, Status: baoguan.EventFailed})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		generic, custom, err := db.PlanCounts(ctx, list)
		if err != nil {
			t.Fatal(err)
		}
		if generic != c.generic || custom != c.custom {
			t.Errorf("plan_cache_mode %q: the list ran on %d generic plans and %d custom ones, want %d and %d",
				c.mode, generic, custom, c.generic, c.custom)
		}
		db.Close()
	}
}

// TestHotPlansUsePartialIndexes: the generic plans of the statements every
// order passes through read the partial indexes made for them, which a
// generic plan can use only when the statement states the index's
// condition itself (status = 'pending', state = 'queued', pay_due_at > 0,
// batch_id <> 0) rather than as a parameter. With the condition a
// parameter, the plan takes another index (or the table) and this fails.
func TestHotPlansUsePartialIndexes(t *testing.T) {
	db := openTest(t, postgres.Options{})
	for _, c := range []struct {
		name string
		uses []string // every one of these indexes
		run  func(tx baoguan.Tx) error
	}{
		{"DueEvents", []string{"events_due"}, func(tx baoguan.Tx) error { _, err := tx.DueEvents(64, nil, nil); return err }},
		{"LeaseEvents", []string{"events_"}, func(tx baoguan.Tx) error { _, err := tx.LeaseEvents([]int64{1, 2}, tx.Now()); return err }},
		{"Claim", []string{"jobs_queued", "jobs_leased"}, func(tx baoguan.Tx) error { _, err := tx.Claim(nil, 64, time.Minute); return err }},
		{"DueOrderPays", []string{"orders_pay_due"}, func(tx baoguan.Tx) error { _, err := tx.DueOrderPays(64); return err }},
		{"QueueOrderPays", []string{"orders_merchant_batch", "jobs_dedupe"}, func(tx baoguan.Tx) error { _, err := tx.QueueOrderPays(7, 3, true); return err }},
		{"EnqueuePayJobs", []string{"orders_merchant_batch"}, func(tx baoguan.Tx) error { _, err := tx.EnqueuePayJobs(7, 3, 5); return err }},
		{"BatchOrderIDs", []string{"orders_merchant_batch"}, func(tx baoguan.Tx) error { _, err := tx.BatchOrderIDs(7, 3, 100); return err }},
		{"ListEvents pending", []string{"events_pending"}, func(tx baoguan.Tx) error {
			_, err := tx.ListEvents(baoguan.EventFilter{Status: baoguan.EventPending})
			return err
		}},
	} {
		var plans []sqlstore.Plan
		err := db.Update(context.Background(), func(tx baoguan.Tx) error {
			var err error
			plans, err = sqlstore.Explain(tx, c.run)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var text []string
		for _, p := range plans {
			text = append(text, p.Lines...)
		}
		all := strings.Join(text, "\n")
		if len(plans) == 0 {
			t.Errorf("%s: no statement planned", c.name)
		}
		for _, ix := range c.uses {
			// "Index Scan using ix", "Index Only Scan using ix", "Bitmap Index Scan on ix".
			if !strings.Contains(all, "using "+ix) && !strings.Contains(all, "Index Scan on "+ix) {
				t.Errorf("%s: the generic plan does not read %s:\n%s", c.name, ix, all)
			}
		}
	}
}

// TestDeleteOrdersPlans: a discarded upload's orders and their
// declarations are deleted (DeleteOrders) by the ids given, on the generic
// plans the store runs, once the tables hold a merchant's history and are
// analyzed: every statement's index condition names the orders' id, or
// the declarations' order_id (declarations_target), not the merchant
// alone with the ids a filter over every row of the merchant. (On empty
// tables PostgreSQL's choice among the indexes follows no statistics; the
// store suite's ListPlans checks only that these statements scan nothing.)
func TestDeleteOrdersPlans(t *testing.T) {
	dbURL := testURL(t)
	db := openTest(t, postgres.Options{URL: dbURL})
	ctx := context.Background()
	m := &baoguan.Merchant{No: "acme", Name: "acme"}
	if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateMerchant(m) }); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for len(ids) < 1500 {
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			more, err := createDeclaredOrders(tx, m.ID, len(ids), 250)
			ids = append(ids, more...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw(t, dbURL).Exec(ctx, "ANALYZE orders, declarations"); err != nil {
		t.Fatal(err)
	}
	var plans []sqlstore.Plan
	if err := db.Update(ctx, func(tx baoguan.Tx) error {
		var err error
		plans, err = sqlstore.Explain(tx, func(tx baoguan.Tx) error { _, err := tx.DeleteOrders(m.ID, ids[700:750]); return err })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(plans) == 0 {
		t.Fatal("DeleteOrders: no statement planned")
	}
	for _, p := range plans {
		by := regexp.MustCompile(`\(id = ANY`)
		if strings.Contains(p.Query, " declarations") {
			by = regexp.MustCompile(`\(order_id = ANY`)
		}
		found := false
		for _, l := range p.Lines {
			if strings.Contains(l, "Index Cond:") && by.MatchString(l) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s\nfinds its rows by another index than %s:\n%s", p.Query, by, strings.Join(p.Lines, "\n"))
		}
	}
}
