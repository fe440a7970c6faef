package baoguan

// The split and amount rule of declarations, in one place. A declaration is
// split when the merchant gave its fees (order_fee = transport_fee +
// product_fee, checked by DeclarationSpec.Validate), usually for one
// sub-order; an unsplit one declares the order's whole declarable amount.
// Whatever the split, what is declared to one customs code never exceeds
// the order amount before payment, nor paid − refunded after it.

// SetFees gives d its fees for order o: a split declaration keeps the fees
// it carries; an unsplit one declares o.Declarable() as product fee, which
// is 0 until the order is paid (the fees are set again when it is).
func (d *Declaration) SetFees(o *Order, split bool) {
	if !split {
		d.OrderFee, d.ProductFee, d.TransportFee = o.Declarable(), o.Declarable(), 0
	}
}

// CountsToward returns the declarations of ds that count toward the
// declared total of the target (customs, subOrderNo) besides the target
// itself: the other declarations to the same customs code that have not
// failed.
func CountsToward(ds []Declaration, customs, subOrderNo string) []Declaration {
	var out []Declaration
	for _, x := range ds {
		if x.Customs == customs && x.SubOrderNo != subOrderNo && x.State != DeclFail {
			out = append(out, x)
		}
	}
	return out
}

// CheckDeclaredTotal enforces the amount rule for a declaration of fee to
// one customs code, others being what CountsToward returns: before the
// order is paid the fee may not exceed the order amount (of a CNY order),
// once it is paid the total may not exceed paid − refunded, in CNY. The
// comparison cannot wrap (SumExceeds): fees of 9223372036854775807 and 2
// exceed every limit. ELIMIT reason declared_above_paid, field order_fee.
func CheckDeclaredTotal(o *Order, fee int64, others []Declaration) error {
	if !o.Paid() {
		if o.Currency != "" && o.Currency != CNY.Code {
			return nil // its CNY is known once paid; the bound applies then
		}
		if SumExceeds(o.Amount, fee) {
			return &Error{Code: ELIMIT, Field: "order_fee", Reason: "declared_above_paid",
				Message: "declared order_fee is above the order amount"}
		}
		return nil
	}
	vs := make([]int64, 0, len(others)+1)
	vs = append(vs, fee)
	for _, d := range others {
		vs = append(vs, d.OrderFee)
	}
	if SumExceeds(o.Declarable(), vs...) {
		total := "more than " + FormatYuan(MaxAmount)
		if s, ok := SumAmounts(vs...); ok && s >= 0 {
			total = FormatYuan(s)
		}
		return &Error{Code: ELIMIT, Field: "order_fee", Reason: "declared_above_paid",
			Message: "declared order_fee total " + total + " exceeds the paid amount less refunds " + FormatYuan(o.Declarable())}
	}
	return nil
}
