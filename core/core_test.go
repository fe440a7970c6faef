package core_test

import (
	"context"
	"fmt"
	"net/http"
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

// clock is a settable test clock shared by the store and the service, so
// delays and retry schedules are crossed without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	svc   *core.Service
	clock *clock
	m     *baoguan.Merchant
	ctx   context.Context
}

func newEnv(t testing.TB, delay time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "core.db"), Keys: keys, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return envOn(t, db, c, func(s *core.Service) { s.Sandbox.Port = sandbox.NewPort(delay) })
}

// envOn is an env over st (a store opened on c's clock, or a wrapper
// around one): a service with the sandbox's adapters (the port answering
// at once) and a merchant "shop". set, if not nil, changes the service
// before it is made.
func envOn(t testing.TB, st baoguan.Store, c *clock, set func(*core.Service)) *env {
	t.Helper()
	ctx := context.Background()
	s := &core.Service{Store: st, Now: c.Now,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity}
	if set != nil {
		set(s)
	}
	svc := core.New(s)
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, clock: c, m: m, ctx: ctx}
}

// drain runs due jobs, moving the clock forward until nothing is left to
// do within the horizon.
func (e *env) drain(t *testing.T, horizon time.Duration) {
	t.Helper()
	end := e.clock.Now().Add(horizon)
	for e.clock.Now().Before(end) {
		if _, err := e.svc.RunOnce(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Second)
	}
}

func (e *env) order(t *testing.T, no, id string, ch baoguan.Channel, amount int64) *baoguan.Order {
	t.Helper()
	o, created, err := e.svc.CreateOrder(e.ctx, e.m, core.OrderInput{
		Order: baoguan.Order{MerchantOrderNo: no, Amount: amount, Subject: "口红", Channel: ch,
			Payer: baoguan.Payer{Name: "张三", IDNumber: id, Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}},
	})
	if err != nil || !created {
		t.Fatalf("CreateOrder(%s): %v created=%v", no, err, created)
	}
	return o
}

func (e *env) detail(t *testing.T, no string) *core.OrderView {
	t.Helper()
	v, err := e.svc.OrderDetail(e.ctx, e.m, no)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPipelineOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second)
	cases := []struct {
		no, id      string
		ch          baoguan.Channel
		pay         baoguan.PayStatus
		declare     baoguan.DeclareStatus
		state       baoguan.DeclState
		explanation string
	}{
		{"OK1", "110105199001011232", baoguan.ChannelMock, baoguan.PaySucceed, baoguan.DeclareDone, baoguan.DeclSuccess, ""},
		{"OK2", "110105199001011232", baoguan.ChannelAuto, baoguan.PaySucceed, baoguan.DeclareDone, baoguan.DeclSuccess, ""},
		{"MISMATCH", "110105199001019998", baoguan.ChannelMock, baoguan.PaySucceed, baoguan.DeclareFailedSt, baoguan.DeclFail, "支付人姓名和证件号不匹配"},
		{"HEALS", "11010519900101998X", baoguan.ChannelMock, baoguan.PaySucceed, baoguan.DeclareDone, baoguan.DeclSuccess, ""},
		{"CHECKSUM", "110105199001011230", baoguan.ChannelMock, baoguan.PaySucceed, baoguan.DeclareFailedSt, baoguan.DeclFail, "校验"},
		{"SAMPLE", "310113198010101234", baoguan.ChannelMock, baoguan.PaySucceed, baoguan.DeclareDone, baoguan.DeclSuccess, ""},
		{"X-PAYFAIL", "110105199001011232", baoguan.ChannelAuto, baoguan.PayFailed, baoguan.DeclarePending, baoguan.DeclUndeclared, ""},
	}
	for _, c := range cases {
		e.order(t, c.no, c.id, c.ch, 4023)
	}
	e.drain(t, 10*time.Minute)
	for _, c := range cases {
		v := e.detail(t, c.no)
		if v.Order.PayStatus != c.pay || v.Order.DeclareStatus != c.declare {
			t.Errorf("%s: pay %s declare %s, want %s %s", c.no, v.Order.PayStatus, v.Order.DeclareStatus, c.pay, c.declare)
		}
		if len(v.Declarations) != 1 {
			t.Fatalf("%s: %d declarations", c.no, len(v.Declarations))
		}
		d := v.Declarations[0]
		if d.State != c.state || (c.explanation != "" && !contains(d.Explanation, c.explanation)) {
			t.Errorf("%s: declaration %s %q, want %s %q", c.no, d.State, d.Explanation, c.state, c.explanation)
		}
		if d.State == baoguan.DeclSuccess && (d.VerifyDepartmentTradeID == "" || d.OrderFee != 4023 || d.IdentityCheck != baoguan.CheckSame) {
			t.Errorf("%s: success without receipt facts: %+v", c.no, d)
		}
	}
	if d := e.detail(t, "HEALS").Declarations[0]; d.Attempts != 2 {
		t.Errorf("HEALS took %d attempts, want 2", d.Attempts)
	}
	// The auto channel paid from the funding account: 2 orders' worth less.
	ms, _ := e.svc.Merchants(e.ctx)
	if ms[0].FundingBalance != 100_000_000-4023 {
		t.Errorf("funding balance %d, want %d", ms[0].FundingBalance, 100_000_000-4023)
	}
}

