package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
)

// TestEventBodiesMigrated: migration 0026 moves each event's sealed body
// out of its row into event_bodies; the events an earlier version stored
// read back with their bodies (one by id, all in a list, and claimed for
// delivery), and a redelivery keeps the body.
func TestEventBodiesMigrated(t *testing.T) {
	db, path, _, _ := beforeMigration(t, 26)
	keys := testKeys(t)
	bodies := map[int64]string{
		1: `{"payerIdNumber":"` + storetest.IDNumber(9201) + `"}`,
		2: `{"declaration":"` + storetest.Phone(9202) + `"}`,
	}
	insertZero(t, db, "merchants", map[string]any{"id": 1})
	for id, body := range bodies {
		sealed, err := keys.SealBinaryTo(nil, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		insertZero(t, db, "events", map[string]any{"id": id, "merchant_id": 1, "public_id": "evt_old_" + string(rune('0'+id)),
			"status": "pending", "body": sealed, "url": "https://acme.example/hook"})
	}
	if _, err := sqlite.Migrate(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	var inRow int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('events') WHERE name = 'body'`).Scan(&inRow); err != nil || inRow != 0 {
		t.Errorf("events still has a body column (%d, %v)", inRow, err)
	}

	s := openTest(t, sqlite.Options{Path: path, Keys: keys})
	ctx := context.Background()
	check := func(what string, es []baoguan.Event) {
		t.Helper()
		if len(es) != len(bodies) {
			t.Fatalf("%s: %d events, want %d", what, len(es), len(bodies))
		}
		for _, e := range es {
			if string(e.Body) != bodies[e.ID] {
				t.Errorf("%s: event %d body %q, want %q", what, e.ID, e.Body, bodies[e.ID])
			}
		}
	}
	err := s.Update(ctx, func(tx baoguan.Tx) error {
		e, err := tx.Event(1, 1)
		if err != nil {
			return err
		}
		if string(e.Body) != bodies[1] {
			t.Errorf("Event: body %q, want %q", e.Body, bodies[1])
		}
		es, err := tx.ListEvents(baoguan.EventFilter{})
		if err != nil {
			return err
		}
		check("ListEvents", es)
		if es, err = tx.PendingEvents([]int64{1, 2}); err != nil {
			return err
		}
		check("PendingEvents", es)
		if es, err = tx.LeaseEvents([]int64{1, 2}, time.Now().Add(time.Minute)); err != nil {
			return err
		}
		check("LeaseEvents", es)
		// A redelivery writes the event again, its body with it.
		e.Status, e.NextAt = baoguan.EventPending, time.Now()
		return tx.UpdateEvent(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx baoguan.Tx) error {
		es, err := tx.ListEvents(baoguan.EventFilter{})
		if err != nil {
			return err
		}
		check("ListEvents after a redelivery", es)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
