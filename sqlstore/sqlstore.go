// Package sqlstore is the SQL that baoguan's SQL stores share: every query
// of baoguan.Tx, the row scanning, the sealing of personal data and the
// translation of database errors into baoguan error codes. The sqlite and
// postgres packages own their connections, transactions and migrations and
// hand each transaction to a Tx from this package.
//
// The two schemas mirror each other column for column (times as integer
// unix milliseconds, structured values as JSON text, personal data sealed),
// so one scan function serves both. What differs is described by a
// Dialect: placeholders (? or $n), how unique and foreign-key violations are
// reported, and the two places where PostgreSQL needs different SQL because
// its transactions run concurrently instead of through one writer: job
// claims (FOR UPDATE SKIP LOCKED) and natural-key reads that decide an
// insert (a transaction-scoped advisory lock).
//
// Inserts that may meet an existing natural key use ON CONFLICT DO NOTHING
// and treat "no row inserted" as the duplicate, rather than catching a
// constraint error. On PostgreSQL an error aborts the whole transaction, so a
// caller that handles ECONFLICT and goes on (a repeated push answered
// idempotently) could not; with DO NOTHING the transaction stays usable on
// both databases, and a concurrent insert of the same key in another
// PostgreSQL transaction is waited for instead of failing.
package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
)

// Dialect is what differs between the databases sharing this SQL. A
// Dialect is built once per store package and used by all its Tx.
type Dialect struct {
	// Name prefixes error messages: "sqlite", "postgres".
	Name string
	// Numbered makes placeholders $1, $2, … (PostgreSQL) instead of ?.
	Numbered bool
	// UniqueViolation reports whether err is a unique-constraint
	// violation, and the index or "table.column" it names, so that the
	// field at fault can be told to the caller (PostgreSQL's also holds
	// the key's values, as its error's detail writes them).
	UniqueViolation func(err error) (what string, ok bool)
	// ForeignKeyViolation reports whether err is a foreign-key violation.
	ForeignKeyViolation func(err error) bool
	// Concurrent is true when write transactions run at the same time
	// (PostgreSQL, several processes) rather than one after another
	// through a single writer (SQLite). Claim then locks the jobs it takes
	// with FOR UPDATE SKIP LOCKED, and Idempotency, inside a write
	// transaction, first takes a transaction advisory lock on the key, so
	// that "read the key, then insert it" cannot interleave with another
	// transaction doing the same.
	Concurrent bool
	// WritableWith is true when a WITH clause may hold an INSERT, UPDATE
	// or DELETE (PostgreSQL), so that two dependent writes cost one
	// statement: RecordAttempt uses it.
	WritableWith bool
	// CheckedRefs is true when events and attempts name their merchant and
	// event without a foreign key (PostgreSQL, migration
	// 0023_unlocked_refs): the statements that insert them read the row
	// they name themselves, with no lock, and insert nothing when it is
	// missing (ENOTFOUND). A foreign key's check locked the merchant's row
	// (FOR KEY SHARE) for every event, from every writer at once.
	CheckedRefs bool
	// BinaryBodies seals the BLOB/BYTEA bodies (notification bodies,
	// saved answers) in the keyring's binary form (SealBinary), which
	// a version before it reads as plaintext. Only a store one process
	// writes at a time (SQLite, the server lock) may: instances of two
	// versions share a PostgreSQL database during a rolling upgrade, and
	// there bodies stay sealed texts.
	BinaryBodies bool
	// PendingApart is true when the events' list index by status leaves
	// the pending events out and the delivery queue's index (events_due)
	// lists them (SQLite, migration 0024_events_pending_apart): ListEvents
	// then names the index for pending events, and says status <>
	// 'pending' literally for the others.
	PendingApart bool
	// AckedInRow is true when the attempt a receiver acknowledged is kept
	// in its event's row (ack_at, ack_status, ack_latency_ms,
	// ack_response; SQLite, migration 0025_acked_attempt_in_row) rather
	// than in a row of attempts: the outcome's UPDATE of the event writes
	// it, Attempts reads it after the attempts rows, and UpdateEvent moves
	// it to a row of attempts before a redelivery. Only a store one
	// process writes (SQLite): a version before it would not read those
	// columns.
	AckedInRow bool
	// BodiesApart is true when an event's sealed body is a row of
	// event_bodies (id the event's) rather than a column of its row
	// (SQLite, migration 0026_event_bodies): the body is written once,
	// and the outcome that rewrites the event's row rewrites its delivery
	// state alone, not the 0.6-1.3 KB of the body. Only a store one
	// process writes (SQLite): a version before it would not find the
	// body.
	BodiesApart bool

	bound sync.Map // query text → the same query with numbered placeholders
}

