package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"

	"github.com/baoguan/baoguan/sqlstore"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// txn is one database transaction: a write group's or a View's. Its
// statements are prepared on first use and reused by every fn of the group,
// which is where a group saves the parsing and planning of its INSERTs; they
// are closed with the transaction. A write group's statements other than
// queries run on raw instead (raw.go), and come here only when raw leaves
// them to the driver.
type txn struct {
	tx    *sql.Tx
	raw   *rawConn // the writer's: runs its statements but queries (nil in a View)
	stmts map[string]*sql.Stmt
	cache *stmtCache
	left  []any // Insert's arguments left bound, reused (one statement at a time)
}

func (x *txn) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := x.stmts[q]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if ps := x.cache.lookup(q); ps != nil {
		// Prepared on the pool: database/sql reuses the statement already
		// prepared on this transaction's connection, so nothing is parsed.
		s = x.tx.StmtContext(ctx, ps)
	} else {
		var err error
		if s, err = x.tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		x.cache.want(q)
	}
	x.stmts[q] = s
	return s, nil
}

// stmtCache keeps statements prepared on a pool for the life of the DB, so
// SQLite parses and plans each query once per connection rather than once
// per transaction: parsing was a fifth of the CPU of a benchmark run.
//
// A statement cannot be prepared on the pool while the caller's transaction
// holds the only write connection, so a query seen for the first time is
// prepared on the transaction and noted; flush prepares the noted queries
// on the pool once the transaction has ended.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
	shapes  map[string]*insertShapes // by INSERT text: its texts with empty strings as literals
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}, shapes: map[string]*insertShapes{}}
}

// insertShapes are an INSERT's texts with some of its parameters written
// as the empty string's literal (by mask of the parameters), and where in
// the text its parameters are.
type insertShapes struct {
	at    []int // offsets of the VALUES list's parameters; nil: not rewritten
	texts map[uint64]string
}

// maxShapes bounds the texts kept for one INSERT: past them, its empty
// strings are bound as parameters.
const maxShapes = 8

// emptyLiterals returns an INSERT whose empty string arguments are the
// empty string's literal (two quotes) in its VALUES list instead of
// parameters, and the arguments left: the driver copies every string it
// binds into memory of its own (a malloc and a free under its
// allocator's lock, and SQLite's own bookkeeping to unbind it), and a new
// order or declaration has a dozen or more columns empty at its insert
// (benchmarks.md, change 42). The
// texts are built once for each set of empty parameters seen, at most
// maxShapes a statement, and prepared once each like any statement. A
// statement it cannot rewrite (its parameters not all in one VALUES list,
// more than 64 of them) is returned as it is. The arguments left are
// appended to left[:0], a slice the caller may reuse.
func (c *stmtCache) emptyLiterals(q string, args, left []any) (string, []any) {
	if c == nil || len(args) == 0 || len(args) > 64 {
		return q, args
	}
	var mask uint64
	for i, a := range args {
		if s, ok := a.(string); ok && s == "" {
			mask |= 1 << i
		}
	}
	if mask == 0 {
		return q, args
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sh := c.shapes[q]
	if sh == nil {
		sh = &insertShapes{at: paramsOfValues(q, len(args)), texts: map[uint64]string{}}
		c.shapes[q] = sh
	}
	if sh.at == nil {
		return q, args
	}
	text, ok := sh.texts[mask]
	if !ok {
		if len(sh.texts) >= maxShapes {
			return q, args
		}
		var b strings.Builder
		last := 0
		for i, at := range sh.at {
			if mask&(1<<i) == 0 {
				continue
			}
			b.WriteString(q[last:at])
			b.WriteString("''")
			last = at + 1
		}
		b.WriteString(q[last:])
		text = b.String()
		sh.texts[mask] = text
	}
	left = left[:0]
	for i, a := range args {
		if mask&(1<<i) == 0 {
			left = append(left, a)
		}
	}
	return text, left
}

// paramsOfValues returns the offsets in an INSERT of the n parameters of
// its VALUES list, or nil when its parameters are not exactly those (a ?
// elsewhere, in a string, or another count).
func paramsOfValues(q string, n int) []int {
	start := strings.Index(q, "VALUES (")
	if start < 0 || strings.Count(q, "?") != n || strings.Contains(q, "'") {
		return nil
	}
	end := strings.Index(q[start:], ")")
	if end < 0 {
		return nil
	}
	var at []int
	for i := start; i < start+end; i++ {
		if q[i] == '?' {
			at = append(at, i)
		}
	}
	if len(at) != n {
		return nil
	}
	return at
}

func (c *stmtCache) lookup(q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q]
}

