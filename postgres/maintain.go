package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockMaintain is the session advisory lock (with lockClass) that lets one
// instance at a time do the maintenance below.
const lockMaintain = 2

// maintainEvery is how often maintain looks at the tables' counters.
const maintainEvery = time.Second

// analyzeRest is how long after an ANALYZE a table needs to have changed
// by its own size, rather than by a tenth, to be analyzed again; and
// after a VACUUM, to have as many dead rows as live ones, rather than a
// fifth, to be vacuumed again.
const analyzeRest = time.Minute

// SelfMaintained reports whether the server runs without autovacuum, so
// that the store analyzes and vacuums its own tables (see maintain). The
// server should rather run autovacuum; serve warns when it does not.
func (db *DB) SelfMaintained() bool { return db.selfMaintained }

// maintain does for baoguan's tables what autovacuum would, on servers
// where it is off (some CI configurations turn it off):
//
//   - ANALYZE a table once it has changed by 50 rows plus 10% since it was
//     last analyzed. Without statistics the planner takes a new table for
//     empty; the plans it caches then for prepared statements (pgx prepares
//     every query) may pick any index whose first column a query constrains,
//     e.g. (merchant_id, payment_no) to find an order by id and merchant,
//     which reads every order of the merchant once the table has grown.
//     ANALYZE invalidates those plans.
//   - VACUUM a table once its dead rows exceed 50 plus 20% of the live
//     ones. Every claim and finish of a job leaves a dead row and index
//     entries that claims would otherwise step over forever.
//
// The thresholds are autovacuum's defaults, with one difference: a table
// analyzed less than analyzeRest ago is analyzed again only once it has
// changed by as many rows as it holds. Autovacuum looks at the counters
// once a minute; looking every second, the 10% rule alone analyzed a table
// growing from empty at every 10% of growth — about seventy times on the
// way to 10,000 rows, each reading the whole table (bodies detoasted),
// which was a fifth of PostgreSQL's CPU in `baoguan bench`. Plans need the
// size right within a factor, not to 10%. Migration 0020 limits what an
// ANALYZE computes to the columns queries filter and sort on (and the
// events table's to a 3,000-row sample), which took a half to three
// quarters of its cost. VACUUM does not analyze unless
// the table needs it too. VACUUM rests likewise: a table vacuumed less
// than analyzeRest ago is vacuumed again only once its dead rows exceed
// 50 plus all of its live ones. A VACUUM reads the whole table and every
// one of its indexes, and its new page counts invalidate the plans every
// connection has cached for the table's statements; on the events table,
// which two of an order's four updates leave dead rows in (they are not
// HOT), the fifth rule vacuumed it three times in a 5,000-order bench, a
// tenth of PostgreSQL's CPU (benchmarks.md, round 11, change 58), where
// autovacuum, which looks once a minute, would have done it once. A table
// is vacuumed at most a minute later than the fifth rule alone would (a
// queue whose table holds few live rows, no later at all).
// A session advisory lock keeps several instances from doing the same
// work at once.
func (db *DB) maintain(ctx context.Context) {
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_ = db.maintainOnce(ctx) // the next tick tries again
	}
}

func (db *DB) maintainOnce(ctx context.Context) error {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	var got bool
	if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, lockClass, lockMaintain).Scan(&got); err != nil || !got {
		return err
	}
	defer c.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, lockClass, lockMaintain)
	type table struct {
		name                         string
		live, dead, sinceAnalyze     int64
		needsAnalyze, needsVacuuming bool
	}
	// The ages of the last analysis and vacuum in seconds, -1 when never.
	rows, err := c.Query(ctx, `SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze,
  COALESCE(EXTRACT(EPOCH FROM now() - GREATEST(last_analyze, last_autoanalyze)), -1)::float8,
  COALESCE(EXTRACT(EPOCH FROM now() - GREATEST(last_vacuum, last_autovacuum)), -1)::float8
FROM pg_stat_user_tables WHERE schemaname = current_schema()`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		var analyzed, vacuumed float64
		err := r.Scan(&t.name, &t.live, &t.dead, &t.sinceAnalyze, &analyzed, &vacuumed)
		t.needsAnalyze, t.needsVacuuming = maintenanceDue(t.live, t.dead, t.sinceAnalyze, analyzed, vacuumed)
		return t, err
	})
	if err != nil {
		return err
	}
	for _, t := range tables {
		name := pgx.Identifier{t.name}.Sanitize()
		// VACUUM cannot run in a transaction block; on a pooled connection
		// outside one it runs as its own statement.
		switch {
		case t.needsVacuuming && t.needsAnalyze:
			_, err = c.Exec(ctx, "VACUUM (ANALYZE) "+name)
		case t.needsVacuuming:
			_, err = c.Exec(ctx, "VACUUM "+name)
		case t.needsAnalyze:
			_, err = c.Exec(ctx, "ANALYZE "+name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// maintenanceDue tells whether a table with live and dead rows, changed by
// sinceAnalyze rows since its last ANALYZE, needs an ANALYZE and a VACUUM
// (see maintain), its last ones analyzed and vacuumed seconds ago (-1:
// never).
func maintenanceDue(live, dead, sinceAnalyze int64, analyzed, vacuumed float64) (analyze, vacuum bool) {
	rests := func(age float64) bool { return age >= 0 && age < analyzeRest.Seconds() }
	analyze = sinceAnalyze > 50+live/10
	if rests(analyzed) {
		analyze = sinceAnalyze > 50+live
	}
	vacuum = dead > 50+live/5
	if rests(vacuumed) {
		vacuum = dead > 50+live
	}
	return analyze, vacuum
}
