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
	m, es, now := createdPendingEvents(t, s, 3)
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
	os[2].Event.Status, os[2].Event.DeliveredAt = baoguan.EventDelivered, now
	os[2].Attempt = baoguan.Attempt{At: now, Status: 204}
	var recorded []bool
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		recorded, err = tx.RecordAttempts(os)
		return err
	})
	same(t, "recorded", recorded, []bool{true, true, false})
	// The attempt's id is the one Attempts reads (zero where the event's
	// row keeps the attempt that delivered it: SQLite).
	if os[0].Attempt.EventID != es[0].ID || os[1].Attempt.EventID != es[1].ID || os[1].Attempt.ID == 0 {
		t.Errorf("RecordAttempts did not set the attempts' ids: %+v, %+v", os[0].Attempt, os[1].Attempt)
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
			// A recorded event was updated at the transaction's time, as
			// RecordAttempts set it on the outcome.
			if recorded[i] && (os[i].Event.UpdatedAt.IsZero() || e.UpdatedAt.UnixMilli() != os[i].Event.UpdatedAt.UnixMilli()) {
				t.Errorf("event %d updated at %v, want the transaction's time %v", i, e.UpdatedAt, os[i].Event.UpdatedAt)
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
			if len(as) == 1 {
				same(t, fmt.Sprintf("event %d's attempt", i), as[0], os[i].Attempt)
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

// testAttemptChains: an event's attempts read back as they were recorded,
// in order, each with its time, status, latency, error and answer, across
// two delivery chains — a failed attempt, the one acknowledged, a
// redelivery (UpdateEvent), then another failure and acknowledgement —,
// recorded in groups (RecordAttempts) and alone (RecordAttempt). Where the
// event's row keeps the acknowledged attempt (SQLite), a redelivery must
// keep it too, before the next chain's.
func testAttemptChains(t *testing.T, s baoguan.Store) {
	m, es, base := createdPendingEvents(t, s, 2)
	want := make([][]baoguan.Attempt, len(es))
	// send makes an attempt of each event statuses names (index: HTTP
	// status), under a lease taken for it; 2xx is acknowledged, the rest
	// fails. With alone, each outcome is recorded by RecordAttempt, else
	// all by RecordAttempts.
	round := 0
	send := func(alone bool, statuses map[int]int) {
		t.Helper()
		round++
		var now time.Time
		view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
		lease := now.Add(time.Duration(round) * time.Minute)
		var ids []int64
		for i := range es {
			if _, ok := statuses[i]; ok {
				ids = append(ids, es[i].ID)
			}
		}
		update(t, s, func(tx baoguan.Tx) error {
			leased, err := tx.LeaseEvents(ids, lease)
			if err == nil && len(leased) != len(ids) {
				t.Fatalf("round %d: leased %d events, want %d", round, len(leased), len(ids))
			}
			return err
		})
		var os []baoguan.Outcome
		var which []int
		for i := range es {
			st, ok := statuses[i]
			if !ok {
				continue
			}
			e := es[i]
			e.Attempts++
			a := baoguan.Attempt{At: base.Add(time.Duration(10*round+i) * time.Second), Status: st,
				LatencyMS: int64(100*round + i), Response: fmt.Sprintf("answer %d to event %d", round, i)}
			if i == 1 {
				a.Response = "" // no answer
			}
			if st/100 == 2 {
				e.Status, e.DeliveredAt = baoguan.EventDelivered, now
			} else {
				e.NextAt, a.Error = now, fmt.Sprintf("HTTP %d", st)
			}
			os = append(os, baoguan.Outcome{Event: e, Attempt: a, Lease: lease})
			which = append(which, i)
			a.EventID = e.ID
			want[i] = append(want[i], a)
		}
		update(t, s, func(tx baoguan.Tx) error {
			if !alone {
				rec, err := tx.RecordAttempts(os)
				for k, ok := range rec {
					if !ok {
						t.Errorf("round %d: event %d's outcome not recorded", round, which[k])
					}
				}
				return err
			}
			for k := range os {
				if err := tx.RecordAttempt(&os[k].Event, &os[k].Attempt, os[k].Lease); err != nil {
					return err
				}
			}
			return nil
		})
		for k, i := range which {
			es[i] = os[k].Event
		}
	}
	check := func(what string) {
		t.Helper()
		view(t, s, func(tx baoguan.Tx) error {
			for i := range es {
				got, err := tx.Event(m.ID, es[i].ID)
				if err != nil {
					return err
				}
				if got.Status != es[i].Status || got.Attempts != es[i].Attempts {
					t.Errorf("%s: event %d is %s after %d attempts, want %s after %d", what, i, got.Status, got.Attempts,
						es[i].Status, es[i].Attempts)
				}
				as, err := tx.Attempts(es[i].ID)
				if err != nil {
					return err
				}
				for j := range as {
					as[j].ID = 0 // where an attempt is kept, not what it says
				}
				same(t, fmt.Sprintf("%s: event %d's attempts", what, i), as, want[i])
			}
			return nil
		})
	}
	send(false, map[int]int{0: 500, 1: 503})
	send(false, map[int]int{0: 204, 1: 200})
	check("delivered")
	update(t, s, func(tx baoguan.Tx) error {
		for i := range es {
			es[i].Status, es[i].Attempts, es[i].NextAt = baoguan.EventPending, 0, tx.Now()
			if err := tx.UpdateEvent(&es[i]); err != nil {
				return err
			}
		}
		return nil
	})
	check("redelivered")
	send(true, map[int]int{0: 502, 1: 200})
	send(true, map[int]int{0: 201})
	check("delivered again")
}

// createdPendingEvents creates n pending order.paid events of one order of
// a new merchant "acme", and returns the merchant, the events with their
// ids, and the store's time after they were written.
func createdPendingEvents(t *testing.T, s baoguan.Store, n int) (*baoguan.Merchant, []baoguan.Event, time.Time) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	es := make([]baoguan.Event, n)
	for i := range es {
		es[i] = pendingEvent(m.ID, o.ID)
	}
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateEvents(es) })
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	return m, es, now
}
