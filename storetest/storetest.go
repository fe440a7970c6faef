// Package storetest is the one behavioural test suite for baoguan.Store.
// Every implementation (SQLite and PostgreSQL) runs the same Run,
// so the core and the front-ends can rely on the documented contract of
// baoguan.Tx rather than on one database's quirks: error codes and reasons,
// merchant isolation, optimistic versions, job leases, and Update's
// all-or-nothing promise even when the store commits several Updates in one
// database transaction.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sqlstore"
)

// Run runs the suite. open must return a fresh, empty store for each
// subtest whose clock is now (the store's injected clock): the suite moves
// it forward to cross leases and refills, never sleeping. Run closes each
// store when its subtest ends, so Close must tolerate a second call if open
// also registers one.
func Run(t *testing.T, open func(t *testing.T, now func() time.Time) baoguan.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s baoguan.Store)
	}{
		{"Merchants", testMerchants},
		{"MerchantDuplicates", testMerchantDuplicates},
		{"Agents", testAgents},
		{"DebitFunding", testDebitFunding},
		{"DebitFundingConcurrent", testDebitFundingConcurrent},
		{"Orders", testOrders},
		{"OrderDuplicate", testOrderDuplicate},
		{"OrderStale", testOrderStale},
		{"OrderPaging", testOrderPaging},
		{"OrderLimits", testOrderLimits},
		{"Declarations", testDeclarations},
		{"ChunkInserts", testChunkInserts},
		{"OrdersWith", testOrdersWith},
		{"EnqueueLater", testEnqueueLater},
		{"EnqueuePayJobs", testEnqueuePayJobs},
		{"OrderPayQueue", testOrderPayQueue},
		{"OrderPayConcurrentClaims", testOrderPayConcurrentClaims},
		{"Refunds", testRefunds},
		{"ListRefunds", testListRefunds},
		{"Batches", testBatches},
		{"BatchSummaryAdd", testBatchSummaryAdd},
		{"BatchLoading", testBatchLoading},
		{"ListPlans", testListPlans},
		{"QueuePlans", testQueuePlans},
		{"Events", testEvents},
		{"ManyWrites", testManyWrites},
		{"ManyEvents", testManyEvents},
		{"RecordAttempts", testRecordAttempts},
		{"AttemptChains", testAttemptChains},
		{"MerchantIsolation", testMerchantIsolation},
		{"JobDedupe", testJobDedupe},
		{"JobClaimFinish", testJobClaimFinish},
		{"JobLeaseExpiry", testJobLeaseExpiry},
		{"JobConcurrentClaims", testJobConcurrentClaims},
		{"JobListsAndCounts", testJobListsAndCounts},
		{"JobBatches", testJobBatches},
		{"ManyByID", testManyByID},
		{"Savepoint", testSavepoint},
		{"UpdatesWriteChanges", testUpdatesWriteChanges},
		{"EventQueue", testEventQueue},
		{"EventClaimsInMemory", testEventClaimsInMemory},
		{"Purge", testPurge},
		{"Idempotency", testIdempotency},
		{"Settings", testSettings},
		{"Rates", testRates},
		{"TakeToken", testTakeToken},
		{"FundingCards", testFundingCards},
		{"CardAgreements", testCardAgreements},
		{"SMSChallenges", testSMSChallenges},
		{"Collections", testCollections},
		{"ExpiredCollections", testExpiredCollections},
		{"RealNameChecks", testRealNameChecks},
		{"CustomsReceipts", testCustomsReceipts},
		{"PaymentData", testPaymentData},
		{"UpstreamCalls", testUpstreamCalls},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"ConcurrentUpdatesFailAlone", testConcurrentUpdatesFailAlone},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"CancelledContext", testCancelledContext},
	}
	tests = append(tests, consoleTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			s := open(t, c.Now)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, &clocked{Store: s, clock: c})
		})
	}
}

// Clock is a settable clock for stores under test: Now returns the time
// it was last set to.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock forward.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// clocked is a store under test with the clock it was opened with.
type clocked struct {
	baoguan.Store
	clock *Clock
}

// advance moves the clock of s forward by d.
func advance(t *testing.T, s baoguan.Store, d time.Duration) {
	t.Helper()
	c, ok := s.(*clocked)
	if !ok {
		t.Fatal("store was not opened by Run")
	}
	c.clock.Add(d)
}

// ---- helpers ----

func update(t *testing.T, s baoguan.Store, fn func(baoguan.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s baoguan.Store, fn func(baoguan.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantErr checks that err is a *baoguan.Error with the code, and the
// reason when one is given.
func wantErr(t *testing.T, what string, err error, code, reason string) {
	t.Helper()
	var e *baoguan.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: got error %v, want *baoguan.Error %s", what, err, code)
		return
	}
	if e.Code != code || reason != "" && e.Reason != reason {
		t.Errorf("%s: got %s/%s (%v), want %s/%s", what, e.Code, e.Reason, err, code, reason)
	}
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	wantErr(t, what, err, baoguan.ENOTFOUND, "")
}

// same reports a difference between got and want. Times compare with
// Equal (a store may hand back another location or representation), and a
// nil slice or map equals an empty one.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	var diffs []string
	compare(reflect.ValueOf(got), reflect.ValueOf(want), what, &diffs)
	for _, d := range diffs {
		t.Error(d)
	}
}

var timeType = reflect.TypeOf(time.Time{})

func compare(g, w reflect.Value, path string, diffs *[]string) {
	if g.Type() != w.Type() {
		*diffs = append(*diffs, fmt.Sprintf("%s: type %s, want %s", path, g.Type(), w.Type()))
		return
	}
	switch {
	case g.Type() == timeType:
		gt, wt := g.Interface().(time.Time), w.Interface().(time.Time)
		if !gt.Equal(wt) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, want %v", path, gt, wt))
		}
	case g.Kind() == reflect.Pointer:
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				*diffs = append(*diffs, fmt.Sprintf("%s: nil mismatch", path))
			}
			return
		}
		compare(g.Elem(), w.Elem(), path, diffs)
	case g.Kind() == reflect.Struct:
		for i := range g.NumField() {
			if g.Type().Field(i).IsExported() {
				compare(g.Field(i), w.Field(i), path+"."+g.Type().Field(i).Name, diffs)
			}
		}
	case g.Kind() == reflect.Slice:
		if g.Len() != w.Len() {
			*diffs = append(*diffs, fmt.Sprintf("%s: len %d, want %d", path, g.Len(), w.Len()))
			return
		}
		for i := range g.Len() {
			compare(g.Index(i), w.Index(i), fmt.Sprintf("%s[%d]", path, i), diffs)
		}
	case g.Kind() == reflect.Map:
		if g.Len() != w.Len() {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, want %v", path, g, w))
			return
		}
		for _, k := range w.MapKeys() {
			gv := g.MapIndex(k)
			if !gv.IsValid() {
				*diffs = append(*diffs, fmt.Sprintf("%s[%v]: missing", path, k))
				continue
			}
			compare(gv, w.MapIndex(k), fmt.Sprintf("%s[%v]", path, k), diffs)
		}
	default:
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %#v, want %#v", path, g.Interface(), w.Interface()))
		}
	}
}

// at is a fixed instant with millisecond precision, the finest every store
// keeps.
func at(minute int) time.Time {
	return time.Date(2024, 5, 1, 10, minute, 7, 123_000_000, time.UTC)
}

// Personal data used throughout; the sqlite tests search the file for it.
const (
	PayerIDNumber = "11010519491231002X"
	PayerPhone    = "13800138000"
	PayerName     = "张三"
)

func newMerchant(t *testing.T, s baoguan.Store, name string) *baoguan.Merchant {
	t.Helper()
	m := &baoguan.Merchant{
		No: "M" + name, Name: name, Status: baoguan.MerchantActive, Mode: baoguan.ModeSandbox,
		EBPCode: "1101" + name, EBPName: name + " Ltd", NotifyURL: "https://" + name + ".example/notify",
		APIKeyHash: "key-" + name, AppID: "app-" + name, AppKeyHash: "appkey-" + name,
		SignToken: "token-" + name, WebhookSecret: "whsec_" + name,
		FundingBalance: 100000, Settings: map[string]string{"payzero.ips": "10.0.0.0/8"},
	}
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateMerchant(m) })
	return m
}

// sampleOrder fills every field, so a round trip checks every column.
func sampleOrder(m *baoguan.Merchant, no string) *baoguan.Order {
	return &baoguan.Order{
		MerchantID: m.ID, MerchantOrderNo: no, Amount: 12345, Currency: "CNY", Subject: "奶粉 x2",
		Items: []baoguan.Item{{Subject: "奶粉", Link: "https://shop.example/1", ArticleNo: "A1", Quantity: 2, UnitAmount: 6000},
			{Subject: "运费", Quantity: 1, UnitAmount: 345}},
		Payer:       baoguan.Payer{Name: PayerName, IDType: "IDCARD", IDNumber: PayerIDNumber, Phone: PayerPhone},
		OrderedAt:   at(1),
		NotifyURL:   "https://shop.example/n",
		NeedDeclare: true, Channel: baoguan.ChannelMock, Sandbox: true, Protocol: "native", CapitalName: "capital",
		Extra:     map[string]string{"memo": "gift"},
		PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclareNone,
		Payment: baoguan.Payment{No: "P" + no, PSP: "LYCHEEPAY", PSPName: "Lychee", PSPCode: "4403",
			PaidAt: at(2), VerDept: "3", PayType: "4", InitRequest: "{req}", InitResponse: "{resp}",
			FailReason: "", FailCode: "NOTENOUGH", PayerName: PayerName, PayerID: PayerIDNumber,
			ExchangeRate: baoguan.MustRate("0.860000"), CNYAmount: 10617, SettleRate: baoguan.MustRate("1")},
		PayAttempts: 1,
		Fingerprint: "fp-" + no,
	}
}

func newOrder(t *testing.T, s baoguan.Store, m *baoguan.Merchant, no string) *baoguan.Order {
	t.Helper()
	o := sampleOrder(m, no)
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateOrder(o) })
	return o
}

// ---- merchants ----

func testMerchants(t *testing.T, s baoguan.Store) {
	a := newMerchant(t, s, "acme")
	b := newMerchant(t, s, "bolt")
	if a.ID == 0 || a.ID == b.ID || a.CreatedAt.IsZero() || a.UpdatedAt.IsZero() {
		t.Fatalf("CreateMerchant did not set ID/CreatedAt/UpdatedAt: %+v", a)
	}
	view(t, s, func(tx baoguan.Tx) error {
		for what, get := range map[string]func() (*baoguan.Merchant, error){
			"Merchant":             func() (*baoguan.Merchant, error) { return tx.Merchant(a.ID) },
			"MerchantByNo":         func() (*baoguan.Merchant, error) { return tx.MerchantByNo(a.No) },
			"MerchantByName":       func() (*baoguan.Merchant, error) { return tx.MerchantByName(a.Name) },
			"MerchantByAPIKeyHash": func() (*baoguan.Merchant, error) { return tx.MerchantByAPIKeyHash(a.APIKeyHash) },
			"MerchantByAppID":      func() (*baoguan.Merchant, error) { return tx.MerchantByAppID(a.AppID) },
		} {
			got, err := get()
			if err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			same(t, what, got, a)
		}
		_, err := tx.Merchant(a.ID + b.ID + 100)
		notFound(t, "Merchant(missing)", err)
		_, err = tx.MerchantByNo("nope")
		notFound(t, "MerchantByNo(missing)", err)
		_, err = tx.MerchantByName("nope")
		notFound(t, "MerchantByName(missing)", err)
		_, err = tx.MerchantByAPIKeyHash("nope")
		notFound(t, "MerchantByAPIKeyHash(missing)", err)
		_, err = tx.MerchantByAppID("nope")
		notFound(t, "MerchantByAppID(missing)", err)
		all, err := tx.Merchants()
		if err != nil {
			return err
		}
		if len(all) != 2 {
			t.Errorf("Merchants: got %d, want 2", len(all))
		}
		return nil
	})

	a.Status, a.Name, a.WebhookSecret, a.Settings = baoguan.MerchantArrears, "acme2", "whsec_new", map[string]string{"x": "y"}
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateMerchant(a) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.MerchantByName("acme2")
		if err != nil {
			return err
		}
		same(t, "updated merchant", got, a)
		return nil
	})
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.UpdateMerchant(&baoguan.Merchant{ID: a.ID + b.ID + 100, Name: "ghost", No: "ghost"})
	})
	notFound(t, "UpdateMerchant(missing)", err)
}

func testMerchantDuplicates(t *testing.T, s baoguan.Store) {
	a := newMerchant(t, s, "acme")
	for what, m := range map[string]baoguan.Merchant{
		"no":      {No: a.No, Name: "x1"},
		"name":    {No: "x2", Name: a.Name},
		"app id":  {No: "x3", Name: "x3", AppID: a.AppID},
		"api key": {No: "x4", Name: "x4", APIKeyHash: a.APIKeyHash},
	} {
		m.Status, m.Mode = baoguan.MerchantActive, baoguan.ModeSandbox
		err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) })
		wantErr(t, "duplicate merchant "+what, err, baoguan.ECONFLICT, "duplicate")
	}
	// Empty optional keys (no app id, no API key yet) never collide.
	for _, n := range []string{"y1", "y2"} {
		m := &baoguan.Merchant{No: n, Name: n, Status: baoguan.MerchantUnsigned, Mode: baoguan.ModeSandbox}
		update(t, s, func(tx baoguan.Tx) error { return tx.CreateMerchant(m) })
	}
	// Renaming onto another merchant's name is a duplicate too.
	b := newMerchant(t, s, "bolt")
	b.Name = a.Name
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateMerchant(b) })
	wantErr(t, "UpdateMerchant onto a taken name", err, baoguan.ECONFLICT, "duplicate")
}

func testDebitFunding(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme") // balance 100000
	update(t, s, func(tx baoguan.Tx) error {
		for _, c := range []struct {
			amount int64
			ok     bool
		}{{60000, true}, {50000, false}, {40000, true}, {1, false}, {0, true}} {
			ok, err := tx.DebitFunding(m.ID, c.amount)
			if err != nil {
				return err
			}
			if ok != c.ok {
				t.Errorf("DebitFunding(%d) = %v, want %v", c.amount, ok, c.ok)
			}
		}
		_, err := tx.DebitFunding(m.ID+100, 1)
		notFound(t, "DebitFunding(missing merchant)", err)
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Merchant(m.ID)
		if err == nil && got.FundingBalance != 0 {
			t.Errorf("balance = %d, want 0", got.FundingBalance)
		}
		return err
	})
}

