package core

import (
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// freshRows keeps the orders pushes have just stored, with their
// declarations, as they were written, for the job batch that pays them:
// a pushed order whose payment is queued on it (payments.go) is taken by
// a batch milliseconds later, and the batch would otherwise read back
// what the push has just written (on SQLite inside the single writer, the
// batch's largest read).
//
// A push keeps its order from inside its transaction, since the batch
// may run as soon as that commits (on SQLite in the writer's next group,
// before the push is answered), and forgets it when that run of its
// transaction does not commit. A batch takes a kept order, once, only
// when it claimed the order's payment from the order's own queue
// (Tx.DueOrderPays) and the claim's stamp matches — the order's merchant,
// creation and due time, read with the claim — so that a row another
// order took the id of (SQLite reuses the id of a row rolled back) is
// read from the store. The batch's store then holds the rows as if it had
// read them (rowAdopter). A kept row may be out of date (the order
// changed after its push): the batch writes the order when it ends its
// payment, and that write, checked against the version the row was kept
// at, then fails as stale and the batch is replayed with every row read
// from the store, as a batch whose rows another transaction changed is.
//
// At most freshRoom orders are kept. When the room is full a push keeps
// nothing, unless the oldest kept order was created freshAge or more
// before its own: that one is dropped (its batch, if any, reads it) and
// the push takes its place. The oldest are the ones batches take next,
// since a payment queued on its order is due at the push: behind a
// backlog (pushes running ahead of the pipeline, --intake-share) the room
// is held by the orders its next batches pay, each kept from its push to
// its batch, while the newest wait by their rows alone. Dropping the
// oldest instead kept the newest, which the backlog's last batches took
// seconds later: every kept order stayed on the heap, marked by every
// collection, until the runner had read all the others back
// (benchmarks.md, change 75). freshAge lets orders no batch of this
// process takes (another process's runner paid them) make room.
//
// The ids kept wait in a ring, oldest first, with room for twice as many
// as are kept, since an order taken out of turn frees its slot only once
// those before it have gone: when the ring is full, its oldest order,
// passed by freshRoom others kept after it, is dropped whatever its age.
type freshRows struct {
	mu   sync.Mutex
	m    map[int64]*freshOrder
	ring []int64 // ids, in the order they were kept: n from head
	head int     // the oldest slot of the ring
	n    int     // slots in use, including those of orders taken since
}

// freshOrder is a pushed order and its declarations, as committed. Once
// taken, o and ds are the batch's (batchTx.preload): id, set by keep and
// never written after, is what forget reads.
type freshOrder struct {
	o    baoguan.Order
	ds   []baoguan.Declaration
	img  any // the push's store's images of the rows (rowImager), or nil
	id   int64
	slot int // where it is in the ring
}

// freshRoom bounds the orders kept: four full batches' worth, about 3 KB
// each with their images. Pushes at the pipeline's pace have fewer than
// 100 kept at a time; behind a backlog each kept order is marked by every
// collection from its push to its batch, and a room of 4,096 cost more of
// the collector than the reads it spared (benchmarks.md, change 75).
// freshAge is how long the oldest holds its place.
const (
	freshRoom = 1024
	freshAge  = 10 * time.Second
)

// keep keeps o and ds, as written by a transaction that is to commit, for
// the batch that pays o, with that transaction's images of them (img, nil
// when it keeps none: see rowImager), and returns what it kept (for
// forget), or nil when it had no room for them. The structs are copied;
// the slices and maps inside them are shared, which is safe because
// nothing modifies them in place (batchTx).
func (f *freshRows) keep(o *baoguan.Order, ds []baoguan.Declaration, img any) *freshOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[int64]*freshOrder, freshRoom)
		f.ring = make([]int64, 2*freshRoom)
	}
	f.popGone()
	if len(f.m) >= freshRoom || f.n == len(f.ring) {
		if f.n < len(f.ring) && o.CreatedAt.Sub(f.at(f.head).o.CreatedAt) < freshAge {
			return nil
		}
		delete(f.m, f.ring[f.head])
		f.pop()
		f.popGone()
	}
	slot := (f.head + f.n) % len(f.ring)
	// The map holds a pointer: the entry is allocated once, where a map
	// of the 728-byte entries copied each into an allocation of its own
	// (the entry escapes anyway: forget's pointer).
	e := &freshOrder{o: *o, ds: append([]baoguan.Declaration(nil), ds...), img: img, id: o.ID, slot: slot}
	f.m[o.ID] = e
	f.ring[slot] = o.ID
	f.n++
	return e
}

// at is the order kept in the ring's slot i, or nil when it has been
// taken or forgotten (the id may be kept again since, in another slot:
// SQLite reuses the id of a row rolled back).
func (f *freshRows) at(i int) *freshOrder {
	if e, ok := f.m[f.ring[i]]; ok && e.slot == i {
		return e
	}
	return nil
}

// popGone frees the ring's oldest slots as long as their orders have been
// taken or forgotten.
func (f *freshRows) popGone() {
	for f.n > 0 && f.at(f.head) == nil {
		f.pop()
	}
}

// pop frees the ring's oldest slot.
func (f *freshRows) pop() {
	f.ring[f.head] = 0
	f.head = (f.head + 1) % len(f.ring)
	f.n--
}

// forget drops what keep returned (nil: nothing), unless it was taken or
// another order has been kept under its id since.
func (f *freshRows) forget(k *freshOrder) {
	if k == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m[k.id] == k {
		delete(f.m, k.id)
	}
}

// take returns the kept order id of merchant, with its declarations, when
// it was created at created and its payment is queued on it due at due
// (the claim's stamp: see keep), and forgets it.
func (f *freshRows) take(id, merchant int64, created, due time.Time) (*freshOrder, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[id]
	if !ok {
		return nil, false
	}
	delete(f.m, id)
	if e.o.MerchantID != merchant || !e.o.CreatedAt.Equal(created) || !e.o.PayDueAt.Equal(due) {
		return nil, false
	}
	return e, true
}

// rowAdopter is a Tx that takes orders and declarations the caller holds
// as committed as if it had read them (sqlstore.Tx.AdoptRows): its later
// updates of them write only what changed.
type rowAdopter interface {
	AdoptRows(os []baoguan.Order, ds []baoguan.Declaration) error
}

// rowImager is a Tx that gives the images it holds of the rows it wrote
// (sqlstore.Tx.RowImages), which a push keeps with its rows, and takes
// them in a later transaction as AdoptRows takes the rows, without
// building them again from the rows: on SQLite, a pushed order's values
// were built three times in the single writer (its insert, its batch's
// adoption, its update as paid), and the adoption's is the one this
// spares.
type rowImager interface {
	RowImages(o *baoguan.Order, ds []baoguan.Declaration) any
	AdoptImages(imgs []any) error
}