func TestRedeclareWithNewPayer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.order(t, "FIX", "110105199001019998", baoguan.ChannelMock, 100)
	e.drain(t, time.Minute)
	if st := e.detail(t, "FIX").Order.DeclareStatus; st != baoguan.DeclareFailedSt {
		t.Fatalf("declare status %s, want DECLARE_FAILED", st)
	}
	ds, err := e.svc.Declare(e.ctx, e.m, "FIX", core.DeclareInput{Payer: &baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}})
	if err != nil || len(ds) != 1 || ds[0].State != baoguan.DeclPending {
		t.Fatalf("Declare: %v %+v", err, ds)
	}
	e.drain(t, time.Minute)
	v := e.detail(t, "FIX")
	if v.Order.DeclareStatus != baoguan.DeclareDone || v.Declarations[0].Attempts != 2 {
		t.Fatalf("after re-declare: %s, attempts %d", v.Order.DeclareStatus, v.Declarations[0].Attempts)
	}
	// The declared payer now differs from the one who paid.
	if v.Declarations[0].IdentityCheck != baoguan.CheckDifferent {
		t.Errorf("identity check %s, want DIFFERENT", v.Declarations[0].IdentityCheck)
	}
	// A second re-declare of a successful declaration without a target is refused.
	if _, err := e.svc.Declare(e.ctx, e.m, "FIX", core.DeclareInput{}); baoguan.ErrorReason(err) != "nothing_to_declare" {
		t.Errorf("re-declare with nothing failed: %v", err)
	}
}

func TestTwoPushPlanAndSplitLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	_, _, err := e.svc.CreateOrder(e.ctx, e.m, core.OrderInput{
		Order: baoguan.Order{MerchantOrderNo: "GZ", Amount: 10000, Subject: "奶粉", Channel: baoguan.ChannelMock,
			Payer: baoguan.Payer{Name: "李四", IDNumber: "110105199001011232", Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "GUANGZHOU_HP_GJ", SubOrderNo: "S1", OrderFee: 6000, TransportFee: 1000, ProductFee: 5000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.drain(t, time.Minute)
	v := e.detail(t, "GZ")
	if len(v.Declarations) != 2 || v.Order.DeclareStatus != baoguan.DeclareDone {
		t.Fatalf("want 2 successful declarations (GUANGZHOU_ZS, GUANGZHOU_HP_GJ), got %d, %s", len(v.Declarations), v.Order.DeclareStatus)
	}
	// A second sub-order may declare the remaining 4000, not more.
	_, err = e.svc.Declare(e.ctx, e.m, "GZ", core.DeclareInput{Specs: []baoguan.DeclarationSpec{{Customs: "GUANGZHOU_ZS", SubOrderNo: "S2", OrderFee: 4001, ProductFee: 4001}}})
	if baoguan.ErrorReason(err) != "declared_above_paid" {
		t.Fatalf("over-declaring: %v", err)
	}
	// After a refund of 1000, only 3000 remain declarable.
	if _, _, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{OrderNo: "GZ", RefundNo: "R1", Amount: 1000}); err != nil {
		t.Fatal(err)
	}
	e.drain(t, time.Minute)
	_, err = e.svc.Declare(e.ctx, e.m, "GZ", core.DeclareInput{Specs: []baoguan.DeclarationSpec{{Customs: "GUANGZHOU_ZS", SubOrderNo: "S2", OrderFee: 3001, ProductFee: 3001}}})
	if baoguan.ErrorReason(err) != "declared_above_paid" {
		t.Fatalf("over-declaring after refund: %v", err)
	}
	if _, err = e.svc.Declare(e.ctx, e.m, "GZ", core.DeclareInput{Specs: []baoguan.DeclarationSpec{{Customs: "GUANGZHOU_ZS", SubOrderNo: "S2", OrderFee: 3000, ProductFee: 3000}}}); err != nil {
		t.Fatalf("declaring the rest: %v", err)
	}
}

func TestRefunds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.order(t, "R", "110105199001011232", baoguan.ChannelMock, 1000)
	if _, _, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{OrderNo: "R", RefundNo: "EARLY", Amount: 10}); baoguan.ErrorReason(err) != "not_paid" {
		t.Fatalf("refund before payment: %v", err)
	}
	e.drain(t, time.Minute)
	r1, created, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{OrderNo: "R", RefundNo: "R1", Amount: 600})
	if err != nil || !created {
		t.Fatal(err)
	}
	// Same refund number, same content: the same refund; other content: conflict.
	if again, created, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{OrderNo: "R", RefundNo: "R1", Amount: 600}); err != nil || created || again.ID != r1.ID {
		t.Errorf("repeat refund: %v created=%v", err, created)
	}
	if _, _, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{OrderNo: "R", RefundNo: "R1", Amount: 601}); baoguan.ErrorReason(err) != "duplicate_refund_no" {
		t.Errorf("refund number reuse: %v", err)
	}
	// 600 pending + 401 > 1000, even before the first one succeeds.
	if _, _, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{OrderNo: "R", RefundNo: "R2", Amount: 401}); baoguan.ErrorReason(err) != "refund_above_paid" {
		t.Errorf("over-refund: %v", err)
	}
	if _, _, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{OrderNo: "R", RefundNo: "R3-REFUNDFAIL", Amount: 400}); err != nil {
		t.Fatal(err)
	}
	e.drain(t, time.Minute)
	v := e.detail(t, "R")
	if v.Order.Refunded != 600 {
		t.Errorf("refunded %d, want 600 (the failed refund does not count)", v.Order.Refunded)
	}
	got := map[string]baoguan.RefundStatus{}
	for _, r := range v.Refunds {
		got[r.MerchantRefundNo] = r.Status
	}
	if got["R1"] != baoguan.RefundSucceed || got["R3-REFUNDFAIL"] != baoguan.RefundFailed {
		t.Errorf("refund states %v", got)
	}
	// The failed refund frees its amount again.
	if _, _, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{OrderNo: "R", RefundNo: "R4", Amount: 400}); err != nil {
		t.Errorf("refund of the rest: %v", err)
	}
}

func TestRearrangeAfterFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.order(t, "RE-PAYFAIL", "110105199001011232", baoguan.ChannelAuto, 100)
	if _, err := e.svc.RearrangePay(e.ctx, e.m, "RE-PAYFAIL"); baoguan.ErrorCode(err) != baoguan.ESTATE {
		t.Fatalf("re-arranging an unpaid, unfailed order: %v", err)
	}
	e.drain(t, time.Minute)
	o, err := e.svc.RearrangePay(e.ctx, e.m, "RE-PAYFAIL")
	if err != nil || o.PayStatus != baoguan.PayNotPayed || o.PayAttempts != 2 {
		t.Fatalf("re-arrange: %v %+v", err, o)
	}
	e.drain(t, time.Minute)
	if st := e.detail(t, "RE-PAYFAIL").Order.PayStatus; st != baoguan.PayFailed {
		t.Errorf("the PAYFAIL rule holds on every round, got %s", st)
	}
}

