package core

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// Agents: service providers (服务商) acting for several merchants with one
// key. An agent is created by an operator, merchants are attached to it,
// and its keys live in its sealed settings. A request an agent signs may
// name any of its merchants and no other (AgentMerchant).

// AgentInput is what an operator gives to create an agent.
type AgentInput struct {
	No   string // the agent's public number (AgentNo)
	Name string
}

// CreateAgent creates an agent. Errors: EINVALID (agent_no, name),
// ECONFLICT reason duplicate (number or name taken).
func (s *Service) CreateAgent(ctx context.Context, in AgentInput) (*baoguan.Agent, error) {
	in.No, in.Name = strings.TrimSpace(in.No), strings.TrimSpace(in.Name)
	if err := baoguan.CheckOrderNo("agent_no", in.No); err != nil {
		return nil, err
	}
	if in.Name == "" {
		in.Name = in.No
	}
	if utf8.RuneCountInString(in.Name) > 128 {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "name", Reason: "too_long", Message: "name must be at most 128 characters"}
	}
	if err := baoguan.CheckText("name", in.Name); err != nil {
		return nil, err
	}
	a := &baoguan.Agent{No: in.No, Name: in.Name, Settings: map[string]string{}}
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error { return tx.CreateAgent(a) })
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Agents lists every agent (operators).
func (s *Service) Agents(ctx context.Context) ([]baoguan.Agent, error) {
	var out []baoguan.Agent
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.Agents()
		return err
	})
	return out, err
}

// AgentByNo returns the agent with that number, for a front-end
// authenticating its signed request (the agent's keys are in its
// settings). ENOTFOUND.
func (s *Service) AgentByNo(ctx context.Context, no string) (*baoguan.Agent, error) {
	var a *baoguan.Agent
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		a, err = tx.AgentByNo(no)
		return err
	})
	return a, err
}

// UpdateAgent applies change to an agent in one transaction (its name and
// settings, e.g. a registered public key). ENOTFOUND.
func (s *Service) UpdateAgent(ctx context.Context, no string, change func(a *baoguan.Agent) error) (*baoguan.Agent, error) {
	var out *baoguan.Agent
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		a, err := tx.AgentByNo(no)
		if err != nil {
			return err
		}
		if a.Settings == nil {
			a.Settings = map[string]string{}
		}
		if err := change(a); err != nil {
			return err
		}
		out = a
		return tx.UpdateAgent(a)
	})
	return out, err
}

// AttachMerchant makes the agent act for the merchant. A merchant that
// already belongs to another agent is moved only with move set (ECONFLICT
// reason other_agent otherwise), so an operator's typo cannot take a
// merchant away from its agent. Errors: ENOTFOUND (agent or merchant),
// ECONFLICT.
func (s *Service) AttachMerchant(ctx context.Context, agentNo, merchantNo string, move bool) (*baoguan.Merchant, error) {
	var out *baoguan.Merchant
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		a, err := tx.AgentByNo(agentNo)
		if err != nil {
			return err
		}
		m, err := tx.MerchantByNo(merchantNo)
		if err != nil {
			return err
		}
		if m.AgentID != 0 && m.AgentID != a.ID && !move {
			other, err := tx.Agent(m.AgentID)
			if err != nil {
				return err
			}
			return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "merchant", Reason: "other_agent",
				Message: "merchant " + merchantNo + " belongs to agent " + other.No + "; move it explicitly"}
		}
		m.AgentID = a.ID
		out = m
		return tx.UpdateMerchant(m)
	})
	s.auth.forget()
	return out, err
}

// DetachMerchant leaves a merchant without an agent. ENOTFOUND.
func (s *Service) DetachMerchant(ctx context.Context, merchantNo string) (*baoguan.Merchant, error) {
	return s.UpdateMerchant(ctx, merchantNo, func(m *baoguan.Merchant) error {
		m.AgentID = 0
		return nil
	})
}

// AgentMerchant returns the merchant an agent's request names. A merchant
// that is not the agent's — another agent's, one without an agent, or one
// that does not exist — is EFORBIDDEN reason not_agents_merchant: the
// answer is the same for all three, so an agent cannot learn which merchant
// numbers exist. A missing merchant_no is EINVALID naming it.
func (s *Service) AgentMerchant(ctx context.Context, a *baoguan.Agent, merchantNo string) (*baoguan.Merchant, error) {
	if strings.TrimSpace(merchantNo) == "" {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "merchant_no", Reason: "missing", Message: "merchant_no is required"}
	}
	m, err := s.MerchantByNo(ctx, merchantNo)
	if err != nil && baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		return nil, err
	}
	if err != nil || !a.AgentOf(m) {
		return nil, &baoguan.Error{Code: baoguan.EFORBIDDEN, Field: "merchant_no", Reason: "not_agents_merchant",
			Message: "merchant_no " + merchantNo + " is not a merchant of agent " + a.No}
	}
	return m, nil
}

