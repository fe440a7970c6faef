package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/sqlite"
)

// The kinds of database --db can name.
const (
	dbSQLite   = "sqlite"
	dbPostgres = "postgres"
)

// openStore opens the configured database with its data keys.
func openStore(ctx context.Context, cfg *Config) (baoguan.Store, error) {
	db, _, err := openStoreKeys(ctx, cfg)
	return db, err
}

// openStoreKeys is openStore that also returns the data keys, which a
// server follows (watchKeys).
func openStoreKeys(ctx context.Context, cfg *Config) (baoguan.Store, *keyring.Ring, error) {
	if err := cfg.checkDBDir(); err != nil {
		return nil, nil, err
	}
	keys, err := loadKeys(cfg)
	if err != nil {
		return nil, nil, err
	}
	var db baoguan.Store
	switch cfg.DBKind {
	case dbPostgres:
		db, err = postgres.Open(ctx, postgres.Options{URL: cfg.DB, Keys: keys})
	default:
		db, err = sqlite.Open(ctx, sqlite.Options{Path: cfg.DBPath, Keys: keys, Synchronous: cfg.Sync})
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s: %w", cfg.dbDisplay(), err)
	}
	return db, keys, nil
}

// keyCheckInterval is how often a server looks at its key file for a
// rotation (a stat; the file is read only when it changed).
const keyCheckInterval = time.Second

// watchKeys makes `baoguan data-key rotate` take effect in a running
// server: within keyCheckInterval of a rotation the server seals with the
// new primary key. (Values another process sealed with the new key open at
// once: the ring reads its file again when it meets an unknown key.) A key
// file that no longer parses, or lost a key, is logged and the keys in use
// are kept.
func watchKeys(ctx context.Context, keys *keyring.Ring, log *slog.Logger) {
	t := time.NewTicker(keyCheckInterval)
	defer t.Stop()
	failing, primary := "", keys.PrimaryID()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Open may have read the file already; the primary key tells.
		_, err := keys.Reload()
		if err != nil && err.Error() != failing {
			log.Error("data key file unusable; sealing with the keys loaded before", "err", err)
		}
		if err == nil {
			failing = ""
		} else {
			failing = err.Error()
		}
		if p := keys.PrimaryID(); p != primary {
			primary = p
			log.Info("data keys reloaded", "primary", p)
		}
	}
}

// lockServer takes the server lock of a SQLite database (sqlite.Lock), held
// until the returned release is called or the process ends: a second
// `baoguan serve` on the same file is refused at start instead of running
// the first one's jobs beside it. PostgreSQL is made for several instances
// and takes no lock. CLI commands do not take it either: their writes
// (merchant key, merchant set, …) are legitimate while a server runs.
func lockServer(cfg *Config) (release func() error, err error) {
	if cfg.DBKind == dbPostgres {
		return func() error { return nil }, nil
	}
	if err := cfg.checkDBDir(); err != nil {
		return nil, err
	}
	release, err = sqlite.Lock(cfg.DBPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.name("db"), err)
	}
	return release, nil
}

// migrateDB applies the pending migrations of the configured database.
func migrateDB(ctx context.Context, cfg *Config) (int, error) {
	if cfg.DBKind == dbPostgres {
		return postgres.Migrate(ctx, cfg.DB)
	}
	return sqlite.Migrate(ctx, cfg.DBPath)
}

// errNoSharedKey is why a PostgreSQL database needs BAOGUAN_DATA_KEY.
var errNoSharedKey = errors.New(keyring.EnvVar + " must be set with PostgreSQL: every instance on the database must seal and open " +
	"personal data with the same keys, so they come from the environment, not from a key file " +
	"(create one with: head -c 32 /dev/urandom | base64)")

