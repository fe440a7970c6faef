package baoguan

import (
	"context"
	"time"
)

// PayRequest asks a payment channel to pay an order.
type PayRequest struct {
	Order    *Order
	Merchant *Merchant
	Attempt  int // 1 for the first try of this payment round
	Now      time.Time
}

// PayResult is a channel's answer. Status is PAY_SUCCEED, PAY_FAILED, or
// PAY_APPLIED when the outcome comes later (QR code, SMS confirmation).
type PayResult struct {
	Status  PayStatus
	Payment Payment
	// Debit is the amount the core must take from the merchant's funding
	// account in the same transaction that records the success ("auto").
	Debit int64
}

// RefundRequest asks a channel to refund part of a payment.
type RefundRequest struct {
	Refund  *Refund
	Order   *Order
	Attempt int
	Now     time.Time
}

// RefundResult is the channel's answer: REFUND_SUCCEED or REFUND_FAILED
// (with Reason), or REFUND_REQUESTED when the outcome comes later.
type RefundResult struct {
	Status   RefundStatus
	RefundNo string
	Reason   string
}

// PaymentChannel moves money. A returned error is retried by the job runner
// unless it is wrapped with Permanent; a business refusal is a result
// (PAY_FAILED with a reason), not an error.
type PaymentChannel interface {
	Name() string
	Pay(ctx context.Context, r PayRequest) (PayResult, error)
	Refund(ctx context.Context, r RefundRequest) (RefundResult, error)
}

// DeclareRequest hands one declaration to a customs port.
type DeclareRequest struct {
	Declaration *Declaration
	Order       *Order
	Merchant    *Merchant
	Now         time.Time
}

// Receipt is a customs port's answer about one declaration. State is
// PROCESSING (ask again after RetryAfter), SUCCESS, FAIL or EXCEPT.
type Receipt struct {
	State                   DeclState
	Ref                     string // the port's reference, kept for polling
	Explanation             string
	VerifyDepartment        string
	VerifyDepartmentTradeID string
	ReceiptCode             string
	RetryAfter              time.Duration
}

// CustomsPort declares payment records to customs and reads receipts.
// Implementations must answer the same way when asked twice about the
// same declaration attempt (the job runner may repeat a call after a crash).
type CustomsPort interface {
	Name() string
	Declare(ctx context.Context, r DeclareRequest) (Receipt, error)
	Receipt(ctx context.Context, r DeclareRequest) (Receipt, error)
}
