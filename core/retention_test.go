package core_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
)

// pages counts the database pages of each table and index (SQLite's dbstat),
// and the file's pages in all.
func pages(t *testing.T, path string) (byName map[string]int, file int) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name, COUNT(*) FROM dbstat GROUP BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byName = map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		byName[name] = n
	}
	if err := db.QueryRow(`PRAGMA page_count`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	return byName, file
}

// rows counts what retention deletes: jobs, delivery attempts, and the
// Idempotency-Key records (natural keys are history and kept).
func rows(t *testing.T, path string) (jobs, attempts, keys int) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM jobs), (SELECT COUNT(*) FROM attempts),
	(SELECT COUNT(*) FROM idempotency WHERE idem_key LIKE 'idem:%')`).Scan(&jobs, &attempts, &keys); err != nil {
		t.Fatal(err)
	}
	return jobs, attempts, keys
}

// group sums the pages of the tables named and their indexes.
func group(byName map[string]int, tables ...string) int {
	n := 0
	for name, p := range byName {
		for _, tb := range tables {
			if name == tb || strings.HasPrefix(name, tb+"_") || strings.HasPrefix(name, "sqlite_autoindex_"+tb+"_") {
				n += p
			}
		}
	}
	return n
}

// TestRetentionStopsTheFileGrowing runs the same rounds of orders — pushed,
// paid, declared, notified — on two databases, one with the default kind of
// retention (a day) and one that keeps everything, moving the clock two
// days on after each round. With retention, the pages of jobs and delivery
// attempts stop growing after the first rounds, and the file grows by what
// the history tables (orders, declarations, events and their bodies,
// natural keys) grow, no more: every other page is freed and used again.
// Without it, jobs and attempts grow with every round.
func TestRetentionStopsTheFileGrowing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs thousands of orders")
	}
	t.Parallel()
	// The receiver fails each notification's first delivery, so that
	// every event has an attempt that failed (an attempts row) before the
	// one that delivered it (which the SQLite store keeps in the event's
	// row).
	var mu sync.Mutex
	seen := map[string]bool{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		again := seen[r.URL.Path+" "+string(b)]
		seen[r.URL.Path+" "+string(b)] = true
		mu.Unlock()
		if !again {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	const rounds, perRound = 8, 200
	type run struct {
		svc   *core.Service
		clock *clock
		m     *baoguan.Merchant
		path  string
		// per round: jobs and attempts, history, file
		machine, history, file []int
		// per round: rows of jobs, attempts and Idempotency-Key records
		counts [][3]int
	}
	open := func(keep core.Retention, hook string) *run {
		c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
		keys, err := keyring.New(make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "retention.db")
		db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path, Keys: keys, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		// The payments go through an adapter that is not in-process, as a
		// live channel's, so that each has a pay job row (an in-process
		// one is queued on its order and leaves none).
		svc := core.New(&core.Service{Store: db, Now: c.Now, Retention: keep,
			Sandbox:        core.Adapters{Channel: remoteChannel{sandbox.NewChannel()}, Port: sandbox.NewPort(0)},
			SampleIdentity: sandbox.IsSampleIdentity})
		svc.Formats.Register("test", testFormat{})
		m, _, err := svc.CreateMerchant(context.Background(), core.MerchantInput{Name: "shop", NotifyURL: recv.URL + hook})
		if err != nil {
			t.Fatal(err)
		}
		return &run{svc: svc, clock: c, m: m, path: path}
	}
	day := 24 * time.Hour
	runs := []*run{open(core.Retention{Jobs: day, Attempts: day, IdempotencyKeys: day, Nonces: day, Batch: 100}, "/on"),
		open(core.Retention{}, "/off")}
	ctx := context.Background()
	for r := range rounds {
		for _, x := range runs {
			for i := range perRound {
				in := core.OrderInput{Order: baoguan.Order{MerchantOrderNo: fmt.Sprintf("R%d-%d", r, i), Amount: 100, Subject: "奶粉",
					Protocol: "test", Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
					Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}}
				// Every other order comes with an Idempotency-Key, whose
				// saved answer expires.
				run := func(ctx context.Context) core.Response {
					_, _, err := x.svc.CreateOrder(ctx, x.m, in)
					if err != nil {
						t.Fatal(err)
					}
					return core.Response{Status: 201, Body: []byte(`{}`)}
				}
				if i%2 == 0 {
					if _, _, err := x.svc.Idempotent(ctx, x.m, fmt.Sprint("key-", r, "-", i), "h", run); err != nil {
						t.Fatal(err)
					}
				} else {
					run(ctx)
				}
			}
			for range 2 {
				for {
					n, err := x.svc.RunOnce(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if n == 0 {
						break
					}
				}
				x.clock.Add(2 * time.Minute) // the failed deliveries are due again
			}
			if busy, err := x.svc.Busy(ctx); err != nil || busy != 0 {
				t.Fatalf("round %d: %d jobs or notifications left (%v)", r, busy, err)
			}
			pending, err := x.svc.Events(ctx, x.m, baoguan.EventFilter{Status: baoguan.EventPending})
			if err != nil || len(pending) != 0 {
				t.Fatalf("round %d: %d notifications pending (%v)", r, len(pending), err)
			}
			x.clock.Add(2 * day)
			if _, err := x.svc.Purge(ctx); err != nil {
				t.Fatal(err)
			}
			byName, file := pages(t, x.path)
			x.machine = append(x.machine, group(byName, "jobs", "attempts"))
			x.history = append(x.history, group(byName, "orders", "declarations", "events", "event_bodies", "idempotency"))
			x.file = append(x.file, file)
			j, a, k := rows(t, x.path)
			x.counts = append(x.counts, [3]int{j, a, k})
		}
	}
	on, off := runs[0], runs[1]
	t.Logf("with retention: jobs+attempts pages %v, history pages %v, file pages %v", on.machine, on.history, on.file)
	t.Logf("keeping all:    jobs+attempts pages %v, history pages %v, file pages %v", off.machine, off.history, off.file)
	t.Logf("with retention: rows of jobs, attempts, Idempotency-Key records %v", on.counts)
	t.Logf("keeping all:    rows of jobs, attempts, Idempotency-Key records %v", off.counts)
	last := rounds - 1
	// Every round's records are two days old when the purge runs: with a
	// day's retention none is left, round after round; kept, they add up.
	for r, c := range on.counts {
		if c != [3]int{} {
			t.Errorf("with retention, round %d left %d jobs, %d attempts, %d Idempotency-Key records", r+1, c[0], c[1], c[2])
		}
	}
	for i, what := range []string{"jobs", "attempts", "Idempotency-Key records"} {
		if off.counts[last][i] != rounds*off.counts[0][i] || off.counts[0][i] == 0 {
			t.Errorf("keeping everything, %s went from %d (round 1) to %d (round %d), want %d", what,
				off.counts[0][i], off.counts[last][i], rounds, rounds*off.counts[0][i])
		}
	}
	if on.machine[last] > on.machine[2] {
		t.Errorf("with retention, jobs and attempts grew from %d pages (round 3) to %d (round %d)", on.machine[2], on.machine[last], rounds)
	}
	// The free list (pages the purges freed, waiting to be reused) stays
	// at about 20 pages, give or take a page or two from round to round.
	if grew, hist := on.file[last]-on.file[2], on.history[last]-on.history[2]; grew > hist+2 {
		t.Errorf("with retention, the file grew by %d pages from round 3 to %d, the history tables by %d: more than history is kept", grew, rounds, hist)
	}
	if off.machine[last]-off.machine[2] < 5*(last-2) {
		t.Errorf("keeping everything, jobs and attempts grew only from %d to %d pages: the workload does not show what retention saves",
			off.machine[2], off.machine[last])
	}
	// What the API shows of a notification of the first round: both its
	// attempts when everything is kept, none of them with retention —
	// the one that delivered it neither, though no purge deletes it.
	for i, x := range runs {
		es, err := x.svc.Events(ctx, x.m, baoguan.EventFilter{Page: baoguan.Page{Limit: 1}})
		if err != nil || len(es) != 1 {
			t.Fatalf("the first event: %v (%d)", err, len(es))
		}
		e, as, err := x.svc.Event(ctx, x.m, es[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var codes []int
		for _, a := range as {
			codes = append(codes, a.Status)
		}
		if want := [][]int{nil, {503, 204}}[i]; e.Status != baoguan.EventDelivered || !slices.Equal(codes, want) {
			t.Errorf("%s: the first event is %s with attempts %v, want delivered with %v", []string{"with retention", "keeping all"}[i],
				e.Status, codes, want)
		}
	}
}

// remoteChannel is a payment channel that is not in-process
// (baoguan.IsInProcess), as a live one.
type remoteChannel struct{ baoguan.PaymentChannel }
