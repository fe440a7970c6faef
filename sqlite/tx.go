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

// Exec runs a statement of the transaction, prepared once per connection
// (see stmtCache), and returns the rows it changed.
func (x *txn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
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
// (sqlstore.Inserter).
func (x *txn) Insert(ctx context.Context, q string, args ...any) (int64, bool, error) {
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
