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
// receipt takes minutes), so while orders are coming in the runner gives
// way: with IntakeShare below zero (IntakeNone) it runs no batch at all,
// with a share between 0 and 1 it claims small batches
// (RunnerOptions.IntakeBatch) and after each waits so that its batches
// fill about IntakeShare of the time. It never falls further behind than
// IntakeLag: once the oldest job a batch claimed had been due that long
// (or, running none, once it last caught up that long ago), batches are
// full and back to back, pushes or not, until none is due
// (RunnerOptions.behind). When the pushes stop, the runner catches up in
// full batches, from the end of its wait at once (yieldWait).
//
// "Orders are coming in" means a push is between its checks and its
// commit right now (Service.intake), or one began less than IntakeWindow
// (20 ms) ago: between one client's answer and its next push, none may be
// in flight for a moment, and a runner that took that moment for a full
// batch held up every push that came next (benchmarks.md, change 45). A
// lone push now and then costs the pipeline at most a short wait, a
// stream of them keeps it paced.

// IntakeNone is RunnerOptions.IntakeShare for a runner that runs no batch
// while pushes are coming in (as long as it is less than IntakeLag
// behind).
const IntakeNone = -1

// intakeGate marks one order push in flight until the returned func runs.
func (s *Service) intakeGate() func() {
	s.intake.Add(1)
	s.lastPush.Store(time.Now().UnixNano())
	return func() { s.intake.Add(-1) }
}

// pushing tells whether order pushes are coming in: one is in flight, or
// one began less than window ago.
func (s *Service) pushing(window time.Duration) bool {
	if s.intake.Load() > 0 {
		return true
	}
	last := s.lastPush.Load()
	return last != 0 && time.Now().UnixNano()-last < int64(window)
}

// giveWay tells whether the runner gives way to pushes at all.
func (o *RunnerOptions) giveWay() bool { return o.IntakeShare < 1 }

// hold tells whether the runner, running no batch while pushes are coming
// in (IntakeNone), waits now instead of claiming: pushes are coming in,
// it is not behind, and it last caught up less than IntakeLag ago.
func (o *RunnerOptions) hold(pushing, behind bool, sinceCaughtUp time.Duration) bool {
	return o.IntakeShare < 0 && pushing && !behind && sinceCaughtUp < o.IntakeLag
}

// pace returns the size of the next batch, and yield reports whether
// the runner gives way to the pushes coming in: it does while they are,
// unless the runner is not to (IntakeShare ≥ 1) or is behind (below). A
// batch that gives way is followed by a wait (yieldAfter) if pushes are
// still coming in when it ends and its own work was younger than
// IntakeLag.
func (o *RunnerOptions) pace(pushing, behind bool) (size int, yield bool) {
	if !pushing || !o.giveWay() || behind {
		return o.Batch, false
	}
	return min(o.IntakeBatch, o.Batch), true
}

// behind tells whether the runner is behind after a batch that claimed
// claimed jobs of size, the oldest due for lag; was is whether it was
// before. It falls behind when a batch's work had been due IntakeLag or
// longer, and stays behind — full batches, back to back, pushes or not —
// until a batch finds less than it asked for: it has caught up. Giving
// way again as soon as the backlog was younger than IntakeLag made a
// stream of pushes the share could not keep up with swing between the
// two, a full batch and then small ones, with a backlog of IntakeLag all
// along (benchmarks.md, change 37).
func (o *RunnerOptions) behind(was bool, lag time.Duration, claimed, size int) bool {
	switch {
	case !o.giveWay():
		return false
	case lag >= o.IntakeLag:
		return true
	case claimed < size:
		return false
	}
	return was
}

// yieldAfter is how long the runner waits after a batch that took d
// while giving way, so that its batches fill IntakeShare of the time;
// never more than maxYield, as a batch slowed down by a busy machine
// would otherwise make the pipeline wait in proportion.
func (o *RunnerOptions) yieldAfter(d time.Duration) time.Duration {
	if o.IntakeShare <= 0 {
		return maxYield
	}
	return min(time.Duration(float64(d)*(1-o.IntakeShare)/o.IntakeShare), maxYield)
}

// yieldWait waits d after a batch that gave way to pushes, or less: it
// ends once pushes stop coming in (none in flight, the last began window
// ago), so that the catch-up's full batches start when the burst is over
// rather than up to maxYield later (benchmarks.md, change 88). It reports
// whether ctx is live.
func (s *Service) yieldWait(ctx context.Context, d, window time.Duration) bool {
	end := time.Now().Add(d)
	for {
		now := time.Now()
		wait := end.Sub(now)
		if wait <= 0 {
			return true
		}
		if s.intake.Load() == 0 {
			// Pushes stop coming in window after the last began, unless
			// another begins meanwhile: look again then.
			if quiet := time.Duration(s.lastPush.Load() + int64(window) - now.UnixNano()); quiet < wait {
				wait = max(quiet, 0)
			}
		} else {
			// A push in flight: look again a little later.
			wait = min(wait, holdWait)
		}
		if !sleepCtx(ctx, wait) {
			return false
		}
		if !s.pushing(window) {
			return true
		}
	}
}

// maxYield is the longest wait after one batch for pushes (yieldAfter).
const maxYield = 25 * time.Millisecond

// holdWait is how long a runner that holds (IntakeNone) waits before it
// looks again whether pushes are still coming in.
const holdWait = 5 * time.Millisecond

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
