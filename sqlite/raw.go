package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawConn runs the writer's statements (its INSERTs, UPDATEs, DELETEs and
// savepoints) on SQLite's own API, on the write connection's handle, rather
// than through database/sql and the driver's statements. The driver copies
// every string and blob argument into memory it mallocs (under its
// allocator's lock) and frees after the statement, looks each parameter's
// name up, and database/sql converts and checks every argument, takes its
// locks and builds a result per call: with the connection's mutex (see
// attach), a fifth of the writer's CPU in the bench (docs/benchmarks.md,
// change 64). Here a statement's strings and blobs are copied into one
// buffer the connection keeps and bound as SQLITE_STATIC, with no malloc
// and nothing to unbind. A statement that has run still points into the
// buffer, which the next statement overwrites; SQLite reads a bound value
// only while the statement steps, and every execution binds all of its
// parameters before it steps.
//
// The handle and the driver's libc TLS are the driver connection's own
// (driverHandles). The writer uses them only while its group holds the
// connection (a *sql.Conn and the Tx begun on it), from the writer
// goroutine, between database/sql's calls on the same connection: one
// goroutine at a time, as the driver itself does. Queries stay on
// database/sql, whose Scan converts columns into the scanned types, as do
// BEGIN, COMMIT and ROLLBACK, and so does any statement or argument this
// path does not take as it is (rawStmt, bind): the driver then runs it as
// before, errors included.
type rawConn struct {
	dc    any // the driver connection whose handle this is
	db    uintptr
	tls   *libc.TLS
	stmts map[string]*rawStmt // nil: database/sql runs the query
	buf   uintptr             // C memory the arguments' bytes are copied to
	size  int
	vals  []any   // the arguments as bound, reused
	empty uintptr // a byte for empty strings and blobs to point to: a null pointer binds NULL
	mutex uintptr // the connection's mutex, taken out while r has it (attach)
}

// The writer's lookaside, 1.2 MB: slots of lookasideSlot bytes, of which
// SQLite makes 128-byte slots of part.
const lookasideSlot, lookasideSlots = 1200, 1000

// rawStmt is a statement prepared on the handle and the number of its
// parameters, all anonymous (?).
type rawStmt struct {
	p uintptr
	n int
}

// driverHandles returns the SQLite handle of a modernc.org/sqlite driver
// connection and the libc TLS the driver uses with it, which the driver
// keeps unexported (fields db and tls). ok is false when dc is not such a
// connection, or one whose fields are not as expected (another version of
// the driver): the writer then runs everything through database/sql.
func driverHandles(dc any) (db uintptr, tls *libc.TLS, ok bool) {
	v := reflect.ValueOf(dc)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, nil, false
	}
	s := v.Elem()
	if s.Type().PkgPath() != "modernc.org/sqlite" || s.Type().Name() != "conn" {
		return 0, nil, false
	}
	fdb, ftls := s.FieldByName("db"), s.FieldByName("tls")
	if !fdb.IsValid() || fdb.Kind() != reflect.Uintptr || !ftls.IsValid() || ftls.Type() != reflect.TypeFor[*libc.TLS]() {
		return 0, nil, false
	}
	db, tls = uintptr(fdb.Uint()), (*libc.TLS)(ftls.UnsafePointer())
	return db, tls, db != 0 && tls != nil
}

// attach makes r the handle of driver connection dc (the writer's, taken
// with (*sql.Conn).Raw at the start of a group), and reports whether r may
// be used. A connection other than the one r was for (database/sql
// replaced it) drops the statements prepared on the old one.
func (r *rawConn) attach(dc any) bool {
	if r.dc == dc && r.db != 0 {
		return true
	}
	r.drop()
	db, tls, ok := driverHandles(dc)
	if !ok {
		return false
	}
	if r.empty == 0 {
		if r.empty = libc.Xmalloc(tls, 1); r.empty == 0 {
			return false
		}
	}
	r.dc, r.db, r.tls, r.stmts = dc, db, tls, map[string]*rawStmt{}
	// The connection's own mutex, which SQLite takes and leaves in every
	// call of its API (a bind, a step, a column), goes: as if opened
	// with SQLITE_OPEN_NOMUTEX, which is nothing else than db->mutex
	// being null. The driver opens every connection FULLMUTEX, so that
	// one may be used from several goroutines at once; the write
	// connection never is (database/sql's pool hands it to one user at a
	// time, and a call on it stays on its goroutine), and its mutex, a
	// recursive one emulated in Go, cost the writer 18 µs an order of
	// its 261 (benchmarks.md, change 64). close puts it back for
	// sqlite3_close to free.
	mu := db + unsafe.Offsetof(sqlite3.Tsqlite3{}.Fmutex)
	r.mutex = libc.AtomicLoadPUintptr(mu)
	libc.AtomicStorePUintptr(mu, 0)
	return true
}

