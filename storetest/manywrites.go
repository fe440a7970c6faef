package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/baoguan/baoguan"
)

// testManyWrites: UpdateOrders, UpdateDeclarations and CreateEvents (a job
// batch's writes, sent together) write each row as the one-row methods do:
// versions raised once, every column read back, ids set; a stale or missing
// row, or a taken public id, fails the call as the one-row method would.
func testManyWrites(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o1, o2 := newOrder(t, s, m, "SO-1"), newOrder(t, s, m, "SO-2")
	d1, d2 := sampleDeclaration(o1, "SHANGHAI", ""), sampleDeclaration(o2, "SHANGHAI", "")
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateDeclaration(d1); err != nil {
			return err
		}
		return tx.CreateDeclaration(d2)
	})

	os := []baoguan.Order{*o1, *o2}
	os[0].Subject, os[1].PayStatus = "changed", baoguan.PayApplied
	ds := []baoguan.Declaration{*d1, *d2}
	ds[0].State, ds[1].IdentityCheck = baoguan.DeclSubmitted, baoguan.CheckSame
	es := make([]baoguan.Event, 3)
	for i := range es {
		es[i] = baoguan.Event{PublicID: fmt.Sprintf("evt_many_%d", i), MerchantID: m.ID, OrderID: os[i%2].ID,
			Type: baoguan.EventOrderPaid, Protocol: "native", URL: "https://acme.example/hook",
			ContentType: "application/json", Body: []byte(fmt.Sprintf(`{"n":%d}`, i)), Status: baoguan.EventPending}
	}
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.UpdateOrders(os); err != nil {
			return err
		}
		if err := tx.UpdateDeclarations(ds); err != nil {
			return err
		}
		return tx.CreateEvents(es)
	})
	for i := range os {
		if os[i].Version != 2 {
			t.Errorf("UpdateOrders: order %d at version %d, want 2", i, os[i].Version)
		}
		if ds[i].Version != 2 {
			t.Errorf("UpdateDeclarations: declaration %d at version %d, want 2", i, ds[i].Version)
		}
	}
	for i := range es {
		if es[i].ID == 0 || es[i].CreatedAt.IsZero() || es[i].NextAt.IsZero() {
			t.Errorf("CreateEvents did not set ID/CreatedAt/NextAt: %+v", es[i])
		}
	}
	view(t, s, func(tx baoguan.Tx) error {
		for i := range os {
			got, err := tx.Order(m.ID, os[i].ID)
			if err != nil {
				return err
			}
			same(t, "UpdateOrders", got, &os[i])
			gd, err := tx.Declaration(m.ID, ds[i].ID)
			if err != nil {
				return err
			}
			same(t, "UpdateDeclarations", gd, &ds[i])
		}
		for i := range es {
			got, err := tx.Event(m.ID, es[i].ID)
			if err != nil {
				return err
			}
			same(t, "CreateEvents", got, &es[i])
		}
		return nil
	})

	// A stale row among others fails the call, and nothing of it commits.
	stale := []baoguan.Order{os[0], *o2} // o2 as it was at version 1
	stale[0].Subject, stale[1].Subject = "again", "again"
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateOrders(stale) })
	wantErr(t, "UpdateOrders with a stale order", err, baoguan.ECONFLICT, "stale")
	staleD := []baoguan.Declaration{ds[0], *d2}
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateDeclarations(staleD) })
	wantErr(t, "UpdateDeclarations with a stale declaration", err, baoguan.ECONFLICT, "stale")
	ghost := os[1]
	ghost.ID += 100
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateOrders([]baoguan.Order{os[0], ghost}) })
	notFound(t, "UpdateOrders with a missing order", err)
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Order(m.ID, os[0].ID)
		if err == nil && (got.Subject != "changed" || got.Version != 2) {
			t.Errorf("after failed UpdateOrders: subject %q version %d, want changed/2", got.Subject, got.Version)
		}
		return err
	})

	dup := []baoguan.Event{es[0], es[0]}
	dup[0].PublicID, dup[0].ID, dup[1].ID = "evt_many_new", 0, 0
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateEvents(dup) })
	wantErr(t, "CreateEvents with a taken public id", err, baoguan.ECONFLICT, "duplicate")
	view(t, s, func(tx baoguan.Tx) error {
		list, err := tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID})
		if err == nil && len(list) != len(es) {
			t.Errorf("after failed CreateEvents: %d events, want %d", len(list), len(es))
		}
		return err
	})
}
