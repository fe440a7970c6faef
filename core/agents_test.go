package core_test

import (
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// An agent acts for the merchants attached to it and for no other: a
// merchant of another agent, one without an agent and one that does not
// exist get the same EFORBIDDEN, so an agent cannot probe merchant numbers.
func TestAgentMerchants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	a, err := e.svc.CreateAgent(e.ctx, core.AgentInput{No: "AG1", Name: "Agent One"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.CreateAgent(e.ctx, core.AgentInput{No: "AG2"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "AG2" {
		t.Errorf("an agent without a name is named by its number, got %q", b.Name)
	}
	if _, err := e.svc.CreateAgent(e.ctx, core.AgentInput{No: "AG1", Name: "again"}); baoguan.ErrorCode(err) != baoguan.ECONFLICT {
		t.Errorf("duplicate agent: %v", err)
	}
	if _, err := e.svc.CreateAgent(e.ctx, core.AgentInput{No: "bad no"}); baoguan.ErrorField(err) != "agent_no" {
		t.Errorf("agent number with a space: %v", err)
	}
	other, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{No: "M-OTHER", Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AttachMerchant(e.ctx, "AG1", e.m.No, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AttachMerchant(e.ctx, "AG2", other.No, false); err != nil {
		t.Fatal(err)
	}
	// Moving a merchant between agents must be explicit.
	if _, err := e.svc.AttachMerchant(e.ctx, "AG2", e.m.No, false); baoguan.ErrorReason(err) != "other_agent" {
		t.Errorf("attach to a second agent: %v", err)
	}
	if _, err := e.svc.AttachMerchant(e.ctx, "AG9", e.m.No, false); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Errorf("attach to a missing agent: %v", err)
	}

	m, err := e.svc.AgentMerchant(e.ctx, a, e.m.No)
	if err != nil || m.ID != e.m.ID {
		t.Fatalf("own merchant: %v %+v", err, m)
	}
	plain, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{No: "M-PLAIN", Name: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	for _, no := range []string{other.No, plain.No, "M-NONE"} {
		_, err := e.svc.AgentMerchant(e.ctx, a, no)
		if baoguan.ErrorCode(err) != baoguan.EFORBIDDEN || baoguan.ErrorReason(err) != "not_agents_merchant" || baoguan.ErrorField(err) != "merchant_no" {
			t.Errorf("merchant %s: %v", no, err)
		}
	}
	if _, err := e.svc.AgentMerchant(e.ctx, a, ""); baoguan.ErrorCode(err) != baoguan.EINVALID {
		t.Errorf("no merchant_no: %v", err)
	}
	list, err := e.svc.AgentMerchants(e.ctx, a)
	if err != nil || len(list) != 1 || list[0].No != e.m.No {
		t.Errorf("AgentMerchants: %v %+v", err, list)
	}

	// The move, then detaching: the first agent loses the merchant.
	if _, err := e.svc.AttachMerchant(e.ctx, "AG2", e.m.No, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AgentMerchant(e.ctx, a, e.m.No); baoguan.ErrorCode(err) != baoguan.EFORBIDDEN {
		t.Errorf("after the move: %v", err)
	}
	if _, err := e.svc.DetachMerchant(e.ctx, e.m.No); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AgentMerchant(e.ctx, b, e.m.No); baoguan.ErrorCode(err) != baoguan.EFORBIDDEN {
		t.Errorf("after detaching: %v", err)
	}

	// Settings are the agent's keys, kept sealed by the store.
	if _, err := e.svc.UpdateAgent(e.ctx, "AG1", func(x *baoguan.Agent) error {
		x.Settings["wisecashier.public-key"] = "PEM"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.AgentByNo(e.ctx, "AG1")
	if err != nil || got.Settings["wisecashier.public-key"] != "PEM" {
		t.Errorf("AgentByNo: %v %+v", err, got)
	}
}
