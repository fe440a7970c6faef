package baoguan

import (
	"errors"
	"fmt"
	"testing"
)

// The transition tables are checked against an independent statement of
// the rules, pair by pair, so that a table edit that allows something the
// brief forbids fails here.
func TestPayTransitionsExhaustive(t *testing.T) {
	t.Parallel()
	allowed := map[[2]PayStatus]bool{
		{PayInitFeePending, PayNotPayed}: true, {PayInitFeePending, PayCancelled}: true,
		{PayNotPayed, PayApplied}: true, {PayNotPayed, PaySucceed}: true, {PayNotPayed, PayFailed}: true, {PayNotPayed, PayCancelled}: true,
		{PayApplied, PaySMSConfirmed}: true, {PayApplied, PaySucceed}: true, {PayApplied, PayFailed}: true, {PayApplied, PayCancelled}: true, {PayApplied, PayNotPayed}: true,
		{PaySMSConfirmed, PaySucceed}: true, {PaySMSConfirmed, PayFailed}: true,
		{PayFailed, PayNotPayed}: true, {PayFailed, PayApplied}: true, {PayFailed, PayCancelled}: true,
	}
	for _, from := range PayStatuses() {
		for _, to := range PayStatuses() {
			if from == to {
				continue
			}
			want := allowed[[2]PayStatus{from, to}]
			if got := from.CanMove(to); got != want {
				t.Errorf("%s → %s: CanMove = %v, want %v", from, to, got, want)
			}
			o := &Order{MerchantOrderNo: "X1", PayStatus: from}
			err := o.MovePay(to)
			if want != (err == nil) {
				t.Errorf("%s → %s: MovePay err = %v", from, to, err)
			}
			if err != nil && (ErrorCode(err) != ESTATE || o.PayStatus != from) {
				t.Errorf("%s → %s: refused move must be ESTATE and leave the status, got %v, %s", from, to, err, o.PayStatus)
			}
		}
	}
	// PAY_SUCCEED is final: nothing moves it.
	for _, to := range PayStatuses() {
		if to != PaySucceed && PaySucceed.CanMove(to) {
			t.Errorf("PAY_SUCCEED must be final, moves to %s", to)
		}
	}
}

func TestDeclarationTransitionsExhaustive(t *testing.T) {
	t.Parallel()
	allowed := map[[2]DeclState]bool{
		{DeclUndeclared, DeclPending}: true, {DeclUndeclared, DeclFail}: true,
		{DeclPending, DeclSubmitted}: true, {DeclPending, DeclFail}: true, {DeclPending, DeclExcept}: true,
		{DeclSubmitted, DeclProcessing}: true, {DeclSubmitted, DeclSuccess}: true, {DeclSubmitted, DeclFail}: true, {DeclSubmitted, DeclExcept}: true,
		{DeclProcessing, DeclSuccess}: true, {DeclProcessing, DeclFail}: true, {DeclProcessing, DeclExcept}: true,
		{DeclExcept, DeclPending}: true, {DeclExcept, DeclFail}: true,
		{DeclFail, DeclPending}: true, {DeclSuccess, DeclPending}: true,
	}
	for _, from := range DeclStates() {
		for _, to := range DeclStates() {
			if from == to {
				continue
			}
			want := allowed[[2]DeclState{from, to}]
			d := &Declaration{Customs: "HG014", State: from}
			err := d.Move(to)
			if want != (err == nil) {
				t.Errorf("%s → %s: Move err = %v, want allowed=%v", from, to, err, want)
			}
			if err != nil && d.State != from {
				t.Errorf("%s → %s: refused move changed the state", from, to)
			}
		}
	}
}

func TestRefundTransitionsExhaustive(t *testing.T) {
	t.Parallel()
	all := []RefundStatus{RefundInit, RefundRequested, RefundSucceed, RefundFailed}
	allowed := map[[2]RefundStatus]bool{
		{RefundInit, RefundRequested}: true, {RefundInit, RefundFailed}: true,
		{RefundRequested, RefundSucceed}: true, {RefundRequested, RefundFailed}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if from == to {
				continue
			}
			r := &Refund{MerchantRefundNo: "R1", Status: from}
			err := r.Move(to)
			if allowed[[2]RefundStatus{from, to}] != (err == nil) {
				t.Errorf("%s → %s: Move err = %v", from, to, err)
			}
		}
	}
}

