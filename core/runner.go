package core

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
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
	// b is the batch the handler runs in, nil when a worker runs it.
	b *batch
	// wrote is set once a handler in a batch may have written (it entered
	// w.optimistic): from then on a failure needs the batch replayed.
	wrote bool
	// calls are the upstream calls made so far and not yet stored: the
	// handler stores them with its outcome, the runner with the retry.
	callsMu sync.Mutex
	calls   []baoguan.UpstreamCall
	stored  int // how many of calls the transaction under way writes
}

// done ends the job inside the handler's own transaction, so the state
// change and the end of the job commit together: if the lease was lost,
// the whole change rolls back and the new holder redoes it. In a batch,
// the batch ends its jobs together, in the same transaction.
func (w *work) done(tx baoguan.Tx) error {
	if w.b != nil {
		w.finished = true
		return nil
	}
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
	Workers int           // jobs with remote adapters run at once (default 128)
	Batch   int           // most jobs claimed by one batch transaction (default 256)
	Lease   time.Duration // how long a claim lasts before another runner may take the job (default 2m)
	Poll    time.Duration // idle wait between claims when not woken (default 250ms)
	Gather  time.Duration // after a wake-up, wait this long for more work before claiming (default 2ms)
	// Batchers is how many batch transactions run at once at most
	// (default 1). On a store whose write transactions run concurrently
	// (PostgreSQL) a batch spends much of its time waiting for round
	// trips, and with a backlog several overlap them; claims skip each
	// other's jobs. The first claims whenever woken, the others only
	// beside a batch that came back full (see batcher). Through SQLite's
	// single writer they would only wait for each other.
	Batchers int
	// Deliveries is how many notifications are sent at once (default
	// 256), PerDestination the most of them to one destination (default
	// 64; see delivery.go).
	Deliveries     int
	PerDestination int
	// DeliveryGrace is how long notifications being sent when the runner
	// stops may go on (default 5s): a restart then records their answers
	// instead of cancelling them into failed attempts sent again.
	DeliveryGrace time.Duration
	// IntakeShare is the share of the time the runner's batches take
	// while order pushes are coming in (default 1 and more: all they can
	// get, the runner does not give way; below 0, IntakeNone: none), in
	// batches of at most IntakeBatch jobs (default 32), as long as the
	// runner is less than IntakeLag behind (default 2s). Pushes are coming
	// in while one is in flight or one began less than IntakeWindow ago
	// (default 20ms); see intake.go.
	IntakeShare  float64
	IntakeBatch  int
	IntakeLag    time.Duration
	IntakeWindow time.Duration
	// Exclusive says this runner is the only one on the database (a
	// SQLite file under the server's lock): jobs found running when it
	// starts were claimed by a process that died, and are due again at
	// once instead of when their lease ends.
	Exclusive bool
}

