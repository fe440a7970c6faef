package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"

	"modernc.org/libc"
	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawWriter opens a write connection migrated like the store's and the
// rawConn on it, inside the returned sql.Conn (released at cleanup).
func rawWriter(t *testing.T) (*sql.Conn, *rawConn) {
	t.Helper()
	ctx := context.Background()
	w, err := openWriter(ctx, filepath.Join(t.TempDir(), "raw.db"), "NORMAL")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	c, err := w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawConn{}
	t.Cleanup(func() {
		c.Raw(func(dc any) error { r.close(dc); return nil })
		c.Close()
	})
	if err := c.Raw(func(dc any) error {
		if !r.attach(dc) {
			return fmt.Errorf("no handle in the driver's connection %T", dc)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return c, r
}

type kind string

type valuer struct{ v string }

func (v valuer) Value() (driver.Value, error) { return "valued " + v.v, nil }

// TestRawBinding: every kind of argument the store passes is stored by the
// writer's own binding exactly as database/sql and the driver store it:
// the same type (typeof) and bytes, empty strings and blobs apart from
// NULL, strings with NUL bytes, arguments larger than the buffer and than
// what it keeps, several statements one after another on the one buffer.
func TestRawBinding(t *testing.T) {
	ctx := context.Background()
	c, r := rawWriter(t)
	if _, err := c.ExecContext(ctx, "CREATE TABLE v (via TEXT, i INTEGER, x)"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("长", 50_000)     // past the first 4 KB of buffer
	huge := strings.Repeat("x", rawKept+1) // past what the buffer keeps
	var nilBytes []byte
	var nilPtr *int64
	seven := int64(7)
	values := []any{
		"", "text", "a\x00b", "测试商品", big, []byte{}, nilBytes, []byte("\x00\x01\xff"), []byte(big), huge, "after",
		nil, int64(-1 << 63), int64(1<<63 - 1), 0, 42, true, false, 3.25,
		kind("pending"), baoguan.PaySucceed, uint8(9), valuer{"x"}, nilPtr, &seven, sql.NullString{}, sql.NullInt64{Int64: 5, Valid: true},
	}
	for i, v := range values {
		q := "INSERT INTO v (via, i, x) VALUES (?, ?, ?)"
		if _, _, ok, err := r.exec(q, []any{"raw", i, v}); !ok || err != nil {
			t.Fatalf("%d %T: raw exec ok=%v err=%v", i, v, ok, err)
		}
		// Another statement in between reuses the buffer.
		if _, _, ok, err := r.exec("UPDATE v SET via = ? WHERE via = ?", []any{"raw", "none"}); !ok || err != nil {
			t.Fatalf("update: ok=%v err=%v", ok, err)
		}
		if _, err := c.ExecContext(ctx, q, "sql", i, v); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := c.QueryContext(ctx, `SELECT a.i, typeof(a.x), hex(a.x), typeof(b.x), hex(b.x)
FROM v a JOIN v b ON a.i = b.i AND a.via = 'raw' AND b.via = 'sql' ORDER BY a.i`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var i int
		var rt, rx, st, sx string
		if err := rows.Scan(&i, &rt, &rx, &st, &sx); err != nil {
			t.Fatal(err)
		}
		if rt != st || rx != sx {
			t.Errorf("%T %.40v: raw stored %s %.40s, database/sql %s %.40s", values[i], values[i], rt, rx, st, sx)
		}
		n++
	}
	if err := rows.Err(); err != nil || n != len(values) {
		t.Fatalf("%d rows of %d, %v", n, len(values), err)
	}
}

// TestRawLeftToDriver: what the writer's binding does not take as it is
// runs nowhere there (ok false, nothing written), so that database/sql
// and the driver run it as before: a time.Time (the driver writes it as
// text in its format), a wrong number of arguments (the driver's error or
// its silence), a named parameter, two statements, a query that does not
// prepare.
func TestRawLeftToDriver(t *testing.T) {
	ctx := context.Background()
	c, r := rawWriter(t)
	if _, err := c.ExecContext(ctx, "CREATE TABLE v (x)"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		args []any
	}{
		{"INSERT INTO v (x) VALUES (?)", []any{time.Now()}},
		{"INSERT INTO v (x) VALUES (?)", []any{}},
		{"INSERT INTO v (x) VALUES (?)", []any{1, 2}},
		{"INSERT INTO v (x) VALUES (:x)", []any{1}},
		{"INSERT INTO v (x) VALUES (?2)", []any{1, 2}},
		{"INSERT INTO v (x) VALUES (1); INSERT INTO v (x) VALUES (2)", nil},
		{"INSERT INTO nowhere (x) VALUES (?)", []any{1}},
		{"INSERT INTO v (x) VALUES (?)", []any{struct{}{}}},
	} {
		if _, _, ok, err := r.exec(tc.q, tc.args); ok || err != nil {
			t.Errorf("%q %v: ok=%v err=%v, want it left to the driver", tc.q, tc.args, ok, err)
		}
	}
	var n int
	if err := c.QueryRowContext(ctx, "SELECT count(*) FROM v").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows written, %v", n, err)
	}
}

// TestRawErrors: a statement failing on the writer's own path fails with
// the driver's words and code, which the dialect reads (a unique or
// foreign-key violation).
func TestRawErrors(t *testing.T) {
	ctx := context.Background()
	c, r := rawWriter(t)
	if _, err := c.ExecContext(ctx, "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT UNIQUE); CREATE TABLE ch (p INTEGER REFERENCES p(id))"); err != nil {
		t.Fatal(err)
	}
	if _, id, ok, err := r.exec("INSERT INTO p (name) VALUES (?)", []any{"a"}); !ok || err != nil || id != 1 {
		t.Fatalf("insert: id %d ok=%v err=%v", id, ok, err)
	}
	for _, q := range []string{"INSERT INTO p (name) VALUES (?)", "INSERT INTO ch (p) VALUES (?)"} {
		arg := any("a")
		if strings.Contains(q, "ch") {
			arg = 9
		}
		_, _, ok, rerr := r.exec(q, []any{arg})
		_, derr := c.ExecContext(ctx, q, arg)
		if !ok || rerr == nil || derr == nil || rerr.Error() != derr.Error() || sqliteCode(rerr) != sqliteCode(derr) {
			t.Errorf("%s: raw %v (%d), driver %v (%d)", q, rerr, sqliteCode(rerr), derr, sqliteCode(derr))
		}
	}
	if _, ok := dialect.UniqueViolation(func() error { _, _, _, err := r.exec("INSERT INTO p (name) VALUES (?)", []any{"a"}); return err }()); !ok {
		t.Error("a unique violation is not seen as one")
	}
	if !dialect.ForeignKeyViolation(func() error { _, _, _, err := r.exec("INSERT INTO ch (p) VALUES (?)", []any{9}); return err }()) {
		t.Error("a foreign-key violation is not seen as one")
	}
	// The statement is usable again after its error.
	if n, _, ok, err := r.exec("INSERT INTO p (name) VALUES (?)", []any{"b"}); !ok || err != nil || n != 1 {
		t.Errorf("after the error: %d rows, ok=%v err=%v", n, ok, err)
	}
}

// TestWriterOnSQLiteAPI: the store's writer runs its statements on the
// write connection's handle, with the connection's mutex taken out while
// it does, and close puts the mutex back for sqlite3_close.
func TestWriterOnSQLiteAPI(t *testing.T) {
	ctx := context.Background()
	k := make([]byte, keyring.KeySize)
	keys, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, Options{Path: filepath.Join(t.TempDir(), "w.db"), Keys: keys, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := baoguan.Merchant{No: "m", Name: "m"}
	if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) }); err != nil {
		t.Fatal(err)
	}
	// The writer has ended the group and released the connection.
	c, err := db.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Raw(func(dc any) error {
		prepared := 0
		for q, s := range db.raw.stmts {
			if s != nil && strings.Contains(q, "INSERT INTO merchants") {
				prepared++
			}
		}
		if db.raw.dc != dc || prepared == 0 {
			t.Errorf("the merchant's INSERT did not run on the handle (%d prepared there)", prepared)
		}
		h, _, _ := driverHandles(dc)
		mu := h + unsafe.Offsetof(sqlite3.Tsqlite3{}.Fmutex)
		if libc.AtomicLoadPUintptr(mu) != 0 {
			t.Error("the write connection still has its mutex")
		}
		db.raw.close(dc)
		if libc.AtomicLoadPUintptr(mu) == 0 {
			t.Error("close did not put the mutex back")
		}
		return nil
	})
}

// TestWriterLookaside: the writer's connection has a lookaside large
// enough that, beside the statements it keeps prepared, SQLite's small
// allocations for a group of orders never find it full (each such miss is
// a call into libc's allocator), whichever way the store syncs: with FULL,
// the default, Open reads the WAL's path on the connection before the
// first group, which keeps part of the default lookaside in use, and a
// lookaside set at the first group was refused.
func TestWriterLookaside(t *testing.T) {
	for _, sync := range []string{"", "NORMAL"} {
		t.Run("synchronous="+sync, func(t *testing.T) { writerLookaside(t, sync) })
	}
}

func writerLookaside(t *testing.T, sync string) {
	ctx := context.Background()
	keys, err := keyring.New(make([]byte, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, Options{Path: filepath.Join(t.TempDir(), "w.db"), Keys: keys, Synchronous: sync})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := baoguan.Merchant{No: "m", Name: "m"}
	if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) }); err != nil {
		t.Fatal(err)
	}
	status := func(op sqlitedrv.DBStatusOp) (high int) {
		c, err := db.w.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Raw(func(dc any) error {
			_, high, err = dc.(sqlitedrv.DBStatus).Status(op, true)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return high
	}
	status(sqlitedrv.DBStatusLookasideMissFull) // from zero
	status(sqlitedrv.DBStatusLookasideHit)
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	for g := range 4 {
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			for j := range 64 {
				o := baoguan.Order{MerchantID: m.ID, MerchantOrderNo: fmt.Sprintf("L%d-%d", g, j), Amount: 4023, Currency: "CNY", Subject: "测试商品",
					Items: []baoguan.Item{{Subject: "测试商品1", Quantity: 1, UnitAmount: 4023}}, Payer: baoguan.Payer{Name: "张三", IDType: "IDCARD", IDNumber: "110101199003071232", Phone: "13800000000"},
					OrderedAt: now, NeedDeclare: true, Channel: baoguan.ChannelMock, Sandbox: true, Protocol: "native",
					PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclareNone, PayDueAt: now}
				if err := tx.CreateOrder(&o); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if full, hits := status(sqlitedrv.DBStatusLookasideMissFull), status(sqlitedrv.DBStatusLookasideHit); full != 0 || hits == 0 {
		t.Errorf("256 orders: %d allocations found the lookaside full, %d used it", full, hits)
	}
}
