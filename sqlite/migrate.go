package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"github.com/baoguan/baoguan/sqlstore"
	"time"
)

// migrations are the numbered schema scripts, NNNN_name.sql, applied in
// order. A released migration is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

func loadMigrations() ([]sqlstore.Migration, error) {
	return sqlstore.LoadMigrations(migrations, "migrations", "sqlite")
}

// Migrate applies the pending migrations to the database at path, creating
// it if needed, and reports how many it applied. Open does the same; this is
// for `baoguan migrate`, which must not need the data keys.
func Migrate(ctx context.Context, path string) (applied int, err error) {
	w, err := openWriter(ctx, path, "FULL")
	if err != nil {
		return 0, err
	}
	defer w.Close()
	return migrate(ctx, w, time.Now)
}

// migrate applies each pending migration in its own transaction, together
// with its schema_migrations row, so a failed script leaves no trace and
// the next run retries exactly it. The version check happens inside the
// (IMMEDIATE) transaction, so two processes migrating at once cannot both
// apply the same script.
func migrate(ctx context.Context, w *sql.DB, now func() time.Time) (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL
)`); err != nil {
		return 0, fmt.Errorf("sqlite: migrate: %w", err)
	}
	applied := 0
	for _, m := range ms {
		done, err := applyMigration(ctx, w, m, now)
		if err != nil {
			return applied, fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

func applyMigration(ctx context.Context, w *sql.DB, m sqlstore.Migration, now func() time.Time) (bool, error) {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.Version, now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