// Run claims and runs due jobs until ctx ends. Several runners (in one
// process or many, on one database) may run at once: claims are leases.
//
// One loop claims due jobs in batches (runBatch): jobs whose adapters are
// in-process run inside the batch's transaction; the others go to a fixed
// pool of Workers goroutines, which call their adapters outside any
// transaction. The loop claims again at once when a batch was full, and
// otherwise when woken (a transaction enqueued jobs, a worker finished, or
// another instance announced jobs) or after Poll.
func (s *Service) Run(ctx context.Context, o RunnerOptions) error {
	if o.Workers <= 0 {
		o.Workers = 128
	}
	if o.Batch <= 0 {
		o.Batch = 256
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
	if o.Batchers <= 0 {
		o.Batchers = 1
	}
	if o.Deliveries <= 0 {
		o.Deliveries = 256
	}
	if o.PerDestination <= 0 {
		o.PerDestination = 64
	}
	if o.DeliveryGrace <= 0 {
		o.DeliveryGrace = 5 * time.Second
	}
	if o.IntakeShare == 0 {
		o.IntakeShare = 1
	}
	if o.IntakeBatch <= 0 {
		o.IntakeBatch = 32
	}
	if o.IntakeLag <= 0 {
		o.IntakeLag = 2 * time.Second
	}
	if o.IntakeWindow <= 0 {
		o.IntakeWindow = 20 * time.Millisecond
	}
	if o.Exclusive {
		if err := s.recoverClaims(ctx); err != nil {
			return err
		}
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
	// Notifications have a sender of their own (delivery.go).
	var dwg sync.WaitGroup
	defer dwg.Wait()
	dwg.Go(func() { s.deliver(ctx, o) })
	if r := s.Retention; r.Jobs > 0 || r.Attempts > 0 || r.IdempotencyKeys > 0 || r.Nonces > 0 {
		dwg.Go(func() { s.retain(ctx) })
	}
	// The workers: a fixed pool, fed claimed jobs. busy counts the jobs
	// handed to it and not finished, so a batch keeps no more jobs for
	// the workers than they can start now (each batcher may count the
	// same free workers, hence the channel's room).
	todo := make(chan baoguan.Job, o.Workers*o.Batchers)
	var busy atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(todo)
	for range o.Workers {
		wg.Go(func() {
			for j := range todo {
				s.runJob(ctx, &j, o.Lease)
				busy.Add(-1)
				s.Wake()
			}
		})
	}
	// The first batcher claims whenever woken; the others only help with
	// a backlog: a batch that comes back full signals more, and one of
	// them claims beside it (see batcher).
	more := make(chan struct{}, o.Batchers)
	var bwg sync.WaitGroup
	for i := range o.Batchers {
		bwg.Go(func() { s.batcher(ctx, o, remote, todo, &busy, i > 0, more) })
	}
	bwg.Wait()
	return nil
}

// batcher claims and runs batches of jobs until ctx ends, handing the
// jobs for the workers to todo.
//
// The first batcher (extra false) claims whenever it is woken, polls, and
// runs batches back to back while they come back full. An extra one
// (Batchers above 1) waits on more, which a full batch signals — a backlog —
// and then runs batches back to back as long as they come back full, then
// waits again. So the jobs that arrive while a batch runs wait for its
// commit and go in the next batch together, rather than each batcher
// taking the few that arrived since the last claim: fewer, larger batches
// for the same work (a batch's transaction, claims and statements cost the
// same for 5 jobs as for 60), and the batches overlap only where one alone
// would fall behind.
func (s *Service) batcher(ctx context.Context, o RunnerOptions, remote <-chan struct{}, todo chan<- baoguan.Job, busy *atomic.Int64, extra bool, more chan struct{}) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	signal := func() {
		select {
		case more <- struct{}{}:
		default:
		}
	}
	if extra {
		select {
		case <-ctx.Done():
			return
		case <-more:
		}
	}
	var lag time.Duration // how long the last batch's oldest job had been due
	behind := false       // fell IntakeLag behind, and not caught up since (intake.go)
	caughtUp := s.Now()   // when a batch last found less than it asked for
	for {
		free := o.Workers - int(busy.Load())
		var kinds []string
		if free <= 0 {
			// Every worker is busy: claim only what may run in a batch.
			free, kinds = 0, inlineKindList
		}
		pushing := o.giveWay() && s.pushing(o.IntakeWindow)
		if o.hold(pushing, behind, s.Now().Sub(caughtUp)) {
			// Pushes are coming in: leave them the writer and the CPUs.
			s.Metrics.IntakeYield.Add(holdWait.Seconds())
			if !sleepCtx(ctx, holdWait) {
				return
			}
			continue
		}
		if o.IntakeShare < 0 && pushing && !behind {
			behind = true // it last caught up IntakeLag ago
		}
		size, yield := o.pace(pushing, behind)
		began := time.Now()
		out, err := s.runBatch(ctx, kinds, size, free, o.Lease)
		if err != nil && ctx.Err() == nil {
			s.Log.Error("running a batch of jobs", "err", err)
		}
		lag = 0
		if !out.oldest.IsZero() {
			lag = s.Now().Sub(out.oldest)
		}
		behind = o.behind(behind, lag, out.claimed, size)
		if out.claimed < size {
			caughtUp = s.Now()
		}
		for _, j := range out.remote {
			busy.Add(1)
			todo <- j
		}
		if yield && out.claimed > 0 && lag < o.IntakeLag && s.pushing(o.IntakeWindow) {
			// Pushes are coming in: give them the writer and the CPUs.
			d := o.yieldAfter(time.Since(began))
			s.Metrics.IntakeYield.Add(d.Seconds())
			if !s.yieldWait(ctx, d, o.IntakeWindow) {
				return
			}
		}
		if out.claimed == size {
			if o.Batchers > 1 {
				signal() // a backlog: another batcher may claim beside this one
			}
			continue // there may be more due right now
		}
		if extra {
			// The backlog is gone: the first batcher carries on alone,
			// woken for the jobs due now that this batch enqueued.
			if out.woke {
				s.Wake()
			}
			select {
			case <-ctx.Done():
				return
			case <-more:
			}
			continue
		}
		if out.woke {
			continue
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
			return
		case <-s.wake:
			woken = true
		case <-remote:
			woken = true
			s.wakeDeliverer()
		case <-timer.C:
		}
		if woken {
			// Every committed enqueue and every finished job wakes the
			// runner. Gathering a few milliseconds of them into one claim
			// keeps claims from becoming a write transaction per job.
			select {
			case <-ctx.Done():
				return
			case <-time.After(o.Gather):
			}
		}
	}
}

// recoverClaims queues again, due now, every job left running: the
// runner is the only one on the database, so their claims are a dead
// process's. Their attempt stays counted: it may have been made.
func (s *Service) recoverClaims(ctx context.Context) error {
	n := 0
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		n = 0
		f := baoguan.JobFilter{State: baoguan.JobRunning, Page: baoguan.Page{Limit: 1000}}
		for {
			js, err := tx.ListJobs(f)
			if err != nil {
				return err
			}
			for _, j := range js {
				j.State, j.RunAt = baoguan.JobQueued, tx.Now()
				if err := tx.FinishJob(&j); err != nil {
					return err
				}
				n++
			}
			if len(js) < f.Limit {
				break
			}
			f.Cursor = js[len(js)-1].ID
		}
		// And notifications it was sending.
		ef := baoguan.EventFilter{Status: baoguan.EventPending, Page: baoguan.Page{Limit: 1000}}
		for {
			es, err := tx.ListEvents(ef)
			if err != nil {
				return err
			}
			var leased []int64
			for _, e := range es {
				if e.LeaseUntil.After(tx.Now()) {
					leased = append(leased, e.ID)
				}
			}
			if _, err := tx.LeaseEvents(leased, time.Time{}); err != nil {
				return err
			}
			n += len(leased)
			if len(es) < ef.Limit {
				return nil
			}
			ef.Cursor = es[len(es)-1].ID
		}
	})
	if err != nil {
		return fmt.Errorf("queueing again the jobs a stopped process had claimed: %w", err)
	}
	if n > 0 {
		s.Log.Info("jobs claimed by a process that stopped are due again", "jobs", n)
	}
	return nil
}

