package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/postgres"
)

// TestBatchWritesByIndex: a job batch's rows written a table at a time
// (UpdateOrders, UpdateDeclarations) find them through the tables'
// primary keys, not by reading every row: with 1,500 orders stored and
// analyzed, writing 64 of them and their declarations scans neither table
// (pg_stat_user_tables' seq_scan), and writes each row once. (Before, the
// planner joined the unnested values to the whole table by a hash join
// over a sequential scan of it, a job batch's cost growing with the
// table.)
func TestBatchWritesByIndex(t *testing.T) {
	dbURL := testURL(t)
	db := openTest(t, postgres.Options{URL: dbURL})
	ctx := context.Background()
	const stored, batch = 1500, 64
	_, ids := declaredHistory(ctx, t, db, stored)
	c := raw(t, dbURL)
	if _, err := c.Exec(ctx, "ANALYZE orders, declarations"); err != nil {
		t.Fatal(err)
	}
	// The counts reach the statistics when the backends flush them (at
	// most once a second, and within ten when idle).
	type counts struct{ seq, idx, ins, upd int64 }
	read := func(table string) counts {
		var n counts
		if err := c.QueryRow(ctx, "SELECT seq_scan, COALESCE(idx_scan, 0), n_tup_ins, n_tup_upd FROM pg_stat_user_tables WHERE relname = $1", table).
			Scan(&n.seq, &n.idx, &n.ins, &n.upd); err != nil {
			t.Fatal(err)
		}
		return n
	}
	settled := func(table string, want func(counts) bool) counts {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			n := read(table)
			if want(n) || time.Now().After(deadline) {
				return n
			}
		}
	}
	loaded := map[string]counts{}
	for _, table := range []string{"orders", "declarations"} {
		loaded[table] = settled(table, func(n counts) bool { return n.ins >= stored })
	}
	// The rows are read first, in a transaction of their own (how the
	// planner reads them is not what this test is about), then written.
	some := ids[stored/2 : stored/2+batch]
	var os []baoguan.Order
	var ds []baoguan.Declaration
	if err := db.View(ctx, func(tx baoguan.Tx) error {
		var err error
		if os, err = tx.OrdersByID(some); err != nil {
			return err
		}
		ds, err = tx.DeclarationsOfOrders(some)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(os) != batch || len(ds) != batch {
		t.Fatalf("read %d orders and %d declarations, want %d each", len(os), len(ds), batch)
	}
	before := map[string]counts{}
	for _, table := range []string{"orders", "declarations"} {
		l := loaded[table]
		before[table] = settled(table, func(n counts) bool { return n.seq+n.idx > l.seq+l.idx })
	}
	for i := range os {
		o := &os[i]
		o.PayStatus, o.DeclareStatus, o.PayDueAt = baoguan.PaySucceed, baoguan.DeclareRunning, time.Time{}
		o.Payment.No, o.Payment.PSP, o.Payment.PaidAt = fmt.Sprintf("PAY-%d", o.ID), "sandbox", time.Now()
	}
	for i := range ds {
		ds[i].State, ds[i].OrderFee = baoguan.DeclSubmitted, 100
	}
	if err := db.Update(ctx, func(tx baoguan.Tx) error {
		if err := tx.UpdateOrders(os); err != nil {
			return err
		}
		return tx.UpdateDeclarations(ds)
	}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"orders", "declarations"} {
		b := before[table]
		n := settled(table, func(n counts) bool { return n.upd >= b.upd+batch })
		if n.upd != b.upd+batch {
			t.Errorf("%s: %d rows updated, want %d", table, n.upd-b.upd, batch)
		}
		if n.seq != b.seq {
			t.Errorf("%s: %d sequential scans writing %d of %d rows, want none", table, n.seq-b.seq, batch, stored)
		}
	}
}

// createDeclaredOrders creates n unpaid orders numbered SO-first… with a
// declaration each, as pushes create them, and returns their ids.
func createDeclaredOrders(tx baoguan.Tx, merchantID int64, first, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	for i := range n {
		o := &baoguan.Order{MerchantID: merchantID, MerchantOrderNo: fmt.Sprintf("SO-%d", first+i), Amount: 100, Currency: "CNY",
			Subject: "subject", Items: []baoguan.Item{{Subject: "item", Quantity: 1, UnitAmount: 100}},
			Payer:     baoguan.Payer{Name: "payer", IDType: "IDCARD", IDNumber: "110101199003077777", Phone: "13800000000"},
			PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclarePending, PayDueAt: tx.Now()}
		if err := tx.CreateOrder(o); err != nil {
			return ids, err
		}
		d := &baoguan.Declaration{OrderID: o.ID, MerchantID: merchantID, Customs: "SHANGHAI", Port: "SHANGHAI",
			Payer: o.Payer, State: baoguan.DeclUndeclared}
		if err := tx.CreateDeclaration(d); err != nil {
			return ids, err
		}
		ids = append(ids, o.ID)
	}
	return ids, nil
}

// declaredHistory stores a merchant "acme" with n declared orders (250 a
// transaction) and returns it with the orders' ids.
func declaredHistory(ctx context.Context, t *testing.T, db baoguan.Store, n int) (*baoguan.Merchant, []int64) {
	t.Helper()
	m := &baoguan.Merchant{No: "acme", Name: "acme"}
	if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateMerchant(m) }); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for len(ids) < n {
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			more, err := createDeclaredOrders(tx, m.ID, len(ids), min(250, n-len(ids)))
			ids = append(ids, more...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return m, ids
}
