package baoguan

import "time"

// MaxBatchOrders is the most orders one batch upload may carry.
const MaxBatchOrders = 10000

// Batch groups orders uploaded together (payzero 2.1) so they can be paid
// and followed as one.
type Batch struct {
	ID         int64
	MerchantID int64
	No         string // display number, e.g. 20190320162344842
	Total      int    // orders in the batch
	Amount     int64  // fen, sum of the orders
	PayCalls   int    // times "pay" was triggered
	Protocol   string
	CreatedAt  time.Time
	UpdatedAt  time.Time

	// A batch is stored in chunks (core.CreateBatch), so that a large one
	// never holds the writer for long. Until its last chunk commits it is
	// loading: LoadingUntil is the loader's lease (a loader that finds it
	// passed knows the loader before it is gone), Loaded counts the
	// uploaded orders stored so far, and Fingerprint is the SHA-256 of the
	// uploaded orders, by which a repeat of the upload finds it. A loading
	// batch and its orders are hidden from lookups and lists. LoadingUntil
	// is zero once the batch is loaded.
	LoadingUntil time.Time
	Loaded       int
	Fingerprint  string
}

// Loading reports whether the batch's orders are still being stored.
func (b *Batch) Loading() bool { return !b.LoadingUntil.IsZero() }

// BatchSummary counts a batch's orders by outcome (payzero 2.3).
type BatchSummary struct {
	Total          int
	PaySucceed     int
	PayFailed      int
	PayOther       int
	DeclareSucceed int
	DeclareFailed  int
	DeclareOther   int
	PaidAmount     int64
	// Finished counts orders nothing more will happen to: payment failed
	// or cancelled, or paid and declared (or failed, or not to declare).
	// Finished/Total is a batch's progress.
	Finished int
}

// Add counts o in the summary as the stores' BatchSummary counts a batch's
// orders (sqlstore's qBatchSummary, whose CASE lists this mirrors), the
// derived counts (PayOther, DeclareOther) included.
func (s *BatchSummary) Add(o *Order) {
	s.Total++
	switch o.PayStatus {
	case PaySucceed:
		s.PaySucceed++
		s.PaidAmount += o.Amount
		switch o.DeclareStatus {
		case DeclareDone, DeclareFailedSt, DeclareNone:
			s.Finished++
		}
	case PayFailed:
		s.PayFailed++
		s.Finished++
	case PayCancelled:
		s.Finished++
	}
	switch o.DeclareStatus {
	case DeclareDone:
		s.DeclareSucceed++
	case DeclareFailedSt:
		s.DeclareFailed++
	}
	s.PayOther = s.Total - s.PaySucceed - s.PayFailed
	s.DeclareOther = s.Total - s.DeclareSucceed - s.DeclareFailed
}

// Merge adds the counts of t to s.
func (s *BatchSummary) Merge(t BatchSummary) {
	s.Total += t.Total
	s.PaySucceed += t.PaySucceed
	s.PayFailed += t.PayFailed
	s.PayOther += t.PayOther
	s.DeclareSucceed += t.DeclareSucceed
	s.DeclareFailed += t.DeclareFailed
	s.DeclareOther += t.DeclareOther
	s.PaidAmount += t.PaidAmount
	s.Finished += t.Finished
}