// bind returns q with the dialect's placeholders. Queries are built from
// constants and a bounded set of filters, so the cache stays small.
func (d *Dialect) bind(q string) string {
	if !d.Numbered {
		return q
	}
	if b, ok := d.bound.Load(q); ok {
		return b.(string)
	}
	var sb strings.Builder
	sb.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			continue
		}
		sb.WriteByte(c)
	}
	b := sb.String()
	d.bound.Store(q, b)
	return b
}

// Conn is one open database transaction as a Tx uses it. The store package
// implements it over its driver: the SQLite one through database/sql with
// its statement cache, the PostgreSQL one over a pgx transaction.
type Conn interface {
	// Exec runs a statement and returns the number of rows it changed.
	Exec(ctx context.Context, q string, args ...any) (int64, error)
	// Query runs a query; the caller closes the rows.
	Query(ctx context.Context, q string, args ...any) (Rows, error)
}

// Rows is a query's result, read row by row.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Tx is the baoguan.Tx handed to one Update or View function. It is only
// valid while that function runs: a store may reuse the database
// transaction for other callers afterwards (SQLite's group commit), so End
// marks it and every later use fails instead of writing into someone
// else's transaction.
type Tx struct {
	ctx      context.Context
	c        Conn
	d        *Dialect
	keys     *keyring.Ring
	now      time.Time
	write    bool
	done     bool
	enqueued int
	// collect: the pending events due at once this Tx creates are kept
	// in created, and dueOther notes other events made due at once (see
	// baoguan.EventHandoff); set by CollectEvents.
	collect  bool
	created  []baoguan.Event
	dueOther bool
	// newLease, when set (LeaseNew), is the lease the pending events due
	// at once this Tx creates are inserted with (lease_until).
	newLease time.Time
	plans    *[]Plan             // set by Explain: queries are planned, not run
	images   map[rowKey]rowImage // see images.go
}

var _ baoguan.Tx = (*Tx)(nil)

// NewTx returns a Tx over c. now is the store clock; it is truncated to the
// millisecond the columns keep, so a struct stamped with Now compares equal
// to the same row read back. write tells a write transaction from a View.
func NewTx(ctx context.Context, c Conn, d *Dialect, keys *keyring.Ring, now time.Time, write bool) *Tx {
	return &Tx{ctx: ctx, c: c, d: d, keys: keys, now: now.UTC().Truncate(time.Millisecond), write: write}
}

// hint names the index a query on SQLite must use (INDEXED BY), where
// SQLite, which keeps no statistics unless ANALYZE runs, would choose
// another; PostgreSQL plans by its statistics and gets nothing.
func (t *Tx) hint(index string) string {
	if t.d.Numbered {
		return ""
	}
	return " INDEXED BY " + index
}

// End makes every later use of t fail.
func (t *Tx) End() { t.done = true }

// Enqueued is how many jobs due at once this Tx inserted, so a store can
// tell other processes that work is waiting once the transaction commits.
// Jobs due later are found by the runners' polling; announcing them would
// wake runners that have nothing to do yet.
func (t *Tx) Enqueued() int { return t.enqueued }

// CollectEvents makes t keep the pending events due at once it creates,
// for Created: a store that hands new events off (baoguan.EventHandoff)
// sets it on its write transactions.
func (t *Tx) CollectEvents() { t.collect = true }

// LeaseNew makes the pending events due at once that t creates, which it
// keeps for Created, be inserted leased until until (to the millisecond):
// a store shared by several processes hands them off to its own deliverer
// already leased to it (baoguan.LeasedHandoffStore). Only with
// CollectEvents.
func (t *Tx) LeaseNew(until time.Time) { t.newLease = fromMS(ms(until)) }

