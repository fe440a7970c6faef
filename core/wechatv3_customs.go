package core

import (
	"context"
	"strings"

	"github.com/baoguan/baoguan"
)

// This file holds the services WeChat Pay's APIv3 customs family needs
// beyond the shared ones: finding a merchant by a protocol setting (WeChat
// names merchants by mchid), naming an order by its payment number, and
// working on one declaration at a time (WeChat's declare, modify,
// redeclare, verify-certificate and query all address a single customs
// record, where the native API addresses an order). They are written as
// general services so another front-end may use them; the rules they
// enforce (duplicates, states, amounts) are the core's, not WeChat's.

// MerchantBySetting returns the merchant whose per-protocol setting key
// (e.g. "wechatv3.mchid") equals value. Settings are sealed and not
// indexed, so this reads every merchant; the number of merchants of one
// installation is small. ENOTFOUND when none matches or value is empty.
func (s *Service) MerchantBySetting(ctx context.Context, key, value string) (*baoguan.Merchant, error) {
	if value == "" {
		return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no merchant has an empty " + key}
	}
	var out *baoguan.Merchant
	err := s.View(ctx, func(tx baoguan.Tx) error {
		ms, err := tx.Merchants()
		if err != nil {
			return err
		}
		for i := range ms {
			if ms[i].Settings[key] == value {
				m := ms[i]
				out = &m
				return nil
			}
		}
		return &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no merchant has " + key + " " + value}
	})
	return out, err
}

// UseNonce records that a request nonce was used by the merchant, in the
// idempotency table under scope+":"+nonce, so that a replayed signed
// request is refused. It returns ECONFLICT (reason "nonce_reused") when the
// nonce was seen before. Nonces are kept, not expired: the signature window
// already bounds how old a replay can be, and keeping them needs no schema.
func (s *Service) UseNonce(ctx context.Context, m *baoguan.Merchant, scope, nonce string) error {
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		return tx.PutIdempotency(&baoguan.IdemRecord{MerchantID: m.ID, Key: scope + ":" + nonce, RequestHash: "nonce", CreatedAt: tx.Now()})
	})
	if baoguan.ErrorCode(err) == baoguan.ECONFLICT {
		return &baoguan.Error{Code: baoguan.ECONFLICT, Reason: "nonce_reused", Field: "nonce",
			Message: "this request nonce was already used; sign every request with a fresh nonce"}
	}
	return err
}

// OrderRef names an order by the merchant's order number, baoguan's
// payment number (WeChat's transaction_id), or both.
type OrderRef struct {
	No        string
	PaymentNo string
}

// orderByRef finds the order a reference names. Both numbers given must
// name the same order. Errors: EINVALID (field merchant_order_no, reason
// "missing"; field payment_no, reason "order_mismatch"), ENOTFOUND.
func orderByRef(tx baoguan.Tx, m *baoguan.Merchant, ref OrderRef) (*baoguan.Order, error) {
	switch {
	case ref.No == "" && ref.PaymentNo == "":
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "merchant_order_no", Reason: "missing",
			Message: "name the order by its merchant order number or its payment number"}
	case ref.No != "":
		o, err := tx.OrderByNo(m.ID, ref.No)
		if err != nil {
			return nil, err
		}
		if ref.PaymentNo != "" && o.Payment.No != ref.PaymentNo {
			return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "payment_no", Reason: "order_mismatch",
				Message: "payment number " + ref.PaymentNo + " is not the payment of order " + ref.No}
		}
		return o, nil
	}
	return tx.OrderByPaymentNo(m.ID, ref.PaymentNo)
}

// DeclarationTarget names one declaration: an order, a customs code and,
// for a split order, the sub-order (by the merchant's number, baoguan's
// sub-order id, or both).
type DeclarationTarget struct {
	Order      OrderRef
	Customs    string
	SubOrderNo string
	SubOrderID string
}

// findTarget returns the order and the declaration a target names.
// ENOTFOUND (reason "no_declaration") when the order has no such
// declaration.
func findTarget(tx baoguan.Tx, m *baoguan.Merchant, t DeclarationTarget) (*baoguan.Order, *baoguan.Declaration, error) {
	o, err := orderByRef(tx, m, t.Order)
	if err != nil {
		return nil, nil, err
	}
	ds, err := tx.Declarations(m.ID, o.ID)
	if err != nil {
		return nil, nil, err
	}
	for i := range ds {
		d := &ds[i]
		if d.Customs != t.Customs {
			continue
		}
		if t.SubOrderID != "" && d.SubOrderID != t.SubOrderID {
			continue
		}
		if t.SubOrderNo != "" || t.SubOrderID == "" {
			if d.SubOrderNo != t.SubOrderNo {
				continue
			}
		}
		return o, d, nil
	}
	what := "order " + o.MerchantOrderNo + " has no declaration to " + t.Customs
	if t.SubOrderNo != "" {
		what += " for sub-order " + t.SubOrderNo
	}
	if t.SubOrderID != "" {
		what += " with sub-order id " + t.SubOrderID
	}
	return nil, nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Reason: "no_declaration", Message: what}
}

