package storetest

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// testPaymentData: orders and sub-orders found by number across merchants;
// customs' requests stored once per session, updated and listed.
func testPaymentData(t *testing.T, s baoguan.Store) {
	m1, m2 := newMerchant(t, s, "acme"), newMerchant(t, s, "bolt")
	o1, o2 := newOrder(t, s, m1, "SO-1"), newOrder(t, s, m2, "SO-1")
	o3 := newOrder(t, s, m1, "SO-2")
	d := sampleDeclaration(o3, "HG014", "SO-2-1")
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateDeclaration(d) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.FindOrdersByNumber("SO-1")
		if err != nil {
			return err
		}
		same(t, "orders SO-1", got, []baoguan.OrderMatch{{MerchantID: m1.ID, OrderID: o1.ID}, {MerchantID: m2.ID, OrderID: o2.ID}})
		got, _ = tx.FindOrdersByNumber("SO-2-1")
		same(t, "sub-order SO-2-1", got, []baoguan.OrderMatch{{MerchantID: m1.ID, OrderID: o3.ID, DeclarationID: d.ID}})
		if got, _ := tx.FindOrdersByNumber(""); len(got) != 0 {
			t.Errorf("the empty number matches %+v", got)
		}
		if got, _ := tx.FindOrdersByNumber("NOPE"); len(got) != 0 {
			t.Errorf("an unknown number matches %+v", got)
		}
		return nil
	})
	st := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	r1 := &baoguan.PaymentDataRequest{Service: "eport", SessionID: "S1", OrderNo: "SO-2", MerchantID: m1.ID, OrderID: o3.ID,
		ServiceTime: st, State: baoguan.DataQueued}
	r2 := &baoguan.PaymentDataRequest{Service: "eport", SessionID: "S2", OrderNo: "NOPE", ServiceTime: st, State: baoguan.DataUnknownOrder}
	var ok1, ok2, again bool
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		if ok1, err = tx.CreatePaymentDataRequest(r1); err != nil {
			return err
		}
		if ok2, err = tx.CreatePaymentDataRequest(r2); err != nil {
			return err
		}
		again, err = tx.CreatePaymentDataRequest(&baoguan.PaymentDataRequest{Service: "eport", SessionID: "S1", OrderNo: "X", State: baoguan.DataQueued})
		return err
	})
	if !ok1 || !ok2 || again || r1.ID == 0 {
		t.Fatalf("create: %v %v, repeat %v, id %d", ok1, ok2, again, r1.ID)
	}
	update(t, s, func(tx baoguan.Tx) error {
		r1.State, r1.Code, r1.Message, r1.Attempts = baoguan.DataUploaded, "10000", "上传成功", 2
		return tx.UpdatePaymentDataRequest(r1)
	})
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.PaymentDataRequest(r1.ID)
		if err != nil {
			return err
		}
		same(t, "request", got, r1)
		list, err := tx.PaymentDataRequests(baoguan.Page{})
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != r2.ID || list[1].ID != r1.ID || list[0].MerchantID != 0 {
			t.Errorf("list: %+v", list)
		}
		_, err = tx.PaymentDataRequest(r2.ID + 10)
		notFound(t, "PaymentDataRequest(missing)", err)
		return nil
	})
}