// inlineKindList is inlineKinds as a list, for Claim.
var inlineKindList = []string{baoguan.JobPay, baoguan.JobDeclare, baoguan.JobPoll}

// remoteWaker is implemented by stores that several processes share and
// that learn when another process has committed jobs (the PostgreSQL
// store, by LISTEN/NOTIFY). Run then wakes on Waker as on its own Wake.
type remoteWaker interface {
	Waker() <-chan struct{}
}

// RunOnce claims and runs due jobs until none is due; tests use it to drive
// the pipeline step by step with an injected clock. It runs batches as Run
// does, and the jobs for workers itself, one after another.
func (s *Service) RunOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		out, err := s.runBatch(ctx, nil, 64, 64, time.Minute)
		if err != nil {
			return total, err
		}
		for i := range out.remote {
			s.runJob(ctx, &out.remote[i], time.Minute)
		}
		total += out.ran + len(out.remote)
		if out.claimed > 0 || out.woke {
			continue
		}
		n, err := s.deliverOnce(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// runJob runs a claimed job by a worker: its handler reads, calls the
// adapter and writes on its own, then the job is finished unless the
// handler finished it in its write.
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
	fin, outcome := s.jobOutcome(j, err)
	s.Metrics.Jobs.WithLabelValues(j.Kind, outcome).Inc()
	if err := s.Store.Update(context.WithoutCancel(ctx), func(tx baoguan.Tx) error {
		if err := tx.FinishJob(&fin); err != nil {
			return err
		}
		return s.storeCalls(tx, w)
	}); err != nil {
		s.Log.Warn("finishing job", "job", j.ID, "kind", j.Kind, "err", err)
	} else {
		s.committed(w)
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
		// Payments queued on their orders (payments.go) are queued pay
		// jobs without a row; one that ran leaves none to count as done.
		queued, _, err := tx.CountOrderPays(tx.Now())
		if err != nil {
			return err
		}
		if queued > 0 {
			counts[baoguan.JobQueued][baoguan.JobPay] += queued
		}
		return nil
	})
	return counts, err
}

// Busy counts the jobs that are running or due now (queued with RunAt ≤
// Now, payments queued on their orders among them) and the notifications
// due or being sent: zero means nothing will happen until the clock
// reaches the next job's RunAt. Tests that drive the clock wait for it to
// settle, instead of sleeping.
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
		// Payments queued on their orders, due.
		_, due, err := tx.CountOrderPays(now)
		if err != nil {
			return err
		}
		n += due
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
				break
			}
			f.Cursor = js[len(js)-1].ID
		}
		// Notifications due, or being sent.
		ef := baoguan.EventFilter{Status: baoguan.EventPending, Page: baoguan.Page{Limit: 1000}}
		for {
			es, err := tx.ListEvents(ef)
			if err != nil {
				return err
			}
			for _, e := range es {
				if !e.NextAt.After(now) || e.LeaseUntil.After(now) {
					n++
				}
			}
			if len(es) < ef.Limit {
				return nil
			}
			ef.Cursor = es[len(es)-1].ID
		}
	})
	return n, err
}
