package core

import (
	"context"
	"maps"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
)

// Declarations: declaring a paid order's payment record to customs targets,
// declaring again (with new payer data, or as it stands), modifying one
// declaration, and finding them. The split and amount rule is the root
// package's (fees.go); the identity rules are identity.go's; the jobs that
// hand declarations to ports are declarations_job.go's.

// planDeclarations creates (or, for a re-declaration, resets) the
// declarations one spec asks for: one per code of the catalogue entry's
// plan, so ports that need two pushes get both. It returns them.
//
// existing are the order's declarations; nil reads them (a new order passes
// the ones it has created so far).
func (s *Service) planDeclarations(tx baoguan.Tx, o *baoguan.Order, spec baoguan.DeclarationSpec, e baoguan.CustomsEntry, payer *baoguan.Payer, existing []baoguan.Declaration) ([]baoguan.Declaration, error) {
	return s.planDeclarationsInto(tx, o, spec, e, payer, existing, nil)
}

// planDeclarationsInto is planDeclarations that, with a sink, appends the
// declarations of a new, unpaid order to it instead of inserting them one
// by one, for the caller to insert a batch chunk's at once
// (Tx.CreateDeclarations). What it could not leave to the sink (a target
// planned twice, which updates the first; a paid order, whose
// declarations are queued at once) is errSlowChunk.
func (s *Service) planDeclarationsInto(tx baoguan.Tx, o *baoguan.Order, spec baoguan.DeclarationSpec, e baoguan.CustomsEntry, payer *baoguan.Payer, existing []baoguan.Declaration, sink *[]baoguan.Declaration) ([]baoguan.Declaration, error) {
	if existing == nil {
		var err error
		if existing, err = tx.Declarations(o.MerchantID, o.ID); err != nil {
			return nil, err
		}
	}
	// A new declaration is planned in place in out, the slice returned,
	// rather than apart and copied into it.
	var out []baoguan.Declaration
	if len(e.Plan) > 0 {
		out = make([]baoguan.Declaration, 0, len(e.Plan))
	}
	now := tx.Now()
	var m *baoguan.Merchant // read when a live route must be chosen
	for _, code := range e.Plan {
		port, err := baoguan.PortOfCustoms(code)
		if err != nil {
			return nil, err
		}
		var d *baoguan.Declaration
		for i := range existing {
			if existing[i].Customs == code && existing[i].SubOrderNo == spec.SubOrderNo {
				d = &existing[i]
			}
		}
		fresh := d == nil
		if sink != nil && (!fresh || o.Paid()) {
			return nil, errSlowChunk
		}
		if fresh {
			out = append(out, baoguan.Declaration{OrderID: o.ID, MerchantID: o.MerchantID, Customs: code, Port: port,
				SubOrderNo: spec.SubOrderNo, State: baoguan.DeclUndeclared, IdentityCheck: baoguan.CheckUnchecked,
				SubOrderID: s.newID("D")})
			d = &out[len(out)-1]
		} else if !d.Final() && d.State != baoguan.DeclUndeclared {
			return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "declaration_in_flight",
				Message: "the declaration of order " + o.MerchantOrderNo + " to " + code + " is " + string(d.State) + "; wait for its outcome"}
		}
		if d.Route == "" {
			if m == nil && !o.Sandbox {
				if m, err = tx.Merchant(o.MerchantID); err != nil {
					return nil, err
				}
			}
			if d.Route, err = s.chooseRoute(m, o, code, e.Code); err != nil {
				return nil, err
			}
		}
		d.Extras = spec.Extras
		d.MerchantCustomsNo = spec.MerchantCustomsNo
		d.Duty = spec.Duty
		d.Strategy = spec.Strategy
		d.OrderFee, d.TransportFee, d.ProductFee = spec.OrderFee, spec.TransportFee, spec.ProductFee
		if payer == nil {
			payer = spec.Payer
		}
		if payer != nil {
			d.Payer = *payer
		} else if fresh || d.Payer.Name == "" {
			d.Payer = o.Payer
		}
		if d.Payer.Name == "" && d.Payer.IDNumber == "" && o.Payment.PayerID != "" {
			// No payer of its own (a wallet payment): the payer the wallet
			// recorded is declared, and there is nothing to compare.
			d.Payer = baoguan.Payer{Name: o.Payment.PayerName, IDType: baoguan.IDTypeIDCard, IDNumber: o.Payment.PayerID}
			d.IdentityCheck = baoguan.CheckUnchecked
		} else if o.Paid() {
			d.IdentityCheck = identityCheck(o, d.Payer)
		}
		if o.Paid() {
			d.SetFees(o, spec.Split)
			if err := baoguan.CheckDeclaredTotal(o, d.OrderFee, baoguan.CountsToward(existing, code, spec.SubOrderNo)); err != nil {
				return nil, err
			}
		}
		d.ModifiedAt = now
		if fresh && sink != nil {
			*sink = append(*sink, *d)
		} else if fresh {
			if err := tx.CreateDeclaration(d); err != nil {
				return nil, err
			}
		}
		switch {
		case o.Paid():
			if err := s.queueDeclare(tx, d); err != nil {
				return nil, err
			}
		case !fresh:
			if err := tx.UpdateDeclaration(d); err != nil {
				return nil, err
			}
		}
		if !fresh {
			out = append(out, *d)
		}
	}
	return out, nil
}

