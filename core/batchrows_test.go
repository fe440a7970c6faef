package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// A chunk's orders and declarations are inserted by multi-row statements
// that tell each new row's id without reading the rows back (on SQLite,
// from the last rowid). On both stores: every order of an upload reads
// back with its own declaration (an id given to the wrong order would
// attach one order's declaration to another), and CreateOrders names a
// number the merchant used already, or one given twice in the call.
func TestChunkRowsKeepTheirIDs(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			st := openKind(t, kind, c.Now)
			e := envOn(t, st, c, nil)
			in := batchIn("ROWS", "R", 300, 0)
			for i := range in.Orders {
				in.Orders[i].Order.Amount = int64(100 + i)
				in.Orders[i].Declarations[0].OrderFee = int64(100 + i)
				in.Orders[i].Declarations[0].ProductFee = int64(100 + i)
			}
			if _, created, err := e.svc.CreateBatch(e.ctx, e.m, in); err != nil || !created {
				t.Fatalf("CreateBatch: %v %v", created, err)
			}
			for i := range in.Orders {
				no := in.Orders[i].Order.MerchantOrderNo
				o, err := e.svc.Order(e.ctx, e.m, no)
				if err != nil {
					t.Fatal(err)
				}
				ds, err := e.svc.Declarations(e.ctx, e.m, no)
				if err != nil || len(ds) != 1 {
					t.Fatalf("declarations of %s: %v %v", no, ds, err)
				}
				if o.Amount != int64(100+i) || ds[0].OrderID != o.ID || ds[0].OrderFee != o.Amount {
					t.Fatalf("order %s: amount %d, id %d; its declaration: order %d, fee %d", no, o.Amount, o.ID, ds[0].OrderID, ds[0].OrderFee)
				}
			}

			tmpl, err := e.svc.Order(e.ctx, e.m, "R-000")
			if err != nil {
				t.Fatal(err)
			}
			orders := func(nos ...string) []baoguan.Order {
				os := make([]baoguan.Order, len(nos))
				for i, no := range nos {
					os[i] = *tmpl
					os[i].ID, os[i].MerchantOrderNo, os[i].BatchID = 0, no, 0
				}
				return os
			}
			rollback := errors.New("roll back")
			for _, call := range []struct {
				nos  []string
				want string
			}{
				{[]string{"N-1", "N-2", "R-150", "N-3"}, "R-150"},
				{[]string{"N-1", "N-2", "N-1", "N-3"}, "N-1"},
			} {
				err := st.Update(context.Background(), func(tx baoguan.Tx) error {
					if err := tx.CreateOrders(orders(call.nos...)); err != nil {
						return err
					}
					return rollback
				})
				if baoguan.ErrorCode(err) != baoguan.ECONFLICT || baoguan.ErrorField(err) != "merchant_order_no" || !strings.Contains(err.Error(), call.want) {
					t.Errorf("CreateOrders(%v): %v, want ECONFLICT naming %s", call.nos, err, call.want)
				}
			}
			nos := make([]string, 200)
			for i := range nos {
				nos[i] = fmt.Sprintf("M-%03d", i)
			}
			os := orders(nos...)
			if err := st.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateOrders(os) }); err != nil {
				t.Fatal(err)
			}
			for i := range os {
				o, err := e.svc.Order(e.ctx, e.m, nos[i])
				if err != nil || o.ID != os[i].ID {
					t.Fatalf("order %s: %v, id %d, CreateOrders said %d", nos[i], err, o.ID, os[i].ID)
				}
			}
		})
	}
}
