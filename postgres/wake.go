package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is the NOTIFY channel on which instances announce new jobs. It is
// per database, so stores on different databases never hear each other.
const channel = "baoguan_jobs"

// Waker returns a channel that receives a value when another instance on
// the same database has committed jobs that are due, and after the store
// (re)connects its listener, when announcements may have been missed. The
// job runner selects on it beside its own wake-up; polling stays the
// fallback for everything a notification can miss.
func (db *DB) Waker() <-chan struct{} { return db.wake }

func newInstanceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// notifyQuery is the notifier's transaction: one simple query (several
// statements, no parameters) that announces jobs under the instance's id.
func notifyQuery(id string) string {
	return "BEGIN; SET LOCAL synchronous_commit TO OFF; SELECT pg_notify('" + channel + "', '" + id + "'); COMMIT"
}

func (db *DB) wakeUp() {
	select {
	case db.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (db *DB) announceJobs() {
	select {
	case db.announce <- struct{}{}:
	default: // the notifier will send one anyway
	}
}

// listen keeps a connection of its own LISTENing on channel, outside the
// pool (a pooled connection would go on collecting notifications for
// whoever borrows it next), and reconnects with backoff when it drops.
func (db *DB) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		_ = db.listenOnce(ctx)
		db.listening.Store(false)
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond // it had been healthy for a while
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context) error {
	c, err := pgx.ConnectConfig(ctx, db.cfg.ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	db.listening.Store(true)
	// Jobs announced while no connection was listening were not heard.
	db.wakeUp()
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload != db.id { // this process's own runner was woken directly
			db.wakeUp()
		}
	}
}

// notifier sends the announcements: at most one per notifyEvery however
// many transactions enqueued meanwhile, each in a transaction of its own
// with synchronous_commit off. A notifying transaction must have a
// transaction id and commit, and PostgreSQL holds a database-wide lock on
// notifications from then until its commit is flushed; done in every
// enqueueing transaction, that would serialise their WAL flushes.
func (db *DB) notifier(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-db.announce:
		}
		// One simple query, one round trip (it was four: BEGIN, SET,
		// the notify, COMMIT); the id is hex digits, safe as a literal.
		_, err := db.pool.Exec(ctx, db.notifyQuery)
		_ = err // the other instances will poll; nothing to do about it here
		select {
		case <-ctx.Done():
			return
		case <-time.After(db.notifyEvery):
		}
	}
}