// DeclareOnce declares a paid order to one customs target. If the order is
// already declared to that target (same customs code and sub-order), an
// identical request returns that declaration unchanged (created=false) and
// a request with other data is ECONFLICT (reason "duplicate_declaration"):
// changes go through ModifyDeclaration. The declaration returned is the one
// to spec.Customs (a catalogue plan may add others, e.g. GUANGZHOU_ZS
// before GUANGZHOU_HP_GJ). Errors: EINVALID, ENOTFOUND, ESTATE (not paid,
// or a plan member still in flight), ELIMIT (declared above paid less
// refunded), ECONFLICT.
func (s *Service) DeclareOnce(ctx context.Context, m *baoguan.Merchant, ref OrderRef, spec baoguan.DeclarationSpec) (*baoguan.Order, *baoguan.Declaration, bool, error) {
	e, err := spec.Validate()
	if err != nil {
		return nil, nil, false, err
	}
	var o *baoguan.Order
	var out *baoguan.Declaration
	created := false
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		var err error
		if o, err = orderByRef(tx, m, ref); err != nil {
			return err
		}
		if !o.Paid() {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_paid",
				Message: "order " + o.MerchantOrderNo + " is not paid (" + string(o.PayStatus) + "); only a paid order can be declared"}
		}
		ds, err := tx.Declarations(m.ID, o.ID)
		if err != nil {
			return err
		}
		for i := range ds {
			d := &ds[i]
			if d.Customs != spec.Customs || d.SubOrderNo != spec.SubOrderNo {
				continue
			}
			if !sameDeclaration(d, &spec) {
				return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "customs", Reason: "duplicate_declaration",
					Message: "order " + o.MerchantOrderNo + " is already declared to " + spec.Customs + subOrderText(spec.SubOrderNo) +
						" with other data; modify that declaration instead"}
			}
			out = d
			return nil
		}
		o.NeedDeclare = true
		planned, err := s.planDeclarations(tx, o, spec, e, nil, ds)
		if err != nil {
			return err
		}
		for i := range planned {
			if planned[i].Customs == spec.Customs {
				out = &planned[i]
			}
		}
		created = true
		return s.refreshDeclareStatus(tx, o)
	})
	if err != nil {
		return nil, nil, false, err
	}
	return o, out, created, nil
}

// sameDeclaration reports whether a repeated declare request asks for what
// the declaration already holds. Fees only count when the request gave
// them: without fees the whole declarable amount is meant, whatever it is
// now.
func sameDeclaration(d *baoguan.Declaration, spec *baoguan.DeclarationSpec) bool {
	if d.MerchantCustomsNo != spec.MerchantCustomsNo || d.Duty != spec.Duty {
		return false
	}
	if spec.Split {
		return d.OrderFee == spec.OrderFee && d.TransportFee == spec.TransportFee && d.ProductFee == spec.ProductFee
	}
	return true
}

func subOrderText(no string) string {
	if no == "" {
		return ""
	}
	return " (sub-order " + no + ")"
}

// DeclarationChange is a change to a declaration's data. Nil fields keep
// their value; nothing else of a declaration can change (its customs code
// and sub-order are its identity, its payer comes from the order or a
// re-declaration with new payer data).
type DeclarationChange struct {
	MerchantCustomsNo *string
	Duty              *int64
	OrderFee          *int64
	TransportFee      *int64
	ProductFee        *int64
}

