package wisecashier

import (
	"context"
	"strings"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Queries and refunds: §4.8–§4.11 (WeChat Pay, also §5) and §6.5–§6.8
// (Alipay, also §7). Orders and refunds are named by WiseCashier number or
// by the merchant's number; the agent's merchant is found by the core, and
// merchant_no may be added to say which merchant's number is meant when
// several of the agent's merchants use it.

// findOrder finds the order a query names: by WiseCashier number (noParam)
// or merchant order number (merchantParam). 400 when neither is given, 404
// when no order of the agent's merchants has it.
func (s *Server) findOrder(ctx context.Context, c *call, noParam string, merchantParams ...string) (*baoguan.Merchant, *core.OrderView, error) {
	ref := core.AgentOrderRef{MerchantNo: c.get("merchant_no")}
	no := c.get(noParam)
	for _, p := range merchantParams {
		if ref.No == "" {
			ref.No = c.get(p)
		}
	}
	switch {
	case no != "":
		id, _, ok := parseNo(no)
		if !ok {
			return nil, nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no order " + no}
		}
		ref.ID, ref.No = id, ""
	case ref.No == "":
		return nil, nil, paramError(noParam, noParam+" or "+merchantParams[0]+" is required")
	}
	m, v, err := s.svc.AgentOrder(ctx, c.agent, ref)
	if err != nil {
		return nil, nil, err
	}
	if no != "" && orderNo(v.Order) != no {
		return nil, nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no order " + no}
	}
	return m, v, nil
}

// refundObject is a refund as §4.8, §4.10 and §6.6–§6.7 show it; each
// interface names its members differently and shows a subset.
type refundObject struct {
	No            string `json:"no,omitempty"`
	RefundNo      string `json:"refund_no,omitempty"`
	OrderNo       string `json:"order_no,omitempty"`
	PaymentNo     string `json:"payment_no,omitempty"`
	AgentOrderID  string `json:"agent_order_id,omitempty"`
	OuterRefundNo string `json:"outer_refund_no"`
	RefundAmount  money  `json:"refund_amount"`
	Status        string `json:"status"`
}

// refundState is the document's refund status: SUCCESS, FAIL, or
// PROCESSING while the wallet has not answered.
func refundState(r *baoguan.Refund) string {
	switch r.Status {
	case baoguan.RefundSucceed:
		return "SUCCESS"
	case baoguan.RefundFailed:
		return "FAIL"
	}
	return "PROCESSING"
}

// refundOf shows a refund in one interface's shape.
func refundOf(a amounts, o *baoguan.Order, r *baoguan.Refund, shape string) refundObject {
	x := refundObject{OuterRefundNo: r.MerchantRefundNo, RefundAmount: a.of(r.Amount), Status: refundState(r)}
	switch shape {
	case "wx": // §4.8, §4.10
		x.No, x.OrderNo = refundNo(r), orderNo(o)
	case "ali": // §6.6
		x.RefundNo, x.PaymentNo = refundNo(r), orderNo(o)
	case "ali-query": // §6.7
		x.No, x.RefundNo, x.OrderNo, x.AgentOrderID = refundNo(r), refundNo(r), orderNo(o), agentOrderID(o)
	}
	return x
}

// handleOrder is §4.9 GET /order (and §6.5 GET /alipay/order). Version
// 1.0 shows amounts as strings; 2.0 as numbers, with the order's refunds.
func (s *Server) handleOrder(alipay bool) handler {
	return func(ctx context.Context, c *call) (any, error) {
		noParam, byMerchant := "order_no", []string{"agent_order_id"}
		if alipay {
			noParam, byMerchant = "payment_no", []string{"out_order_no", "outer_order_no"}
		}
		m, v, err := s.findOrder(ctx, c, noParam, byMerchant...)
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		if alipay {
			out["order"] = s.aliOrderOf(ctx, c, m, v.Order, v.Refunds)
		} else {
			out["order"] = s.wxOrderOf(ctx, c, m, v.Order, v.Refunds)
		}
		if c.version == V2 {
			a := c.amounts(v.Order)
			rs := []refundObject{}
			for i := range v.Refunds {
				rs = append(rs, refundOf(a, v.Order, &v.Refunds[i], "wx"))
			}
			out["refunds"] = rs
		}
		return out, nil
	}
}

// handleRefund is §4.8 POST /refund (and §6.6 POST /alipay/refund): a
// refund of refund_amount in the order's currency, or of everything still
// refundable when it is left out. outer_refund_no makes it idempotent; a
// refund without one is given "wr" and a hash of the request's signature.
// The wallet is asked at once; the answer is SUCCESS, FAIL, or PROCESSING
// while it has not answered (query it with GET /refund).
func (s *Server) handleRefund(alipay bool) handler {
	return func(ctx context.Context, c *call) (any, error) {
		noParam, byMerchant := "order_no", []string{"agent_order_id"}
		if alipay {
			noParam, byMerchant = "payment_no", []string{"out_order_no"}
		}
		m, v, err := s.findOrder(ctx, c, noParam, byMerchant...)
		if err != nil {
			return nil, err
		}
		o := v.Order
		in := core.RefundInput{OrderNo: o.MerchantOrderNo, RefundNo: c.get("outer_refund_no"), Protocol: Protocol, Reason: c.get("reason")}
		if in.RefundNo == "" {
			in.RefundNo = generatedNo("wr", c)
		}
		if amt := c.get("refund_amount"); amt != "" {
			cur, err := baoguan.LookupCurrency(o.Currency)
			if err != nil {
				return nil, err
			}
			if in.Amount, err = baoguan.ParseAmount("refund_amount", cur, amt); err != nil {
				return nil, err
			}
			if in.Amount <= 0 {
				return nil, paramError("refund_amount", "refund_amount must be above zero")
			}
		} else {
			in.Rest = true
		}
		r, _, err := s.svc.RefundNow(ctx, m, in)
		if err != nil {
			if baoguan.ErrorField(err) == "amount" {
				return nil, paramError("refund_amount", baoguan.ErrorMessage(err))
			}
			return nil, err
		}
		shape := "wx"
		if alipay {
			shape = "ali"
		}
		return map[string]any{"refund": refundOf(c.amounts(o), o, r, shape)}, nil
	}
}

// handleRefundQuery is §4.10 GET /refund and §6.7 GET /alipay/refund: one
// refund (info; Alipay: refund beside meta) by refund_no or
// outer_refund_no, or an order's refunds (refunds) by its numbers. Both
// sections also name refund_order_no ("参数传refund_no或refund_order_no时")
// among the numbers that answer one refund without listing it: it is read
// as outer_refund_no, the other such number.
func (s *Server) handleRefundQuery(alipay bool) handler {
	return func(ctx context.Context, c *call) (any, error) {
		outer := c.get("outer_refund_no")
		if outer == "" {
			outer = c.get("refund_order_no")
		}
		if rn := c.get("refund_no"); rn != "" || outer != "" {
			ref := core.AgentRefundRef{No: outer, MerchantNo: c.get("merchant_no")}
			if rn != "" {
				id, _, ok := parseNo(rn)
				if !ok {
					return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no refund " + rn}
				}
				ref = core.AgentRefundRef{ID: id, MerchantNo: ref.MerchantNo}
			}
			_, o, r, err := s.svc.AgentRefund(ctx, c.agent, ref)
			if err != nil {
				return nil, err
			}
			if rn != "" && refundNo(r) != rn {
				return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no refund " + rn}
			}
			if alipay {
				return topLevel{"refund": refundOf(c.amounts(o), o, r, "ali-query")}, nil
			}
			return map[string]any{"info": refundOf(c.amounts(o), o, r, "wx")}, nil
		}
		noParam, byMerchant := "order_no", []string{"agent_order_id"}
		if alipay {
			noParam, byMerchant = "payment_no", []string{"outer_order_no", "out_order_no", "agent_order_id"}
		}
		if c.get(noParam) == "" && !anyGiven(c, byMerchant) {
			return nil, paramError("refund_no", "one of refund_no, "+noParam+", "+byMerchant[0]+" and outer_refund_no is required")
		}
		_, v, err := s.findOrder(ctx, c, noParam, byMerchant...)
		if err != nil {
			return nil, err
		}
		a := c.amounts(v.Order)
		shape := "wx"
		if alipay {
			shape = "ali-query"
		}
		rs := []refundObject{}
		for i := range v.Refunds {
			rs = append(rs, refundOf(a, v.Order, &v.Refunds[i], shape))
		}
		if alipay {
			return topLevel{"refunds": rs}, nil
		}
		return map[string]any{"refunds": rs}, nil
	}
}

func anyGiven(c *call, names []string) bool {
	for _, n := range names {
		if c.get(n) != "" {
			return true
		}
	}
	return false
}

// handleRate is §4.11 GET /rate (data) and §6.8 GET /alipay/rate (rate
// beside meta): the rate source's current rate of currency to CNY, for
// the merchant's mode (the operator's table first).
func (s *Server) handleRate(alipay bool) handler {
	return func(ctx context.Context, c *call) (any, error) {
		var m *baoguan.Merchant
		if no := c.get("merchant_no"); no != "" || !alipay {
			var err error
			if m, err = s.svc.AgentMerchant(ctx, c.agent, no); err != nil {
				return nil, err
			}
		}
		code := strings.ToUpper(c.get("currency"))
		if code == "" {
			return nil, paramError("currency", "currency is required")
		}
		cur, err := baoguan.LookupCurrency(code)
		if err != nil {
			return nil, err
		}
		r, err := s.svc.Rate(ctx, m, cur)
		if err != nil {
			return nil, err
		}
		out := map[string]string{"currency": cur.Code, "rate": r.String()}
		if alipay {
			return topLevel{"rate": out}, nil
		}
		return out, nil
	}
}
