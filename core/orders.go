package core

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/netguard"
)

// OrderInput is an order as a front-end received it, already translated to
// baoguan's names and units.
type OrderInput struct {
	Order        baoguan.Order
	Declarations []baoguan.DeclarationSpec
	// Test marks a request from a protocol's test endpoint: it is paid and
	// declared through the sandbox whatever the merchant's mode.
	Test bool
	// Hold leaves the order unpaid until its batch is paid (payzero 2.1/2.2).
	Hold bool
}

// CreateOrder validates and stores an order with its declarations and, unless
// it is held for a batch, the job that pays it — all in one transaction.
// A repeat of the same order number with the same content returns the stored
// order and created=false; with other content it is ECONFLICT (reason
// duplicate_order_no). Errors: EINVALID naming the field, EMERCHANT,
// ECONFLICT.
func (s *Service) CreateOrder(ctx context.Context, m *baoguan.Merchant, in OrderInput) (*baoguan.Order, bool, error) {
	v, created, err := s.CreateOrderDetail(ctx, m, in)
	if err != nil {
		return nil, false, err
	}
	return v.Order, created, nil
}

// CreateOrderDetail is CreateOrder returning the order with its
// declarations as committed, so a front-end can answer without reading
// them back.
func (s *Service) CreateOrderDetail(ctx context.Context, m *baoguan.Merchant, in OrderInput) (*OrderView, bool, error) {
	// Checked and fingerprinted before the transaction: none of it needs
	// the database, and on SQLite the transaction runs in the one writer.
	entries, err := s.prepareOrder(m, &in)
	if err != nil {
		return nil, false, err
	}
	fp := in.fingerprint()
	defer s.intakeGate()()
	var v *OrderView
	created, alone := false, true
	if s.combinable(ctx) {
		// Stored with the pushes that arrive with it (combine.go), unless
		// the combined write met anything uncommon.
		v, created, alone, err = s.createCombined(ctx, m, &in, entries, fp)
	}
	if alone {
		// The order is kept for the batch that pays it (freshRows), when
		// there is room, before the commit, since that batch may run as
		// soon as the commit, before this push is answered; it is
		// forgotten when the run that kept it did not commit (a run
		// again, an error).
		var kept *freshOrder
		err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
			s.fresh.forget(kept)
			kept = nil
			var err error
			v, created, err = s.createPreparedView(tx, q, m, &in, entries, fp)
			if err == nil && created && !v.Order.PayDueAt.IsZero() {
				var img any
				if ri, ok := tx.(rowImager); ok {
					img = ri.RowImages(v.Order, v.Declarations)
				}
				kept = s.fresh.keep(v.Order, v.Declarations, img)
			}
			return err
		})
		if err != nil {
			s.fresh.forget(kept)
		}
	}
	if err != nil {
		return nil, false, err
	}
	if created {
		s.Metrics.OrdersCreated.Inc()
	}
	return v, created, nil
}

// createPreparedView is a push's transaction: createPreparedTx, and for a
// repeat the stored order's declarations and refunds.
func (s *Service) createPreparedView(tx baoguan.Tx, q *queue, m *baoguan.Merchant, in *OrderInput, entries []baoguan.CustomsEntry, fp string) (*OrderView, bool, error) {
	o, ds, created, err := s.createPreparedTx(tx, q, m, in, entries, fp, 0)
	if err != nil {
		return nil, false, err
	}
	v := &OrderView{Order: o, Declarations: ds}
	if !created {
		if v.Declarations, err = tx.Declarations(m.ID, o.ID); err == nil {
			v.Refunds, err = tx.Refunds(m.ID, o.ID)
		}
	}
	return v, created, err
}

