package sqlite

import (
	"cmp"
	"fmt"
	"slices"
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

	// Both lists walk index jobs_due in (run_at, id) order and stop at the
	// limit, so a claim costs the same with a million jobs waiting. The
	// kind filter is appended before ORDER BY.
	qDueQueued  = `SELECT id, run_at FROM jobs WHERE state = 'queued' AND run_at <= ?`
	qDueExpired = `SELECT id, run_at FROM jobs WHERE state = 'running' AND lease_until < ?`
	qDueOrder   = ` ORDER BY run_at, id LIMIT ?`

	qClaim = `UPDATE jobs SET state = 'running', lease_until = ?, attempts = attempts + 1, updated_at = ?
WHERE id IN (%s)
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

func (t *tx) Enqueue(j *baoguan.Job) (bool, error) {
	if j.State == "" {
		j.State = baoguan.JobQueued
	}
	if j.RunAt.IsZero() {
		j.RunAt = t.now
	}
	var id int64
	found, err := t.one(qInsertJob, []any{j.Kind, j.DedupeKey, j.RefID, j.MerchantID, string(j.State), j.Attempts,
		j.MaxAttempts, ms(j.RunAt), ms(j.LeaseUntil), j.LastError, ms(t.now), ms(t.now)},
		func(s scanner) error { return s.Scan(&id) })
	if err != nil || !found {
		return false, err
	}
	j.ID, j.CreatedAt, j.UpdatedAt = id, t.now, t.now
	return true, nil
}

func scanJob(sc scanner, j *baoguan.Job) error {
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
func (t *tx) due(q string, now int64, kinds []string, n int) ([]dueJob, error) {
	args := []any{now}
	if len(kinds) > 0 {
		q += " AND kind IN (" + placeholders(len(kinds)) + ")"
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	args = append(args, n)
	var out []dueJob
	err := t.each(q+qDueOrder, args, func(s scanner) error {
		var d dueJob
		if err := s.Scan(&d.id, &d.runAt); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// Claim picks the n oldest due jobs from the two candidate lists and leases
// them in one UPDATE. In SQLite the single writer makes select-then-update
// atomic; a PostgreSQL store needs FOR UPDATE SKIP LOCKED on the selects.
func (t *tx) Claim(kinds []string, n int, lease time.Duration) ([]baoguan.Job, error) {
	if n <= 0 {
		return nil, nil
	}
	now := ms(t.now)
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
	byAge := func(a, b dueJob) int { return cmp.Or(cmp.Compare(a.runAt, b.runAt), cmp.Compare(a.id, b.id)) }
	slices.SortFunc(cands, byAge)
	if len(cands) > n {
		cands = cands[:n]
	}
	args := make([]any, 0, len(cands)+2)
	args = append(args, ms(t.now.Add(lease)), now)
	for _, c := range cands {
		args = append(args, c.id)
	}
	jobs := make([]baoguan.Job, 0, len(cands))
	err = t.each(fmt.Sprintf(qClaim, placeholders(len(cands))), args, func(s scanner) error {
		jobs = append(jobs, baoguan.Job{})
		return scanJob(s, &jobs[len(jobs)-1])
	})
	if err != nil {
		return nil, err
	}
	// RETURNING comes in no promised order; callers expect oldest first.
	slices.SortFunc(jobs, func(a, b baoguan.Job) int {
		return byAge(dueJob{a.ID, ms(a.RunAt)}, dueJob{b.ID, ms(b.RunAt)})
	})
	return jobs, nil
}

// FinishJob ends a claim: j.State says how (done, dead, or queued again at
// j.RunAt). j.Attempts must be what Claim returned; it is the lease token.
func (t *tx) FinishJob(j *baoguan.Job) error {
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
	n, err := affected(t.exec(qFinishJob, string(j.State), ms(j.RunAt), j.LastError, ms(t.now), j.ID, j.Attempts))
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

func (t *tx) Job(id int64) (*baoguan.Job, error) {
	j := new(baoguan.Job)
	found, err := t.one(qJob, []any{id}, func(s scanner) error { return scanJob(s, j) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("job %d not found", id)
	}
	return j, nil
}

// ListJobs pages by id, oldest first.
func (t *tx) ListJobs(f baoguan.JobFilter) ([]baoguan.Job, error) {
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
	err := t.each(qListJobs+w.String()+" ORDER BY id LIMIT ?", append(w.args, limit(f.Limit)), func(s scanner) error {
		out = append(out, baoguan.Job{})
		return scanJob(s, &out[len(out)-1])
	})
	return out, err
}

// CountJobs counts jobs in the state by kind; an empty state counts all.
func (t *tx) CountJobs(state baoguan.JobState) (map[string]int, error) {
	w := new(where)
	if state != "" {
		w.add("state = ?", string(state))
	}
	out := map[string]int{}
	err := t.each(qCountJobs+w.String()+" GROUP BY kind", w.args, func(s scanner) error {
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
