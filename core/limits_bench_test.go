package core_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
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

// BenchmarkAuthAllowedPostgres is one failed-authentication check on
// PostgreSQL, checks one after another (so none shares another's read):
// what a check that reads costs this process (proc-µs/check, its CPU from
// getrusage) and the database's backends (db-µs/check, from /proc).
func BenchmarkAuthAllowedPostgres(b *testing.B) {
	ctx := context.Background()
	u := pgtest.URL(b)
	keys, _ := keyring.New(make([]byte, 32))
	db, err := postgres.Open(ctx, postgres.Options{URL: u, Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	svc := core.New(&core.Service{Store: db})
	cpu := storetest.ProcessCPU
	p0, d0 := cpu(), pgtest.BackendCPU(b, c)
	n := 0
	for b.Loop() {
		if err := svc.AuthAllowed(ctx, "203.0.113.9:4000", ""); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64((cpu()-p0).Microseconds())/float64(n), "proc-µs/check")
	b.ReportMetric(float64((pgtest.BackendCPU(b, c)-d0).Microseconds())/float64(n), "db-µs/check")
}