func testDebitFundingConcurrent(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme") // balance 100000
	const n, amount = 40, 7000     // 14 fit, 26 must be refused
	var wg sync.WaitGroup
	var mu sync.Mutex
	debited := 0
	for range n {
		wg.Go(func() {
			var ok bool
			err := s.Update(context.Background(), func(tx baoguan.Tx) error {
				var err error
				ok, err = tx.DebitFunding(m.ID, amount)
				return err
			})
			if err != nil {
				t.Errorf("DebitFunding: %v", err)
			}
			if ok {
				mu.Lock()
				debited++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if debited != 14 {
		t.Errorf("%d debits succeeded, want 14", debited)
	}
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Merchant(m.ID)
		if err == nil && got.FundingBalance != 100000-14*amount {
			t.Errorf("balance = %d, want %d", got.FundingBalance, 100000-14*amount)
		}
		return err
	})
}

// ---- orders ----

func testOrders(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	if o.ID == 0 || o.Version != 1 || o.CreatedAt.IsZero() || !o.UpdatedAt.Equal(o.CreatedAt) {
		t.Fatalf("CreateOrder did not set ID/Version/CreatedAt/UpdatedAt: id=%d v=%d %v %v", o.ID, o.Version, o.CreatedAt, o.UpdatedAt)
	}
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Order(m.ID, o.ID)
		if err != nil {
			return err
		}
		same(t, "Order", got, o)
		got, err = tx.OrderByNo(m.ID, "SO-1")
		if err != nil {
			return err
		}
		same(t, "OrderByNo", got, o)
		got, err = tx.OrderByPaymentNo(m.ID, "PSO-1")
		if err != nil {
			return err
		}
		same(t, "OrderByPaymentNo", got, o)
		_, err = tx.Order(m.ID, o.ID+1)
		notFound(t, "Order(missing)", err)
		_, err = tx.OrderByNo(m.ID, "SO-2")
		notFound(t, "OrderByNo(missing)", err)
		_, err = tx.OrderByPaymentNo(m.ID, "nope")
		notFound(t, "OrderByPaymentNo(missing)", err)
		_, err = tx.OrderByPaymentNo(m.ID, "")
		notFound(t, "OrderByPaymentNo(empty)", err)
		return nil
	})

	// An order with no items, extras or payer still round-trips.
	bare := &baoguan.Order{MerchantID: m.ID, MerchantOrderNo: "SO-bare", Amount: 1, Currency: "CNY", Subject: "s",
		Channel: baoguan.ChannelAuto, PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclareNone}
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateOrder(bare) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Order(m.ID, bare.ID)
		if err == nil {
			same(t, "bare order", got, bare)
		}
		return err
	})

	before := o.UpdatedAt
	advance(t, s, 2*time.Millisecond)
	update(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Order(m.ID, o.ID)
		if err != nil {
			return err
		}
		if err := got.MovePay(baoguan.PaySucceed); err != nil {
			return err
		}
		got.Payment.No = "PAY-2"
		got.Payer.Phone = "13900139000"
		got.Refunded = 45
		got.Items = append(got.Items, baoguan.Item{Subject: "赠品", Quantity: 1})
		// The fingerprint is the content the order was created with: an
		// update does not write it.
		got.Fingerprint = "changed"
		if err := tx.UpdateOrder(got); err != nil {
			return err
		}
		if got.Version != 2 || !got.UpdatedAt.After(before) {
			t.Errorf("UpdateOrder: version %d, updated %v (before %v)", got.Version, got.UpdatedAt, before)
		}
		got.Fingerprint = "fp-SO-1"
		o = got
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.OrderByPaymentNo(m.ID, "PAY-2")
		if err == nil {
			same(t, "updated order", got, o)
		}
		return err
	})
}

func testOrderDuplicate(t *testing.T, s baoguan.Store) {
	a := newMerchant(t, s, "acme")
	b := newMerchant(t, s, "bolt")
	newOrder(t, s, a, "SO-1")
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		o := sampleOrder(a, "SO-1")
		o.Fingerprint = "other"
		return tx.CreateOrder(o)
	})
	wantErr(t, "duplicate order", err, baoguan.ECONFLICT, "duplicate")
	if baoguan.ErrorField(err) != "merchant_order_no" {
		t.Errorf("duplicate order: field %q", baoguan.ErrorField(err))
	}
	// The number keeps the first order's fingerprint.
	view(t, s, func(tx baoguan.Tx) error {
		fp, loading, err := tx.OrderFingerprint(a.ID, "SO-1")
		if err != nil || fp != "fp-SO-1" || loading {
			t.Errorf("OrderFingerprint(SO-1) = %q, %v, %v; want the first order's, not loading", fp, loading, err)
		}
		_, _, err = tx.OrderFingerprint(b.ID, "SO-1")
		notFound(t, "OrderFingerprint(another merchant's number)", err)
		return nil
	})
	// The number is unique per merchant only.
	newOrder(t, s, b, "SO-1")
	// An order for a merchant that does not exist is refused.
	err = s.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.CreateOrder(sampleOrder(&baoguan.Merchant{ID: a.ID + b.ID + 100}, "SO-9"))
	})
	if err == nil {
		t.Error("CreateOrder for a missing merchant succeeded")
	}
}

func testOrderStale(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	old := *o
	o.Subject = "first"
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateOrder(o) })
	old.Subject = "second"
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateOrder(&old) })
	wantErr(t, "UpdateOrder(stale)", err, baoguan.ECONFLICT, "stale")
	if old.Version != 1 {
		t.Errorf("stale UpdateOrder changed Version to %d", old.Version)
	}
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Order(m.ID, o.ID)
		if err == nil && (got.Subject != "first" || got.Version != 2) {
			t.Errorf("after stale update: subject %q version %d, want first/2", got.Subject, got.Version)
		}
		return err
	})
	ghost := *o
	ghost.ID += 100
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateOrder(&ghost) })
	notFound(t, "UpdateOrder(missing)", err)
}

func ids[T any](xs []T, id func(*T) int64) []int64 {
	out := make([]int64, len(xs))
	for i := range xs {
		out[i] = id(&xs[i])
	}
	return out
}

func orderID(o *baoguan.Order) int64 { return o.ID }

func testOrderPaging(t *testing.T, s baoguan.Store) {
	a := newMerchant(t, s, "acme")
	b := newMerchant(t, s, "bolt")
	var batch baoguan.Batch
	var want []int64
	update(t, s, func(tx baoguan.Tx) error {
		batch = baoguan.Batch{MerchantID: a.ID, No: "B1", Total: 3}
		if err := tx.CreateBatch(&batch); err != nil {
			return err
		}
		for i := range 10 {
			m := a
			if i%4 == 3 {
				m = b
			}
			o := sampleOrder(m, fmt.Sprintf("SO-%d", i))
			if i < 3 {
				o.BatchID = batch.ID
			}
			if i%2 == 0 {
				o.PayStatus = baoguan.PaySucceed
			}
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
			if m == a {
				want = append(want, o.ID)
			}
		}
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		// Oldest first, three at a time.
		var got []int64
		f := baoguan.OrderFilter{MerchantID: a.ID, Page: baoguan.Page{Limit: 3}}
		for range 10 {
			page, err := tx.ListOrders(f)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			if len(page) > 3 {
				t.Errorf("page of %d, limit 3", len(page))
			}
			got = append(got, ids(page, orderID)...)
			f.Cursor = page[len(page)-1].ID
		}
		same(t, "oldest-first pages", got, want)

		// Newest first.
		got = nil
		f = baoguan.OrderFilter{MerchantID: a.ID, Newest: true, Page: baoguan.Page{Limit: 4}}
		for range 10 {
			page, err := tx.ListOrders(f)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			got = append(got, ids(page, orderID)...)
			f.Cursor = page[len(page)-1].ID
		}
		rev := make([]int64, len(want))
		for i, id := range want {
			rev[len(want)-1-i] = id
		}
		same(t, "newest-first pages", got, rev)

		n, err := tx.CountOrders(baoguan.OrderFilter{MerchantID: a.ID})
		if err != nil {
			return err
		}
		if n != len(want) {
			t.Errorf("CountOrders = %d, want %d", n, len(want))
		}
		paid, err := tx.ListOrders(baoguan.OrderFilter{MerchantID: a.ID, PayStatus: baoguan.PaySucceed})
		if err != nil {
			return err
		}
		for _, o := range paid {
			if o.PayStatus != baoguan.PaySucceed || o.MerchantID != a.ID {
				t.Errorf("PayStatus filter returned %s of merchant %d", o.PayStatus, o.MerchantID)
			}
		}
		if len(paid) != 5 { // orders 0, 2, 4, 6 and 8 are paid, all merchant a's
			t.Errorf("ListOrders(PAY_SUCCEED) = %d orders, want 5", len(paid))
		}
		inBatch, err := tx.ListOrders(baoguan.OrderFilter{MerchantID: a.ID, BatchID: batch.ID})
		if err != nil {
			return err
		}
		same(t, "batch filter", ids(inBatch, orderID), want[:3])
		nd, err := tx.CountOrders(baoguan.OrderFilter{MerchantID: a.ID, DeclareStatus: baoguan.DeclareNone})
		if err != nil {
			return err
		}
		if nd != len(want) {
			t.Errorf("CountOrders(NOT_DECLARED) = %d, want %d", nd, len(want))
		}
		return nil
	})
}

func testOrderLimits(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	update(t, s, func(tx baoguan.Tx) error {
		for i := range 1001 {
			o := &baoguan.Order{MerchantID: m.ID, MerchantOrderNo: fmt.Sprintf("L-%d", i), Amount: 1, Currency: "CNY",
				Subject: "s", Channel: baoguan.ChannelMock, PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclareNone}
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		for _, c := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {7, 7}, {5000, 1000}} {
			page, err := tx.ListOrders(baoguan.OrderFilter{MerchantID: m.ID, Page: baoguan.Page{Limit: c.limit}})
			if err != nil {
				return err
			}
			if len(page) != c.want {
				t.Errorf("Limit %d: got %d orders, want %d", c.limit, len(page), c.want)
			}
		}
		return nil
	})
}

// ---- declarations, refunds, batches, events ----

func sampleDeclaration(o *baoguan.Order, customs, sub string) *baoguan.Declaration {
	return &baoguan.Declaration{
		OrderID: o.ID, MerchantID: o.MerchantID, Customs: customs, Port: "SANDBOX",
		Extras:     baoguan.CustomsExtras{AreaCode: "4403", JyOrg: "JY1", InType: "1"},
		SubOrderNo: sub, SubOrderID: "SUB" + sub, MerchantCustomsNo: "C123", Route: baoguan.RouteWeChatPay,
		OrderFee: 1000, TransportFee: 100, ProductFee: 900, Duty: 5,
		Strategy: baoguan.StrategyDiffPush, IdentityCheck: baoguan.CheckUnchecked,
		Payer: baoguan.Payer{Name: PayerName, IDType: "IDCARD", IDNumber: PayerIDNumber, Phone: PayerPhone},
		State: baoguan.DeclPending, SubmittedAt: at(3), ModifiedAt: at(4),
	}
}

func testDeclarations(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	d1 := sampleDeclaration(o, "SHANGHAI", "")
	d2 := sampleDeclaration(o, "GUANGZHOU", "S1")
	d3 := sampleDeclaration(o, "GUANGZHOU", "S2")
	update(t, s, func(tx baoguan.Tx) error {
		for _, d := range []*baoguan.Declaration{d1, d2, d3} {
			if err := tx.CreateDeclaration(d); err != nil {
				return err
			}
		}
		return nil
	})
	if d1.ID == 0 || d1.Version != 1 || d1.CreatedAt.IsZero() {
		t.Fatalf("CreateDeclaration did not set ID/Version/CreatedAt: %+v", d1)
	}
	for _, d := range []*baoguan.Declaration{sampleDeclaration(o, "SHANGHAI", ""), sampleDeclaration(o, "GUANGZHOU", "S1")} {
		err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateDeclaration(d) })
		wantErr(t, "duplicate declaration "+d.Customs+"/"+d.SubOrderNo, err, baoguan.ECONFLICT, "duplicate")
	}
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Declaration(m.ID, d2.ID)
		if err != nil {
			return err
		}
		same(t, "Declaration", got, d2)
		list, err := tx.Declarations(m.ID, o.ID)
		if err != nil {
			return err
		}
		same(t, "Declarations", list, []baoguan.Declaration{*d1, *d2, *d3})
		_, err = tx.Declaration(m.ID, d3.ID+10)
		notFound(t, "Declaration(missing)", err)
		list, err = tx.Declarations(m.ID, o.ID+10)
		if err != nil || len(list) != 0 {
			t.Errorf("Declarations(no such order) = %v, %v; want none", list, err)
		}
		return nil
	})
	old := *d1
	update(t, s, func(tx baoguan.Tx) error {
		if err := d1.Move(baoguan.DeclSubmitted); err != nil {
			return err
		}
		d1.Attempts, d1.PortRef, d1.Payer.IDNumber, d1.Route = 1, "REF1", "110105194912310029", baoguan.RouteEPort
		return tx.UpdateDeclaration(d1)
	})
	if d1.Version != 2 {
		t.Errorf("UpdateDeclaration: version %d, want 2", d1.Version)
	}
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateDeclaration(&old) })
	wantErr(t, "UpdateDeclaration(stale)", err, baoguan.ECONFLICT, "stale")
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Declaration(m.ID, d1.ID)
		if err == nil {
			same(t, "updated declaration", got, d1)
		}
		return err
	})
	ghost := *d1
	ghost.ID += 100
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateDeclaration(&ghost) })
	notFound(t, "UpdateDeclaration(missing)", err)
}

func testRefunds(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	mk := func(no string) *baoguan.Refund {
		return &baoguan.Refund{MerchantID: m.ID, OrderID: o.ID, MerchantOrderNo: o.MerchantOrderNo, MerchantRefundNo: no,
			Amount: 100, Reason: "damaged", Status: baoguan.RefundInit, Protocol: "native", CNYAmount: 87}
	}
	r1, r2 := mk("R1"), mk("R2")
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateRefund(r1); err != nil {
			return err
		}
		return tx.CreateRefund(r2)
	})
	if r1.ID == 0 || r1.Version != 1 || r1.CreatedAt.IsZero() || r1.UpdatedAt.IsZero() {
		t.Fatalf("CreateRefund did not set ID/Version/times: %+v", r1)
	}
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateRefund(mk("R1")) })
	wantErr(t, "duplicate refund", err, baoguan.ECONFLICT, "duplicate")
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Refund(m.ID, r1.ID)
		if err != nil {
			return err
		}
		same(t, "Refund", got, r1)
		got, err = tx.RefundByNo(m.ID, "R2")
		if err != nil {
			return err
		}
		same(t, "RefundByNo", got, r2)
		list, err := tx.Refunds(m.ID, o.ID)
		if err != nil {
			return err
		}
		same(t, "Refunds", list, []baoguan.Refund{*r1, *r2})
		_, err = tx.Refund(m.ID, r2.ID+10)
		notFound(t, "Refund(missing)", err)
		_, err = tx.RefundByNo(m.ID, "R3")
		notFound(t, "RefundByNo(missing)", err)
		return nil
	})
	old := *r1
	update(t, s, func(tx baoguan.Tx) error {
		if err := r1.Move(baoguan.RefundRequested); err != nil {
			return err
		}
		r1.RefundNo = "CH-R1"
		return tx.UpdateRefund(r1)
	})
	if r1.Version != 2 {
		t.Errorf("UpdateRefund: version %d, want 2", r1.Version)
	}
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateRefund(&old) })
	wantErr(t, "UpdateRefund(stale)", err, baoguan.ECONFLICT, "stale")
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Refund(m.ID, r1.ID)
		if err == nil {
			same(t, "updated refund", got, r1)
		}
		return err
	})
	ghost := *r1
	ghost.ID += 100
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateRefund(&ghost) })
	notFound(t, "UpdateRefund(missing)", err)
}