func TestInsufficientFunding(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	if _, err := e.svc.UpdateMerchant(e.ctx, e.m.No, func(m *baoguan.Merchant) error { m.FundingBalance = 150; return nil }); err != nil {
		t.Fatal(err)
	}
	e.order(t, "F1", "110105199001011232", baoguan.ChannelAuto, 100)
	e.order(t, "F2", "110105199001011232", baoguan.ChannelAuto, 100)
	e.drain(t, time.Minute)
	a, b := e.detail(t, "F1").Order, e.detail(t, "F2").Order
	paid := 0
	for _, o := range []*baoguan.Order{a, b} {
		if o.PayStatus == baoguan.PaySucceed {
			paid++
		} else if o.Payment.FailReason != "商户垫资账户余额不足" {
			t.Errorf("%s failed with %q", o.MerchantOrderNo, o.Payment.FailReason)
		}
	}
	if paid != 1 {
		t.Errorf("%d orders paid from a balance that covers one", paid)
	}
}

func TestDuplicateOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	first := e.order(t, "D1", "110105199001011232", baoguan.ChannelMock, 100)
	in := core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "D1", Amount: 100, Subject: "口红", Channel: baoguan.ChannelMock,
		Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}}
	o, created, err := e.svc.CreateOrder(e.ctx, e.m, in)
	if err != nil || created || o.ID != first.ID {
		t.Fatalf("same content: %v created=%v", err, created)
	}
	in.Order.Amount = 101
	if _, _, err := e.svc.CreateOrder(e.ctx, e.m, in); baoguan.ErrorReason(err) != "duplicate_order_no" {
		t.Fatalf("other content: %v", err)
	}
	// Another merchant may use the same number, and cannot see the first.
	other, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Order(e.ctx, other, "D1"); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Fatalf("other merchant sees the order: %v", err)
	}
	if _, created, err := e.svc.CreateOrder(e.ctx, other, in); err != nil || !created {
		t.Fatalf("other merchant, same number: %v", err)
	}
}

func TestBatchPay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	var in core.BatchInput
	for i, no := range []string{"B1", "B2", "B3-PAYFAIL"} {
		_ = i
		in.Orders = append(in.Orders, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: 100, Subject: "s", Channel: baoguan.ChannelAuto,
			Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG016"}}})
	}
	bad := in
	bad.Orders = append([]core.OrderInput{}, in.Orders...)
	bad.Orders[1].Order.Payer.Phone = ""
	if _, _, err := e.svc.CreateBatch(e.ctx, e.m, bad); baoguan.ErrorField(err) != "orders[1].payer.phone" {
		t.Fatalf("bad batch: %v", err)
	}
	if _, err := e.svc.Order(e.ctx, e.m, "B1"); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Fatal("a refused batch wrote an order")
	}
	b, _, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if err != nil {
		t.Fatal(err)
	}
	e.drain(t, time.Minute)
	if _, sum, _ := e.svc.Batch(e.ctx, e.m, b.ID); sum.PayOther != 3 {
		t.Fatalf("orders paid before the batch was: %+v", sum)
	}
	if n, err := e.svc.PayBatch(e.ctx, e.m, b.ID); err != nil || n != 3 {
		t.Fatalf("PayBatch: %d %v", n, err)
	}
	e.drain(t, time.Minute)
	_, sum, _ := e.svc.Batch(e.ctx, e.m, b.ID)
	want := baoguan.BatchSummary{Total: 3, PaySucceed: 2, PayFailed: 1, DeclareSucceed: 2, DeclareOther: 1, PaidAmount: 200, Finished: 3}
	if sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	// A second pay call pays only the failed order.
	if n, err := e.svc.PayBatch(e.ctx, e.m, b.ID); err != nil || n != 1 {
		t.Errorf("second PayBatch: %d %v", n, err)
	}
	// Its payment starts a new round, with the round's pay job.
	if o, err := e.svc.Order(e.ctx, e.m, "B3-PAYFAIL"); err != nil || o.PayStatus != baoguan.PayNotPayed || o.PayAttempts != 2 {
		t.Errorf("the failed order after the second PayBatch: %+v %v", o, err)
	} else if js, _ := e.svc.Jobs(e.ctx, baoguan.JobFilter{Kind: baoguan.JobPay, State: baoguan.JobQueued}); len(js) != 1 ||
		js[0].DedupeKey != fmt.Sprintf("pay:%d:2", o.ID) {
		t.Errorf("queued pay jobs after the second PayBatch: %+v", js)
	}
	e.drain(t, time.Minute)
	for _, o := range []string{"B3-PAYFAIL"} {
		_, _ = e.svc.RearrangePay(e.ctx, e.m, o)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0))
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// recordFormat renders every notice as its type and sends nowhere, so the
// stored events show what the core emitted.
type recordFormat struct{}

