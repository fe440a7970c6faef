package storetest

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// testListRefunds: a merchant's refunds by creation time and status, a
// page at a time, never another merchant's.
func testListRefunds(t *testing.T, s baoguan.Store) {
	a, b := newMerchant(t, s, "acme"), newMerchant(t, s, "bolt")
	oa, ob := newOrder(t, s, a, "LR-1"), newOrder(t, s, b, "LR-2")
	var made []*baoguan.Refund
	for i, st := range []baoguan.RefundStatus{baoguan.RefundSucceed, baoguan.RefundFailed, baoguan.RefundSucceed, baoguan.RefundSucceed} {
		r := &baoguan.Refund{MerchantID: a.ID, OrderID: oa.ID, MerchantOrderNo: oa.MerchantOrderNo, MerchantRefundNo: "R" + itoa(i),
			Amount: 100, Status: st, Protocol: "native"}
		update(t, s, func(tx baoguan.Tx) error { return tx.CreateRefund(r) })
		made = append(made, r)
		advance(t, s, time.Minute)
	}
	other := &baoguan.Refund{MerchantID: b.ID, OrderID: ob.ID, MerchantOrderNo: ob.MerchantOrderNo, MerchantRefundNo: "R0", Amount: 1, Status: baoguan.RefundSucceed}
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateRefund(other) })
	view(t, s, func(tx baoguan.Tx) error {
		all, err := tx.ListRefunds(baoguan.RefundFilter{MerchantID: a.ID})
		if err != nil {
			return err
		}
		same(t, "all of a merchant's refunds", ids(all, refundID), ids(made, func(r **baoguan.Refund) int64 { return (*r).ID }))
		ok, err := tx.ListRefunds(baoguan.RefundFilter{MerchantID: a.ID, Status: baoguan.RefundSucceed,
			From: made[1].CreatedAt, To: made[3].CreatedAt.Add(time.Millisecond)})
		if err != nil {
			return err
		}
		if len(ok) != 2 || ok[0].ID != made[2].ID || ok[1].ID != made[3].ID {
			t.Errorf("succeeded refunds from minute 1: %+v", ids(ok, refundID))
		}
		page, err := tx.ListRefunds(baoguan.RefundFilter{MerchantID: a.ID, Page: baoguan.Page{Limit: 2}})
		if err != nil {
			return err
		}
		next, err := tx.ListRefunds(baoguan.RefundFilter{MerchantID: a.ID, Page: baoguan.Page{Cursor: page[1].ID, Limit: 2}})
		if err != nil {
			return err
		}
		if len(page) != 2 || len(next) != 2 || next[0].ID != made[2].ID {
			t.Errorf("pages: %v %v", ids(page, refundID), ids(next, refundID))
		}
		return nil
	})
}

func refundID(r *baoguan.Refund) int64 { return r.ID }

func itoa(i int) string { return string(rune('0' + i)) }

// testRates: the operator's rates, one per currency, replaced and removed,
// exact as written.
func testRates(t *testing.T, s baoguan.Store) {
	update(t, s, func(tx baoguan.Tx) error {
		for _, r := range []baoguan.ExchangeRate{{Currency: "USD", Rate: baoguan.MustRate("6.8575")}, {Currency: "HKD", Rate: baoguan.MustRate("0.860000")}} {
			if err := tx.PutRate(&r); err != nil {
				return err
			}
		}
		return nil
	})
	advance(t, s, time.Minute)
	update(t, s, func(tx baoguan.Tx) error {
		return tx.PutRate(&baoguan.ExchangeRate{Currency: "USD", Rate: baoguan.MustRate("7.1")})
	})
	view(t, s, func(tx baoguan.Tx) error {
		rs, err := tx.Rates()
		if err != nil {
			return err
		}
		if len(rs) != 2 || rs[0].Currency != "HKD" || rs[0].Rate.String() != "0.860000" || rs[1].Rate.String() != "7.1" ||
			!rs[1].UpdatedAt.After(rs[0].UpdatedAt) {
			t.Errorf("rates %+v", rs)
		}
		return nil
	})
	var gone, again bool
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		if gone, err = tx.DeleteRate("USD"); err != nil {
			return err
		}
		again, err = tx.DeleteRate("USD")
		return err
	})
	if !gone || again {
		t.Errorf("DeleteRate: %v then %v", gone, again)
	}
}