// leaseOf is the lease_until a new event e is inserted with: the
// hand-off's lease (LeaseNew) when it is kept for Created, zero otherwise.
func (t *Tx) leaseOf(e *baoguan.Event) int64 {
	if !t.collect || t.newLease.IsZero() || e.Status != baoguan.EventPending || e.NextAt.After(t.now) {
		return 0
	}
	return ms(t.newLease)
}

// nextAtOf is the next_at a new event e is inserted with: when it is
// inserted leased (leaseOf), the lease's end, when it is due should the
// lease end unrecorded — so that it is not in the due part of events_due
// at all, and a read of the due events does not step over it while it is
// being sent (Created keeps e.NextAt, when it was due, for the order in
// which the receiver sends).
func (t *Tx) nextAtOf(e *baoguan.Event) int64 {
	if l := t.leaseOf(e); l != 0 {
		return l
	}
	return ms(e.NextAt)
}

// Created returns the pending events due at once t created and committed
// so far (those of a savepoint rolled back are forgotten), as a read of
// their rows would show them, and whether t made other events due at
// once (UpdateEvent, LeaseEvents ending leases). Only with CollectEvents.
func (t *Tx) Created() (es []baoguan.Event, other bool) { return t.created, t.dueOther }

// keepCreated notes a new event for Created, as read back: times to the
// millisecond, the lease token it was inserted with (zero, or LeaseNew's).
func (t *Tx) keepCreated(e *baoguan.Event) {
	if !t.collect || e.Status != baoguan.EventPending || e.NextAt.After(t.now) {
		return
	}
	c := *e
	c.CreatedAt, c.UpdatedAt, c.NextAt, c.DeliveredAt = fromMS(ms(c.CreatedAt)), fromMS(ms(c.UpdatedAt)), fromMS(ms(c.NextAt)), fromMS(ms(c.DeliveredAt))
	c.LeaseUntil = fromMS(t.leaseOf(e))
	t.created = append(t.created, c)
}

// Now returns the store clock at the start of the function, in UTC, to
// the millisecond.
func (t *Tx) Now() time.Time { return t.now }

// errTxDone is returned by every method of a Tx used after its function
// returned.
var errTxDone = errors.New("store: Tx used after its Update or View returned")

func (t *Tx) exec(q string, args ...any) (int64, error) {
	if t.done {
		return 0, errTxDone
	}
	if t.plans != nil {
		return 0, t.explain(q, args)
	}
	return t.c.Exec(t.ctx, t.d.bind(q), args...)
}

func (t *Tx) query(q string, args ...any) (Rows, error) {
	if t.done {
		return nil, errTxDone
	}
	if t.plans != nil {
		return noRows{}, t.explain(q, args)
	}
	return t.c.Query(t.ctx, t.d.bind(q), args...)
}