// testBatchSummaryAdd: baoguan.BatchSummary.Add, which counts the orders a
// batch upload stored as it stores them (core.BatchStored), counts as the
// store's BatchSummary does, for an order of every pay and declare status.
func testBatchSummaryAdd(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	b := &baoguan.Batch{MerchantID: m.ID, No: "B-ADD", Protocol: "native"}
	var want baoguan.BatchSummary
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateBatch(b); err != nil {
			return err
		}
		n := 0
		for _, pay := range baoguan.PayStatuses() {
			for _, decl := range []baoguan.DeclareStatus{baoguan.DeclareNone, baoguan.DeclarePending,
				baoguan.DeclareRunning, baoguan.DeclareDone, baoguan.DeclareFailedSt} {
				o := sampleOrder(m, fmt.Sprintf("ADD-%d", n))
				o.Amount, o.BatchID, o.PayStatus, o.DeclareStatus = int64(100+n), b.ID, pay, decl
				if err := tx.CreateOrder(o); err != nil {
					return err
				}
				want.Add(o)
				n++
			}
		}
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.BatchSummary(m.ID, b.ID)
		if err != nil {
			return err
		}
		same(t, "BatchSummary against Add", got, want)
		return nil
	})
}

func testBatches(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	b := &baoguan.Batch{MerchantID: m.ID, No: "20190320162344842", Total: 6, Amount: 600, Protocol: "payzero"}
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateBatch(b); err != nil {
			return err
		}
		for i, st := range []struct {
			pay  baoguan.PayStatus
			decl baoguan.DeclareStatus
		}{
			{baoguan.PaySucceed, baoguan.DeclareDone},
			{baoguan.PaySucceed, baoguan.DeclareFailedSt},
			{baoguan.PaySucceed, baoguan.DeclareRunning},
			{baoguan.PayFailed, baoguan.DeclareNone},
			{baoguan.PayApplied, baoguan.DeclareNone},
			{baoguan.PayNotPayed, baoguan.DeclarePending},
		} {
			o := sampleOrder(m, fmt.Sprintf("B-%d", i))
			o.Amount, o.BatchID, o.PayStatus, o.DeclareStatus = int64(100+i), b.ID, st.pay, st.decl
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
		}
		// An order outside the batch must not count.
		return tx.CreateOrder(sampleOrder(m, "other"))
	})
	if b.ID == 0 || b.CreatedAt.IsZero() {
		t.Fatalf("CreateBatch did not set ID/CreatedAt: %+v", b)
	}
	b.PayCalls = 1
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateBatch(b) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Batch(m.ID, b.ID)
		if err != nil {
			return err
		}
		same(t, "Batch", got, b)
		sum, err := tx.BatchSummary(m.ID, b.ID)
		if err != nil {
			return err
		}
		same(t, "BatchSummary", sum, baoguan.BatchSummary{Total: 6, PaySucceed: 3, PayFailed: 1, PayOther: 2,
			DeclareSucceed: 1, DeclareFailed: 1, DeclareOther: 4, PaidAmount: 100 + 101 + 102, Finished: 3})
		_, err = tx.Batch(m.ID, b.ID+1)
		notFound(t, "Batch(missing)", err)
		_, err = tx.BatchSummary(m.ID, b.ID+1)
		notFound(t, "BatchSummary(missing)", err)
		return nil
	})
	ghost := *b
	ghost.ID += 100
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateBatch(&ghost) })
	notFound(t, "UpdateBatch(missing)", err)

	// Batches: the merchant's, newest first, a page at a time.
	other := newMerchant(t, s, "other")
	b2 := &baoguan.Batch{MerchantID: m.ID, No: "B2", Total: 1, Amount: 1, Protocol: "console"}
	b3 := &baoguan.Batch{MerchantID: other.ID, No: "B3", Total: 1, Amount: 1, Protocol: "console"}
	loading := &baoguan.Batch{MerchantID: m.ID, No: "B4", Total: 1, Amount: 1, Protocol: "console", LoadingUntil: at(60)}
	update(t, s, func(tx baoguan.Tx) error {
		for _, x := range []*baoguan.Batch{b2, b3, loading} {
			if err := tx.CreateBatch(x); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Batches(m.ID, baoguan.Page{})
		if err != nil {
			return err
		}
		same(t, "Batches (not the one still loading)", got, []baoguan.Batch{*b2, *b})
		got, err = tx.Batches(m.ID, baoguan.Page{Limit: 1})
		if err != nil {
			return err
		}
		same(t, "Batches, first page", got, []baoguan.Batch{*b2})
		got, err = tx.Batches(m.ID, baoguan.Page{Cursor: b2.ID})
		if err != nil {
			return err
		}
		same(t, "Batches, next page", got, []baoguan.Batch{*b})
		got, err = tx.Batches(other.ID, baoguan.Page{})
		if err != nil {
			return err
		}
		same(t, "Batches of another merchant", got, []baoguan.Batch{*b3})
		return nil
	})
}

// A batch stored in chunks: while it loads (LoadingUntil set) its orders
// are hidden from lookups and lists, but hold their numbers
// (OrderFingerprint); its lease is a compare-and-set; a discarded load's
// orders and declarations can be deleted, freeing their numbers.
func testBatchLoading(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	now := time.Now().UTC().Truncate(time.Millisecond)
	b := &baoguan.Batch{MerchantID: m.ID, No: "LOAD-1", Total: 3, Amount: 300, LoadingUntil: now.Add(time.Minute), Fingerprint: "fp1"}
	var ids []int64
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateBatch(b); err != nil {
			return err
		}
		for i := 0; i < 2; i++ {
			o := sampleOrder(m, fmt.Sprintf("L-%d", i))
			o.BatchID = b.ID
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
			if err := tx.CreateDeclaration(sampleDeclaration(o, "HG014", "")); err != nil {
				return err
			}
			ids = append(ids, o.ID)
		}
		return tx.CreateOrder(sampleOrder(m, "alone"))
	})
	view(t, s, func(tx baoguan.Tx) error {
		if _, err := tx.OrderByNo(m.ID, "L-0"); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
			t.Errorf("OrderByNo of a loading batch's order: %v", err)
		}
		if fp, loading, err := tx.OrderFingerprint(m.ID, "L-0"); err != nil || fp != "fp-L-0" || !loading {
			t.Errorf("OrderFingerprint of a loading batch's order = %q, %v, %v; want its fingerprint, loading", fp, loading, err)
		}
		if fp, loading, err := tx.OrderFingerprint(m.ID, "alone"); err != nil || fp != "fp-alone" || loading {
			t.Errorf("OrderFingerprint of an order outside batches = %q, %v, %v", fp, loading, err)
		}
		if os, err := tx.ListOrders(baoguan.OrderFilter{MerchantID: m.ID}); err != nil || len(os) != 1 {
			t.Errorf("ListOrders while a batch loads: %d %v, want the one order outside it", len(os), err)
		}
		if n, err := tx.CountOrders(baoguan.OrderFilter{MerchantID: m.ID, BatchID: b.ID}); err != nil || n != 0 {
			t.Errorf("CountOrders of a loading batch: %d %v", n, err)
		}
		got, err := tx.LoadingBatch(m.ID, "fp1")
		if err != nil || got.ID != b.ID || !got.LoadingUntil.Equal(b.LoadingUntil) || got.Fingerprint != "fp1" {
			t.Errorf("LoadingBatch: %+v %v", got, err)
		}
		_, err = tx.LoadingBatch(m.ID, "fp2")
		notFound(t, "LoadingBatch(other fingerprint)", err)
		if st, err := tx.StaleBatchLoads(now, 10); err != nil || len(st) != 0 {
			t.Errorf("StaleBatchLoads before the lease ends: %v %v", st, err)
		}
		if st, err := tx.StaleBatchLoads(now.Add(2*time.Minute), 10); err != nil || len(st) != 1 || st[0].ID != b.ID {
			t.Errorf("StaleBatchLoads after the lease: %v %v", st, err)
		}
		return nil
	})
	// A lease taken with the wrong previous value is refused.
	wrong := *b
	wrong.LoadingUntil = now.Add(2 * time.Minute)
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.LeaseBatch(&wrong, now) })
	if baoguan.ErrorCode(err) != baoguan.ECONFLICT {
		t.Errorf("LeaseBatch with a stale lease: %v", err)
	}
	// Loaded: the orders show.
	prev := b.LoadingUntil
	b.LoadingUntil, b.Loaded = time.Time{}, 3
	update(t, s, func(tx baoguan.Tx) error { return tx.LeaseBatch(b, prev) })
	view(t, s, func(tx baoguan.Tx) error {
		if o, err := tx.OrderByNo(m.ID, "L-1"); err != nil || o.BatchID != b.ID {
			t.Errorf("OrderByNo once loaded: %v", err)
		}
		if fp, loading, err := tx.OrderFingerprint(m.ID, "L-1"); err != nil || fp != "fp-L-1" || loading {
			t.Errorf("OrderFingerprint once loaded = %q, %v, %v", fp, loading, err)
		}
		if n, err := tx.CountOrders(baoguan.OrderFilter{MerchantID: m.ID, BatchID: b.ID}); err != nil || n != 2 {
			t.Errorf("CountOrders once loaded: %d %v", n, err)
		}
		got, err := tx.Batch(m.ID, b.ID)
		if err != nil || got.Loading() || got.Loaded != 3 {
			t.Errorf("Batch once loaded: %+v %v", got, err)
		}
		return nil
	})
	// Deleting: ids, then orders with declarations.
	update(t, s, func(tx baoguan.Tx) error {
		gotIDs, err := tx.BatchOrderIDs(m.ID, b.ID, 10)
		if err != nil {
			return err
		}
		same(t, "BatchOrderIDs", gotIDs, ids)
		if n, err := tx.DeleteOrders(m.ID, ids); err != nil || n != 2 {
			t.Errorf("DeleteOrders: %d %v", n, err)
		}
		return tx.DeleteBatch(m.ID, b.ID)
	})
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.Batch(m.ID, b.ID)
		notFound(t, "Batch(deleted)", err)
		_, _, err = tx.OrderFingerprint(m.ID, "L-0")
		notFound(t, "OrderFingerprint(deleted)", err)
		if ds, err := tx.DeclarationsOfOrders(ids); err != nil || len(ds) != 0 {
			t.Errorf("declarations of deleted orders: %d %v", len(ds), err)
		}
		if os, err := tx.ListOrders(baoguan.OrderFilter{MerchantID: m.ID}); err != nil || len(os) != 1 {
			t.Errorf("ListOrders after the delete: %d %v", len(os), err)
		}
		return nil
	})
}

func testEvents(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o1 := newOrder(t, s, m, "SO-1")
	o2 := newOrder(t, s, m, "SO-2")
	var evs []*baoguan.Event
	update(t, s, func(tx baoguan.Tx) error {
		for i, o := range []*baoguan.Order{o1, o2, o1, o2, o1} {
			e := &baoguan.Event{PublicID: fmt.Sprintf("evt_%d", i), MerchantID: m.ID, OrderID: o.ID,
				Type: baoguan.EventOrderPaid, Protocol: "native", URL: "https://acme.example/hook",
				ContentType: "application/json", Body: []byte(`{"n":` + fmt.Sprint(i) + `}`), Status: baoguan.EventPending}
			if i == 4 {
				e.Type = baoguan.EventDeclSucceeded
			}
			if err := tx.CreateEvent(e); err != nil {
				return err
			}
			evs = append(evs, e)
		}
		return nil
	})
	if evs[0].ID == 0 || evs[0].CreatedAt.IsZero() {
		t.Fatalf("CreateEvent did not set ID/CreatedAt: %+v", evs[0])
	}
	e := evs[0]
	e.Status, e.Attempts, e.DeliveredAt = baoguan.EventDelivered, 2, at(9)
	e.Body = []byte(`{"n":0,"rendered":"again"}`) // a replay may render the body again
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.UpdateEvent(e); err != nil {
			return err
		}
		for _, st := range []int{500, 200} {
			a := &baoguan.Attempt{EventID: e.ID, At: at(st / 100), Status: st, LatencyMS: 12, Error: "", Response: "ok"}
			if err := tx.AddAttempt(a); err != nil {
				return err
			}
			if a.ID == 0 {
				t.Error("AddAttempt did not set ID")
			}
		}
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Event(m.ID, e.ID)
		if err != nil {
			return err
		}
		same(t, "Event", got, e)
		_, err = tx.Event(m.ID, evs[4].ID+10)
		notFound(t, "Event(missing)", err)
		atts, err := tx.Attempts(e.ID)
		if err != nil {
			return err
		}
		if len(atts) != 2 || atts[0].Status != 500 || atts[1].Status != 200 || !atts[1].At.Equal(at(2)) {
			t.Errorf("Attempts = %+v", atts)
		}

		byOrder, err := tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID, OrderID: o1.ID})
		if err != nil {
			return err
		}
		same(t, "events of order 1", ids(byOrder, func(e *baoguan.Event) int64 { return e.ID }), []int64{evs[0].ID, evs[2].ID, evs[4].ID})
		byType, err := tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID, Type: baoguan.EventDeclSucceeded})
		if err != nil {
			return err
		}
		if len(byType) != 1 || byType[0].ID != evs[4].ID {
			t.Errorf("events by type = %v", byType)
		}
		pending, err := tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID, Status: baoguan.EventPending})
		if err != nil {
			return err
		}
		if len(pending) != 4 {
			t.Errorf("%d pending events, want 4", len(pending))
		}
		// By status, in id order and by pages, the pending ones (their
		// own index on SQLite) as the others.
		evID := func(e *baoguan.Event) int64 { return e.ID }
		var paged []int64
		pf := baoguan.EventFilter{MerchantID: m.ID, Status: baoguan.EventPending, Page: baoguan.Page{Limit: 3}}
		for range 3 {
			page, err := tx.ListEvents(pf)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, ids(page, evID)...)
			pf.Cursor = page[len(page)-1].ID
		}
		same(t, "pending events by pages", paged, []int64{evs[1].ID, evs[2].ID, evs[3].ID, evs[4].ID})
		delivered, err := tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID, Status: baoguan.EventDelivered})
		if err != nil {
			return err
		}
		same(t, "delivered events", ids(delivered, evID), []int64{evs[0].ID})
		everyPending, err := tx.ListEvents(baoguan.EventFilter{Status: baoguan.EventPending, Page: baoguan.Page{Cursor: evs[1].ID}})
		if err != nil {
			return err
		}
		var ours []int64 // other tests may share the store
		for _, e := range everyPending {
			if e.MerchantID == m.ID {
				ours = append(ours, e.ID)
			}
		}
		same(t, "every merchant's pending events after the first", ours, []int64{evs[2].ID, evs[3].ID, evs[4].ID})
		var all []int64
		f := baoguan.EventFilter{MerchantID: m.ID, Page: baoguan.Page{Limit: 2}}
		for range 5 {
			page, err := tx.ListEvents(f)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				all = append(all, e.ID)
			}
			f.Cursor = page[len(page)-1].ID
		}
		if len(all) != 5 {
			t.Errorf("paged through %d events, want 5", len(all))
		}
		return nil
	})
	ghost := *e
	ghost.ID += 100
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateEvent(&ghost) })
	notFound(t, "UpdateEvent(missing)", err)
}

