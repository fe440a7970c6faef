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
// At most freshRoom orders are kept; past them the oldest is dropped and
// its batch reads it.
type freshRows struct {
	mu   sync.Mutex
	m    map[int64]*freshOrder
	ring []int64 // ids, in the order they were kept
	next int     // the ring's slot the next one takes
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

// freshRoom bounds the orders kept: a few batches' worth, about 2 KB each.
const freshRoom = 4096

// keep keeps o and ds, as written by a transaction that is to commit, for
// the batch that pays o, with that transaction's images of them (img, nil
// when it keeps none: see rowImager), and returns what it kept (for
// forget). The structs are copied; the slices and maps inside them are
// shared, which is safe because nothing modifies them in place (batchTx).
func (f *freshRows) keep(o *baoguan.Order, ds []baoguan.Declaration, img any) *freshOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[int64]*freshOrder, freshRoom)
		f.ring = make([]int64, freshRoom)
	}
	if old := f.ring[f.next]; old != 0 {
		if e, ok := f.m[old]; ok && e.slot == f.next {
			delete(f.m, old)
		}
	}
	// The map holds a pointer: the entry is allocated once, where a map
	// of the 728-byte entries copied each into an allocation of its own
	// (the entry escapes anyway: forget's pointer).
	e := &freshOrder{o: *o, ds: append([]baoguan.Declaration(nil), ds...), img: img, id: o.ID, slot: f.next}
	f.m[o.ID] = e
	f.ring[f.next] = o.ID
	f.next = (f.next + 1) % freshRoom
	return e
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
