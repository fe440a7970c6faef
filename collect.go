package baoguan

import (
	"strings"
	"time"
)

// QRTypes are the QR code types a payer can be shown (payzero appendix
// A.3): the wallet that scans them.
var QRTypes = []string{"WECHATPAY", "ALIPAY", "UNIONPAY"}

// CheckQRType validates a QR code type: EINVALID field qr_code_type,
// reason bad_qr_type.
func CheckQRType(t string) error {
	for _, x := range QRTypes {
		if t == x {
			return nil
		}
	}
	return &Error{Code: EINVALID, Field: "qr_code_type", Reason: "bad_qr_type",
		Message: "qr_code_type must be one of " + strings.Join(QRTypes, ", ")}
}

// Collection is one code issued for an order paid in a collect mode (the
// payer pays on their own device). A newer collection for the same order
// replaces the older ones, which can no longer be paid.
type Collection struct {
	ID         int64
	Token      string // unguessable capability naming it: "<merchantID>-<32 hex>"
	MerchantID int64
	OrderID    int64
	OrderNo    string
	Kind       string // the code type (a QR code type, …)
	PSP        string
	URL        string // the channel's code content; empty when the gateway hosts the page
	// Params are the client parameters the channel issued (CollectCode).
	Params map[string]string
	// Closes says the order is closed unpaid (PAY_CANCELLED) when this
	// code expires unpaid: wallet modes (Channel.Wallet). A payzero QR
	// code that expires leaves the order waiting for a new code instead.
	Closes    bool
	IssuedAt  time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // when it was paid (or the payer gave up on it)
}

// Expired reports whether the collection can no longer be paid at now.
func (c *Collection) Expired(now time.Time) bool { return !now.Before(c.ExpiresAt) }

// Payable reports whether the payer can still pay o with this collection
// at now: the order waits for payment (PAY_APPLIED) and the code is
// neither used nor expired.
func (c *Collection) Payable(o *Order, now time.Time) bool {
	return o.PayStatus == PayApplied && c.UsedAt.IsZero() && !c.Expired(now)
}
