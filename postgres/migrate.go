package postgres

import (
	"context"
	"embed"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/baoguan/baoguan/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the numbered schema scripts, NNNN_name.sql, applied in
// order. They are PostgreSQL's own, numbered independently of SQLite's. A
// released migration is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

func loadMigrations() ([]sqlstore.Migration, error) {
	return sqlstore.LoadMigrations(migrations, "migrations", "postgres")
}

// The migration lock is a session advisory lock with two int4 keys, a key
// space apart from the one-bigint keys the idempotency locks use.
const (
	lockClass   = 0x62616f67 // "baog"
	lockMigrate = 1
)

// Migrate applies the pending migrations to the database at url and
// reports how many it applied. Open does the same; this is for `baoguan
// migrate`, which must not need the data keys. The database itself must
// exist: creating databases is the operator's business.
func Migrate(ctx context.Context, url string) (applied int, err error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return 0, err
	}
	c, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return 0, fmt.Errorf("postgres: connect: %w", err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	return migrate(ctx, c, time.Now)
}

// migrate applies each pending migration in its own transaction (DDL is
// transactional in PostgreSQL), together with its schema_migrations row, so
// a failed script leaves no trace and the next run retries exactly it.
//
// Instances started together all migrate on open; a session advisory lock
// makes them take turns, so the schema_migrations table is created once and
// each script runs once while the others wait and then find nothing to do.
// The lock dies with the session, so a migrator that crashes releases it.
func migrate(ctx context.Context, c *pgx.Conn, now func() time.Time) (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	if _, err := c.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, lockClass, lockMigrate); err != nil {
		return 0, fmt.Errorf("postgres: migrate: waiting for the migration lock: %w", err)
	}
	defer c.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, lockClass, lockMigrate)
	if _, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT PRIMARY KEY,
	applied_at BIGINT NOT NULL
)`); err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	applied := 0
	for _, m := range ms {
		done, err := applyMigration(ctx, c, m, now)
		if err != nil {
			return applied, fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

func applyMigration(ctx context.Context, c *pgx.Conn, m sqlstore.Migration, now func() time.Time) (bool, error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	// No arguments: pgx sends the script with the simple protocol, which
	// runs several statements.
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
		m.Version, now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

// parseConfig reads a postgres:// URL, pool settings (pool_max_conns, …)
// included, and fills in baoguan's defaults for what the URL leaves unset.
func parseConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx masks the password in the URL it quotes.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		// Every statement runs on its generic plan, planned once a
		// connection (and again after an ANALYZE of its tables), rather
		// than planned at each of its first five calls on each connection
		// and, where a custom plan looks cheaper (a LIMIT or an array
		// whose size the generic plan does not know), at every call.
		// What lets a generic plan use the partial indexes is in the SQL:
		// every condition that selects one (status = 'pending', batch_id
		// <> 0, …) is a literal, not a parameter; sqlstore.Explain shows
		// the generic plans, and the store suite's ListPlans and
		// QueuePlans check them. The URL may set plan_cache_mode=auto.
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	plainOnLoopback(url, cfg.ConnConfig, os.Getenv)
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		// Lets an operator tell baoguan's sessions apart in pg_stat_activity.
		cfg.ConnConfig.RuntimeParams["application_name"] = "baoguan"
	}
	return cfg, nil
}

// plainOnLoopback puts plaintext first when the URL leaves sslmode at its
// default, prefer, and every host it names is a loopback address: each
// host is then tried without TLS, and with TLS only if the server refuses
// that (a pg_hba.conf with only hostssl lines) — libpq's sslmode=allow, the
// reverse of prefer's order. prefer authenticates nothing (pgx, like
// libpq, checks no certificate under it, and falls back to plaintext when
// the server declines), and traffic to 127.0.0.1 or ::1 never leaves the
// kernel, so TLS there protected nothing and cost each round trip its
// encryption on both sides — a tenth of the CPU an order in the bench
// (docs/benchmarks.md, change 46). Any TLS setting named in the URL or the
// environment (sslmode, sslrootcert, sslcert, sslnegotiation, a service
// file; PGSSLMODE, …) keeps pgx's configuration as it parsed it, as does
// any host that is not loopback.
func plainOnLoopback(url string, cc *pgx.ConnConfig, getenv func(string) string) {
	if strings.Contains(strings.ToLower(url), "ssl") || strings.Contains(strings.ToLower(url), "service") {
		return
	}
	for _, k := range []string{"PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGSSLNEGOTIATION", "PGSERVICE", "PGSERVICEFILE"} {
		if getenv(k) != "" {
			return
		}
	}
	// prefer parses to each host with TLS, then the same host without.
	all := append([]*pgconn.FallbackConfig{{Host: cc.Host, Port: cc.Port, TLSConfig: cc.TLSConfig}}, cc.Fallbacks...)
	if len(all)%2 != 0 {
		return
	}
	for i := 0; i < len(all); i += 2 {
		t, p := all[i], all[i+1]
		if !loopback(t.Host) || t.TLSConfig == nil || p.TLSConfig != nil || p.Host != t.Host || p.Port != t.Port {
			return // not prefer's pairs on loopback: leave it as parsed
		}
	}
	for i := 0; i < len(all); i += 2 {
		all[i], all[i+1] = all[i+1], all[i]
	}
	cc.Host, cc.Port, cc.TLSConfig = all[0].Host, all[0].Port, all[0].TLSConfig
	cc.Fallbacks = all[1:]
}

// loopback reports whether host is a loopback address or localhost (a
// Unix socket's directory has no TLS attempt to drop).
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
