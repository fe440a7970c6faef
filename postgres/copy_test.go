package postgres

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/baoguan/baoguan/postgres/pgtest"
)

// TestCopyRowsEncodes: rows copied with the store's own encoding of
// BIGINT, TEXT, BOOLEAN and BYTEA read back as they were sent (a text
// PostgreSQL cannot hold made safe, as before); a table with a column of
// another type is copied by pgx's encoding instead; and a value that does
// not fit its column fails the COPY, which is undone (copied false, no
// error), leaving the transaction usable.
func TestCopyRowsEncodes(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pc, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Release()
	for _, q := range []string{
		`CREATE TABLE plain (id BIGINT, s TEXT, ok BOOLEAN, b BYTEA)`,
		`CREATE TABLE other (id BIGINT, n INTEGER, s TEXT)`,
		`BEGIN`,
	} {
		if _, err := pc.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	x := &conn{c: pc, open: true}
	rows := [][]any{
		{int64(-1), "", false, []byte{}},
		{int64(1) << 62, "测试 \t\n\\ \x00 \xff end", true, []byte{0, 1, 0xff}},
		{int64(7), "a", true, []byte("xyz")},
	}
	if ok, err := x.CopyRows(ctx, "plain", []string{"id", "s", "ok", "b"}, rows); !ok || err != nil {
		t.Fatalf("CopyRows into BIGINT, TEXT, BOOLEAN, BYTEA: copied %v, %v", ok, err)
	}
	got, err := pc.Query(ctx, `SELECT id, s, ok, b FROM plain ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	for got.Next() {
		var id int64
		var s string
		var ok bool
		var b []byte
		if err := got.Scan(&id, &s, &ok, &b); err != nil {
			t.Fatal(err)
		}
		read = append(read, fmt.Sprintf("%d %q %v %x", id, s, ok, b))
	}
	if err := got.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`-1 "" false `,
		`7 "a" true 78797a`,
		fmt.Sprintf("%d %q true 0001ff", int64(1)<<62, "测试 \t\n\\ \uFFFD \uFFFD end"),
	}
	if fmt.Sprint(read) != fmt.Sprint(want) {
		t.Errorf("read back\n%q\nwant\n%q", read, want)
	}
	// INTEGER is not encoded here: pgx's CopyFrom does it.
	if ok, err := x.CopyRows(ctx, "other", []string{"id", "n", "s"}, [][]any{{int64(1), int64(2), "x"}}); !ok || err != nil {
		t.Fatalf("CopyRows into a table with an INTEGER column: copied %v, %v", ok, err)
	}
	var n int
	if err := pc.QueryRow(ctx, `SELECT n FROM other WHERE id = 1`).Scan(&n); err != nil || n != 2 {
		t.Errorf("INTEGER column read %d (%v), want 2", n, err)
	}
	// A string for a BIGINT column: neither encoding takes it; nothing is
	// copied and the transaction goes on.
	if ok, err := x.CopyRows(ctx, "plain", []string{"id", "s", "ok", "b"}, [][]any{{"one", "s", true, []byte{}}}); ok || err != nil {
		t.Fatalf("CopyRows of a string into BIGINT: copied %v, %v; want false, nil", ok, err)
	}
	if err := pc.QueryRow(ctx, `SELECT count(*) FROM plain`).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d rows after the failed COPY (%v), want 3", n, err)
	}
}

// TestEncodeCopy: the binary COPY format, byte for byte, of a row of each
// type, and the types it leaves to pgx.
func TestEncodeCopy(t *testing.T) {
	buf, ok := encodeCopy([]uint32{oidInt8, oidText, oidBool, oidBytea}, [][]any{{int64(258), "ab", true, []byte{9}}})
	if !ok {
		t.Fatal("encodeCopy refused BIGINT, TEXT, BOOLEAN, BYTEA")
	}
	want := []byte("PGCOPY\n\377\r\n\000" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00" +
		"\x00\x04" + "\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x01\x02" + "\x00\x00\x00\x02ab" + "\x00\x00\x00\x01\x01" + "\x00\x00\x00\x01\x09" +
		"\xff\xff")
	if !bytes.Equal(buf, want) {
		t.Errorf("encodeCopy\n%q\nwant\n%q", buf, want)
	}
	for _, c := range []struct {
		oids []uint32
		row  []any
	}{
		{[]uint32{23}, []any{int64(1)}},               // INTEGER
		{[]uint32{oidInt8}, []any{1}},                 // an int, not an int64
		{[]uint32{oidText}, []any{[]byte("x")}},       // bytes for TEXT
		{[]uint32{oidInt8, oidText}, []any{int64(1)}}, // too few values
	} {
		if _, ok := encodeCopy(c.oids, [][]any{c.row}); ok {
			t.Errorf("encodeCopy(%v, %v) encoded; want it left to pgx", c.oids, c.row)
		}
	}
}
