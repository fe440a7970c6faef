// Package postgres is baoguan's store for production and for several
// baoguan instances behind a load balancer on one PostgreSQL database
// (PostgreSQL 12 or later), implementing baoguan.Store with pgx v5.
//
// # Connections
//
// The store uses pgx's own pool (pgxpool) rather than database/sql: pgx
// keeps a prepared-statement cache per connection by itself (the job the
// statement cache does for SQLite) and speaks the binary protocol without
// database/sql's per-call allocations. The pool size is taken from the URL
// (pool_max_conns=N); when the URL does not say, it is defaultMaxConns.
//
// # Transactions
//
// Update runs fn in one READ COMMITTED transaction on its own connection and
// commits; View runs in a READ ONLY REPEATABLE READ transaction, so a
// multi-query read sees one snapshot and a write in View fails. Unlike the
// SQLite store there is no group commit: concurrent Updates are concurrent
// transactions, and PostgreSQL already shares one WAL flush among the
// commits that wait for it at the same moment (with synchronous_commit=on a
// commit still waits for its flush). Batching Updates into one transaction
// on top of that would hold row locks longer across instances and serialise
// every write through one connection for little gain. BEGIN is sent in one
// batch with a transaction's first statement, so it costs no round trip of
// its own: round trips, not rows, are what an order costs PostgreSQL.
//
// What keeps concurrent transactions, in one process or many, from
// stepping on each other is in the SQL (package sqlstore): version-checked
// UPDATEs (a lost race is ECONFLICT reason stale, and callers retry),
// conditional UPDATEs for balances, ON CONFLICT DO NOTHING for natural keys
// and idempotency keys (a second insert of a key waits for the first
// transaction to end; an advisory lock only where a read decides before the
// insert, as a batch number's does), and job
// claims with FOR UPDATE SKIP LOCKED and leases. Job handlers finish their
// job in the transaction of its outcome, with the claim's attempt count as
// the lease token, so a job whose lease expired and was taken by another
// instance cannot commit its outcome twice.
//
// # Waking other instances
//
// A transaction that enqueued jobs due now is announced, after it commits,
// with NOTIFY on the channel baoguan_jobs; every store LISTENs on it on a
// connection of its own and signals its Waker channel, which the job runner
// selects on beside its in-process wake-up. Notifications are coalesced to
// at most one per notifyEvery per instance, sent outside the transaction
// that enqueued (NOTIFY in every order's transaction would serialise their
// commits on PostgreSQL's notification lock), and with synchronous_commit
// off: a lost notification only delays a job until the runner's next poll,
// which remains the fallback.
//
// # Maintenance
//
// baoguan relies on autovacuum: the jobs table is a queue whose every claim
// leaves dead rows, and the plans pgx's prepared statements keep need
// statistics. On a server where autovacuum is off the store analyzes and
// vacuums its own tables itself (see maintain) and SelfMaintained says so.
//
// # Data
//
// The schema mirrors SQLite's (times as BIGINT unix milliseconds, JSON as
// text, personal data sealed with the keyring before it reaches SQL). TEXT
// in PostgreSQL can hold neither NUL bytes nor invalid UTF-8, both of which
// a merchant's notification answer or a JSON "\u0000" can contain; such
// strings are stored with each NUL, and each run of invalid bytes,
// replaced by U+FFFD rather than failing the transaction that records them.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sqlstore"
)

// defaultMaxConns is the pool size when the URL sets no pool_max_conns:
// enough connections that commits waiting for their WAL flush do not hold
// up the rest, few enough that a handful of instances stay well inside the
// server's default max_connections of 100.
const defaultMaxConns = 16

// ErrClosed is returned by Update and View after Close.
var ErrClosed = errors.New("postgres: store is closed")

// Options configures Open.
type Options struct {
	// URL is the database, postgres://user:password@host:port/dbname?…;
	// pgx and pool parameters (sslmode, pool_max_conns, …) are read from it.
	URL  string
	Keys *keyring.Ring    // seals personal data; required
	Now  func() time.Time // injected clock (default time.Now); Tx.Now() returns it
	// NotifyEvery is the least time between two job notifications this
	// store sends (default 10ms).
	NotifyEvery time.Duration
}

// DB is the PostgreSQL store. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	cfg  *pgxpool.Config
	keys *keyring.Ring
	now  func() time.Time

	id          string        // this store's notification payload, to ignore its own
	wake        chan struct{} // Waker: jobs were announced by another instance
	announce    chan struct{} // to the notifier: jobs were enqueued here
	notifyEvery time.Duration
	listening   atomic.Bool // for tests: LISTEN is in place

	selfMaintained bool // autovacuum is off: see maintain

	commits, rollbacks, commitNanos atomic.Int64

	closed  atomic.Bool
	cancel  context.CancelFunc // stops the listener and the notifier
	bg      sync.WaitGroup
	closeMu sync.Mutex
}

