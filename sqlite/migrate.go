package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrations are the numbered schema scripts, NNNN_name.sql, applied in
// order. A released migration is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads and orders the embedded scripts, refusing gaps and
// duplicates so a mis-numbered file fails every test instead of a deploy.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlite: migration %s: name must be NNNN_name.sql", name)
		}
		b, err := migrations.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlite: migration %s: expected version %d", m.name, i+1)
		}
	}
	return out, nil
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
			return applied, fmt.Errorf("sqlite: migration %s: %w", m.name, err)
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

func applyMigration(ctx context.Context, w *sql.DB, m migration, now func() time.Time) (bool, error) {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.version, now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
