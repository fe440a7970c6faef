package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// testManyWrites: UpdateOrders, UpdateDeclarations and CreateEvents (a job
// batch's writes, sent together) write each row as the one-row methods do:
// versions raised once, every column read back, ids set; a stale or missing
// row, or a taken public id, fails the call as the one-row method would.
func testManyWrites(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o1, o2 := newOrder(t, s, m, "SO-1"), newOrder(t, s, m, "SO-2")
	d1, d2 := sampleDeclaration(o1, "SHANGHAI", ""), sampleDeclaration(o2, "SHANGHAI", "")
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateDeclaration(d1); err != nil {
			return err
		}
		return tx.CreateDeclaration(d2)
	})

	os := []baoguan.Order{*o1, *o2}
	os[0].Subject, os[1].PayStatus = "changed", baoguan.PayApplied
	ds := []baoguan.Declaration{*d1, *d2}
	ds[0].State, ds[1].IdentityCheck = baoguan.DeclSubmitted, baoguan.CheckSame
	es := make([]baoguan.Event, 3)
	for i := range es {
		es[i] = baoguan.Event{PublicID: fmt.Sprintf("evt_many_%d", i), MerchantID: m.ID, OrderID: os[i%2].ID,
			Type: baoguan.EventOrderPaid, Protocol: "native", URL: "https://acme.example/hook",
			ContentType: "application/json", Body: []byte(fmt.Sprintf(`{"n":%d}`, i)), Status: baoguan.EventPending}
	}
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.UpdateOrders(os); err != nil {
			return err
		}
		if err := tx.UpdateDeclarations(ds); err != nil {
			return err
		}
		return tx.CreateEvents(es)
	})
	for i := range os {
		if os[i].Version != 2 {
			t.Errorf("UpdateOrders: order %d at version %d, want 2", i, os[i].Version)
		}
		if ds[i].Version != 2 {
			t.Errorf("UpdateDeclarations: declaration %d at version %d, want 2", i, ds[i].Version)
		}
	}
	for i := range es {
		if es[i].ID == 0 || es[i].CreatedAt.IsZero() || es[i].NextAt.IsZero() {
			t.Errorf("CreateEvents did not set ID/CreatedAt/NextAt: %+v", es[i])
		}
	}
	view(t, s, func(tx baoguan.Tx) error {
		if err := readBack(t, tx, m.ID, "", os, ds); err != nil {
			return err
		}
		return readBackEvents(t, tx, m.ID, es)
	})

	// A stale row among others fails the call, and nothing of it commits.
	stale := []baoguan.Order{os[0], *o2} // o2 as it was at version 1
	stale[0].Subject, stale[1].Subject = "again", "again"
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateOrders(stale) })
	wantErr(t, "UpdateOrders with a stale order", err, baoguan.ECONFLICT, "stale")
	staleD := []baoguan.Declaration{ds[0], *d2}
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateDeclarations(staleD) })
	wantErr(t, "UpdateDeclarations with a stale declaration", err, baoguan.ECONFLICT, "stale")
	ghost := os[1]
	ghost.ID += 100
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateOrders([]baoguan.Order{os[0], ghost}) })
	notFound(t, "UpdateOrders with a missing order", err)
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Order(m.ID, os[0].ID)
		if err == nil && (got.Subject != "changed" || got.Version != 2) {
			t.Errorf("after failed UpdateOrders: subject %q version %d, want changed/2", got.Subject, got.Version)
		}
		return err
	})

	dup := []baoguan.Event{es[0], es[0]}
	dup[0].PublicID, dup[0].ID, dup[1].ID = "evt_many_new", 0, 0
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateEvents(dup) })
	wantErr(t, "CreateEvents with a taken public id", err, baoguan.ECONFLICT, "duplicate")
	view(t, s, func(tx baoguan.Tx) error {
		list, err := tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID})
		if err == nil && len(list) != len(es) {
			t.Errorf("after failed CreateEvents: %d events, want %d", len(list), len(es))
		}
		return err
	})

	// Rows that change the same columns, read in the transaction that
	// writes them (a job batch's orders paid together, its declarations
	// submitted together: on PostgreSQL one statement a table), each get
	// their own values.
	var paid []baoguan.Order
	var submitted []baoguan.Declaration
	update(t, s, func(tx baoguan.Tx) error {
		paid, submitted = nil, nil
		for i := range os {
			o, err := tx.Order(m.ID, os[i].ID)
			if err != nil {
				return err
			}
			o.PayStatus, o.Payment.No, o.Payment.PayerID = baoguan.PaySucceed, fmt.Sprintf("PAY-%d", i), fmt.Sprintf("11010119900307%04d", i)
			paid = append(paid, *o)
			d, err := tx.Declaration(m.ID, ds[i].ID)
			if err != nil {
				return err
			}
			d.State, d.Payer.Phone = baoguan.DeclSubmitted, fmt.Sprintf("1380000%04d", i)
			submitted = append(submitted, *d)
		}
		if err := tx.UpdateOrders(paid); err != nil {
			return err
		}
		return tx.UpdateDeclarations(submitted)
	})
	view(t, s, func(tx baoguan.Tx) error {
		for i := range paid {
			if paid[i].Version != 3 || submitted[i].Version != 3 {
				t.Errorf("row %d: order at version %d, declaration at %d, want 3", i, paid[i].Version, submitted[i].Version)
			}
		}
		return readBack(t, tx, m.ID, " of the same columns", paid, submitted)
	})
	// And one of them stale fails the call.
	err = s.Update(context.Background(), func(tx baoguan.Tx) error {
		again := []baoguan.Order{paid[0], paid[1]}
		again[1].Version--
		again[0].Payment.No, again[1].Payment.No = "PAY-X", "PAY-Y"
		return tx.UpdateOrders(again)
	})
	wantErr(t, "UpdateOrders of the same columns, one stale", err, baoguan.ECONFLICT, "stale")
}

