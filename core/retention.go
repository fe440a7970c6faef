package core

import (
	"context"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// Retention says how long the gateway keeps records it no longer needs.
// Orders, declarations, refunds, batches and events (the notifications as
// sent) are history and kept; what goes is the machinery behind them:
//
//   - done jobs (dead jobs are kept for operators to act on);
//   - the delivery attempts of events that were delivered (those of
//     events still pending or failed are kept: they say why);
//   - the saved answers of Idempotency-Key requests, and the nonces of
//     signed requests, once they expire (natural keys — refund, batch and
//     push numbers — are kept with what they name; an order's number and
//     fingerprint are the order's own columns).
//
// A zero duration keeps that kind of record for good.
type Retention struct {
	Jobs            time.Duration // done jobs, counted from their creation
	Attempts        time.Duration // attempts of delivered events, from the attempt
	IdempotencyKeys time.Duration // an Idempotency-Key's saved answer, from the request
	Nonces          time.Duration // a signed request's nonce, from its use
	// Every is how often the server purges (default 1m); Batch how many
	// rows one transaction looks at (default 500), so that purging never
	// holds up the writers for long.
	Every time.Duration
	Batch int
}

// DefaultRetention is the policy `baoguan serve` starts with.
func DefaultRetention() Retention {
	return Retention{Jobs: 7 * 24 * time.Hour, Attempts: 30 * 24 * time.Hour, IdempotencyKeys: 24 * time.Hour,
		Nonces: 24 * time.Hour, Every: time.Minute, Batch: 500}
}

// expiry is when a record kept for ttl from now may go (zero: never).
func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

// Purged counts what one purge deleted.
type Purged struct {
	Jobs, Attempts, Keys int
	Buckets              int // rate-limit buckets idle long enough to be full again
	Batches              int // batch uploads discarded half loaded
}

// purgeLock keeps two purges of one service from running at once.
type purgeLock struct{ mu sync.Mutex }

// Purge deletes what the retention policy lets go, in transactions of
// Retention.Batch rows each, until nothing old is left.
func (s *Service) Purge(ctx context.Context) (Purged, error) {
	r := s.Retention
	if r.Batch <= 0 {
		r.Batch = 500
	}
	s.purge.mu.Lock()
	defer s.purge.mu.Unlock()
	var out Purged
	// Batch uploads whose loaders died (CreateBatch) go whatever the
	// policy: they were never stored as far as anyone was told.
	var err error
	if out.Batches, err = s.discardStaleBatches(ctx); err != nil {
		return out, err
	}
	// Each pass walks a table from its first row: what is kept (a dead
	// job, the attempts of a failed notification) is read again, and
	// ids SQLite hands out again after the table was emptied are met.
	walk := func(keep time.Duration, fn func(tx baoguan.Tx, from int64, before time.Time) (int, int64, bool, error)) (int, error) {
		if keep <= 0 {
			return 0, nil
		}
		total, from := 0, int64(0)
		for more := true; more && ctx.Err() == nil; {
			var n int
			next := from
			err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
				var err error
				n, next, more, err = fn(tx, from, tx.Now().Add(-keep))
				return err
			})
			if err != nil {
				return total, err
			}
			from, total = next, total+n
		}
		return total, ctx.Err()
	}
	if out.Jobs, err = walk(r.Jobs, func(tx baoguan.Tx, from int64, before time.Time) (int, int64, bool, error) {
		return tx.PurgeDoneJobs(from, r.Batch, before)
	}); err != nil {
		return out, err
	}
	if out.Attempts, err = walk(r.Attempts, func(tx baoguan.Tx, from int64, before time.Time) (int, int64, bool, error) {
		return tx.PurgeAttempts(from, r.Batch, before)
	}); err != nil {
		return out, err
	}
	for ctx.Err() == nil {
		var n int
		if err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
			var err error
			n, err = tx.PurgeExpiredKeys(r.Batch)
			return err
		}); err != nil {
			return out, err
		}
		out.Keys += n
		if n < r.Batch {
			break
		}
	}
	// A bucket untouched for longer than any limit takes to refill is
	// full, the same as no bucket: those go whatever the retention, or
	// sources that fail once each would grow the table for good.
	for ctx.Err() == nil {
		var n int
		if err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
			var err error
			n, err = tx.DeleteIdleBuckets(tx.Now().Add(-s.Limits.idleAfter()), r.Batch)
			return err
		}); err != nil {
			return out, err
		}
		out.Buckets += n
		if n < r.Batch {
			break
		}
	}
	return out, ctx.Err()
}

// retain purges every Retention.Every until ctx ends.
func (s *Service) retain(ctx context.Context) {
	every := s.Retention.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p, err := s.Purge(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.Log.Warn("purging old records", "err", err)
		case p.Jobs+p.Attempts+p.Keys+p.Buckets+p.Batches > 0:
			s.Log.Info("purged old records", "jobs", p.Jobs, "attempts", p.Attempts, "idempotency_records", p.Keys,
				"rate_buckets", p.Buckets, "half_loaded_batches", p.Batches)
		}
	}
}
