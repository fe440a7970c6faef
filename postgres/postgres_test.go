package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/sandbox"
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

// testURL is a fresh database for a store test, whose sessions commit
// without waiting for the WAL flush. The suite sleeps past leases of a few
// milliseconds, and on a loaded machine a flush alone can take longer
// (one claim would outlive the lease it was testing); durability across a
// server crash is PostgreSQL's own, and no test here crashes the server.
func testURL(t testing.TB) string {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

func openTest(t testing.TB, o postgres.Options) *postgres.DB {
	t.Helper()
	if o.URL == "" {
		o.URL = testURL(t)
	}
	if o.Keys == nil {
		o.Keys = testKeys(t)
	}
	db, err := postgres.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// raw connects to a test database directly, to look at what the store wrote.
func raw(t testing.TB, dbURL string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) baoguan.Store { return openTest(t, postgres.Options{Now: now}) })
}

// TestMigrateConcurrently: instances starting at once all migrate; the
// advisory lock makes each script run exactly once.
func TestMigrateConcurrently(t *testing.T) {
	dbURL := testURL(t)
	const n = 4
	applied := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { applied[i], errs[i] = postgres.Migrate(context.Background(), dbURL) })
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Migrate %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	var versions int
	if err := raw(t, dbURL).QueryRow(context.Background(), "SELECT COUNT(*) FROM schema_migrations").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if total != versions || versions == 0 {
		t.Errorf("%d migrations applied in all by %d concurrent runs, %d recorded; want each applied once", total, n, versions)
	}
	if again, err := postgres.Migrate(context.Background(), dbURL); err != nil || again != 0 {
		t.Errorf("Migrate on a current schema = %d, %v; want 0", again, err)
	}
	// And Open, which migrates too, accepts the database.
	db := openTest(t, postgres.Options{URL: dbURL})
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

// TestSealedAtRest writes every sealed field and searches every column of
// the rows for the plaintext.
func TestSealedAtRest(t *testing.T) {
	dbURL := testURL(t)
	db := openTest(t, postgres.Options{URL: dbURL})
	const secret, token = "whsec_SEEKRIT", "SIGNTOKEN-SEEKRIT"
	err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		m := &baoguan.Merchant{No: "m", Name: "m", WebhookSecret: secret, SignToken: token,
			Settings: map[string]string{"accp.public-key": token}}
		if err := tx.CreateMerchant(m); err != nil {
			return err
		}
		o := &baoguan.Order{MerchantID: m.ID, MerchantOrderNo: "SO-1", Amount: 1, Currency: "CNY",
			Payer: baoguan.Payer{Name: storetest.PayerName, IDType: "IDCARD", IDNumber: storetest.PayerIDNumber, Phone: storetest.PayerPhone},
			Payment: baoguan.Payment{No: "P1", PayerName: storetest.PayerName, PayerID: storetest.PayerIDNumber,
				InitRequest: rawChannelRequest, InitResponse: rawChannelResponse}}
		if err := tx.CreateOrder(o); err != nil {
			return err
		}
		if _, err := tx.PutSetting("platform.key", token, false); err != nil {
			return err
		}
		return tx.CreateDeclaration(&baoguan.Declaration{OrderID: o.ID, MerchantID: m.ID, Customs: "C",
			Payer: o.Payer, State: baoguan.DeclPending})
	})
	if err != nil {
		t.Fatal(err)
	}
	plain := []string{storetest.PayerIDNumber, storetest.PayerPhone, secret, token, "RAW-REQUEST-SEEKRIT", "RAW-RESPONSE-SEEKRIT"}
	c := raw(t, dbURL)
	sawName := false
	for _, table := range []string{"merchants", "orders", "declarations", "settings"} {
		rows, err := c.Query(context.Background(), "SELECT * FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				s := fmt.Sprint(v)
				for _, p := range plain {
					if strings.Contains(s, p) {
						t.Errorf("%s.%s holds plaintext %q", table, rows.FieldDescriptions()[i].Name, p)
					}
				}
				sawName = sawName || strings.Contains(s, storetest.PayerName)
			}
		}
		rows.Close()
	}
	if !sawName {
		t.Error("payer name not stored in plain; is the test reading the right rows?")
	}
}