func TestDeriveDeclareStatus(t *testing.T) {
	t.Parallel()
	d := func(s DeclState, attempts int, retrying bool) Declaration {
		return Declaration{State: s, Attempts: attempts, Retrying: retrying}
	}
	cases := []struct {
		name string
		ds   []Declaration
		want DeclareStatus
	}{
		{"none", nil, DeclareNone},
		{"waiting for payment", []Declaration{d(DeclUndeclared, 0, false)}, DeclarePending},
		{"queued", []Declaration{d(DeclPending, 0, false)}, DeclarePending},
		{"sent", []Declaration{d(DeclProcessing, 1, false)}, DeclareRunning},
		{"re-queued after a failure", []Declaration{d(DeclPending, 1, false)}, DeclareRunning},
		{"exception being retried", []Declaration{d(DeclExcept, 1, true)}, DeclareRunning},
		{"exception given up", []Declaration{d(DeclExcept, 5, false)}, DeclareFailedSt},
		{"success", []Declaration{d(DeclSuccess, 1, false)}, DeclareDone},
		{"two pushes, both done", []Declaration{d(DeclSuccess, 1, false), d(DeclSuccess, 1, false)}, DeclareDone},
		{"two pushes, one failed", []Declaration{d(DeclSuccess, 1, false), d(DeclFail, 1, false)}, DeclareFailedSt},
		{"two pushes, one still running", []Declaration{d(DeclFail, 1, false), d(DeclProcessing, 1, false)}, DeclareRunning},
		{"one done one waiting", []Declaration{d(DeclSuccess, 1, false), d(DeclPending, 0, false)}, DeclareRunning},
	}
	for _, c := range cases {
		if got := DeriveDeclareStatus(c.ds); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestDeclarationSpecValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		spec   DeclarationSpec
		field  string
		reason string
	}{
		{"whole order", DeclarationSpec{Customs: "HG014"}, "", ""},
		{"split adds up", DeclarationSpec{Customs: "GUANGZHOU_ZS", SubOrderNo: "S1", OrderFee: 1000, TransportFee: 200, ProductFee: 800}, "", ""},
		{"split does not add up", DeclarationSpec{Customs: "GUANGZHOU_ZS", SubOrderNo: "S1", OrderFee: 1000, TransportFee: 200, ProductFee: 700}, "order_fee", "split_fees_mismatch"},
		{"negative fee", DeclarationSpec{Customs: "HG014", TransportFee: -1}, "transport_fee", "bad_amount"},
		{"unknown customs", DeclarationSpec{Customs: "HG999"}, "customs", "unknown_customs_code"},
		{"empty customs", DeclarationSpec{}, "customs", "unknown_customs_code"},
		{"tianjin needs in type", DeclarationSpec{Customs: "HG026"}, "customs_in_type", "missing_customs_extra"},
		{"tianjin in type", DeclarationSpec{Customs: "HG026", Extras: CustomsExtras{InType: "1"}}, "", ""},
		{"bad strategy", DeclarationSpec{Customs: "HG014", Strategy: "MAYBE"}, "auth_check_strategy", "bad_strategy"},
	}
	for _, c := range cases {
		_, err := c.spec.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", c.name, err)
			}
			continue
		}
		if ErrorField(err) != c.field || ErrorReason(err) != c.reason {
			t.Errorf("%s: got field %q reason %q (%v), want %q %q", c.name, ErrorField(err), ErrorReason(err), err, c.field, c.reason)
		}
	}
}

func TestAmountRules(t *testing.T) {
	t.Parallel()
	paid := &Order{MerchantOrderNo: "A", Amount: 10000, PayStatus: PaySucceed, Refunded: 2500}
	if got := paid.Declarable(); got != 7500 {
		t.Fatalf("Declarable = %d, want 7500", got)
	}
	if err := CheckDeclaredTotal(paid, 5000, []Declaration{{OrderFee: 2500}}); err != nil {
		t.Errorf("7500 of 7500 declared must pass: %v", err)
	}
	if err := CheckDeclaredTotal(paid, 5001, []Declaration{{OrderFee: 2500}}); ErrorReason(err) != "declared_above_paid" {
		t.Errorf("7501 of 7500 must fail, got %v", err)
	}
	unpaid := &Order{MerchantOrderNo: "B", Amount: 10000, PayStatus: PayNotPayed}
	if err := CheckRefund(unpaid, 1, 0); ErrorReason(err) != "not_paid" {
		t.Errorf("refund of unpaid order: %v", err)
	}
	if err := CheckRefund(paid, 7000, 3000); err != nil {
		t.Errorf("refunds totalling the payment must pass: %v", err)
	}
	if err := CheckRefund(paid, 7001, 3000); ErrorReason(err) != "refund_above_paid" || ErrorField(err) != "amount" {
		t.Errorf("refunds above the payment must fail naming amount: %v", err)
	}
	if err := CheckRefund(paid, 0, 0); ErrorField(err) != "amount" {
		t.Errorf("zero refund: %v", err)
	}
}

