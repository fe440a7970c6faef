package core

import (
	"time"

	"github.com/baoguan/baoguan"
)

// SetAfterBatchChunk makes CreateBatch call fn after each chunk it commits.
func SetAfterBatchChunk(s *Service, fn func(b *baoguan.Batch)) { s.afterBatchChunk = fn }

// ChunksAgain is how many batch chunks were queued again because the
// chunk before them had not committed (errChunkAhead).
func ChunksAgain(s *Service) int64 { return s.chunksAgain.Load() }

// SlowChunks is how many batch chunks were stored one order at a time.
func SlowChunks(s *Service) int64 { return s.slowChunks.Load() }

// NewBatchTx is a batch's transaction over tx, its writes of cached rows
// kept for Flush (the fast path of a batch).
func NewBatchTx(tx baoguan.Tx) baoguan.Tx { return newBatchTx(tx, true) }

// Flush writes a NewBatchTx's dirty rows.
func Flush(tx baoguan.Tx) error { return tx.(*batchTx).flush() }

// SetHandoffRoom sets how many handed-off events the deliverer keeps
// waiting with their bodies, and ids how many in all (the others by their
// id alone); more are left to the events table.
func SetHandoffRoom(s *Service, n, ids int) { s.handoffRoom, s.handoffIDs = n, ids }

// TableReads is how many times the deliverer read the events table for
// due events.
func TableReads(s *Service) int64 { return s.tableReads.Load() }

// AuthReadsWaiting is how many AuthAllowed calls wait for a read of their
// buckets that has not begun (authReads).
func AuthReadsWaiting(s *Service) int {
	s.authReads.mu.Lock()
	defer s.authReads.mu.Unlock()
	n := 0
	for _, set := range s.authReads.sets {
		if set.next != nil {
			n += set.next.calls
		}
	}
	return n
}

// HoldPush counts an order push in flight, as between its checks and its
// commit, until release is called.
func HoldPush(s *Service) (release func()) { return s.intakeGate() }

// SetBeforeCombinedWrite makes each combined write of order pushes call fn
// before it is handed to the store.
func SetBeforeCombinedWrite(s *Service, fn func()) { s.beforeCombinedWrite = fn }

// QueuedPushes is how many order pushes wait for a combined write.
func QueuedPushes(s *Service) int {
	s.combine.mu.Lock()
	defer s.combine.mu.Unlock()
	return len(s.combine.queue)
}

// SetCombinePause sets how long pushes are stored alone after a combined
// write failed.
func SetCombinePause(s *Service, d time.Duration) { s.combinePause = d }

// FreshKept is how many pushed orders are kept for the batches that pay
// them (freshRows).
func FreshKept(s *Service) int {
	s.fresh.mu.Lock()
	defer s.fresh.mu.Unlock()
	return len(s.fresh.m)
}

// FreshOrder is the pushed order id as kept for the batch that pays it,
// with its declarations.
func FreshOrder(s *Service, id int64) (baoguan.Order, []baoguan.Declaration, bool) {
	s.fresh.mu.Lock()
	defer s.fresh.mu.Unlock()
	e, ok := s.fresh.m[id]
	if !ok {
		return baoguan.Order{}, nil, false
	}
	return e.o, e.ds, true
}

// FreshImages is what the push's store gave to keep with the pushed order
// id's rows (rowImager), nil when nothing.
func FreshImages(s *Service, id int64) any {
	s.fresh.mu.Lock()
	defer s.fresh.mu.Unlock()
	if e, ok := s.fresh.m[id]; ok {
		return e.img
	}
	return nil
}

// RenderLater keeps e in a NewBatchTx for its flush, its body rendered from
// n by f (batchTx.renderLater).
func RenderLater(tx baoguan.Tx, f Format, n Notice, e *baoguan.Event) {
	tx.(*batchTx).renderLater(f, n, e)
}

// RenderedEvents ends a NewBatchTx's renderer as its flush does and
// returns the events kept, with their bodies.
func RenderedEvents(tx baoguan.Tx) ([]baoguan.Event, error) {
	bt := tx.(*batchTx)
	rd := bt.rend
	bt.rend = nil
	_, err := rd.wait()
	return bt.events, err
}

// RenderLag is how many notices waiting for a batch's renderer goroutine
// make the batch render the next ones itself.
const RenderLag = renderLag
