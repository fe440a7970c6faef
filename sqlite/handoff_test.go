package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
)

// TestHandoff: a store that hands new events off hands over, once the
// Update that created them has committed (before it returns), exactly the
// pending events due at once it committed — not those of an Update that
// failed, nor of a savepoint rolled back, nor events due later or not to
// be sent — each as a read of its row shows it, named (Expect) before.
// A redelivery (UpdateEvent) is not handed off: the store says the table
// has due events (Dirty). After stop, nothing is handed off.
func TestHandoff(t *testing.T) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		t.Run(sync, func(t *testing.T) { testHandoff(t, sync) })
	}
}

func testHandoff(t *testing.T, syncMode string) {
	ctx := context.Background()
	db, m := openWithMerchant(t, sqlite.Options{Synchronous: syncMode})
	h := &storetest.HandoffLog{}
	stop := db.SetHandoff(h)
	event := func(no string, status baoguan.EventStatus, next time.Time) *baoguan.Event {
		return &baoguan.Event{MerchantID: m.ID, Type: "order.paid", Protocol: "test", URL: "https://shop.example/hook",
			ContentType: "application/json", Body: []byte(`{"order":"` + no + `"}`), Status: status, NextAt: next}
	}
	var want []int64
	err := db.Update(ctx, func(tx baoguan.Tx) error {
		want = nil
		for _, e := range []*baoguan.Event{
			event("A", baoguan.EventPending, time.Time{}),
			event("B", baoguan.EventSkipped, time.Time{}),
			event("C", baoguan.EventPending, tx.Now().Add(time.Hour)),
			event("D", baoguan.EventPending, tx.Now()),
		} {
			if err := tx.CreateEvent(e); err != nil {
				return err
			}
			if e.Status == baoguan.EventPending && !e.NextAt.After(tx.Now()) {
				want = append(want, e.ID)
			}
		}
		// A savepoint rolled back takes its event with it.
		err := tx.Savepoint(func() error {
			if err := tx.CreateEvent(event("E", baoguan.EventPending, time.Time{})); err != nil {
				return err
			}
			return errors.New("rolled back")
		})
		if err == nil {
			t.Error("the savepoint did not fail")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, dirty := h.Take()
	if len(got) != len(want) || dirty != 0 {
		t.Fatalf("handed off %d events (dirty %d), want %d (A and D), not dirty", len(got), dirty, len(want))
	}
	for i, e := range got {
		if e.ID != want[i] {
			t.Errorf("handed off event %d, want %d", e.ID, want[i])
		}
		var row *baoguan.Event
		if err := db.View(ctx, func(tx baoguan.Tx) error {
			var err error
			row, err = tx.Event(m.ID, e.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if e.PublicID != row.PublicID || !bytes.Equal(e.Body, row.Body) || e.URL != row.URL || e.Status != row.Status ||
			!e.NextAt.Equal(row.NextAt) || !e.CreatedAt.Equal(row.CreatedAt) || !e.LeaseUntil.Equal(row.LeaseUntil) ||
			e.Attempts != row.Attempts || e.ContentType != row.ContentType {
			t.Errorf("handed off %+v\nthe row reads %+v", e, *row)
		}
	}

	// Concurrent Updates in groups: one fails after creating its event.
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			errs[i] = db.Update(ctx, func(tx baoguan.Tx) error {
				if err := tx.CreateEvent(event(fmt.Sprint("G", i), baoguan.EventPending, time.Time{})); err != nil {
					return err
				}
				if i == 7 {
					return errors.New("refused")
				}
				return nil
			})
		})
	}
	wg.Wait()
	got, _ = h.Take()
	if len(got) != 19 {
		t.Errorf("handed off %d events of 19 committed", len(got))
	}
	for _, e := range got {
		if string(e.Body) == `{"order":"G7"}` {
			t.Error("the event of a failed Update was handed off")
		}
	}

	// A redelivery makes an event due; it is not handed off.
	if err := db.Update(ctx, func(tx baoguan.Tx) error {
		e, err := tx.Event(m.ID, want[0])
		if err != nil {
			return err
		}
		e.Status, e.NextAt = baoguan.EventPending, tx.Now()
		return tx.UpdateEvent(e)
	}); err != nil {
		t.Fatal(err)
	}
	if got, dirty = h.Take(); len(got) != 0 || dirty != 1 {
		t.Errorf("after a redelivery: %d events handed off, dirty %d; want none, dirty once", len(got), dirty)
	}

	stop()
	if err := db.Update(ctx, func(tx baoguan.Tx) error {
		return tx.CreateEvent(event("Z", baoguan.EventPending, time.Time{}))
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ = h.Take(); len(got) != 0 {
		t.Errorf("%d events handed off after stop", len(got))
	}
	if early, cancelled := h.Misplaced(); len(early) > 0 || len(cancelled) > 0 {
		t.Errorf("events handed off before they were expected: %v; cancelled: %v", early, cancelled)
	}
}

// TestHandoffSetDuringGroup: a receiver set while a group runs is handed
// nothing of it but told the table changed once the group is durable
// (storetest.HandoffSetDuringGroup), in both synchronous modes.
func TestHandoffSetDuringGroup(t *testing.T) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		t.Run(sync, func(t *testing.T) {
			db, m := openWithMerchant(t, sqlite.Options{Synchronous: sync})
			storetest.HandoffSetDuringGroup(t, db, &m, func(h *storetest.HandoffLog) func() { return db.SetHandoff(h) })
		})
	}
}
