package baoguan

import "time"

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

// CheckRefund enforces: the order is paid, the amount is positive, and all
// refunds that are not failed add up to at most the paid amount. open is
// the sum of the order's refunds that have not failed (pending included), so
// two concurrent refunds cannot together exceed the payment.
func CheckRefund(o *Order, amount, open int64) error {
	if !o.Paid() {
		return &Error{Code: ESTATE, Reason: "not_paid", Message: "order " + o.MerchantOrderNo + " is not paid; nothing to refund"}
	}
	if amount <= 0 {
		return &Error{Code: EINVALID, Field: "amount", Reason: "bad_amount", Message: "refund amount must be a positive number of fen"}
	}
	if open+amount > o.Amount {
		return &Error{Code: ELIMIT, Field: "amount", Reason: "refund_above_paid",
			Message: "refunds would total " + FormatYuan(open+amount) + ", above the paid amount " + FormatYuan(o.Amount)}
	}
	return nil
}
