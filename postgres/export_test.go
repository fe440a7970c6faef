package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Listening reports whether the store's LISTEN connection is in place, so
// a test can announce jobs knowing they will be heard.
func (db *DB) Listening() bool { return db.listening.Load() }

// Queued is how many Update calls wait for a writer.
func (db *DB) Queued() int { return db.calls.Len() }

// SetGroupTime sets how long a group takes calls after its first has run
// (maxGroupTime), so that a test's group does not depend on the machine's
// speed. Call it before any Update.
func (db *DB) SetGroupTime(d time.Duration) { db.groupTime = d }

// PlanCounts sums, over the prepared statements of one of the pool's
// connections whose text contains substr, how many times each was run on
// its generic plan and on a custom one (pg_prepared_statements,
// PostgreSQL 14 and later).
func (db *DB) PlanCounts(ctx context.Context, substr string) (generic, custom int64, err error) {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer c.Release()
	err = c.QueryRow(ctx, `SELECT COALESCE(sum(generic_plans), 0), COALESCE(sum(custom_plans), 0)
FROM pg_prepared_statements WHERE strpos(statement, $1) > 0 AND strpos(statement, 'pg_prepared_statements') = 0`, substr).Scan(&generic, &custom)
	return generic, custom, err
}

// ConnConfig parses url as the store does, reading the environment
// through getenv for plainOnLoopback (pgx itself reads the real one).
func ConnConfig(url string, getenv func(string) string) (*pgx.ConnConfig, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	plainOnLoopback(url, cfg.ConnConfig, getenv)
	return cfg.ConnConfig, nil
}

// SSL reports whether one of the pool's connections speaks TLS, as the
// server sees it (pg_stat_ssl).
func (db *DB) SSL(ctx context.Context) (bool, error) {
	var on bool
	err := db.pool.QueryRow(ctx, `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&on)
	return on, err
}
