package core

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/baoguan/baoguan"
)

// Batches: how the runner runs the jobs whose adapters answer in-process.
//
// A batch is one write transaction that claims up to n due jobs, loads the
// rows they concern with one query per table, runs the handler of each job
// whose adapter is in-process (baoguan.InProcess: the sandbox's), and
// finishes them together. The handlers run without a savepoint each; when
// one fails, the batch is run again with one per job (see runBatch). A job that causes
// another job of an inline kind due at once (a payment queues its
// declarations) runs that one too, in the same transaction, instead of
// writing it for a later claim: the state change, the job it causes and
// that job's outcome then commit together, or, after a crash, none of them
// and the first job is claimed again. So an order paid and declared by
// in-process adapters costs one transaction, not one per job, and its rows
// are read once.
//
// Jobs whose adapter is remote (a wallet, E-Port, a merchant's URL) are
// never run in the batch: they stay claimed, and after the batch commits
// the runner hands them to its workers, which call the adapter outside any
// transaction and write the outcome in one of their own. A slow remote
// service therefore never holds the database's writer.

// inlineKinds are the job kinds whose handlers can run inside a batch:
// they read and write through their work (w.view, w.optimistic) and ask
// w.callable before calling an adapter.
var inlineKinds = map[string]bool{baoguan.JobPay: true, baoguan.JobDeclare: true, baoguan.JobPoll: true}

// errRemote stops a handler running in a batch before it calls an adapter
// that is not in-process; the job goes to a worker instead.
var errRemote = errors.New("core: the job's adapter is not in-process")

// batch is one batch transaction.
type batch struct {
	s       *Service
	tx      *batchTx
	each    bool        // a savepoint per job (the replay after a failure)
	figures []jobFigure // the jobs' metrics, recorded by count
}

// callable returns errRemote when the handler runs in a batch and adapter
// is not in-process; the handler returns it before calling the adapter.
func (w *work) callable(adapter any) error {
	if w.b != nil && !baoguan.IsInProcess(adapter) {
		return errRemote
	}
	return nil
}

// ownsReads reports whether the handler may change in place what it read
// for its write: in a batch its write runs once, on the batch's own copies
// of the rows, and a replay of the batch runs the handler again from its
// reads. Elsewhere the write may run twice (a stale read, the group
// commit's replay) and must change copies of them.
func (w *work) ownsReads() bool { return w != nil && w.b != nil }

// view runs fn on the batch's transaction when the handler runs in a
// batch, in a read transaction of its own otherwise.
func (w *work) view(ctx context.Context, s *Service, fn func(tx baoguan.Tx) error) error {
	if w.b != nil {
		return fn(w.b.tx)
	}
	return s.view(ctx, fn)
}

// optimistic is Service.optimistic, or, in a batch, read (unless
// preloaded) then write on the batch's transaction, which sees every row
// as it stands: on SQLite the batch holds the single writer; on PostgreSQL
// a row another transaction changed meanwhile fails the write as stale,
// and the job goes to a worker, which reads again.
func (w *work) optimistic(ctx context.Context, s *Service, preloaded bool, read func(tx baoguan.Tx) error, write func(tx baoguan.Tx, q *queue) error) error {
	if w.b == nil {
		return s.optimistic(ctx, preloaded, read, write)
	}
	w.wrote = true // from here on, the handler may have written
	if !preloaded {
		if err := read(w.b.tx); err != nil {
			return err
		}
	}
	q := &queue{svc: s, tx: w.b.tx}
	err := write(w.b.tx, q)
	if q.n > 0 {
		w.b.tx.woke = true // notifications (and jobs) to wake for
	}
	return err
}

// batchOutcome is what a batch did with the jobs it claimed.
type batchOutcome struct {
	claimed int           // jobs claimed
	ran     int           // jobs run in the batch, chained ones included
	remote  []baoguan.Job // claimed jobs for the workers
	woke    bool          // the batch enqueued jobs due now
	oldest  time.Time     // when the job claimed first had become due
}