// one runs a query expected to return at most one row and scans it; found
// is false when there is none.
func (t *Tx) one(q string, args []any, scan func(Scanner) error) (found bool, err error) {
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
func (t *Tx) each(q string, args []any, scan func(Scanner) error) error {
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
func (t *Tx) exists(q string, args ...any) (bool, error) {
	return t.one(q, args, func(s Scanner) error { var x int; return s.Scan(&x) })
}

// insertID runs an INSERT … RETURNING id; inserted is false when ON
// CONFLICT DO NOTHING skipped the row.
//
// On a Conn that is an Inserter (SQLite) the statement runs without its
// RETURNING clause and the id is the row's rowid.
func (t *Tx) insertID(q string, args []any) (id int64, inserted bool, err error) {
	if ins, ok := t.c.(Inserter); ok && t.plans == nil && !t.done {
		if plain, ok := strings.CutSuffix(q, returningID); ok {
			return ins.Insert(t.ctx, plain, args...)
		}
	}
	inserted, err = t.one(q, args, func(s Scanner) error { return s.Scan(&id) })
	return id, inserted, err
}

// rowLists lends the argument lists of the single-row inserts a push
// makes (CreateOrder, CreateDeclaration): the drivers have copied the
// arguments by the time the insert returns (database/sql converts them at
// the call, SQLite's raw path binds copies, pgx encodes them as it sends),
// so a list of some forty boxes need not be allocated, and collected, for
// each.
var rowLists = sync.Pool{New: func() any { return new([]any) }}

// putRowList gives buf back to rowLists holding row's array, cleared so
// that it keeps no value alive.
func putRowList(buf *[]any, row []any) {
	if row != nil {
		clear(row)
		*buf = row[:0]
	}
	rowLists.Put(buf)
}

// Deferrer is a Conn that can hold a statement whose outcome the caller
// does not read and send it in one batch with the transaction's next
// statement, or, when none follows in the function, at its end: on
// PostgreSQL a round trip saved. The statement's error comes back from the
// statement it travels with (or fails the function's end).
type Deferrer interface {
	Defer(q string, args ...any)
}

// later runs a statement whose outcome the caller does not read: deferred
// on a Deferrer in a write transaction, at once otherwise.
func (t *Tx) later(q string, args ...any) error {
	if d, ok := t.c.(Deferrer); ok && t.write && t.plans == nil && !t.done {
		d.Defer(t.d.bind(q), args...)
		return nil
	}
	_, err := t.exec(q, args...)
	return err
}

// Preceder is a Conn that can hold a statement that matters only to the
// statements after it — a SAVEPOINT, the RELEASE of one — and send it in
// one batch with the transaction's next statement; when none follows
// before the transaction ends (COMMIT or ROLLBACK end its savepoints
// anyway), it is never sent. On PostgreSQL a round trip saved for each.
type Preceder interface {
	Precede(q string)
}

// precede runs a statement that matters only to the ones after it:
// held for the next one on a Preceder in a write transaction, at once
// otherwise.
func (t *Tx) precede(q string) error {
	if p, ok := t.c.(Preceder); ok && t.write && t.plans == nil && !t.done {
		p.Precede(t.d.bind(q))
		return nil
	}
	_, err := t.exec(q)
	return err
}

// QueryPipeliner is a Conn that can send several queries in one batch and
// hand their rows to a reader each, in order: on PostgreSQL one round trip
// for them all. A query's error fails the batch.
type QueryPipeliner interface {
	QueryAll(ctx context.Context, stmts []Stmt, read []func(Rows) error) error
}

// eachAll runs queries and calls scan[i] for every row of stmts[i]: in one
// batch on a QueryPipeliner, one after the other otherwise.
func (t *Tx) eachAll(stmts []Stmt, scan []func(Scanner) error) error {
	if p, ok := t.c.(QueryPipeliner); ok && len(stmts) > 1 && t.plans == nil && !t.done {
		read := make([]func(Rows) error, len(stmts))
		for i := range stmts {
			stmts[i].Q = t.d.bind(stmts[i].Q)
			read[i] = func(rows Rows) error {
				for rows.Next() {
					if err := scan[i](rows); err != nil {
						return err
					}
				}
				return rows.Err()
			}
		}
		return p.QueryAll(t.ctx, stmts, read)
	}
	for i, s := range stmts {
		if err := t.each(s.Q, s.Args, scan[i]); err != nil {
			return err
		}
	}
	return nil
}

// Stmt is one statement of a pipeline (Pipeliner).
type Stmt struct {
	Q    string
	Args []any
}

// Pipeliner is a Conn that can send several statements in one batch and
// return the rows each changed: on PostgreSQL one round trip for them all
// instead of one each. A statement's error fails the batch.
type Pipeliner interface {
	ExecAll(ctx context.Context, stmts []Stmt) ([]int64, error)
}

// execAll runs stmts in order, in one batch on a Pipeliner, one after the
// other otherwise, and returns the rows each changed.
func (t *Tx) execAll(stmts []Stmt) ([]int64, error) {
	if p, ok := t.c.(Pipeliner); ok && len(stmts) > 1 && t.plans == nil && !t.done {
		for i := range stmts {
			stmts[i].Q = t.d.bind(stmts[i].Q)
		}
		return p.ExecAll(t.ctx, stmts)
	}
	ns := make([]int64, len(stmts))
	for i, s := range stmts {
		n, err := t.exec(s.Q, s.Args...)
		if err != nil {
			return nil, err
		}
		ns[i] = n
	}
	return ns, nil
}

// returningID ends every statement insertID runs.
const returningID = "RETURNING id"

// Inserter is a Conn that tells the id of the row an INSERT wrote without
// a RETURNING clause. SQLite's RETURNING collects the rows in a temporary
// table and doubles the cost of an insert (an event's: 23 µs against 14 in
// BenchmarkInsertReturning); its last_insert_rowid is the id itself, since
// every table insertID writes has an INTEGER PRIMARY KEY id.
type Inserter interface {
	// Insert runs an INSERT and returns the rowid of the row it wrote,
	// or inserted false when it wrote none (ON CONFLICT DO NOTHING).
	Insert(ctx context.Context, q string, args ...any) (id int64, inserted bool, err error)
}

// errNoRow means an INSERT … RETURNING id without ON CONFLICT returned no
// row, which neither database does unless the statement did not insert.
var errNoRow = errors.New("store: insert returned no id")

// Scanner is what a row offers: *sql.Rows, pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

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
func (t *Tx) toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%s: encode JSON column: %w", t.d.Name, err)
	}
	return string(b), nil
}