// ModifyDeclaration changes a declaration that has an outcome (SUCCESS,
// FAIL or EXCEPT) and declares it again: it goes to PENDING with a new
// declare job. Giving any fee makes the declaration carry explicit fees,
// which must satisfy order_fee = transport_fee + product_fee and keep the
// order's total to that customs code within paid less refunded; an
// unsplit declaration given no fee declares the whole declarable amount
// again. Errors: EINVALID, ENOTFOUND, ESTATE (not paid, or the declaration
// is not yet answered), ELIMIT.
func (s *Service) ModifyDeclaration(ctx context.Context, m *baoguan.Merchant, t DeclarationTarget, c DeclarationChange) (*baoguan.Order, *baoguan.Declaration, error) {
	var o *baoguan.Order
	var d *baoguan.Declaration
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		var err error
		if o, d, err = findTarget(tx, m, t); err != nil {
			return err
		}
		if !o.Paid() {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_paid", Message: "order " + o.MerchantOrderNo + " is not paid"}
		}
		switch d.State {
		case baoguan.DeclSuccess, baoguan.DeclFail, baoguan.DeclExcept:
		default:
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "declaration_in_flight",
				Message: "the declaration of order " + o.MerchantOrderNo + " to " + d.Customs + " is " + string(d.State) +
					"; it can be modified once customs has answered"}
		}
		spec := specOf(*d)
		if c.MerchantCustomsNo != nil {
			spec.MerchantCustomsNo = *c.MerchantCustomsNo
		}
		if c.Duty != nil {
			spec.Duty = *c.Duty
		}
		for _, f := range []struct {
			v   *int64
			dst *int64
		}{{c.OrderFee, &spec.OrderFee}, {c.TransportFee, &spec.TransportFee}, {c.ProductFee, &spec.ProductFee}} {
			if f.v != nil {
				*f.dst = *f.v
				spec.Split = true
			}
		}
		if _, err := spec.Validate(); err != nil {
			return err
		}
		if err := s.resendTx(tx, o, d, spec); err != nil {
			return err
		}
		return s.refreshDeclareStatus(tx, o)
	})
	if err != nil {
		return nil, nil, err
	}
	return o, d, nil
}

// resendTx applies spec's data to one declaration and queues it again,
// checking the declared total against paid less refunded.
func (s *Service) resendTx(tx baoguan.Tx, o *baoguan.Order, d *baoguan.Declaration, spec baoguan.DeclarationSpec) error {
	d.MerchantCustomsNo, d.Duty = spec.MerchantCustomsNo, spec.Duty
	if spec.Split {
		d.OrderFee, d.TransportFee, d.ProductFee = spec.OrderFee, spec.TransportFee, spec.ProductFee
	} else {
		d.OrderFee, d.ProductFee, d.TransportFee = o.Declarable(), o.Declarable(), 0
	}
	ds, err := tx.Declarations(o.MerchantID, o.ID)
	if err != nil {
		return err
	}
	var others []baoguan.Declaration
	for _, x := range ds {
		if x.ID != d.ID && x.Customs == d.Customs && x.State != baoguan.DeclFail {
			others = append(others, x)
		}
	}
	if err := baoguan.CheckDeclaredTotal(o, d.OrderFee, others); err != nil {
		return err
	}
	return s.queueDeclare(tx, d)
}

// RedeclareOne sends one declaration to customs again with the data it
// holds. As WeChat rules, only a declaration that succeeded or met a
// customs interface exception (EXCEPT) may be re-declared; a failed one
// must be modified (ModifyDeclaration). An EXCEPT that baoguan is already
// retrying on its own is left to that retry and returned unchanged.
// merchantCustomsNo, when given, must be the declaration's: it is changed
// by ModifyDeclaration only. Errors: ENOTFOUND, ESTATE (reason
// "not_redeclarable"), EINVALID (merchant_customs_no), ELIMIT.
func (s *Service) RedeclareOne(ctx context.Context, m *baoguan.Merchant, t DeclarationTarget, merchantCustomsNo string) (*baoguan.Order, *baoguan.Declaration, error) {
	var o *baoguan.Order
	var d *baoguan.Declaration
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		var err error
		if o, d, err = findTarget(tx, m, t); err != nil {
			return err
		}
		if merchantCustomsNo != "" && merchantCustomsNo != d.MerchantCustomsNo {
			return &baoguan.Error{Code: baoguan.EINVALID, Field: "merchant_customs_no", Reason: "mismatch",
				Message: "merchant_customs_no " + merchantCustomsNo + " is not the declaration's (" + d.MerchantCustomsNo + "); modify the declaration to change it"}
		}
		switch {
		case d.State == baoguan.DeclExcept && d.Retrying:
			return nil
		case d.State == baoguan.DeclSuccess || d.State == baoguan.DeclExcept:
		default:
			how := "wait for its outcome"
			if d.State == baoguan.DeclFail {
				how = "modify it to declare it again"
			}
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_redeclarable",
				Message: "the declaration of order " + o.MerchantOrderNo + " to " + d.Customs + " is " + string(d.State) +
					"; only a SUCCESS or EXCEPT declaration can be re-declared: " + how}
		}
		if err := s.resendTx(tx, o, d, specOf(*d)); err != nil {
			return err
		}
		return s.refreshDeclareStatus(tx, o)
	})
	if err != nil {
		return nil, nil, err
	}
	return o, d, nil
}