// prepareOrder checks an input without writing, so a batch can be refused
// whole before anything is stored.
func (s *Service) prepareOrder(m *baoguan.Merchant, in *OrderInput) ([]baoguan.CustomsEntry, error) {
	if err := m.Active(); err != nil {
		return nil, err
	}
	o := &in.Order
	if o.Channel == "" {
		o.Channel = baoguan.ChannelMock
	}
	if len(in.Declarations) > 0 {
		o.NeedDeclare = true
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.NotifyURL != "" {
		if err := netguard.CheckURL(o.NotifyURL); err != nil {
			return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "notify_url", Reason: "bad_notify_url", Message: err.Error()}
		}
	}
	// The store keeps milliseconds; the answer must show what is stored.
	o.OrderedAt = o.OrderedAt.UTC().Truncate(time.Millisecond)
	sandbox := in.Test || m.Mode == baoguan.ModeSandbox
	a := s.adapters(sandbox)
	if a.Channel == nil || a.Port == nil && len(a.Routes) == 0 {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "merchant", Reason: "no_live_adapters",
			Message: "this installation has no live payment channel or customs port; use the sandbox"}
	}
	if c, ok := a.Channel.(interface{ Supports(baoguan.Channel) bool }); ok && !c.Supports(o.Channel) {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "channel", Reason: "unsupported_channel",
			Message: "this installation's live payment channel does not take " + string(o.Channel) +
				" payments: push orders paid elsewhere (channel external, with the payment number and the payment company)"}
	}
	if o.NeedDeclare && len(in.Declarations) == 0 {
		return nil, baoguan.FieldError("customs", "customs is required when the order is to be declared")
	}
	// The checks fill defaults in (the code as the catalogue spells it,
	// the strategy, the orderer's ID type): on specs of its own, since the
	// caller's may be shared (the same order pushed twice at once; a batch
	// check that leaves the caller's input as given). Written in place,
	// two pushes of one input raced (go test -race).
	in.Declarations = ownSpecs(in.Declarations)
	entries := make([]baoguan.CustomsEntry, len(in.Declarations))
	for i := range in.Declarations {
		e, err := in.Declarations[i].ValidateShared()
		if err != nil {
			return nil, err
		}
		// The order is not paid yet: the amount rule bounds the fee by the
		// order amount.
		if err := baoguan.CheckDeclaredTotal(o, in.Declarations[i].OrderFee, nil); err != nil {
			return nil, err
		}
		entries[i] = e
	}
	return entries, nil
}

// ownSpecs copies ds and the orderers they point to.
func ownSpecs(ds []baoguan.DeclarationSpec) []baoguan.DeclarationSpec {
	if len(ds) == 0 {
		return ds
	}
	out := slices.Clone(ds)
	for i := range out {
		if p := out[i].Payer; p != nil {
			c := *p
			out[i].Payer = &c
		}
	}
	return out
}

// createPreparedTx stores an order whose input prepareOrder has checked,
// with its customs entries and fingerprint, outside the transaction.
func (s *Service) createPreparedTx(tx baoguan.Tx, q *queue, m *baoguan.Merchant, in *OrderInput, entries []baoguan.CustomsEntry, fp string, batchID int64) (*baoguan.Order, []baoguan.Declaration, bool, error) {
	now := tx.Now()
	o := newOrder(m, in, fp, batchID, now)
	// A payment an in-process adapter makes is queued on the order itself,
	// written with its insert (payments.go: the order as its own pay queue).
	onOrder := !in.Hold && s.payOnOrder(&o)
	if onOrder {
		o.PayDueAt = now
	}
	// On a store that inserts an order with its declarations in one
	// statement (PostgreSQL), a new unpaid order's declarations are
	// planned first and go with it; otherwise they are planned after.
	insert := func() error { return tx.CreateOrder(&o) }
	var decls []baoguan.Declaration
	if w, ok := tx.(orderWithDeclarations); ok && w.OrderWithDeclarationsAtOnce() && !o.Paid() {
		planned, ok, err := s.planBeforeInsert(w, &o, in, entries)
		if err != nil {
			return nil, nil, false, err
		}
		if ok {
			insert, decls = func() error { return w.CreateOrderWith(&o, planned) }, planned
		}
	}
	// The insert takes the order number (idempotency.go): a number taken
	// already is answered as a repeat.
	for {
		err := insert()
		if baoguan.ErrorCode(err) != baoguan.ECONFLICT || baoguan.ErrorField(err) != "merchant_order_no" {
			if err != nil {
				return nil, nil, false, err
			}
			break
		}
		prev, err := orderTaken(tx, m.ID, o.MerchantOrderNo, fp)
		if err != nil || prev != nil {
			return prev, nil, false, err
		}
	}
	// The pay job before the declarations planned after the insert: on
	// PostgreSQL its insert travels with theirs (Tx.EnqueueLater) instead
	// of on a round trip of its own.
	switch {
	case onOrder:
		q.n++
	case !in.Hold:
		if err := s.scheduleNewPay(q, &o, now); err != nil {
			return nil, nil, false, err
		}
	}
	if decls != nil {
		return &o, decls, true, nil
	}
	decls = []baoguan.Declaration{}
	for i, spec := range in.Declarations {
		ds, err := s.planDeclarations(tx, &o, spec, entries[i], nil, decls)
		if err != nil {
			return nil, nil, false, err
		}
		if len(decls) == 0 && len(ds) > 0 {
			decls = ds // the first spec's, as planned: no copy
		} else {
			decls = append(decls, ds...)
		}
	}
	return &o, decls, true, nil
}

