package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkInsertReturning inserts events (15 columns and the table's
// indexes; an event's body is a row of event_bodies since migration 0026) with and without RETURNING id: the reason
// sqlstore's inserts take the rowid instead on SQLite (sqlstore.Inserter).
func BenchmarkInsertReturning(b *testing.B) {
	ctx := context.Background()
	w, err := openWriter(ctx, filepath.Join(b.TempDir(), "bench.db"), "FULL")
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	if _, err := migrate(ctx, w, time.Now); err != nil {
		b.Fatal(err)
	}
	if _, err := w.Exec("PRAGMA foreign_keys = OFF"); err != nil { // no merchant row needed
		b.Fatal(err)
	}
	tx, err := w.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	n := 0 // public ids stay unique across runs
	for _, returning := range []bool{false, true} {
		q := `INSERT INTO events (public_id, merchant_id, order_id, type, protocol, url, content_type,
	status, attempts, created_at, delivered_at, updated_at, next_at, lease_until, dest)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING`
		if returning {
			q += " RETURNING id"
		}
		b.Run(fmt.Sprintf("returning=%v", returning), func(b *testing.B) {
			s, err := tx.Prepare(q)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				n++
				args := []any{fmt.Sprintf("evt_%d", n), 1, i, "order.paid", "native", "http://127.0.0.1:9/x",
					"application/json", "pending", 0, i, 0, i, i, "http://127.0.0.1:9"}
				var id int64
				if returning {
					err = s.QueryRowContext(ctx, args...).Scan(&id)
				} else {
					var res interface{ LastInsertId() (int64, error) }
					if res, err = s.ExecContext(ctx, args...); err == nil {
						id, err = res.LastInsertId()
					}
				}
				if err != nil || id == 0 {
					b.Fatal(id, err)
				}
			}
		})
	}
}
