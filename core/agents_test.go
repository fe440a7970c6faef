package core_test

import (
	"testing"
	"time"

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

// An agent finds its merchants' orders and refunds by id or number; a
// number several of its merchants use needs the merchant. Refunds of
// "everything left" take what is still refundable, once.
func TestAgentOrdersAndRefunds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	a, _ := e.svc.CreateAgent(e.ctx, core.AgentInput{No: "AG1"})
	second, _, _ := e.svc.CreateMerchant(e.ctx, core.MerchantInput{No: "M2", Name: "second"})
	for _, no := range []string{e.m.No, second.No} {
		if _, err := e.svc.AttachMerchant(e.ctx, "AG1", no, false); err != nil {
			t.Fatal(err)
		}
	}
	o, _, err := e.svc.PayInWallet(e.ctx, e.m, walletOrder("SAME"), core.WalletPayment{Mode: baoguan.ChannelMicro, Wallet: baoguan.WalletWeChat, AuthCode: "135605691981176449"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.PayInWallet(e.ctx, second, walletOrder("SAME"), core.WalletPayment{Mode: baoguan.ChannelMicro, Wallet: baoguan.WalletWeChat, AuthCode: "135605691981176449"}); err != nil {
		t.Fatal(err)
	}
	m, v, err := e.svc.AgentOrder(e.ctx, a, core.AgentOrderRef{ID: o.ID})
	if err != nil || m.ID != e.m.ID || v.Order.ID != o.ID {
		t.Fatalf("by id: %v", err)
	}
	if _, _, err := e.svc.AgentOrder(e.ctx, a, core.AgentOrderRef{No: "SAME"}); baoguan.ErrorReason(err) != "ambiguous" {
		t.Errorf("a number two merchants use: %v", err)
	}
	if m, _, err := e.svc.AgentOrder(e.ctx, a, core.AgentOrderRef{No: "SAME", MerchantNo: "M2"}); err != nil || m.ID != second.ID {
		t.Errorf("with the merchant: %v", err)
	}
	other, _ := e.svc.CreateAgent(e.ctx, core.AgentInput{No: "AG2"})
	if _, _, err := e.svc.AgentOrder(e.ctx, other, core.AgentOrderRef{ID: o.ID}); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Errorf("another agent: %v", err)
	}
	r1, created, err := e.svc.RefundNow(e.ctx, e.m, core.RefundInput{OrderNo: "SAME", RefundNo: "R1", Amount: 3000})
	if err != nil || !created || r1.Status != baoguan.RefundSucceed || r1.CNYAmount != 3000 {
		t.Fatalf("refund now: %v %+v", err, r1)
	}
	rest, _, err := e.svc.RefundNow(e.ctx, e.m, core.RefundInput{OrderNo: "SAME", RefundNo: "R2", Rest: true})
	if err != nil || rest.Amount != 7000 || rest.Status != baoguan.RefundSucceed {
		t.Fatalf("the rest: %v %+v", err, rest)
	}
	if _, _, err := e.svc.RefundNow(e.ctx, e.m, core.RefundInput{OrderNo: "SAME", RefundNo: "R3", Rest: true}); baoguan.ErrorReason(err) != "nothing_to_refund" {
		t.Errorf("nothing left: %v", err)
	}
	if again, created, err := e.svc.RefundNow(e.ctx, e.m, core.RefundInput{OrderNo: "SAME", RefundNo: "R2", Rest: true}); err != nil || created || again.ID != rest.ID {
		t.Errorf("repeating the rest: %v %v", err, created)
	}
	_, ro, rr, err := e.svc.AgentRefund(e.ctx, a, core.AgentRefundRef{No: "R1", MerchantNo: e.m.No})
	if err != nil || rr.ID != r1.ID || ro.ID != o.ID {
		t.Errorf("AgentRefund: %v", err)
	}
	tx, err := e.svc.Transactions(e.ctx, e.m, e.clock.Now().Add(-time.Hour), e.clock.Now().Add(time.Hour))
	if err != nil || len(tx.Orders) != 1 || len(tx.Refunds) != 2 || tx.Refunds[1].CNY != 7000 {
		t.Errorf("transactions: %v %+v", err, tx)
	}
}
