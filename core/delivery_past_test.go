package core

import (
	"context"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// TestClaimReadsPastItsOwn: when every event a read of the events table
// finds is one the deliverer has already — sent, its outcome not yet
// recorded (a backlog of outcomes waits for the recorder, behind a
// catch-up's batches on SQLite), more of them than a read looks past — a
// claim reads on at once and sends the due notification beyond them,
// rather than leaving it for a wake-up that may not come: at the end of
// a burst, only the poll came, 250 ms later (benchmarks.md, change 88).
func TestClaimReadsPastItsOwn(t *testing.T) {
	const own = 3 * memPast
	const url = "http://receiver.example/hook"
	t0 := time.Now().Add(-time.Minute)
	tx := pastTx{events: map[int64]baoguan.Event{}}
	var sent []baoguan.Event
	for id := int64(1); id <= own+1; id++ {
		e := baoguan.Event{ID: id, OrderID: id, MerchantID: 1, URL: url, Protocol: "instant", Body: []byte("{}"),
			NextAt: t0.Add(time.Duration(id) * time.Microsecond)}
		tx.events[id] = e
		tx.table = append(tx.table, baoguan.DueEvent{ID: id, MerchantID: 1, OrderID: id, Dest: baoguan.Destination(url), NextAt: e.NextAt})
		if id <= own {
			sent = append(sent, e)
		}
	}
	s := New(&Service{Store: viewStore{tx: tx}})
	s.Formats.Register("instant", instantFormat{})
	dl := newDeliverer(s, 64, 64, time.Minute, true)
	dl.handoff = true
	dl.merchants[1] = cachedMerchant{m: &baoguan.Merchant{ID: 1}, at: time.Now()}
	dl.hold(sent, time.Now()) // sent, their outcomes not recorded: still due in the table
	n, _, err := dl.claim(context.Background())
	dl.wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the claim sent %d notifications, want 1: the one due beyond the %d the deliverer holds", n, own)
	}
}

// pastTx is a queueTx whose events have bodies.
type pastTx struct {
	queueTx
	events map[int64]baoguan.Event
}

func (tx pastTx) PendingEvents(ids []int64) ([]baoguan.Event, error) {
	out := make([]baoguan.Event, 0, len(ids))
	for _, id := range ids {
		out = append(out, tx.events[id])
	}
	return out, nil
}

// viewStore reads through tx; it has nothing to write.
type viewStore struct {
	baoguan.Store
	tx baoguan.Tx
}

func (s viewStore) View(ctx context.Context, fn func(baoguan.Tx) error) error { return fn(s.tx) }
