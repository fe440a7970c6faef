package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/baoguan/baoguan/postgres"
)

// TestDeclarationUpdatesHOT: migration 0025 upgrades a database that holds
// declarations, and afterwards declarations inserted together and then
// updated together, as a job batch updates them (their outcome: columns no
// index holds), are updated in place — HOT, no index entry written —
// where full pages sent nearly every update to another page.
func TestDeclarationUpdatesHOT(t *testing.T) {
	const version = 25
	ctx := context.Background()
	dbURL := testURL(t)
	c := raw(t, dbURL)
	entries := migrateBefore(t, c, version)
	insertZero(t, c, "merchants", map[string]any{"id": 1})
	insertZero(t, c, "orders", map[string]any{"id": 1, "merchant_id": 1, "merchant_order_no": "OLD-1"})
	insertZero(t, c, "declarations", map[string]any{"order_id": 1, "merchant_id": 1, "customs": "HG014", "sub_order_no": "OLD"})
	if n, err := postgres.Migrate(ctx, dbURL); err != nil || n != len(entries)-version+1 {
		t.Fatalf("Migrate = %d, %v; want the migrations from %04d on", n, err, version)
	}
	var old int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM declarations WHERE sub_order_no = 'OLD'`).Scan(&old); err != nil || old != 1 {
		t.Fatalf("the declaration stored before the migration: %d, %v", old, err)
	}

	// Rows of about the size the pipeline's have (≈450 bytes).
	const n = 60
	filler := strings.Repeat("x", 300)
	for i := range n {
		insertZero(t, c, "declarations", map[string]any{"order_id": 1, "merchant_id": 1, "customs": "HG016",
			"sub_order_no": fmt.Sprintf("S%02d", i), "extras": filler, "state": "pending"})
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE declarations SET state = 'succeeded', explanation = 'declared', receipt_code = '2',
		attempts = attempts + 1, modified_at = 1, version = version + 1 WHERE customs = 'HG016'`); err != nil {
		t.Fatal(err)
	}
	var upd, hot int
	if err := tx.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'declarations'`).Scan(&upd, &hot); err != nil {
		t.Fatal(err)
	}
	if upd != n || hot != n {
		t.Errorf("updated %d declarations, %d of them HOT; want all %d HOT", upd, hot, n)
	}
}