func TestOrderValidate(t *testing.T) {
	t.Parallel()
	good := func() Order {
		return Order{MerchantOrderNo: "O-1", Amount: 100, Subject: "口红", Channel: ChannelMock, NeedDeclare: true,
			Payer: Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}}
	}
	cases := []struct {
		name  string
		edit  func(*Order)
		field string
	}{
		{"good", func(*Order) {}, ""},
		{"no order no", func(o *Order) { o.MerchantOrderNo = "" }, "merchant_order_no"},
		{"order no with space", func(o *Order) { o.MerchantOrderNo = "a b" }, "merchant_order_no"},
		{"zero amount", func(o *Order) { o.Amount = 0 }, "amount"},
		{"usd", func(o *Order) { o.Currency = "USD" }, "currency"},
		{"no subject", func(o *Order) { o.Subject = " " }, "subject"},
		{"item without subject", func(o *Order) { o.Items = []Item{{Subject: "a"}, {}} }, "items[1].subject"},
		{"bad channel", func(o *Order) { o.Channel = "cash" }, "channel"},
		{"external without payment no", func(o *Order) { o.Channel = ChannelExternal }, "payment_no"},
		{"no payer name", func(o *Order) { o.Payer.Name = "" }, "payer.name"},
		{"no id", func(o *Order) { o.Payer.IDNumber = "" }, "payer.id_number"},
		{"id not an id", func(o *Order) { o.Payer.IDNumber = "abc" }, "payer.id_number"},
		{"no phone", func(o *Order) { o.Payer.Phone = "" }, "payer.phone"},
		{"bad phone", func(o *Order) { o.Payer.Phone = "call me" }, "payer.phone"},
		{"undeclared needs no payer", func(o *Order) { o.NeedDeclare = false; o.Payer = Payer{} }, ""},
	}
	for _, c := range cases {
		o := good()
		c.edit(&o)
		err := o.Validate()
		if ErrorField(err) != c.field || (c.field != "" && ErrorCode(err) != EINVALID) {
			t.Errorf("%s: got %v (field %q), want field %q", c.name, err, ErrorField(err), c.field)
		}
	}
}

func TestMerchantActive(t *testing.T) {
	t.Parallel()
	for s, reason := range map[MerchantStatus]string{MerchantActive: "", MerchantArrears: "arrears", MerchantUnsigned: "unsigned"} {
		m := &Merchant{Status: s}
		if got := ErrorReason(m.Active()); got != reason {
			t.Errorf("%s: reason %q, want %q", s, got, reason)
		}
	}
}

// TestErrorMessageHidesInternals: only messages of public codes reach a
// caller; internal *Errors, code-less *Errors and plain errors do not.
func TestErrorMessageHidesInternals(t *testing.T) {
	t.Parallel()
	const secret = "open /var/lib/baoguan/baoguan.db: permission denied; key=0xDEADBEEF"
	internal := []error{
		errors.New(secret),
		fmt.Errorf("loading order: %w", errors.New(secret)),
		&Error{Code: EINTERNAL, Message: secret},
		fmt.Errorf("wrapped: %w", &Error{Code: EINTERNAL, Message: secret}),
		&Error{Message: secret},
		Permanent(errors.New(secret)),
	}
	for _, err := range internal {
		if got := ErrorMessage(err); got != InternalMessage {
			t.Errorf("ErrorMessage(%v) = %q, want %q", err, got, InternalMessage)
		}
		if got := ErrorCode(err); got != EINTERNAL {
			t.Errorf("ErrorCode(%v) = %q, want %q", err, got, EINTERNAL)
		}
	}
	for _, code := range []string{EINVALID, ENOTFOUND, ECONFLICT, ESTATE, EUNAUTHORIZED, EFORBIDDEN, ETOOLARGE, ELIMIT, EMERCHANT, EINSUFFICIENT} {
		err := fmt.Errorf("ctx: %w", &Error{Code: code, Message: "written for the caller"})
		if got := ErrorMessage(err); got != "written for the caller" {
			t.Errorf("ErrorMessage(%s) = %q", code, got)
		}
	}
}
