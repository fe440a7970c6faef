package core

import (
	"context"
	"strings"
	"unicode"
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
	if utf8.RuneCountInString(in.Name) > 128 || strings.ContainsFunc(in.Name, unicode.IsControl) {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "name", Reason: "bad_name", Message: "name must be at most 128 characters without control characters"}
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
			Message: "merchant " + merchantNo + " is not a merchant of agent " + a.No}
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
