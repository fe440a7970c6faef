package core

import (
	"context"
	"maps"
	"strings"

	"github.com/baoguan/baoguan"
)

// PayzeroDeclareInput is payzero's 8.1 declaration request. Every field
// but the order number may be left empty, which keeps the value last given
// for the order (payer on the order, customs target on its latest
// declaration or, for an order created with needDeclare false, as sent
// when it was created).
type PayzeroDeclareInput struct {
	OrderNo                        string
	PayerName, PayerID, PayerPhone string
	Customs                        string
	Extras                         baoguan.CustomsExtras
}

// PayzeroDeclare declares a paid order to customs, or declares it again
// with corrected payer or customs data after a failure (payzero 8.1). It
// is one transaction: the merged payer is saved on the order and on the
// declaration, and the declare job is queued.
// Errors: ENOTFOUND; ESTATE reason not_paid or declaration_in_flight;
// EINVALID naming the field (customs when no target was ever given);
// ELIMIT.
func (s *Service) PayzeroDeclare(ctx context.Context, m *baoguan.Merchant, in PayzeroDeclareInput) ([]baoguan.Declaration, error) {
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

// PayzeroRefund refunds part of an order (payzero 9.1). payzero refuses
// refunds of orders paid by automatic payment (§2) or virtual payment
// (§6): no shopper's money moved through it for them.
// Errors: those of CreateRefund; ESTATE reason refund_not_supported.
func (s *Service) PayzeroRefund(ctx context.Context, m *baoguan.Merchant, in RefundInput) (*baoguan.Refund, bool, error) {
	if err := baoguan.CheckOrderNo("order_no", in.OrderNo); err != nil {
		return nil, false, err
	}
	o, err := s.Order(ctx, m, in.OrderNo)
	if err != nil {
		return nil, false, err
	}
	if o.Channel == baoguan.ChannelAuto || o.Channel == baoguan.ChannelMock {
		return nil, false, &baoguan.Error{Code: baoguan.ESTATE, Reason: "refund_not_supported",
			Message: "订单 " + in.OrderNo + " 经由自动支付或无支付推单创建，无法退款"}
	}
	return s.CreateRefund(ctx, m, in)
}

// MaxBatchPageSize is the largest page of a batch's orders (payzero 2.5).
const MaxBatchPageSize = 100

// BatchOrderPage returns one page of a batch's orders, newest first, each
// with its declarations, and the batch's order count (payzero 2.5). page
// counts from 1. Errors: ENOTFOUND; EINVALID field page or pagesize.
func (s *Service) BatchOrderPage(ctx context.Context, m *baoguan.Merchant, batchID int64, page, size int) ([]OrderView, int, error) {
	if page < 1 {
		return nil, 0, baoguan.FieldError("page", "page counts from 1")
	}
	if size < 1 || size > MaxBatchPageSize {
		return nil, 0, baoguan.FieldError("pagesize", "pagesize must be from 1 to %d", MaxBatchPageSize)
	}
	var out []OrderView
	total := 0
	err := s.View(ctx, func(tx baoguan.Tx) error {
		if _, err := tx.Batch(m.ID, batchID); err != nil {
			return err
		}
		var err error
		f := baoguan.OrderFilter{MerchantID: m.ID, BatchID: batchID}
		if total, err = tx.CountOrders(f); err != nil {
			return err
		}
		skip := (page - 1) * size
		if skip >= total {
			return nil
		}
		f.Newest = true
		for skip > 0 {
			f.Limit = min(skip, 1000)
			os, err := tx.ListOrders(f)
			if err != nil || len(os) == 0 {
				return err
			}
			skip -= len(os)
			f.Cursor = os[len(os)-1].ID
		}
		f.Limit = size
		os, err := tx.ListOrders(f)
		if err != nil {
			return err
		}
		for i := range os {
			v := OrderView{Order: &os[i]}
			if v.Declarations, err = tx.Declarations(m.ID, os[i].ID); err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, total, err
}
