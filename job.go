package baoguan

import "time"

// Job kinds. Each is a side effect run at least once by the job runner, with
// an idempotent handler.
const (
	JobPay     = "pay"     // ask the payment channel to pay an order
	JobDeclare = "declare" // hand a declaration to its customs port
	JobPoll    = "poll"    // ask the customs port for a declaration's receipt
	JobNotify  = "notify"  // deliver an event to a merchant URL
	JobRefund  = "refund"  // ask the channel to refund
	// JobExpire closes wallet-mode orders whose codes expired unpaid. One
	// job (dedupe key "expire") that reschedules itself, created when the
	// first such code is issued.
	JobExpire = "expire"
)

// JobState is where a job is in its life.
type JobState string

const (
	JobQueued  JobState = "queued"  // waiting for RunAt
	JobRunning JobState = "running" // claimed; LeaseUntil bounds the claim
	JobDone    JobState = "done"
	JobDead    JobState = "dead" // retries exhausted or a permanent error; kept and visible
)

// Job is a durable unit of work. It is written in the same transaction as the
// state change that causes it; DedupeKey makes re-enqueueing a no-op.
type Job struct {
	ID          int64
	Kind        string
	DedupeKey   string
	RefID       int64 // the order, declaration, event or refund it concerns
	MerchantID  int64
	State       JobState
	Attempts    int // claims so far
	MaxAttempts int
	RunAt       time.Time
	LeaseUntil  time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Retry is a job retry schedule: the wait after the first failed attempt,
// after the second, and so on. len(Retry)+1 is the number of attempts.
type Retry []time.Duration

// Next returns the wait after the given failed attempt (1-based) and
// whether another attempt is allowed.
func (r Retry) Next(attempt int) (time.Duration, bool) {
	if attempt < 1 || attempt > len(r) {
		return 0, false
	}
	return r[attempt-1], true
}

// PermanentError marks a job failure that retrying cannot heal.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so the job runner stops retrying.
func Permanent(err error) error { return &PermanentError{Err: err} }
