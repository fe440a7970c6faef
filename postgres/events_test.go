package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
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
