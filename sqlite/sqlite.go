// Package sqlite is baoguan's embedded store: one SQLite file, opened with
// the pure-Go modernc.org/sqlite driver, implementing baoguan.Store.
//
// # Connections
//
// The file runs in WAL mode so readers never block the writer nor the writer
// the readers. There is exactly one write connection (a *sql.DB limited to one
// connection, BEGIN IMMEDIATE) beside a pool of read connections opened with
// query_only, so a write attempted inside View fails instead of silently
// competing for the write lock. busy_timeout covers other processes (such as
// `baoguan migrate`) holding the lock briefly; foreign_keys is on. The
// writer runs its statements other than queries on SQLite's API, on the
// write connection's handle, without the connection's mutex (rawConn in
// raw.go), and its queries, BEGIN and COMMIT through database/sql on the
// same connection.
//
// # Group commit
//
// With synchronous=FULL every COMMIT waits for an fsync of the WAL, which on
// ordinary disks costs far more than the inserts of an order. A transaction
// per Update would therefore cap the gateway at a few hundred orders a second
// whatever the CPU. Instead, Update does not touch the database itself: it
// hands fn to a single writer goroutine. The writer takes every call that is
// waiting (up to maxGroup), opens one transaction, and runs the fns one after
// another. A fn that fails (or panics) has its writes undone and its caller
// gets its error, while the others go on; then the writer COMMITs once, one
// fsync for the whole group, and every caller is answered (once the group is
// durable: see below). The fns run bare, without a SAVEPOINT each (a
// savepoint's sub-journal copies every page its fn is the first to write
// since it began — the indexes' last leaves, which every fn of a group
// writes, once per fn): when a bare fn fails, the writer rolls the group's
// transaction back, begins it again and runs the fns before it again, each
// in its own SAVEPOINT (the Store contract allows a fn to run twice), and
// answers the failing fn with its error; the group's later fns, and every
// group for a second after (bareAfterFailure), run each in its SAVEPOINT, a
// failing one rolled back to it alone, so that calls failing one after
// another cost one such replay a second at most. If that COMMIT
// fails, every caller whose fn succeeded gets the COMMIT error, since none
// of their writes is durable. While a group is running, new calls queue up
// and form the next group, so the group size adapts to load by itself: one
// call alone commits at once, and under load the fsync is shared by dozens
// of callers. This is what lets the native API reach about 20k order writes
// a second with synchronous=FULL; see BenchmarkCreateOrderGroup.
//
// The price is that the fns of a group run one after another on the writer
// goroutine: fn must be short, must not wait for I/O or other goroutines, and
// must not call Update itself (the writer would wait for itself forever).
// A call whose context ends before its group starts is dropped and never runs.
//
// # Durability: the fsync beside the writer
//
// The fsync is not done by the writer. The write connection always runs
// synchronous=NORMAL, so its COMMIT writes the group's pages to the WAL file
// without waiting for the disk; with Options.Synchronous FULL (the default)
// the writer then hands the group's callers to a second goroutine, the
// syncer, and goes on with the next group at once. The syncer fdatasyncs the
// WAL file (opened by path, reopened if SQLite made a new one) and answers
// the callers of every group committed before that fsync started — one fsync
// may cover several groups. So no caller is answered before its writes are
// on disk, as with SQLite's own FULL, but the writer no longer stands still
// during the fsync: it runs the calls that arrive meanwhile, in a group it
// keeps open until that fsync has ended (or maxGroup calls), and then
// commits once — its callers wait for the next fsync whenever it commits,
// and one COMMIT writes the pages every group writes (each index's last
// leaf, the file's header) once for all of them. Callers whose fn failed
// wait too: their error may come from rows an earlier, not yet durable
// group wrote.
//
// SQLite's documentation of synchronous=NORMAL in WAL mode (pragma.html) is
// what makes this sound: the WAL is synced before each checkpoint and the
// database file after each, the WAL header when the WAL is reused after a
// checkpoint, and "no sync operations occur during most transactions"; FULL
// only adds "an additional sync operation of the WAL file ... after each
// transaction commit", and WAL mode is always consistent with NORMAL. A
// group is therefore durable once the syncer's fsync of the WAL has ended,
// or once a checkpoint has copied it (the checkpoint syncs first). SQLite
// opens the WAL without POSIX locks, so the syncer's own descriptor on it
// disturbs none of SQLite's locks; it never opens the database file itself,
// whose locks closing a descriptor would drop.
//
// Readers must not see a group that could still be lost. The writer numbers
// each group before its COMMIT makes it visible; the syncer records the
// number it has made durable. View waits (holding no connection) until what
// was committed when it was called is durable, begins its transaction,
// takes its snapshot with a first read (SQLite takes a read transaction's
// snapshot then, not at BEGIN), and waits again for the groups that snapshot
// may hold. Both waits are an atomic load when nothing is pending; a read
// that begins between a COMMIT and the end of its fsync waits for the
// fsync (Stats counts these waits), where with SQLite's own FULL it would
// have read the state before that commit. The writer's own next group does
// read what the previous group wrote before it is durable; that is
// harmless, because its callers are answered only after a later fsync,
// which covers the earlier group too. Nothing leaves the process from
// inside an Update: the runner calls in-process adapters only
// (the sandbox's, pure functions of the request) inside a batch, remote jobs
// go to the workers after the batch's Update has returned, and a
// deliverer's claims are Views or Updates whose events are sent after they
// return.
//
// An fsync that fails stops the store: every caller of the groups it was to
// cover, every waiting View and every later call gets ErrSyncFailed. The
// data is committed but not known to be on disk, and a second fsync proves
// nothing (Linux may have dropped the pages it could not write), so the
// honest answer is to stop, as PostgreSQL does, and let a restart recover
// the file from what the disk holds.
//
// Options.Synchronous NORMAL has no syncer: callers are answered at COMMIT,
// so a power loss or an OS crash may lose the last groups acknowledged
// (never corrupting the file); a crash of the process alone loses nothing.
// SQLite's own synchronous=FULL is not offered: it gives the same
// durability as the syncer with the fsync inside the writer's COMMIT.
// `baoguan migrate` (Migrate) still uses it, having no writer to pipeline.
//
// View runs on the read pool in a deferred (read) transaction, so it sees one
// consistent snapshot and never waits for the writer (only, with FULL, for
// the syncer, as above).
//
// # Data
//
// Times are stored as INTEGER unix milliseconds UTC (the zero time as 0),
// which is why Tx.Now is truncated to milliseconds: a value written and read
// back compares equal. Personal data (payer ID numbers and phones, the
// channel's payer id) and the secrets baoguan must use (webhook secret, sign
// token) are sealed with the keyring before they reach SQL, so neither the
// file nor a backup holds them in plain text.
//
// The queries themselves live in package sqlstore, shared with the
// PostgreSQL store; this package owns the connections, the writer and its
// group commit, the statement cache, the migrations and how SQLite reports
// constraint violations (the dialect in tx.go).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// maxGroup bounds how many Updates share one transaction: large enough that
// the fsync is amortised to nothing, small enough that one group's latency
// (its fns run one after another) stays in the low milliseconds.
const maxGroup = 256

