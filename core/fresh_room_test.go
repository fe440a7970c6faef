package core

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// TestFreshRoomKeepsTheOldest: with the room for pushed orders full, a
// push keeps nothing, and the orders kept stay for their batches — the
// oldest, which a backlog's next batches pay — until one is taken (its
// place goes to the next push) or the oldest has waited freshAge (it
// makes way). A room that dropped its oldest for each new push kept the
// backlog's newest instead, for its last batches (benchmarks.md, change
// 75).
func TestFreshRoomKeepsTheOldest(t *testing.T) {
	var f freshRows
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	order := func(id int64, at time.Time) *baoguan.Order {
		return &baoguan.Order{ID: id, MerchantID: 1, CreatedAt: at, PayDueAt: at}
	}
	for id := int64(1); id <= freshRoom; id++ {
		if f.keep(order(id, t0), nil, nil) == nil {
			t.Fatalf("order %d of a room of %d not kept", id, freshRoom)
		}
	}
	if f.keep(order(freshRoom+1, t0.Add(time.Second)), nil, nil) != nil {
		t.Error("a push kept past a full room")
	}
	if len(f.m) != freshRoom {
		t.Errorf("%d kept, want %d", len(f.m), freshRoom)
	}
	if _, ok := f.take(1, 1, t0, t0); !ok {
		t.Fatal("the oldest order not kept for its batch once the room was full")
	}
	if f.keep(order(freshRoom+2, t0.Add(time.Second)), nil, nil) == nil {
		t.Error("the place of an order taken not given to the next push")
	}
	if f.keep(order(freshRoom+3, t0.Add(time.Second)), nil, nil) != nil {
		t.Error("a push kept past a full room")
	}
	late := t0.Add(freshAge)
	if f.keep(order(freshRoom+4, late), nil, nil) == nil {
		t.Errorf("the oldest kept for %v held its place", freshAge)
	}
	if _, ok := f.take(2, 1, t0, t0); ok {
		t.Error("the oldest, made way for a push freshAge later, still kept")
	}
	for id := int64(3); id <= freshRoom; id++ {
		if _, ok := f.take(id, 1, t0, t0); !ok {
			t.Fatalf("order %d not kept for its batch", id)
		}
	}
	for _, id := range []int64{freshRoom + 2, freshRoom + 4} {
		at := t0.Add(time.Second)
		if id == freshRoom+4 {
			at = late
		}
		if _, ok := f.take(id, 1, at, at); !ok {
			t.Errorf("order %d not kept for its batch", id)
		}
	}
	if len(f.m) != 0 {
		t.Errorf("%d still kept after every batch took its order", len(f.m))
	}
}

// TestFreshRoomPassedOrderDropped: an order its batch does not take (paid
// another way, or by another process) while those kept after it are
// taken does not hold the room: once freshRoom orders kept after it have
// come, it is dropped, however young, and pushes are kept as before.
func TestFreshRoomPassedOrderDropped(t *testing.T) {
	var f freshRows
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	keep := func(id int64) bool {
		return f.keep(&baoguan.Order{ID: id, MerchantID: 1, CreatedAt: at, PayDueAt: at}, nil, nil) != nil
	}
	if !keep(1) {
		t.Fatal("the first order not kept")
	}
	for id := int64(2); id <= 3*freshRoom; id++ {
		if !keep(id) {
			t.Fatalf("order %d not kept with %d kept, all taken but the first", id, len(f.m))
		}
		if _, ok := f.take(id, 1, at, at); !ok {
			t.Fatalf("order %d not kept for its batch", id)
		}
	}
	if _, ok := f.take(1, 1, at, at); ok {
		t.Errorf("the first order still kept after %d others were kept and taken", 3*freshRoom-1)
	}
	if len(f.m) != 0 {
		t.Errorf("%d kept, want none", len(f.m))
	}
}
