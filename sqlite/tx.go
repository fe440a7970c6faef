package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// txn is one database transaction: a write group's or a View's. Its
// statements are prepared on first use and reused by every fn of the group,
// which is where a group saves the parsing and planning of its INSERTs; they
// are closed with the transaction.
type txn struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	cache *stmtCache
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
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
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
	s, err := x.stmt(ctx, q)
	if err == nil {
		_, err = s.ExecContext(ctx)
	}
	return err
}

// tx is the baoguan.Tx handed to one fn. It is only valid while fn runs:
// after that its transaction carries other callers' work, so end marks it
// and every later use fails rather than writing into someone else's group.
type tx struct {
	ctx  context.Context
	x    *txn
	keys *keyring.Ring
	now  time.Time
	done bool
}

var _ baoguan.Tx = (*tx)(nil)

var errTxDone = errors.New("sqlite: Tx used after its Update or View returned")

func (db *DB) newTx(ctx context.Context, x *txn) *tx {
	// Truncated to the millisecond that the columns keep, so a struct
	// stamped with Now compares equal to the same row read back.
	return &tx{ctx: ctx, x: x, keys: db.keys, now: db.now().UTC().Truncate(time.Millisecond)}
}

func (t *tx) end() { t.done = true }

// Now returns the store clock at the start of fn, in UTC, to the millisecond.
func (t *tx) Now() time.Time { return t.now }

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	if t.done {
		return nil, errTxDone
	}
	s, err := t.x.stmt(t.ctx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(t.ctx, args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	if t.done {
		return nil, errTxDone
	}
	s, err := t.x.stmt(t.ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(t.ctx, args...)
}

// one runs a query expected to return at most one row and scans it; found
// is false when there is none.
func (t *tx) one(q string, args []any, scan func(scanner) error) (found bool, err error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	if err := scan(rows); err != nil {
		return false, err
	}
	return true, rows.Close()
}

// each runs a query and calls scan for every row.
func (t *tx) each(q string, args []any, scan func(scanner) error) error {
	rows, err := t.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// exists reports whether a row matches; the Update methods use it after a
// zero-row UPDATE to tell "not found" from "stale" or "lease lost".
func (t *tx) exists(q string, args ...any) (bool, error) {
	return t.one(q, args, func(s scanner) error { var x int; return s.Scan(&x) })
}

// affected returns the rows an UPDATE changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// scanner is what *sql.Rows and *sql.Row have in common.
type scanner interface{ Scan(dest ...any) error }

// ms converts a time to the stored form: unix milliseconds, 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms, in UTC.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// toJSON encodes a structured column. nil stays "null" so that a nil map or
// slice reads back as nil, not as an empty one.
func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlite: encode JSON column: %w", err)
	}
	return string(b), nil
}

func fromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("sqlite: decode JSON column: %w", err)
	}
	return nil
}

// sealer seals and opens several fields, keeping the first error, so that a
// row with five sealed fields needs one error check instead of five.
type sealer struct {
	keys *keyring.Ring
	err  error
}

func (t *tx) sealer() *sealer { return &sealer{keys: t.keys} }

func (s *sealer) seal(v string) string {
	if s.err != nil {
		return ""
	}
	out, err := s.keys.Seal(v)
	if err != nil {
		s.err = fmt.Errorf("sqlite: seal: %w", err)
	}
	return out
}

func (s *sealer) open(v string) string {
	if s.err != nil {
		return ""
	}
	out, err := s.keys.Open(v)
	if err != nil {
		s.err = fmt.Errorf("sqlite: open sealed column: %w", err)
	}
	return out
}

// notFound is the ENOTFOUND error every lookup returns.
func notFound(format string, args ...any) error {
	return &baoguan.Error{Code: baoguan.ENOTFOUND, Message: fmt.Sprintf(format, args...)}
}

// duplicate is the ECONFLICT error for an existing natural key.
func duplicate(field, format string, args ...any) error {
	return &baoguan.Error{Code: baoguan.ECONFLICT, Reason: "duplicate", Field: field, Message: fmt.Sprintf(format, args...)}
}

// stale is the ECONFLICT error for an optimistic-concurrency miss.
func stale(format string, args ...any) error {
	return &baoguan.Error{Code: baoguan.ECONFLICT, Reason: "stale",
		Message: fmt.Sprintf(format, args...) + " was changed by someone else; reload it and try again"}
}

// sqliteCode returns the extended result code of a driver error, or 0.
// It is the one place that knows the driver's error type.
func sqliteCode(err error) int {
	var e *sqlitedrv.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// where collects the conditions of a filtered list.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Page sizes: a default that suits a UI page, and a cap that keeps one read
// transaction (and one response) bounded.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

func limit(n int) int {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	}
	return n
}

// errNoReturning means an INSERT … RETURNING id returned no row, which
// SQLite only does if the statement did not insert.
var errNoReturning = errors.New("sqlite: insert returned no id")

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func quote(s string) string { return strconv.Quote(s) }

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
