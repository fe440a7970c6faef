package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/baoguan/baoguan/storetest"
)

// beforeMigration is a new database file with the schema as it was before
// migration version, for that migration's test: the database, its path,
// an exec that fails the test on error, and the migrations' files.
func beforeMigration(t *testing.T, version int) (db *sql.DB, path string, exec func(q string, args ...any), entries []os.DirEntry) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "m.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec = func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	entries = storetest.MigrateBefore(t, version, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, exec)
	return db, path, exec, entries
}
