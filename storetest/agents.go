package storetest

import (
	"context"
	"testing"

	"github.com/baoguan/baoguan"
)

// testAgents: agents round-trip with sealed settings, their numbers and
// names are unique, and a merchant keeps its agent (or none) through
// creation and updates; a missing agent is refused.
func testAgents(t *testing.T, s baoguan.Store) {
	a := &baoguan.Agent{No: "A100", Name: "Agent One", Settings: map[string]string{"wisecashier.public-key": "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n"}}
	b := &baoguan.Agent{No: "A200", Name: "Agent Two"}
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateAgent(a); err != nil {
			return err
		}
		return tx.CreateAgent(b)
	})
	if a.ID == 0 || a.ID == b.ID || a.CreatedAt.IsZero() {
		t.Fatalf("CreateAgent did not set ID/CreatedAt: %+v", a)
	}
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Agent(a.ID)
		if err != nil {
			return err
		}
		same(t, "Agent", got, a)
		got, err = tx.AgentByNo("A200")
		if err != nil {
			return err
		}
		same(t, "AgentByNo", got, b)
		_, err = tx.AgentByNo("nope")
		notFound(t, "AgentByNo(missing)", err)
		_, err = tx.Agent(a.ID + b.ID + 10)
		notFound(t, "Agent(missing)", err)
		all, err := tx.Agents()
		if err != nil {
			return err
		}
		if len(all) != 2 || all[0].No != "A100" || all[1].No != "A200" {
			t.Errorf("Agents: %+v", all)
		}
		return nil
	})
	for what, dup := range map[string]baoguan.Agent{"agent_no": {No: "A100", Name: "x"}, "name": {No: "A300", Name: "Agent Two"}} {
		err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateAgent(&dup) })
		wantErr(t, "duplicate agent "+what, err, baoguan.ECONFLICT, "duplicate")
		if baoguan.ErrorField(err) != what {
			t.Errorf("duplicate agent %s: field %q", what, baoguan.ErrorField(err))
		}
	}
	a.Name, a.Settings = "Agent 1", map[string]string{"wisecashier.public-key": "rotated"}
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateAgent(a) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.AgentByNo("A100")
		if err != nil {
			return err
		}
		same(t, "updated agent", got, a)
		return nil
	})
	b.Name = "Agent 1"
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateAgent(b) })
	wantErr(t, "UpdateAgent onto a taken name", err, baoguan.ECONFLICT, "duplicate")
	err = s.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.UpdateAgent(&baoguan.Agent{ID: a.ID + b.ID + 10, Name: "ghost"})
	})
	notFound(t, "UpdateAgent(missing)", err)

	// Merchants: with an agent, without, moved, detached; a missing agent
	// is not a reference the store keeps.
	m := newMerchant(t, s, "acme")
	if m.AgentID != 0 {
		t.Fatalf("new merchant has agent %d", m.AgentID)
	}
	withAgent := &baoguan.Merchant{No: "Mw", Name: "with", Status: baoguan.MerchantActive, Mode: baoguan.ModeSandbox, AgentID: a.ID}
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateMerchant(withAgent) })
	m.AgentID = b.ID
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateMerchant(m) })
	view(t, s, func(tx baoguan.Tx) error {
		for _, want := range []*baoguan.Merchant{m, withAgent} {
			got, err := tx.Merchant(want.ID)
			if err != nil {
				return err
			}
			same(t, "merchant "+want.No, got, want)
		}
		return nil
	})
	m.AgentID = 0
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateMerchant(m) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Merchant(m.ID)
		if err != nil {
			return err
		}
		if got.AgentID != 0 {
			t.Errorf("detached merchant has agent %d", got.AgentID)
		}
		return nil
	})
	ghost := &baoguan.Merchant{No: "Mg", Name: "ghost", Status: baoguan.MerchantActive, Mode: baoguan.ModeSandbox, AgentID: a.ID + b.ID + 10}
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateMerchant(ghost) })
	notFound(t, "CreateMerchant with a missing agent", err)
	m.AgentID = a.ID + b.ID + 10
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateMerchant(m) })
	notFound(t, "UpdateMerchant with a missing agent", err)
}
