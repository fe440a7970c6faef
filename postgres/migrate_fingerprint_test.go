package postgres_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/storetest"
)

// TestOrderKeysMigrated: migration 0017 moves the fingerprint of each
// "order:<no>" idempotency record into its order's fingerprint column and
// deletes those records (one without an order too), leaving other records
// and orders without a record (”) alone.
func TestOrderKeysMigrated(t *testing.T) {
	const version = 17
	ctx := context.Background()
	dbURL := testURL(t)
	c := raw(t, dbURL)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := c.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	entries := migrateBefore(t, c, version)
	insertZero(t, c, "merchants", map[string]any{"id": 1})
	insertZero(t, c, "orders", map[string]any{"id": 1, "merchant_id": 1, "merchant_order_no": "OLD-1"})
	insertZero(t, c, "orders", map[string]any{"id": 2, "merchant_id": 1, "merchant_order_no": "OLD-2"})
	for key, hash := range map[string]string{"order:OLD-1": "fp-1", "order:GONE": "fp-gone", "refund:OLD-1": "fp-r", "accp:order:X": "fp-p"} {
		exec(`INSERT INTO idempotency (merchant_id, idem_key, request_hash, status, body, created_at) VALUES (1, $1, $2, 0, '', 0)`, key, hash)
	}

	if n, err := postgres.Migrate(ctx, dbURL); err != nil || n != len(entries)-version+1 {
		t.Fatalf("Migrate = %d, %v; want the migrations from %04d on", n, err, version)
	}
	for no, want := range map[string]string{"OLD-1": "fp-1", "OLD-2": ""} {
		var fp string
		if err := c.QueryRow(ctx, `SELECT fingerprint FROM orders WHERE merchant_order_no = $1`, no).Scan(&fp); err != nil || fp != want {
			t.Errorf("order %s: fingerprint %q, %v; want %q", no, fp, err, want)
		}
	}
	var keys []string
	rows, err := c.Query(ctx, `SELECT idem_key FROM idempotency ORDER BY idem_key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if got := strings.Join(keys, " "); got != "accp:order:X refund:OLD-1" {
		t.Errorf("records left: %s; want the push's and the refund's", got)
	}
}

// migrateBefore gives c's database the schema as it was before migration
// version, and returns the migration files (all of them).
func migrateBefore(t *testing.T, c *pgx.Conn, version int) []os.DirEntry {
	t.Helper()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := c.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	return storetest.MigrateBefore(t, version, `CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`,
		`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, exec)
}

// insertZero inserts a row into table with the values of set and, in every
// other NOT NULL column without a default, its type's zero.
func insertZero(t *testing.T, c *pgx.Conn, table string, set map[string]any) {
	t.Helper()
	ctx := context.Background()
	rows, err := c.Query(ctx, `SELECT column_name, data_type, is_nullable = 'NO', column_default IS NOT NULL OR is_identity = 'YES'
FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	var cols, marks []string
	var args []any
	for rows.Next() {
		var name, typ string
		var notNull, dflt bool
		if err := rows.Scan(&name, &typ, &notNull, &dflt); err != nil {
			t.Fatal(err)
		}
		v, ok := set[name]
		switch {
		case ok:
		case !notNull || dflt:
			continue
		case typ == "text":
			v = ""
		case typ == "bytea":
			v = []byte{}
		case typ == "boolean":
			v = false
		default:
			v = 0
		}
		cols, args = append(cols, name), append(args, v)
		marks = append(marks, "$"+strconv.Itoa(len(args)))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(marks, ", ")+")", args...); err != nil {
		t.Fatalf("insert into %s: %v", table, err)
	}
}