func (t *Tx) fromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("%s: decode JSON column: %w", t.d.Name, err)
	}
	return nil
}

// sealer seals and opens several fields, keeping the first error, so that a
// row with five sealed fields needs one error check instead of five.
type sealer struct {
	keys   *keyring.Ring
	name   string
	binary bool // sealBytes in the binary form (Dialect.BinaryBodies)
	err    error
}

func (t *Tx) sealer() *sealer { return &sealer{keys: t.keys, name: t.d.Name, binary: t.d.BinaryBodies} }

func (s *sealer) seal(v string) string {
	if s.err != nil {
		return ""
	}
	out, err := s.keys.Seal(v)
	if err != nil {
		s.err = fmt.Errorf("%s: seal: %w", s.name, err)
	}
	return out
}

func (s *sealer) open(v string) string {
	if s.err != nil {
		return ""
	}
	out, err := s.keys.Open(v)
	if err != nil {
		s.err = fmt.Errorf("%s: open sealed column: %w", s.name, err)
	}
	return out
}

// openOrPlain opens a column sealed since a later version: a value written
// before, in plaintext, reads as it is, and is sealed when the row is next
// written.
func (s *sealer) openOrPlain(v string) string {
	if !keyring.IsSealed(v) {
		return v
	}
	return s.open(v)
}

// sealBytes seals a body kept in a BLOB/BYTEA column: in the keyring's
// binary form where the dialect says so (SealBinary: no base64, a quarter
// smaller than the sealed text, which the column held before and still
// may), else the sealed text's bytes; never nil (the columns are NOT
// NULL, and a nil slice binds as NULL).
func (s *sealer) sealBytes(b []byte) []byte {
	if len(b) == 0 || s.err != nil {
		return []byte{}
	}
	seal := s.keys.SealBytes
	if s.binary {
		seal = s.keys.SealBinary
	}
	out, err := seal(b)
	if err != nil {
		s.err = fmt.Errorf("%s: seal: %w", s.name, err)
		return []byte{}
	}
	return out
}

// openBytes opens what sealBytes stored, or a sealed text an earlier
// version stored; a body written in plaintext by an earlier version (until
// Reseal seals it) reads as it is.
func (s *sealer) openBytes(b []byte) []byte {
	if len(b) == 0 || !keyring.IsSealedBytes(b) {
		return b
	}
	if s.err != nil {
		return []byte{}
	}
	out, err := s.keys.OpenBytes(b)
	if err != nil {
		s.err = fmt.Errorf("%s: open sealed column: %w", s.name, err)
		return []byte{}
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

func (t *Tx) isUnique(err error) bool {
	if err == nil {
		return false
	}
	_, ok := t.d.UniqueViolation(err)
	return ok
}

func (t *Tx) isForeignKey(err error) bool {
	return err != nil && t.d.ForeignKeyViolation(err)
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

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func quote(s string) string { return strconv.Quote(s) }

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
