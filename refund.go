package baoguan

import (
	"math"
	"time"
)

// RefundStatus is a refund's state (payzero appendix A.8).
type RefundStatus string

const (
	RefundInit      RefundStatus = "REFUND_INIT"
	RefundRequested RefundStatus = "REFUND_REQUESTED"
	RefundSucceed   RefundStatus = "REFUND_SUCCEED"
	RefundFailed    RefundStatus = "REFUND_FAILED"
)

var refundTransitions = map[RefundStatus][]RefundStatus{
	RefundInit:      {RefundRequested, RefundFailed},
	RefundRequested: {RefundSucceed, RefundFailed},
	RefundSucceed:   nil,
	RefundFailed:    nil,
}

// CanMove reports whether from → to is a legal refund transition.
func (from RefundStatus) CanMove(to RefundStatus) bool {
	for _, s := range refundTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Refund returns part or all of a paid order's amount.
type Refund struct {
	ID               int64
	MerchantID       int64
	OrderID          int64
	MerchantOrderNo  string
	MerchantRefundNo string // unique per merchant
	Amount           int64
	Reason           string
	Status           RefundStatus
	FailReason       string
	RefundNo         string // baoguan's refund number at the channel
	// CNYAmount is the refund's CNY share (fen), fixed when it succeeds:
	// Amount itself for a CNY order, converted at the payment's recorded
	// rate for another currency (Order.RefundCNY).
	CNYAmount int64
	Protocol  string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Move changes the status, refusing illegal transitions.
func (r *Refund) Move(to RefundStatus) error {
	if r.Status == to {
		return nil
	}
	if !r.Status.CanMove(to) {
		return &Error{Code: ESTATE, Reason: "illegal_refund_transition",
			Message: "refund " + r.MerchantRefundNo + " cannot move from " + string(r.Status) + " to " + string(to)}
	}
	r.Status = to
	return nil
}

// CheckRefundRequest checks what a merchant sends to ask for a refund,
// before the order is read: the refund and order numbers (CheckOrderNo),
// an amount in 1 … MaxAmount unless rest (a refund of whatever is left,
// whose amount the order decides), and a reason that passes CheckText.
// Errors are EINVALID naming the field (refund_no, order_no, amount,
// reason).
func CheckRefundRequest(refundNo, orderNo string, amount int64, rest bool, reason string) error {
	if err := CheckOrderNo("refund_no", refundNo); err != nil {
		return err
	}
	if err := CheckOrderNo("order_no", orderNo); err != nil {
		return err
	}
	if !rest {
		if err := CheckPositiveAmount("amount", amount); err != nil {
			return err
		}
	}
	return CheckText("reason", reason)
}

// OpenRefunds is the sum of rs that have not failed (pending included):
// what CheckRefund calls open. A sum too large for int64 (rows from before
// amounts were bounded) is math.MaxInt64, which exceeds every payment.
func OpenRefunds(rs []Refund) int64 {
	amounts := make([]int64, 0, len(rs))
	for _, r := range rs {
		if r.Status != RefundFailed {
			amounts = append(amounts, r.Amount)
		}
	}
	open, ok := SumAmounts(amounts...)
	if !ok {
		return math.MaxInt64
	}
	return open
}

// Refundable is what can still be refunded of o, whose refunds are rs:
// the paid amount less OpenRefunds, never below zero; zero when o is not
// paid.
func (o *Order) Refundable(rs []Refund) int64 {
	if !o.Paid() {
		return 0
	}
	return max(o.Amount-OpenRefunds(rs), 0)
}

// CheckRefund enforces: the order is paid, the amount is positive and at
// most MaxAmount, and all refunds that are not failed add up to at most
// the paid amount. open is the sum of the order's refunds that have not
// failed (pending included), so two concurrent refunds cannot together
// exceed the payment. The comparison cannot wrap (SumExceeds): a refund of
// 9223372036854775807 after a refund of 1 is refused, not added into a
// negative total. Errors: ESTATE (not paid), EINVALID (amount), ELIMIT
// (refunds would exceed the paid amount).
func CheckRefund(o *Order, amount, open int64) error {
	if !o.Paid() {
		return &Error{Code: ESTATE, Reason: "not_paid", Message: "order " + o.MerchantOrderNo + " is not paid; nothing to refund"}
	}
	if err := CheckPositiveAmount("amount", amount); err != nil {
		return err
	}
	if SumExceeds(o.Amount, open, amount) {
		total := "more than " + FormatYuan(MaxAmount)
		if s, ok := AddAmounts(open, amount); ok && open >= 0 {
			total = FormatYuan(s)
		}
		return &Error{Code: ELIMIT, Field: "amount", Reason: "refund_above_paid",
			Message: "refunds would total " + total + ", above the paid amount " + FormatYuan(o.Amount)}
	}
	return nil
}