// CheckPayer compares a payer identity with the payer on record for a
// declared order: the person the payment channel reported, or the order's
// payer when the channel reported none. It changes nothing: customs is
// always declared with the recorded payment's payer. It returns
// baoguan.CheckSame or baoguan.CheckDifferent. Errors: EINVALID (payer
// fields), ENOTFOUND (order or declaration), ESTATE (not paid).
func (s *Service) CheckPayer(ctx context.Context, m *baoguan.Merchant, t DeclarationTarget, p baoguan.Payer) (*baoguan.Order, *baoguan.Declaration, string, error) {
	if strings.TrimSpace(p.Name) == "" {
		return nil, nil, "", &baoguan.Error{Code: baoguan.EINVALID, Field: "payer.name", Reason: "missing_name", Message: "the payer's name is required"}
	}
	if err := baoguan.CheckIDFormat("payer.id_number", p.IDType, p.IDNumber); err != nil {
		return nil, nil, "", err
	}
	var o *baoguan.Order
	var d *baoguan.Declaration
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		if o, d, err = findTarget(tx, m, t); err != nil {
			return err
		}
		if !o.Paid() {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_paid", Message: "order " + o.MerchantOrderNo + " is not paid; there is no payer on record"}
		}
		return nil
	})
	if err != nil {
		return nil, nil, "", err
	}
	name, id := o.Payment.PayerName, o.Payment.PayerID
	if name == "" && id == "" {
		name, id = o.Payer.Name, o.Payer.IDNumber
	}
	if strings.TrimSpace(p.Name) == strings.TrimSpace(name) && normID(p.IDNumber) == normID(id) {
		return o, d, baoguan.CheckSame, nil
	}
	return o, d, baoguan.CheckDifferent, nil
}

// normID compares certificate numbers the way people write them: a check
// character x is the same as X, surrounding spaces do not count.
func normID(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

// DeclarationQuery selects declarations of one merchant to one customs
// code, by order (Order) or by sub-order (SubOrderNo or SubOrderID, across
// the merchant's orders).
type DeclarationQuery struct {
	Order      OrderRef
	SubOrderNo string
	SubOrderID string
	Customs    string
}

// DeclarationMatch is one declaration found by FindDeclarations, with its
// order.
type DeclarationMatch struct {
	Order       *baoguan.Order
	Declaration baoguan.Declaration
}

// FindDeclarations returns the declarations a query selects, oldest order
// first. A query by sub-order reads the merchant's orders one page at a
// time, since declarations are not indexed by sub-order. Errors: EINVALID
// (nothing to search by), ENOTFOUND (no such order, or no declaration
// matches).
func (s *Service) FindDeclarations(ctx context.Context, m *baoguan.Merchant, q DeclarationQuery) ([]DeclarationMatch, error) {
	byOrder := q.Order.No != "" || q.Order.PaymentNo != ""
	if !byOrder && q.SubOrderNo == "" && q.SubOrderID == "" {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "merchant_order_no", Reason: "missing",
			Message: "name an order number, payment number, sub-order number or sub-order id"}
	}
	keep := func(d *baoguan.Declaration) bool {
		return (q.Customs == "" || d.Customs == q.Customs) &&
			(q.SubOrderNo == "" || d.SubOrderNo == q.SubOrderNo) &&
			(q.SubOrderID == "" || d.SubOrderID == q.SubOrderID)
	}
	var out []DeclarationMatch
	collect := func(tx baoguan.Tx, o *baoguan.Order) error {
		ds, err := tx.Declarations(m.ID, o.ID)
		if err != nil {
			return err
		}
		for i := range ds {
			if keep(&ds[i]) {
				out = append(out, DeclarationMatch{Order: o, Declaration: ds[i]})
			}
		}
		return nil
	}
	err := s.View(ctx, func(tx baoguan.Tx) error {
		if byOrder {
			o, err := orderByRef(tx, m, q.Order)
			if err != nil {
				return err
			}
			return collect(tx, o)
		}
		f := baoguan.OrderFilter{MerchantID: m.ID, Page: baoguan.Page{Limit: 500}}
		for {
			os, err := tx.ListOrders(f)
			if err != nil {
				return err
			}
			for i := range os {
				if err := collect(tx, &os[i]); err != nil {
					return err
				}
			}
			if len(os) < f.Limit {
				return nil
			}
			f.Cursor = os[len(os)-1].ID
		}
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Reason: "no_declaration", Message: "no declaration matches" + queryText(q)}
	}
	return out, nil
}

func queryText(q DeclarationQuery) string {
	var parts []string
	for _, p := range [][2]string{{"order ", q.Order.No}, {"payment ", q.Order.PaymentNo}, {"sub-order ", q.SubOrderNo},
		{"sub-order id ", q.SubOrderID}, {"customs ", q.Customs}} {
		if p[1] != "" {
			parts = append(parts, p[0]+p[1])
		}
	}
	return " " + strings.Join(parts, ", ")
}