// bareAfterFailure is how long after a fn run without its savepoint failed
// the writer runs every fn in a savepoint again (see commitGroup).
var bareAfterFailure = time.Second

// ErrClosed is returned by Update and View after Close.
var ErrClosed = errors.New("sqlite: store is closed")

// Options configures Open.
type Options struct {
	Path        string           // database file
	Keys        *keyring.Ring    // seals personal data; required
	Synchronous string           // "FULL" (default) or "NORMAL"; see the package comment
	Now         func() time.Time // injected clock (default time.Now); Tx.Now() returns it
	ReadConns   int              // read pool size (default 4)

	syncWAL func(*os.File) error // how FULL syncs the WAL (default syncData); tests replace it
}

// DB is the SQLite store. It is safe for concurrent use.
type DB struct {
	w    *sql.DB // the one write connection
	r    *sql.DB // the read pool (query_only)
	keys *keyring.Ring
	now  func() time.Time

	wcache, rcache *stmtCache // statements prepared once per pool
	raw            *rawConn   // the writer's statements on SQLite's API; only the writer uses it

	groups, ncalls, commitNanos atomic.Int64 // group-commit statistics
	replays                     atomic.Int64 // groups run again in savepoints after a bare fn failed

	// guardedUntil: until then the writer runs every fn in its savepoint
	// (set when a fn run bare failed; see commitGroup). Only the writer
	// goroutine uses it.
	guardedUntil time.Time

	calls   *sqlstore.Queue // Updates waiting for the writer
	sy      *syncer         // makes groups durable with FULL; nil with NORMAL
	cp      *checkpointer   // copies the WAL into the file beside the writer
	stopped chan struct{}   // closed when the writer goroutine (and the syncer) has exited

	handoff atomic.Pointer[sqlstore.HandoffTo] // where new due events go (SetHandoff)
}