var _ baoguan.Store = (*DB)(nil)

// Open connects to the database at o.URL, applies pending migrations and
// starts listening for jobs announced by other instances.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Keys == nil {
		// Refusing is safer than a mode that would store ID numbers in plain.
		return nil, errors.New("postgres: Options.Keys is required to seal personal data")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NotifyEvery <= 0 {
		o.NotifyEvery = 10 * time.Millisecond
	}
	cfg, err := parseConfig(o.URL)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	_, err = migrate(ctx, c.Conn(), o.Now)
	var autovacuum string
	if err == nil {
		err = c.QueryRow(ctx, "SHOW autovacuum").Scan(&autovacuum)
	}
	c.Release()
	if err != nil {
		pool.Close()
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	db := &DB{
		pool: pool, cfg: cfg, keys: o.Keys, now: o.Now,
		id:          newInstanceID(),
		wake:        make(chan struct{}, 1),
		announce:    make(chan struct{}, 1),
		notifyEvery: o.NotifyEvery,
		cancel:      cancel,

		selfMaintained: autovacuum != "on",
	}
	db.bg.Add(2)
	go func() { defer db.bg.Done(); db.listen(bg) }()
	go func() { defer db.bg.Done(); db.notifier(bg) }()
	if db.selfMaintained {
		db.bg.Add(1)
		go func() { defer db.bg.Done(); db.maintain(bg) }()
	}
	// Seal what earlier versions stored in plaintext (sqlstore.Reseal);
	// dead row versions keep the plaintext until VACUUM FULL rewrites the
	// tables (docs/operations.md).
	if _, err := sqlstore.Reseal(func(fn func(*sqlstore.Tx) error) error {
		return db.Update(ctx, func(tx baoguan.Tx) error { return fn(tx.(*sqlstore.Tx)) })
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: sealing values stored in plaintext by an earlier version: %w", err)
	}
	return db, nil
}

// Close stops listening and closes the pool, waiting for connections in
// use to be returned. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if db.closed.Swap(true) {
		return nil
	}
	db.cancel()
	db.bg.Wait()
	db.pool.Close()
	return nil
}

// Update runs fn in a write transaction and commits it. fn's writes commit
// unless fn returns an error or panics, in which case they are rolled back
// and the error is returned as is. fn runs once: a failed commit is
// reported, not retried.
func (db *DB) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	if db.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer c.Release()
	x := &conn{c: c, begin: "BEGIN"}
	t := sqlstore.NewTx(ctx, x, dialect, db.keys, db.now(), true)
	err = protect(t, fn)
	t.End()
	// Once fn has run, the caller must learn how its transaction ended, so
	// neither the rollback nor the commit may be cut short by its context.
	fin := context.WithoutCancel(ctx)
	if err != nil {
		x.end(fin, "ROLLBACK")
		db.rollbacks.Add(1)
		return err
	}
	t0 := time.Now()
	if err := x.end(fin, "COMMIT"); err != nil {
		db.rollbacks.Add(1)
		return fmt.Errorf("postgres: commit: %w", err)
	}
	db.commitNanos.Add(int64(time.Since(t0)))
	db.commits.Add(1)
	if t.Enqueued() > 0 {
		db.announceJobs()
	}
	return nil
}

