package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baoguan/baoguan/sqlstore"
)

// ErrSyncFailed is returned, wrapped with the cause, by every Update whose
// group an fsync of the WAL failed to make durable, and by every Update and
// View after that: the store has stopped, since what is on disk is no
// longer known. Restart the process; SQLite then recovers the file from what
// the disk holds.
var ErrSyncFailed = errors.New("sqlite: writing the WAL to disk failed; the store has stopped (restart the process)")

// pending is a group the writer has ended whose callers wait for the
// syncer: their answers are given once the group is durable.
type pending struct {
	seq   uint64 // commit sequence number the group must be durable up to
	calls []*sqlstore.Call
	errs  []error // each caller's outcome
	// handed: the group's new due events, handed off once it is durable
	// (cancelled if the fsync fails); nil when none.
	handed *sqlstore.Handed
}

// syncer makes the writer's committed groups durable with
// synchronous=FULL (see the package comment): the write connection runs
// synchronous=NORMAL, so COMMIT writes the group's frames to the WAL file
// without waiting for the disk, and the syncer fsyncs the file beside the
// writer, then answers the callers of every group committed before the
// fsync started.
type syncer struct {
	path string               // the WAL file
	f    *os.File             // open on path (reopened when path names another file)
	sync func(*os.File) error // syncData; tests replace it
	in   chan *pending
	done chan struct{} // closed when run has answered every group and returned

	// committed counts the groups whose COMMIT has begun; durable the
	// groups an fsync has covered. durable ≤ committed.
	committed, durable atomic.Uint64
	syncs, syncNanos   atomic.Int64
	waits, waitNanos   atomic.Int64 // Views that waited for an fsync, and how long

	mu   sync.Mutex
	wake chan struct{} // closed (and replaced) when durable grows or err is set
	err  error         // the fsync failure that stopped the store
}

func newSyncer(path string, sync func(*os.File) error) *syncer {
	if sync == nil {
		sync = syncData
	}
	return &syncer{path: path, sync: sync, in: make(chan *pending, 64), done: make(chan struct{}), wake: make(chan struct{})}
}

// run answers the groups handed to it, one fsync for all those waiting,
// until in is closed.
func (s *syncer) run() {
	defer close(s.done)
	var batch []*pending
	for p := range s.in {
		batch = append(batch[:0], p)
	drain:
		for {
			select {
			case p, ok := <-s.in:
				if !ok {
					break drain
				}
				batch = append(batch, p)
			default:
				break drain
			}
		}
		// Every group of batch has committed before this fsync starts, so
		// it covers them all (fsync writes every page of the file that
		// is not yet on disk, whoever wrote it).
		last := batch[len(batch)-1].seq
		err := s.failure()
		if err == nil && last > s.durable.Load() {
			if serr := s.syncWAL(); serr != nil {
				err = s.fail(serr)
			} else {
				s.advance(last)
			}
		}
		for _, p := range batch {
			if err != nil {
				p.handed.Cancel()
			} else {
				p.handed.Committed()
			}
			for i, c := range p.calls {
				if err != nil {
					c.Answer(err)
				} else {
					c.Answer(p.errs[i])
				}
			}
		}
		clear(batch) // drop references to answered calls
	}
	if s.f != nil {
		s.f.Close()
	}
}

// syncWAL fsyncs the WAL file. The file is opened by path and kept open;
// SQLite deletes the WAL only when its last connection to the database
// closes (after a checkpoint that synced everything into the database
// file), so a file that is gone has nothing left to sync, and a new file
// at the path is opened instead. SQLite opens the WAL without POSIX locks,
// so another descriptor on it (and closing that) disturbs nothing.
func (s *syncer) syncWAL() error {
	t0 := time.Now()
	fi, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.f != nil {
		if cur, err := s.f.Stat(); err != nil || !os.SameFile(cur, fi) {
			s.f.Close()
			s.f = nil
		}
	}
	if s.f == nil {
		if s.f, err = os.OpenFile(s.path, os.O_RDWR, 0); err != nil {
			return err
		}
	}
	if err := s.sync(s.f); err != nil {
		return err
	}
	s.syncs.Add(1)
	s.syncNanos.Add(int64(time.Since(t0)))
	return nil
}

// advance records that every group up to seq is durable and wakes the
// Views waiting for it.
func (s *syncer) advance(seq uint64) {
	s.mu.Lock()
	s.durable.Store(seq)
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// fail stops the store after a failed fsync and returns the error every
// caller gets from now on. A failed fsync cannot be retried: Linux may
// have dropped the pages it could not write and report the next fsync a
// success, so whether the group is on disk is not known.
func (s *syncer) fail(cause error) error {
	err := fmt.Errorf("%w: %s: %w", ErrSyncFailed, s.path, cause)
	s.mu.Lock()
	s.err = err
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
	return err
}

// woken returns a channel closed when durable next grows or the store
// stops.
func (s *syncer) woken() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// failure is the error that stopped the store, or nil.
func (s *syncer) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// wait returns once every group up to seq is durable, or the error that
// stopped the store, or ctx's.
func (s *syncer) wait(ctx context.Context, seq uint64) error {
	if s.durable.Load() >= seq {
		return nil
	}
	t0 := time.Now()
	defer func() {
		s.waits.Add(1)
		s.waitNanos.Add(int64(time.Since(t0)))
	}()
	for s.durable.Load() < seq {
		s.mu.Lock()
		err, wake := s.err, s.wake
		s.mu.Unlock()
		if err != nil {
			return err
		}
		if s.durable.Load() >= seq {
			break // it grew before wake was read
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
