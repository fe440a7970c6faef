package core

import (
	"context"
	"strings"

	"github.com/baoguan/baoguan"
)

// Identity: the declared payer compared with the payer on record, and the
// checks customs makes anyway, applied before a declaration is sent. The
// comparison is baoguan.SamePerson, the only one; the declare job, the
// pre-check of a declaration push and CheckPayer all reach it through
// identityCheck.

// identityCheck compares a declared payer with the payer the payment
// channel reported: CheckSame or CheckDifferent, or CheckUnchecked when the
// channel named nobody.
func identityCheck(o *baoguan.Order, p baoguan.Payer) string {
	if o.Payment.PayerID == "" {
		return baoguan.CheckUnchecked
	}
	if baoguan.SamePerson(p.Name, p.IDNumber, o.Payment.PayerName, o.Payment.PayerID) {
		return baoguan.CheckSame
	}
	return baoguan.CheckDifferent
}

// preCheck applies the identity rules before sending, and records the
// identity-check result on d (a declaration whose channel named nobody
// keeps its result). It returns the failure explanation, or "".
func (s *Service) preCheck(o *baoguan.Order, d *baoguan.Declaration) string {
	p := d.Payer
	// The payer on record declared as is (a wallet payment without an
	// orderer of its own) was compared with nothing: it stays UNCHECKED.
	onRecord := o.Payer.Name == "" && p.Name == o.Payment.PayerName && p.IDNumber == o.Payment.PayerID
	if c := identityCheck(o, p); c != baoguan.CheckUnchecked && !onRecord {
		d.IdentityCheck = c
	}
	if d.IdentityCheck == baoguan.CheckDifferent && d.Strategy == baoguan.StrategyDiffReject {
		return "订购人与实际支付人身份信息不一致，按 DIFF_REJECT 策略不予申报"
	}
	if o.Sandbox && s.SampleIdentity(p.IDNumber) {
		return ""
	}
	return baoguan.PreDeclarationCheck(p.Name, p.IDType, p.IDNumber)
}

// CheckPayer compares a payer identity with the payer on record for a
// declared order: the person the payment channel reported, or the order's
// payer when the channel reported none. It changes nothing: customs is
// always declared with the recorded payment's payer. It returns
// baoguan.CheckSame or baoguan.CheckDifferent, by baoguan.SamePerson.
// Errors: EINVALID (payer fields), ENOTFOUND (order or declaration),
// ESTATE (not paid).
func (s *Service) CheckPayer(ctx context.Context, m *baoguan.Merchant, t DeclarationTarget, p baoguan.Payer) (*baoguan.Order, *baoguan.Declaration, string, error) {
	if strings.TrimSpace(p.Name) == "" {
		return nil, nil, "", &baoguan.Error{Code: baoguan.EINVALID, Field: "payer.name", Reason: "missing_name", Message: "the payer's name is required"}
	}
	if err := baoguan.CheckIDFormat("payer.id_number", p.IDType, p.IDNumber); err != nil {
		return nil, nil, "", err
	}
	var o *baoguan.Order
	var d *baoguan.Declaration
	err := s.view(ctx, func(tx baoguan.Tx) error {
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
	onRecord := *o
	if onRecord.Payment.PayerName == "" && onRecord.Payment.PayerID == "" {
		onRecord.Payment.PayerName, onRecord.Payment.PayerID = o.Payer.Name, o.Payer.IDNumber
	}
	if identityCheck(&onRecord, p) == baoguan.CheckSame {
		return o, d, baoguan.CheckSame, nil
	}
	return o, d, baoguan.CheckDifferent, nil
}
