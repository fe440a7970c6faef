package sqlite_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/baoguan/baoguan/sqlite"
)

// TestOrderKeysMigrated: migration 0019 moves the fingerprint of each
// "order:<no>" idempotency record into its order's fingerprint column and
// deletes those records (one without an order too), leaving other records
// and orders without a record (”) alone.
func TestOrderKeysMigrated(t *testing.T) {
	const version = 19
	db, path, exec, entries := beforeMigration(t, version)
	insertZero(t, db, "merchants", map[string]any{"id": 1})
	insertZero(t, db, "orders", map[string]any{"id": 1, "merchant_id": 1, "merchant_order_no": "OLD-1"})
	insertZero(t, db, "orders", map[string]any{"id": 2, "merchant_id": 1, "merchant_order_no": "OLD-2"})
	for key, hash := range map[string]string{"order:OLD-1": "fp-1", "order:GONE": "fp-gone", "refund:OLD-1": "fp-r", "accp:order:X": "fp-p"} {
		exec(`INSERT INTO idempotency (merchant_id, idem_key, request_hash, status, body, created_at) VALUES (1, ?, ?, 0, x'', 0)`, key, hash)
	}

	if n, err := sqlite.Migrate(context.Background(), path); err != nil || n != len(entries)-version+1 {
		t.Fatalf("Migrate = %d, %v; want the migrations from %04d on", n, err, version)
	}
	for no, want := range map[string]string{"OLD-1": "fp-1", "OLD-2": ""} {
		var fp string
		if err := db.QueryRow(`SELECT fingerprint FROM orders WHERE merchant_order_no = ?`, no).Scan(&fp); err != nil || fp != want {
			t.Errorf("order %s: fingerprint %q, %v; want %q", no, fp, err, want)
		}
	}
	var keys []string
	rows, err := db.Query(`SELECT idem_key FROM idempotency ORDER BY idem_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if got := strings.Join(keys, " "); got != "accp:order:X refund:OLD-1" {
		t.Errorf("records left: %s; want the push's and the refund's", got)
	}
}

// insertZero inserts a row into table with the values of set and, in every
// other NOT NULL column without a default, its type's zero.
func insertZero(t *testing.T, db *sql.DB, table string, set map[string]any) {
	t.Helper()
	rows, err := db.Query(`SELECT name, type, "notnull", dflt_value IS NOT NULL FROM pragma_table_info(?)`, table)
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
		case strings.EqualFold(typ, "TEXT"):
			v = ""
		case strings.EqualFold(typ, "BLOB"):
			v = []byte{}
		default:
			v = 0
		}
		cols, marks, args = append(cols, name), append(marks, "?"), append(args, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(marks, ", ")+")", args...); err != nil {
		t.Fatalf("insert into %s: %v", table, err)
	}
}