// testMerchantIsolation: merchant B guessing A's ids and numbers finds
// nothing, and cannot change A's rows.
func testMerchantIsolation(t *testing.T, s baoguan.Store) {
	a := newMerchant(t, s, "acme")
	b := newMerchant(t, s, "bolt")
	o := newOrder(t, s, a, "SO-1")
	d := sampleDeclaration(o, "SHANGHAI", "")
	r := &baoguan.Refund{MerchantID: a.ID, OrderID: o.ID, MerchantOrderNo: "SO-1", MerchantRefundNo: "R1", Amount: 1, Status: baoguan.RefundInit}
	e := &baoguan.Event{PublicID: "evt_iso", MerchantID: a.ID, OrderID: o.ID, Type: baoguan.EventOrderPaid, Body: []byte("{}"), Status: baoguan.EventPending}
	bt := &baoguan.Batch{MerchantID: a.ID, No: "B1"}
	update(t, s, func(tx baoguan.Tx) error {
		return errors.Join(tx.CreateDeclaration(d), tx.CreateRefund(r), tx.CreateEvent(e), tx.CreateBatch(bt),
			tx.PutIdempotency(&baoguan.IdemRecord{MerchantID: a.ID, Key: "k1", RequestHash: "h", Status: 200, Body: []byte("{}")}))
	})
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.Order(b.ID, o.ID)
		notFound(t, "B reads A's order by id", err)
		_, err = tx.OrderByNo(b.ID, "SO-1")
		notFound(t, "B reads A's order by number", err)
		_, err = tx.OrderByPaymentNo(b.ID, o.Payment.No)
		notFound(t, "B reads A's order by payment number", err)
		_, err = tx.Declaration(b.ID, d.ID)
		notFound(t, "B reads A's declaration", err)
		if ds, err := tx.Declarations(b.ID, o.ID); err != nil || len(ds) != 0 {
			t.Errorf("B lists A's declarations: %v, %v", ds, err)
		}
		_, err = tx.Refund(b.ID, r.ID)
		notFound(t, "B reads A's refund by id", err)
		_, err = tx.RefundByNo(b.ID, "R1")
		notFound(t, "B reads A's refund by number", err)
		if rs, err := tx.Refunds(b.ID, o.ID); err != nil || len(rs) != 0 {
			t.Errorf("B lists A's refunds: %v, %v", rs, err)
		}
		_, err = tx.Event(b.ID, e.ID)
		notFound(t, "B reads A's event", err)
		if es, err := tx.ListEvents(baoguan.EventFilter{MerchantID: b.ID, OrderID: o.ID}); err != nil || len(es) != 0 {
			t.Errorf("B lists A's events: %v, %v", es, err)
		}
		if os, err := tx.ListOrders(baoguan.OrderFilter{MerchantID: b.ID}); err != nil || len(os) != 0 {
			t.Errorf("B lists A's orders: %v, %v", os, err)
		}
		_, err = tx.Batch(b.ID, bt.ID)
		notFound(t, "B reads A's batch", err)
		_, err = tx.BatchSummary(b.ID, bt.ID)
		notFound(t, "B reads A's batch summary", err)
		_, err = tx.Idempotency(b.ID, "k1")
		notFound(t, "B reads A's idempotency record", err)
		return nil
	})
	// Writes naming B as the owner do not reach A's rows.
	for what, fn := range map[string]func(baoguan.Tx) error{
		"order":       func(tx baoguan.Tx) error { c := *o; c.MerchantID = b.ID; return tx.UpdateOrder(&c) },
		"declaration": func(tx baoguan.Tx) error { c := *d; c.MerchantID = b.ID; return tx.UpdateDeclaration(&c) },
		"refund":      func(tx baoguan.Tx) error { c := *r; c.MerchantID = b.ID; return tx.UpdateRefund(&c) },
		"event":       func(tx baoguan.Tx) error { c := *e; c.MerchantID = b.ID; return tx.UpdateEvent(&c) },
		"batch":       func(tx baoguan.Tx) error { c := *bt; c.MerchantID = b.ID; return tx.UpdateBatch(&c) },
	} {
		notFound(t, "B updates A's "+what, s.Update(context.Background(), fn))
	}
}

// ---- jobs ----

func testJobDedupe(t *testing.T, s baoguan.Store) {
	var first, second baoguan.Job
	update(t, s, func(tx baoguan.Tx) error {
		first = baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "pay:1", RefID: 1, MerchantID: 1, MaxAttempts: 5}
		ok, err := tx.Enqueue(&first)
		if err != nil || !ok {
			t.Errorf("first Enqueue = %v, %v", ok, err)
		}
		return nil
	})
	update(t, s, func(tx baoguan.Tx) error {
		second = baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "pay:1", RefID: 1, MerchantID: 1}
		ok, err := tx.Enqueue(&second)
		if err != nil || ok {
			t.Errorf("second Enqueue = %v, %v; want false, nil", ok, err)
		}
		// Jobs without a dedupe key are never deduplicated.
		for range 2 {
			j := baoguan.Job{Kind: baoguan.JobNotify, RefID: 2}
			if ok, err := tx.Enqueue(&j); err != nil || !ok {
				t.Errorf("Enqueue without key = %v, %v", ok, err)
			}
		}
		return nil
	})
	if first.ID == 0 || first.State != baoguan.JobQueued || first.RunAt.IsZero() || first.CreatedAt.IsZero() {
		t.Errorf("Enqueue did not default State/RunAt or set ID/CreatedAt: %+v", first)
	}
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Job(first.ID)
		if err != nil {
			return err
		}
		same(t, "Job", got, &first)
		_, err = tx.Job(first.ID + 100)
		notFound(t, "Job(missing)", err)
		n, err := tx.CountJobs(baoguan.JobQueued)
		if err != nil {
			return err
		}
		same(t, "CountJobs", n, map[string]int{baoguan.JobPay: 1, baoguan.JobNotify: 2})
		return nil
	})
}

func enqueue(t *testing.T, s baoguan.Store, jobs ...*baoguan.Job) {
	t.Helper()
	update(t, s, func(tx baoguan.Tx) error {
		for _, j := range jobs {
			if _, err := tx.Enqueue(j); err != nil {
				return err
			}
		}
		return nil
	})
}

func claim(t *testing.T, s baoguan.Store, kinds []string, n int, lease time.Duration) []baoguan.Job {
	t.Helper()
	var got []baoguan.Job
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		got, err = tx.Claim(kinds, n, lease)
		return err
	})
	return got
}

func jobID(j *baoguan.Job) int64 { return j.ID }

func testJobClaimFinish(t *testing.T, s baoguan.Store) {
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	old := &baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "a", RunAt: now.Add(-2 * time.Minute)}
	older := &baoguan.Job{Kind: baoguan.JobDeclare, DedupeKey: "b", RunAt: now.Add(-3 * time.Minute)}
	recent := &baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "c", RunAt: now.Add(-time.Minute)}
	future := &baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "d", RunAt: now.Add(time.Hour)}
	enqueue(t, s, old, older, recent, future)

	// Oldest first, counted, leased; the kind filter holds.
	got := claim(t, s, []string{baoguan.JobPay}, 1, time.Minute)
	same(t, "first claim", ids(got, jobID), []int64{old.ID})
	if len(got) == 1 {
		j := got[0]
		if j.State != baoguan.JobRunning || j.Attempts != 1 || !j.LeaseUntil.After(now) {
			t.Errorf("claimed job: state %s attempts %d lease %v", j.State, j.Attempts, j.LeaseUntil)
		}
	}
	rest := claim(t, s, nil, 10, time.Minute)
	same(t, "second claim", ids(rest, jobID), []int64{older.ID, recent.ID}) // not the future one, not the leased one
	if again := claim(t, s, nil, 10, time.Minute); len(again) != 0 {
		t.Errorf("claim with nothing due returned %v", ids(again, jobID))
	}

	// Finish: done, dead, and queued again for later.
	j := got[0]
	j.State = baoguan.JobDone
	update(t, s, func(tx baoguan.Tx) error { return tx.FinishJob(&j) })
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.FinishJob(&j) })
	wantErr(t, "finishing a finished job", err, baoguan.ECONFLICT, "lease_lost")
	dead, retry := rest[0], rest[1]
	dead.State, dead.LastError = baoguan.JobDead, "permanent: bad payer"
	retry.State, retry.RunAt, retry.LastError = baoguan.JobQueued, now.Add(time.Hour), "timeout"
	update(t, s, func(tx baoguan.Tx) error { return errors.Join(tx.FinishJob(&dead), tx.FinishJob(&retry)) })
	if again := claim(t, s, nil, 10, time.Minute); len(again) != 0 {
		t.Errorf("claim after finishing returned %v", ids(again, jobID))
	}
	view(t, s, func(tx baoguan.Tx) error {
		for _, want := range []baoguan.Job{j, dead, retry} {
			got, err := tx.Job(want.ID)
			if err != nil {
				return err
			}
			if got.State != want.State || got.LastError != want.LastError || !got.RunAt.Equal(want.RunAt) || got.Attempts != 1 {
				t.Errorf("job %d after finish: %+v, want state %s error %q run_at %v", want.ID, got, want.State, want.LastError, want.RunAt)
			}
		}
		return nil
	})
	ghost := j
	ghost.ID += 100
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.FinishJob(&ghost) })
	notFound(t, "FinishJob(missing)", err)
}

func testJobLeaseExpiry(t *testing.T, s baoguan.Store) {
	j := &baoguan.Job{Kind: baoguan.JobPoll, DedupeKey: "poll:1"}
	enqueue(t, s, j)
	// The store clock stands still between claims, so the second claim is
	// inside the lease whatever the machine's load; moving it past the
	// lease expires it.
	first := claim(t, s, nil, 1, 300*time.Millisecond)
	if len(first) != 1 {
		t.Fatalf("first claim: %v", first)
	}
	advance(t, s, 299*time.Millisecond)
	if again := claim(t, s, nil, 1, time.Minute); len(again) != 0 {
		t.Fatalf("a leased job was claimed again before its lease ended")
	}
	advance(t, s, 2*time.Millisecond)
	second := claim(t, s, nil, 1, time.Minute)
	if len(second) != 1 || second[0].ID != j.ID || second[0].Attempts != 2 {
		t.Fatalf("expired lease not re-claimed: %+v", second)
	}
	stale := first[0]
	stale.State = baoguan.JobDone
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.FinishJob(&stale) })
	wantErr(t, "FinishJob by the claimant that lost its lease", err, baoguan.ECONFLICT, "lease_lost")
	cur := second[0]
	cur.State = baoguan.JobDone
	update(t, s, func(tx baoguan.Tx) error { return tx.FinishJob(&cur) })
}

func testJobConcurrentClaims(t *testing.T, s baoguan.Store) {
	const jobs, workers = 200, 8
	update(t, s, func(tx baoguan.Tx) error {
		for i := range jobs {
			if _, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobNotify, DedupeKey: fmt.Sprint("n", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	takeConcurrently(t, s, context.Background(), workers, jobs, "job", func(tx baoguan.Tx) ([]int64, error) {
		got, err := tx.Claim(nil, 7, time.Hour)
		ids := make([]int64, len(got))
		for i, j := range got {
			ids[i] = j.ID
		}
		return ids, err
	})
}

// takeConcurrently runs take in workers concurrent Updates until every one
// of them takes nothing, and checks that each of want things was taken
// exactly once, whatever transaction took it.
func takeConcurrently(t *testing.T, s baoguan.Store, ctx context.Context, workers, want int, what string, take func(baoguan.Tx) ([]int64, error)) {
	t.Helper()
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				var got []int64
				err := s.Update(ctx, func(tx baoguan.Tx) error {
					var err error
					got, err = take(tx)
					return err
				})
				if err != nil {
					t.Errorf("taking %ss: %v", what, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, id := range got {
					seen[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != want {
		t.Errorf("%d distinct %ss taken, want %d", len(seen), what, want)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s %d taken %d times", what, id, n)
		}
	}
}

func testJobListsAndCounts(t *testing.T, s baoguan.Store) {
	var all []*baoguan.Job
	for i := range 6 {
		kind := baoguan.JobPay
		if i%2 == 1 {
			kind = baoguan.JobNotify
		}
		all = append(all, &baoguan.Job{Kind: kind, DedupeKey: fmt.Sprint("j", i)})
	}
	enqueue(t, s, all...)
	got := claim(t, s, []string{baoguan.JobNotify}, 2, time.Minute)
	for i := range got {
		got[i].State, got[i].LastError = baoguan.JobDead, "gave up"
	}
	update(t, s, func(tx baoguan.Tx) error {
		for i := range got {
			if err := tx.FinishJob(&got[i]); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		dead, err := tx.ListJobs(baoguan.JobFilter{State: baoguan.JobDead})
		if err != nil {
			return err
		}
		same(t, "dead jobs", ids(dead, jobID), []int64{all[1].ID, all[3].ID})
		for _, j := range dead {
			if j.LastError != "gave up" {
				t.Errorf("dead job %d: last error %q", j.ID, j.LastError)
			}
		}
		pays, err := tx.ListJobs(baoguan.JobFilter{Kind: baoguan.JobPay, Page: baoguan.Page{Limit: 2}})
		if err != nil {
			return err
		}
		same(t, "pay jobs, page 1", ids(pays, jobID), []int64{all[0].ID, all[2].ID})
		pays, err = tx.ListJobs(baoguan.JobFilter{Kind: baoguan.JobPay, Page: baoguan.Page{Limit: 2, Cursor: pays[len(pays)-1].ID}})
		if err != nil {
			return err
		}
		same(t, "pay jobs, page 2", ids(pays, jobID), []int64{all[4].ID})
		for state, want := range map[baoguan.JobState]map[string]int{
			baoguan.JobDead:    {baoguan.JobNotify: 2},
			baoguan.JobQueued:  {baoguan.JobPay: 3, baoguan.JobNotify: 1},
			baoguan.JobRunning: {},
		} {
			n, err := tx.CountJobs(state)
			if err != nil {
				return err
			}
			same(t, "CountJobs("+string(state)+")", n, want)
		}
		return nil
	})
}

// ---- idempotency, transactions ----

func testIdempotency(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	rec := &baoguan.IdemRecord{MerchantID: m.ID, Key: "req-1", RequestHash: "abc", Status: 201, Body: []byte(`{"id":1}`)}
	update(t, s, func(tx baoguan.Tx) error { return tx.PutIdempotency(rec) })
	if rec.CreatedAt.IsZero() {
		t.Error("PutIdempotency did not set CreatedAt")
	}
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.PutIdempotency(&baoguan.IdemRecord{MerchantID: m.ID, Key: "req-1", RequestHash: "other", Status: 200})
	})
	wantErr(t, "second PutIdempotency", err, baoguan.ECONFLICT, "duplicate")
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Idempotency(m.ID, "req-1")
		if err != nil {
			return err
		}
		same(t, "Idempotency", got, rec)
		_, err = tx.Idempotency(m.ID, "req-2")
		notFound(t, "Idempotency(missing)", err)
		return nil
	})
}

func testUpdateRollsBack(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		if err := tx.CreateOrder(sampleOrder(m, "SO-1")); err != nil {
			return err
		}
		if _, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "pay:SO-1"}); err != nil {
			return err
		}
		if _, err := tx.DebitFunding(m.ID, 100); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.OrderByNo(m.ID, "SO-1")
		notFound(t, "order written by a failed Update", err)
		if n, err := tx.CountJobs(""); err != nil || len(n) != 0 {
			t.Errorf("jobs after a failed Update: %v, %v", n, err)
		}
		if got, err := tx.Merchant(m.ID); err != nil || got.FundingBalance != m.FundingBalance {
			t.Errorf("balance after a failed Update: %v, %v", got, err)
		}
		return nil
	})
	// The dedupe key the failed Update used is free again.
	update(t, s, func(tx baoguan.Tx) error {
		ok, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "pay:SO-1"})
		if err == nil && !ok {
			t.Error("dedupe key of a rolled-back job still taken")
		}
		return err
	})
}

