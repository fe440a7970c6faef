package core

import (
	"context"
	"strings"
	"sync"
)

// authReads lets concurrent AuthAllowed calls that check the same buckets
// share one read of them, as concurrent Updates share a commit. Every
// request reads its failed-authentication buckets before its credentials
// are checked; on PostgreSQL that read is a round trip and a statement of
// its own, about as much as the rest of a push's own statements cost the
// database. Nothing is cached: a call shares only a read that begins after
// it arrived, so it sees every failure, of this instance or another,
// committed before it arrived — what a read of its own would see. While a
// read of a bucket set runs, the calls that arrive wait for it to end and
// then share the next one, begun by the first of them (so a call waits at
// most for the read running when it arrived and for its own); a call that
// finds no read running begins its own at once.
type authReads struct {
	mu   sync.Mutex
	sets map[string]*authSet
}

// authSet is the reads of one bucket set.
type authSet struct {
	running *authRead // the read begun and not yet ended, if any
	next    *authRead // the read the calls arriving now share; it begins when running ends
}

// authRead is one read shared by the calls that joined it.
type authRead struct {
	done  chan struct{}
	wait  float64
	err   error
	calls int // the calls sharing it (tests)
}

// authSetKey names the bucket set bs for authReads.
func authSetKey(bs []bucket) string {
	if len(bs) == 1 {
		return bs[0].key
	}
	keys := make([]string, len(bs))
	for i, b := range bs {
		keys[i] = b.key
	}
	return strings.Join(keys, "\x00")
}

// read returns the outcome of a read of the bucket set named key begun
// after the call: read runs it (with a context that is not cancelled, since
// other calls may share it) and returns how long to wait (0: allowed). ctx
// ending stops a call's wait for a read it shares, not the read.
func (a *authReads) read(ctx context.Context, key string, read func(context.Context) (float64, error)) (float64, error) {
	a.mu.Lock()
	if a.sets == nil {
		a.sets = make(map[string]*authSet)
	}
	set := a.sets[key]
	if set == nil {
		set = &authSet{}
		a.sets[key] = set
	}
	if r := set.next; r != nil {
		// A read not yet begun: share it.
		r.calls++
		a.mu.Unlock()
		select {
		case <-r.done:
			return r.wait, r.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	r := &authRead{done: make(chan struct{}), calls: 1}
	if prev := set.running; prev != nil {
		// Calls arriving until the running read ends share this one.
		set.next = r
		a.mu.Unlock()
		<-prev.done
		a.mu.Lock()
		set.next = nil
	}
	set.running = r
	a.mu.Unlock()

	r.wait, r.err = read(context.WithoutCancel(ctx))

	a.mu.Lock()
	if set.running == r {
		set.running = nil
	}
	if set.running == nil && set.next == nil && a.sets[key] == set {
		delete(a.sets, key)
	}
	a.mu.Unlock()
	close(r.done)
	return r.wait, r.err
}
