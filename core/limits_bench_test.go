package core_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sqlite"
)

// BenchmarkAuthAllowed is what the limits add to every authentication on
// SQLite: one read of two buckets that do not exist (a clean source and
// merchant, the common case).
func BenchmarkAuthAllowed(b *testing.B) {
	ctx := context.Background()
	keys, _ := keyring.New(make([]byte, 32))
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "b.db"), Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := core.New(&core.Service{Store: db})
	b.ReportAllocs()
	for b.Loop() {
		if err := svc.AuthAllowed(ctx, "203.0.113.9:4000", "merchant:M1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthAllowedExclusive is the same check on a SQLite server,
// which holds its database alone: the clean buckets are read once, then
// known full.
func BenchmarkAuthAllowedExclusive(b *testing.B) {
	ctx := context.Background()
	keys, _ := keyring.New(make([]byte, 32))
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "b.db"), Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := core.New(&core.Service{Store: db, ExclusiveStore: true})
	b.ReportAllocs()
	for b.Loop() {
		if err := svc.AuthAllowed(ctx, "203.0.113.9:4000", "merchant:M1"); err != nil {
			b.Fatal(err)
		}
	}
}