// readBack checks that each of os and ds reads back as it was written
// (by UpdateOrders and UpdateDeclarations; what names the write in the
// errors).
func readBack(t *testing.T, tx baoguan.Tx, merchantID int64, what string, os []baoguan.Order, ds []baoguan.Declaration) error {
	t.Helper()
	for i := range os {
		got, err := tx.Order(merchantID, os[i].ID)
		if err != nil {
			return err
		}
		same(t, "UpdateOrders"+what, got, &os[i])
		gd, err := tx.Declaration(merchantID, ds[i].ID)
		if err != nil {
			return err
		}
		same(t, "UpdateDeclarations"+what, gd, &ds[i])
	}
	return nil
}

// readBackEvents checks that each of es reads back by its id as
// CreateEvents wrote it.
func readBackEvents(t *testing.T, tx baoguan.Tx, merchantID int64, es []baoguan.Event) error {
	t.Helper()
	for i := range es {
		got, err := tx.Event(merchantID, es[i].ID)
		if err != nil {
			return err
		}
		same(t, "CreateEvents", got, &es[i])
	}
	return nil
}

// testManyEvents: CreateEvents with more events than one statement holds
// gives each event the id of its own row (SQLite tells the ids of a
// multi-row INSERT from the rowids), and a public id taken in a later
// statement fails the call naming that id, with nothing of it committed;
// events of a merchant that does not exist are ENOTFOUND.
func testManyEvents(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	mk := func(n int, prefix string) []baoguan.Event {
		es := make([]baoguan.Event, n)
		for i := range es {
			es[i] = baoguan.Event{PublicID: fmt.Sprintf("%s_%d", prefix, i), MerchantID: m.ID, OrderID: o.ID,
				Type: baoguan.EventOrderPaid, Protocol: "native", URL: "https://acme.example/hook",
				ContentType: "application/json", Body: []byte(fmt.Sprintf(`{"n":%d}`, i)), Status: baoguan.EventPending}
		}
		return es
	}
	es := mk(141, "evt_a") // 128 + 8 + 4 + 1 rows on SQLite
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateEvents(es) })
	view(t, s, func(tx baoguan.Tx) error { return readBackEvents(t, tx, m.ID, es) })

	dup := mk(140, "evt_b")
	dup[133].PublicID = es[7].PublicID // in the second statement on SQLite
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateEvents(dup) })
	wantErr(t, "CreateEvents with a public id taken", err, baoguan.ECONFLICT, "duplicate")
	if err != nil && !strings.Contains(err.Error(), es[7].PublicID) {
		t.Errorf("CreateEvents with a public id taken: %v, want it named", err)
	}
	view(t, s, func(tx baoguan.Tx) error {
		list, err := tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID, Page: baoguan.Page{Limit: 1000}})
		if err == nil && len(list) != len(es) {
			t.Errorf("after failed CreateEvents: %d events, want %d", len(list), len(es))
		}
		return err
	})

	// Events of a merchant that does not exist: ENOTFOUND.
	ghost := mk(9, "evt_c")
	for i := range ghost {
		ghost[i].MerchantID = m.ID + 1000
	}
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateEvents(ghost) })
	notFound(t, "CreateEvents of an unknown merchant", err)
}

