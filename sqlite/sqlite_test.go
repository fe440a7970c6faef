package sqlite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
)

func testKeys(t testing.TB) *keyring.Ring {
	t.Helper()
	k := make([]byte, keyring.KeySize)
	rand.Read(k)
	r, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// openWithMerchant is openTest with one merchant stored.
func openWithMerchant(t testing.TB, o sqlite.Options) (*sqlite.DB, baoguan.Merchant) {
	t.Helper()
	db := openTest(t, o)
	m := baoguan.Merchant{No: "m", Name: "m"}
	if err := db.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) }); err != nil {
		t.Fatal(err)
	}
	return db, m
}

func openTest(t testing.TB, o sqlite.Options) *sqlite.DB {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "baoguan.db")
	}
	if o.Keys == nil {
		o.Keys = testKeys(t)
	}
	db, err := sqlite.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) baoguan.Store { return openTest(t, sqlite.Options{Now: now}) })
}

func TestOpenNeedsKeys(t *testing.T) {
	_, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "x.db")})
	if err == nil {
		t.Fatal("Open without keys succeeded")
	}
	_, err = sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "x.db"), Keys: testKeys(t), Synchronous: "OFF"})
	if err == nil {
		t.Fatal("Open with synchronous=OFF succeeded")
	}
}

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	n, err := sqlite.Migrate(context.Background(), path)
	if err != nil || n != len(entries) {
		t.Fatalf("first Migrate = %d, %v; want every migration (%d)", n, err, len(entries))
	}
	n, err = sqlite.Migrate(context.Background(), path)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0", n, err)
	}
	db := openTest(t, sqlite.Options{Path: path})
	if err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.CreateMerchant(&baoguan.Merchant{No: "m", Name: "m"})
	}); err != nil {
		t.Fatal(err)
	}
}

// The raw exchange with a payment channel (kept for customs' 179 data) may
// carry the payer's data; it is sealed like them.
const (
	rawChannelRequest  = `<xml><payer_id>RAW-REQUEST-SEEKRIT</payer_id></xml>`
	rawChannelResponse = `{"payer":"RAW-RESPONSE-SEEKRIT"}`
)

// TestSealedAtRest writes every sealed field and then searches the raw file
// (and its WAL) and every column for the plaintext.
func TestSealedAtRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealed.db")
	keys := testKeys(t)
	db := openTest(t, sqlite.Options{Path: path, Keys: keys})
	const secret, token = "whsec_SEEKRIT", "SIGNTOKEN-SEEKRIT"
	var order *baoguan.Order
	err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		m := &baoguan.Merchant{No: "m", Name: "m", WebhookSecret: secret, SignToken: token}
		if err := tx.CreateMerchant(m); err != nil {
			return err
		}
		order = &baoguan.Order{MerchantID: m.ID, MerchantOrderNo: "SO-1", Amount: 1, Currency: "CNY",
			Payer: baoguan.Payer{Name: storetest.PayerName, IDType: "IDCARD", IDNumber: storetest.PayerIDNumber, Phone: storetest.PayerPhone},
			Payment: baoguan.Payment{No: "P1", PayerName: storetest.PayerName, PayerID: storetest.PayerIDNumber,
				InitRequest: rawChannelRequest, InitResponse: rawChannelResponse}}
		if err := tx.CreateOrder(order); err != nil {
			return err
		}
		if err := tx.ReplaceFundingCards(m.ID, []baoguan.FundingCard{{BankCode: "0308", AcctName: "某", AcctNo: storetest.CardNo}}); err != nil {
			return err
		}
		if err := tx.PutCardAgreement(&baoguan.CardAgreement{MerchantID: m.ID, RequestID: "R1", AcctNo: storetest.CardNo,
			IDNo: storetest.PayerIDNumber, Mobile: storetest.PayerPhone}); err != nil {
			return err
		}
		if err := tx.CreateRealNameCheck(&baoguan.RealNameCheck{ID: "u1", MerchantID: m.ID, Name: storetest.PayerName,
			IDNo: storetest.PayerIDNumber}); err != nil {
			return err
		}
		return tx.CreateDeclaration(&baoguan.Declaration{OrderID: order.ID, MerchantID: m.ID, Customs: "C",
			Payer: order.Payer, State: baoguan.DeclPending})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Read back through the store: sealing is invisible to callers.
	err = db.View(context.Background(), func(tx baoguan.Tx) error {
		o, err := tx.Order(order.MerchantID, order.ID)
		if err != nil {
			return err
		}
		m, err := tx.Merchant(order.MerchantID)
		if err != nil {
			return err
		}
		if o.Payer.IDNumber != storetest.PayerIDNumber || o.Payer.Phone != storetest.PayerPhone ||
			o.Payment.PayerID != storetest.PayerIDNumber || m.WebhookSecret != secret || m.SignToken != token ||
			o.Payment.InitRequest != rawChannelRequest || o.Payment.InitResponse != rawChannelResponse {
			t.Errorf("sealed fields did not round-trip: %+v %+v", o.Payer, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	plain := []string{storetest.PayerIDNumber, storetest.PayerPhone, storetest.CardNo, secret, token, "RAW-REQUEST-SEEKRIT", "RAW-RESPONSE-SEEKRIT"}

	// Every column of every table, while the store is open.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	sawName := false
	for _, table := range []string{"merchants", "orders", "declarations", "funding_cards", "card_agreements", "realname_checks"} {
		rows, err := raw.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				s := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					s = string(b)
				}
				for _, p := range plain {
					if strings.Contains(s, p) {
						t.Errorf("%s.%s holds plaintext %q", table, cols[i], p)
					}
				}
				if strings.Contains(s, storetest.PayerName) {
					sawName = true
				}
			}
		}
		rows.Close()
	}
	if !sawName {
		t.Error("payer name not stored in plain")
	}
	raw.Close()

	// The file bytes, after the store is closed (WAL checkpointed), and
	// anything left beside it.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plain {
			if bytes.Contains(b, []byte(p)) {
				t.Errorf("%s contains plaintext %q", filepath.Base(f), p)
			}
		}
		if strings.HasSuffix(f, ".db") && !bytes.Contains(b, []byte(storetest.PayerName)) {
			t.Errorf("%s: payer name not found in plain; is the test reading the right file?", f)
		}
	}
}