// lookasideConnector opens the write connection (openWriter) and gives
// it a larger lookaside: SQLite's own allocator for its small,
// short-lived allocations (a statement's cursors, the buffers it builds
// its records in), which needs no lock and no call into libc's
// allocator. The default (some 120 slots) is held by the prepared
// statements the writer keeps, so that most of those allocations went to
// malloc. SQLite changes it only while none of it is in use
// (SQLITE_BUSY otherwise), which is why it is set here, as the
// connection opens, before anything else runs on it. By the first group
// it is too late when the store syncs FULL (the default): walPath has
// read the eponymous table pragma_database_list on the connection, which
// keeps some of the lookaside for the connection's life, and SQLite
// refused the setting there (docs/benchmarks.md, change 68). A connection
// database/sql opens again gets it too.
type lookasideConnector struct {
	drv driver.Driver // the driver registered as "sqlite"
	dsn string
}

func (c lookasideConnector) Connect(context.Context) (driver.Conn, error) {
	dc, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	if db, tls, ok := driverHandles(dc); ok {
		setLookaside(tls, db)
	}
	return dc, nil
}

func (c lookasideConnector) Driver() driver.Driver { return c.drv }

// setLookaside sizes the lookaside of the connection db (lookasideSlot,
// lookasideSlots) and returns SQLite's result code.
func setLookaside(tls *libc.TLS, db uintptr) int32 {
	const slot = 8 // libc.VaList's stride
	va := libc.Xmalloc(tls, 3*slot)
	if va == 0 {
		return sqlite3.SQLITE_NOMEM
	}
	defer libc.Xfree(tls, va)
	return sqlite3.Xsqlite3_db_config(tls, db, sqlite3.SQLITE_DBCONFIG_LOOKASIDE,
		libc.VaList(va, uintptr(0), int32(lookasideSlot), int32(lookasideSlots)))
}

// drop forgets the handle r was for, finalizing its statements. The
// connection may be closed already (database/sql replaced it, and the
// driver closed it with sqlite3_close_v2, which keeps the handle until its
// last statement is finalized), and its TLS with it: drop uses one of its
// own.
func (r *rawConn) drop() {
	if r.db == 0 {
		return
	}
	tls := libc.NewTLS()
	for _, s := range r.stmts {
		if s != nil {
			sqlite3.Xsqlite3_finalize(tls, s.p)
		}
	}
	tls.Close()
	r.dc, r.db, r.tls, r.stmts = nil, 0, nil, nil
}

// close finalizes r's statements and frees its memory; the connection
// must still be open, and dc must be it.
func (r *rawConn) close(dc any) {
	if r.db != 0 && r.dc == dc {
		for _, s := range r.stmts {
			if s != nil {
				sqlite3.Xsqlite3_finalize(r.tls, s.p)
			}
		}
		libc.AtomicStorePUintptr(r.db+unsafe.Offsetof(sqlite3.Tsqlite3{}.Fmutex), r.mutex)
		r.dc, r.db, r.tls, r.stmts = nil, 0, nil, nil
	} else {
		r.drop()
	}
	tls := libc.NewTLS()
	if r.buf != 0 {
		libc.Xfree(tls, r.buf)
		r.buf, r.size = 0, 0
	}
	if r.empty != 0 {
		libc.Xfree(tls, r.empty)
		r.empty = 0
	}
	tls.Close()
}