// queueDeclare moves a declaration to PENDING and queues its declare job,
// keyed by the attempt it will be, so a repeat enqueues nothing.
func (s *Service) queueDeclare(tx baoguan.Tx, d *baoguan.Declaration) error {
	if err := d.Move(baoguan.DeclPending); err != nil {
		return err
	}
	d.Explanation = ""
	d.ModifiedAt = tx.Now()
	if err := tx.UpdateDeclaration(d); err != nil {
		return err
	}
	q := queue{svc: s, tx: tx}
	err := q.add(baoguan.JobDeclare, declareKey(d), d.MerchantID, d.ID, tx.Now())
	if q.n > 0 {
		defer s.Wake()
	}
	return err
}

func declareKey(d *baoguan.Declaration) string {
	return "declare:" + strconv.FormatInt(d.ID, 10) + ":" + strconv.Itoa(d.Attempts+1)
}

// DeclareInput asks to declare an order again or to new targets: new payer
// data replaces the order's (payzero 8.1), and specs add or reset targets.
// With no specs, every declaration that failed is declared again.
type DeclareInput struct {
	Payer *baoguan.Payer
	Specs []baoguan.DeclarationSpec
}

// Declare declares or re-declares a paid order. Errors: ENOTFOUND, ESTATE
// (not paid, or a declaration still in flight), EINVALID, ELIMIT.
func (s *Service) Declare(ctx context.Context, m *baoguan.Merchant, no string, in DeclareInput) ([]baoguan.Declaration, error) {
	var out []baoguan.Declaration
	if in.Payer != nil {
		if err := in.Payer.Validate(); err != nil {
			return nil, err
		}
	}
	entries := make([]baoguan.CustomsEntry, len(in.Specs))
	for i := range in.Specs {
		e, err := in.Specs[i].Validate()
		if err != nil {
			return nil, err
		}
		entries[i] = e
	}
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		o, err := tx.OrderByNo(m.ID, no)
		if err != nil {
			return err
		}
		if !o.Paid() {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_paid", Message: "order " + no + " is not paid; it is declared automatically once paid"}
		}
		if in.Payer != nil {
			o.Payer = *in.Payer
		}
		specs := in.Specs
		if len(specs) == 0 {
			ds, err := tx.Declarations(m.ID, o.ID)
			if err != nil {
				return err
			}
			for _, d := range ds {
				if d.Final() && d.State != baoguan.DeclSuccess {
					specs = append(specs, specOf(d))
				}
			}
			if len(specs) == 0 {
				return &baoguan.Error{Code: baoguan.ESTATE, Reason: "nothing_to_declare",
					Message: "order " + no + " has no failed declaration; name a customs target to declare to"}
			}
			entries = entries[:0]
			for i := range specs {
				e, err := specs[i].Validate()
				if err != nil {
					return err
				}
				entries = append(entries, e)
			}
		}
		o.NeedDeclare = true
		for i, spec := range specs {
			ds, err := s.planDeclarations(tx, o, spec, entries[i], in.Payer, nil)
			if err != nil {
				return err
			}
			out = append(out, ds...)
		}
		return s.refreshDeclareStatus(tx, o)
	})
	return out, err
}

func specOf(d baoguan.Declaration) baoguan.DeclarationSpec {
	return baoguan.DeclarationSpec{Customs: d.Customs, Extras: d.Extras, SubOrderNo: d.SubOrderNo,
		MerchantCustomsNo: d.MerchantCustomsNo, OrderFee: d.OrderFee, TransportFee: d.TransportFee,
		ProductFee: d.ProductFee, Duty: d.Duty, Strategy: d.Strategy, Split: d.SubOrderNo != ""}
}

// Declarations lists an order's declarations. ENOTFOUND.
func (s *Service) Declarations(ctx context.Context, m *baoguan.Merchant, no string) ([]baoguan.Declaration, error) {
	v, err := s.OrderDetail(ctx, m, no)
	if err != nil {
		return nil, err
	}
	return v.Declarations, nil
}