// testConcurrentUpdatesFailAlone: a store may commit concurrent Updates
// together, but a failing fn must take only its own writes with it.
func testConcurrentUpdatesFailAlone(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	const n = 50
	boom := errors.New("boom")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			err := s.Update(context.Background(), func(tx baoguan.Tx) error {
				o := sampleOrder(m, fmt.Sprintf("G-%d", i))
				if err := tx.CreateOrder(o); err != nil {
					return err
				}
				if _, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: o.MerchantOrderNo, RefID: o.ID}); err != nil {
					return err
				}
				if i%5 == 0 {
					return boom
				}
				return nil
			})
			if i%5 == 0 && !errors.Is(err, boom) || i%5 != 0 && err != nil {
				t.Errorf("Update %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	view(t, s, func(tx baoguan.Tx) error {
		for i := range n {
			_, err := tx.OrderByNo(m.ID, fmt.Sprintf("G-%d", i))
			switch {
			case i%5 == 0 && baoguan.ErrorCode(err) != baoguan.ENOTFOUND:
				t.Errorf("order %d of a failed Update: %v", i, err)
			case i%5 != 0 && err != nil:
				t.Errorf("order %d of a good Update: %v", i, err)
			}
		}
		c, err := tx.CountOrders(baoguan.OrderFilter{MerchantID: m.ID})
		if err != nil {
			return err
		}
		jobs, err := tx.CountJobs(baoguan.JobQueued)
		if err != nil {
			return err
		}
		if c != 40 || jobs[baoguan.JobPay] != 40 {
			t.Errorf("%d orders and %d jobs, want 40 of each", c, jobs[baoguan.JobPay])
		}
		return nil
	})
}

func testViewIsReadOnly(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	err := s.View(context.Background(), func(tx baoguan.Tx) error {
		return tx.CreateOrder(sampleOrder(m, "SO-1"))
	})
	if err == nil {
		t.Error("a write inside View succeeded")
	}
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.OrderByNo(m.ID, "SO-1")
		notFound(t, "order written in View", err)
		return nil
	})
}

func testCancelledContext(t *testing.T, s baoguan.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx baoguan.Tx) error {
		ran = true
		return tx.CreateMerchant(&baoguan.Merchant{No: "x", Name: "x", Status: baoguan.MerchantActive, Mode: baoguan.ModeSandbox})
	})
	if err == nil {
		t.Error("Update with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) && !strings.Contains(fmt.Sprint(err), "cancel") {
		t.Errorf("Update with a cancelled context: %v", err)
	}
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.MerchantByName("x")
		if ran && err == nil {
			t.Error("an Update with a cancelled context committed")
		}
		return nil
	})
}

func testSettings(t *testing.T, s baoguan.Store) {
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.Setting("platform.key")
		wantErr(t, "unset setting", err, baoguan.ENOTFOUND, "")
		return nil
	})
	var first, second bool
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		first, err = tx.PutSetting("platform.key", "one", true)
		return err
	})
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		second, err = tx.PutSetting("platform.key", "two", true)
		return err
	})
	if !first || second {
		t.Errorf("onlyNew stored first=%v second=%v, want true false", first, second)
	}
	view(t, s, func(tx baoguan.Tx) error {
		if v, err := tx.Setting("platform.key"); err != nil || v != "one" {
			t.Errorf("Setting = %q, %v; want the first value", v, err)
		}
		return nil
	})
	update(t, s, func(tx baoguan.Tx) error {
		_, err := tx.PutSetting("platform.key", "three", false)
		return err
	})
	view(t, s, func(tx baoguan.Tx) error {
		if v, _ := tx.Setting("platform.key"); v != "three" {
			t.Errorf("overwrite: Setting = %q, want three", v)
		}
		return nil
	})
}

func testTakeToken(t *testing.T, s baoguan.Store) {
	take := func(key string) bool {
		var ok bool
		update(t, s, func(tx baoguan.Tx) error {
			var err error
			ok, err = tx.TakeToken(key, 0.001, 3) // refills one token in 1000 s: none during the test
			return err
		})
		return ok
	}
	for i := 1; i <= 3; i++ {
		if !take("mch:A") {
			t.Fatalf("token %d of a burst of 3 refused", i)
		}
	}
	if take("mch:A") {
		t.Fatal("a fourth token was granted from a bucket of 3")
	}
	if !take("mch:B") {
		t.Fatal("another bucket was affected")
	}
	// A fast refill gives tokens back.
	var ok bool
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		ok, err = tx.TakeToken("mch:C", 1e6, 1)
		return err
	})
	if !ok {
		t.Fatal("first token of a fast bucket refused")
	}
	advance(t, s, 5*time.Millisecond)
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		ok, err = tx.TakeToken("mch:C", 1e6, 1)
		return err
	})
	if !ok {
		t.Fatal("a bucket refilling a million tokens a second stayed empty")
	}
	// Tokens reads without taking: a fresh bucket is full, a used one
	// holds what is left, and reading twice changes nothing.
	tokens := func(key string, rate float64, burst int) float64 {
		var n float64
		view(t, s, func(tx baoguan.Tx) error {
			var err error
			n, err = tx.Tokens(key, rate, burst)
			return err
		})
		return n
	}
	if n := tokens("mch:never", 0.001, 5); n != 5 {
		t.Errorf("an unused bucket holds %v tokens, want its burst 5", n)
	}
	if n := tokens("mch:A", 0.001, 3); n >= 1 {
		t.Errorf("an emptied bucket holds %v tokens, want less than 1", n)
	}
	if n := tokens("mch:A", 0.001, 3); n >= 1 {
		t.Errorf("reading a bucket twice gave it tokens: %v", n)
	}
	if n := tokens("mch:B", 0.001, 3); n < 1.99 || n > 2.01 {
		t.Errorf("a bucket of 3 with one taken holds %v, want 2", n)
	}
	// Idle buckets go; a bucket changed since stays.
	advance(t, s, time.Hour)
	update(t, s, func(tx baoguan.Tx) error {
		_, err := tx.TakeToken("mch:fresh", 0.001, 3)
		return err
	})
	var gone int
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		gone, err = tx.DeleteIdleBuckets(tx.Now().Add(-time.Minute), 100)
		return err
	})
	if gone != 3 {
		t.Errorf("DeleteIdleBuckets deleted %d buckets, want the 3 idle ones", gone)
	}
	if n := tokens("mch:A", 0.001, 3); n != 3 {
		t.Errorf("a deleted bucket holds %v tokens, want a full 3", n)
	}
	if n := tokens("mch:fresh", 0.001, 3); n >= 2.5 {
		t.Errorf("a bucket used a moment ago was deleted: %v tokens", n)
	}
}

// CardNo is the card number the suite stores; the sqlite tests search the
// file for it.
const CardNo = "6217920151050000"

func testFundingCards(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	other := newMerchant(t, s, "other")
	view(t, s, func(tx baoguan.Tx) error {
		f, err := tx.FundingCards(m.ID)
		if err == nil && (f.Recorded || len(f.Cards) != 0) {
			t.Errorf("cards of a merchant that recorded none: %+v", f)
		}
		return err
	})
	cards := []baoguan.FundingCard{
		{BankCode: "0308", AcctName: "某某贸易有限公司", AcctNo: CardNo, Signed: true, Balance: 5000000},
		{BankCode: "0102", AcctName: "某某", AcctNo: "6222020200112233445", Balance: 0},
	}
	update(t, s, func(tx baoguan.Tx) error { return tx.ReplaceFundingCards(m.ID, cards) })
	view(t, s, func(tx baoguan.Tx) error {
		f, err := tx.FundingCards(m.ID)
		if err != nil {
			return err
		}
		if !f.Recorded || !f.UpdatedAt.Equal(tx.Now()) {
			t.Errorf("recorded %v at %v", f.Recorded, f.UpdatedAt)
		}
		same(t, "cards in the order given", f.Cards, cards)
		o, err := tx.FundingCards(other.ID)
		if err == nil && (o.Recorded || len(o.Cards) != 0) {
			t.Errorf("another merchant sees cards: %+v", o)
		}
		return err
	})
	// Replacing takes the new list whole; an empty list is "no card", not
	// "never recorded".
	update(t, s, func(tx baoguan.Tx) error { return tx.ReplaceFundingCards(m.ID, cards[1:]) })
	view(t, s, func(tx baoguan.Tx) error {
		f, err := tx.FundingCards(m.ID)
		if err == nil {
			same(t, "replaced cards", f.Cards, cards[1:])
		}
		return err
	})
	update(t, s, func(tx baoguan.Tx) error { return tx.ReplaceFundingCards(m.ID, nil) })
	view(t, s, func(tx baoguan.Tx) error {
		f, err := tx.FundingCards(m.ID)
		if err == nil && (!f.Recorded || len(f.Cards) != 0) {
			t.Errorf("after recording no card: %+v", f)
		}
		return err
	})
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.ReplaceFundingCards(m.ID+100, cards) })
	notFound(t, "ReplaceFundingCards(missing merchant)", err)
}

func testCardAgreements(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	other := newMerchant(t, s, "other")
	a := &baoguan.CardAgreement{MerchantID: m.ID, RequestID: "REQ1", AcctName: "王五", AcctNo: CardNo, AcctType: "02",
		BankCode: "999", IDNo: PayerIDNumber, Mobile: PayerPhone, ValidDate: "2912", PSP: "ALLINPAY", AppliedAt: at(1)}
	update(t, s, func(tx baoguan.Tx) error { return tx.PutCardAgreement(a) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.CardAgreementByRequest(m.ID, "REQ1")
		if err != nil {
			return err
		}
		same(t, "applied agreement", got, a)
		_, err = tx.CardAgreement(m.ID, "")
		notFound(t, "an unconfirmed agreement by an empty number", err)
		_, err = tx.CardAgreementByRequest(other.ID, "REQ1")
		notFound(t, "another merchant's agreement", err)
		return nil
	})
	// Confirming rewrites the row of the same request id.
	a.AgreeID, a.ConfirmedAt = "201905041150567656", at(2)
	update(t, s, func(tx baoguan.Tx) error { return tx.PutCardAgreement(a) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.CardAgreement(m.ID, a.AgreeID)
		if err != nil {
			return err
		}
		same(t, "confirmed agreement", got, a)
		_, err = tx.CardAgreement(other.ID, a.AgreeID)
		notFound(t, "another merchant's agreement number", err)
		return nil
	})
	// An agreement number is unique per merchant.
	b := *a
	b.RequestID = "REQ2"
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.PutCardAgreement(&b) })
	wantErr(t, "a second agreement with the same number", err, baoguan.ECONFLICT, "duplicate")
	b.MerchantID = other.ID
	update(t, s, func(tx baoguan.Tx) error { return tx.PutCardAgreement(&b) })
}

func testSMSChallenges(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	c := &baoguan.SMSChallenge{MerchantID: m.ID, Purpose: baoguan.SMSPayment, Ref: "SO-1", AgreeID: "A1", SentAt: at(1)}
	update(t, s, func(tx baoguan.Tx) error { return tx.PutSMSChallenge(c) })
	c2 := &baoguan.SMSChallenge{MerchantID: m.ID, Purpose: baoguan.SMSBindCard, Ref: "SO-1", SentAt: at(2)}
	update(t, s, func(tx baoguan.Tx) error { return tx.PutSMSChallenge(c2) })
	c.Burnt, c.Attempts, c.UsedAt = true, 2, at(3)
	update(t, s, func(tx baoguan.Tx) error { return tx.PutSMSChallenge(c) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.SMSChallenge(m.ID, baoguan.SMSPayment, "SO-1")
		if err != nil {
			return err
		}
		same(t, "replaced challenge", got, c)
		got, err = tx.SMSChallenge(m.ID, baoguan.SMSBindCard, "SO-1")
		if err != nil {
			return err
		}
		same(t, "challenge of another purpose", got, c2)
		_, err = tx.SMSChallenge(m.ID+1, baoguan.SMSPayment, "SO-1")
		notFound(t, "another merchant's challenge", err)
		return nil
	})
}

func testCollections(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := sampleOrder(m, "SO-1")
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateOrder(o) })
	first := &baoguan.Collection{Token: "1-aa", MerchantID: m.ID, OrderID: o.ID, OrderNo: o.MerchantOrderNo, Kind: "ALIPAY",
		PSP: "EASYPAY", IssuedAt: at(1), ExpiresAt: at(3)}
	second := &baoguan.Collection{Token: "1-bb", MerchantID: m.ID, OrderID: o.ID, OrderNo: o.MerchantOrderNo, Kind: "WECHATPAY",
		PSP: "EASYPAY", URL: "weixin://wxpay/bizpayurl?pr=x", Params: map[string]string{"prepay_id": "wx1"}, Closes: true,
		IssuedAt: at(2), ExpiresAt: at(4)}
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateCollection(first); err != nil {
			return err
		}
		return tx.CreateCollection(second)
	})
	if first.ID == 0 || second.ID <= first.ID {
		t.Fatalf("ids %d %d", first.ID, second.ID)
	}
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		dup := *first
		return tx.CreateCollection(&dup)
	})
	wantErr(t, "a second collection with the same token", err, baoguan.ECONFLICT, "duplicate")
	second.UsedAt = at(5)
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateCollection(second) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Collection("1-aa")
		if err != nil {
			return err
		}
		same(t, "collection by token", got, first)
		got, err = tx.LatestCollection(m.ID, o.ID)
		if err != nil {
			return err
		}
		same(t, "latest collection", got, second)
		_, err = tx.LatestCollection(m.ID+1, o.ID)
		notFound(t, "another merchant's collection", err)
		_, err = tx.Collection("1-cc")
		notFound(t, "unknown token", err)
		return nil
	})
	err = s.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.CreateCollection(&baoguan.Collection{Token: "1-dd", MerchantID: m.ID, OrderID: o.ID + 100})
	})
	notFound(t, "collection of a missing order", err)
}

func testRealNameChecks(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	var want []baoguan.RealNameCheck
	for i, res := range []string{baoguan.RealNamePass, baoguan.RealNameNotPass, baoguan.RealNameCannotFindID} {
		r := baoguan.RealNameCheck{ID: fmt.Sprintf("uuid-%d", i), MerchantID: m.ID, Name: PayerName, IDNo: PayerIDNumber,
			Birth: "19491231", Sex: "女", Addr: "北京市朝阳区", Result: res}
		update(t, s, func(tx baoguan.Tx) error { return tx.CreateRealNameCheck(&r) })
		want = append([]baoguan.RealNameCheck{r}, want...)
		advance(t, s, time.Second)
	}
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.RealNameChecks(m.ID, 2)
		if err == nil {
			same(t, "newest checks", got, want[:2])
		}
		none, err := tx.RealNameChecks(m.ID+1, 0)
		if err == nil && len(none) != 0 {
			t.Errorf("another merchant sees %d checks", len(none))
		}
		return err
	})
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		r := want[0]
		return tx.CreateRealNameCheck(&r)
	})
	wantErr(t, "a check id used twice", err, baoguan.ECONFLICT, "duplicate")
}

