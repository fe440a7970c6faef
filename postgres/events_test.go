package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/storetest"
)

// pendingEvents stores n events of one merchant, due now.
func pendingEvents(t *testing.T, db *postgres.DB, n int) []baoguan.Event {
	t.Helper()
	es := make([]baoguan.Event, n)
	err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		m := &baoguan.Merchant{No: "acme", Name: "acme"}
		if err := tx.CreateMerchant(m); err != nil {
			return err
		}
		for i := range es {
			es[i] = baoguan.Event{MerchantID: m.ID, OrderID: int64(i + 1), Type: baoguan.EventOrderPaid, Protocol: "native",
				URL: "https://acme.example/hook", ContentType: "application/json", Body: []byte(`{}`), Status: baoguan.EventPending}
		}
		return tx.CreateEvents(es)
	})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestEventLeasesAcrossInstances: a claim locks only the events it leases,
// not every due event it read. While instance a holds the lease of one of
// three due events (its transaction still open), instance b lists all
// three as due, leases the two others, and gets nothing of a's, without
// waiting for a.
func TestEventLeasesAcrossInstances(t *testing.T) {
	dbURL := testURL(t)
	keys := testKeys(t)
	a, b := openTest(t, postgres.Options{URL: dbURL, Keys: keys}), openTest(t, postgres.Options{URL: dbURL, Keys: keys})
	es := pendingEvents(t, a, 3)
	ctx := context.Background()
	leasing, done := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- a.Update(baoguan.LongUpdate(ctx), func(tx baoguan.Tx) error {
			due, err := tx.DueEvents(10, nil, nil)
			if err != nil {
				return err
			}
			if len(due) != 3 {
				return fmt.Errorf("a: %d due events, want 3", len(due))
			}
			got, err := tx.LeaseEvents([]int64{es[0].ID}, tx.Now().Add(time.Hour))
			if err != nil {
				return err
			}
			if len(got) != 1 {
				return fmt.Errorf("a leased %d events, want 1", len(got))
			}
			close(leasing)
			<-done
			return nil
		})
	}()
	select {
	case <-leasing:
	case err := <-errc:
		t.Fatal(err)
	}
	var due []baoguan.DueEvent
	var got, taken []baoguan.Event
	err := b.Update(baoguan.LongUpdate(ctx), func(tx baoguan.Tx) error {
		var err error
		if due, err = tx.DueEvents(10, nil, nil); err != nil {
			return err
		}
		if len(due) != 3 {
			return fmt.Errorf("%d due events while a leases one of three, want all three (a locks none it does not lease)", len(due))
		}
		if got, err = tx.LeaseEvents([]int64{es[1].ID, es[2].ID}, tx.Now().Add(time.Hour)); err != nil {
			return err
		}
		taken, err = tx.LeaseEvents([]int64{es[0].ID}, tx.Now().Add(time.Hour))
		return err
	})
	close(done)
	if err != nil {
		t.Fatalf("b, while a leases an event: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("b leased %d of the two events a does not hold, want 2", len(got))
	}
	if len(taken) != 0 {
		t.Errorf("b leased the event a holds: %+v", taken)
	}
	// Once a's lease committed, the event is held: not due, not leased again.
	err = b.Update(ctx, func(tx baoguan.Tx) error {
		var err error
		if due, err = tx.DueEvents(10, nil, nil); err != nil {
			return err
		}
		taken, err = tx.LeaseEvents([]int64{es[0].ID}, tx.Now().Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 0 || len(taken) != 0 {
		t.Errorf("after a's lease: due %+v, leased again %+v", due, taken)
	}
}

// TestEventLeaseHOT: leasing an event writes no index entry (a HOT update:
// lease_until is in no index, and the table leaves room in its pages for
// the leased row's new version), as pg_stat_user_tables counts it.
func TestEventLeaseHOT(t *testing.T) {
	dbURL := testURL(t)
	db := openTest(t, postgres.Options{URL: dbURL})
	es := pendingEvents(t, db, 20)
	ids := make([]int64, len(es))
	for i := range es {
		ids[i] = es[i].ID
	}
	for _, id := range ids { // one lease a transaction, as claims come
		if err := db.Update(context.Background(), func(tx baoguan.Tx) error {
			got, err := tx.LeaseEvents([]int64{id}, tx.Now().Add(time.Hour))
			if err == nil && len(got) != 1 {
				err = fmt.Errorf("leased %d events, want 1", len(got))
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	c := raw(t, dbURL)
	// The counts reach the statistics when the backends flush them (at
	// most once a second, and within ten when idle).
	var upd, hot int64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		err := c.QueryRow(context.Background(),
			"SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'events'").Scan(&upd, &hot)
		if err != nil {
			t.Fatal(err)
		}
		if upd >= int64(len(ids)) {
			break
		}
	}
	if upd != int64(len(ids)) || hot != upd {
		t.Errorf("%d leases: %d updates of events, %d of them HOT; want every lease HOT", len(ids), upd, hot)
	}
}

// BenchmarkEventLife runs events through the deliverer's statements as a
// PostgreSQL server does, a claim's worth at a time: 64 created (one
// CreateEvents), listed due and leased (DueEvents of 128, LeaseEvents of
// the 64), then their outcomes recorded (RecordAttempts: delivered). It
// reports the CPU of the database's backends an event (db-µs/event, from
// /proc; the backends of this benchmark's own database only), in all and
// by step.
func BenchmarkEventLife(b *testing.B) {
	db, c, m := benchStore(b)
	ctx := context.Background()
	body := bytes.Repeat([]byte("x"), 1200) // sealed, about the bench's 1,490 bytes a row
	const claim = 64
	backendCPU := func() time.Duration { return pgtest.BackendCPU(b, c) }
	n := 0
	var phases [3]time.Duration // create, claim, record
	mark := backendCPU()
	phase := func(i int) {
		now := backendCPU()
		phases[i] += now - mark
		mark = now
	}
	b.ResetTimer()
	for n < b.N {
		es := make([]baoguan.Event, claim)
		for i := range es {
			es[i] = baoguan.Event{MerchantID: m.ID, OrderID: int64(n + i + 1), Type: baoguan.EventOrderPaid, Protocol: "native",
				URL: "https://acme.example/hook", ContentType: "application/json", Body: body, Status: baoguan.EventPending}
		}
		if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateEvents(es) }); err != nil {
			b.Fatal(err)
		}
		phase(0)
		var leased []baoguan.Event
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			due, err := tx.DueEvents(2*claim, nil, nil)
			if err != nil {
				return err
			}
			ids := make([]int64, 0, claim)
			for _, d := range due[:min(claim, len(due))] {
				ids = append(ids, d.ID)
			}
			leased, err = tx.LeaseEvents(ids, tx.Now().Add(time.Minute))
			return err
		}); err != nil {
			b.Fatal(err)
		}
		phase(1)
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			outs := make([]baoguan.Outcome, len(leased))
			for i, e := range leased {
				outs[i] = baoguan.Outcome{Event: e, Lease: e.LeaseUntil, Attempt: baoguan.Attempt{At: tx.Now(), Status: 204}}
				outs[i].Event.Status, outs[i].Event.Attempts, outs[i].Event.DeliveredAt = baoguan.EventDelivered, 1, tx.Now()
			}
			_, err := tx.RecordAttempts(outs)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		phase(2)
		n += claim
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	b.ReportMetric(per(phases[0]+phases[1]+phases[2]), "db-µs/event")
	b.ReportMetric(per(phases[0]), "create-db-µs/event")
	b.ReportMetric(per(phases[1]), "claim-db-µs/event")
	b.ReportMetric(per(phases[2]), "record-db-µs/event")
}

// benchStore opens a store on a database of its own with one writer (as
// the statements' CPU benchmarks want it), a plain connection to read the
// backends' CPU through, and a merchant.
func benchStore(b *testing.B) (*postgres.DB, *pgx.Conn, *baoguan.Merchant) {
	dbURL := testURL(b)
	db := openTest(b, postgres.Options{URL: dbURL, Writers: 1})
	m := &baoguan.Merchant{No: "acme", Name: "acme"}
	if err := db.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateMerchant(m) }); err != nil {
		b.Fatal(err)
	}
	return db, raw(b, dbURL), m
}

// TestLeasedHandoffLeaseEnded: an event inserted leased to its instance
// (its next_at the lease's end) whose lease the deliverer ends — one it
// had no room to send from memory (endLeases) — is due at once, not when
// the lease would have ended (it waited the whole lease, 30 s by default,
// before round 9); an event leased by a claim keeps the time it was due.
func TestLeasedHandoffLeaseEnded(t *testing.T) {
	dbURL := testURL(t)
	db := openTest(t, postgres.Options{URL: dbURL, Keys: testKeys(t)})
	ctx := context.Background()
	m := baoguan.Merchant{No: "acme", Name: "acme"}
	if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) }); err != nil {
		t.Fatal(err)
	}
	ev := func(order int64) baoguan.Event {
		return baoguan.Event{MerchantID: m.ID, OrderID: order, Type: baoguan.EventOrderPaid, Protocol: "native",
			URL: "https://acme.example/hook", ContentType: "application/json", Body: []byte(`{"n":1}`), Status: baoguan.EventPending}
	}
	// One event claimed from the table, then one inserted leased.
	claimed := ev(1)
	if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateEvent(&claimed) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx baoguan.Tx) error {
		got, err := tx.LeaseEvents([]int64{claimed.ID}, tx.Now().Add(time.Hour))
		if err == nil && len(got) != 1 {
			err = fmt.Errorf("%d events leased, want 1", len(got))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	h := &storetest.HandoffLog{}
	stop := db.SetLeasedHandoff(h, time.Hour)
	handed := ev(2)
	err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateEvent(&handed) })
	stop()
	if err != nil {
		t.Fatal(err)
	}
	if committed, _ := h.Take(); len(committed) != 1 || committed[0].ID != handed.ID {
		t.Fatalf("handed off %v, want event %d", committed, handed.ID)
	}
	var due []baoguan.DueEvent
	if err := db.Update(ctx, func(tx baoguan.Tx) error {
		if _, err := tx.LeaseEvents([]int64{claimed.ID, handed.ID}, time.Time{}); err != nil {
			return err
		}
		var err error
		due, err = tx.DueEvents(10, nil, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].ID != claimed.ID || due[1].ID != handed.ID {
		t.Fatalf("due after the leases ended: %+v; want events %d and %d, in the order they were created", due, claimed.ID, handed.ID)
	}
	if due[1].NextAt.After(time.Now()) || due[1].NextAt.Before(due[0].NextAt) {
		t.Errorf("the event handed off is due at %v, want its creation (the other's %v)", due[1].NextAt, due[0].NextAt)
	}
}

// TestLeasedHandoff: with a receiver set (SetLeasedHandoff), the pending
// events due at once that a committed Update creates — one at a time or
// many in one statement — are inserted leased until the transaction's time
// plus the lease and handed off with that lease as their token, named
// (Expect) before they are; an event due later, and those of a call that
// failed in a group that committed, are not. No claim, of this instance or
// another, takes them while the lease holds; the outcome recorded with the
// token handed off is the event's first write.
func TestLeasedHandoff(t *testing.T) {
	dbURL := testURL(t)
	keys := testKeys(t)
	a, b := openTest(t, postgres.Options{URL: dbURL, Keys: keys}), openTest(t, postgres.Options{URL: dbURL, Keys: keys})
	ctx := context.Background()
	var m baoguan.Merchant
	if err := a.Update(ctx, func(tx baoguan.Tx) error {
		m = baoguan.Merchant{No: "acme", Name: "acme"}
		return tx.CreateMerchant(&m)
	}); err != nil {
		t.Fatal(err)
	}
	ev := func(order int64) baoguan.Event {
		return baoguan.Event{MerchantID: m.ID, OrderID: order, Type: baoguan.EventOrderPaid, Protocol: "native",
			URL: "https://acme.example/hook", ContentType: "application/json", Body: []byte(`{"n":1}`), Status: baoguan.EventPending}
	}
	h := &storetest.HandoffLog{}
	const lease = time.Hour
	stop := a.SetLeasedHandoff(h, lease)
	defer stop()
	var now time.Time
	var later baoguan.Event
	if err := a.Update(ctx, func(tx baoguan.Tx) error {
		now = tx.Now()
		es := []baoguan.Event{ev(1), ev(2)}
		if err := tx.CreateEvents(es); err != nil {
			return err
		}
		one := ev(3)
		if err := tx.CreateEvent(&one); err != nil {
			return err
		}
		later = ev(4)
		later.NextAt = tx.Now().Add(time.Minute)
		return tx.CreateEvent(&later)
	}); err != nil {
		t.Fatal(err)
	}
	// Calls grouped in one transaction: the failing one hands off nothing.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_ = a.Update(ctx, func(tx baoguan.Tx) error {
				e := ev(int64(10 + i))
				if err := tx.CreateEvent(&e); err != nil {
					return err
				}
				if i%2 == 1 {
					return fmt.Errorf("call %d fails", i)
				}
				return nil
			})
		})
	}
	wg.Wait()
	committed, _ := h.Take()
	early, cancelled := h.Misplaced()
	if len(early) > 0 || len(cancelled) > 0 {
		t.Errorf("handed off without being expected first: %v; cancelled: %v", early, cancelled)
	}
	if len(committed) != 3+4 {
		t.Fatalf("%d events handed off, want 7 (three due at once, four of the eight grouped calls)", len(committed))
	}
	want := now.Add(lease)
	for _, e := range committed[:3] {
		if !e.LeaseUntil.Equal(want) {
			t.Errorf("event %d handed off with lease %v, want %v", e.ID, e.LeaseUntil, want)
		}
	}
	ids := map[int64]bool{}
	for _, e := range committed {
		if e.ID == later.ID {
			t.Errorf("the event due later was handed off")
		}
		if e.OrderID >= 10 && e.OrderID%2 == 1 {
			t.Errorf("the event of a call that failed (order %d) was handed off", e.OrderID)
		}
		if !e.LeaseUntil.After(time.Now()) || string(e.Body) != `{"n":1}` {
			t.Errorf("event %d handed off with lease %v, body %q", e.ID, e.LeaseUntil, e.Body)
		}
		ids[e.ID] = true
	}
	// The table holds them leased: no claim takes them.
	for _, db := range []*postgres.DB{a, b} {
		err := db.Update(ctx, func(tx baoguan.Tx) error {
			due, err := tx.DueEvents(100, nil, nil)
			if err != nil {
				return err
			}
			for _, d := range due {
				if ids[d.ID] {
					return fmt.Errorf("event %d handed off is due", d.ID)
				}
			}
			all := make([]int64, 0, len(ids))
			for id := range ids {
				all = append(all, id)
			}
			got, err := tx.LeaseEvents(all, tx.Now().Add(time.Minute))
			if err != nil {
				return err
			}
			if len(got) > 0 {
				return fmt.Errorf("%d events handed off leased again", len(got))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The token handed off records the outcome, at the event's first write.
	os := make([]baoguan.Outcome, len(committed))
	for i, e := range committed {
		e.Status, e.Attempts, e.DeliveredAt = baoguan.EventDelivered, 1, time.Now()
		os[i] = baoguan.Outcome{Event: e, Attempt: baoguan.Attempt{Status: 204}, Lease: committed[i].LeaseUntil}
	}
	if err := a.Update(ctx, func(tx baoguan.Tx) error {
		recorded, err := tx.RecordAttempts(os)
		if err != nil {
			return err
		}
		for i, ok := range recorded {
			if !ok {
				return fmt.Errorf("event %d: outcome not recorded under the token handed off", os[i].Event.ID)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The outcomes were the events' only writes: none was leased.
	c := raw(t, dbURL)
	var upd int64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err := c.QueryRow(ctx, "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'events'").Scan(&upd); err != nil {
			t.Fatal(err)
		}
		if upd >= int64(len(ids)) {
			break
		}
	}
	if upd != int64(len(ids)) {
		t.Errorf("%d updates of events for %d outcomes, want one each", upd, len(ids))
	}
}

// TestLeasedHandoffSetDuringGroup: a receiver set while a group runs is
// handed nothing of it but told the table changed once it committed
// (storetest.HandoffSetDuringGroup).
func TestLeasedHandoffSetDuringGroup(t *testing.T) {
	db := openTest(t, postgres.Options{URL: testURL(t), Keys: testKeys(t)})
	m := baoguan.Merchant{No: "acme", Name: "acme"}
	if err := db.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) }); err != nil {
		t.Fatal(err)
	}
	storetest.HandoffSetDuringGroup(t, db, &m, func(h *storetest.HandoffLog) func() { return db.SetLeasedHandoff(h, time.Hour) })
}
