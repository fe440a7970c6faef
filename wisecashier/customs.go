package wisecashier

import (
	"context"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Declarations (§9): a paid order's payment declared to WeChat Pay's or
// Alipay's customs codes (§11.4, §11.5), whole or as a sub-order of a
// split, with the orderer's identity checked against the payer the wallet
// recorded; queries; re-declarations. Every rule is the core's
// (DeclareTarget, ModifyDeclaration, Redeclare, FindDeclarations); amounts
// here are CNY yuan, since what customs receives is CNY.

// walletScheme names a §9 family: its customs scheme and how its answers
// name things.
type walletScheme struct {
	scheme baoguan.CustomsScheme
	name   string // "WeChat Pay" or "Alipay", for messages
	alipay bool
}

var (
	walletWeChat = walletScheme{baoguan.SchemeWeChat, "WeChat Pay", false}
	walletAlipay = walletScheme{baoguan.SchemeAlipay, "Alipay", true}
)

// customsCode checks a customs code of the family's list.
func (w walletScheme) customsCode(c *call) (string, error) {
	code := c.get("customs")
	if code == "" {
		return "", paramError("customs", "customs is required")
	}
	e, err := baoguan.LookupCustoms(code)
	if err != nil || !e.In(w.scheme) {
		return "", paramError("customs", "customs "+code+" is not a "+w.name+" customs code (§11.4 / §11.5)")
	}
	return e.Code, nil
}

// declState is §9's state: PENDING (queued in baoguan) is SUBMITTED,
// handed to the port PROCESSING.
func declState(s baoguan.DeclState) string {
	switch s {
	case baoguan.DeclPending:
		return "SUBMITTED"
	case baoguan.DeclSubmitted, baoguan.DeclProcessing:
		return "PROCESSING"
	}
	return string(s)
}

// declarationObject is the answer of §9.1–§9.6; members absent from an
// interface's table are left out.
type declarationObject struct {
	OutOrderNo      string `json:"out_order_no"`
	PaymentNo       string `json:"payment_no"`
	Customs         string `json:"customs"`
	MchCustomsNo    string `json:"mch_customs_no"`
	WechatpayNo     string `json:"wechatpay_no,omitempty"`
	AlipayNo        string `json:"alipay_no,omitempty"`
	Duty            *int64 `json:"duty,omitempty"`
	State           string `json:"state"`
	ModifyTime      string `json:"modify_time"`
	Explanation     string `json:"explanation"`
	SubOrderNo      string `json:"sub_order_no,omitempty"`
	SubOrderAmount  string `json:"sub_order_amount,omitempty"`
	TransportAmount string `json:"transport_amount,omitempty"`
	ProductAmount   string `json:"product_amount,omitempty"`
	CertCheckResult string `json:"cert_check_result,omitempty"`
	// Declarations lists every declaration a query matched, when more than
	// one did (a split order, or a customs code declared in two pushes).
	Declarations []declarationObject `json:"declarations,omitempty"`
}

func (w walletScheme) objectOf(o *baoguan.Order, d *baoguan.Declaration) declarationObject {
	x := declarationObject{OutOrderNo: agentOrderID(o), PaymentNo: orderNo(o), Customs: d.Customs, MchCustomsNo: d.MerchantCustomsNo,
		State: declState(d.State), ModifyTime: d.ModifiedAt.In(cst).Format(timeLayout), Explanation: d.Explanation}
	if w.alipay {
		x.AlipayNo = o.Payment.No
	} else {
		x.WechatpayNo = o.Payment.No
		duty := d.Duty
		x.Duty = &duty
	}
	if d.SubOrderNo != "" {
		x.SubOrderNo, x.SubOrderAmount = d.SubOrderNo, baoguan.FormatYuan(d.OrderFee)
		if !w.alipay {
			x.TransportAmount, x.ProductAmount = baoguan.FormatYuan(d.TransportFee), baoguan.FormatYuan(d.ProductFee)
		}
	}
	switch {
	case !w.alipay:
		x.CertCheckResult = d.IdentityCheck
	case d.IdentityCheck == baoguan.CheckSame:
		x.CertCheckResult = "T"
	case d.IdentityCheck == baoguan.CheckDifferent:
		x.CertCheckResult = "F"
	}
	return x
}

// yuan reads an optional CNY amount in yuan; ok is false when absent.
func yuan(c *call, name string) (int64, bool, error) {
	v := c.get(name)
	if v == "" {
		return 0, false, nil
	}
	fen, err := baoguan.ParseYuan(name, v)
	if err != nil {
		return 0, false, err
	}
	if fen < 0 {
		return 0, false, paramError(name, name+" must not be negative")
	}
	return fen, true, nil
}

// orderer reads cert_id and name, given together: the orderer (订购人)
// compared with the payer the wallet recorded.
func orderer(c *call) (*baoguan.Payer, error) {
	id, name := c.get("cert_id"), c.get("name")
	if id == "" && name == "" {
		return nil, nil
	}
	if id == "" {
		return nil, paramError("cert_id", "cert_id is required with name")
	}
	if name == "" {
		return nil, paramError("name", "name is required with cert_id")
	}
	if err := baoguan.CheckIDFormat("cert_id", baoguan.IDTypeIDCard, id); err != nil {
		return nil, err
	}
	return &baoguan.Payer{Name: name, IDType: baoguan.IDTypeIDCard, IDNumber: id}, nil
}

// declOrder finds the order a §9 request names by payment_no or
// out_order_no.
func (s *Server) declOrder(ctx context.Context, c *call) (*baoguan.Merchant, *baoguan.Order, error) {
	m, v, err := s.findOrder(ctx, c, "payment_no", "out_order_no")
	if err != nil {
		return nil, nil, err
	}
	return m, v.Order, nil
}

// handleDeclare is §9.1 POST /wechatpay/declaration and §9.4 POST
// /alipay/declaration. action_type ADD (default) declares, answering an
// identical repeat with the declaration as it stands; MODIFY changes the
// declaration's registration number, duty and amounts and declares it
// again.
func (s *Server) handleDeclare(w walletScheme) handler {
	return func(ctx context.Context, c *call) (any, error) {
		customs, err := w.customsCode(c)
		if err != nil {
			return nil, err
		}
		mch := c.get("mch_customs_no")
		if mch == "" {
			return nil, paramError("mch_customs_no", "mch_customs_no is required")
		}
		if w.alipay && c.get("merchant_customs_name") == "" {
			return nil, paramError("merchant_customs_name", "merchant_customs_name is required")
		}
		action := strings.ToUpper(c.get("action_type"))
		if action == "" || w.alipay {
			action = "ADD"
		}
		if action != "ADD" && action != "MODIFY" {
			return nil, paramError("action_type", "action_type must be ADD or MODIFY")
		}
		var duty *int64
		if v := c.get("duty"); v != "" && !w.alipay {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || n > baoguan.MaxAmount {
				return nil, paramError("duty", "duty must be a whole number of fen")
			}
			duty = &n
		}
		sub := c.get("sub_order_no")
		total, hasTotal, err := yuan(c, "sub_order_amount")
		if err != nil {
			return nil, err
		}
		transport, hasTransport, err := yuan(c, "transport_amount")
		if err != nil {
			return nil, err
		}
		product, hasProduct, err := yuan(c, "product_amount")
		if err != nil {
			return nil, err
		}
		if w.alipay {
			transport, product, hasTransport, hasProduct = 0, total, hasTotal, hasTotal
		}
		if sub != "" && !hasTotal {
			return nil, paramError("sub_order_amount", "sub_order_amount is required with sub_order_no")
		}
		if sub != "" && !w.alipay && (!hasTransport || !hasProduct) {
			name := "transport_amount"
			if hasTransport {
				name = "product_amount"
			}
			return nil, paramError(name, name+" is required with sub_order_no (product_amount + transport_amount = sub_order_amount)")
		}
		payer, err := orderer(c)
		if err != nil {
			return nil, err
		}
		m, o, err := s.declOrder(ctx, c)
		if err != nil {
			return nil, err
		}
		ref := core.OrderRef{No: o.MerchantOrderNo}
		var d *baoguan.Declaration
		if action == "MODIFY" {
			ch := core.DeclarationChange{MerchantCustomsNo: &mch, Duty: duty, Payer: payer}
			if hasTotal {
				ch.OrderFee, ch.TransportFee, ch.ProductFee = &total, &transport, &product
			}
			o, d, err = s.svc.ModifyDeclaration(ctx, m, core.DeclarationTarget{Order: ref, Customs: customs, SubOrderNo: sub}, ch)
		} else {
			spec := baoguan.DeclarationSpec{Customs: customs, SubOrderNo: sub, MerchantCustomsNo: mch, Payer: payer,
				OrderFee: total, TransportFee: transport, ProductFee: product, Split: hasTotal}
			if duty != nil {
				spec.Duty = *duty
			}
			o, d, _, err = s.svc.DeclareTarget(ctx, m, ref, spec)
		}
		if err != nil {
			return nil, err
		}
		out := w.objectOf(o, d)
		if payer == nil && !w.alipay && action == "ADD" {
			out.CertCheckResult = baoguan.CheckUnchecked
		}
		return out, nil
	}
}

// findDeclarations returns the declarations a query or re-declaration
// names: by payment_no or out_order_no, or by sub_order_no across the
// agent's merchants, to one customs code when customs is given.
func (s *Server) findDeclarations(ctx context.Context, c *call, w walletScheme, needCustoms bool) (*baoguan.Merchant, []core.DeclarationMatch, error) {
	customs := ""
	if c.get("customs") != "" || needCustoms {
		var err error
		if customs, err = w.customsCode(c); err != nil {
			return nil, nil, err
		}
	}
	sub := c.get("sub_order_no")
	if c.get("payment_no") == "" && c.get("out_order_no") == "" {
		if sub == "" {
			return nil, nil, paramError("payment_no", "one of payment_no, out_order_no and sub_order_no is required")
		}
		ms, err := s.agentMerchants(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		for i := range ms {
			found, err := s.svc.FindDeclarations(ctx, &ms[i], core.DeclarationQuery{SubOrderNo: sub, Customs: customs})
			if err == nil {
				return &ms[i], found, nil
			}
			if baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
				return nil, nil, err
			}
		}
		return nil, nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Reason: "no_declaration", Message: "no declaration of sub-order " + sub}
	}
	m, o, err := s.declOrder(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	found, err := s.svc.FindDeclarations(ctx, m, core.DeclarationQuery{Order: core.OrderRef{No: o.MerchantOrderNo}, SubOrderNo: sub, Customs: customs})
	return m, found, err
}

// agentMerchants are the merchants a query may search: the one merchant_no
// names, else all of the agent's.
func (s *Server) agentMerchants(ctx context.Context, c *call) ([]baoguan.Merchant, error) {
	if no := c.get("merchant_no"); no != "" {
		m, err := s.svc.AgentMerchant(ctx, c.agent, no)
		if err != nil {
			return nil, err
		}
		return []baoguan.Merchant{*m}, nil
	}
	return s.svc.AgentMerchants(ctx, c.agent)
}

// handleDeclarationQuery is §9.3 GET /wechatpay/declaration and §9.6 GET
// /alipay/declaration: the declaration named, or, when several match (a
// split order, a code declared in two pushes), the first with all of them
// under declarations.
func (s *Server) handleDeclarationQuery(w walletScheme) handler {
	return func(ctx context.Context, c *call) (any, error) {
		_, found, err := s.findDeclarations(ctx, c, w, false)
		if err != nil {
			return nil, err
		}
		out := w.objectOf(found[0].Order, &found[0].Declaration)
		if len(found) > 1 {
			for i := range found {
				out.Declarations = append(out.Declarations, w.objectOf(found[i].Order, &found[i].Declaration))
			}
		}
		return out, nil
	}
}

// handleRedeclare is §9.2 POST /wechatpay/redeclaration and §9.5 POST
// /alipay/redeclaration: send a declaration that succeeded or met a
// customs exception again (a failed WeChat Pay one is modified:
// action_type MODIFY). Alipay has no MODIFY: its re-declaration takes
// §9.5's sub_order_amount and orderer (cert_id, name), and declares a
// declaration with new data, or a failed one, again as a modification.
func (s *Server) handleRedeclare(w walletScheme) handler {
	return func(ctx context.Context, c *call) (any, error) {
		mch := c.get("mch_customs_no")
		if mch == "" {
			return nil, paramError("mch_customs_no", "mch_customs_no is required")
		}
		var change core.DeclarationChange
		if w.alipay {
			if c.get("merchant_customs_name") == "" {
				return nil, paramError("merchant_customs_name", "merchant_customs_name is required")
			}
			total, hasTotal, err := yuan(c, "sub_order_amount")
			if err != nil {
				return nil, err
			}
			if hasTotal {
				zero := int64(0)
				change.OrderFee, change.ProductFee, change.TransportFee = &total, &total, &zero
			}
			if change.Payer, err = orderer(c); err != nil {
				return nil, err
			}
		}
		m, found, err := s.findDeclarations(ctx, c, w, true)
		if err != nil {
			return nil, err
		}
		if len(found) > 1 {
			return nil, paramError("sub_order_no", "the order is split: name the sub-order to re-declare")
		}
		d := found[0].Declaration
		if change.OrderFee != nil && d.SubOrderNo == "" {
			return nil, paramError("sub_order_amount", "sub_order_amount is a sub-order's: the declaration is not split (name sub_order_no)")
		}
		t := core.DeclarationTarget{Order: core.OrderRef{No: found[0].Order.MerchantOrderNo}, Customs: d.Customs, SubOrderNo: d.SubOrderNo}
		var o *baoguan.Order
		var nd *baoguan.Declaration
		if w.alipay { // no MODIFY in Alipay's family: core decides
			o, nd, err = s.svc.DeclareAgain(ctx, m, t, mch, change)
		} else {
			o, nd, err = s.svc.Redeclare(ctx, m, t, mch)
		}
		if err != nil {
			return nil, err
		}
		return w.objectOf(o, nd), nil
	}
}