// runBatch claims up to n due jobs of kinds (all when nil) and runs the
// inline ones in one transaction. Of the jobs for workers, at most free are
// kept; the others are released, due after releaseDelay.
//
// The jobs first run without a savepoint each, inside one savepoint taken
// after the claim: on SQLite a savepoint per job copied the pages each job
// changed into the sub-journal again, job after job. When every handler
// succeeds (or stops before writing because its adapter is remote), that is
// the batch. When one fails (an error, a panic, a stale row), the batch
// rolls back to that savepoint and runs again with a savepoint per job, so
// that the failed job undoes its own writes alone and every other job's
// outcome is the one it would have had. In-process adapters are called
// again in the replay, as a retry would call them.
func (s *Service) runBatch(ctx context.Context, kinds []string, n, free int, lease time.Duration) (batchOutcome, error) {
	var out batchOutcome
	var b *batch
	err := s.Store.Update(baoguan.LongUpdate(ctx), func(stx baoguan.Tx) error {
		out, b = batchOutcome{}, nil
		jobs, err := s.claim(stx, kinds, n, lease)
		if err != nil {
			return err
		}
		if len(jobs) == 0 {
			return nil
		}
		err = stx.Savepoint(func() error {
			var err error
			b, out, err = s.runJobs(ctx, stx, jobs, free, lease, false)
			return err
		})
		if errors.Is(err, errReplay) {
			s.Metrics.BatchReplays.Inc()
			b, out, err = s.runJobs(ctx, stx, jobs, free, lease, true)
		}
		if err != nil {
			return err
		}
		out.claimed = len(jobs)
		for _, j := range jobs {
			if out.oldest.IsZero() || j.RunAt.Before(out.oldest) {
				out.oldest = j.RunAt
			}
		}
		return nil
	})
	if err != nil {
		return batchOutcome{}, err
	}
	if b != nil {
		b.count() // the jobs' outcomes, once they are committed
	}
	if out.woke {
		s.wakeDeliverer()
	}
	return out, nil
}

// claim takes up to n due jobs of kinds (all when nil) for a batch: job
// rows (Tx.Claim) and, when kinds has pay, the payments queued on their
// orders (Tx.DueOrderPays; payments.go: the order as its own pay queue).
// Neither queue may starve the other: the job rows are claimed up to half
// of n first, the orders take the room left, and job rows the rest of it.
// The orders are taken by one call only, since a second in the same
// transaction would take the same ones again (nothing is written when they
// are taken).
func (s *Service) claim(stx baoguan.Tx, kinds []string, n int, lease time.Duration) ([]baoguan.Job, error) {
	if kinds != nil && !slices.Contains(kinds, baoguan.JobPay) {
		return stx.Claim(kinds, n, lease)
	}
	half := (n + 1) / 2
	jobs, err := stx.Claim(kinds, half, lease)
	if err != nil {
		return nil, err
	}
	pays, err := stx.DueOrderPays(n - len(jobs))
	if err != nil {
		return nil, err
	}
	for i := range pays {
		pays[i].MaxAttempts = len(s.Retries[baoguan.JobPay]) + 1
	}
	if len(jobs) == half && len(jobs)+len(pays) < n {
		more, err := stx.Claim(kinds, n-len(jobs)-len(pays), lease)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, more...)
	}
	if len(jobs) == 0 {
		return pays, nil // not copied: the usual case while orders come in
	}
	return append(jobs, pays...), nil
}

// errReplay ends a batch run without per-job savepoints when a job failed:
// the batch is rolled back and run again with them.
var errReplay = errors.New("core: a job of the batch failed; replaying with a savepoint per job")

