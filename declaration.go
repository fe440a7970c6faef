package baoguan

import (
	"strings"
	"time"
)

// DeclState is the state of one declaration (WeChat's customs states, plus
// PENDING: queued inside baoguan, not yet handed to the port).
type DeclState string

const (
	DeclUndeclared DeclState = "UNDECLARED" // created; the order is not paid yet
	DeclPending    DeclState = "PENDING"    // a declare job is queued
	DeclSubmitted  DeclState = "SUBMITTED"  // handed to the customs port
	DeclProcessing DeclState = "PROCESSING" // the port acknowledged; waiting for the receipt
	DeclSuccess    DeclState = "SUCCESS"
	DeclFail       DeclState = "FAIL"
	DeclExcept     DeclState = "EXCEPT" // customs interface exception; retried while Retrying
)

var declTransitions = map[DeclState][]DeclState{
	DeclUndeclared: {DeclPending, DeclFail},
	DeclPending:    {DeclSubmitted, DeclFail, DeclExcept},
	DeclSubmitted:  {DeclProcessing, DeclSuccess, DeclFail, DeclExcept},
	DeclProcessing: {DeclSuccess, DeclFail, DeclExcept},
	DeclExcept:     {DeclPending, DeclFail},
	DeclFail:       {DeclPending}, // re-declare, usually with new payer data
	DeclSuccess:    {DeclPending}, // modify or re-declare
}