// ---- what the runner's batches use ----

// testJobBatches claims jobs and finishes or releases them in the same
// transaction, as a batch does.
func testJobBatches(t *testing.T, s baoguan.Store) {
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	a := &baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "a", RunAt: now.Add(-time.Minute)}
	b := &baoguan.Job{Kind: baoguan.JobPay, DedupeKey: "b", RunAt: now.Add(-time.Minute)}
	c := &baoguan.Job{Kind: baoguan.JobDeclare, DedupeKey: "c", RunAt: now.Add(-time.Minute)}
	enqueue(t, s, a, b, c)
	update(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Claim(nil, 10, time.Minute)
		if err != nil {
			return err
		}
		same(t, "claimed", ids(got, jobID), []int64{a.ID, b.ID, c.ID})
		if err := tx.FinishJobs([]int64{a.ID, c.ID}); err != nil {
			return err
		}
		return tx.ReleaseJobs([]int64{b.ID}, now.Add(time.Second))
	})
	view(t, s, func(tx baoguan.Tx) error {
		for _, want := range []struct {
			id       int64
			state    baoguan.JobState
			attempts int
		}{{a.ID, baoguan.JobDone, 1}, {b.ID, baoguan.JobQueued, 0}, {c.ID, baoguan.JobDone, 1}} {
			j, err := tx.Job(want.id)
			if err != nil {
				return err
			}
			if j.State != want.state || j.Attempts != want.attempts {
				t.Errorf("job %d: %s after %d attempts, want %s after %d", j.ID, j.State, j.Attempts, want.state, want.attempts)
			}
		}
		return nil
	})
	// The released job is due again at its new time, not before.
	if got := claim(t, s, nil, 10, time.Minute); len(got) != 0 {
		t.Errorf("released job claimed before it is due: %v", ids(got, jobID))
	}
	advance(t, s, time.Second)
	got := claim(t, s, nil, 10, time.Minute)
	same(t, "released job claimed again", ids(got, jobID), []int64{b.ID})
	if len(got) == 1 && got[0].Attempts != 1 {
		t.Errorf("released job's next claim counts attempt %d, want 1", got[0].Attempts)
	}
	// Finishing a job that is not running (done, or never claimed) fails
	// the whole call: a batch holds every job it finishes.
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.FinishJobs([]int64{a.ID}) })
	wantErr(t, "FinishJobs(done job)", err, baoguan.ECONFLICT, "lease_lost")
	update(t, s, func(tx baoguan.Tx) error { return errors.Join(tx.FinishJobs(nil), tx.ReleaseJobs(nil, now)) })
}

// testManyByID reads orders and declarations by many ids at once.
func testManyByID(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	other := newMerchant(t, s, "zeta")
	o1, o2, o3 := newOrder(t, s, m, "M-1"), newOrder(t, s, m, "M-2"), newOrder(t, s, other, "Z-1")
	d1, d2, d3 := sampleDeclaration(o1, "SHANGHAI", ""), sampleDeclaration(o1, "GUANGZHOU", ""), sampleDeclaration(o3, "SHANGHAI", "")
	update(t, s, func(tx baoguan.Tx) error {
		return errors.Join(tx.CreateDeclaration(d1), tx.CreateDeclaration(d2), tx.CreateDeclaration(d3))
	})
	view(t, s, func(tx baoguan.Tx) error {
		os, err := tx.OrdersByID([]int64{o3.ID, o1.ID, o1.ID + o2.ID + o3.ID + 100})
		if err != nil {
			return err
		}
		byID := map[int64]baoguan.Order{}
		for _, o := range os {
			byID[o.ID] = o
		}
		if len(os) != 2 {
			t.Errorf("OrdersByID: %d orders, want 2 (one id is missing)", len(os))
		}
		same(t, "OrdersByID o1", byID[o1.ID], *o1)
		same(t, "OrdersByID o3", byID[o3.ID], *o3)
		ds, err := tx.DeclarationsByID([]int64{d3.ID, d2.ID})
		if err != nil {
			return err
		}
		if len(ds) != 2 {
			t.Fatalf("DeclarationsByID: %d, want 2", len(ds))
		}
		ds, err = tx.DeclarationsOfOrders([]int64{o3.ID, o2.ID, o1.ID})
		if err != nil {
			return err
		}
		same(t, "DeclarationsOfOrders", ids(ds, func(d *baoguan.Declaration) int64 { return d.ID }), []int64{d1.ID, d2.ID, d3.ID})
		if len(ds) == 3 {
			same(t, "DeclarationsOfOrders d1", ds[0], *d1)
		}
		for _, f := range []func() (int, error){
			func() (int, error) { os, err := tx.OrdersByID(nil); return len(os), err },
			func() (int, error) { ds, err := tx.DeclarationsByID([]int64{}); return len(ds), err },
			func() (int, error) { ds, err := tx.DeclarationsOfOrders(nil); return len(ds), err },
		} {
			if n, err := f(); n != 0 || err != nil {
				t.Errorf("no ids: %d rows, %v", n, err)
			}
		}
		return nil
	})
}

// testSavepoint undoes what a failed savepoint wrote, alone, and keeps
// the transaction usable, also after an error from the database itself.
func testSavepoint(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	boom := errors.New("boom")
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.Savepoint(func() error { return tx.CreateOrder(sampleOrder(m, "KEPT-1")) }); err != nil {
			return err
		}
		err := tx.Savepoint(func() error {
			if err := tx.CreateOrder(sampleOrder(m, "UNDONE-1")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("failed savepoint returned %v, want boom", err)
		}
		// A statement the database refuses (a declaration of a missing
		// order) inside a savepoint: PostgreSQL aborts up to the
		// savepoint only.
		err = tx.Savepoint(func() error {
			return tx.CreateDeclaration(&baoguan.Declaration{OrderID: 1 << 40, MerchantID: m.ID, Customs: "X", State: baoguan.DeclPending})
		})
		if err == nil {
			t.Errorf("declaration of a missing order was stored")
		}
		err = tx.Savepoint(func() error { panic("in a savepoint") })
		if err == nil {
			t.Errorf("a panic in a savepoint returned no error")
		}
		return tx.Savepoint(func() error { return tx.CreateOrder(sampleOrder(m, "KEPT-2")) })
	})
	view(t, s, func(tx baoguan.Tx) error {
		for no, want := range map[string]bool{"KEPT-1": true, "UNDONE-1": false, "KEPT-2": true} {
			_, err := tx.OrderByNo(m.ID, no)
			if got := err == nil; got != want {
				t.Errorf("order %s stored: %v, want %v (%v)", no, got, want, err)
			}
		}
		return nil
	})
}

// testEventQueue drives the events table as the delivery queue: due
// events by destination, leases, attempts recorded only under their lease.
func testEventQueue(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	mk := func(url string, status baoguan.EventStatus, next time.Time) *baoguan.Event {
		return &baoguan.Event{MerchantID: m.ID, OrderID: o.ID, Type: baoguan.EventOrderPaid, Protocol: "native", URL: url,
			ContentType: "application/json", Body: []byte(`{}`), Status: status, NextAt: next}
	}
	a1 := mk("https://a.example/hook", baoguan.EventPending, now.Add(-3*time.Second))
	b1 := mk("HTTPS://B.example:443/other", baoguan.EventPending, now.Add(-2*time.Second))
	later := mk("https://a.example/hook", baoguan.EventPending, now.Add(time.Hour))
	done := mk("https://a.example/hook", baoguan.EventDelivered, now.Add(-time.Hour))
	a2 := mk("https://a.example/hook?x=1", baoguan.EventPending, time.Time{}) // due now
	update(t, s, func(tx baoguan.Tx) error {
		for _, e := range []*baoguan.Event{a1, b1, later, done, a2} {
			if err := tx.CreateEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	if !a2.NextAt.Equal(now) {
		t.Errorf("a pending event without NextAt is due at %v, want now %v", a2.NextAt, now)
	}
	due := func(skip ...string) []int64 {
		var out []int64
		update(t, s, func(tx baoguan.Tx) error {
			ds, err := tx.DueEvents(10, skip, nil)
			for _, d := range ds {
				out = append(out, d.ID)
			}
			return err
		})
		return out
	}
	same(t, "due events, oldest first", due(), []int64{a1.ID, b1.ID, a2.ID})
	other := newOrder(t, s, m, "SO-2")
	dueOf := func(orders ...int64) []int64 {
		var out []int64
		view(t, s, func(tx baoguan.Tx) error {
			ds, err := tx.DueEventsOf(orders)
			for _, d := range ds {
				if d.OrderID != o.ID || d.MerchantID != m.ID {
					t.Errorf("DueEventsOf(%v) lists %+v", orders, d)
				}
				out = append(out, d.ID)
			}
			return err
		})
		return out
	}
	same(t, "an order's due events, oldest first", dueOf(other.ID, o.ID), []int64{a1.ID, b1.ID, a2.ID})
	if got := dueOf(other.ID); len(got) != 0 {
		t.Errorf("due events of an order with none: %v", got)
	}
	update(t, s, func(tx baoguan.Tx) error {
		ds, err := tx.DueEvents(1, nil, nil)
		if err == nil && (len(ds) != 1 || ds[0].Dest != "https://a.example:443" || ds[0].MerchantID != m.ID || ds[0].OrderID != a1.OrderID || !ds[0].NextAt.Equal(a1.NextAt)) {
			t.Errorf("DueEvents(1) = %+v", ds)
		}
		return err
	})
	same(t, "due events but destination a", due("https://a.example:443"), []int64{b1.ID})
	dueAfter := func(d *baoguan.Event, skip ...string) []int64 {
		var out []int64
		view(t, s, func(tx baoguan.Tx) error {
			ds, err := tx.DueEvents(10, skip, &baoguan.DueEvent{ID: d.ID, NextAt: d.NextAt})
			for _, d := range ds {
				out = append(out, d.ID)
			}
			return err
		})
		return out
	}
	same(t, "due events after a1", dueAfter(a1), []int64{b1.ID, a2.ID})
	same(t, "due events after b1", dueAfter(b1), []int64{a2.ID})
	same(t, "due events after a1 but destination a", dueAfter(a1, "https://a.example:443"), []int64{b1.ID})
	// Within one millisecond, the id orders.
	same(t, "due events after an event due with a2 but older", dueAfter(&baoguan.Event{ID: a2.ID - 1, NextAt: a2.NextAt}), []int64{a2.ID})
	if got := dueAfter(a2); len(got) != 0 {
		t.Errorf("due events after a2: %v", got)
	}

	// Leased events are not due; the lease is the token of the attempt.
	lease := now.Add(time.Minute)
	var leased []baoguan.Event
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		leased, err = tx.LeaseEvents([]int64{a1.ID, b1.ID, done.ID}, lease)
		return err
	})
	if len(leased) != 2 || !leased[0].LeaseUntil.Equal(lease) || !leased[1].LeaseUntil.Equal(lease) {
		t.Fatalf("LeaseEvents leased %+v, want a1 and b1 (not the delivered one) until %v", leased, lease)
	}
	same(t, "due events while a1 and b1 are leased", due(), []int64{a2.ID})
	update(t, s, func(tx baoguan.Tx) error {
		again, err := tx.LeaseEvents([]int64{b1.ID}, lease.Add(time.Minute))
		if err == nil && len(again) != 0 {
			t.Errorf("an event whose lease holds was leased again: %+v", again)
		}
		return err
	})
	got := leased[0]
	if got.ID != a1.ID {
		got = leased[1]
	}
	got.Status, got.Attempts, got.DeliveredAt = baoguan.EventDelivered, 1, now
	att := &baoguan.Attempt{At: now, Status: 204, LatencyMS: 3}
	update(t, s, func(tx baoguan.Tx) error { return tx.RecordAttempt(&got, att, lease) })
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		again := got
		return tx.RecordAttempt(&again, &baoguan.Attempt{At: now, Status: 204}, lease)
	})
	wantErr(t, "recording under an ended lease", err, baoguan.ECONFLICT, "lease_lost")
	view(t, s, func(tx baoguan.Tx) error {
		e, err := tx.Event(m.ID, a1.ID)
		if err != nil {
			return err
		}
		if e.Status != baoguan.EventDelivered || e.Attempts != 1 || !e.LeaseUntil.IsZero() {
			t.Errorf("after the attempt: %+v", e)
		}
		as, err := tx.Attempts(a1.ID)
		if err == nil && (len(as) != 1 || as[0].Status != 204 || as[0].EventID != a1.ID) {
			t.Errorf("attempts %+v", as)
		}
		return err
	})
	// Writing the event (a redelivery) ends b1's lease: the delivery in
	// flight records nothing, and b1 is due at its new time.
	var b baoguan.Event
	update(t, s, func(tx baoguan.Tx) error {
		e, err := tx.Event(m.ID, b1.ID)
		if err != nil {
			return err
		}
		e.Attempts, e.NextAt = 0, tx.Now()
		b = *e
		return tx.UpdateEvent(e)
	})
	err = s.Update(context.Background(), func(tx baoguan.Tx) error {
		e := b
		e.Attempts = 1
		return tx.RecordAttempt(&e, &baoguan.Attempt{At: now, Status: 500}, lease)
	})
	wantErr(t, "recording after a redelivery", err, baoguan.ECONFLICT, "lease_lost")
	same(t, "due after the redelivery", due(), []int64{b1.ID, a2.ID})
	// A lease that ends unrecorded (a crash) makes the event due again.
	update(t, s, func(tx baoguan.Tx) error { _, err := tx.LeaseEvents([]int64{a2.ID}, now.Add(time.Second)); return err })
	same(t, "due while a2 is leased", due(), []int64{b1.ID})
	advance(t, s, time.Second)
	same(t, "due once a2's lease ended", due(), []int64{b1.ID, a2.ID})
	// A failed attempt under a lease reschedules the event.
	advance(t, s, time.Second)
	update(t, s, func(tx baoguan.Tx) error {
		es, err := tx.LeaseEvents([]int64{a2.ID}, now.Add(time.Hour))
		if err != nil || len(es) != 1 {
			return fmt.Errorf("lease a2: %v %v", es, err)
		}
		e := es[0]
		e.Attempts, e.NextAt = 1, now.Add(time.Minute)
		return tx.RecordAttempt(&e, &baoguan.Attempt{At: now, Status: 500, Error: "not acknowledged"}, now.Add(time.Hour))
	})
	same(t, "due after a2 failed", due(), []int64{b1.ID})
	view(t, s, func(tx baoguan.Tx) error {
		e, err := tx.Event(m.ID, a2.ID)
		if err == nil && (e.Status != baoguan.EventPending || !e.NextAt.Equal(now.Add(time.Minute)) || e.Attempts != 1) {
			t.Errorf("a2 after a failed attempt: %+v", e)
		}
		return err
	})
}

