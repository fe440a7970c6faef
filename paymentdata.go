package baoguan

import (
	"context"
	"time"
)

// Customs may ask a platform for the raw data of an order's payment (GACC
// announcement 2018 No. 179): it calls the platform, which answers at once
// and uploads the data later. Each request is kept, with its outcome.

// JobPaymentData uploads the payment data customs asked for.
const JobPaymentData = "payment_data"

// States of a PaymentDataRequest.
const (
	DataQueued       = "queued"        // an upload job is queued
	DataUploaded     = "uploaded"      // customs accepted the upload
	DataFailed       = "failed"        // customs refused it, or retries ran out
	DataUnknownOrder = "unknown_order" // no order (or sub-order) has the number
	DataAmbiguous    = "ambiguous"     // several merchants have an order with the number
)

// PaymentDataRequest is one request of customs for a payment's data.
type PaymentDataRequest struct {
	ID            int64
	Service       string    // the service that answers it ("eport")
	SessionID     string    // customs' session, unique per request
	OrderNo       string    // the order or sub-order number customs asked about
	MerchantNo    string    // the merchant the request came for ("" when customs called the shared address)
	MerchantID    int64     // 0 when no order was found
	OrderID       int64     // 0 likewise
	DeclarationID int64     // the sub-order's declaration when OrderNo is a sub-order number
	ServiceTime   time.Time // customs' time of the request
	State         string
	Code          string // customs' answer code to the upload
	Message       string // customs' answer message, or why the upload failed
	Attempts      int
	ReceivedAt    time.Time
	UpdatedAt     time.Time
}

// OrderMatch is an order (and, for a sub-order number, its declaration)
// found by a number customs gave.
type OrderMatch struct {
	MerchantID    int64
	OrderID       int64
	DeclarationID int64 // 0 when the number is the order's own
}

// PaymentDataUpload is what an uploader gets for one request.
type PaymentDataUpload struct {
	Request     *PaymentDataRequest
	Order       *Order
	Merchant    *Merchant
	Declaration *Declaration // the sub-order's declaration, or nil
	Now         time.Time
}

// PaymentDataAnswer is the far side's answer to an upload.
type PaymentDataAnswer struct {
	Code    string
	Message string
}

// PaymentDataUploader uploads the payment data customs asked for. A
// refusal that retrying cannot change is returned wrapped with Permanent,
// with the answer; other errors are retried by the job runner.
type PaymentDataUploader interface {
	Name() string
	UploadPaymentData(ctx context.Context, u PaymentDataUpload) (PaymentDataAnswer, error)
}