var (
	_ baoguan.Store        = (*DB)(nil)
	_ baoguan.HandoffStore = (*DB)(nil)
)

// SetHandoff makes the writer hand the pending events due at once that
// committed transactions created to h, as baoguan.EventHandoff says:
// their ids before the group's COMMIT, the events once the group is
// durable (with FULL, after the fsync that covers it), the ids again if
// it did not commit. A group uses the receiver set when it began. stop
// ends it, unless another receiver was set since.
func (db *DB) SetHandoff(h baoguan.EventHandoff) (stop func()) {
	return sqlstore.NewHandoff(&db.handoff, h, 0)
}

// Open opens (creating if needed) the database at o.Path, applies pending
// migrations and starts the writer goroutine.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Keys == nil {
		// Refusing is safer than a mode that would store ID numbers in plain.
		return nil, errors.New("sqlite: Options.Keys is required to seal personal data")
	}
	syncMode := strings.ToUpper(o.Synchronous)
	switch syncMode {
	case "":
		syncMode = "FULL"
	case "FULL", "NORMAL":
	default:
		return nil, fmt.Errorf("sqlite: synchronous %q: want FULL or NORMAL", o.Synchronous)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	// The write connection never waits for the disk at COMMIT: with FULL,
	// the syncer does, beside it.
	w, err := openWriter(ctx, o.Path, "NORMAL")
	if err != nil {
		return nil, err
	}
	if _, err := migrate(ctx, w, o.Now); err != nil {
		w.Close()
		return nil, err
	}
	var sy *syncer
	if syncMode == "FULL" {
		wal, err := walPath(ctx, w)
		if err != nil {
			w.Close()
			return nil, err
		}
		sy = newSyncer(wal, o.syncWAL)
		// The migrations committed without waiting for the disk.
		if err := sy.syncWAL(); err != nil {
			if sy.f != nil {
				sy.f.Close()
			}
			w.Close()
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	r, err := openReaders(ctx, o.Path, o.ReadConns)
	if err != nil {
		w.Close()
		return nil, err
	}
	db := &DB{
		w: w, r: r, keys: o.Keys, now: o.Now, wcache: newStmtCache(w), rcache: newStmtCache(r), raw: &rawConn{},
		// A buffer several groups deep keeps callers from blocking on the
		// send while the writer is busy committing.
		calls:   sqlstore.NewQueue(4 * maxGroup),
		sy:      sy,
		stopped: make(chan struct{}),
	}
	var failed func(error)
	if sy != nil {
		failed = func(err error) { sy.fail(err) }
	}
	if db.cp, err = openCheckpointer(ctx, o.Path, failed); err != nil {
		r.Close()
		w.Close()
		if sy != nil && sy.f != nil {
			sy.f.Close()
		}
		return nil, err
	}
	if sy != nil {
		go sy.run()
	}
	go db.writer()
	if err := db.reseal(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// After reseal, whose checkpoint must not meet the checkpointer's.
	db.cp.start()
	return db, nil
}

// reseal seals what earlier versions stored in plaintext (sqlstore.Reseal).
// secure_delete makes SQLite zero the space the plaintext leaves in its
// pages, and the checkpoint moves the rewritten pages into the file and
// empties the WAL, so that no copy of the plaintext stays in either.
func (db *DB) reseal(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return fmt.Errorf("sqlite: reseal: %w", err)
	}
	n, err := sqlstore.Reseal(func(fn func(*sqlstore.Tx) error) error {
		return db.Update(ctx, func(tx baoguan.Tx) error { return fn(tx.(*sqlstore.Tx)) })
	})
	if err != nil {
		return fmt.Errorf("sqlite: sealing values stored in plaintext by an earlier version: %w", err)
	}
	if n > 0 {
		if _, err := db.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return fmt.Errorf("sqlite: reseal: %w", err)
		}
	}
	_, err = db.w.ExecContext(ctx, "PRAGMA secure_delete = OFF")
	return err
}

// dsn builds a modernc DSN: the file path, then pragmas the driver runs on
// every new connection, so a connection the pool reopens is set up the same.
func dsn(path string, params url.Values) (string, error) {
	if path == "" {
		return "", errors.New("sqlite: no database path")
	}
	if strings.ContainsAny(path, "?#") {
		// The driver cuts the DSN at '?'; such a path would be misread.
		return "", fmt.Errorf("sqlite: database path %q may not contain '?' or '#'", path)
	}
	return path + "?" + params.Encode(), nil
}

// openWriter opens the single write connection. BEGIN IMMEDIATE takes the
// write lock up front, so a transaction never fails halfway on a lock upgrade
// when another process (a migration) holds the file.
func openWriter(ctx context.Context, path, syncMode string) (*sql.DB, error) {
	d, err := dsn(path, url.Values{
		// temp_store(MEMORY): each fn of a group runs in a SAVEPOINT, whose
		// sub-journal would otherwise be a temporary file written per page.
		// cache_size(-8000): an 8 MB page cache for the hot pages (the
		// indexes' last leaves, the rows the batches update). SQLite
		// allocates a page's buffer when the cache first needs one, and
		// the driver's allocator gives a 4 KB page and its header an 8 KB
		// slot of fresh memory; a 32 MB cache went on allocating (and
		// faulting in) buffers while the file grew, for 13% more of the
		// writer's CPU in the bench and 33 MB more memory
		// (docs/benchmarks.md, change 41).
		// wal_autocheckpoint(4000): the checkpoint runs on the writer,
		// inside a COMMIT, with two fsyncs; every 4,000 WAL pages (16 MB)
		// rather than SQLite's 1,000, it copies a page that several groups
		// rewrote once instead of up to four times. The checkpointer
		// (checkpoint.go) copies most of those pages beside the writer
		// beforehand, so this one copies the rest and ends the WAL's
		// round, which lets the next group start it over.
		"_pragma": {"busy_timeout(5000)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(" + syncMode + ")",
			"temp_store(MEMORY)", "cache_size(-8000)", "wal_autocheckpoint(4000)"},
		"_txlock": {"immediate"},
	})
	if err != nil {
		return nil, err
	}
	// Created owner-only before SQLite sees it; see files.go.
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	return openOne(ctx, path, d, true)
}

// openOne opens the database at path, as the data source name d says, on
// one connection kept open until Close (the writer's, the
// checkpointer's). The writer's is opened with its lookaside
// (lookasideConnector).
func openOne(ctx context.Context, path, d string, writer bool) (*sql.DB, error) {
	c, err := sql.Open("sqlite", d)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if writer {
		// The same driver, its connections opened with the writer's
		// lookaside (lookasideConnector). sql.Open opened nothing yet.
		drv := c.Driver()
		c.Close()
		c = sql.OpenDB(lookasideConnector{drv: drv, dsn: d})
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxLifetime(0)
	c.SetConnMaxIdleTime(0)
	if err := c.PingContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return c, nil
}

// walPath returns the path of the WAL file of the database open on w,
// which must be in WAL mode: FULL's syncer fsyncs that file.
func walPath(ctx context.Context, w *sql.DB) (string, error) {
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	if mode != "wal" {
		return "", fmt.Errorf("sqlite: the database is in journal mode %q, not WAL (does the file system support WAL's shared memory?)", mode)
	}
	var file string
	if err := w.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	if file == "" {
		return "", errors.New("sqlite: the database has no file")
	}
	return file + "-wal", nil
}

// openReaders opens the read pool. journal_mode is not set here: WAL is a
// property of the file, already set by the writer, and query_only
// connections could not change it anyway.
func openReaders(ctx context.Context, path string, n int) (*sql.DB, error) {
	d, err := dsn(path, url.Values{
		"_pragma": {"busy_timeout(5000)", "foreign_keys(1)", "query_only(1)"},
	})
	if err != nil {
		return nil, err
	}
	r, err := sql.Open("sqlite", d)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n) // keep them: reopening costs a schema parse
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return r, nil
}

// Close stops accepting calls, lets the writer finish the calls already
// queued, and closes the connections. It is safe to call more than once.
func (db *DB) Close() error {
	if !db.calls.Close() {
		<-db.stopped
		return nil
	}
	<-db.stopped
	cerr := db.cp.close()
	if c, err := db.w.Conn(context.Background()); err == nil {
		c.Raw(func(dc any) error {
			db.raw.close(dc)
			return nil
		})
		c.Close()
	}
	db.wcache.close()
	db.rcache.close()
	return errors.Join(cerr, db.r.Close(), db.w.Close())
}

// Update runs fn in a write transaction, possibly shared with other
// concurrent Updates (see the package comment). fn's writes commit unless fn
// returns an error or panics, in which case they are rolled back and the
// error is returned as is.
func (db *DB) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	return db.calls.Submit(ctx, fn, ErrClosed)
}

