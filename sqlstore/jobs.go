package sqlstore

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

const jobCols = `id, kind, dedupe_key, ref_id, merchant_id, state, attempts, max_attempts, run_at,
	lease_until, last_error, created_at, updated_at`

const (
	// ON CONFLICT DO NOTHING turns a duplicate dedupe key into "no row
	// returned" rather than an error to pick apart: re-enqueueing is normal
	// (a retried request, a replayed callback), not a failure. The dedupe key
	// is the only unique column the insert can hit.
	qInsertJob = `INSERT INTO jobs (kind, dedupe_key, ref_id, merchant_id, state, attempts, max_attempts,
	run_at, lease_until, last_error, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id`

	// On SQLite both lists walk index jobs_due in (run_at, id) order and
	// stop at the limit, so a claim costs the same with a million jobs
	// waiting. The kind filter is appended before ORDER BY.
	qDueQueued  = `SELECT id, run_at FROM jobs WHERE state = 'queued' AND run_at <= ?`
	qDueExpired = `SELECT id, run_at FROM jobs WHERE state = 'running' AND lease_until < ?`
	qDueOrder   = ` ORDER BY run_at, id LIMIT ?`

	// qClaim leases the jobs picked; they are read back by id (one writer:
	// nothing else writes between the two, and SQLite's RETURNING costs
	// more than the read, see Inserter).
	qClaim   = `UPDATE jobs SET state = 'running', lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE `
	qClaimed = `SELECT ` + jobCols + ` FROM jobs WHERE `

	// qClaimLocked is Claim where several transactions claim at once
	// (PostgreSQL, several processes): both candidate lists and the lease
	// in one statement. FOR UPDATE SKIP LOCKED makes a claim pass over
	// rows another transaction is claiming or finishing instead of waiting,
	// so claims never take the same job and never queue behind each other.
	// A row locked this way is re-checked against its list's conditions at
	// its newest version (READ COMMITTED), so a job another process claimed
	// and committed after this statement began is not taken again. Rows
	// locked but not picked stay locked only until this transaction ends.
	// Each list has a partial index of its own (jobs_queued, jobs_leased).
	// %[1]s is the optional kind filter.
	qClaimLocked = `WITH q AS (
	SELECT id, run_at FROM jobs WHERE state = 'queued' AND run_at <= ?%[1]s
	ORDER BY run_at, id LIMIT ? FOR UPDATE SKIP LOCKED
), x AS (
	SELECT id, run_at FROM jobs WHERE state = 'running' AND lease_until < ?%[1]s
	ORDER BY run_at, id LIMIT ? FOR UPDATE SKIP LOCKED
), picked AS (
	SELECT id, run_at FROM q UNION ALL SELECT id, run_at FROM x ORDER BY run_at, id LIMIT ?
)
UPDATE jobs SET state = 'running', lease_until = ?, attempts = attempts + 1, updated_at = ?
WHERE id IN (SELECT id FROM picked)
RETURNING ` + jobCols

	// attempts is the lease token: a re-claim after an expired lease bumps
	// it, so the first claimant's finish no longer matches.
	qFinishJob = `UPDATE jobs SET state = ?, run_at = ?, lease_until = 0, last_error = ?, updated_at = ?
WHERE id = ? AND attempts = ? AND state = 'running'`

	qJob       = `SELECT ` + jobCols + ` FROM jobs WHERE id = ?`
	qJobExists = `SELECT 1 FROM jobs WHERE id = ?`
	qListJobs  = `SELECT ` + jobCols + ` FROM jobs`
	qCountJobs = `SELECT kind, COUNT(*) FROM jobs`
)