// TestInjectedClock: Tx.Now and the stored times come from Options.Now.
func TestInjectedClock(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2030, 1, 2, 3, 4, 5, 678_900_000, time.UTC).UnixNano())
	db := openTest(t, sqlite.Options{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	want := time.Date(2030, 1, 2, 3, 4, 5, 678_000_000, time.UTC) // to the millisecond
	m := &baoguan.Merchant{No: "m", Name: "m"}
	err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		if !tx.Now().Equal(want) {
			t.Errorf("Tx.Now = %v, want %v", tx.Now(), want)
		}
		return tx.CreateMerchant(m)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !m.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want %v", m.CreatedAt, want)
	}
	// Jobs run by the injected clock too: not due until it passes RunAt.
	err = db.Update(context.Background(), func(tx baoguan.Tx) error {
		_, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, RunAt: want.Add(time.Minute)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	claim := func() int {
		var n int
		err := db.Update(context.Background(), func(tx baoguan.Tx) error {
			js, err := tx.Claim(nil, 10, time.Minute)
			n = len(js)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := claim(); n != 0 {
		t.Fatalf("claimed %d jobs before RunAt", n)
	}
	now.Add(int64(2 * time.Minute))
	if n := claim(); n != 1 {
		t.Fatalf("claimed %d jobs after RunAt, want 1", n)
	}
}

// TestPanicInUpdate: a panicking fn fails alone and the writer survives.
func TestPanicInUpdate(t *testing.T) {
	db, m := openWithMerchant(t, sqlite.Options{})
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			errs[i] = db.Update(context.Background(), func(tx baoguan.Tx) error {
				o := &baoguan.Order{MerchantID: m.ID, MerchantOrderNo: fmt.Sprint("P-", i)}
				if err := tx.CreateOrder(o); err != nil {
					return err
				}
				if i == 7 {
					panic("boom")
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			if err == nil || !strings.Contains(err.Error(), "panic") || baoguan.ErrorCode(err) != baoguan.EINTERNAL {
				t.Errorf("panicking Update returned %v", err)
			}
		} else if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	err := db.View(context.Background(), func(tx baoguan.Tx) error {
		n, err := tx.CountOrders(baoguan.OrderFilter{MerchantID: m.ID})
		if n != 19 {
			t.Errorf("%d orders, want 19", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCancelWhileQueued: a call whose context ends before its group starts
// never runs.
func TestCancelWhileQueued(t *testing.T) {
	db := openTest(t, sqlite.Options{})
	release := make(chan struct{})
	started := make(chan struct{})
	blocker := make(chan error)
	go func() {
		blocker <- db.Update(context.Background(), func(tx baoguan.Tx) error {
			close(started)
			<-release // holds the writer so the next call stays queued
			return nil
		})
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	done := make(chan error)
	go func() {
		done <- db.Update(ctx, func(tx baoguan.Tx) error { ran.Store(true); return nil })
	}()
	time.Sleep(20 * time.Millisecond) // let it queue
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Update returned %v", err)
	}
	close(release)
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	// One more round trip: the writer has passed the dropped call by now.
	if err := db.Update(context.Background(), func(tx baoguan.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Error("a call cancelled while queued ran")
	}
}

// TestTxAfterReturn: a Tx kept past its fn cannot write into a later group.
func TestTxAfterReturn(t *testing.T) {
	db := openTest(t, sqlite.Options{})
	var kept baoguan.Tx
	if err := db.Update(context.Background(), func(tx baoguan.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := kept.CreateMerchant(&baoguan.Merchant{No: "late", Name: "late"}); err == nil {
		t.Error("a Tx used after its Update returned could still write")
	}
}

func TestClosed(t *testing.T) {
	db := openTest(t, sqlite.Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := db.Update(context.Background(), func(baoguan.Tx) error { return nil }); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("Update after Close = %v", err)
	}
	if err := db.View(context.Background(), func(baoguan.Tx) error { return nil }); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("View after Close = %v", err)
	}
}

// BenchmarkCreateOrderGroup measures the native API's write path: 64
// goroutines each creating an order and its pay job per Update, with
// synchronous=FULL. ns/op is per order; group commit is what keeps it low.
func BenchmarkCreateOrderGroup(b *testing.B) {
	b.Run("beside", func(b *testing.B) { benchCreateOrderGroup(b) })
	b.Run("beside-50ms", func(b *testing.B) {
		// A run every 50 ms after a commit, whatever waits.
		defer sqlite.SetCheckpointAt(0)()
		defer sqlite.SetCheckpointPoll(50 * time.Millisecond)()
		benchCreateOrderGroup(b)
	})
	b.Run("writer-only", func(b *testing.B) {
		defer sqlite.SetCheckpointBeside(false)()
		benchCreateOrderGroup(b)
	})
}

// benchCreateOrderGroup is BenchmarkCreateOrderGroup with the
// checkpointer beside the writer or without (the writer's own checkpoint
// alone, every 4,000 pages); it reports the process's CPU an order too.
func benchCreateOrderGroup(b *testing.B) {
	db := openTest(b, sqlite.Options{})
	var m baoguan.Merchant
	if err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		m = baoguan.Merchant{No: "bench", Name: "bench", Status: baoguan.MerchantActive, Mode: baoguan.ModeSandbox}
		return tx.CreateMerchant(&m)
	}); err != nil {
		b.Fatal(err)
	}
	const workers = 64
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := storetest.ProcessCPU()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				err := db.Update(context.Background(), func(tx baoguan.Tx) error {
					o := &baoguan.Order{
						MerchantID: m.ID, MerchantOrderNo: fmt.Sprint("B-", i), Amount: 9900, Currency: "CNY",
						Subject: "奶粉", Items: []baoguan.Item{{Subject: "奶粉", Quantity: 1, UnitAmount: 9900}},
						Payer:       baoguan.Payer{Name: storetest.PayerName, IDType: "IDCARD", IDNumber: storetest.PayerIDNumber, Phone: storetest.PayerPhone},
						NeedDeclare: true, Channel: baoguan.ChannelMock, Protocol: "native",
						PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclareNone,
					}
					if err := tx.CreateOrder(o); err != nil {
						return err
					}
					_, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "pay:" + itoa(o.ID), RefID: o.ID, MerchantID: m.ID, MaxAttempts: 5})
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	b.ReportMetric(float64(storetest.ProcessCPU()-cpu0)/1e3/float64(b.N), "cpu-µs/order")
}

func itoa(v int64) string { return fmt.Sprint(v) }

// A raw channel exchange stored in plaintext by a version before it was
// sealed reads as it is, and is sealed when the order is next written —
// even by an update that changes nothing, which row images would otherwise
// leave out (sqlstore's plainText).
func TestRawChannelExchangeWrittenBeforeSealing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "legacy.db")
	db := openTest(t, sqlite.Options{Path: path, Keys: testKeys(t)})
	var o *baoguan.Order
	err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		m := &baoguan.Merchant{No: "m", Name: "m"}
		if err := tx.CreateMerchant(m); err != nil {
			return err
		}
		o = &baoguan.Order{MerchantID: m.ID, MerchantOrderNo: "SO-1", Amount: 1, Currency: "CNY"}
		return tx.CreateOrder(o)
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE orders SET init_request = ?, init_response = ?`, rawChannelRequest, rawChannelResponse); err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx baoguan.Tx) error {
		got, err := tx.Order(o.MerchantID, o.ID)
		if err != nil {
			return err
		}
		if got.Payment.InitRequest != rawChannelRequest || got.Payment.InitResponse != rawChannelResponse {
			t.Errorf("old plaintext read as %q %q", got.Payment.InitRequest, got.Payment.InitResponse)
		}
		return tx.UpdateOrder(got)
	})
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := raw.QueryRow(`SELECT init_request FROM orders`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "RAW-REQUEST-SEEKRIT") {
		t.Errorf("rewritten order keeps the raw request in plaintext: %s", stored)
	}
}

// TestBareFnFailure: the writer runs a group's fns without savepoints;
// when one fails, the group so far is rolled back and the fns before it
// run again, each in its savepoint: their writes and events commit once,
// the failing fn's do not, and the fns after it run once. Later groups run
// in savepoints for a while (here an hour): a failure then costs no replay.
func TestBareFnFailure(t *testing.T) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		t.Run(sync, func(t *testing.T) { testBareFnFailure(t, sync) })
	}
}

func testBareFnFailure(t *testing.T, syncMode string) {
	defer sqlite.SetBareAfterFailure(time.Hour)()
	ctx := context.Background()
	db, m := openWithMerchant(t, sqlite.Options{Synchronous: syncMode})
	h := &storetest.HandoffLog{}
	defer db.SetHandoff(h)()
	// group runs fns in one group, in order, and returns their errors.
	group := func(fns ...func(baoguan.Tx) error) []error {
		release, started := make(chan struct{}), make(chan struct{})
		blocked := make(chan error)
		go func() {
			blocked <- db.Update(ctx, func(tx baoguan.Tx) error {
				close(started)
				<-release // holds the writer while the calls queue
				return nil
			})
		}()
		<-started
		errs := make([]error, len(fns))
		var wg sync.WaitGroup
		for i, fn := range fns {
			wg.Go(func() { errs[i] = db.Update(ctx, fn) })
			for db.QueuedCalls() < i+1 {
				time.Sleep(time.Millisecond)
			}
		}
		close(release)
		if err := <-blocked; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		return errs
	}
	var runs [4]atomic.Int32
	order := func(run *atomic.Int32, no string, fail bool) func(baoguan.Tx) error {
		return func(tx baoguan.Tx) error {
			run.Add(1)
			o := &baoguan.Order{MerchantID: m.ID, MerchantOrderNo: no}
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
			if err := tx.CreateEvent(&baoguan.Event{MerchantID: m.ID, OrderID: o.ID, Type: "order.paid", Protocol: "test",
				URL: "https://shop.example/hook", ContentType: "application/json", Body: []byte(no), Status: baoguan.EventPending}); err != nil {
				return err
			}
			if fail {
				return errors.New("refused")
			}
			return nil
		}
	}
	errs := group(order(&runs[0], "A", false), order(&runs[1], "B", true), order(&runs[2], "C", false))
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errors %v, want only B's", errs)
	}
	if a, b, c := runs[0].Load(), runs[1].Load(), runs[2].Load(); a != 2 || b != 1 || c != 1 {
		t.Errorf("A, B, C ran %d, %d, %d times; want 2 (bare, then again in its savepoint), 1, 1", a, b, c)
	}
	if n := db.Stats().Replays; n != 1 {
		t.Errorf("%d replays, want 1", n)
	}
	got, _ := h.Take()
	var bodies []string
	for _, e := range got {
		bodies = append(bodies, string(e.Body))
	}
	if strings.Join(bodies, ",") != "A,C" {
		t.Errorf("handed off %v, want A's and C's events once each", bodies)
	}
	// Within bareAfterFailure every fn runs in its savepoint: a failure
	// replays nothing.
	errs = group(order(&runs[3], "D", false), order(&runs[1], "E", true))
	if errs[0] != nil || errs[1] == nil {
		t.Fatalf("errors %v, want only E's", errs)
	}
	if d := runs[3].Load(); d != 1 {
		t.Errorf("D ran %d times, want once", d)
	}
	if n := db.Stats().Replays; n != 1 {
		t.Errorf("%d replays, want still 1", n)
	}
	if err := db.View(ctx, func(tx baoguan.Tx) error {
		for _, no := range []string{"A", "B", "C", "D", "E"} {
			o, err := tx.OrderByNo(m.ID, no)
			switch {
			case no == "B" || no == "E":
				if baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
					t.Errorf("order %s of a failed fn: %v, %v", no, o, err)
				}
			case err != nil:
				t.Errorf("order %s: %v", no, err)
			}
		}
		n, err := tx.CountOrders(baoguan.OrderFilter{MerchantID: m.ID})
		if n != 3 {
			t.Errorf("%d orders, want 3", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
