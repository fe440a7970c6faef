package baoguan

import (
	"context"
	"time"
)

// JobReceipts is the periodic job that collects the receipts an
// asynchronous customs port received on its own (files the E-Port client
// drops): one job per port, dedupe key "receipts:<port name>", which
// reschedules itself.
const JobReceipts = "receipts"

// CustomsReceipt is one receipt a customs port received about one
// declaration attempt, as stored: the port's own status code and text,
// kept whether or not a declaration is known for its reference.
type CustomsReceipt struct {
	ID            int64
	Port          string    // the port's name ("eport")
	Ref           string    // the attempt's reference (the CEB guid), as Declaration.PortRef holds it
	MerchantID    int64     // 0 when no declaration has Ref
	DeclarationID int64     // 0 when no declaration has Ref
	Status        string    // the port's status code (CEB returnStatus)
	Info          string    // the port's text (CEB returnInfo)
	ReturnTime    time.Time // when the far side issued it; zero when unknown
	Raw           string    // the receipt as received, without personal data
	Source        string    // where it came from (a file name)
	ReceivedAt    time.Time
}

// ReceiptReader is a customs port whose receipts arrive on their own
// rather than as answers to Receipt calls. Core runs its JobReceipts job,
// which calls ReadReceipts; the port hands each batch it read (one file) to
// store and must keep the batch (not archive it) unless store returned nil,
// so a crash reads it again (storing is idempotent). The port's Declare
// and Receipt then find what was stored in DeclareRequest.Receipts.
type ReceiptReader interface {
	CustomsPort
	// ReadReceipts reads what arrived. The error is the port's own (a
	// folder it cannot read) or store's; the job retries it.
	ReadReceipts(ctx context.Context, store func(ctx context.Context, rs []CustomsReceipt) error) error
	// ReadEvery is how long the job waits between two reads.
	ReadEvery() time.Duration
}

// RefPlanner is a customs port that knows the reference of a declaration
// attempt before it makes the call (E-Port: the CEB guid is derived from
// the declaration and the attempt). Core then stores the attempt (state
// SUBMITTED, its number, time and reference) before calling Declare, so
// that what the port writes can always be traced back, whatever happens
// between writing and recording.
type RefPlanner interface {
	CustomsPort
	// PlanRef returns the reference of the attempt r.Declaration.Attempts
	// (already counted) of r.Declaration.
	PlanRef(r DeclareRequest) (string, error)
}
