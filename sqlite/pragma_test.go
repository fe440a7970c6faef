package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/baoguan/baoguan/keyring"
)

// TestPragmas checks the connection setup the package comment promises,
// since a typo in a DSN pragma would otherwise go unnoticed.
func TestPragmas(t *testing.T) {
	k, _ := keyring.New(make([]byte, keyring.KeySize))
	// The write connection runs NORMAL either way: with FULL, the syncer
	// fsyncs the WAL beside it (durable_test.go).
	for _, c := range []struct {
		sync   string
		want   int
		syncer bool
	}{{"", 1, true}, {"FULL", 1, true}, {"NORMAL", 1, false}} {
		db, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "p.db"), Keys: k, Synchronous: c.sync})
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var syncLevel, fk, busy, qo, cache, ckpt, temp int
		w := db.w
		for q, dst := range map[string]any{
			"PRAGMA journal_mode": &mode, "PRAGMA synchronous": &syncLevel,
			"PRAGMA foreign_keys": &fk, "PRAGMA busy_timeout": &busy,
			"PRAGMA cache_size": &cache, "PRAGMA wal_autocheckpoint": &ckpt,
			"PRAGMA temp_store": &temp,
		} {
			if err := w.QueryRow(q).Scan(dst); err != nil {
				t.Fatal(q, err)
			}
		}
		if mode != "wal" || syncLevel != c.want || fk != 1 || busy != 5000 {
			t.Errorf("writer (sync %q): journal_mode %s synchronous %d foreign_keys %d busy_timeout %d", c.sync, mode, syncLevel, fk, busy)
		}
		// The writer's page cache and checkpoint interval (openWriter;
		// docs/benchmarks.md, change 41), the sub-journal in memory.
		if cache != -8000 || ckpt != 4000 || temp != 2 {
			t.Errorf("writer (sync %q): cache_size %d wal_autocheckpoint %d temp_store %d, want -8000 4000 2", c.sync, cache, ckpt, temp)
		}
		if err := db.r.QueryRow("PRAGMA query_only").Scan(&qo); err != nil || qo != 1 {
			t.Errorf("reader query_only = %d, %v", qo, err)
		}
		if err := db.r.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Errorf("reader foreign_keys = %d, %v", fk, err)
		}
		if (db.sy != nil) != c.syncer {
			t.Errorf("sync %q: syncer %v, want %v", c.sync, db.sy != nil, c.syncer)
		}
		if n := db.w.Stats().MaxOpenConnections; n != 1 {
			t.Errorf("writer pool allows %d connections", n)
		}
		db.Close()
	}
}
