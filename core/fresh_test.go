package core_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// freshInputs are pushes of several shapes: items and extras or none,
// no declaration, two declarations, a payer without a phone.
func freshInputs() []core.OrderInput {
	payer := baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}
	return []core.OrderInput{
		{Order: baoguan.Order{MerchantOrderNo: "F-ITEMS", Amount: 4023, Subject: "测试商品", Channel: baoguan.ChannelMock, Payer: payer,
			Items:     []baoguan.Item{{Subject: "测试商品1", Link: "http://example.com/1", ArticleNo: "HH00001"}},
			Extra:     map[string]string{"k": "v"},
			OrderedAt: time.Date(2026, 11, 23, 9, 59, 1, 234_000_000, time.UTC)},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG016"}}},
		{Order: baoguan.Order{MerchantOrderNo: "F-BARE", Amount: 100, Subject: "s", Channel: baoguan.ChannelMock,
			Payer: baoguan.Payer{Name: "李四", IDNumber: "110105199001011232"}}},
		{Order: baoguan.Order{MerchantOrderNo: "F-TWO", Amount: 300, Subject: "奶粉", Channel: baoguan.ChannelAuto, Payer: payer},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG016"}, {Customs: "HG014", SubOrderNo: "S2"}}},
	}
}

// TestBatchTakesPushedRows: a pushed order whose payment is queued on it
// is kept, with its declarations, exactly as the store reads them back,
// and the batch that pays it takes it from there (nothing kept after),
// pays and declares it without a replay.
func TestBatchTakesPushedRows(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			e := envOn(t, openKind(t, kind, c.Now), c, nil)
			var ids []int64
			for _, in := range freshInputs() {
				v, created, err := e.svc.CreateOrderDetail(e.ctx, e.m, in)
				if err != nil || !created {
					t.Fatalf("push %s: created %v, %v", in.Order.MerchantOrderNo, created, err)
				}
				ids = append(ids, v.Order.ID)
				o, ds, ok := core.FreshOrder(e.svc, v.Order.ID)
				if !ok {
					t.Fatalf("%s: not kept for its batch", in.Order.MerchantOrderNo)
				}
				var so *baoguan.Order
				var sds []baoguan.Declaration
				if err := e.svc.Store.View(e.ctx, func(tx baoguan.Tx) error {
					var err error
					if so, err = tx.Order(e.m.ID, v.Order.ID); err != nil {
						return err
					}
					sds, err = tx.Declarations(e.m.ID, v.Order.ID)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(o, *so) {
					t.Errorf("%s kept as\n%+v\nthe store reads\n%+v", in.Order.MerchantOrderNo, o, *so)
				}
				if len(ds) != len(sds) || len(ds) > 0 && !reflect.DeepEqual(ds, sds) {
					t.Errorf("%s: declarations kept as\n%+v\nthe store reads\n%+v", in.Order.MerchantOrderNo, ds, sds)
				}
				// The rows' images kept with them are what a write
				// transaction that reads the rows holds of them.
				img := core.FreshImages(e.svc, v.Order.ID)
				if img == nil {
					t.Fatalf("%s: kept without the store's images of its rows", in.Order.MerchantOrderNo)
				}
				if err := e.svc.Store.Update(e.ctx, func(tx baoguan.Tx) error {
					o, err := tx.Order(e.m.ID, v.Order.ID)
					if err != nil {
						return err
					}
					ds, err := tx.Declarations(e.m.ID, v.Order.ID)
					if err != nil {
						return err
					}
					read := tx.(interface {
						RowImages(*baoguan.Order, []baoguan.Declaration) any
					}).RowImages(o, ds)
					if !reflect.DeepEqual(img, read) {
						t.Errorf("%s: images kept\n%+v\nimages of the rows read\n%+v", in.Order.MerchantOrderNo, img, read)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			e.run(t)
			if n := core.FreshKept(e.svc); n != 0 {
				t.Errorf("%d orders still kept after their batch", n)
			}
			if r := counter(t, e.svc.Metrics.BatchReplays); r != 0 {
				t.Errorf("%v batches replayed", r)
			}
			for i, in := range freshInputs() {
				v := e.detail(t, in.Order.MerchantOrderNo)
				if v.Order.ID != ids[i] || v.Order.PayStatus != baoguan.PaySucceed || len(v.Declarations) != len(in.Declarations) {
					t.Errorf("%s after the batch: %+v, %d declarations", in.Order.MerchantOrderNo, v.Order, len(v.Declarations))
				}
				for _, d := range v.Declarations {
					if d.State != baoguan.DeclSuccess {
						t.Errorf("%s: declaration %s %s", in.Order.MerchantOrderNo, d.Customs, d.State)
					}
				}
			}
		})
	}
}

// TestBatchPushedRowChanged: an order changed after its push (another
// transaction) is not paid from the row its push kept: the batch's write
// of the kept row fails as stale, the batch is replayed on the row as
// stored, and the order is paid and declared with the change kept, its
// notifications made from the changed order.
func TestBatchPushedRowChanged(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			e := envOn(t, openKind(t, kind, c.Now), c, nil)
			in := freshInputs()[0]
			e.svc.Formats.Register("subject", subjectFormat{})
			in.Order.Protocol = "subject"
			v, _, err := e.svc.CreateOrderDetail(e.ctx, e.m, in)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, ok := core.FreshOrder(e.svc, v.Order.ID); !ok {
				t.Fatal("not kept for its batch")
			}
			if err := e.svc.Store.Update(e.ctx, func(tx baoguan.Tx) error {
				o, err := tx.Order(e.m.ID, v.Order.ID)
				if err != nil {
					return err
				}
				o.Subject = "改过的商品"
				return tx.UpdateOrder(o)
			}); err != nil {
				t.Fatal(err)
			}
			e.run(t)
			if r := counter(t, e.svc.Metrics.BatchReplays); r != 1 {
				t.Errorf("%v batches replayed, want the one that took the kept row", r)
			}
			got := e.detail(t, in.Order.MerchantOrderNo)
			if got.Order.PayStatus != baoguan.PaySucceed || got.Order.Subject != "改过的商品" ||
				len(got.Declarations) != 1 || got.Declarations[0].State != baoguan.DeclSuccess {
				t.Errorf("after the batch: %+v %+v", got.Order, got.Declarations)
			}
			evs, err := e.svc.Events(e.ctx, e.m, baoguan.EventFilter{OrderID: v.Order.ID})
			if err != nil {
				t.Fatal(err)
			}
			paid := 0
			for _, ev := range evs {
				if ev.Type == "order.paid" {
					paid++
					if string(ev.Body) != "order.paid 改过的商品" {
						t.Errorf("order.paid made from the order before its change: %s", ev.Body)
					}
				}
			}
			if paid != 1 {
				t.Errorf("%d order.paid notifications among %d, want 1", paid, len(evs))
			}
		})
	}
}

// subjectFormat renders a notice as its type and the order's subject.
type subjectFormat struct{ recordFormat }

func (subjectFormat) Render(n core.Notice) ([]byte, string, bool, error) {
	return []byte(n.Type + " " + n.Order.Subject), "text/plain", true, nil
}
