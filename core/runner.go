package core

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// LaterError asks the runner to run the same job again after a wait,
// without counting it as a failure (a receipt not ready yet, a notification
// on its protocol's schedule).
type LaterError struct{ After time.Duration }

func (e *LaterError) Error() string { return fmt.Sprintf("run again in %s", e.After) }

// Later returns a LaterError.
func Later(d time.Duration) error { return &LaterError{After: d} }

// work is one claimed job on its way through a handler.
type work struct {
	job      *baoguan.Job
	finished bool
	receipt  baoguan.Receipt
}

// done ends the job inside the handler's own transaction, so the state
// change and the end of the job commit together: if the lease was lost,
// the whole change rolls back and the new holder redoes it.
func (w *work) done(tx baoguan.Tx) error {
	j := *w.job
	j.State = baoguan.JobDone
	j.LastError = ""
	if err := tx.FinishJob(&j); err != nil {
		return err
	}
	w.finished = true
	return nil
}

// RunnerOptions tune the job runner.
type RunnerOptions struct {
	Workers int           // concurrent handlers (default 128)
	Lease   time.Duration // how long a claim lasts before another runner may take the job (default 2m)
	Poll    time.Duration // idle wait between claims when not woken (default 250ms)
	Gather  time.Duration // after a wake-up, wait this long for more work before claiming (default 2ms)
}

// Run claims and runs due jobs until ctx ends. Several runners (in one
// process or many, on one database) may run at once: claims are leases.
func (s *Service) Run(ctx context.Context, o RunnerOptions) error {
	if o.Workers <= 0 {
		o.Workers = 128
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Gather <= 0 {
		o.Gather = 2 * time.Millisecond
	}
	if err := s.StartReceiptJobs(ctx); err != nil && ctx.Err() == nil {
		s.Log.Error("starting the receipt jobs", "err", err)
	}
	// A store shared by several processes (PostgreSQL) may tell when
	// another process committed jobs; a nil channel never fires.
	var remote <-chan struct{}
	if w, ok := s.Store.(remoteWaker); ok {
		remote = w.Waker()
	}
	sem := make(chan struct{}, o.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		free := o.Workers - len(sem)
		var jobs []baoguan.Job
		if free > 0 {
			err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
				var err error
				jobs, err = tx.Claim(nil, free, o.Lease)
				return err
			})
			if err != nil && ctx.Err() == nil {
				s.Log.Error("claiming jobs", "err", err)
			}
		}
		for i := range jobs {
			sem <- struct{}{}
			wg.Add(1)
			go func(j baoguan.Job) {
				defer func() { <-sem; wg.Done(); s.Wake() }()
				s.runJob(ctx, &j, o.Lease)
			}(jobs[i])
		}
		if len(jobs) == free && free > 0 {
			continue // there may be more due right now
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(o.Poll)
		woken := false
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
			woken = true
		case <-remote:
			woken = true
		case <-timer.C:
		}
		if woken {
			// Every committed enqueue and every finished job wakes the
			// runner. Gathering a few milliseconds of them into one claim
			// keeps claims from becoming a write transaction per job.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(o.Gather):
			}
		}
	}
}

// remoteWaker is implemented by stores that several processes share and
// that learn when another process has committed jobs (the PostgreSQL
// store, by LISTEN/NOTIFY). Run then wakes on Waker as on its own Wake.
type remoteWaker interface {
	Waker() <-chan struct{}
}

// RunOnce claims and runs due jobs until none is due; tests use it to drive
// the pipeline step by step with an injected clock.
func (s *Service) RunOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		var jobs []baoguan.Job
		err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
			var err error
			jobs, err = tx.Claim(nil, 64, time.Minute)
			return err
		})
		if err != nil {
			return total, err
		}
		if len(jobs) == 0 {
			return total, nil
		}
		for i := range jobs {
			s.runJob(ctx, &jobs[i], time.Minute)
		}
		total += len(jobs)
	}
}

