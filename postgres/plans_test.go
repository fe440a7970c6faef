package postgres_test

import (
	"context"
	"maps"
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
	m, ids := declaredHistory(ctx, t, db, 1500)
	// Receipts and payment data requests that name the first 500 orders
	// and their declarations (the ones deleted below name nothing).
	c := raw(t, dbURL)
	for _, q := range []string{`INSERT INTO customs_receipts (port, ref, merchant_id, declaration_id, status, info, return_time, raw, source, received_at)
SELECT 'eport', 'G' || d.id, d.merchant_id, d.id, '2', '', 0, '', '', 0 FROM declarations d WHERE d.order_id <= $1`,
		`INSERT INTO payment_data_requests (service, session_id, order_no, merchant_no, merchant_id, order_id, declaration_id,
service_time, state, code, message, attempts, received_at, updated_at)
SELECT 'eport', 'S' || d.id, '', '', d.merchant_id, d.order_id, d.id, 0, 'queued', '', '', 0, 0, 0 FROM declarations d WHERE d.order_id <= $1`} {
		if _, err := c.Exec(ctx, q, ids[499]); err != nil {
			t.Fatal(err)
		}
	}
	// And, as a gateway's history has them, many that name nothing
	// (receipts of no recorded declaration, requests for unknown
	// orders): on tables of a few pages a plan may read the table whole
	// as cheaply as by an index, and the check below would then count
	// the planner's whims rather than a missing index.
	for _, q := range []string{`INSERT INTO customs_receipts (port, ref, status, info, return_time, raw, source, received_at)
SELECT 'eport', 'U' || g, '2', '', 0, '', '', 0 FROM generate_series(1, 20000) g`,
		`INSERT INTO payment_data_requests (service, session_id, order_no, merchant_no, service_time, state, code, message, attempts, received_at, updated_at)
SELECT 'eport', 'U' || g, '', '', 0, 'queued', '', '', 0, 0, 0 FROM generate_series(1, 20000) g`} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Exec(ctx, "ANALYZE orders, declarations, customs_receipts, payment_data_requests"); err != nil {
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
	// The keys' checks (which EXPLAIN does not show): deleting 50 orders
	// and their declarations looks for rows naming each of them in
	// customs_receipts and payment_data_requests by index, not by reading
	// those tables whole 50 or 100 times (pg_stat_user_tables, flushed at
	// most once a second).
	scans := func(table string) (seq, idx int64) {
		if err := c.QueryRow(ctx, "SELECT seq_scan, COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = $1", table).Scan(&seq, &idx); err != nil {
			t.Fatal(err)
		}
		return seq, idx
	}
	children := []string{"customs_receipts", "payment_data_requests"}
	before := map[string][2]int64{}
	read := func() {
		for _, table := range children {
			seq, idx := scans(table)
			before[table] = [2]int64{seq, idx}
		}
	}
	// The setup's own scans (its updates of customs_receipts while it
	// was empty, read whole) may reach the counters only when their
	// backend is next idle, after a second: wait until they hold still,
	// or they count as the delete's.
	read()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		was := maps.Clone(before)
		time.Sleep(1500 * time.Millisecond)
		if read(); maps.Equal(was, before) {
			break
		}
	}
	if err := db.Update(ctx, func(tx baoguan.Tx) error {
		n, err := tx.DeleteOrders(m.ID, ids[700:750])
		if err == nil && n != 50 {
			t.Errorf("deleted %d orders, want 50", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, table := range children {
		seq, idx := scans(table)
		for deadline := time.Now().Add(30 * time.Second); seq+idx-before[table][0]-before[table][1] < 50 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			seq, idx = scans(table)
		}
		if seq != before[table][0] || idx-before[table][1] < 50 {
			t.Errorf("%s: the keys' checks of DeleteOrders read it by %d sequential scans and %d index scans, want 0 and at least 50",
				table, seq-before[table][0], idx-before[table][1])
		}
	}
}