// View runs fn in a read transaction on the read pool; writes fail. With
// FULL it sees only groups that are durable (see the package comment).
func (db *DB) View(ctx context.Context, fn func(baoguan.Tx) error) error {
	if db.calls.Closed() {
		return ErrClosed
	}
	if db.sy != nil {
		if err := db.sy.failure(); err != nil {
			return err
		}
		// Most of the waiting is done here, holding no connection.
		if err := db.sy.wait(ctx, db.sy.committed.Load()); err != nil {
			return err
		}
	}
	stx, err := db.r.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	x := &txn{tx: stx, stmts: map[string]*sql.Stmt{}, cache: db.rcache}
	if db.sy != nil {
		// SQLite takes a read transaction's snapshot at its first read, not
		// at BEGIN, and a group may have committed since the wait above:
		// take the snapshot now, then wait for every group it may hold
		// (the writer counts a group as committed before its COMMIT).
		if err := x.snapshot(ctx); err != nil {
			stx.Rollback()
			return fmt.Errorf("sqlite: begin read: %w", err)
		}
		if err := db.sy.wait(ctx, db.sy.committed.Load()); err != nil {
			stx.Rollback()
			return err
		}
	}
	t := sqlstore.NewTx(ctx, x, dialect, db.keys, db.now(), false)
	err = protect(t, fn)
	t.End()
	// A read transaction has nothing to keep: rolling back just ends it.
	stx.Rollback()
	db.rcache.flush(ctx)
	return err
}

