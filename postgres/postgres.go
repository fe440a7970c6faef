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
// Statements run on their generic plans (plan_cache_mode =
// force_generic_plan, unless the URL sets plan_cache_mode), planned once a
// connection rather than at each of their first calls; see parseConfig.
//
// # Transactions
//
// View runs in a READ ONLY REPEATABLE READ transaction, so a multi-query
// read sees one snapshot and a write in View fails; a View marked
// baoguan.LooseView runs each query on its own: a plain SELECT (one that
// locks and writes nothing: the failed-authentication check every request
// makes) alone, in the transaction PostgreSQL gives a lone statement;
// anything else in a read-only transaction of its own, BEGIN, the query and
// ROLLBACK in one batch. Either way a lone read costs one round trip rather
// than two. Several statements whose outcomes one caller reads
// together (a job batch's UPDATEs: sqlstore.Pipeliner) go in one batch
// too. BEGIN is sent in one
// batch with a transaction's first statement, so it costs no round trip of
// its own: round trips, not rows, are what an order costs PostgreSQL. A
// statement whose outcome its caller does not read (sqlstore.Deferrer: a
// new order's pay job, Tx.EnqueueLater) waits the same way for the
// function's next statement, or for the function's end, and its error
// comes back from the statement it travelled with.
//
// Update hands fn to one of several writer goroutines (Options.Writers),
// which commit concurrent Updates together (group commit, as the SQLite
// store does): a writer takes a call, runs it in a READ COMMITTED
// transaction on a pooled connection, then takes every call still waiting
// (up to maxGroup, for at most maxGroupTime) and runs each inside a
// SAVEPOINT of its own, sent in the batch of the call's first statement (so
// it costs no round trip either), and commits once. A fn that fails — an
// error, a panic, or a statement error it did not return — is rolled back
// to its savepoint alone and its caller gets its error; the first call of a
// group needs no savepoint, since rolling back the whole transaction undoes
// it alone. One COMMIT, one WAL flush and one transaction's bookkeeping
// thus serve many pushes, where each used to pay its own. Several writers,
// rather than SQLite's one, because PostgreSQL runs transactions
// concurrently: a long Update (a job batch) holds only its own writer, and
// the database's two sides (round trips, WAL flushes) overlap. An Update
// marked baoguan.LongUpdate (the runner's job batches) runs in a
// transaction of its own: the calls grouped with it would otherwise wait
// for it to commit, seconds where they take milliseconds.
//
// The price: locks an Update takes are held until its group commits, so
// two groups (two writers, or two instances) can deadlock where two lone
// transactions would only have waited for each other — the same order
// pushed to two instances at once while another one is pushed to both the
// other way round, say. PostgreSQL then fails one statement with
// deadlock_detected; the writer runs that call again, once, in a
// transaction of its own after its group has committed. A group's
// statements run with no caller's context (a call already taken is
// finished, as on SQLite); a call whose context ends before a writer takes
// it is dropped and never runs. fn must not call Update itself.
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

// Group commit (see the package comment): a group takes calls for at most
// maxGroupTime after its first has run, so that its first caller does not
// wait long for the commit, and at most maxGroup of them, so that the
// savepoints of one transaction (and the job savepoints within them) stay
// within the 64 subtransactions PostgreSQL tracks per backend without
// spilling to pg_subtrans, which would slow every other session's
// snapshots while the group is open.
const (
	maxGroup     = 48
	maxGroupTime = 5 * time.Millisecond
)

// defaultMaxConns is the pool size when the URL sets no pool_max_conns:
// enough connections for the group-commit writers (two thirds of them, 10)
// beside the reads, few enough that five instances stay within the
// server's default max_connections of 100. It was 24 until round 9: with
// 16 writers the pushes spread over more, smaller groups (a COMMIT and a
// busy backend each), and a batch upload's three chunks shared the CPU
// with as many push backends; at 16 an upload took a fifth to a third less
// server time beside the pushes, with less PostgreSQL CPU an order
// (docs/benchmarks.md, change 47).
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
	// Writers is how many group-commit writers run Updates (default: two
	// thirds of the pool's connections; see the package comment). Each holds a
	// pooled connection while its group runs.
	Writers int
}