// refreshDeclareStatus derives the order's declare status from its
// declarations and saves the order.
func (s *Service) refreshDeclareStatus(tx baoguan.Tx, o *baoguan.Order) error {
	ds, err := tx.Declarations(o.MerchantID, o.ID)
	if err != nil {
		return err
	}
	st := baoguan.DeriveDeclareStatus(ds)
	if st == o.DeclareStatus {
		return nil // nothing to write
	}
	o.DeclareStatus = st
	return tx.UpdateOrder(o)
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

// DeclareTarget declares a paid order to one customs target. If the order is
// already declared to that target (same customs code and sub-order), an
// identical request returns that declaration unchanged (created=false) and
// a request with other data is ECONFLICT (reason "duplicate_declaration"):
// changes go through ModifyDeclaration. The declaration returned is the one
// to spec.Customs (a catalogue plan may add others, e.g. GUANGZHOU_ZS
// before GUANGZHOU_HP_GJ). Errors: EINVALID, ENOTFOUND, ESTATE (not paid,
// or a plan member still in flight), ELIMIT (declared above paid less
// refunded), ECONFLICT.
func (s *Service) DeclareTarget(ctx context.Context, m *baoguan.Merchant, ref OrderRef, spec baoguan.DeclarationSpec) (*baoguan.Order, *baoguan.Declaration, bool, error) {
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
		// A plan member already declared with the same data (the first of
		// two pushes a customs code needs, made on its own: WiseCashier's
		// GUANGZHOU_ZS before GUANGZHOU_HP_GJ) is kept as it stands.
		plan := e
		plan.Plan = nil
		for _, code := range e.Plan {
			kept := false
			for i := range ds {
				if code != spec.Customs && ds[i].Customs == code && ds[i].SubOrderNo == spec.SubOrderNo && sameDeclaration(&ds[i], &spec) {
					kept = true
				}
			}
			if !kept {
				plan.Plan = append(plan.Plan, code)
			}
		}
		planned, err := s.planDeclarations(tx, o, spec, plan, nil, ds)
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
	if p := spec.Payer; p != nil && (p.Name != d.Payer.Name || baoguan.NormalizeID(p.IDNumber) != baoguan.NormalizeID(d.Payer.IDNumber)) {
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
	// Payer, when set, replaces the declaration's declared payer (the
	// orderer), compared again with the payer the channel reported.
	Payer *baoguan.Payer
}

// ModifyDeclaration changes a declaration that has an outcome (SUCCESS,
// FAIL or EXCEPT) and declares it again: it goes to PENDING with a new
// declare job. A new payer (the orderer) is declared and compared again. Giving any fee makes the declaration carry explicit fees,
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
		spec.Payer = c.Payer
		if _, err := spec.Validate(); err != nil {
			return err
		}
		if c.Payer != nil {
			d.Payer = *c.Payer
			d.IdentityCheck = identityCheck(o, d.Payer)
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
	d.OrderFee, d.TransportFee, d.ProductFee = spec.OrderFee, spec.TransportFee, spec.ProductFee
	d.SetFees(o, spec.Split)
	ds, err := tx.Declarations(o.MerchantID, o.ID)
	if err != nil {
		return err
	}
	if err := baoguan.CheckDeclaredTotal(o, d.OrderFee, baoguan.CountsToward(ds, d.Customs, d.SubOrderNo)); err != nil {
		return err
	}
	return s.queueDeclare(tx, d)
}

// Redeclare sends one declaration to customs again with the data it holds.
// DeclareAgain is a re-declaration for a protocol that has no separate
// modify call (Alipay's, through WiseCashier §9.5): new data (fees, duty or
// payer), or a declaration that FAILed, is declared again as a
// modification (ModifyDeclaration, with merchantCustomsNo as its
// registration number); anything else is a plain Redeclare. Errors: theirs.
func (s *Service) DeclareAgain(ctx context.Context, m *baoguan.Merchant, t DeclarationTarget, merchantCustomsNo string, c DeclarationChange) (*baoguan.Order, *baoguan.Declaration, error) {
	if c.OrderFee == nil && c.TransportFee == nil && c.ProductFee == nil && c.Duty == nil && c.Payer == nil {
		failed := false
		err := s.view(ctx, func(tx baoguan.Tx) error {
			_, d, err := findTarget(tx, m, t)
			if err == nil {
				failed = d.State == baoguan.DeclFail
			}
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		if !failed {
			return s.Redeclare(ctx, m, t, merchantCustomsNo)
		}
	}
	c.MerchantCustomsNo = &merchantCustomsNo
	return s.ModifyDeclaration(ctx, m, t, c)
}

// Only a declaration that succeeded or met a customs interface exception
// (EXCEPT) may be re-declared (WeChat Pay's rule, which the other
// protocols' re-declarations satisfy too); a failed one must be modified
// (ModifyDeclaration). An EXCEPT that baoguan is already
// retrying on its own is left to that retry and returned unchanged.
// merchantCustomsNo, when given, must be the declaration's: it is changed
// by ModifyDeclaration only. Errors: ENOTFOUND, ESTATE (reason
// "not_redeclarable"), EINVALID (merchant_customs_no), ELIMIT.
func (s *Service) Redeclare(ctx context.Context, m *baoguan.Merchant, t DeclarationTarget, merchantCustomsNo string) (*baoguan.Order, *baoguan.Declaration, error) {
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

// DeclarePatch is a declaration request that names only what changes
// (payzero 8.1). Every field but the order number may be left empty, which
// keeps the value last given for the order (payer on the order, customs
// target on its latest declaration or, for an order created without
// declaring, as sent when it was created: Order.Extra ExtraCustoms…). The
// latest declaration's registration number and duty, which the patch
// cannot carry, are kept while the customs code stays the same.
type DeclarePatch struct {
	OrderNo                        string
	PayerName, PayerID, PayerPhone string
	Customs                        string
	Extras                         baoguan.CustomsExtras
}

// PatchAndDeclare declares a paid order to customs, or declares it again
// with corrected payer or customs data after a failure, merging the patch
// into the values last given (payzero 8.1). It is one transaction: the
// merged payer is saved on the order and on the declaration, and the
// declare job is queued.
// Errors: ENOTFOUND; ESTATE reason not_paid or declaration_in_flight;
// EINVALID naming the field (customs when no target was ever given);
// ELIMIT.
func (s *Service) PatchAndDeclare(ctx context.Context, m *baoguan.Merchant, in DeclarePatch) ([]baoguan.Declaration, error) {
	if err := baoguan.CheckOrderNo("merchant_order_no", in.OrderNo); err != nil {
		return nil, err
	}
	var out []baoguan.Declaration
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		o, err := tx.OrderByNo(m.ID, in.OrderNo)
		if err != nil {
			return err
		}
		if !o.Paid() {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_paid",
				Message: "订单 " + in.OrderNo + " 尚未支付成功（" + string(o.PayStatus) + "），支付成功后才能申报"}
		}
		ds, err := tx.Declarations(m.ID, o.ID)
		if err != nil {
			return err
		}
		payer := o.Payer
		set := func(dst *string, v string) {
			if v = strings.TrimSpace(v); v != "" {
				*dst = v
			}
		}
		set(&payer.Name, in.PayerName)
		set(&payer.IDNumber, in.PayerID)
		set(&payer.Phone, in.PayerPhone)
		if in.PayerID != "" {
			payer.IDType = baoguan.IDTypeIDCard
		}
		// The last target: the latest declaration's, else what the order
		// was created with.
		spec := baoguan.DeclarationSpec{Customs: o.Extra[ExtraCustoms],
			Extras: baoguan.CustomsExtras{AreaCode: o.Extra[ExtraAreaCode], JyOrg: o.Extra[ExtraJyOrg], InType: o.Extra[ExtraInType]}}
		if n := len(ds); n > 0 {
			last := ds[n-1]
			spec.Customs, spec.Extras, spec.Strategy = last.Customs, last.Extras, last.Strategy
		}
		set(&spec.Customs, in.Customs)
		if n := len(ds); n > 0 && spec.Customs == ds[n-1].Customs {
			// What the patch cannot carry (a registration number, a duty
			// another protocol gave) stays as it was for the same target.
			spec.MerchantCustomsNo, spec.Duty = ds[n-1].MerchantCustomsNo, ds[n-1].Duty
		}
		set(&spec.Extras.AreaCode, in.Extras.AreaCode)
		set(&spec.Extras.JyOrg, in.Extras.JyOrg)
		set(&spec.Extras.InType, in.Extras.InType)
		if spec.Customs == "" {
			return baoguan.FieldError("customs", "customs is required: the order was never declared, so there is no last customs code to keep")
		}
		if err := payer.Validate(); err != nil {
			return err
		}
		e, err := spec.Validate()
		if err != nil {
			return err
		}
		o.Payer = payer
		o.NeedDeclare = true
		o.Extra = maps.Clone(o.Extra)
		if o.Extra == nil {
			o.Extra = map[string]string{}
		}
		o.Extra[ExtraCustoms], o.Extra[ExtraAreaCode] = spec.Customs, spec.Extras.AreaCode
		o.Extra[ExtraJyOrg], o.Extra[ExtraInType] = spec.Extras.JyOrg, spec.Extras.InType
		if out, err = s.planDeclarations(tx, o, spec, e, &payer, ds); err != nil {
			return err
		}
		all, err := tx.Declarations(m.ID, o.ID)
		if err != nil {
			return err
		}
		o.DeclareStatus = baoguan.DeriveDeclareStatus(all)
		return tx.UpdateOrder(o)
	})
	return out, err
}

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
	err := s.view(ctx, func(tx baoguan.Tx) error {
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