// orderWithDeclarations is a Tx that inserts an order and its new
// declarations in one statement (sqlstore.Tx.CreateOrderWith).
type orderWithDeclarations interface {
	baoguan.Tx
	OrderWithDeclarationsAtOnce() bool
	CreateOrderWith(o *baoguan.Order, ds []baoguan.Declaration) error
}

// planBeforeInsert plans a new order's declarations before the order is
// inserted, for a store that inserts them with it: they need nothing of
// the order's row but its id, which the store sets. ok is false, with
// nothing written, when they cannot be planned so (a target planned
// twice): the caller plans them after the insert, as on other stores.
func (s *Service) planBeforeInsert(tx baoguan.Tx, o *baoguan.Order, in *OrderInput, entries []baoguan.CustomsEntry) (decls []baoguan.Declaration, ok bool, err error) {
	sink := []baoguan.Declaration{}
	planned := []baoguan.Declaration{}
	for i, spec := range in.Declarations {
		ds, err := s.planDeclarationsInto(tx, o, spec, entries[i], nil, planned, &sink)
		if errors.Is(err, errSlowChunk) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		planned = append(planned, ds...)
	}
	return sink, true, nil
}

// newOrder is the order an input whose fingerprint is fp creates, before
// it is stored.
func newOrder(m *baoguan.Merchant, in *OrderInput, fp string, batchID int64, now time.Time) baoguan.Order {
	o := in.Order
	o.MerchantID = m.ID
	o.Fingerprint = fp
	o.BatchID = batchID
	o.Sandbox = in.Test || m.Mode == baoguan.ModeSandbox
	o.PayStatus = baoguan.PayNotPayed
	o.DeclareStatus = baoguan.DeclareNone
	o.PayAttempts = 1
	if o.OrderedAt.IsZero() {
		o.OrderedAt = now
	}
	if len(in.Declarations) > 0 {
		o.DeclareStatus = baoguan.DeclarePending
	}
	return o
}

// Order returns one of the merchant's orders by its number. ENOTFOUND.
func (s *Service) Order(ctx context.Context, m *baoguan.Merchant, no string) (*baoguan.Order, error) {
	var o *baoguan.Order
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		o, err = tx.OrderByNo(m.ID, no)
		return err
	})
	return o, err
}

// OrderView is an order with its declarations and refunds, as queries show it.
type OrderView struct {
	Order        *baoguan.Order
	Declarations []baoguan.Declaration
	Refunds      []baoguan.Refund
}

// OrderDetail returns an order with its declarations and refunds. ENOTFOUND.
func (s *Service) OrderDetail(ctx context.Context, m *baoguan.Merchant, no string) (*OrderView, error) {
	v := &OrderView{}
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if v.Order, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		if v.Declarations, err = tx.Declarations(m.ID, v.Order.ID); err != nil {
			return err
		}
		v.Refunds, err = tx.Refunds(m.ID, v.Order.ID)
		return err
	})
	return v, err
}

// Orders lists the merchant's orders.
func (s *Service) Orders(ctx context.Context, m *baoguan.Merchant, f baoguan.OrderFilter) ([]baoguan.Order, error) {
	f.MerchantID = m.ID
	var out []baoguan.Order
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.ListOrders(f)
		return err
	})
	return out, err
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

