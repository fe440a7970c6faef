package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// checkpointer copies the WAL's frames into the database file beside the
// writer, on a connection of its own, so that the writer's own checkpoint
// (wal_autocheckpoint, which runs inside a COMMIT once the WAL holds
// 4,000 pages) finds most of the WAL copied already: it copies only the
// frames written since the checkpointer's run, and its fsync of the
// database file writes only their pages. The writer's checkpoint stays,
// because only it can end one with nothing left to copy, which is what
// lets the next transaction start the WAL over from its beginning instead
// of growing it: a checkpoint beside a writer that goes on appending never
// catches up.
//
// A run is PASSIVE: it copies what no reader still needs, never waits for
// the writer nor a reader, and syncs the WAL before it copies and the
// database file after, as the writer's checkpoint does (so it never makes
// the file hold a group that could still be lost). It runs once the WAL
// holds checkpointAt frames not yet copied, about once a round of the
// WAL: every run copies the pages changed since the last (each at its
// last version), and the pages every group changes (the indexes' last
// leaves, the file's header) again at every run, so runs closer together
// copy more (a run every 50 ms copied about twice the pages the writer's
// checkpoint alone did; benchmarks.md, change 53). It learns how many
// frames wait from the WAL's index (the -shm file's header, whose layout
// SQLite documents in walformat.html), read after the writer commits, at
// most every checkpointPoll; when that file cannot be read it runs every
// checkpointEvery instead. A run that fails on I/O stops the store as a
// failed fsync of the syncer does (with FULL); other failures (the
// database locked by another process's checkpoint) leave the copy to the
// next run or to the writer.
type checkpointer struct {
	c    *sql.DB
	shm  string        // the WAL's index
	kick chan struct{} // the writer committed (buffer of one)
	stop chan struct{}
	done chan struct{}
	// failed is told a run's I/O error (the syncer's fail with FULL).
	failed func(error)

	runs, frames, nanos atomic.Int64
	started             atomic.Bool
}

var (
	// checkpointAt is how many frames of the WAL not yet copied make the
	// checkpointer run: three quarters of the writer's round of 4,000,
	// which leaves the writer's checkpoint the last thousand.
	checkpointAt uint32 = 3000
	// checkpointPoll is the least time between two reads of the WAL's
	// index; checkpointEvery the least time between two runs when the
	// index cannot be read.
	checkpointPoll  = 10 * time.Millisecond
	checkpointEvery = 50 * time.Millisecond
)

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
	c, err := openOne(ctx, path, d, false)
	if err != nil {
		return nil, err
	}
	return &checkpointer{c: c, shm: path + "-shm", kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		failed: failed}, nil
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
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var last time.Time // the last read of the index (or run, without it)
	known := true      // whether that read could read the index
	for {
		select {
		case <-cp.stop:
			return
		case <-cp.kick:
		}
		// A read of the index costs a system call: at most one every
		// checkpointPoll, however often the writer commits.
		every := checkpointPoll
		if !known {
			every = checkpointEvery
		}
		if d := every - time.Since(last); d > 0 {
			t.Reset(d)
			select {
			case <-cp.stop:
				return
			case <-t.C:
			}
		}
		var waiting uint32
		waiting, known = walWaiting(&f, cp.shm)
		last = time.Now()
		if known && waiting < checkpointAt {
			continue
		}
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

// walWaiting reads from the WAL's index (the -shm file at path, kept
// open in *f) how many frames of the WAL are not yet copied into the
// database file: mxFrame, the last valid frame (byte 16 of the index's
// header), less nBackfill, the frames copied (byte 96, the checkpoint
// information after the header's two copies), both 32-bit integers in
// the machine's byte order (walformat.html). The header is read without
// SQLite's locks, so a value may be one transaction old or torn: it only
// says when to run. known is false when the file cannot be read.
func walWaiting(f **os.File, path string) (waiting uint32, known bool) {
	if *f == nil {
		var err error
		if *f, err = os.Open(path); err != nil {
			*f = nil
			return 0, false
		}
	}
	var b [100]byte
	if n, _ := (*f).ReadAt(b[:], 0); n < len(b) {
		(*f).Close()
		*f = nil
		return 0, false
	}
	mx, backfill := binary.NativeEndian.Uint32(b[16:]), binary.NativeEndian.Uint32(b[96:])
	if backfill > mx {
		return 0, true // the WAL started over since the copy
	}
	return mx - backfill, true
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