// Enqueue inserts j unless a job with its dedupe key exists, and reports
// whether it inserted. State defaults to queued and RunAt to now.
func (t *Tx) Enqueue(j *baoguan.Job) (bool, error) {
	if j.State == "" {
		j.State = baoguan.JobQueued
	}
	if j.RunAt.IsZero() {
		j.RunAt = t.now
	}
	id, inserted, err := t.insertID(qInsertJob, []any{j.Kind, j.DedupeKey, j.RefID, j.MerchantID, string(j.State), j.Attempts,
		j.MaxAttempts, ms(j.RunAt), ms(j.LeaseUntil), j.LastError, ms(t.now), ms(t.now)})
	if err != nil || !inserted {
		return false, err
	}
	j.ID, j.CreatedAt, j.UpdatedAt = id, t.now, t.now
	if !j.RunAt.After(t.now) {
		t.enqueued++
	}
	return true, nil
}

// EnqueueLater inserts j unless a job with its dedupe key exists, without
// telling which (see baoguan.Tx): on a Deferrer with the transaction's next
// statement. j's ID stays unset. A job due now counts as enqueued.
func (t *Tx) EnqueueLater(j *baoguan.Job) error {
	if j.State == "" {
		j.State = baoguan.JobQueued
	}
	if j.RunAt.IsZero() {
		j.RunAt = t.now
	}
	q, _ := strings.CutSuffix(qInsertJob, returningID)
	if err := t.later(q, j.Kind, j.DedupeKey, j.RefID, j.MerchantID, string(j.State), j.Attempts,
		j.MaxAttempts, ms(j.RunAt), ms(j.LeaseUntil), j.LastError, ms(t.now), ms(t.now)); err != nil {
		return err
	}
	j.CreatedAt, j.UpdatedAt = t.now, t.now
	if !j.RunAt.After(t.now) {
		t.enqueued++
	}
	return nil
}

func scanJob(sc Scanner, j *baoguan.Job) error {
	var state string
	var runAt, lease, created, updated int64
	if err := sc.Scan(&j.ID, &j.Kind, &j.DedupeKey, &j.RefID, &j.MerchantID, &state, &j.Attempts, &j.MaxAttempts,
		&runAt, &lease, &j.LastError, &created, &updated); err != nil {
		return err
	}
	j.State = baoguan.JobState(state)
	j.RunAt, j.LeaseUntil, j.CreatedAt, j.UpdatedAt = fromMS(runAt), fromMS(lease), fromMS(created), fromMS(updated)
	return nil
}

// dueJob is a candidate for Claim.
type dueJob struct{ id, runAt int64 }

