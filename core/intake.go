package core

import (
	"context"
	"time"
)

// Intake first. A merchant's system that pushes a burst of orders waits
// for each acknowledgment, and the runner's batches compete with those
// pushes for the CPUs and, on SQLite, for the one writer: a batch of 256
// jobs holds the writer for tens of milliseconds while pushes queue
// behind it. Payment and declaration are asynchronous anyway (a customs
// receipt takes minutes), so while orders are coming in the runner takes
// a bounded share of the time instead of all it can get: it claims small
// batches (RunnerOptions.IntakeBatch) and after each waits so that its
// batches fill about IntakeShare of the time. The pipeline keeps running
// meanwhile, and it never falls further behind than IntakeLag: once the
// oldest job a batch claimed had been due that long, batches are full and
// back to back until the backlog is younger again. When the pushes stop,
// the runner catches up in full batches.
//
// "Orders are coming in" means a push is between its checks and its
// commit right now (Service.intake): a lone push now and then costs the
// pipeline at most a short wait, a stream of them keeps it paced.

// intakeGate marks one order push in flight until the returned func runs.
func (s *Service) intakeGate() func() {
	s.intake.Add(1)
	return func() { s.intake.Add(-1) }
}

// pace returns the size of the next batch, and yield reports whether
// the runner gives way to the pushes in flight: it does while any is,
// unless the runner is not to (IntakeShare ≥ 1) or its last batch found
// work that had waited IntakeLag or more. A batch that gives way is
// followed by a wait (yieldAfter) if pushes are still in flight when it
// ends and its own work was younger than IntakeLag.
func (o *RunnerOptions) pace(pushes int64, lag time.Duration) (size int, yield bool) {
	if pushes == 0 || o.IntakeShare >= 1 || lag >= o.IntakeLag {
		return o.Batch, false
	}
	return min(o.IntakeBatch, o.Batch), true
}

// yieldAfter is how long the runner waits after a batch that took d
// while giving way, so that its batches fill IntakeShare of the time;
// never more than maxYield, as a batch slowed down by a busy machine
// would otherwise make the pipeline wait in proportion.
func (o *RunnerOptions) yieldAfter(d time.Duration) time.Duration {
	return min(time.Duration(float64(d)*(1-o.IntakeShare)/o.IntakeShare), maxYield)
}

// maxYield is the longest wait after one batch for pushes (yieldAfter).
const maxYield = 25 * time.Millisecond

// sleepCtx waits d or until ctx ends, and reports whether ctx is live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
