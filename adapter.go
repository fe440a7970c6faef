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
	// Rate is the rate source's current rate of the order's currency to
	// CNY (zero for a CNY order). A wallet that converts at its own rate
	// reports that one in Payment.ExchangeRate; a channel that reports
	// none is recorded at this one.
	Rate Rate
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
	// Receipts are the receipts stored for the declaration, every attempt,
	// oldest first: filled for ReceiptReader ports only.
	Receipts []CustomsReceipt
	// Record, when set, takes the record of every call the port makes to
	// an upstream service for this request (masked: no secrets, no clear
	// ID numbers); core stores them with the attempt's outcome or retry.
	Record func(UpstreamCall)
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
	// IdentityCheck is the port's comparison of the declared payer with
	// the one who paid (CheckSame, CheckDifferent), when it made one (a
	// wallet knows its payer); empty leaves the declaration's as it is.
	IdentityCheck string
}

// InProcess is implemented by adapters that answer from within the process,
// at once, without I/O and without waiting for anything (the sandbox's).
// The job runner calls such an adapter inside the write transaction that
// records its answer, together with a batch of other jobs; every other
// adapter is called outside any transaction, by a worker of its own, so
// that a slow remote service never holds the database's writer.
type InProcess interface {
	InProcess() bool
}

// IsInProcess reports whether an adapter may be called inside a write
// transaction (see InProcess).
func IsInProcess(adapter any) bool {
	p, ok := adapter.(InProcess)
	return ok && p.InProcess()
}

// CustomsPort declares payment records to customs and reads receipts.
// Implementations must answer the same way when asked twice about the
// same declaration attempt (the job runner may repeat a call after a crash).
type CustomsPort interface {
	Name() string
	Declare(ctx context.Context, r DeclareRequest) (Receipt, error)
	Receipt(ctx context.Context, r DeclareRequest) (Receipt, error)
}

// The second step of a payment, and the adapters of payment modes other
// than "pay at once". Which of these a payment uses is decided by its
// order's Channel (see Channel.Flow); the pay job, the recording of the
// outcome, its events and the declarations it queues are the same for all.

// CompletingChannel is implemented by payment channels whose payments end
// in a second step: Pay (or CollectChannel.Collect) answers PAY_APPLIED,
// and the money moves when the payer types an SMS code or acts on a code
// or page. Complete is that step. Like Pay, it must answer a repeated call
// the same way. A live channel checks the action with its bank or wallet
// (the SMS code is sent on; a collection is queried by its number).
type CompletingChannel interface {
	Complete(ctx context.Context, r PayRequest, a PayerAction) (PayResult, error)
}

// PayerAction is what the payer did at the second step of a payment, as
// the gateway saw it.
type PayerAction struct {
	// SMSCode is the code the payer typed (card payments). A channel that
	// finds it wrong answers an *Error with code ESTATE and reason
	// sms_wrong.
	SMSCode string
	// Paid is the payer's choice on a page the gateway hosts for a
	// collection (the sandbox's stand-in for a wallet app): true paid,
	// false gave up.
	Paid bool
	// PayerName and PayerID are who paid, as typed on the sandbox wallet
	// page (the wallet's real-name holder); empty: the channel's default
	// payer.
	PayerName string
	PayerID   string
}

// CollectRequest asks a channel for what a payer pays an order with on
// their own device.
type CollectRequest struct {
	Order    *Order
	Merchant *Merchant
	// Kind is the code the payer is to use: a QR code type (QRTypes) for
	// qr; for the wallet modes, the order's Channel (native, jsapi, …)
	// says what is issued and Kind is empty. Empty when the order names
	// none (the channel picks its default).
	Kind string
	// Wallet is the wallet a wallet-mode order is paid with (WalletWeChat,
	// WalletAlipay); empty for qr.
	Wallet string
	Now    time.Time
}

// CollectCode is a channel's answer to a CollectRequest: the payment is
// applied for (the order becomes PAY_APPLIED) and its outcome arrives
// later, through CompletingChannel.Complete or the channel's callback.
type CollectCode struct {
	PSP string // the payment company that collects
	// URL is the code's content (a wallet's code_url, a cashier page). Empty
	// when the gateway hosts the page itself (the sandbox page).
	URL       string
	ExpiresAt time.Time // after it, the code cannot be paid
	// Params are what the payer's client needs besides the URL, as the
	// wallet issued them: a prepay id, the app and partner ids (jsapi,
	// miniprogram, app). The protocol front-end signs the client
	// parameters it hands out from them.
	Params map[string]string
}

// CollectChannel issues collections: QR codes, and the codes, client
// parameters and pages of the wallet modes (Channel.Flow, CollectRequest).
type CollectChannel interface {
	Collect(ctx context.Context, r CollectRequest) (CollectCode, error)
}

// AgreementRequest asks a bank to bind (apply) or confirm a card agreement
// for quick pay. CVV2 is passed on for the call and never stored.
type AgreementRequest struct {
	Merchant  *Merchant
	Agreement *CardAgreement
	CVV2      string
	Now       time.Time
}

// CardChannel binds bank cards for quick pay: ApplyAgreement has the bank
// send the card holder an SMS code and names the payment company;
// ConfirmAgreement sends the code on and returns the agreement number the
// bank issued. A wrong code is an *Error with code ESTATE and reason
// sms_wrong; a card the channel does not take is EINVALID naming the field.
// Payments by an agreement are Pay (PAY_APPLIED: an SMS code is sent) and
// CompletingChannel.Complete with the code.
type CardChannel interface {
	ApplyAgreement(ctx context.Context, r AgreementRequest) (psp string, err error)
	ConfirmAgreement(ctx context.Context, r AgreementRequest, code string) (agreeID string, err error)
}

// RealNameRequest asks whether a name and resident ID number belong
// together.
type RealNameRequest struct {
	Merchant *Merchant
	Name     string
	IDNo     string
	Now      time.Time
}

// RealNameVerifier checks a name and ID number against the public-security
// database, through a payment company or an identity provider. It fills
// Result (RealNamePass, …) and what the provider says of the holder (Birth,
// Sex, Addr); the core fills the rest.
type RealNameVerifier interface {
	VerifyRealName(ctx context.Context, r RealNameRequest) (RealNameCheck, error)
}

// RateRequest asks a rate source for the current rate of a currency.
type RateRequest struct {
	Currency Currency
	Merchant *Merchant // nil: the installation's default
	Now      time.Time
}

// RateSource gives the current rate of a currency to CNY (CNY per unit):
// a wallet's reference rate, the sandbox's fixed table. An operator's rate
// (Tx.PutRate) wins over it. Errors are retried like a channel's.
type RateSource interface {
	Rate(ctx context.Context, r RateRequest) (Rate, error)
}