// due lists up to n candidates of one kind of due (queued and ready, or
// running with an expired lease).
func (t *Tx) due(q string, now int64, kinds []string, n int) ([]dueJob, error) {
	args := []any{now}
	if len(kinds) > 0 {
		q += " AND kind IN (" + placeholders(len(kinds)) + ")"
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	args = append(args, n)
	var out []dueJob
	err := t.each(q+qDueOrder, args, func(s Scanner) error {
		var d dueJob
		if err := s.Scan(&d.id, &d.runAt); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// Claim leases the n oldest due jobs: queued and ready, or running with an
// expired lease. It returns them oldest first with the attempt counted.
//
// With a single writer (SQLite) nothing can happen between reading the
// candidates and leasing them, so Claim reads the two lists and updates the
// picked ids. Concurrent dialects use qClaimLocked instead.
func (t *Tx) Claim(kinds []string, n int, lease time.Duration) ([]baoguan.Job, error) {
	if n <= 0 {
		return nil, nil
	}
	now := ms(t.now)
	var jobs []baoguan.Job
	scan := func(s Scanner) error {
		jobs = append(jobs, baoguan.Job{})
		return scanJob(s, &jobs[len(jobs)-1])
	}
	if t.d.Concurrent {
		filter := ""
		var args []any
		if len(kinds) > 0 {
			filter = " AND kind = ANY(?)"
			args = []any{now, kinds, n, now, kinds, n}
		} else {
			args = []any{now, n, now, n}
		}
		args = append(args, n, ms(t.now.Add(lease)), now)
		if err := t.each(fmt.Sprintf(qClaimLocked, filter), args, scan); err != nil {
			return nil, err
		}
	} else {
		queued, err := t.due(qDueQueued, now, kinds, n)
		if err != nil {
			return nil, err
		}
		expired, err := t.due(qDueExpired, now, kinds, n)
		if err != nil {
			return nil, err
		}
		cands := append(queued, expired...)
		if len(cands) == 0 {
			return nil, nil
		}
		slices.SortFunc(cands, byAge)
		if len(cands) > n {
			cands = cands[:n]
		}
		ids := make([]int64, len(cands))
		for i, c := range cands {
			ids[i] = c.id
		}
		in, arg := t.inIDs("id", ids) // one statement text whatever the count
		if _, err := t.exec(qClaim+in, ms(t.now.Add(lease)), now, arg); err != nil {
			return nil, err
		}
		if err := t.each(qClaimed+in, []any{arg}, scan); err != nil {
			return nil, err
		}
	}
	// Neither RETURNING nor IN reads in a promised order; callers expect
	// oldest first.
	slices.SortFunc(jobs, func(a, b baoguan.Job) int {
		return byAge(dueJob{a.ID, ms(a.RunAt)}, dueJob{b.ID, ms(b.RunAt)})
	})
	return jobs, nil
}

func byAge(a, b dueJob) int { return cmp.Or(cmp.Compare(a.runAt, b.runAt), cmp.Compare(a.id, b.id)) }

// FinishJob ends a claim: j.State says how (done, dead, or queued again at
// j.RunAt). j.Attempts must be what Claim returned; it is the lease token.
func (t *Tx) FinishJob(j *baoguan.Job) error {
	switch j.State {
	case baoguan.JobDone, baoguan.JobDead:
	case baoguan.JobQueued:
		if j.RunAt.IsZero() {
			j.RunAt = t.now
		}
	default:
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "state", Reason: "bad_job_state",
			Message: "a job can only finish as done, dead or queued, not " + quote(string(j.State))}
	}
	n, err := t.exec(qFinishJob, string(j.State), ms(j.RunAt), j.LastError, ms(t.now), j.ID, j.Attempts)
	if err != nil {
		return err
	}
	if n == 0 {
		ok, err := t.exists(qJobExists, j.ID)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("job %d not found", j.ID)
		}
		return &baoguan.Error{Code: baoguan.ECONFLICT, Reason: "lease_lost",
			Message: "job " + itoa(j.ID) + " was claimed again after its lease expired; this run's outcome is discarded"}
	}
	j.LeaseUntil, j.UpdatedAt = time.Time{}, t.now
	return nil
}

// Job reads a job; ENOTFOUND.
func (t *Tx) Job(id int64) (*baoguan.Job, error) {
	j := new(baoguan.Job)
	found, err := t.one(qJob, []any{id}, func(s Scanner) error { return scanJob(s, j) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("job %d not found", id)
	}
	return j, nil
}

// ListJobs pages by id, oldest first.
func (t *Tx) ListJobs(f baoguan.JobFilter) ([]baoguan.Job, error) {
	w := new(where)
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if f.State != "" {
		w.add("state = ?", string(f.State))
	}
	if f.Cursor != 0 {
		w.add("id > ?", f.Cursor)
	}
	out := []baoguan.Job{}
	err := t.each(qListJobs+w.String()+" ORDER BY id LIMIT ?", append(w.args, limit(f.Limit)), func(s Scanner) error {
		out = append(out, baoguan.Job{})
		return scanJob(s, &out[len(out)-1])
	})
	return out, err
}

// CountJobs counts jobs in the state by kind; an empty state counts all.
func (t *Tx) CountJobs(state baoguan.JobState) (map[string]int, error) {
	w := new(where)
	if state != "" {
		w.add("state = ?", string(state))
	}
	out := map[string]int{}
	err := t.each(qCountJobs+w.String()+" GROUP BY kind", w.args, func(s Scanner) error {
		var kind string
		var n int
		if err := s.Scan(&kind, &n); err != nil {
			return err
		}
		out[kind] = n
		return nil
	})
	return out, err
}
