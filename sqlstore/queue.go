package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/baoguan/baoguan"
)

// Queue is how both stores commit in groups: Update hands its function to
// the store's writer goroutines through a Queue, and a writer runs the
// calls it takes together in one transaction (each in a savepoint of its
// own) and answers each caller with its own outcome. See the sqlite and
// postgres package comments.
type Queue struct {
	mu     sync.RWMutex // guards closed against sends on calls
	closed bool
	calls  chan *Call
}

// Call is one Update waiting for a writer.
type Call struct {
	Fn    func(baoguan.Tx) error
	Long  bool         // marked baoguan.LongUpdate: a store with several writers runs it alone
	state atomic.Int32 // callQueued → callTaken by a writer, or → callDropped by a cancelled caller
	done  chan error   // buffered: the writer never waits for the caller
}

const (
	callQueued int32 = iota
	callTaken
	callDropped
)

// NewQueue returns a queue holding up to n calls before Submit waits; a
// buffer several groups deep keeps callers from blocking on the send while
// a writer is busy committing.
func NewQueue(n int) *Queue { return &Queue{calls: make(chan *Call, n)} }

// Submit queues fn and waits for its outcome: fn's error, the group's
// commit error, ctx's error when ctx ends before a writer takes the call
// (the call is then dropped and never runs), or closed once the queue is
// closed. A call a writer has taken is waited for even if ctx ends: its
// outcome is decided by the group, and the caller must learn whether it
// committed.
func (q *Queue) Submit(ctx context.Context, fn func(baoguan.Tx) error, closed error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &Call{Fn: fn, Long: baoguan.IsLongUpdate(ctx), done: make(chan error, 1)}
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		return closed
	}
	select {
	case q.calls <- c:
		q.mu.RUnlock()
	case <-ctx.Done():
		q.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		if c.state.CompareAndSwap(callQueued, callDropped) {
			return ctx.Err()
		}
		return <-c.done
	}
}

// Calls is what the writers take calls from; it is closed by Close.
func (q *Queue) Calls() <-chan *Call { return q.calls }

// Closed reports whether Close was called.
func (q *Queue) Closed() bool {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.closed
}

// Close stops accepting calls; those already queued stay for the writers.
// It reports false when the queue was closed already.
func (q *Queue) Close() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.closed = true
	close(q.calls)
	return true
}

// Take claims c for a writer: false when its caller gave up waiting.
func (c *Call) Take() bool { return c.state.CompareAndSwap(callQueued, callTaken) }

// Answer gives the caller of a taken call its outcome.
func (c *Call) Answer(err error) { c.done <- err }

// Len is how many calls wait for a writer.
func (q *Queue) Len() int { return len(q.calls) }