// loadKeys returns the data keys: BAOGUAN_DATA_KEY when set, else, for
// SQLite, the key file, which is created with the database. A SQLite
// database that exists without its key file is refused rather than given a
// new key: new rows would be sealed under a key the old rows do not know,
// and the operator would learn of the lost key file only when the old rows
// fail to open. PostgreSQL has no file beside it to keep keys in, and its
// instances must share them: there BAOGUAN_DATA_KEY is required.
func loadKeys(cfg *Config) (*keyring.Ring, error) {
	if cfg.DBKind == dbPostgres {
		if cfg.DataKey == "" {
			return nil, errNoSharedKey
		}
		return keyring.Load("", cfg.DataKey)
	}
	if cfg.DataKey == "" && !exists(cfg.KeyFile) && dbHasData(cfg.DBPath) {
		return nil, fmt.Errorf("%s: database %q exists but its key file %q does not; restore the key file or set %s "+
			"(a new key could not read the data already encrypted)", cfg.name("db"), cfg.DBPath, cfg.KeyFile, keyring.EnvVar)
	}
	return keyring.Load(cfg.KeyFile, cfg.DataKey)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func dbHasData(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Size() > 0
}

// registerStoreMetrics exposes how the store commits. For SQLite: the
// group-commit transactions, the Update calls they carried, the time
// spent in COMMIT, and the fsyncs that made them durable. PostgreSQL's store commits groups too; its rollbacks,
// deadlock retries and the pool's waiting time are added.
func registerStoreMetrics(reg prometheus.Registerer, store baoguan.Store) {
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	switch db := store.(type) {
	case *sqlite.DB:
		reg.MustRegister(
			counter("baoguan_store_commits_total", "Write transactions committed (groups).",
				func() float64 { return float64(db.Stats().Groups) }),
			counter("baoguan_store_updates_total", "Update calls committed; divided by commits, the mean group size.",
				func() float64 { return float64(db.Stats().Calls) }),
			counter("baoguan_store_commit_seconds_total", "Time spent in COMMIT (writing the WAL).",
				func() float64 { return db.Stats().CommitTime.Seconds() }),
			counter("baoguan_store_syncs_total", "fsyncs of the WAL that made commits durable (--sync FULL), beside the writer.",
				func() float64 { return float64(db.Stats().Syncs) }),
			counter("baoguan_store_sync_seconds_total", "Time spent in fsyncs of the WAL.",
				func() float64 { return db.Stats().SyncTime.Seconds() }),
			counter("baoguan_store_view_waits_total", "Reads that waited for the fsync of a commit made just before they began (--sync FULL).",
				func() float64 { return float64(db.Stats().ViewWaits) }),
			counter("baoguan_store_view_wait_seconds_total", "Time reads spent waiting for fsyncs.",
				func() float64 { return db.Stats().ViewWait.Seconds() }),
			counter("baoguan_store_replays_total", "Groups rolled back and run again with a savepoint per Update because an Update run without one failed.",
				func() float64 { return float64(db.Stats().Replays) }),
			counter("baoguan_store_checkpoints_total", "Checkpoints run beside the writer, copying the WAL into the database file.",
				func() float64 { return float64(db.Stats().Checkpoints) }),
			counter("baoguan_store_checkpoint_seconds_total", "Time spent in checkpoints beside the writer.",
				func() float64 { return db.Stats().CheckpointTime.Seconds() }),
		)
	case *postgres.DB:
		reg.MustRegister(
			counter("baoguan_store_commits_total", "Write transactions committed (groups).",
				func() float64 { return float64(db.Stats().Commits) }),
			counter("baoguan_store_updates_total", "Update calls committed; divided by commits, the mean group size.",
				func() float64 { return float64(db.Stats().Updates) }),
			counter("baoguan_store_commit_seconds_total", "Time spent in COMMIT (the WAL flush).",
				func() float64 { return db.Stats().CommitTime.Seconds() }),
			counter("baoguan_store_rollbacks_total", "Write transactions rolled back.",
				func() float64 { return float64(db.Stats().Rollbacks) }),
			counter("baoguan_store_deadlock_retries_total", "Update calls run again alone after a deadlock in their group.",
				func() float64 { return float64(db.Stats().Retries) }),
			counter("baoguan_store_pool_wait_seconds_total", "Time spent waiting for a free pooled connection; if it grows, raise pool_max_conns.",
				func() float64 { return db.Stats().PoolWait.Seconds() }),
		)
	}
}

// warnStore logs what the operator should fix about the database.
func warnStore(log *slog.Logger, store baoguan.Store) {
	if db, ok := store.(*postgres.DB); ok && db.SelfMaintained() {
		log.Warn("PostgreSQL autovacuum is off: baoguan analyzes and vacuums its own tables meanwhile, " +
			"but the server should run autovacuum (see docs/operations.md)")
	}
}