// writer is the single goroutine that owns the write connection.
func (db *DB) writer() {
	defer close(db.stopped)
	if db.sy != nil {
		defer func() { <-db.sy.done }()
		defer close(db.sy.in)
	}
	group := make([]*sqlstore.Call, 0, maxGroup)
	for c := range db.calls.Calls() {
		group = append(group[:0], c)
	drain:
		for len(group) < maxGroup {
			select {
			case c, ok := <-db.calls.Calls():
				if !ok {
					break drain
				}
				group = append(group, c)
			default:
				break drain
			}
		}
		db.commitGroup(group)
		clear(group) // drop references to finished fns
	}
}

// commitGroup runs the calls of one group in one transaction.
func (db *DB) commitGroup(group []*sqlstore.Call) {
	// live outlives the group when the syncer answers it.
	live := make([]*sqlstore.Call, 0, len(group))
	for _, c := range group {
		if c.Take() {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return
	}
	if db.sy != nil {
		if err := db.sy.failure(); err != nil {
			for _, c := range live {
				c.Answer(err)
			}
			return
		}
	}
	errs := make([]error, len(live))
	ho := &sqlstore.Handed{To: db.handoff.Load(), Now: &db.handoff}
	var seq uint64 // what the answers wait for: the groups committed before
	if db.sy != nil {
		seq = db.sy.committed.Load()
	}
	fail := func(fatal error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fatal
			}
		}
		db.answer(live, errs, seq, nil)
	}
	// The transaction outlives any single caller, so no caller's context
	// may cancel it.
	ctx := context.Background()
	// The group holds the write connection from its BEGIN to its COMMIT,
	// and runs its statements on SQLite's API there (rawConn).
	conn, err := db.w.Conn(ctx)
	if err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	// Queries met for the first time in this group are prepared on the
	// connection once the group has ended and released it (see
	// stmtCache): defers run last first.
	defer db.wcache.flush(ctx)
	defer conn.Close()
	raw := db.raw
	if err := conn.Raw(func(dc any) error {
		if !raw.attach(dc) {
			raw = nil
		}
		return nil
	}); err != nil {
		raw = nil
	}
	var stx *sql.Tx
	var x *txn
	begin := func() bool {
		var err error
		if stx, err = conn.BeginTx(ctx, nil); err != nil {
			fail(fmt.Errorf("sqlite: begin: %w", err))
			return false
		}
		x = &txn{tx: stx, raw: raw, stmts: make(map[string]*sql.Stmt, 16), cache: db.wcache}
		return true
	}
	if !begin() {
		return
	}
	// call runs live[i] on the transaction as it stands and keeps the
	// events it created for the hand-off when it succeeded.
	call := func(i int) {
		t := sqlstore.NewTx(ctx, x, dialect, db.keys, db.now(), true)
		ho.Collect(t)
		errs[i] = protect(t, live[i].Fn)
		t.End()
		if errs[i] == nil {
			ho.Keep(t)
		}
	}
	// guarded runs live[i] in its own savepoint; false when the
	// transaction broke (every caller has been answered).
	guarded := func(i int) bool {
		if err := x.savepoint(ctx, "SAVEPOINT fn"); err != nil {
			stx.Rollback()
			fail(fmt.Errorf("sqlite: savepoint: %w", err))
			return false
		}
		call(i)
		if errs[i] != nil {
			if err := x.savepoint(ctx, "ROLLBACK TO fn"); err != nil {
				// The transaction itself is broken (SQLite rolled it back
				// on an I/O or memory error): nothing in it survives.
				stx.Rollback()
				fail(fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				return false
			}
		}
		if err := x.savepoint(ctx, "RELEASE fn"); err != nil {
			stx.Rollback()
			fail(fmt.Errorf("sqlite: release savepoint: %w", err))
			return false
		}
		return true
	}
	// Without a failure in the last bareAfterFailure, the fns run bare,
	// without their savepoints: a savepoint is two statements and a copy,
	// in its sub-journal, of every page the fn is the first of its
	// savepoint to write (the indexes' last leaves, written by every fn
	// of a group, again for each). When a bare fn fails, the group so far
	// is rolled back and its earlier fns run again, each in its savepoint
	// (the Store contract allows a fn to run twice); the failing fn is
	// answered with its error, and the group's later fns, and every group
	// for bareAfterFailure, run in savepoints, so a stream of failing
	// calls costs one such replay a second at most.
	bare := !time.Now().Before(db.guardedUntil)
	run := func(i int) bool {
		if !bare {
			return guarded(i)
		}
		call(i)
		if errs[i] == nil {
			return true
		}
		bare = false
		db.guardedUntil = time.Now().Add(bareAfterFailure)
		db.replays.Add(1)
		stx.Rollback()
		ho.Forget()
		if !begin() {
			return false
		}
		for j := range i {
			if !guarded(j) {
				return false
			}
		}
		return true
	}
	for i := range live {
		if !run(i) {
			return
		}
	}
	// While the fsync of the groups committed before this one runs, this
	// group stays open and takes the calls that arrive: its callers wait
	// for the next fsync whenever it commits, and one COMMIT instead of
	// several writes the pages every group writes (the indexes' last
	// leaves, the file's header) once.
	if db.sy != nil {
	hold:
		for len(live) < maxGroup {
			woken := db.sy.woken() // before the check, so no advance is missed
			if db.sy.durable.Load() >= seq || db.sy.failure() != nil {
				break
			}
			select {
			case c, ok := <-db.calls.Calls():
				if !ok {
					break hold
				}
				if !c.Take() {
					continue
				}
				live = append(live, c)
				errs = append(errs, nil)
				if !run(len(live) - 1) {
					return
				}
			case <-woken:
			}
		}
	}
	ho.Expect() // before COMMIT makes them visible to a read
	if db.sy != nil {
		// Counted before COMMIT makes the group visible, so that a View
		// whose snapshot holds it waits for its fsync (see View).
		seq = db.sy.committed.Add(1)
	}
	t0 := time.Now()
	if err := stx.Commit(); err != nil {
		ho.Cancel()
		fail(fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	db.commitNanos.Add(int64(time.Since(t0)))
	db.cp.committed()
	db.groups.Add(1)
	db.ncalls.Add(int64(len(live)))
	db.answer(live, errs, seq, ho)
}

// answer gives the callers of a group their outcomes: at once with
// NORMAL; with FULL through the syncer, once every group up to seq is
// durable. Even an error waits: a fn may have failed on what an earlier
// group wrote, which is not durable yet.
// A committed group's events are handed off (ho; nil when it did not
// commit) once it is durable, before its callers are answered.
func (db *DB) answer(calls []*sqlstore.Call, errs []error, seq uint64, ho *sqlstore.Handed) {
	if db.sy == nil {
		ho.Committed()
		for i, c := range calls {
			c.Answer(errs[i])
		}
		return
	}
	db.sy.in <- &pending{seq: seq, calls: calls, errs: errs, handed: ho}
}

// Stats describes group commit so far: how many transactions were
// committed, how many Update calls they carried, the time spent in COMMIT
// (writing the group's pages to the WAL file), and, with FULL, the fsyncs
// of the WAL that made them durable and their time, and the waits of
// Views for an fsync (of a group committed just before they began) and
// their time.
type Stats struct {
	Groups     int64
	Calls      int64
	CommitTime time.Duration
	Syncs      int64
	SyncTime   time.Duration
	ViewWaits  int64
	ViewWait   time.Duration
	// Replays counts the groups rolled back and run again, each fn in its
	// savepoint, because a fn run without one failed.
	Replays int64
	// Checkpoints counts the checkpointer's runs beside the writer and
	// CheckpointTime their time; CheckpointFrames is how many frames of
	// the WAL its last run found copied into the database file.
	Checkpoints      int64
	CheckpointTime   time.Duration
	CheckpointFrames int64
}

// Stats returns group-commit statistics.
func (db *DB) Stats() Stats {
	st := Stats{Groups: db.groups.Load(), Calls: db.ncalls.Load(), CommitTime: time.Duration(db.commitNanos.Load()),
		Replays: db.replays.Load(), Checkpoints: db.cp.runs.Load(), CheckpointTime: time.Duration(db.cp.nanos.Load()),
		CheckpointFrames: db.cp.frames.Load()}
	if db.sy != nil {
		st.Syncs, st.SyncTime = db.sy.syncs.Load(), time.Duration(db.sy.syncNanos.Load())
		st.ViewWaits, st.ViewWait = db.sy.waits.Load(), time.Duration(db.sy.waitNanos.Load())
	}
	return st
}

// protect runs fn, turning a panic into an error for its caller alone: the
// writer goroutine serves everyone and must survive any one fn. The error is
// a plain error (code EINTERNAL for front-ends, so its text is never shown to
// a client) carrying the stack for the log.
func protect(t *sqlstore.Tx, fn func(baoguan.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: panic in store transaction: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(t)
}