func (recordFormat) Render(n core.Notice) ([]byte, string, bool, error) {
	b := n.Type
	if n.Type == core.EventOrderCompleted {
		for _, d := range n.Declarations {
			b += " " + string(d.State)
		}
	}
	return []byte(b), "text/plain", true, nil
}
func (recordFormat) Deliver(context.Context, *http.Client, *baoguan.Merchant, *baoguan.Event) core.Delivery {
	return core.Delivery{}
}
func (recordFormat) Schedule() baoguan.Retry                      { return nil }
func (recordFormat) URL(*baoguan.Merchant, *baoguan.Order) string { return "" }

func TestExceptThatNeverHealsEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.Retries[baoguan.JobDeclare] = baoguan.Retry{time.Second, time.Second}
	e.svc.Formats.Register("rec", recordFormat{})
	_, _, err := e.svc.CreateOrder(e.ctx, e.m, core.OrderInput{
		Order: baoguan.Order{MerchantOrderNo: "EX", Amount: 100, Subject: "s", Channel: baoguan.ChannelMock, Protocol: "rec",
			Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001019971", Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.drain(t, time.Minute)
	v := e.detail(t, "EX")
	d := v.Declarations[0]
	if d.State != baoguan.DeclExcept || d.Retrying || d.Attempts != 3 || v.Order.DeclareStatus != baoguan.DeclareFailedSt {
		t.Fatalf("after the retries: %s retrying=%v attempts=%d order %s", d.State, d.Retrying, d.Attempts, v.Order.DeclareStatus)
	}
	evs, err := e.svc.Events(e.ctx, e.m, baoguan.EventFilter{OrderID: v.Order.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, string(ev.Body))
	}
	want := []string{baoguan.EventOrderPaid, baoguan.EventDeclFailed, core.EventOrderCompleted + " EXCEPT"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestCreateOrderLeavesItsInputAlone: a push fills defaults in on specs of
// its own. The caller's input stays as given, so one input may be pushed
// from several goroutines at once (they raced under go test -race when
// the checks wrote into it), and a batch check leaves it as given too.
func TestCreateOrderLeavesItsInputAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	orderer := &baoguan.Payer{Name: "李四", IDNumber: "110105199001011232"}
	in := core.OrderInput{
		Order: baoguan.Order{MerchantOrderNo: "ALONE", Amount: 100, Subject: "口红", Channel: baoguan.ChannelMock,
			Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: " HG014 ", Payer: orderer}},
	}
	want := in.Declarations[0]
	wantOrderer := *orderer
	if _, err := e.svc.CheckBatch(e.ctx, e.m, []core.OrderInput{in}); err != nil {
		t.Fatal(err)
	}
	created := make([]bool, 8)
	var wg sync.WaitGroup
	for i := range created {
		wg.Go(func() {
			o, c, err := e.svc.CreateOrder(e.ctx, e.m, in)
			if err != nil || o.MerchantOrderNo != "ALONE" {
				t.Errorf("push %d: %v", i, err)
			}
			created[i] = c
		})
	}
	wg.Wait()
	if n := len(slices.DeleteFunc(created, func(c bool) bool { return !c })); n != 1 {
		t.Errorf("%d of 8 pushes of one order created it", n)
	}
	if got := in.Declarations[0]; got.Customs != want.Customs || got.Strategy != want.Strategy || got.Payer != orderer {
		t.Errorf("the caller's spec changed: %+v, was %+v", got, want)
	}
	if *orderer != wantOrderer {
		t.Errorf("the caller's orderer changed: %+v, was %+v", *orderer, wantOrderer)
	}
	// What was stored has the defaults.
	if v := e.detail(t, "ALONE"); len(v.Declarations) != 1 || v.Declarations[0].Customs != "HG014" {
		t.Errorf("stored declarations: %+v", v.Declarations)
	}
}