// testEventClaimsInMemory drives the claims a deliverer alone on its
// database holds in memory: PendingEvents reads events without writing
// them (they stay due), and the token it returns is good for one
// RecordAttempt unless the event was written (redelivered) meanwhile,
// however many times, and whatever lease it had before.
func testEventClaimsInMemory(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	mk := func() *baoguan.Event {
		return &baoguan.Event{MerchantID: m.ID, OrderID: o.ID, Type: baoguan.EventOrderPaid, Protocol: "native",
			URL: "https://a.example/hook", ContentType: "application/json", Body: []byte(`{"n":1}`), Status: baoguan.EventPending}
	}
	p, q, r, gone := mk(), mk(), mk(), mk()
	gone.Status = baoguan.EventDelivered
	update(t, s, func(tx baoguan.Tx) error {
		for _, e := range []*baoguan.Event{p, q, r, gone} {
			if err := tx.CreateEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	claim := func(id int64) baoguan.Event {
		t.Helper()
		var es []baoguan.Event
		view(t, s, func(tx baoguan.Tx) error {
			var err error
			es, err = tx.PendingEvents([]int64{id, gone.ID})
			return err
		})
		if len(es) != 1 || es[0].ID != id || string(es[0].Body) != `{"n":1}` || es[0].LeaseUntil.After(now) {
			t.Fatalf("PendingEvents(%d and a delivered one) = %+v, want the pending one, its token not in the future", id, es)
		}
		return es[0]
	}
	due := func() []int64 {
		var out []int64
		view(t, s, func(tx baoguan.Tx) error {
			ds, err := tx.DueEvents(10, nil, nil)
			for _, d := range ds {
				out = append(out, d.ID)
			}
			return err
		})
		return out
	}
	record := func(e baoguan.Event) error {
		return s.Update(context.Background(), func(tx baoguan.Tx) error {
			e.Status, e.Attempts, e.DeliveredAt = baoguan.EventDelivered, e.Attempts+1, tx.Now()
			return tx.RecordAttempt(&e, &baoguan.Attempt{At: now, Status: 204}, e.LeaseUntil)
		})
	}
	redeliver := func(id int64) {
		t.Helper()
		update(t, s, func(tx baoguan.Tx) error {
			e, err := tx.Event(m.ID, id)
			if err != nil {
				return err
			}
			e.Attempts, e.NextAt = 0, tx.Now()
			return tx.UpdateEvent(e)
		})
	}

	// A claim writes nothing: the event stays due, and its token records.
	cp := claim(p.ID)
	same(t, "due while p is claimed in memory", due(), []int64{p.ID, q.ID, r.ID})
	if err := record(cp); err != nil {
		t.Fatalf("recording under a claim held in memory: %v", err)
	}
	if err := record(cp); baoguan.ErrorReason(err) != "lease_lost" {
		t.Errorf("recording twice under one claim: %v, want lease_lost", err)
	}

	// A redelivery while q is claimed, and again while its next claim is
	// held: neither delivery in flight records; the third claim does.
	cq := claim(q.ID)
	redeliver(q.ID)
	if err := record(cq); baoguan.ErrorReason(err) != "lease_lost" {
		t.Errorf("recording after a redelivery: %v, want lease_lost", err)
	}
	cq = claim(q.ID)
	redeliver(q.ID)
	if err := record(cq); baoguan.ErrorReason(err) != "lease_lost" {
		t.Errorf("recording after a second redelivery: %v, want lease_lost", err)
	}
	if err := record(claim(q.ID)); err != nil {
		t.Errorf("recording under a claim taken after the redeliveries: %v", err)
	}

	// An event whose lease ended (a deliverer that died) is claimed with
	// that lease's end as its token, which a redelivery changes too.
	update(t, s, func(tx baoguan.Tx) error { _, err := tx.LeaseEvents([]int64{r.ID}, now.Add(time.Second)); return err })
	advance(t, s, 2*time.Second)
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	cr := claim(r.ID)
	redeliver(r.ID)
	if err := record(cr); baoguan.ErrorReason(err) != "lease_lost" {
		t.Errorf("recording after the redelivery of an event whose lease ended: %v, want lease_lost", err)
	}
	if err := record(claim(r.ID)); err != nil {
		t.Errorf("recording r: %v", err)
	}
	if d := due(); len(d) != 0 {
		t.Errorf("due once all are recorded: %v", d)
	}
}

// testPurge deletes what retention lets go, a window at a time: done jobs
// and delivered events' attempts older than the cut, expired keys; and
// nothing else.
func testPurge(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "SO-1")
	// An hour ago: five jobs (three done, one dead, one queued for later),
	// a delivered event and a failed one, with two attempts each.
	var start time.Time
	view(t, s, func(tx baoguan.Tx) error { start = tx.Now(); return nil })
	var old []*baoguan.Job
	for i := range 5 {
		old = append(old, &baoguan.Job{Kind: baoguan.JobPay, DedupeKey: fmt.Sprint("old", i)})
	}
	old[4].RunAt = start.Add(24 * time.Hour)
	enqueue(t, s, old...)
	finish := func(js []*baoguan.Job, states ...baoguan.JobState) {
		t.Helper()
		state := map[int64]baoguan.JobState{}
		for i, j := range js {
			state[j.ID] = states[i]
		}
		got := claim(t, s, nil, len(js), time.Minute)
		update(t, s, func(tx baoguan.Tx) error {
			for i := range got {
				got[i].State = state[got[i].ID]
				if err := tx.FinishJob(&got[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	finish(old[:4], baoguan.JobDone, baoguan.JobDone, baoguan.JobDead, baoguan.JobDone)
	event := func(status baoguan.EventStatus) *baoguan.Event {
		ev := pendingEvent(m.ID, o.ID)
		e := &ev
		update(t, s, func(tx baoguan.Tx) error {
			if err := tx.CreateEvent(e); err != nil {
				return err
			}
			for _, st := range []int{500, 200} {
				if err := tx.AddAttempt(&baoguan.Attempt{EventID: e.ID, At: tx.Now(), Status: st}); err != nil {
					return err
				}
			}
			e.Status = status
			if status == baoguan.EventDelivered {
				e.DeliveredAt = tx.Now()
			}
			return tx.UpdateEvent(e)
		})
		return e
	}
	delivered, failed := event(baoguan.EventDelivered), event(baoguan.EventFailed)
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	update(t, s, func(tx baoguan.Tx) error {
		for _, r := range []*baoguan.IdemRecord{
			{MerchantID: m.ID, Key: "idem:gone", RequestHash: "h", ExpiresAt: now.Add(30 * time.Minute)},
			{MerchantID: m.ID, Key: "idem:kept", RequestHash: "h", ExpiresAt: now.Add(2 * time.Hour)},
			{MerchantID: m.ID, Key: "order:SO-1", RequestHash: "h"},
		} {
			if err := tx.PutIdempotency(r); err != nil {
				return err
			}
		}
		return nil
	})
	// Now: two more jobs done, another delivered event.
	advance(t, s, time.Hour)
	young := []*baoguan.Job{{Kind: baoguan.JobPay, DedupeKey: "young0"}, {Kind: baoguan.JobPay, DedupeKey: "young1"}}
	enqueue(t, s, young...)
	finish(young, baoguan.JobDone, baoguan.JobDone)
	fresh := event(baoguan.EventDelivered)

	// Purge what is older than half an hour, two rows at a time.
	cut := now.Add(30 * time.Minute)
	var jobsDeleted, attemptsDeleted int
	for _, p := range []struct {
		what    string
		fn      func(tx baoguan.Tx, from int64) (int, int64, bool, error)
		deleted *int
	}{
		{"jobs", func(tx baoguan.Tx, from int64) (int, int64, bool, error) { return tx.PurgeDoneJobs(from, 2, cut) }, &jobsDeleted},
		{"attempts", func(tx baoguan.Tx, from int64) (int, int64, bool, error) { return tx.PurgeAttempts(from, 2, cut) }, &attemptsDeleted},
	} {
		from, rounds := int64(0), 0
		for more := true; more; rounds++ {
			if rounds > 10 {
				t.Fatalf("purging %s does not end", p.what)
			}
			update(t, s, func(tx baoguan.Tx) error {
				n, next, m, err := p.fn(tx, from)
				if next < from {
					t.Errorf("purging %s went back from %d to %d", p.what, from, next)
				}
				from, more, *p.deleted = next, m, *p.deleted+n
				return err
			})
		}
	}
	if jobsDeleted != 3 || attemptsDeleted != 2 {
		t.Errorf("purged %d jobs and %d attempts, want 3 (the old done ones) and 2 (the old delivered event's)", jobsDeleted, attemptsDeleted)
	}
	var keys int
	update(t, s, func(tx baoguan.Tx) error { var err error; keys, err = tx.PurgeExpiredKeys(10); return err })
	if keys != 1 {
		t.Errorf("purged %d idempotency records, want 1 (the expired one)", keys)
	}
	view(t, s, func(tx baoguan.Tx) error {
		for _, j := range old[:4] {
			_, err := tx.Job(j.ID)
			if gone := baoguan.ErrorCode(err) == baoguan.ENOTFOUND; gone != (j != old[2]) {
				t.Errorf("old job %s: gone %v (%v)", j.DedupeKey, gone, err)
			}
		}
		for _, j := range append([]*baoguan.Job{old[4]}, young...) {
			if _, err := tx.Job(j.ID); err != nil {
				t.Errorf("job %s (queued, or young) was purged: %v", j.DedupeKey, err)
			}
		}
		for e, want := range map[*baoguan.Event]int{delivered: 0, failed: 2, fresh: 2} {
			as, err := tx.Attempts(e.ID)
			if err != nil {
				return err
			}
			if len(as) != want {
				t.Errorf("event %d (%s): %d attempts left, want %d", e.ID, e.Status, len(as), want)
			}
			if _, err := tx.Event(m.ID, e.ID); err != nil {
				t.Errorf("event %d itself was purged: %v", e.ID, err)
			}
		}
		for key, want := range map[string]bool{"idem:gone": false, "idem:kept": true, "order:SO-1": true} {
			_, err := tx.Idempotency(m.ID, key)
			if kept := err == nil; kept != want {
				t.Errorf("idempotency record %s kept %v, want %v (%v)", key, kept, want, err)
			}
		}
		return nil
	})
}

// testListPlans plans every list query the API, the console and the CLI
// make (each filter on its own, the merchant's always) and fails on any
// that reads a whole table or index — SQLite's "SCAN t" (with or without
// an index), PostgreSQL's "Seq Scan" or an index scan with no index
// condition, with sequential scans priced out so that a plan still
// scanning has no index to use — or whose index conditions do not name
// the filter's column (reading every order of a merchant to find its
// failed ones is a scan too). A merchant's unfiltered lists of orders,
// events and refunds must also take their order from the index, not sort
// every row of the merchant for a page of 50 (which is what dropping
// orders_merchant or events_merchant, "prefixes" of the other merchant
// indexes, would do: on SQLite they end with the rowid, on PostgreSQL
// with id). It plans DeleteOrders too (below).
func testListPlans(t *testing.T, s baoguan.Store) {
	const m = 7
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	page := baoguan.Page{Limit: 50}
	type list struct {
		name  string
		uses  []string // the index conditions name one of these columns
		run   func(tx baoguan.Tx) error
		whole string // a partial index the list may read whole (SQLite)
		// sorted: the index gives the page its order, so that the first
		// page of a merchant's list reads a page's worth of rows, not
		// every row of the merchant sorted (SQLite's indexes on
		// merchant_id alone end with the rowid: orders_merchant,
		// events_merchant).
		sorted bool
	}
	var lists []list
	add := func(name string, uses []string, run func(tx baoguan.Tx) error) {
		lists = append(lists, list{name: name, uses: uses, run: run})
	}
	orders := func(name string, uses []string, f baoguan.OrderFilter) {
		f.MerchantID = m
		if f.Limit == 0 {
			f.Limit = page.Limit
		}
		add("ListOrders "+name, uses, func(tx baoguan.Tx) error { _, err := tx.ListOrders(f); return err })
		add("CountOrders "+name, uses, func(tx baoguan.Tx) error { _, err := tx.CountOrders(f); return err })
	}
	merchant := []string{"merchant_id"}
	orders("merchant", merchant, baoguan.OrderFilter{})
	lists[len(lists)-2].sorted = true
	orders("newest", merchant, baoguan.OrderFilter{Newest: true})
	lists[len(lists)-2].sorted = true
	orders("cursor", merchant, baoguan.OrderFilter{Page: baoguan.Page{Cursor: 100}})
	lists[len(lists)-2].sorted = true
	orders("newest cursor", merchant, baoguan.OrderFilter{Newest: true, Page: baoguan.Page{Cursor: 100}})
	lists[len(lists)-2].sorted = true
	orders("pay_status", []string{"pay_status"}, baoguan.OrderFilter{PayStatus: baoguan.PayFailed})
	orders("pay_status newest", []string{"pay_status"}, baoguan.OrderFilter{PayStatus: baoguan.PayFailed, Newest: true})
	orders("declare_status", []string{"declare_status"}, baoguan.OrderFilter{DeclareStatus: baoguan.DeclareFailedSt})
	orders("declare_status newest", []string{"declare_status"}, baoguan.OrderFilter{DeclareStatus: baoguan.DeclareFailedSt, Newest: true})
	orders("batch_id", []string{"batch_id"}, baoguan.OrderFilter{BatchID: 3})
	orders("created", []string{"created_at"}, baoguan.OrderFilter{From: from, To: to})
	add("OrderByPaymentNo", []string{"payment_no"}, func(tx baoguan.Tx) error { _, err := tx.OrderByPaymentNo(m, "PAY-1"); return err })
	orders("bill", []string{"pay_status", "created_at"}, baoguan.OrderFilter{PayStatus: baoguan.PaySucceed, From: from, To: to})
	add("OrderByNo", []string{"merchant_order_no"}, func(tx baoguan.Tx) error { _, err := tx.OrderByNo(m, "NO-1"); return err })
	add("OrderByPaymentNo", []string{"payment_no"}, func(tx baoguan.Tx) error { _, err := tx.OrderByPaymentNo(m, "P-1"); return err })
	add("BatchSummary", nil, func(tx baoguan.Tx) error { _, err := tx.BatchSummary(m, 3); return err })
	add("BatchOrderIDs", []string{"batch_id"}, func(tx baoguan.Tx) error { _, err := tx.BatchOrderIDs(m, 3, 100); return err })
	add("UnpaidBatchOrders", []string{"batch_id"}, func(tx baoguan.Tx) error { _, err := tx.UnpaidBatchOrders(m, 3); return err })
	add("Batches", merchant, func(tx baoguan.Tx) error { _, err := tx.Batches(m, page); return err })
	add("Batches cursor", merchant, func(tx baoguan.Tx) error { _, err := tx.Batches(m, baoguan.Page{Limit: 20, Cursor: 9}); return err })
	for _, f := range []baoguan.JobFilter{{State: baoguan.JobDead}, {Kind: baoguan.JobPay}, {Kind: baoguan.JobPay, State: baoguan.JobDead}} {
		f.Page = page
		uses := []string{"state"}
		if f.Kind != "" {
			uses = []string{"kind"}
		}
		add(fmt.Sprintf("ListJobs %+v", f), uses, func(tx baoguan.Tx) error { _, err := tx.ListJobs(f); return err })
	}
	add("CountJobs state", []string{"state"}, func(tx baoguan.Tx) error { _, err := tx.CountJobs(baoguan.JobDead); return err })
	for _, c := range []struct {
		uses string
		f    baoguan.EventFilter
	}{{"merchant_id", baoguan.EventFilter{MerchantID: m}}, {"status", baoguan.EventFilter{MerchantID: m, Status: baoguan.EventFailed}},
		{"type", baoguan.EventFilter{MerchantID: m, Type: "order.paid"}}, {"order_id", baoguan.EventFilter{MerchantID: m, OrderID: 5}},
		{"status", baoguan.EventFilter{MerchantID: m, Status: baoguan.EventPending}}, {"status", baoguan.EventFilter{Status: baoguan.EventPending}},
		{"order_id", baoguan.EventFilter{MerchantID: m, OrderID: 5, Status: baoguan.EventPending}}} {
		f := c.f
		f.Page = page
		add(fmt.Sprintf("ListEvents %+v", f), []string{c.uses}, func(tx baoguan.Tx) error { _, err := tx.ListEvents(f); return err })
		lists[len(lists)-1].sorted = c.uses == "merchant_id"
		if f.Status == baoguan.EventPending && f.OrderID == 0 {
			// SQLite lists the pending events through the delivery
			// queue's index, which holds them alone (migration 0024):
			// the events in flight, read whole.
			lists[len(lists)-1].whole = "events_due"
		}
	}
	for _, c := range []struct {
		uses string
		f    baoguan.RefundFilter
	}{{"merchant_id", baoguan.RefundFilter{MerchantID: m}}, {"status", baoguan.RefundFilter{MerchantID: m, Status: baoguan.RefundFailed}},
		{"created_at", baoguan.RefundFilter{MerchantID: m, From: from, To: to}},
		{"merchant_id", baoguan.RefundFilter{MerchantID: m, Page: baoguan.Page{Cursor: 100}}}} {
		f := c.f
		f.Limit = page.Limit
		add(fmt.Sprintf("ListRefunds %+v", f), []string{c.uses}, func(tx baoguan.Tx) error { _, err := tx.ListRefunds(f); return err })
		// A merchant's refunds page by id like its orders
		// (refunds_merchant: SQLite's migration 0027, PostgreSQL's 0026).
		lists[len(lists)-1].sorted = c.uses == "merchant_id"
	}
	// An order's calls through either index (merchant_id, id) or
	// (order_id, id): each bounds what is read to one of them.
	for _, c := range []struct {
		uses []string
		f    baoguan.UpstreamCallFilter
	}{{merchant, baoguan.UpstreamCallFilter{MerchantID: m}}, {[]string{"order_id"}, baoguan.UpstreamCallFilter{OrderID: 5}},
		{[]string{"merchant_id", "order_id"}, baoguan.UpstreamCallFilter{MerchantID: m, OrderID: 5}},
		{[]string{"declaration_id"}, baoguan.UpstreamCallFilter{DeclarationID: 9}},
		{merchant, baoguan.UpstreamCallFilter{MerchantID: m, Page: baoguan.Page{Cursor: 100}}}} {
		f := c.f
		add(fmt.Sprintf("UpstreamCalls %+v", f), c.uses, func(tx baoguan.Tx) error { _, err := tx.UpstreamCalls(f); return err })
	}
	for _, l := range lists {
		var plans []sqlstore.Plan
		view(t, s, func(tx baoguan.Tx) error {
			var err error
			plans, err = sqlstore.Explain(tx, l.run)
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				err = nil // a planned query answers no rows
			}
			return err
		})
		if len(plans) == 0 {
			t.Errorf("%s: no query planned", l.name)
		}
		// The list's own query is the last one; each must use an index,
		// the last one the filter's. PostgreSQL's choice among indexes
		// on empty tables follows no statistics, so there only the scans
		// are checked.
		for i, p := range plans {
			bad := fullScan(p.Lines)
			if l.whole != "" && bad == "SCAN events USING INDEX "+l.whole {
				continue
			}
			if bad == "" && i == len(plans)-1 && l.uses != nil && !postgresPlan(p.Lines) && !indexedOn(p.Lines, l.uses) {
				bad = fmt.Sprintf("no index condition on %v", l.uses)
			}
			if bad == "" && i == len(plans)-1 && l.sorted {
				bad = sorts(p.Lines)
			}
			if bad != "" {
				t.Errorf("%s reads more than it needs: %s\n%s\n%s", l.name, bad, p.Query, strings.Join(p.Lines, "\n"))
			}
		}
	}
	// A discarded upload's orders are deleted with their declarations
	// (DeleteOrders): each statement finds its table's rows by the ids it
	// is given, the declarations by their order (declarations_target
	// starts with order_id), not by reading every row of the merchant to
	// delete a chunk's. SQLite's plan also lists its foreign keys' checks
	// of the tables that name a deleted row, which must not scan them
	// either (payment_data_requests and customs_receipts were read whole
	// for each row deleted before migration 0028). PostgreSQL's choice
	// among indexes on empty tables follows no statistics, so there only
	// the scans are checked; postgres TestDeleteOrdersPlans checks its
	// choice on an analyzed history, and its keys' checks.
	var plans []sqlstore.Plan
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		plans, err = sqlstore.Explain(tx, func(tx baoguan.Tx) error { _, err := tx.DeleteOrders(m, []int64{5, 6, 9}); return err })
		return err
	})
	if len(plans) == 0 {
		t.Errorf("DeleteOrders: no statement planned")
	}
	for _, p := range plans {
		table, by := "orders", orderIDs
		if strings.Contains(p.Query, " declarations") {
			table, by = "declarations", declarationOrders
		}
		bad := fullScan(p.Lines)
		if bad == "" && !postgresPlan(p.Lines) {
			bad = searchOf(p.Lines, table, by)
		}
		if bad != "" {
			t.Errorf("DeleteOrders reads more than it needs: %s\n%s\n%s", bad, p.Query, strings.Join(p.Lines, "\n"))
		}
	}
}

// The columns DeleteOrders's statements find their rows by, as whole
// words (merchant_id is not id).
var (
	orderIDs          = regexp.MustCompile(`\b(rowid|id)\b`)
	declarationOrders = regexp.MustCompile(`\border_id\b`)
)

// searchOf checks SQLite's plan of a statement on table: the table is
// searched, and by a column col matches; it returns what is wrong, or "".
func searchOf(lines []string, table string, col *regexp.Regexp) string {
	searched := false
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "SCAN "+table+" ") || l == "SCAN "+table:
			return l
		case strings.HasPrefix(l, "SEARCH "+table+" "):
			if !col.MatchString(l) {
				return "no index condition on " + col.String() + ": " + l
			}
			searched = true
		}
	}
	if !searched {
		return "no search of " + table
	}
	return ""
}

// testUpdatesWriteChanges: updates write the columns that changed since
// the row was read or written in the transaction (sqlstore's row images).
// What is read back is every change made, whatever was undone between
// them, and nothing else moved.
func testUpdatesWriteChanges(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "IMG-1")
	boom := errors.New("boom")
	var want baoguan.Order
	update(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Order(m.ID, o.ID)
		if err != nil {
			return err
		}
		// Changed, written, then undone: the row is back as read.
		undone := *got
		err = tx.Savepoint(func() error {
			undone.PayStatus, undone.Subject = baoguan.PayApplied, "undone"
			if err := tx.UpdateOrder(&undone); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("savepoint returned %v, want boom", err)
		}
		// The row as read, changed in two steps, one column each.
		got.Payment.InitRequest = "<req>" + IDNumber(77) + "</req>"
		if err := tx.UpdateOrder(got); err != nil {
			return err
		}
		got.PayStatus = baoguan.PayFailed
		if err := tx.UpdateOrder(got); err != nil {
			return err
		}
		// The object the undone savepoint left at its version is stale.
		if err := tx.UpdateOrder(&undone); baoguan.ErrorReason(err) != "stale" {
			t.Errorf("update of a version that was undone: %v, want stale", err)
		}
		want = *got
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Order(m.ID, o.ID)
		if err != nil {
			return err
		}
		if got.Subject != o.Subject || got.PayStatus != baoguan.PayFailed || got.Payment.InitRequest != want.Payment.InitRequest ||
			got.Version != o.Version+2 || got.Payer != o.Payer || got.Amount != o.Amount {
			t.Errorf("read back %+v\nwant %+v", got, want)
		}
		return nil
	})
	// A declaration likewise, read in one transaction and updated in two.
	update(t, s, func(tx baoguan.Tx) error {
		d := &baoguan.Declaration{OrderID: o.ID, MerchantID: m.ID, Customs: "HANGZHOU", State: baoguan.DeclPending,
			Payer: baoguan.Payer{Name: "张三", IDType: "1", IDNumber: IDNumber(78), Phone: Phone(78)}}
		if err := tx.CreateDeclaration(d); err != nil {
			return err
		}
		d.State = baoguan.DeclSubmitted
		if err := tx.UpdateDeclaration(d); err != nil {
			return err
		}
		d.PortRef = "REF-1"
		return tx.UpdateDeclaration(d)
	})
	view(t, s, func(tx baoguan.Tx) error {
		ds, err := tx.Declarations(m.ID, o.ID)
		if err != nil {
			return err
		}
		if len(ds) != 1 || ds[0].State != baoguan.DeclSubmitted || ds[0].PortRef != "REF-1" || ds[0].Version != 3 ||
			ds[0].Payer.IDNumber != IDNumber(78) || ds[0].Payer.Phone != Phone(78) {
			t.Errorf("declaration read back as %+v", ds)
		}
		return nil
	})
}

// testQueuePlans plans the queries every order passes through many times
// (the runner's claims, the deliverer's due events and leases) and fails
// on any that reads a whole table or sorts what it reads: these run at
// every claim, and a sort of every pending event at every claim made the
// cost of a delivery grow with the backlog.
func testQueuePlans(t *testing.T, s baoguan.Store) {
	queries := []struct {
		name   string
		run    func(tx baoguan.Tx) error
		window bool // reads a window of at most 1,000 due events (and may sort it), by design
	}{
		{"DueEvents", func(tx baoguan.Tx) error { _, err := tx.DueEvents(64, nil, nil); return err }, false},
		{"DueEvents after", func(tx baoguan.Tx) error {
			_, err := tx.DueEvents(64, nil, &baoguan.DueEvent{ID: 7, NextAt: tx.Now()})
			return err
		}, false},
		{"DueEvents skipping", func(tx baoguan.Tx) error {
			_, err := tx.DueEvents(64, []string{"https://a.example:443"}, nil)
			return err
		}, true},
		{"DueEvents skipping after", func(tx baoguan.Tx) error {
			_, err := tx.DueEvents(64, []string{"https://a.example:443"}, &baoguan.DueEvent{ID: 7, NextAt: tx.Now()})
			return err
		}, true},
		{"LeaseEvents", func(tx baoguan.Tx) error { _, err := tx.LeaseEvents([]int64{1, 2}, tx.Now()); return err }, false},
		{"Claim", func(tx baoguan.Tx) error { _, err := tx.Claim(nil, 64, time.Minute); return err }, false},
		{"QueueOrderPays", func(tx baoguan.Tx) error { _, err := tx.QueueOrderPays(7, 3, true); return err }, false},
		{"EnqueuePayJobs", func(tx baoguan.Tx) error { _, err := tx.EnqueuePayJobs(7, 3, 5); return err }, false},
		{"Claim kinds", func(tx baoguan.Tx) error {
			_, err := tx.Claim([]string{baoguan.JobPay, baoguan.JobDeclare}, 64, time.Minute)
			return err
		}, false},
	}
	for _, q := range queries {
		var plans []sqlstore.Plan
		update(t, s, func(tx baoguan.Tx) error {
			var err error
			plans, err = sqlstore.Explain(tx, q.run)
			return err
		})
		if len(plans) == 0 {
			t.Errorf("%s: no query planned", q.name)
		}
		for _, p := range plans {
			bad := fullScan(p.Lines)
			if q.window && bad == "SCAN w" {
				bad = "" // the window, read from the index
			}
			if postgresPlan(p.Lines) && !strings.Contains(bad, "Seq Scan") {
				// PostgreSQL's choice among indexes on empty tables
				// follows no statistics (here events_due for a lease
				// by id): only a table no index can serve is a fault.
				bad = ""
			}
			for _, l := range p.Lines {
				if strings.Contains(l, "TEMP B-TREE") && !q.window {
					bad = l
				}
			}
			if bad != "" {
				t.Errorf("%s reads more than it needs: %s\n%s\n%s", q.name, bad, p.Query, strings.Join(p.Lines, "\n"))
			}
		}
	}
}

// postgresPlan tells PostgreSQL's plans (with costs) from SQLite's.
func postgresPlan(lines []string) bool {
	return len(lines) > 0 && strings.Contains(lines[0], "cost=")
}

// indexedOn reports whether one of the plan's index searches names one of
// the columns: SQLite's "SEARCH t USING INDEX i (col=? …)", PostgreSQL's
// "Index Cond: (… col …)".
func indexedOn(lines []string, cols []string) bool {
	for _, l := range lines {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "->"))
		if !strings.HasPrefix(l, "SEARCH ") && !strings.HasPrefix(l, "Index Cond:") && !strings.HasPrefix(l, "Recheck Cond:") {
			continue
		}
		if strings.HasPrefix(l, "SEARCH lb ") {
			continue // the loading-batch check of order lists
		}
		for _, c := range cols {
			if strings.Contains(l, c) {
				return true
			}
		}
	}
	return false
}