// runJobs runs the claimed jobs on stx, each in a savepoint of its own
// when each is set, all in the caller's savepoint otherwise (and then
// returns errReplay at the first job that fails).
func (s *Service) runJobs(ctx context.Context, stx baoguan.Tx, jobs []baoguan.Job, free int, lease time.Duration, each bool) (*batch, batchOutcome, error) {
	var out batchOutcome
	b := &batch{s: s, tx: newBatchTx(stx, !each), each: each}
	defer b.tx.discard() // a batch that returns before its flush
	var fresh *freshRows
	if !each {
		fresh = &s.fresh
	}
	if err := b.tx.preload(jobs, fresh); err != nil {
		return nil, out, err
	}
	var done, release []int64
	for i := range jobs {
		j := &jobs[i]
		if !inlineKinds[j.Kind] {
			if len(out.remote) < free {
				out.remote = append(out.remote, *j)
			} else {
				release = append(release, j.ID)
			}
			continue
		}
		err := b.run(ctx, j)
		if j.ID == 0 { // a payment queued on its order
			if errors.Is(err, errReplay) {
				return nil, out, err
			}
			if err := b.endOrderPay(j, err, free, lease, &out); err != nil {
				return nil, out, err
			}
			continue
		}
		switch {
		case errors.Is(err, errReplay):
			return nil, out, err
		case errors.Is(err, errRemote) || baoguan.ErrorReason(err) == "stale":
			if len(out.remote) < free {
				out.remote = append(out.remote, *j)
			} else {
				release = append(release, j.ID)
			}
			continue
		case err == nil:
			done = append(done, j.ID)
		default:
			fin, _ := s.jobOutcome(j, err)
			if err := stx.FinishJob(&fin); err != nil {
				return nil, out, err
			}
		}
		out.ran++
	}
	// Jobs the batch's own jobs caused, due now: run here too. The
	// list grows while it is walked (a job may cause another).
	for k := 0; k < len(b.tx.chain); k++ {
		j := b.tx.chain[k]
		j.Attempts = 1 // as if claimed once
		err := b.run(ctx, &j)
		switch {
		case errors.Is(err, errReplay):
			return nil, out, err
		case err == nil:
			out.ran++
			continue
		case errors.Is(err, errRemote) || baoguan.ErrorReason(err) == "stale":
			// Written for a worker's claim, as it would have been.
			j.Attempts = 0
		default:
			out.ran++
			fin, _ := s.jobOutcome(&j, err)
			j.State, j.RunAt, j.LastError = fin.State, fin.RunAt, fin.LastError
		}
		if _, err := b.tx.Tx.Enqueue(&j); err != nil {
			return nil, out, err
		}
		if j.State == baoguan.JobQueued && !j.RunAt.After(stx.Now()) {
			b.tx.woke = true
		}
	}
	// The rows the jobs wrote, each once. A row that fails (stale: another
	// transaction changed it since it was read) needs the replay, whose
	// writes go through at once and so fail the job that made them.
	if err := b.tx.flush(); err != nil {
		if each {
			return nil, out, err
		}
		return nil, out, errReplay
	}
	if err := stx.FinishJobs(done); err != nil {
		return nil, out, err
	}
	if err := stx.ReleaseJobs(release, stx.Now().Add(releaseDelay)); err != nil {
		return nil, out, err
	}
	out.woke = b.tx.woke
	return b, out, nil
}

// releaseDelay is how long a job for the workers waits when it was claimed
// while every worker was busy.
const releaseDelay = 500 * time.Millisecond

// endOrderPay ends a payment the batch took from its order's queue
// (Tx.DueOrderPays), whose handler ended with err. The order leaves the
// queue: when the payment succeeded, in the batch's one UPDATE of the
// order at the flush; otherwise, and in the replay, by
// Tx.DequeueOrderPays. A payment that did not end here goes on as
// a pay job row of its round, as the job it would have been: retried or
// dead as jobOutcome says, or, when its adapter is not in-process (or its
// row was stale), claimed already for the workers when one is free, queued
// after releaseDelay otherwise. A row of the round that exists already
// (a retry queued before) is left to run instead.
func (b *batch) endOrderPay(j *baoguan.Job, err error, free int, lease time.Duration, out *batchOutcome) error {
	o, oerr := b.tx.peek(j.MerchantID, j.RefID)
	if baoguan.ErrorCode(oerr) == baoguan.ENOTFOUND {
		return nil // deleted: nothing to pay, nothing queued
	}
	if oerr != nil {
		return oerr
	}
	if err == nil {
		out.ran++
		if b.tx.clearPayDue(o.ID) {
			return nil // in the cache: written by the flush
		}
		// Written at once, whatever the order's version: the order's own
		// UPDATE may be what failed.
		return b.tx.DequeueOrderPays([]int64{o.ID})
	}
	now := b.tx.Now()
	row, worker := *j, false
	row.DedupeKey = payKey(o)
	switch {
	case errors.Is(err, errRemote) || baoguan.ErrorReason(err) == "stale":
		if len(out.remote) < free {
			row.State, row.RunAt, row.LeaseUntil, worker = baoguan.JobRunning, now, now.Add(lease), true
		} else {
			row.State, row.RunAt, row.Attempts = baoguan.JobQueued, now.Add(releaseDelay), 0
		}
	default:
		out.ran++
		row, _ = b.s.jobOutcome(j, err)
		row.DedupeKey = payKey(o)
	}
	inserted, err := b.tx.Tx.Enqueue(&row)
	if err != nil {
		return err
	}
	if inserted && worker {
		out.remote = append(out.remote, row)
	}
	return b.tx.DequeueOrderPays([]int64{o.ID})
}