// stmt returns q prepared on the handle, or nil when q is not for this
// path: more than one statement, none, or a named or numbered parameter.
// A query that fails to prepare is left to database/sql too, which
// reports the error as the driver words it.
func (r *rawConn) stmt(q string) *rawStmt {
	if s, ok := r.stmts[q]; ok {
		return s
	}
	s := r.prepare(q)
	r.stmts[q] = s
	return s
}

func (r *rawConn) prepare(q string) *rawStmt {
	zq, err := libc.CString(q)
	if err != nil {
		return nil
	}
	defer libc.Xfree(r.tls, zq)
	out := libc.Xmalloc(r.tls, types.Size_t(2*unsafe.Sizeof(uintptr(0))))
	if out == 0 {
		return nil
	}
	defer libc.Xfree(r.tls, out)
	pp, ptail := out, out+unsafe.Sizeof(uintptr(0))
	if sqlite3.Xsqlite3_prepare_v2(r.tls, r.db, zq, -1, pp, ptail) != sqlite3.SQLITE_OK {
		return nil
	}
	p := libc.AtomicLoadPUintptr(pp)
	if p == 0 {
		return nil
	}
	n := int(sqlite3.Xsqlite3_bind_parameter_count(r.tls, p))
	ok := libc.AtomicLoadPUint8(libc.AtomicLoadPUintptr(ptail)) == 0
	for i := 1; ok && i <= n; i++ {
		ok = sqlite3.Xsqlite3_bind_parameter_name(r.tls, p, int32(i)) == 0
	}
	if !ok {
		sqlite3.Xsqlite3_finalize(r.tls, p)
		return nil
	}
	return &rawStmt{p: p, n: n}
}

// exec runs q with args and returns the rows it changed and the last
// rowid inserted; ok is false when the query or an argument is not for
// this path, and nothing ran: the caller runs it through database/sql.
func (r *rawConn) exec(q string, args []any) (changed, lastID int64, ok bool, err error) {
	s := r.stmt(q)
	if s == nil || s.n != len(args) {
		// The driver's own error for a missing argument, or its
		// silence for extra ones.
		return 0, 0, false, nil
	}
	bound := r.bind(s, args)
	clear(r.vals) // keep no caller's values alive
	if !bound {
		return 0, 0, false, nil
	}
	rc := sqlite3.Xsqlite3_step(r.tls, s.p)
	for rc == sqlite3.SQLITE_ROW { // RETURNING: run it to the end, as the driver's Exec does
		rc = sqlite3.Xsqlite3_step(r.tls, s.p)
	}
	if rc != sqlite3.SQLITE_DONE {
		err = r.error(rc)
		sqlite3.Xsqlite3_reset(r.tls, s.p)
		r.trim()
		return 0, 0, true, err
	}
	changed = int64(sqlite3.Xsqlite3_changes(r.tls, r.db))
	lastID = sqlite3.Xsqlite3_last_insert_rowid(r.tls, r.db)
	if rc := sqlite3.Xsqlite3_reset(r.tls, s.p); rc != sqlite3.SQLITE_OK {
		return 0, 0, true, r.error(rc)
	}
	r.trim()
	return changed, lastID, true, nil
}

// rawKept bounds the argument buffer kept between statements: a
// statement whose arguments are larger has a buffer of its own, freed
// once it has run.
const rawKept = 1 << 20

// trim frees the argument buffer when a statement has grown it past
// rawKept. The statements bound to it are reset, and bind every
// parameter again before they next step.
func (r *rawConn) trim() {
	if r.size > rawKept {
		libc.Xfree(r.tls, r.buf)
		r.buf, r.size = 0, 0
	}
}