// UpdateOrder replaces the content of an existing order and has it paid and
// declared again (pushorder's OperationType "U" is one front-end of it). in
// is the whole new order, as for CreateOrder; the order is found by
// in.Order.MerchantOrderNo.
//
// What may change depends on how far the order got:
//
//   - not paid (NOT_PAYED with no payment under way, or PAY_FAILED): every
//     field the merchant sent. A failed payment starts a new payment round,
//     as RearrangePay does; an order that was never handed to the channel
//     (held) gets its pay job now.
//   - paid, with a declaration that failed and none in flight: everything
//     but the amount, which is money that already moved. The failed
//     declarations are declared again with the new payer, which is how a
//     merchant fixes a wrong name or ID number.
//
// The customs targets cannot change in either case (declarations are kept,
// never deleted), nor can a sandbox order become a live one or the reverse.
// The order's Fingerprint is not changed: it keeps the content the order
// was created with, so repeating that creation still answers with the
// order.
//
// Errors: EINVALID naming the field, EMERCHANT, ENOTFOUND (no such order),
// ESTATE with reason "paid_and_declared" (every declaration succeeded),
// "payment_in_progress", "declaration_in_flight", "in_batch",
// "sandbox_mismatch", "customs_fixed", "amount_fixed" or "not_updatable".
func (s *Service) UpdateOrder(ctx context.Context, m *baoguan.Merchant, in OrderInput) (*baoguan.Order, error) {
	entries, err := s.prepareOrder(m, &in)
	if err != nil {
		return nil, err
	}
	var out *baoguan.Order
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		o, err := tx.OrderByNo(m.ID, in.Order.MerchantOrderNo)
		if err != nil {
			return err
		}
		ds, err := tx.Declarations(m.ID, o.ID)
		if err != nil {
			return err
		}
		if err := updatable(o, ds, &in, m); err != nil {
			return err
		}
		if err := sameTargets(o, ds, in.Declarations, entries); err != nil {
			return err
		}
		if o.Paid() {
			err = s.updatePaidTx(tx, o, ds, &in)
		} else {
			err = s.updateUnpaidTx(tx, q, o, &in, entries)
		}
		out = o
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// updatable refuses updates the order's state does not allow. The order of
// the checks is the order of the answers a merchant most needs: "already
// done" before "not now".
func updatable(o *baoguan.Order, ds []baoguan.Declaration, in *OrderInput, m *baoguan.Merchant) error {
	no := o.MerchantOrderNo
	state := func(reason, msg string) error {
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: reason, Message: msg}
	}
	if o.Paid() && len(ds) > 0 && o.DeclareStatus == baoguan.DeclareDone {
		return state("paid_and_declared", "order "+no+" is paid and declared; there is nothing to pay or declare again")
	}
	if o.BatchID != 0 && !o.Paid() {
		return state("in_batch", "order "+no+" belongs to a batch that pays it; it cannot be updated on its own")
	}
	if sandbox := in.Test || m.Mode == baoguan.ModeSandbox; sandbox != o.Sandbox {
		if o.Sandbox {
			return state("sandbox_mismatch", "order "+no+" is a test order; update it through the test endpoint")
		}
		return state("sandbox_mismatch", "order "+no+" is a production order; update it through the production endpoint")
	}
	switch o.PayStatus {
	case baoguan.PayNotPayed, baoguan.PayFailed:
	case baoguan.PaySucceed:
		for i := range ds {
			if !ds[i].Final() && ds[i].State != baoguan.DeclUndeclared {
				return state("declaration_in_flight", "the declaration of order "+no+" to "+ds[i].Customs+" is "+
					string(ds[i].State)+"; wait for its outcome")
			}
		}
		if in.Order.Amount != o.Amount {
			return state("amount_fixed", "order "+no+" is paid "+baoguan.FormatYuan(o.Amount)+
				"; the amount of a paid order cannot change")
		}
	case baoguan.PayApplied, baoguan.PaySMSConfirmed:
		return state("payment_in_progress", "order "+no+" is being paid ("+string(o.PayStatus)+"); wait for the outcome")
	default:
		return state("not_updatable", "order "+no+" is "+string(o.PayStatus)+" and can no longer be updated")
	}
	return nil
}

// sameTargets refuses an update that names other customs targets than the
// order already has: a declaration, once created, is kept with its history.
func sameTargets(o *baoguan.Order, ds []baoguan.Declaration, specs []baoguan.DeclarationSpec, entries []baoguan.CustomsEntry) error {
	if len(ds) == 0 {
		return nil
	}
	var want, have []string
	for i, spec := range specs {
		for _, code := range entries[i].Plan {
			want = append(want, code+"\x00"+spec.SubOrderNo)
		}
	}
	for _, d := range ds {
		have = append(have, d.Customs+"\x00"+d.SubOrderNo)
	}
	slices.Sort(want)
	slices.Sort(have)
	if slices.Equal(slices.Compact(want), slices.Compact(have)) {
		return nil
	}
	return &baoguan.Error{Code: baoguan.ESTATE, Field: "customs", Reason: "customs_fixed",
		Message: "order " + o.MerchantOrderNo + " is declared to " + ds[0].Customs + "; its customs target cannot change"}
}