// TestTextSafe: what PostgreSQL TEXT cannot hold (NUL, invalid UTF-8), as
// a merchant's notification answer may contain, does not fail the
// transaction that records the attempt. The answer is sealed, and the
// sealed text carries any bytes, so it reads back as it came.
func TestTextSafe(t *testing.T) {
	db := openTest(t, postgres.Options{})
	var e baoguan.Event
	err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		m := &baoguan.Merchant{No: "m", Name: "m"}
		if err := tx.CreateMerchant(m); err != nil {
			return err
		}
		e = baoguan.Event{MerchantID: m.ID, Type: "order.paid", Body: []byte("a\x00b\xff"), Status: baoguan.EventPending}
		if err := tx.CreateEvent(&e); err != nil {
			return err
		}
		return tx.AddAttempt(&baoguan.Attempt{EventID: e.ID, Status: 200, Response: "ok\x00\xfe\xff done", Error: "x\x00"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(context.Background(), func(tx baoguan.Tx) error {
		got, err := tx.Event(e.MerchantID, e.ID)
		if err != nil {
			return err
		}
		if !bytes.Equal(got.Body, e.Body) {
			t.Errorf("body %q, want the bytes as given %q", got.Body, e.Body)
		}
		as, err := tx.Attempts(e.ID)
		if err != nil {
			return err
		}
		if len(as) != 1 || as[0].Response != "ok\x00\xfe\xff done" || as[0].Error != "x\x00" {
			t.Errorf("attempts %+v; want the response as it came", as)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFailedStatementFailsCommit: on PostgreSQL a failed statement aborts
// the transaction; a function that ignores the error must not be told its
// writes committed.
func TestFailedStatementFailsCommit(t *testing.T) {
	db := openTest(t, postgres.Options{})
	err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		if err := tx.CreateMerchant(&baoguan.Merchant{No: "m", Name: "m"}); err != nil {
			return err
		}
		_ = tx.CreateBatch(&baoguan.Batch{MerchantID: 12345, No: "b"}) // no such merchant: a foreign-key violation, ignored
		return nil
	})
	if err == nil {
		t.Fatal("Update reported success for a transaction PostgreSQL rolled back")
	}
	err = db.View(context.Background(), func(tx baoguan.Tx) error {
		_, err := tx.MerchantByNo("m")
		if baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
			t.Errorf("merchant of the failed transaction: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWakerAcrossInstances: a job committed by one instance wakes the
// runner of another through LISTEN/NOTIFY.
func TestWakerAcrossInstances(t *testing.T) {
	dbURL := testURL(t)
	keys := testKeys(t)
	a := openTest(t, postgres.Options{URL: dbURL, Keys: keys})
	b := openTest(t, postgres.Options{URL: dbURL, Keys: keys})
	deadline := time.Now().Add(10 * time.Second)
	for !b.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("b never started listening")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Listening starts with a wake-up of its own (announcements made
	// before it were not heard); take it.
	select {
	case <-b.Waker():
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up when b started listening")
	}
	if err := a.Update(context.Background(), func(tx baoguan.Tx) error {
		_, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "pay:1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Waker():
	case <-time.After(10 * time.Second):
		t.Fatal("a job committed by a did not wake b")
	}
}

// TestClaimsAcrossInstances: two instances claiming the same jobs at once,
// each with several goroutines, never take one job twice and leave none.
func TestClaimsAcrossInstances(t *testing.T) {
	dbURL := testURL(t)
	keys := testKeys(t)
	stores := []*postgres.DB{openTest(t, postgres.Options{URL: dbURL, Keys: keys}), openTest(t, postgres.Options{URL: dbURL, Keys: keys})}
	const jobs = 400
	if err := stores[0].Update(context.Background(), func(tx baoguan.Tx) error {
		for i := range jobs {
			if _, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobNotify, DedupeKey: fmt.Sprint("n", i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		s := stores[w%2]
		wg.Go(func() {
			for {
				var got []baoguan.Job
				err := s.Update(context.Background(), func(tx baoguan.Tx) error {
					var err error
					got, err = tx.Claim(nil, 5, time.Hour)
					return err
				})
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					seen[j.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != jobs {
		t.Errorf("%d distinct jobs claimed, want %d", len(seen), jobs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %d claimed %d times", id, n)
		}
	}
}

// TestIdempotencyAcrossInstances: the same order pushed at once to two
// instances is created once, and every push is answered with that order,
// none with a conflict: the natural-key lock makes "read the key, then
// insert" atomic across processes as the single writer does in SQLite.
func TestIdempotencyAcrossInstances(t *testing.T) {
	dbURL := testURL(t)
	keys := testKeys(t)
	svc := func() *core.Service {
		return core.New(&core.Service{Store: openTest(t, postgres.Options{URL: dbURL, Keys: keys}),
			Sandbox: core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)}})
	}
	svcs := []*core.Service{svc(), svc()}
	m, _, err := svcs[0].CreateMerchant(context.Background(), core.MerchantInput{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		no := fmt.Sprint("SO-", round)
		const pushes = 16
		ids := make([]int64, pushes)
		created := make([]bool, pushes)
		errs := make([]error, pushes)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range pushes {
			wg.Go(func() {
				<-start
				in := core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: 100, Currency: "CNY", Subject: "奶粉",
					Payer: baoguan.Payer{Name: storetest.PayerName, IDType: "IDCARD", IDNumber: "110105199001011232", Phone: storetest.PayerPhone}}}
				o, c, err := svcs[i%2].CreateOrder(context.Background(), m, in)
				errs[i], created[i] = err, c
				if o != nil {
					ids[i] = o.ID
				}
			})
		}
		close(start)
		wg.Wait()
		n := 0
		for i := range pushes {
			if errs[i] != nil {
				t.Errorf("round %d push %d: %v", round, i, errs[i])
				continue
			}
			if created[i] {
				n++
			}
			if ids[i] != ids[0] {
				t.Errorf("round %d: push %d answered order %d, push 0 order %d", round, i, ids[i], ids[0])
			}
		}
		if n != 1 {
			t.Errorf("round %d: %d pushes created the order, want 1", round, n)
		}
	}
	// Same key, other content: a conflict, across instances too.
	_, _, err = svcs[1].CreateOrder(context.Background(), m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "SO-0",
		Amount: 999, Currency: "CNY", Subject: "other",
		Payer: baoguan.Payer{Name: storetest.PayerName, IDType: "IDCARD", IDNumber: "110105199001011232", Phone: storetest.PayerPhone}}})
	if baoguan.ErrorCode(err) != baoguan.ECONFLICT {
		t.Errorf("other content under a used order number: %v, want ECONFLICT", err)
	}
}

// TestIdempotencyKeyAcrossInstances: requests with one Idempotency-Key
// sent at once to two instances have one effect (one request's order is
// created by it) and one answer: the key is taken in the transaction of
// the effect (its insert waits for the first transaction holding the key).
func TestIdempotencyKeyAcrossInstances(t *testing.T) {
	dbURL := testURL(t)
	keys := testKeys(t)
	svc := func() *core.Service {
		return core.New(&core.Service{Store: openTest(t, postgres.Options{URL: dbURL, Keys: keys}),
			Sandbox: core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)}})
	}
	svcs := []*core.Service{svc(), svc()}
	m, _, err := svcs[0].CreateMerchant(context.Background(), core.MerchantInput{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		key := fmt.Sprint("key-", round)
		const requests = 16
		res := make([]core.Response, requests)
		replayed := make([]bool, requests)
		errs := make([]error, requests)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range requests {
			wg.Go(func() {
				<-start
				s := svcs[i%2]
				res[i], replayed[i], errs[i] = s.Idempotent(context.Background(), m, key, "hash", func(ctx context.Context) core.Response {
					// Each run orders under its own number: a second run
					// would be a second order.
					_, _, err := s.CreateOrder(ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: fmt.Sprint(key, "-", i),
						Amount: 100, Currency: "CNY", Subject: "奶粉"}})
					if err != nil {
						return core.Response{Status: 409, Body: []byte(err.Error())}
					}
					return core.Response{Status: 201, Body: []byte(fmt.Sprint("order of request ", i))}
				})
			})
		}
		close(start)
		wg.Wait()
		fresh := 0
		for i := range requests {
			if errs[i] != nil || res[i].Status != 201 || string(res[i].Body) != string(res[0].Body) {
				t.Errorf("round %d request %d: %d %s %v; request 0: %s", round, i, res[i].Status, res[i].Body, errs[i], res[0].Body)
			}
			if !replayed[i] {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("round %d: %d answers not replayed, want 1", round, fresh)
		}
		os, err := svcs[1].Orders(context.Background(), m, baoguan.OrderFilter{})
		if err != nil || len(os) != round+1 {
			t.Errorf("round %d: %d orders (%v), want %d", round, len(os), err, round+1)
		}
	}
}

// TestOneTimeNoncesAcrossInstances: a request nonce is accepted once, by
// whichever instance sees it first.
func TestOneTimeNoncesAcrossInstances(t *testing.T) {
	dbURL := testURL(t)
	keys := testKeys(t)
	a := core.New(&core.Service{Store: openTest(t, postgres.Options{URL: dbURL, Keys: keys})})
	b := core.New(&core.Service{Store: openTest(t, postgres.Options{URL: dbURL, Keys: keys})})
	m, _, err := a.CreateMerchant(context.Background(), core.MerchantInput{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	const tries = 12
	errs := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() { errs[i] = s.UseNonce(context.Background(), m, "wechatv3", "nonce-1") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case baoguan.ErrorReason(err) != "nonce_reused":
			t.Errorf("UseNonce: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("nonce accepted %d times, want once", ok)
	}
}

// TestRateLimitAcrossInstances: two instances drawing concurrently on one
// bucket together get exactly its burst, not a burst each.
func TestRateLimitAcrossInstances(t *testing.T) {
	dbURL := testURL(t)
	keys := testKeys(t)
	a := core.New(&core.Service{Store: openTest(t, postgres.Options{URL: dbURL, Keys: keys})})
	b := core.New(&core.Service{Store: openTest(t, postgres.Options{URL: dbURL, Keys: keys})})
	const tries, burst = 40, 10
	granted := make([]bool, tries)
	var wg sync.WaitGroup
	for i := range tries {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			ok, err := s.Allow(context.Background(), "wechatv3:1900000109", 1e-6, burst)
			if err != nil {
				t.Error(err)
			}
			granted[i] = ok
		})
	}
	wg.Wait()
	n := 0
	for _, ok := range granted {
		if ok {
			n++
		}
	}
	if n != burst {
		t.Errorf("%d requests allowed across two instances, want the burst of %d", n, burst)
	}
}

// TestCloseIdempotent: Close twice, and calls after Close fail cleanly.
func TestCloseIdempotent(t *testing.T) {
	db := openTest(t, postgres.Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := db.Update(context.Background(), func(baoguan.Tx) error { return nil }); !errors.Is(err, postgres.ErrClosed) {
		t.Errorf("Update after Close = %v", err)
	}
	if err := db.View(context.Background(), func(baoguan.Tx) error { return nil }); !errors.Is(err, postgres.ErrClosed) {
		t.Errorf("View after Close = %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=secret":             "postgres://u@h/db?password=xxxxx",
		"postgres://h/db":                               "postgres://h/db",
	} {
		if got := postgres.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// waitQueued waits until n Update calls wait for a writer of db.
func waitQueued(t *testing.T, db *postgres.DB, n int) {
	t.Helper()
	for i := 0; db.Queued() < n; i++ {
		if i == 10000 {
			t.Fatalf("%d Update calls queued, want %d", db.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit: Updates that wait for the writer while it runs one are
// committed together, in one transaction, and each that fails — by its
// error, a panic, or a statement error it ignored — is rolled back alone
// while the others commit.
func TestGroupCommit(t *testing.T) {
	db := openTest(t, postgres.Options{Writers: 1})
	db.SetGroupTime(time.Hour) // every call queued joins the group
	ctx := context.Background()
	before := db.Stats()
	hold, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := db.Update(ctx, func(tx baoguan.Tx) error {
			if err := tx.CreateMerchant(&baoguan.Merchant{No: "first", Name: "first"}); err != nil {
				return err
			}
			close(holding)
			<-hold
			return nil
		})
		if err != nil {
			t.Errorf("first Update: %v", err)
		}
	})
	<-holding
	const n = 20
	boom := errors.New("boom")
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Update(ctx, func(tx baoguan.Tx) error {
				if err := tx.CreateMerchant(&baoguan.Merchant{No: fmt.Sprint("m", i), Name: fmt.Sprint("m", i)}); err != nil {
					return err
				}
				switch i % 5 {
				case 0:
					return boom
				case 1:
					panic("boom")
				case 2:
					_ = tx.CreateBatch(&baoguan.Batch{MerchantID: 12345, No: "b"}) // no such merchant: the statement fails, ignored
				}
				return nil
			})
		})
	}
	waitQueued(t, db, n)
	close(hold)
	wg.Wait()
	for i, err := range errs {
		switch {
		case i%5 == 0 && !errors.Is(err, boom):
			t.Errorf("Update %d returning an error: %v", i, err)
		case (i%5 == 1 || i%5 == 2) && err == nil:
			t.Errorf("Update %d (panic or failed statement) reported success", i)
		case i%5 > 2 && err != nil:
			t.Errorf("good Update %d: %v", i, err)
		}
	}
	err := db.View(ctx, func(tx baoguan.Tx) error {
		if _, err := tx.MerchantByNo("first"); err != nil {
			t.Errorf("merchant of the first Update: %v", err)
		}
		for i := range n {
			_, err := tx.MerchantByNo(fmt.Sprint("m", i))
			switch {
			case i%5 <= 2 && baoguan.ErrorCode(err) != baoguan.ENOTFOUND:
				t.Errorf("merchant of failed Update %d: %v", i, err)
			case i%5 > 2 && err != nil:
				t.Errorf("merchant of good Update %d: %v", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after := db.Stats()
	// The calls queued while the first ran join its group (n is below
	// maxGroup): one transaction, one commit.
	if commits, updates := after.Commits-before.Commits, after.Updates-before.Updates; commits != 1 || updates != 1+2*n/5 {
		t.Errorf("%d commits for %d committed Updates, want 1 for %d", commits, updates, 1+2*n/5)
	}
}

// TestGroupDeadlockRetried: two instances' groups that wait for each
// other's locks deadlock; PostgreSQL fails one statement, and that
// Update runs again alone instead of failing, here finding the key the
// other instance committed meanwhile.
func TestGroupDeadlockRetried(t *testing.T) {
	dbURL, keys := testURL(t), testKeys(t)
	a := openTest(t, postgres.Options{URL: dbURL, Keys: keys, Writers: 1})
	b := openTest(t, postgres.Options{URL: dbURL, Keys: keys, Writers: 1})
	ctx := context.Background()
	create := func(no string) func(tx baoguan.Tx) error {
		return func(tx baoguan.Tx) error { return tx.CreateMerchant(&baoguan.Merchant{No: no, Name: no}) }
	}
	// Each instance's group first takes a key and holds it, then an
	// Update queued behind it inserts the other instance's key.
	var wg sync.WaitGroup
	hold := func(db *postgres.DB, no string) (release func()) {
		held, release2 := make(chan struct{}), make(chan struct{})
		wg.Go(func() {
			err := db.Update(ctx, func(tx baoguan.Tx) error {
				if err := create(no)(tx); err != nil {
					return err
				}
				close(held)
				<-release2
				return nil
			})
			if err != nil {
				t.Errorf("Update holding %s: %v", no, err)
			}
		})
		<-held
		return func() { close(release2) }
	}
	releaseA, releaseB := hold(a, "X"), hold(b, "Y")
	var errA, errB error
	wg.Go(func() { errA = a.Update(ctx, create("Y")) })
	wg.Go(func() { errB = b.Update(ctx, create("X")) })
	waitQueued(t, a, 1)
	waitQueued(t, b, 1)
	releaseA()
	releaseB()
	wg.Wait()
	for _, err := range []error{errA, errB} {
		if baoguan.ErrorCode(err) != baoguan.ECONFLICT {
			t.Errorf("Update of the other instance's key: %v, want ECONFLICT duplicate", err)
		}
	}
	if r := a.Stats().Retries + b.Stats().Retries; r != 1 {
		t.Errorf("%d Updates run again after a deadlock, want 1", r)
	}
}

// TestLongUpdateAlone: an Update marked baoguan.LongUpdate runs in a
// transaction of its own: the calls that queued while it ran are
// committed together afterwards, not held until it commits.
func TestLongUpdateAlone(t *testing.T) {
	db := openTest(t, postgres.Options{Writers: 1})
	db.SetGroupTime(time.Hour)
	ctx := context.Background()
	before := db.Stats()
	hold, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := db.Update(baoguan.LongUpdate(ctx), func(tx baoguan.Tx) error {
			if err := tx.CreateMerchant(&baoguan.Merchant{No: "long", Name: "long"}); err != nil {
				return err
			}
			close(holding)
			<-hold
			return nil
		})
		if err != nil {
			t.Errorf("long Update: %v", err)
		}
	})
	<-holding
	const n = 5
	for i := range n {
		wg.Go(func() {
			no := fmt.Sprint("short", i)
			if err := db.Update(ctx, func(tx baoguan.Tx) error {
				return tx.CreateMerchant(&baoguan.Merchant{No: no, Name: no})
			}); err != nil {
				t.Errorf("Update %d: %v", i, err)
			}
		})
	}
	waitQueued(t, db, n)
	close(hold)
	wg.Wait()
	after := db.Stats()
	if commits, updates := after.Commits-before.Commits, after.Updates-before.Updates; commits != 2 || updates != n+1 {
		t.Errorf("%d commits for %d Updates, want 2 (the long one alone, then the others) for %d", commits, updates, n+1)
	}
}

// TestTextSafeChunk: a batch chunk's text columns, sent as arrays, are made
// safe as a single row's are: NUL and invalid UTF-8 become U+FFFD, in the
// chunk's rows as in the row CreateOrder inserts, instead of failing the
// chunk's transaction.
func TestTextSafeChunk(t *testing.T) {
	db := openTest(t, postgres.Options{})
	const subject = "a\x00b\xff"
	var one baoguan.Order
	var chunk, big []baoguan.Order
	err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		m := &baoguan.Merchant{No: "m", Name: "m"}
		if err := tx.CreateMerchant(m); err != nil {
			return err
		}
		one = baoguan.Order{MerchantID: m.ID, MerchantOrderNo: "ONE", Amount: 1, Currency: "CNY", Subject: subject}
		if err := tx.CreateOrder(&one); err != nil {
			return err
		}
		chunk = []baoguan.Order{{MerchantID: m.ID, MerchantOrderNo: "C-1", Amount: 1, Currency: "CNY", Subject: "fine"},
			{MerchantID: m.ID, MerchantOrderNo: "C-2", Amount: 1, Currency: "CNY", Subject: subject}}
		if err := tx.CreateOrders(chunk); err != nil {
			return err
		}
		// A chunk large enough for COPY.
		for i := range 40 {
			big = append(big, baoguan.Order{MerchantID: m.ID, MerchantOrderNo: fmt.Sprintf("B-%d", i), Amount: 1, Currency: "CNY", Subject: "fine"})
		}
		big[20].Subject = subject
		return tx.CreateOrders(big)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(context.Background(), func(tx baoguan.Tx) error {
		a, err := tx.Order(one.MerchantID, one.ID)
		if err != nil {
			return err
		}
		b, err := tx.Order(one.MerchantID, chunk[1].ID)
		if err != nil {
			return err
		}
		if a.Subject != "a\uFFFDb\uFFFD" || b.Subject != a.Subject {
			t.Errorf("subjects %q (one row) and %q (chunk), want both %q", a.Subject, b.Subject, "a\uFFFDb\uFFFD")
		}
		c, err := tx.Order(one.MerchantID, big[20].ID)
		if err != nil {
			return err
		}
		if c.Subject != a.Subject {
			t.Errorf("subject %q in a chunk loaded by COPY, want %q", c.Subject, a.Subject)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestChunkByCopy: a batch upload's chunk (CreateOrders, CreateDeclarations
// of copyMinRows rows or more) is loaded with COPY, a few rows with INSERT;
// and a COPY that meets a taken number is undone, leaving the transaction
// usable: the INSERT that follows tells the number taken (ECONFLICT), and a
// chunk after it is copied and committed. A statement trigger records the
// statement that wrote each table.
func TestChunkByCopy(t *testing.T) {
	u := testURL(t)
	db := openTest(t, postgres.Options{URL: u})
	ctx := context.Background()
	c := raw(t, u)
	for _, q := range []string{
		`CREATE TABLE writes (tab TEXT, query TEXT)`,
		`CREATE FUNCTION note_write() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO writes VALUES (TG_TABLE_NAME, upper(split_part(ltrim(current_query()), ' ', 1))); RETURN NULL; END $$`,
		`CREATE TRIGGER note AFTER INSERT ON orders FOR EACH STATEMENT EXECUTE FUNCTION note_write()`,
		`CREATE TRIGGER note AFTER INSERT ON declarations FOR EACH STATEMENT EXECUTE FUNCTION note_write()`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	writes := func() string {
		rows, err := c.Query(ctx, `SELECT tab || ':' || query FROM writes`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, `DELETE FROM writes`); err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, " ")
	}
	var m baoguan.Merchant
	orders := func(prefix string, n int) []baoguan.Order {
		var os []baoguan.Order
		for i := range n {
			// A subject TEXT cannot hold as sent: COPY sends it made
			// safe, as an INSERT does (else the COPY would fail).
			os = append(os, baoguan.Order{MerchantID: m.ID, MerchantOrderNo: fmt.Sprintf("%s-%d", prefix, i), Amount: 1, Currency: "CNY",
				Subject: "a\x00b\xff", Fingerprint: "fp"})
		}
		return os
	}
	chunk := func(tx baoguan.Tx, os []baoguan.Order) error {
		if err := tx.CreateOrders(os); err != nil {
			return err
		}
		var ds []baoguan.Declaration
		for i := range os {
			ds = append(ds, baoguan.Declaration{OrderID: os[i].ID, MerchantID: m.ID, Customs: "HG016", State: baoguan.DeclPending})
		}
		return tx.CreateDeclarations(ds)
	}
	err := db.Update(ctx, func(tx baoguan.Tx) error {
		m = baoguan.Merchant{No: "m", Name: "m"}
		if err := tx.CreateMerchant(&m); err != nil {
			return err
		}
		return chunk(tx, orders("FEW", 3))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := writes(), "orders:INSERT declarations:INSERT"; got != want {
		t.Errorf("three rows a table written by %q, want %q", got, want)
	}
	if err := db.Update(ctx, func(tx baoguan.Tx) error { return chunk(tx, orders("MANY", 100)) }); err != nil {
		t.Fatal(err)
	}
	if got, want := writes(), "orders:COPY declarations:COPY"; got != want {
		t.Errorf("a hundred rows a table written by %q, want %q", got, want)
	}
	var subject string
	if err := c.QueryRow(ctx, `SELECT subject FROM orders WHERE merchant_order_no = 'MANY-7'`).Scan(&subject); err != nil || subject != "a\uFFFDb\uFFFD" {
		t.Errorf("subject %q stored by COPY (%v), want %q", subject, err, "a\uFFFDb\uFFFD")
	}
	// MANY-99 is taken: the COPY fails and is undone, the INSERT then
	// names the number; the transaction goes on.
	var dupErr error
	err = db.Update(ctx, func(tx baoguan.Tx) error {
		dupErr = tx.CreateOrders(append(orders("MORE", 50), orders("MANY", 100)[99]))
		return chunk(tx, orders("LAST", 40))
	})
	if err != nil {
		t.Fatal(err)
	}
	if baoguan.ErrorCode(dupErr) != baoguan.ECONFLICT || !strings.Contains(dupErr.Error(), "MANY-99") {
		t.Errorf("CreateOrders over a taken number: %v, want ECONFLICT naming MANY-99", dupErr)
	}
	if got, want := writes(), "orders:INSERT orders:COPY declarations:COPY"; got != want {
		t.Errorf("written by %q, want %q (the failed COPY's trigger undone with it)", got, want)
	}
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM orders WHERE merchant_order_no LIKE 'LAST-%'`).Scan(&n); err != nil || n != 40 {
		t.Errorf("%d orders of the chunk after the failed COPY stored, want 40 (%v)", n, err)
	}
}

// TestLooseView: in a View marked LooseView each read is a read-only
// transaction of its own, so it sees what committed before it (a REPEATABLE
// READ View keeps seeing its first snapshot), and a write is refused.
func TestLooseView(t *testing.T) {
	db := openTest(t, postgres.Options{})
	ctx := context.Background()
	take := func() {
		t.Helper()
		if err := db.Update(ctx, func(tx baoguan.Tx) error { _, err := tx.TakeToken("loose", 0.001, 10); return err }); err != nil {
			t.Fatal(err)
		}
	}
	take()
	reads := func(ctx context.Context) (first, second float64) {
		t.Helper()
		err := db.View(ctx, func(tx baoguan.Tx) error {
			var err error
			if first, err = tx.Tokens("loose", 0.001, 10); err != nil {
				return err
			}
			take() // another transaction commits between the two reads
			second, err = tx.Tokens("loose", 0.001, 10)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return first, second
	}
	if first, second := reads(ctx); first != second {
		t.Errorf("a View saw %v then %v tokens: not one snapshot", first, second)
	}
	if first, second := reads(baoguan.LooseView(ctx)); second > first-0.9 {
		t.Errorf("a LooseView saw %v then %v tokens: the token taken between was not seen", first, second)
	}
	err := db.View(baoguan.LooseView(ctx), func(tx baoguan.Tx) error { _, err := tx.TakeToken("loose", 0.001, 10); return err })
	if err == nil {
		t.Error("a write in a LooseView went through")
	}
}