func (s *Service) runJob(ctx context.Context, j *baoguan.Job, lease time.Duration) {
	hctx, cancel := context.WithTimeout(ctx, lease/2)
	defer cancel()
	w := &work{job: j}
	start := time.Now()
	err := s.handle(hctx, w)
	s.Metrics.JobSeconds.WithLabelValues(j.Kind).Observe(time.Since(start).Seconds())
	if err == nil && w.finished {
		s.Metrics.Jobs.WithLabelValues(j.Kind, "done").Inc()
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the lease expires and another run takes it
	}
	fin := *j
	var later *LaterError
	var perm *baoguan.PermanentError
	outcome := ""
	switch {
	case err == nil:
		fin.State, outcome = baoguan.JobDone, "done"
	case errors.As(err, &later):
		fin.State, fin.RunAt, outcome = baoguan.JobQueued, s.Now().Add(later.After), "later"
	case errors.As(err, &perm):
		fin.State, fin.LastError, outcome = baoguan.JobDead, err.Error(), "dead"
	default:
		fin.LastError = err.Error()
		wait, more := s.Retries[j.Kind].Next(j.Attempts)
		if more && j.Attempts < j.MaxAttempts {
			fin.State, fin.RunAt, outcome = baoguan.JobQueued, s.Now().Add(wait), "retry"
		} else {
			fin.State, outcome = baoguan.JobDead, "dead"
		}
		s.Log.Warn("job failed", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "outcome", outcome, "err", err)
	}
	s.Metrics.Jobs.WithLabelValues(j.Kind, outcome).Inc()
	if err := s.Store.Update(context.WithoutCancel(ctx), func(tx baoguan.Tx) error { return tx.FinishJob(&fin) }); err != nil {
		s.Log.Warn("finishing job", "job", j.ID, "err", err)
	}
}

func (s *Service) handle(ctx context.Context, w *work) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("job handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	switch w.job.Kind {
	case baoguan.JobPay:
		return s.payJob(ctx, w)
	case baoguan.JobDeclare:
		return s.declareJob(ctx, w)
	case baoguan.JobPoll:
		return s.pollJob(ctx, w)
	case baoguan.JobNotify:
		return s.notifyJob(ctx, w)
	case baoguan.JobRefund:
		return s.refundJob(ctx, w)
	case baoguan.JobReceipts:
		return s.receiptsJob(ctx, w)
	case baoguan.JobExpire:
		return s.expireJob(ctx, w)
	case baoguan.JobPaymentData:
		return s.paymentDataJob(ctx, w)
	}
	return baoguan.Permanent(fmt.Errorf("unknown job kind %q", w.job.Kind))
}

// Jobs lists jobs for operators.
func (s *Service) Jobs(ctx context.Context, f baoguan.JobFilter) ([]baoguan.Job, error) {
	var out []baoguan.Job
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.ListJobs(f)
		return err
	})
	return out, err
}

// JobCounts counts jobs by state and kind, for operators (`baoguan jobs`).
func (s *Service) JobCounts(ctx context.Context) (map[baoguan.JobState]map[string]int, error) {
	counts := map[baoguan.JobState]map[string]int{}
	err := s.view(ctx, func(tx baoguan.Tx) error {
		for _, st := range []baoguan.JobState{baoguan.JobQueued, baoguan.JobRunning, baoguan.JobDone, baoguan.JobDead} {
			c, err := tx.CountJobs(st)
			if err != nil {
				return err
			}
			counts[st] = c
		}
		return nil
	})
	return counts, err
}

// Busy counts the jobs that are running or due now (queued with RunAt ≤
// Now): zero means nothing will happen until the clock reaches the next
// job's RunAt. Tests that drive the clock wait for it to settle, instead of
// sleeping.
func (s *Service) Busy(ctx context.Context) (int, error) {
	n := 0
	now := s.Now()
	err := s.view(ctx, func(tx baoguan.Tx) error {
		c, err := tx.CountJobs(baoguan.JobRunning)
		if err != nil {
			return err
		}
		for _, k := range c {
			n += k
		}
		f := baoguan.JobFilter{State: baoguan.JobQueued, Page: baoguan.Page{Limit: 1000}}
		for {
			js, err := tx.ListJobs(f)
			if err != nil {
				return err
			}
			for _, j := range js {
				if !j.RunAt.After(now) {
					n++
				}
			}
			if len(js) < f.Limit {
				return nil
			}
			f.Cursor = js[len(js)-1].ID
		}
	})
	return n, err
}