// bind binds args to s's parameters, converted as database/sql converts
// them (driver.DefaultParameterConverter, the driver checking none
// itself). Strings and blobs are copied into r.buf, grown beforehand to
// hold them all, and bound SQLITE_STATIC: the buffer stays as it is until
// the statement has run. It returns false, having bound nothing that
// matters, for an argument the driver would bind otherwise than as it is
// (a time.Time, as text in its format) or would refuse.
func (r *rawConn) bind(s *rawStmt, args []any) bool {
	need := 0
	r.vals = r.vals[:0]
	for _, a := range args {
		switch a.(type) {
		case nil, int64, int, bool, float64, string, []byte:
		default:
			c, err := driver.DefaultParameterConverter.ConvertValue(a)
			if err != nil {
				return false
			}
			a = c
		}
		switch v := a.(type) {
		case nil, int64, int, bool, float64:
		case string:
			if len(v) > math.MaxInt32 {
				return false
			}
			need += len(v)
		case []byte:
			if len(v) > math.MaxInt32 {
				return false
			}
			need += len(v)
		default:
			return false
		}
		r.vals = append(r.vals, a)
	}
	if need > r.size {
		size := max(need, 2*r.size, 4096)
		p := libc.Xmalloc(r.tls, types.Size_t(size))
		if p == 0 {
			return false
		}
		if r.buf != 0 {
			libc.Xfree(r.tls, r.buf)
		}
		r.buf, r.size = p, size
	}
	at := r.buf
	var rc int32
	for i, a := range r.vals {
		idx := int32(i + 1)
		switch v := a.(type) {
		case nil:
			rc = sqlite3.Xsqlite3_bind_null(r.tls, s.p, idx)
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(r.tls, s.p, idx, v)
		case int:
			rc = sqlite3.Xsqlite3_bind_int64(r.tls, s.p, idx, int64(v))
		case bool:
			var b int64
			if v {
				b = 1
			}
			rc = sqlite3.Xsqlite3_bind_int64(r.tls, s.p, idx, b)
		case float64:
			rc = sqlite3.Xsqlite3_bind_double(r.tls, s.p, idx, v)
		case string:
			rc = sqlite3.Xsqlite3_bind_text(r.tls, s.p, idx, stage(r, &at, v), int32(len(v)), 0)
		case []byte:
			if v == nil { // as the driver binds a nil []byte
				rc = sqlite3.Xsqlite3_bind_null(r.tls, s.p, idx)
				break
			}
			rc = sqlite3.Xsqlite3_bind_blob(r.tls, s.p, idx, stage(r, &at, v), int32(len(v)), 0)
		}
		if rc != sqlite3.SQLITE_OK {
			// Too big, out of range: the driver reports it as it words it.
			return false
		}
	}
	return true
}

// stage copies v into the argument buffer at *at, moves *at past it, and
// returns where it is; an empty v is r.empty, which binds an empty value
// (a null pointer would bind NULL).
func stage[T string | []byte](r *rawConn, at *uintptr, v T) uintptr {
	if len(v) == 0 {
		return r.empty
	}
	p := *at
	copy(cmem(p, len(v)), v)
	*at += uintptr(len(v))
	return p
}

// cmem is the n bytes of C memory at p (libc's allocator, outside Go's
// heap) as a Go slice, which Go's copy fills: handing libc a pointer into
// Go's memory instead (its memcpy) is what -race's pointer checks refuse.
// The address is made with unsafe.Add from nil, the same as converting p
// to an unsafe.Pointer, which vet cannot tell from hiding a Go pointer in
// a uintptr.
func cmem(p uintptr, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, p)), n)
}

// error is the error of result code rc, worded as the driver words its
// own (errstrForDB, without _error_rc), with its code: sqliteCode reads
// either.
func (r *rawConn) error(rc int32) error {
	str := libc.GoString(sqlite3.Xsqlite3_errstr(r.tls, rc))
	var busy string
	if rc == sqlite3.SQLITE_BUSY {
		busy = " (SQLITE_BUSY)"
	}
	if msg := libc.GoString(sqlite3.Xsqlite3_errmsg(r.tls, r.db)); msg != str {
		str += ": " + msg
	}
	return &rawError{msg: fmt.Sprintf("%s (%v)%s", str, rc, busy), code: int(rc)}
}

// rawError is an error of SQLite's API as rawConn reports it.
type rawError struct {
	msg  string
	code int
}

func (e *rawError) Error() string { return e.msg }

// Code returns SQLite's extended result code, as the driver's Error does.
func (e *rawError) Code() int { return e.code }