func (c *stmtCache) want(q string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.pending[q] = true
	c.mu.Unlock()
}

// flush prepares the queries noted since the last flush. Call it only when
// the caller holds no connection of the pool.
func (c *stmtCache) flush(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	var qs []string
	for q := range c.pending {
		if c.m[q] == nil {
			qs = append(qs, q)
		}
	}
	c.pending = map[string]bool{}
	c.mu.Unlock()
	for _, q := range qs {
		s, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue // it is prepared per transaction instead
		}
		c.mu.Lock()
		if c.m[q] == nil {
			c.m[q] = s
		} else {
			s.Close()
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

// savepoint runs one of the group's SAVEPOINT / ROLLBACK TO / RELEASE.
func (x *txn) savepoint(ctx context.Context, q string) error {
	if x.raw != nil {
		if _, _, ok, err := x.raw.exec(q, nil); ok {
			return err
		}
	}
	s, err := x.stmt(ctx, q)
	if err == nil {
		_, err = s.ExecContext(ctx)
	}
	return err
}

// Exec runs a statement of the transaction, prepared once per connection
// (raw, or stmtCache), and returns the rows it changed.
func (x *txn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	if x.raw != nil {
		if n, _, ok, err := x.raw.exec(q, args); ok {
			return n, err
		}
	}
	s, err := x.stmt(ctx, q)
	if err != nil {
		return 0, err
	}
	res, err := s.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Insert runs an INSERT of the transaction and returns its row's rowid
// (sqlstore.Inserter). Its empty strings are written as literals
// (emptyLiterals).
func (x *txn) Insert(ctx context.Context, q string, args ...any) (int64, bool, error) {
	if text, left := x.cache.emptyLiterals(q, args, x.left); text != q {
		// database/sql copies the arguments at the call, so the next
		// Insert may reuse the slice.
		q, args, x.left = text, left, left
	}
	if x.raw != nil {
		if n, id, ok, err := x.raw.exec(q, args); ok {
			if err != nil || n == 0 {
				return 0, false, err
			}
			return id, true, nil
		}
	}
	s, err := x.stmt(ctx, q)
	if err != nil {
		return 0, false, err
	}
	res, err := s.ExecContext(ctx, args...)
	if err != nil {
		return 0, false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, false, err
	}
	id, err := res.LastInsertId()
	return id, err == nil, err
}

// InsertRows runs a multi-row INSERT of the transaction and returns the
// rows it wrote and the rowid of the last (sqlstore.RowsInserter).
func (x *txn) InsertRows(ctx context.Context, q string, args ...any) (int64, int64, error) {
	if x.raw != nil {
		if n, last, ok, err := x.raw.exec(q, args); ok {
			if err != nil || n == 0 {
				return 0, 0, err
			}
			return last, n, nil
		}
	}
	s, err := x.stmt(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	res, err := s.ExecContext(ctx, args...)
	if err != nil {
		return 0, 0, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, 0, err
	}
	last, err := res.LastInsertId()
	return last, n, err
}

// Query runs a query of the transaction.
func (x *txn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	s, err := x.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// dialect is how the shared SQL meets SQLite: ? placeholders, one writer.
var dialect = &sqlstore.Dialect{
	Name:         "sqlite",
	BinaryBodies: true, // one process writes the file (the server lock)
	PendingApart: true, // migration 0024
	AckedInRow:   true, // migration 0025
	BodiesApart:  true, // migration 0026
	UniqueViolation: func(err error) (string, bool) {
		c := sqliteCode(err)
		if c != sqlite3.SQLITE_CONSTRAINT_UNIQUE && c != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return "", false
		}
		// "UNIQUE constraint failed: merchants.name": the columns named.
		_, what, _ := strings.Cut(err.Error(), "failed: ")
		return what, true
	},
	ForeignKeyViolation: func(err error) bool {
		return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
}

// sqliteCode returns the extended result code of a driver error, or 0.
// It is the one place that knows the driver's error type.
func sqliteCode(err error) int {
	var e *sqlitedrv.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	var r *rawError
	if errors.As(err, &r) {
		return r.Code()
	}
	return 0
}

// snapshot starts the read transaction of a View: SQLite takes the
// snapshot a deferred transaction reads at its first read, which this is.
func (x *txn) snapshot(ctx context.Context) error {
	rows, err := x.Query(ctx, "PRAGMA schema_version")
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	err = rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