// View runs fn in a read-only transaction that sees one snapshot.
func (db *DB) View(ctx context.Context, fn func(baoguan.Tx) error) error {
	if db.closed.Load() {
		return ErrClosed
	}
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer c.Release()
	x := &conn{c: c, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"}
	t := sqlstore.NewTx(ctx, x, dialect, db.keys, db.now(), false)
	err = protect(t, fn)
	t.End()
	// A read transaction has nothing to keep: rolling back just ends it.
	x.end(context.WithoutCancel(ctx), "ROLLBACK")
	return err
}

// Stats describes the store's write transactions and its pool so far.
type Stats struct {
	Commits    int64         // Update transactions committed
	Rollbacks  int64         // Update transactions rolled back (fn failed, or the commit did)
	CommitTime time.Duration // time spent in COMMIT, the WAL flush included
	// PoolWait is the time callers spent waiting for a connection because
	// all MaxConns were in use; when it grows with load, the pool is the
	// bottleneck (raise pool_max_conns, within the server's max_connections).
	PoolWait time.Duration
	MaxConns int32
}

// Stats returns transaction and pool statistics.
func (db *DB) Stats() Stats {
	ps := db.pool.Stat()
	return Stats{Commits: db.commits.Load(), Rollbacks: db.rollbacks.Load(), CommitTime: time.Duration(db.commitNanos.Load()),
		PoolWait: ps.EmptyAcquireWaitTime(), MaxConns: ps.MaxConns()}
}

// protect runs fn, turning a panic into an error for its caller alone. The
// error is a plain error (code EINTERNAL for front-ends, so its text is
// never shown to a client) carrying the stack for the log.
func protect(t *sqlstore.Tx, fn func(baoguan.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("postgres: panic in store transaction: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(t)
}

// conn is one transaction on a pooled connection, as package sqlstore
// uses it. The transaction is begun lazily: BEGIN travels in one batch
// with the first statement, which saves a round trip per transaction (there
// are about ten per order), and a function that runs no statement costs
// nothing.
type conn struct {
	c     *pgxpool.Conn
	begin string // the BEGIN still to send; "" once sent
}

// first sends BEGIN and q together and returns the results of q; close
// ends the batch once they are read.
func (c *conn) first(ctx context.Context, q string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue(c.begin)
	b.Queue(q, args...)
	c.begin = ""
	br := c.c.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

func (c *conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	args = textSafe(args)
	var tag pgconn.CommandTag
	var err error
	if c.begin != "" {
		br, berr := c.first(ctx, q, args)
		if berr != nil {
			return 0, berr
		}
		tag, err = br.Exec()
		err = errors.Join(err, br.Close())
	} else {
		tag, err = c.c.Exec(ctx, q, args...)
	}
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (c *conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	args = textSafe(args)
	if c.begin != "" {
		br, err := c.first(ctx, q, args)
		if err != nil {
			return nil, err
		}
		rows, err := br.Query()
		if err != nil {
			br.Close()
			return nil, err
		}
		return pgRows{Rows: rows, batch: br}, nil
	}
	rows, err := c.c.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{Rows: rows}, nil
}

// end ends the transaction, if it was begun, with COMMIT or ROLLBACK. A
// COMMIT of a transaction that an error had already aborted is answered
// ROLLBACK by the server, without an error: that is reported as one.
func (c *conn) end(ctx context.Context, how string) error {
	if c.begin != "" {
		return nil // never begun: nothing to end
	}
	tag, err := c.c.Exec(ctx, how)
	if err != nil {
		return err
	}
	if how == "COMMIT" && tag.String() == "ROLLBACK" {
		return errAborted
	}
	return nil
}

// errAborted is the commit error of a transaction in which a statement
// failed although fn returned no error.
var errAborted = errors.New("postgres: the transaction was rolled back: a statement in it had failed")

// pgRows gives pgx.Rows the Close that database/sql's rows have: pgx
// reports a statement's error (a constraint violation, say) once the rows
// are read or closed.
// The rows of a statement sent in a batch hold the batch, which must be
// closed too before the connection is used again.
type pgRows struct {
	pgx.Rows
	batch pgx.BatchResults
}

func (r pgRows) Close() error {
	r.Rows.Close()
	err := r.Rows.Err()
	if r.batch != nil {
		err = errors.Join(err, r.batch.Close())
	}
	return err
}

// textSafe replaces, in the string arguments, what PostgreSQL TEXT cannot
// hold by U+FFFD: each NUL byte and each run of invalid UTF-8. It copies args only when one
// needs it, which is almost never.
// The strings of a text[] argument (a chunk's column, sqlstore's multi-row
// inserts) are made safe alike, in a copy of the array.
func textSafe(args []any) []any {
	var out []any
	for i, a := range args {
		var safe any
		switch v := a.(type) {
		case string:
			if !textUnsafe(v) {
				continue
			}
			safe = makeTextSafe(v)
		case []string:
			var c []string
			for j, s := range v {
				if !textUnsafe(s) {
					continue
				}
				if c == nil {
					c = append([]string(nil), v...)
				}
				c[j] = makeTextSafe(s)
			}
			if c == nil {
				continue
			}
			safe = c
		default:
			continue
		}
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = safe
	}
	if out == nil {
		return args
	}
	return out
}

func textUnsafe(s string) bool { return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 }

func makeTextSafe(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// dialect is how the shared SQL meets PostgreSQL.
var dialect = &sqlstore.Dialect{
	Name:       "postgres",
	Numbered:   true,
	Concurrent: true,
	UniqueViolation: func(err error) (string, bool) {
		var e *pgconn.PgError
		if errors.As(err, &e) && e.Code == "23505" { // unique_violation
			return e.ConstraintName, true
		}
		return "", false
	},
	ForeignKeyViolation: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23503" // foreign_key_violation
	},
}

// CheckURL reports whether url is a connection URL Open can use (its
// parameters included), without connecting. The error masks the password.
func CheckURL(url string) error {
	_, err := parseConfig(url)
	return err
}

// Redact returns a database URL fit for logs and messages: the password,
// in the user part or as a parameter, is replaced by "xxxxx".
func Redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
