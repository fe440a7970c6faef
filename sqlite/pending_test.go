package sqlite_test

import (
	"context"
	"slices"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sqlite"
)

// TestPendingEvents: the deliverer reads back the events it kept by id
// alone; it gets, whole, those among the ids still pending — not one
// delivered meanwhile, nor ids of no event.
func TestPendingEvents(t *testing.T) {
	ctx := context.Background()
	db, m := openWithMerchant(t, sqlite.Options{})
	var ids []int64
	err := db.Update(ctx, func(tx baoguan.Tx) error {
		for _, no := range []string{"A", "B", "C"} {
			e := &baoguan.Event{MerchantID: m.ID, Type: "order.paid", Protocol: "test", URL: "https://shop.example/hook",
				ContentType: "application/json", Body: []byte(`{"order":"` + no + `"}`), Status: baoguan.EventPending}
			if err := tx.CreateEvent(e); err != nil {
				return err
			}
			ids = append(ids, e.ID)
		}
		// B is delivered before it is read back.
		e := &baoguan.Event{ID: ids[1], MerchantID: m.ID, Type: "order.paid", Protocol: "test", URL: "https://shop.example/hook",
			ContentType: "application/json", Body: []byte(`{"order":"B"}`), Status: baoguan.EventDelivered, Attempts: 1,
			DeliveredAt: tx.Now()}
		return tx.UpdateEvent(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []baoguan.Event
	if err := db.View(ctx, func(tx baoguan.Tx) error {
		var err error
		got, err = tx.PendingEvents([]int64{ids[2], ids[1], ids[0], ids[2] + 1000})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b baoguan.Event) int { return int(a.ID - b.ID) })
	if len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[2] {
		t.Fatalf("read back %d events %v, want A and C (%d, %d)", len(got), got, ids[0], ids[2])
	}
	for i, no := range []string{"A", "C"} {
		e := got[i]
		if string(e.Body) != `{"order":"`+no+`"}` || e.Status != baoguan.EventPending || e.MerchantID != m.ID || e.URL != "https://shop.example/hook" {
			t.Errorf("event %s read back as %+v", no, e)
		}
	}
}