// CanMove reports whether from → to is a legal declaration transition.
func (from DeclState) CanMove(to DeclState) bool {
	for _, s := range declTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is a known declaration state.
func (s DeclState) Valid() bool { _, ok := declTransitions[s]; return ok }

// DeclStates lists every declaration state.
func DeclStates() []DeclState {
	return []DeclState{DeclUndeclared, DeclPending, DeclSubmitted, DeclProcessing, DeclSuccess, DeclFail, DeclExcept}
}

// Routes: the names of the customs port adapters a declaration can go
// through (Declaration.Route).
const (
	RouteSandbox   = "sandbox"   // the sandbox port: sandbox merchants and test orders
	RouteWeChatPay = "wechatpay" // WeChat Pay's customs API, with the merchant's WeChat Pay credentials
	RouteAlipay    = "alipay"    // Alipay's customs API, with the merchant's Alipay credentials
	RouteEPort     = "eport"     // China E-Port (CEB411), through the installation's own registration
	RouteAuto      = "auto"      // a route pin meaning "choose as usual"
)

// Identity-check results of a declaration (WiseCashier cert_check_result).
const (
	CheckUnchecked = "UNCHECKED"
	CheckSame      = "SAME"
	CheckDifferent = "DIFFERENT"
)

// Identity-check strategies (LianLian auth_check_strategy).
const (
	StrategyDiffPush   = "DIFF_PUSH"   // declare even when the declared payer differs from the real one
	StrategyDiffReject = "DIFF_REJECT" // fail the declaration instead
)

// Declaration is one payment record sent to one customs target, for one
// order or one of its sub-orders.
type Declaration struct {
	ID         int64
	OrderID    int64
	MerchantID int64
	Customs    string // catalogue code
	Port       string // catalogue port the code routes to
	// Route is the customs port adapter that carries the declaration
	// (RouteSandbox, RouteWeChatPay, RouteAlipay, RouteEPort). It is chosen
	// when the declaration is created and kept for its retries, polls,
	// modifications and re-declarations; only an operator changes it.
	Route             string
	Extras            CustomsExtras
	SubOrderNo        string // merchant's sub-order number; "" when not split
	SubOrderID        string // baoguan's id for the (sub-)declaration
	MerchantCustomsNo string // merchant's customs registration number
	OrderFee          int64  // fen; = TransportFee + ProductFee
	TransportFee      int64
	ProductFee        int64
	Duty              int64
	Strategy          string // StrategyDiffPush (default) or StrategyDiffReject
	IdentityCheck     string // CheckUnchecked, CheckSame, CheckDifferent
	// Payer is the identity declared; it may differ from the order's payer
	// after a re-declaration with corrected data.
	Payer Payer

	State                   DeclState
	Retrying                bool // an EXCEPT with a retry scheduled
	Explanation             string
	VerifyDepartment        string
	VerifyDepartmentTradeID string
	ReceiptCode             string
	PortRef                 string // the port's reference for polling
	Attempts                int    // times handed to the port
	SubmittedAt             time.Time
	ModifiedAt              time.Time
	CreatedAt               time.Time
	Version                 int64
}

// Move changes the state, refusing illegal transitions.
func (d *Declaration) Move(to DeclState) error {
	if d.State == to {
		return nil
	}
	if !d.State.CanMove(to) {
		return &Error{Code: ESTATE, Reason: "illegal_declaration_transition",
			Message: "declaration to " + d.Customs + " cannot move from " + string(d.State) + " to " + string(to)}
	}
	d.State = to
	if to != DeclExcept {
		d.Retrying = false
	}
	return nil
}

// Final reports whether the declaration has reached an outcome no job will change.
func (d *Declaration) Final() bool {
	switch d.State {
	case DeclSuccess, DeclFail:
		return true
	case DeclExcept:
		return !d.Retrying
	}
	return false
}

// DeclarationSpec is what a merchant asks to declare: where, and for a split
// order, which part. Zero fees mean "the whole declarable amount".
type DeclarationSpec struct {
	Customs           string
	Extras            CustomsExtras
	SubOrderNo        string
	MerchantCustomsNo string
	OrderFee          int64
	TransportFee      int64
	ProductFee        int64
	Duty              int64
	Strategy          string
	Split             bool // fees were given explicitly
	// DutyIncluded says the duty is part of what the payer paid and is
	// declared inside product_fee (ACCP's pay_gds_amt + pay_tax_amt):
	// ProductFee holds the goods' value, and Validate declares
	// product_fee = goods + duty, checked against MaxAmount.
	DutyIncluded bool `json:",omitempty"`
	// Payer is the orderer (订购人) to declare instead of the order's
	// payer, compared with the payer the payment recorded (SAME or
	// DIFFERENT): WiseCashier's cert_id and name. Nil declares the order's
	// payer or, when the order names none (a wallet payment), the payer the
	// wallet recorded, with nothing to compare (UNCHECKED).
	Payer *Payer `json:",omitempty"`
}

// Validate checks the spec against the catalogue and the fee rule
// order_fee = transport_fee + product_fee, every fee within 0 … MaxAmount
// and every text field through CheckText. It returns the catalogue entry.
// Errors are EINVALID naming the field.
func (s *DeclarationSpec) Validate() (CustomsEntry, error) {
	e, err := s.ValidateShared()
	return e.clone(), err
}

// ValidateShared is Validate returning the catalogue's own entry, not a
// copy: its slices must not be changed. Every pushed order is validated,
// and its plan is only read.
func (s *DeclarationSpec) ValidateShared() (CustomsEntry, error) {
	e, err := lookupCustoms(s.Customs)
	if err != nil {
		return e, err
	}
	s.Customs = e.Code
	if err := e.CheckExtras(s.Extras); err != nil {
		return e, err
	}
	if s.Strategy == "" {
		s.Strategy = StrategyDiffPush
	}
	if s.Strategy != StrategyDiffPush && s.Strategy != StrategyDiffReject {
		return e, &Error{Code: EINVALID, Field: "auth_check_strategy", Reason: "bad_strategy", Message: "strategy must be DIFF_PUSH or DIFF_REJECT"}
	}
	if s.SubOrderNo != "" {
		if err := CheckOrderNo("sub_order_no", s.SubOrderNo); err != nil {
			return e, err
		}
	}
	if p := s.Payer; p != nil {
		if strings.TrimSpace(p.Name) == "" {
			return e, &Error{Code: EINVALID, Field: "payer.name", Reason: "missing_name", Message: "the orderer's name is required with the ID number"}
		}
		if err := p.checkText(); err != nil {
			return e, err
		}
		if p.IDType == "" {
			p.IDType = IDTypeIDCard
		}
		if err := CheckIDFormat("payer.id_number", p.IDType, p.IDNumber); err != nil {
			return e, err
		}
	}
	for _, f := range []struct{ name, v string }{{"merchant_customs_no", s.MerchantCustomsNo},
		{string(ExtraAreaCode), s.Extras.AreaCode}, {string(ExtraJyOrg), s.Extras.JyOrg}, {string(ExtraInType), s.Extras.InType}} {
		if err := CheckText(f.name, f.v); err != nil {
			return e, err
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"order_fee", s.OrderFee}, {"transport_fee", s.TransportFee}, {"product_fee", s.ProductFee}, {"duty", s.Duty}} {
		if err := CheckAmount(f.name, f.v); err != nil {
			return e, err
		}
	}
	if s.DutyIncluded {
		sum, ok := AddAmounts(s.ProductFee, s.Duty)
		if !ok || sum > MaxAmount {
			return e, amountTooLarge("product_fee")
		}
		// Folded once: the spec now reads as any other, so validating it
		// again does not add the duty twice.
		s.ProductFee, s.DutyIncluded = sum, false
	}
	if s.Split || s.OrderFee != 0 || s.TransportFee != 0 || s.ProductFee != 0 {
		s.Split = true
		if s.OrderFee <= 0 {
			return e, &Error{Code: EINVALID, Field: "order_fee", Reason: "bad_amount", Message: "order_fee must be positive"}
		}
		// Each fee is at most MaxAmount, so the sum cannot wrap; it is
		// still formed the checked way.
		if sum, ok := AddAmounts(s.TransportFee, s.ProductFee); !ok || sum != s.OrderFee {
			return e, &Error{Code: EINVALID, Field: "order_fee", Reason: "split_fees_mismatch",
				Message: "order_fee " + FormatYuan(s.OrderFee) + " must equal transport_fee " + FormatYuan(s.TransportFee) + " + product_fee " + FormatYuan(s.ProductFee)}
		}
	}
	return e, nil
}

// DeriveDeclareStatus summarises an order's declarations as payzero's
// declare status: nothing in flight and all succeeded → DECLARED; any
// final failure and nothing in flight → DECLARE_FAILED.
func DeriveDeclareStatus(ds []Declaration) DeclareStatus {
	if len(ds) == 0 {
		return DeclareNone
	}
	waiting, flying, failed := 0, 0, 0
	for i := range ds {
		switch d := &ds[i]; {
		case d.State == DeclUndeclared || d.State == DeclPending && d.Attempts == 0:
			waiting++
		case d.State == DeclFail || d.State == DeclExcept && !d.Retrying:
			failed++
		case d.State == DeclSuccess:
		default:
			flying++
		}
	}
	switch {
	case flying > 0:
		return DeclareRunning
	case waiting > 0 && waiting+failed < len(ds):
		return DeclareRunning
	case waiting > 0:
		if failed > 0 {
			return DeclareRunning
		}
		return DeclarePending
	case failed > 0:
		return DeclareFailedSt
	}
	return DeclareDone
}
