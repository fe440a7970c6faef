package postgres_test

import (
	"context"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/postgres"
)

// TestCreateOrderWith: an order inserted with its declarations in one
// statement reads back as inserted one by one would, and a taken number is
// CreateOrder's duplicate with nothing of the second order written.
func TestCreateOrderWith(t *testing.T) {
	db := openTest(t, postgres.Options{})
	ctx := context.Background()
	type withDecls interface {
		OrderWithDeclarationsAtOnce() bool
		CreateOrderWith(o *baoguan.Order, ds []baoguan.Declaration) error
	}
	var m baoguan.Merchant
	var o baoguan.Order
	var ds []baoguan.Declaration
	newOrder := func() (baoguan.Order, []baoguan.Declaration) {
		o := baoguan.Order{MerchantID: m.ID, MerchantOrderNo: "SO-1", Amount: 300, Currency: "CNY", Subject: "s",
			Payer:     baoguan.Payer{Name: "payer", IDType: "IDCARD", IDNumber: "110101199003077777", Phone: "13800000000"},
			PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclarePending, Fingerprint: "fp"}
		ds := []baoguan.Declaration{
			{MerchantID: m.ID, Customs: "SHANGHAI", Port: "SHANGHAI", Route: "r", SubOrderID: "D1", OrderFee: 100,
				Payer: o.Payer, State: baoguan.DeclUndeclared, IdentityCheck: baoguan.CheckUnchecked},
			{MerchantID: m.ID, Customs: "HANGZHOU", Port: "HANGZHOU", SubOrderNo: "S2", SubOrderID: "D2", OrderFee: 200,
				Payer: o.Payer, State: baoguan.DeclUndeclared, IdentityCheck: baoguan.CheckUnchecked, Retrying: true},
		}
		return o, ds
	}
	err := db.Update(ctx, func(tx baoguan.Tx) error {
		m = baoguan.Merchant{No: "acme", Name: "acme"}
		if err := tx.CreateMerchant(&m); err != nil {
			return err
		}
		w, ok := tx.(withDecls)
		if !ok || !w.OrderWithDeclarationsAtOnce() {
			t.Fatal("the PostgreSQL store's Tx does not insert an order with its declarations at once")
		}
		o, ds = newOrder()
		return w.CreateOrderWith(&o, ds)
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID == 0 || o.Version != 1 {
		t.Fatalf("order id %d version %d", o.ID, o.Version)
	}
	err = db.View(ctx, func(tx baoguan.Tx) error {
		got, err := tx.Order(m.ID, o.ID)
		if err != nil {
			return err
		}
		if got.MerchantOrderNo != "SO-1" || got.Payer.IDNumber != o.Payer.IDNumber || got.Fingerprint != "fp" {
			t.Errorf("order read back %+v", got)
		}
		stored, err := tx.Declarations(m.ID, o.ID)
		if err != nil {
			return err
		}
		if len(stored) != 2 {
			t.Fatalf("%d declarations stored, want 2", len(stored))
		}
		for _, d := range ds {
			if d.ID == 0 || d.OrderID != o.ID || d.Version != 1 {
				t.Errorf("declaration %s: id %d order %d version %d", d.Customs, d.ID, d.OrderID, d.Version)
			}
			gd, err := tx.Declaration(m.ID, d.ID)
			if err != nil {
				return err
			}
			if gd.Customs != d.Customs || gd.SubOrderNo != d.SubOrderNo || gd.OrderFee != d.OrderFee ||
				gd.Retrying != d.Retrying || gd.Payer.Phone != d.Payer.Phone || gd.OrderID != o.ID {
				t.Errorf("declaration read back %+v, want %+v", gd, d)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx baoguan.Tx) error {
		again, ads := newOrder()
		return tx.(withDecls).CreateOrderWith(&again, ads)
	})
	if baoguan.ErrorCode(err) != baoguan.ECONFLICT || baoguan.ErrorField(err) != "merchant_order_no" {
		t.Fatalf("a taken number: %v, want ECONFLICT on merchant_order_no", err)
	}
	err = db.View(ctx, func(tx baoguan.Tx) error {
		stored, err := tx.Declarations(m.ID, o.ID)
		if err == nil && len(stored) != 2 {
			t.Errorf("after the repeat, %d declarations, want 2", len(stored))
		}
		list, err := tx.ListOrders(baoguan.OrderFilter{MerchantID: m.ID, Page: baoguan.Page{Limit: 10}})
		if err == nil && len(list) != 1 {
			t.Errorf("after the repeat, %d orders, want 1", len(list))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