// updateUnpaidTx replaces an unpaid order's content and queues its payment.
// A pay job of the current round that already exists means the channel may
// be paying the old content right now, so the update is refused rather than
// racing it.
func (s *Service) updateUnpaidTx(tx baoguan.Tx, q *queue, o *baoguan.Order, in *OrderInput, entries []baoguan.CustomsEntry) error {
	n := in.Order
	o.Amount, o.Currency, o.Subject, o.Items = n.Amount, n.Currency, n.Subject, n.Items
	o.Payer, o.NotifyURL, o.NeedDeclare, o.Channel = n.Payer, n.NotifyURL, n.NeedDeclare, n.Channel
	o.CapitalName, o.Extra, o.Payment = n.CapitalName, n.Extra, n.Payment
	if !n.OrderedAt.IsZero() {
		o.OrderedAt = n.OrderedAt
	}
	if o.PayStatus == baoguan.PayFailed {
		if err := o.MovePay(baoguan.PayNotPayed); err != nil {
			return err
		}
		o.PayAttempts++
	}
	for i, spec := range in.Declarations {
		if _, err := s.planDeclarations(tx, o, spec, entries[i], &o.Payer, nil); err != nil {
			return err
		}
	}
	before := q.n
	if err := s.schedulePay(q, o, tx.Now()); err != nil {
		return err
	}
	if q.n == before {
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: "payment_in_progress",
			Message: "order " + o.MerchantOrderNo + " is being paid; wait for the outcome"}
	}
	return s.saveUpdated(tx, o)
}

// updatePaidTx takes the new non-money content of a paid order and declares
// its failed declarations again with the new payer.
func (s *Service) updatePaidTx(tx baoguan.Tx, o *baoguan.Order, ds []baoguan.Declaration, in *OrderInput) error {
	n := in.Order
	o.Subject, o.Items, o.Payer, o.CapitalName, o.Extra = n.Subject, n.Items, n.Payer, n.CapitalName, n.Extra
	if !n.OrderedAt.IsZero() {
		o.OrderedAt = n.OrderedAt
	}
	o.NeedDeclare = o.NeedDeclare || n.NeedDeclare
	specs := in.Declarations
	if len(ds) > 0 {
		// Declare again what failed, keeping each declaration's own terms
		// but taking the extras and strategy the merchant sent now.
		specs = nil
		for _, d := range ds {
			if !d.Final() || d.State == baoguan.DeclSuccess {
				continue
			}
			spec := specOf(d)
			for _, x := range in.Declarations {
				if x.Customs == d.Customs && x.SubOrderNo == d.SubOrderNo {
					spec.Extras, spec.Strategy, spec.MerchantCustomsNo = x.Extras, x.Strategy, x.MerchantCustomsNo
				}
			}
			specs = append(specs, spec)
		}
	}
	for _, spec := range specs {
		e, err := spec.Validate()
		if err != nil {
			return err
		}
		if _, err := s.planDeclarations(tx, o, spec, e, &o.Payer, nil); err != nil {
			return err
		}
	}
	return s.saveUpdated(tx, o)
}

// saveUpdated writes the updated order with the declare status its
// declarations now give (refreshDeclareStatus writes only a changed status;
// here the content changed too).
func (s *Service) saveUpdated(tx baoguan.Tx, o *baoguan.Order) error {
	ds, err := tx.Declarations(o.MerchantID, o.ID)
	if err != nil {
		return err
	}
	o.DeclareStatus = baoguan.DeriveDeclareStatus(ds)
	return tx.UpdateOrder(o)
}

// Order.Extra keys the core reads. A payment mode's parameter is kept on
// the order (the QR code type, the card agreement), so a later call (a new
// code, a new SMS code) can use the last value; the customs target an order
// was created with, when it was not declared at once, is kept so a later
// declaration can default to it (PatchAndDeclare).
const (
	ExtraQRType   = "qr_code_type"
	ExtraAgreeID  = "agreeid"
	ExtraCustoms  = "customs"
	ExtraAreaCode = "customs_area_code"
	ExtraJyOrg    = "customs_jy_org"
	ExtraInType   = "customs_in_type"
)
