package storetest

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// testCustomsReceipts: receipts stored once however often they are read,
// linked to the declaration that recorded their ref (also when the ref is
// recorded after the receipt came), found by ref and by declaration, and
// those no declaration recorded listed as unmatched.
func testCustomsReceipts(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	d := sampleDeclaration(o, "HG014", "")
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateDeclaration(d) })
	const g1, g2, g3 = "00CF3622-70CE-8F39-A52C-4E17D436395D", "8ACCDF31-E27A-804D-B6C5-A5440572F5E1", "4CDE1CFD-EDED-46B1-946C-B8022E42FC94"
	rt := time.Date(2026, 11, 23, 7, 37, 5, 17e6, time.UTC)
	rec := func(ref, status string, at time.Time) baoguan.CustomsReceipt {
		return baoguan.CustomsReceipt{Port: "eport", Ref: ref, Status: status, Info: "info " + status, ReturnTime: at,
			Raw: "raw " + status, Source: "CEB412_" + status + ".xml"}
	}
	update(t, s, func(tx baoguan.Tx) error { return tx.AddDeclarationRef("eport", g1, m.ID, d.ID, 1) })
	var added int
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		added, err = tx.AddCustomsReceipts([]baoguan.CustomsReceipt{
			rec(g1, "120", rt.Add(time.Minute)), rec(g1, "2", rt), rec(g2, "2", rt), rec(g3, "-1", time.Time{}),
		})
		return err
	})
	if added != 4 {
		t.Errorf("stored %d receipts, want 4", added)
	}
	// Read again (a file read twice): nothing new.
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		added, err = tx.AddCustomsReceipts([]baoguan.CustomsReceipt{rec(g1, "2", rt), rec(g3, "-1", time.Time{})})
		return err
	})
	if added != 0 {
		t.Errorf("a receipt read twice was stored again (%d)", added)
	}
	view(t, s, func(tx baoguan.Tx) error {
		rs, err := tx.CustomsReceipts("eport", g1)
		if err != nil {
			return err
		}
		if len(rs) != 2 || rs[0].Status != "2" || rs[1].Status != "120" || rs[0].DeclarationID != d.ID || rs[0].MerchantID != m.ID ||
			!rs[1].ReturnTime.Equal(rt.Add(time.Minute)) || rs[1].Raw != "raw 120" || rs[1].Source != "CEB412_120.xml" || rs[1].ReceivedAt.IsZero() {
			t.Errorf("receipts of %s: %+v", g1, rs)
		}
		un, err := tx.UnmatchedReceipts("", baoguan.Page{})
		if err != nil {
			return err
		}
		if len(un) != 2 || un[0].Ref != g3 || un[1].Ref != g2 || un[0].DeclarationID != 0 || !un[0].ReturnTime.IsZero() {
			t.Errorf("unmatched: %+v", un)
		}
		if page, _ := tx.UnmatchedReceipts("eport", baoguan.Page{Cursor: un[0].ID, Limit: 10}); len(page) != 1 || page[0].Ref != g2 {
			t.Errorf("unmatched after the cursor: %+v", page)
		}
		if other, _ := tx.UnmatchedReceipts("wechatpay", baoguan.Page{}); len(other) != 0 {
			t.Errorf("another port's unmatched: %+v", other)
		}
		return nil
	})
	// The second attempt records its ref after its receipt came: the
	// receipt is linked, no longer unmatched, and the declaration lists the
	// receipts of both attempts.
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.AddDeclarationRef("eport", g2, m.ID, d.ID, 2); err != nil {
			return err
		}
		return tx.AddDeclarationRef("eport", g2, m.ID, d.ID, 2) // again: nothing
	})
	view(t, s, func(tx baoguan.Tx) error {
		rs, err := tx.DeclarationReceipts(m.ID, d.ID)
		if err != nil {
			return err
		}
		if len(rs) != 3 || rs[0].Ref != g1 || rs[1].Ref != g2 || rs[2].Status != "120" {
			t.Errorf("declaration receipts: %+v", rs)
		}
		for _, r := range rs {
			if r.DeclarationID != d.ID {
				t.Errorf("receipt %s %s not linked: %+v", r.Ref, r.Status, r)
			}
		}
		if other, _ := tx.DeclarationReceipts(m.ID+1, d.ID); len(other) != 0 {
			t.Errorf("another merchant reads the receipts: %+v", other)
		}
		un, _ := tx.UnmatchedReceipts("", baoguan.Page{})
		if len(un) != 1 || un[0].Ref != g3 {
			t.Errorf("unmatched after linking: %+v", un)
		}
		return nil
	})
	err := s.Update(t.Context(), func(tx baoguan.Tx) error { return tx.AddDeclarationRef("eport", "X", m.ID, d.ID+99, 1) })
	notFound(t, "AddDeclarationRef(no declaration)", err)
}