// DB is the PostgreSQL store. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	cfg  *pgxpool.Config
	keys *keyring.Ring
	now  func() time.Time

	id          string        // this store's notification payload, to ignore its own
	notifyQuery string        // the notifier's one round trip (notifyQuery)
	wake        chan struct{} // Waker: jobs were announced by another instance
	announce    chan struct{} // to the notifier: jobs were enqueued here
	notifyEvery time.Duration
	listening   atomic.Bool // for tests: LISTEN is in place

	selfMaintained bool // autovacuum is off: see maintain

	calls     *sqlstore.Queue // Updates waiting for a writer
	groupTime time.Duration   // maxGroupTime, but for tests
	writers   sync.WaitGroup
	nWriters  int

	commits, updates, rollbacks, retries, commitNanos atomic.Int64

	handoff atomic.Pointer[sqlstore.HandoffTo] // where new due events go, leased (SetLeasedHandoff)

	closed  atomic.Bool
	cancel  context.CancelFunc // stops the listener and the notifier
	bg      sync.WaitGroup
	closeMu sync.Mutex
}

var (
	_ baoguan.Store              = (*DB)(nil)
	_ baoguan.LeasedHandoffStore = (*DB)(nil)
)

// SetLeasedHandoff makes the writers insert the pending events due at once
// that their transactions create leased until the transaction's time plus
// lease, and hand them to h as baoguan.LeasedHandoffStore says: their ids
// before the group's COMMIT, the events once it has committed, the ids
// again when it did not (or its outcome is unknown); Dirty after a group
// that made other events due at once. A group uses the receiver set when
// it began. stop ends it, unless another receiver was set since.
func (db *DB) SetLeasedHandoff(h baoguan.EventHandoff, lease time.Duration) (stop func()) {
	return sqlstore.NewHandoff(&db.handoff, h, lease)
}

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
	if o.Writers <= 0 {
		// Two thirds of the pool: the rest serves Views, the notifier
		// and maintenance.
		o.Writers = max(1, int(cfg.MaxConns)*2/3)
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
	id := newInstanceID()
	db := &DB{
		pool: pool, cfg: cfg, keys: o.Keys, now: o.Now,
		id:          id,
		notifyQuery: notifyQuery(id),
		wake:        make(chan struct{}, 1),
		announce:    make(chan struct{}, 1),
		notifyEvery: o.NotifyEvery,
		cancel:      cancel,
		calls:       sqlstore.NewQueue(4 * maxGroup),
		groupTime:   maxGroupTime,
		nWriters:    o.Writers,

		selfMaintained: autovacuum != "on",
	}
	for range o.Writers {
		db.writers.Go(db.writer)
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

// Close stops accepting Updates, lets the writers finish the calls already
// queued, stops listening and closes the pool, waiting for connections in
// use to be returned. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if db.closed.Swap(true) {
		return nil
	}
	db.calls.Close()
	db.writers.Wait()
	db.cancel()
	db.bg.Wait()
	db.pool.Close()
	return nil
}

// Update runs fn in a write transaction, possibly shared with other
// concurrent Updates (see the package comment), and commits it. fn's
// writes commit unless fn returns an error or panics, in which case they
// are rolled back and the error is returned as is. A failed commit is
// reported, not retried.
func (db *DB) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	return db.calls.Submit(ctx, fn, ErrClosed)
}

// Writers is how many Updates run at once, each in a transaction of its
// own or its group's (Options.Writers): an Update that waits for another
// to commit (a batch upload's chunks side by side) must leave one free.
func (db *DB) Writers() int { return db.nWriters }

// writer runs groups of Updates until Close.
func (db *DB) writer() {
	var next *sqlstore.Call // a long call met while filling a group: it comes next
	for {
		c := next
		if c == nil {
			var ok bool
			if c, ok = <-db.calls.Calls(); !ok {
				return
			}
		}
		next = nil
		if !c.Take() {
			continue // its caller gave up waiting
		}
		var retry []*sqlstore.Call
		retry, next = db.runGroup(c, c.Long)
		// Calls that met a deadlock in the group run again, each alone.
		for _, r := range retry {
			db.retries.Add(1)
			db.runGroup(r, true)
		}
	}
}