// filtered reports whether the node whose detail lines follow filters the
// rows it reads.
func filtered(details []string) bool {
	for _, d := range details {
		if strings.Contains(d, "->") {
			return false
		}
		if strings.Contains(d, "Filter:") {
			return true
		}
	}
	return false
}

// fullScan returns the plan line that reads a whole table or index, or "".
// sorts returns the line of a plan that sorts the rows it read, "" if
// none: SQLite's temporary b-tree for the ORDER BY, PostgreSQL's Sort.
func sorts(lines []string) string {
	for _, l := range lines {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "->"))
		if strings.HasPrefix(l, "USE TEMP B-TREE FOR ORDER BY") || strings.HasPrefix(l, "Sort ") {
			return l
		}
	}
	return ""
}

func fullScan(lines []string) string {
	for i, l := range lines {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "->"))
		switch {
		case strings.HasPrefix(l, "SCAN ") && !strings.HasPrefix(l, "SCAN json_each") && !strings.HasPrefix(l, "SCAN CONSTANT"):
			return l
		case strings.Contains(l, "Seq Scan on "):
			return l
		case strings.Contains(l, "on batches_loading"):
			// Reading every loading batch (a partial index of the few
			// batches being uploaded) to leave their orders out.
		case strings.Contains(l, "using events_pending on") && !filtered(lines[i+1:]):
			// PostgreSQL's partial index of the pending events, read
			// whole for the list of every merchant's pending ones: the
			// plan shows no index condition, since the index's predicate
			// implies the query's, but it reads the pending events alone.
		case strings.Contains(l, "Index Scan") || strings.Contains(l, "Index Only Scan"):
			// Its details follow, more indented, up to the next node.
			bounded := false
			for _, d := range lines[i+1:] {
				if strings.Contains(d, "->") {
					break
				}
				if strings.Contains(d, "Index Cond:") {
					bounded = true
				}
			}
			if !bounded {
				return l
			}
		}
	}
	return ""
}

// pendingEvent is an order.paid notification of the order, to the native
// format's receiver at acme.example, not yet sent.
func pendingEvent(merchantID, orderID int64) baoguan.Event {
	return baoguan.Event{MerchantID: merchantID, OrderID: orderID, Type: baoguan.EventOrderPaid, Protocol: "native",
		URL: "https://acme.example/hook", ContentType: "application/json", Body: []byte(`{}`), Status: baoguan.EventPending}
}
