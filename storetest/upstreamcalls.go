package storetest

import (
	"context"
	"testing"

	"github.com/baoguan/baoguan"
)

func testUpstreamCalls(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	other := newMerchant(t, s, "other")
	o := newOrder(t, s, m, "UC-1")
	o2 := newOrder(t, s, other, "UC-2")
	d := sampleDeclaration(o, "SHANGHAI_ZS", "")
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateDeclaration(d) })
	mk := func(mid, oid, did int64, op string, minute int) baoguan.UpstreamCall {
		return baoguan.UpstreamCall{MerchantID: mid, OrderID: oid, DeclarationID: did, At: at(minute), Service: "wechatpay.v3",
			Operation: op, HTTPStatus: 200, LatencyMS: 42, Code: "SUCCESS", Message: "证件号 110***********32", Attempt: 1, Outcome: "ok"}
	}
	calls := []baoguan.UpstreamCall{mk(m.ID, o.ID, d.ID, "declare", 1), mk(m.ID, o.ID, d.ID, "query", 2), mk(m.ID, o.ID, 0, "query", 3),
		mk(other.ID, o2.ID, 0, "declare", 4)}
	update(t, s, func(tx baoguan.Tx) error { return tx.AddUpstreamCalls(calls) })
	if calls[0].ID == 0 || calls[3].ID <= calls[0].ID {
		t.Fatalf("ids not set: %+v", calls)
	}
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.UpstreamCalls(baoguan.UpstreamCallFilter{DeclarationID: d.ID})
		if err != nil {
			return err
		}
		same(t, "calls of the declaration, newest first", got, []baoguan.UpstreamCall{calls[1], calls[0]})
		got, err = tx.UpstreamCalls(baoguan.UpstreamCallFilter{MerchantID: m.ID, OrderID: o.ID, Page: baoguan.Page{Limit: 2}})
		if err != nil {
			return err
		}
		same(t, "a page of the order's calls", got, []baoguan.UpstreamCall{calls[2], calls[1]})
		got, err = tx.UpstreamCalls(baoguan.UpstreamCallFilter{MerchantID: m.ID, Page: baoguan.Page{Cursor: calls[1].ID}})
		if err != nil {
			return err
		}
		same(t, "the next page", got, []baoguan.UpstreamCall{calls[0]})
		got, err = tx.UpstreamCalls(baoguan.UpstreamCallFilter{MerchantID: other.ID})
		if err != nil {
			return err
		}
		same(t, "another merchant's", got, []baoguan.UpstreamCall{calls[3]})
		all, err := tx.UpstreamCalls(baoguan.UpstreamCallFilter{})
		if err != nil || len(all) != 4 {
			t.Errorf("every call: %d %v", len(all), err)
		}
		return nil
	})
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.AddUpstreamCalls([]baoguan.UpstreamCall{mk(m.ID, o.ID, d.ID+100, "declare", 5)})
	})
	notFound(t, "a call of a missing declaration", err)
}
