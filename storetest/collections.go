package storetest

import (
	"testing"

	"github.com/baoguan/baoguan"
)

// testExpiredCollections: the expiry job's query finds, across merchants,
// the unused codes that close their order and have expired, soonest
// first, and nothing else.
func testExpiredCollections(t *testing.T, s baoguan.Store) {
	a, b := newMerchant(t, s, "acme"), newMerchant(t, s, "bolt")
	oa, ob := newOrder(t, s, a, "EA-1"), newOrder(t, s, b, "EB-1")
	mk := func(token string, o *baoguan.Order, closes bool, expires int) *baoguan.Collection {
		c := &baoguan.Collection{Token: token, MerchantID: o.MerchantID, OrderID: o.ID, OrderNo: o.MerchantOrderNo,
			PSP: "WECHAT", Closes: closes, IssuedAt: at(0), ExpiresAt: at(expires)}
		update(t, s, func(tx baoguan.Tx) error { return tx.CreateCollection(c) })
		return c
	}
	late := mk("a-late", oa, true, 5)
	early := mk("b-early", ob, true, 3)
	mk("a-qr", oa, false, 1)          // a payzero QR code: never closes its order
	mk("a-future", oa, true, 50)      // not expired yet
	used := mk("b-used", ob, true, 2) // paid
	used.UsedAt = at(2)
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateCollection(used) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.ExpiredCollections(at(10), 10)
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0].Token != "b-early" || got[1].Token != "a-late" {
			t.Errorf("expired at minute 10: %+v", got)
		}
		if len(got) == 2 {
			same(t, "expired collection", got[0], *early)
		}
		got, err = tx.ExpiredCollections(at(10), 1)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Token != "b-early" {
			t.Errorf("limit 1: %+v", got)
		}
		got, err = tx.ExpiredCollections(at(4), 10)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Token != "b-early" {
			t.Errorf("expired at minute 4: %+v", got)
		}
		return nil
	})
	late.UsedAt = at(11)
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateCollection(late) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.ExpiredCollections(at(10), 10)
		if err != nil {
			return err
		}
		if len(got) != 1 {
			t.Errorf("after closing one: %+v", got)
		}
		return nil
	})
}