// testRecordAttempts: RecordAttempts records each outcome as RecordAttempt
// does (the event's new state and its attempt) while the event's lease
// holds, and tells which leases were lost: nothing of those is written.
func testRecordAttempts(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	es := make([]baoguan.Event, 3)
	for i := range es {
		es[i] = baoguan.Event{MerchantID: m.ID, OrderID: o.ID, Type: baoguan.EventOrderPaid, Protocol: "native",
			URL: "https://acme.example/hook", ContentType: "application/json", Body: []byte(`{}`), Status: baoguan.EventPending}
	}
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateEvents(es) })
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	lease := now.Add(time.Minute)
	var leased []baoguan.Event
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		leased, err = tx.LeaseEvents([]int64{es[0].ID, es[1].ID, es[2].ID}, lease)
		return err
	})
	if len(leased) != 3 {
		t.Fatalf("leased %d events, want 3", len(leased))
	}
	os := make([]baoguan.Outcome, 3)
	for i := range os {
		os[i] = baoguan.Outcome{Event: es[i], Lease: lease}
		os[i].Event.Attempts = 1
	}
	os[0].Event.Status, os[0].Event.DeliveredAt = baoguan.EventDelivered, now
	os[0].Attempt = baoguan.Attempt{At: now, Status: 204, LatencyMS: 3, Response: "ok"}
	os[1].Event.NextAt = now.Add(time.Hour)
	os[1].Attempt = baoguan.Attempt{At: now, Status: 500, Error: "not acknowledged"}
	os[2].Lease = lease.Add(time.Second) // not the lease it holds
	os[2].Attempt = baoguan.Attempt{At: now, Status: 204}
	var recorded []bool
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		recorded, err = tx.RecordAttempts(os)
		return err
	})
	same(t, "recorded", recorded, []bool{true, true, false})
	if os[0].Attempt.EventID != es[0].ID || os[0].Attempt.ID == 0 {
		t.Errorf("RecordAttempts did not set the attempt's ids: %+v", os[0].Attempt)
	}
	view(t, s, func(tx baoguan.Tx) error {
		for i, want := range []struct {
			status   baoguan.EventStatus
			attempts int
			leased   bool
			codes    []int
		}{{baoguan.EventDelivered, 1, false, []int{204}}, {baoguan.EventPending, 1, false, []int{500}}, {baoguan.EventPending, 0, true, nil}} {
			e, err := tx.Event(m.ID, es[i].ID)
			if err != nil {
				return err
			}
			if e.Status != want.status || e.Attempts != want.attempts || e.LeaseUntil.IsZero() == want.leased {
				t.Errorf("event %d after RecordAttempts: status %s attempts %d lease %v", i, e.Status, e.Attempts, e.LeaseUntil)
			}
			if i == 1 && !e.NextAt.Equal(now.Add(time.Hour)) {
				t.Errorf("event 1 due at %v, want %v", e.NextAt, now.Add(time.Hour))
			}
			as, err := tx.Attempts(es[i].ID)
			if err != nil {
				return err
			}
			var codes []int
			for _, a := range as {
				codes = append(codes, a.Status)
			}
			same(t, fmt.Sprintf("event %d's attempts", i), codes, want.codes)
			if len(as) == 1 && (as[0].ID != os[i].Attempt.ID || os[i].Attempt.EventID != es[i].ID) {
				t.Errorf("event %d's attempt is %d, RecordAttempts said %d (event %d)", i, as[0].ID, os[i].Attempt.ID, os[i].Attempt.EventID)
			}
		}
		return nil
	})
	// The leases recorded are over: recording again writes nothing.
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		recorded, err = tx.RecordAttempts(os[:2])
		return err
	})
	same(t, "recorded again", recorded, []bool{false, false})
}