// runGroup runs first (taken by the writer), and unless alone the calls
// waiting behind it, in one transaction, commits and answers them. It
// returns the calls to run again alone, unanswered: those that failed on a
// deadlock in a group; and a long call it met while filling the group, not
// taken, to run next in a transaction of its own.
func (db *DB) runGroup(first *sqlstore.Call, alone bool) (retry []*sqlstore.Call, next *sqlstore.Call) {
	// The transaction outlives any single caller, so no caller's context
	// may cancel it.
	ctx := context.Background()
	var (
		live     []*sqlstore.Call // the calls taken, in the order they ran
		errs     []error          // their outcomes
		enqueued int              // jobs due now that committing calls enqueued
		ho       = sqlstore.Handed{To: db.handoff.Load(), Now: &db.handoff}
	)
	answer := func(fatal error) {
		for i, c := range live {
			if errs[i] != nil {
				c.Answer(errs[i])
			} else {
				c.Answer(fatal)
			}
		}
	}
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		first.Answer(fmt.Errorf("postgres: %w", err))
		return nil, nil
	}
	defer pc.Release()
	x := &conn{c: pc}
	var start time.Time // when the group's first call had run
	for c := first; c != nil; c = db.nextCall(alone, len(live), start) {
		if c != first && c.Long {
			next = c
			break
		}
		if c != first && !c.Take() {
			continue // its caller gave up waiting
		}
		var n int
		err, broken := db.runCall(x, c, &n, &ho)
		if broken != nil {
			// The connection or the transaction is lost: nothing of the
			// group is written.
			live, errs = append(live, c), append(errs, err)
			db.rollbacks.Add(1)
			ho.Cancel()
			answer(fmt.Errorf("postgres: %w", broken))
			pc.Conn().PgConn().Close(ctx) // whatever state it is in, it is not reused
			return retry, next
		}
		if !alone && isDeadlock(err) {
			retry = append(retry, c)
			continue
		}
		live, errs = append(live, c), append(errs, err)
		if err == nil {
			enqueued += n
		}
		if start.IsZero() {
			start = time.Now()
		}
	}
	if x.open {
		ho.Expect()
		t0 := time.Now()
		if err := x.end(ctx, "COMMIT"); err != nil {
			db.rollbacks.Add(1)
			ho.Cancel()
			answer(fmt.Errorf("postgres: commit: %w", err))
			return retry, next
		}
		db.commitNanos.Add(int64(time.Since(t0)))
		db.commits.Add(1)
		ho.Committed()
	}
	for _, err := range errs {
		if err == nil {
			db.updates.Add(1)
		}
	}
	answer(nil)
	if enqueued > 0 {
		db.announceJobs()
	}
	return retry, next
}

// nextCall returns a call waiting for a writer to add to the group of n
// calls whose first had run at start, or nil when the group is complete.
func (db *DB) nextCall(alone bool, n int, start time.Time) *sqlstore.Call {
	if alone || n >= maxGroup || !start.IsZero() && time.Since(start) >= db.groupTime {
		return nil
	}
	select {
	case c := <-db.calls.Calls():
		return c
	default:
		return nil
	}
}

// runCall runs one call's fn on the group's transaction x: in a savepoint
// when calls before it in the group wrote, as the transaction's first
// otherwise. It returns fn's outcome and how many jobs due now it
// enqueued, or broken when the transaction could not be brought back to
// where it was before fn.
func (db *DB) runCall(x *conn, c *sqlstore.Call, enqueued *int, ho *sqlstore.Handed) (err, broken error) {
	ctx := context.Background()
	savepoint := x.open
	switch {
	case !savepoint:
		x.pre = []stmt{{q: "BEGIN"}}
	case x.savepoint:
		// Release the previous call's savepoint in the same batch, so
		// that savepoints do not nest.
		x.pre = []stmt{{q: "RELEASE SAVEPOINT fn"}, {q: "SAVEPOINT fn"}}
	default:
		x.pre = []stmt{{q: "SAVEPOINT fn"}}
	}
	sent := x.sent
	t := sqlstore.NewTx(ctx, x, dialect, db.keys, db.now(), true)
	ho.Collect(t)
	err = protect(t, c.Fn)
	t.End()
	if err == nil {
		// Deferred statements no statement of fn carried go now.
		err = x.flush(ctx)
	}
	x.pre, x.deferred = nil, 0
	if x.sent == sent {
		return err, nil // fn ran no statement: nothing to undo
	}
	if savepoint {
		x.savepoint = true
	}
	if err == nil && x.aborted() {
		err = errAborted // a statement failed and fn went on
	}
	switch {
	case err == nil:
		*enqueued = t.Enqueued()
		ho.Keep(t)
	case savepoint:
		if _, rerr := x.c.Exec(ctx, "ROLLBACK TO SAVEPOINT fn"); rerr != nil {
			return err, rerr
		}
	default:
		// The transaction's first call: rolling all of it back undoes
		// this call alone.
		if rerr := x.end(ctx, "ROLLBACK"); rerr != nil {
			return err, rerr
		}
		db.rollbacks.Add(1)
	}
	return err, nil
}