// run runs one job's handler, in a savepoint of its own when the batch
// runs with them, and keeps its figures for count. Without savepoints, a
// handler that fails returns errReplay, unless it stopped before writing
// anything because its adapter is remote.
func (b *batch) run(ctx context.Context, j *baoguan.Job) error {
	w := &work{job: j, b: b}
	start := time.Now()
	var err error
	if b.each {
		err = b.tx.savepoint(func() error { return b.s.handle(ctx, w) })
	} else {
		err = b.s.handle(ctx, w)
		if err != nil && (w.wrote || !errors.Is(err, errRemote)) {
			return errReplay
		}
	}
	m := jobFigure{kind: j.Kind, seconds: time.Since(start).Seconds()}
	if !errors.Is(err, errRemote) && baoguan.ErrorReason(err) != "stale" {
		_, m.outcome = b.s.jobOutcome(j, err)
	}
	b.figures = append(b.figures, m)
	return err
}

// jobFigure is one job's run, counted once its batch's run is the one kept.
type jobFigure struct {
	kind, outcome string // outcome "" for a job handed to the workers
	seconds       float64
}

// count records the figures of the batch's jobs in the metrics.
func (b *batch) count() {
	for _, m := range b.figures {
		b.s.Metrics.JobSeconds.WithLabelValues(m.kind).Observe(m.seconds)
		if m.outcome != "" {
			b.s.Metrics.Jobs.WithLabelValues(m.kind, m.outcome).Inc()
		}
	}
}

// jobOutcome is how a job that ended with err is finished: done, queued
// again (a retry on its kind's schedule, or Later), or dead.
func (s *Service) jobOutcome(j *baoguan.Job, err error) (baoguan.Job, string) {
	fin := *j
	if err == nil {
		fin.State = baoguan.JobDone
		return fin, "done"
	}
	var later *LaterError
	var perm *baoguan.PermanentError
	outcome := ""
	switch {
	case errors.As(err, &later):
		fin.State, fin.RunAt, outcome = baoguan.JobQueued, s.Now().Add(later.After), "later"
	case errors.As(err, &perm):
		fin.State, fin.LastError, outcome = baoguan.JobDead, baoguan.MaskPersonal(err.Error()), "dead"
	default:
		// An adapter's error may quote what it sent (a payer's ID
		// number): the stored error, shown to operators, is masked.
		fin.LastError = baoguan.MaskPersonal(err.Error())
		wait, more := s.Retries[j.Kind].Next(j.Attempts)
		// A failure that names its own wait (a wallet's rate limit or
		// maintenance) is not retried sooner than it asks.
		var rw interface{ RetryWait() time.Duration }
		if errors.As(err, &rw) && rw.RetryWait() > wait {
			wait = rw.RetryWait()
		}
		if more && j.Attempts < j.MaxAttempts {
			fin.State, fin.RunAt, outcome = baoguan.JobQueued, s.Now().Add(wait), "retry"
		} else {
			fin.State, outcome = baoguan.JobDead, "dead"
		}
		s.Log.Warn("job failed", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "outcome", outcome, "err", err)
	}
	return fin, outcome
}
