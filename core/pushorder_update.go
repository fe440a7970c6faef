package core

import (
	"context"
	"slices"

	"github.com/baoguan/baoguan"
)

// UpdateOrder replaces the content of an existing order and has it paid and
// declared again: pushorder's OperationType "U", which the vendor offers
// until an order is "已支付+报关" (9906). in is the whole new order, as for
// CreateOrder; the order is found by in.Order.MerchantOrderNo.
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
// No idempotency record is written: the order number's record keeps the
// content it was created with, so repeating that creation still answers
// with the order.
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