// isDeadlock reports whether err is PostgreSQL's deadlock_detected.
func isDeadlock(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "40P01"
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
	if baoguan.IsLooseView(ctx) {
		// Each read on its own (looseQuery): no round trip to end it.
		x := &conn{c: c, loose: true}
		t := sqlstore.NewTx(ctx, x, dialect, db.keys, db.now(), false)
		err = protect(t, fn)
		t.End()
		return err
	}
	x := &conn{c: c, pre: []stmt{{q: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"}}}
	t := sqlstore.NewTx(ctx, x, dialect, db.keys, db.now(), false)
	err = protect(t, fn)
	t.End()
	// A read transaction has nothing to keep: rolling back just ends it.
	x.end(context.WithoutCancel(ctx), "ROLLBACK")
	return err
}

// Stats describes the store's write transactions and its pool so far.
type Stats struct {
	Commits    int64         // write transactions (groups of Updates) committed
	Updates    int64         // Update calls committed; Updates/Commits is the mean group size
	Rollbacks  int64         // write transactions rolled back (the first fn failed, or the commit did)
	Retries    int64         // Update calls run again alone after a deadlock in their group
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
	return Stats{Commits: db.commits.Load(), Updates: db.updates.Load(), Rollbacks: db.rollbacks.Load(),
		Retries: db.retries.Load(), CommitTime: time.Duration(db.commitNanos.Load()),
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
// with the first statement, which saves a round trip per transaction, and
// a function that runs no statement costs nothing. A group's savepoints
// and deferred statements (Defer) travel the same way.
type conn struct {
	c         *pgxpool.Conn
	pre       []stmt // statements to send in one batch with the next one: BEGIN, SAVEPOINT, deferred ones
	deferred  int    // how many of pre are deferred statements (Defer)
	open      bool   // BEGIN was sent and the transaction not ended
	savepoint bool   // SAVEPOINT fn was sent in the transaction
	sent      int    // statements sent, pre not counted
	loose     bool   // a LooseView: each query on its own (looseQuery); Exec (a write) is refused
}

// first sends pre and q together and returns the results of q; close
// ends the batch once they are read.
func (c *conn) first(ctx context.Context, q string, args []any) (pgx.BatchResults, error) {
	b, n := c.takePre()
	b.Queue(q, args...)
	return c.sendPre(ctx, b, n)
}

// takePre queues what waits in pre in a new batch, which the caller
// completes and sends with sendPre; n is how many statements it queued.
func (c *conn) takePre() (b *pgx.Batch, n int) {
	b = &pgx.Batch{}
	for _, p := range c.pre {
		b.Queue(p.q, p.args...)
		if strings.HasPrefix(p.q, "BEGIN") {
			c.open = true
		}
	}
	n = len(c.pre)
	c.sent += c.deferred
	c.pre, c.deferred = nil, 0
	return b, n
}

// sendPre sends b and reads the outcomes of its first n statements (pre's).
func (c *conn) sendPre(ctx context.Context, b *pgx.Batch, n int) (pgx.BatchResults, error) {
	br := c.c.SendBatch(ctx, b)
	for range n {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

// sendAll sends what waits in pre and stmts in one batch and reads pre's
// outcomes; the results of stmts follow in br.
func (c *conn) sendAll(ctx context.Context, stmts []sqlstore.Stmt) (br pgx.BatchResults, err error) {
	b, n := c.takePre()
	c.sent += len(stmts)
	for _, s := range stmts {
		b.Queue(s.Q, textSafe(s.Args)...)
	}
	return c.sendPre(ctx, b, n)
}

// ExecAll sends what waits in pre and stmts in one batch, and returns the
// rows each of stmts changed (sqlstore.Pipeliner): a job batch's rows
// written in one round trip rather than one each.
func (c *conn) ExecAll(ctx context.Context, stmts []sqlstore.Stmt) ([]int64, error) {
	if len(stmts) == 0 {
		return nil, nil
	}
	br, err := c.sendAll(ctx, stmts)
	if err != nil {
		return nil, err
	}
	ns := make([]int64, len(stmts))
	for i := range stmts {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return nil, err
		}
		ns[i] = tag.RowsAffected()
	}
	return ns, br.Close()
}

// QueryAll sends what waits in pre and the queries of stmts in one batch,
// and hands the rows of each to its reader, in order
// (sqlstore.QueryPipeliner): a job batch's orders and their declarations
// read in one round trip rather than one each.
func (c *conn) QueryAll(ctx context.Context, stmts []sqlstore.Stmt, read []func(sqlstore.Rows) error) error {
	if c.loose {
		return errLooseWrite // not reached: Views read one query at a time
	}
	br, err := c.sendAll(ctx, stmts)
	if err != nil {
		return err
	}
	for i := range stmts {
		rows, err := br.Query()
		if err == nil {
			err = read[i](pgRows{Rows: rows})
			rows.Close()
			err = errors.Join(err, rows.Err())
		}
		if err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// stmt is a statement waiting in pre.
type stmt struct {
	q    string
	args []any
}

// Defer queues a statement whose outcome the caller does not read, to be
// sent in one batch with the transaction's next statement (see
// sqlstore.Deferrer). Its error comes back from that statement, or from
// flush when none follows.
func (c *conn) Defer(q string, args ...any) {
	c.pre = append(c.pre, stmt{q: q, args: textSafe(args)})
	c.deferred++
}

// Precede holds a statement that matters only to the statements after it
// (a SAVEPOINT, its RELEASE: sqlstore.Preceder) for the batch of the
// transaction's next statement. Unlike a deferred one it is not sent at
// the function's end: when no statement follows, the transaction's end
// (COMMIT, ROLLBACK, or the next call's savepoint) makes it moot.
func (c *conn) Precede(q string) {
	c.pre = append(c.pre, stmt{q: q})
}

// flush sends the deferred statements still waiting, with what pre holds
// before them, in one batch.
func (c *conn) flush(ctx context.Context) error {
	if c.deferred == 0 {
		return nil
	}
	b, _ := c.takePre()
	return c.c.SendBatch(ctx, b).Close()
}

// aborted reports whether a statement failed in the transaction and it
// now refuses every statement but a rollback.
func (c *conn) aborted() bool { return c.c.Conn().PgConn().TxStatus() == 'E' }

func (c *conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	if c.loose {
		return 0, errLooseWrite
	}
	args = textSafe(args)
	c.sent++
	var tag pgconn.CommandTag
	var err error
	if c.pre != nil {
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
	c.sent++
	if c.loose {
		return c.looseQuery(ctx, q, args)
	}
	if c.pre != nil {
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

// QueryLiterals runs q with its arguments written into its text as
// literals (pgx's simple protocol; sqlstore.LiteralQuerier): what waits in
// pre is sent first, in a batch of its own. Only sqlstore.Explain uses it.
func (c *conn) QueryLiterals(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	if c.loose {
		return nil, errors.New("postgres: QueryLiterals in a LooseView")
	}
	if len(c.pre) > 0 {
		b, n := c.takePre()
		br, err := c.sendPre(ctx, b, n)
		if err != nil {
			return nil, err
		}
		if err := br.Close(); err != nil {
			return nil, err
		}
	}
	c.sent++
	rows, err := c.c.Query(ctx, q, append([]any{pgx.QueryExecModeSimpleProtocol}, textSafe(args)...)...)
	if err != nil {
		return nil, err
	}
	return pgRows{Rows: rows}, nil
}

// looseQuery runs a LooseView's query on its own: a plain SELECT alone
// (plainSelect), anything else in a read-only transaction of its own,
// begun and ended in the query's batch; one round trip either way, where a
// View's transaction costs one more for its end.
func (c *conn) looseQuery(ctx context.Context, q string, args []any) (sqlstore.Rows, error) {
	if plainSelect(q) {
		// A SELECT that locks nothing writes nothing: it runs alone, in
		// the transaction PostgreSQL gives a lone statement, without two
		// statements of transaction control.
		rows, err := c.c.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		return pgRows{Rows: rows}, nil
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN READ ONLY")
	b.Queue(q, args...)
	b.Queue("ROLLBACK")
	br := c.c.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return pgRows{Rows: rows, batch: br}, nil
}

// plainSelect reports whether q is a SELECT without a locking clause
// (sqlstore's reads), which a LooseView may run alone: anything else runs
// in a READ ONLY transaction, which refuses a write.
func plainSelect(q string) bool {
	f := strings.Fields(strings.ToUpper(q))
	if len(f) == 0 || f[0] != "SELECT" {
		return false
	}
	for _, w := range f {
		if w == "FOR" || strings.Contains(w, "NEXTVAL") || strings.Contains(w, "SETVAL") || strings.Contains(w, "PG_NOTIFY") {
			return false
		}
	}
	return true
}

// CopyRows loads rows into table with COPY (sqlstore.Copier), inside a
// savepoint: when the COPY fails (a row meets a unique key, say) the
// transaction is rolled back to it and copied is false, so that the caller
// inserts the rows another way. The savepoint is sent in one batch with
// what waits to be sent (BEGIN, a call's savepoint) and, with ids, the
// query that draws the rows' ids; it is released in the batch of the
// call's next statement (otherwise the next call's RELEASE SAVEPOINT fn,
// which releases every savepoint taken after fn, or the commit releases
// it), so the COPY costs a round trip more than itself.
//
// With given ids (drawn before, DB.ReserveIDs) there is nothing to draw:
// the savepoint, and what waits to be sent when none of it binds values
// (BEGIN, a RELEASE SAVEPOINT), travel in the COPY's own query, as
// statements before it ("SAVEPOINT copy_rows; COPY …": PostgreSQL runs a
// simple query's statements in order and, should one fail, drops the rest
// and the COPY's data), and the COPY costs its round trip alone.
func (c *conn) CopyRows(ctx context.Context, table string, cols []string, rows [][]any, ids bool, given []int64) (got []int64, copied bool, err error) {
	c.sent++
	undo := func(cause error) ([]int64, bool, error) {
		if _, rerr := c.c.Exec(ctx, "ROLLBACK TO SAVEPOINT copy_rows"); rerr != nil {
			return nil, false, fmt.Errorf("postgres: copy into %s: %w; rolling it back: %w", table, cause, rerr)
		}
		c.pre = append(c.pre, stmt{q: "RELEASE SAVEPOINT copy_rows"})
		return nil, false, nil
	}
	prefix := ""
	switch {
	case ids && given != nil:
		if len(given) != len(rows) {
			return nil, false, fmt.Errorf("postgres: copy into %s: %d ids given for %d rows", table, len(given), len(rows))
		}
		got = given
		if prefix = c.simplePre(); prefix == "" {
			if err := c.sendAfterPre(ctx, "SAVEPOINT copy_rows"); err != nil {
				return nil, false, err
			}
		} else {
			prefix += "SAVEPOINT copy_rows; "
		}
	case ids:
		c.pre = append(c.pre, stmt{q: "SAVEPOINT copy_rows"})
		q, err := c.Query(ctx, qNextIDs, table, len(rows))
		if err != nil {
			return nil, false, err // a statement sent before it failed
		}
		if got, err = scanIDs(q, table, len(rows)); err != nil {
			return undo(err)
		}
	default:
		if err := c.sendAfterPre(ctx, "SAVEPOINT copy_rows"); err != nil {
			return nil, false, err
		}
	}
	for _, r := range rows {
		for i, v := range r {
			if s, ok := v.(string); ok && textUnsafe(s) {
				r[i] = makeTextSafe(s)
			}
		}
	}
	if err := c.copyFrom(ctx, prefix, table, cols, got, rows); err != nil {
		return undo(err)
	}
	c.pre = append(c.pre, stmt{q: "RELEASE SAVEPOINT copy_rows"})
	return got, true, nil
}

// simplePre takes what waits in pre as the text of a simple query, each
// statement followed by "; ", when none of it binds values; otherwise, or
// when nothing waits, it leaves pre as it is and returns "", and the caller
// sends its savepoint in a batch of its own (sendAfterPre).
func (c *conn) simplePre() string {
	if len(c.pre) == 0 {
		return ""
	}
	var sb strings.Builder
	for _, p := range c.pre {
		if len(p.args) > 0 {
			return ""
		}
	}
	for _, p := range c.pre {
		sb.WriteString(p.q)
		sb.WriteString("; ")
		if strings.HasPrefix(p.q, "BEGIN") {
			c.open = true
		}
	}
	c.sent += c.deferred
	c.pre, c.deferred = nil, 0
	return sb.String()
}

var _ sqlstore.Copier = (*conn)(nil)

// qReserveIDs draws n ids from the id sequence of a table, in order, as
// qNextIDs does; a sequence's values are never given back, whatever
// becomes of the transaction that draws them, so they are drawn outside
// any.
const qReserveIDs = qNextIDs

// ReserveIDs draws ids for a batch upload's orders and declarations (see
// baoguan.IDReserver) from their tables' sequences, in one round trip
// outside any transaction: the chunks that insert them then copy their rows
// without a query of their own to draw ids first.
func (db *DB) ReserveIDs(ctx context.Context, orders, declarations int) (orderIDs, declarationIDs []int64, err error) {
	if db.closed.Load() {
		return nil, nil, ErrClosed
	}
	b := &pgx.Batch{}
	b.Queue(qReserveIDs, "orders", orders)
	b.Queue(qReserveIDs, "declarations", declarations)
	br := db.pool.SendBatch(ctx, b)
	for _, r := range []struct {
		table string
		n     int
		out   *[]int64
	}{{"orders", orders, &orderIDs}, {"declarations", declarations, &declarationIDs}} {
		rows, err := br.Query()
		if err == nil {
			*r.out, err = scanIDs(pgRows{Rows: rows}, r.table, r.n)
		}
		if err != nil {
			br.Close()
			return nil, nil, fmt.Errorf("postgres: reserving ids: %w", err)
		}
	}
	return orderIDs, declarationIDs, br.Close()
}

// qNextIDs draws n ids from the id sequence of a table, in order.
const qNextIDs = `SELECT nextval(s) FROM pg_get_serial_sequence($1, 'id') AS s, generate_series(1, $2::int) ORDER BY 1`

// scanIDs reads the n ids qNextIDs drew for table.
func scanIDs(rows sqlstore.Rows, table string, n int) ([]int64, error) {
	got := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		got = append(got, id)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(got) != n {
		return nil, fmt.Errorf("postgres: %d ids drawn for %d rows of %s", len(got), n, table)
	}
	return got, nil
}

// sendAfterPre sends what waits in pre and then q, in one batch.
func (c *conn) sendAfterPre(ctx context.Context, q string) error {
	if c.pre == nil {
		_, err := c.c.Exec(ctx, q)
		return err
	}
	br, err := c.first(ctx, q, nil)
	if err != nil {
		return err
	}
	_, err = br.Exec()
	return errors.Join(err, br.Close())
}

// end ends the transaction, if it was begun, with COMMIT or ROLLBACK. A
// COMMIT of a transaction that an error had already aborted is answered
// ROLLBACK by the server, without an error: that is reported as one.
func (c *conn) end(ctx context.Context, how string) error {
	if !c.open {
		return nil // never begun: nothing to end
	}
	c.open, c.savepoint, c.pre = false, false, nil
	tag, err := c.c.Exec(ctx, how)
	if err != nil {
		return err
	}
	if how == "COMMIT" && tag.String() == "ROLLBACK" {
		return errAborted
	}
	return nil
}

// errLooseWrite is what Exec (a write) gets in a LooseView.
var errLooseWrite = errors.New("postgres: a write in a View marked LooseView")

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
	Name:         "postgres",
	Numbered:     true,
	Concurrent:   true,
	WritableWith: true,
	CheckedRefs:  true,
	UniqueViolation: func(err error) (string, bool) {
		var e *pgconn.PgError
		if errors.As(err, &e) && e.Code == "23505" { // unique_violation
			// The index, then the key taken: "Key (public_id)=(evt_…)
			// already exists.", by which a many-row insert names its row.
			return e.ConstraintName + " " + e.Detail, true
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