// AgentMerchants lists the merchants an agent acts for, oldest first.
func (s *Service) AgentMerchants(ctx context.Context, a *baoguan.Agent) ([]baoguan.Merchant, error) {
	ms, err := s.Merchants(ctx)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for i := range ms {
		if a.AgentOf(&ms[i]) {
			out = append(out, ms[i])
		}
	}
	return out, nil
}

// AgentOrderRef names an order of one of an agent's merchants: by baoguan
// id (ID), or by merchant order number (No). MerchantNo, when given, says
// whose; otherwise every merchant of the agent is searched.
type AgentOrderRef struct {
	ID         int64
	No         string
	MerchantNo string
}

// agentScope returns the merchants a lookup of the agent searches.
func (s *Service) agentScope(ctx context.Context, a *baoguan.Agent, merchantNo string) ([]baoguan.Merchant, error) {
	if merchantNo != "" {
		m, err := s.AgentMerchant(ctx, a, merchantNo)
		if err != nil {
			return nil, err
		}
		return []baoguan.Merchant{*m}, nil
	}
	return s.AgentMerchants(ctx, a)
}

// AgentOrder finds an order of the agent's merchants with its declarations
// and refunds. Errors: EFORBIDDEN (MerchantNo not the agent's); ENOTFOUND;
// EINVALID field merchant_no reason ambiguous when a merchant order number
// is used by several of the agent's merchants and MerchantNo is empty.
func (s *Service) AgentOrder(ctx context.Context, a *baoguan.Agent, ref AgentOrderRef) (*baoguan.Merchant, *OrderView, error) {
	ms, err := s.agentScope(ctx, a, ref.MerchantNo)
	if err != nil {
		return nil, nil, err
	}
	var found []*OrderView
	var owner *baoguan.Merchant
	err = s.view(ctx, func(tx baoguan.Tx) error {
		for i := range ms {
			var o *baoguan.Order
			var err error
			if ref.ID != 0 {
				o, err = tx.Order(ms[i].ID, ref.ID)
			} else {
				o, err = tx.OrderByNo(ms[i].ID, ref.No)
			}
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			v := &OrderView{Order: o}
			if v.Declarations, err = tx.Declarations(o.MerchantID, o.ID); err != nil {
				return err
			}
			if v.Refunds, err = tx.Refunds(o.MerchantID, o.ID); err != nil {
				return err
			}
			found, owner = append(found, v), &ms[i]
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, nil, err
	case len(found) == 0:
		what := ref.No
		if ref.ID != 0 {
			what = "#" + strconv.FormatInt(ref.ID, 10)
		}
		return nil, nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no order " + what + " among agent " + a.No + "'s merchants"}
	case len(found) > 1:
		return nil, nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "merchant_no", Reason: "ambiguous",
			Message: "order number " + ref.No + " is used by several of agent " + a.No + "'s merchants; give merchant_no"}
	}
	return owner, found[0], nil
}

// AgentRefundRef names a refund of one of an agent's merchants: by baoguan
// id (ID), or by merchant refund number (No), as AgentOrderRef.
type AgentRefundRef struct {
	ID         int64
	No         string
	MerchantNo string
}

// AgentRefund finds a refund of the agent's merchants, with its merchant
// and order. Errors as AgentOrder's.
func (s *Service) AgentRefund(ctx context.Context, a *baoguan.Agent, ref AgentRefundRef) (*baoguan.Merchant, *baoguan.Order, *baoguan.Refund, error) {
	ms, err := s.agentScope(ctx, a, ref.MerchantNo)
	if err != nil {
		return nil, nil, nil, err
	}
	type hit struct {
		m *baoguan.Merchant
		o *baoguan.Order
		r *baoguan.Refund
	}
	var found []hit
	err = s.view(ctx, func(tx baoguan.Tx) error {
		for i := range ms {
			var r *baoguan.Refund
			var err error
			if ref.ID != 0 {
				r, err = tx.Refund(ms[i].ID, ref.ID)
			} else {
				r, err = tx.RefundByNo(ms[i].ID, ref.No)
			}
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			o, err := tx.Order(r.MerchantID, r.OrderID)
			if err != nil {
				return err
			}
			found = append(found, hit{&ms[i], o, r})
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, nil, nil, err
	case len(found) == 0:
		return nil, nil, nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no such refund among agent " + a.No + "'s merchants"}
	case len(found) > 1:
		return nil, nil, nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "merchant_no", Reason: "ambiguous",
			Message: "refund number " + ref.No + " is used by several of agent " + a.No + "'s merchants; give merchant_no"}
	}
	return found[0].m, found[0].o, found[0].r, nil
}
