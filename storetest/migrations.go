package storetest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// MigrateBefore gives a store package's test database the schema as it
// was before migration version: with exec it runs create (the dialect's
// schema_migrations table), then each file of the package's migrations
// folder numbered below version, recording it by record (the dialect's
// INSERT with the version as its one parameter). It returns every
// migration file, for the test to apply the rest as the store would.
func MigrateBefore(t testing.TB, version int, create, record string, exec func(q string, args ...any)) []os.DirEntry {
	t.Helper()
	exec(create)
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		v, err := strconv.Atoi(e.Name()[:4])
		if err != nil {
			t.Fatal(err)
		}
		if v >= version {
			continue
		}
		b, err := os.ReadFile(filepath.Join("migrations", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		exec(record, v)
	}
	return entries
}
