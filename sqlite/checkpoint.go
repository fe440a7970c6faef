package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// checkpointer copies the WAL's frames into the database file beside the
// writer, on a connection of its own, so that the writer's own checkpoint
// (wal_autocheckpoint, which runs inside a COMMIT once the WAL holds
// 4,000 pages) finds most of the WAL copied already: it copies only the
// frames written since the checkpointer's last run, and its fsync of the
// database file writes only their pages. The writer's checkpoint stays,
// because only it can end one with nothing left to copy, which is what
// lets the next transaction start the WAL over from its beginning instead
// of growing it: a checkpoint beside a writer that goes on appending never
// catches up.
//
// A run is PASSIVE: it copies what no reader still needs, never waits for
// the writer nor a reader, and syncs the WAL before it copies and the
// database file after, as the writer's checkpoint does (so it never makes
// the file hold a group that could still be lost). It runs when the
// writer has committed since the last run, at most once every
// checkpointEvery. A run that fails on I/O stops the store as a failed
// fsync of the syncer does (with FULL); other failures (the database
// locked by another process's checkpoint) leave the copy to the next run
// or to the writer.
type checkpointer struct {
	c     *sql.DB
	kick  chan struct{} // the writer committed (buffer of one)
	stop  chan struct{}
	done  chan struct{}
	every time.Duration
	// failed is told a run's I/O error (the syncer's fail with FULL).
	failed func(error)

	runs, frames, nanos atomic.Int64
	started             atomic.Bool
}

// checkpointEvery is the least time between two runs of the
// checkpointer: at a few thousand orders a second the WAL grows by about a
// thousand pages in that time, a quarter of the writer's own interval.
const checkpointEvery = 50 * time.Millisecond

// openCheckpointer opens the checkpointer's connection on the database at
// path (already in WAL mode); start starts it.
func openCheckpointer(ctx context.Context, path string, failed func(error)) (*checkpointer, error) {
	d, err := dsn(path, url.Values{
		// NORMAL: a checkpoint syncs the WAL and the database file
		// (only OFF skips that); the writer runs with it too.
		"_pragma": {"busy_timeout(5000)", "synchronous(NORMAL)"},
	})
	if err != nil {
		return nil, err
	}
	c, err := sql.Open("sqlite", d)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxLifetime(0)
	c.SetConnMaxIdleTime(0)
	if err := c.PingContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &checkpointer{c: c, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		every: checkpointEvery, failed: failed}, nil
}

// checkpointBeside is whether Open starts the checkpointer (benchmarks
// compare without it).
var checkpointBeside = true

// start starts the checkpointer's runs.
func (cp *checkpointer) start() {
	if !checkpointBeside {
		return
	}
	cp.started.Store(true)
	go cp.run()
}

// committed tells the checkpointer that the writer committed; it never
// blocks.
func (cp *checkpointer) committed() {
	if cp == nil {
		return
	}
	select {
	case cp.kick <- struct{}{}:
	default:
	}
}

func (cp *checkpointer) run() {
	defer close(cp.done)
	t := time.NewTimer(0)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-cp.stop:
			return
		case <-cp.kick:
		}
		if d := cp.every - time.Since(last); d > 0 {
			t.Reset(d)
			select {
			case <-cp.stop:
				return
			case <-t.C:
			}
		}
		last = time.Now()
		var busy, log, done int64
		err := cp.c.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
		if err != nil {
			if sqliteCode(err)&0xff == sqlite3.SQLITE_IOERR && cp.failed != nil {
				cp.failed(fmt.Errorf("checkpoint: %w", err))
				return
			}
			continue
		}
		cp.runs.Add(1)
		cp.frames.Store(done)
		cp.nanos.Add(int64(time.Since(last)))
	}
}

// close stops the checkpointer and closes its connection; call it once
// the writer has stopped.
func (cp *checkpointer) close() error {
	if cp == nil {
		return nil
	}
	close(cp.stop)
	if cp.started.Load() {
		<-cp.done
	}
	return cp.c.Close()
}
