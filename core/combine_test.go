package core_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

// combineEnv is a service on a fresh store of kind with CombinedWrites
// writes, and three merchants: two in the sandbox, one live (whose
// channel is remote, and whose orders declare to HG014 only).
type combineEnv struct {
	svc *core.Service
	ms  []*baoguan.Merchant
}

func newCombineEnv(t *testing.T, kind string, writes int) *combineEnv {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	db := openKind(t, kind, c.Now)
	svc := core.New(&core.Service{Store: db, Now: c.Now,
		Sandbox: core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		// Live orders declare to HG014 only: HG019 has no route.
		Live: core.Adapters{Channel: remoteChannel{sandbox.NewChannel()}, Routes: map[string]core.Route{
			baoguan.RouteEPort: {Port: sandbox.NewPort(0), Accepts: func(code string) bool { return code == "HG014" }}}},
		SampleIdentity: sandbox.IsSampleIdentity, CombinedWrites: writes})
	core.SetCombinePause(svc, 0) // groups that fail and groups that do not, one after the other
	e := &combineEnv{svc: svc}
	for _, in := range []core.MerchantInput{{Name: "a"}, {Name: "b"}, {Name: "live", Mode: baoguan.ModeLive}} {
		m, _, err := svc.CreateMerchant(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		e.ms = append(e.ms, m)
	}
	return e
}

// push is one order push of the test: by merchant m (an index of
// combineEnv.ms; -1 for a merchant that does not exist).
type push struct {
	m  int
	in core.OrderInput
}

type pushAnswer struct {
	v       *core.OrderView
	created bool
	err     error
}

func orderIn(no string, amount int64, test bool, customs ...string) core.OrderInput {
	in := core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: amount, Subject: "口红",
		Channel: baoguan.ChannelMock, Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
		Test: test}
	for _, c := range customs {
		in.Declarations = append(in.Declarations, baoguan.DeclarationSpec{Customs: c})
	}
	return in
}

// pushAll pushes every push at once and returns the answers, in order.
// With hold, the first combined write waits until every push is queued.
func (e *combineEnv) pushAll(t *testing.T, ps []push, hold bool) []pushAnswer {
	t.Helper()
	ctx := context.Background()
	if hold {
		var once sync.Once
		core.SetBeforeCombinedWrite(e.svc, func() {
			once.Do(func() {
				for end := time.Now().Add(10 * time.Second); core.QueuedPushes(e.svc) < len(ps) && time.Now().Before(end); {
					time.Sleep(time.Millisecond)
				}
			})
		})
		defer core.SetBeforeCombinedWrite(e.svc, nil)
	}
	answers := make([]pushAnswer, len(ps))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range ps {
		m := &baoguan.Merchant{ID: e.ms[0].ID + 1000, Status: baoguan.MerchantActive, Mode: baoguan.ModeSandbox}
		if p.m >= 0 {
			m = e.ms[p.m]
		}
		wg.Go(func() {
			<-start
			a := &answers[i]
			a.v, a.created, a.err = e.svc.CreateOrderDetail(ctx, m, p.in)
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// plain is an answer without what differs between two stores and two
// runs: ids, generated numbers, the merchant's id.
func plain(a pushAnswer) string {
	if a.err != nil {
		return fmt.Sprintf("error %s %s %s", baoguan.ErrorCode(a.err), baoguan.ErrorReason(a.err), baoguan.ErrorField(a.err))
	}
	o := *a.v.Order
	o.ID, o.MerchantID = 0, 0
	ds := make([]baoguan.Declaration, len(a.v.Declarations))
	for i, d := range a.v.Declarations {
		d.ID, d.OrderID, d.MerchantID, d.SubOrderID = 0, 0, 0, ""
		ds[i] = d
	}
	return fmt.Sprintf("created %v order %+v declarations %+v refunds %d", a.created, o, ds, len(a.v.Refunds))
}

// stored is every order of the env's merchants, with its declarations,
// as plain as plain's answers, by merchant and number.
func (e *combineEnv) stored(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for i, m := range e.ms {
		os, err := e.svc.Orders(ctx, m, baoguan.OrderFilter{Page: baoguan.Page{Limit: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range os {
			v, err := e.svc.OrderDetail(ctx, m, o.MerchantOrderNo)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("merchant %d: %s", i, plain(pushAnswer{v: v, created: true})))
		}
	}
	sort.Strings(out)
	return out
}

// TestCombinedPushesBothStores: pushes that arrive together are stored by
// one write (the metrics count more orders than writes), and every push
// is answered as the one-order path answers it — new orders, repeats and
// duplicate numbers, a number pushed several times at once with the same
// and with other content, a target planned twice, an error inside the
// transaction (a live order's declaration without a route), a merchant
// the store does not know — with the same orders, declarations and pay
// jobs stored.
func TestCombinedPushesBothStores(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testCombinedPushes(t, kind)
		})
	}
}

func testCombinedPushes(t *testing.T, kind string) {
	ctx := context.Background()
	combined := newCombineEnv(t, kind, 1)
	alone := newCombineEnv(t, kind, 0)

	// Round 1: new orders only, of three merchants (two with one number
	// each), with no, one and two declarations, a live one whose payment
	// is a pay job row.
	var common []push
	for i := range 76 {
		var customs []string
		switch i % 3 {
		case 1:
			customs = []string{"HG014"}
		case 2:
			customs = []string{"HG014", "HG019"}
		}
		common = append(common, push{i % 2, orderIn(fmt.Sprintf("N-%d", i), int64(100+i), i%5 == 0, customs...)})
	}
	common = append(common, push{0, orderIn("X-1", 500, false, "HG014")}, push{1, orderIn("X-1", 500, false, "HG014")},
		push{2, orderIn("L-1", 700, false)}, push{2, orderIn("L-2", 800, false, "HG014")}, push{2, orderIn("L-4", 900, false, "HG014")})
	for _, e := range []*combineEnv{combined, alone} {
		answers := e.pushAll(t, common, e == combined)
		for i, a := range answers {
			if a.err != nil || !a.created {
				t.Fatalf("push %d (%s): created %v, %v", i, common[i].in.Order.MerchantOrderNo, a.created, a.err)
			}
		}
	}
	writes := counter(t, combined.svc.Metrics.CombinedWrites)
	orders := counter(t, combined.svc.Metrics.OrdersCombined)
	if writes < 1 || orders != float64(len(common)) {
		t.Fatalf("%v orders stored by %v combined writes; want all %d by one or more", orders, writes, len(common))
	}
	if orders <= writes {
		t.Fatalf("%v orders stored by %v combined writes: nothing combined", orders, writes)
	}
	if n := counter(t, combined.svc.Metrics.OrdersCreated); n != float64(len(common)) {
		t.Errorf("orders created: %v; want %d", n, len(common))
	}

	// Round 2: what a combined write cannot store, each beside new
	// orders in one write: the write fails, and each of its pushes is
	// stored alone. Two pushes of one number never share a write: the
	// others go alone at once, and the write stores the rest.
	old := orderIn("OLD-1", 300, false, "HG014")
	dupA, dupB := orderIn("DUP-D", 400, false, "HG014"), orderIn("DUP-D", 401, false, "HG014")
	groups := []struct {
		stored bool // by a combined write
		ps     []push
	}{
		{false, []push{{0, old}}},                                              // a repeat
		{false, []push{{0, orderIn("OLD-1", 301, false, "HG014")}}},            // a duplicate number
		{false, []push{{0, orderIn("N-0", 100, true)}}},                        // a repeat of round 1's
		{true, []push{{1, orderIn("N-0", 100, true)}}},                         // new: N-0 is merchant 0's
		{false, []push{{0, orderIn("TWICE-1", 500, false, "HG014", "HG014")}}}, // a target planned twice
		{false, []push{{2, orderIn("L-3", 600, false, "HG019")}}},              // live: no route to HG019
		{false, []push{{-1, orderIn("GHOST-1", 600, false)}}},                  // no such merchant
		{true, []push{{0, orderIn("DUP-S", 400, false)}, {0, orderIn("DUP-S", 400, false)}, {0, orderIn("DUP-S", 400, false)},
			{1, dupA}, {1, dupB}, {1, dupA}, {1, dupB}}},
	}
	racing := map[string]bool{"DUP-S": true, "DUP-D": true}
	for _, e := range []*combineEnv{combined, alone} {
		if _, _, err := e.svc.CreateOrder(ctx, e.ms[0], old); err != nil {
			t.Fatal(err)
		}
	}
	for g, group := range groups {
		ps := group.ps
		for i := range 4 {
			ps = append(ps, push{i % 3, orderIn(fmt.Sprintf("M-%d-%d", g, i), int64(200+i), false)})
		}
		before := counter(t, combined.svc.Metrics.CombinedWrites)
		var results [2][]pushAnswer
		for k, e := range []*combineEnv{combined, alone} {
			results[k] = e.pushAll(t, ps, e == combined)
		}
		if n := counter(t, combined.svc.Metrics.CombinedWrites) - before; n != map[bool]float64{true: 1}[group.stored] {
			t.Errorf("group %d (%s): %v combined writes committed", g, ps[0].in.Order.MerchantOrderNo, n)
		}
		for i, p := range ps {
			no := p.in.Order.MerchantOrderNo
			if racing[no] {
				continue
			}
			if got, want := plain(results[0][i]), plain(results[1][i]); got != want {
				t.Errorf("push %d (%s), combined:\n%s\nalone:\n%s", i, no, got, want)
			}
		}
		// A number pushed several times at once: one push creates it, the
		// others with its content are answered with it, with other content
		// ECONFLICT duplicate_order_no.
		for k := range results {
			for no := range racing {
				var first *baoguan.Order
				for i, p := range ps {
					if a := results[k][i]; p.in.Order.MerchantOrderNo == no && a.created {
						if first != nil {
							t.Fatalf("%s created twice", no)
						}
						first = a.v.Order
					}
				}
				if first == nil {
					continue
				}
				for i, p := range ps {
					a := results[k][i]
					switch {
					case p.in.Order.MerchantOrderNo != no || a.created:
					case p.in.Order.Amount == first.Amount:
						if a.err != nil || a.v.Order.ID != first.ID || len(a.v.Declarations) != len(p.in.Declarations) {
							t.Errorf("push %d (%s), the first's content: %v; want the order %d", i, no, a.err, first.ID)
						}
					case baoguan.ErrorCode(a.err) != baoguan.ECONFLICT || baoguan.ErrorReason(a.err) != "duplicate_order_no":
						t.Errorf("push %d (%s), other content: %v; want ECONFLICT duplicate_order_no", i, no, a.err)
					}
				}
			}
		}
	}

	// What both stored, and the payments they queued: the same.
	got, want := combined.stored(t), alone.stored(t)
	if len(got) != len(want) {
		t.Errorf("%d orders stored combined, %d alone", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		// Which content of DUP-D won the race may differ (checked above).
		if got[i] != want[i] && !strings.Contains(got[i], "MerchantOrderNo:DUP-D ") {
			t.Errorf("stored, combined:\n%s\nalone:\n%s", got[i], want[i])
		}
	}
	for _, e := range []*combineEnv{combined, alone} {
		for {
			n, err := e.svc.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		paid, err := e.svc.Orders(ctx, e.ms[2], baoguan.OrderFilter{PayStatus: baoguan.PaySucceed})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range e.ms[:2] {
			os, err := e.svc.Orders(ctx, m, baoguan.OrderFilter{PayStatus: baoguan.PaySucceed, Page: baoguan.Page{Limit: 1000}})
			if err != nil {
				t.Fatal(err)
			}
			paid = append(paid, os...)
		}
		if len(paid) != len(want) {
			t.Errorf("%d orders paid once the jobs ran, of %d", len(paid), len(want))
		}
	}
}

// TestCombinedPushGivenUp: a push whose caller gives up while it waits
// for a combined write is dropped unstored, as the store drops an Update
// whose context ended before it ran; the pushes queued with it are
// stored, and a push taken by a write is answered with its outcome.
func TestCombinedPushGivenUp(t *testing.T) {
	t.Parallel()
	e := newCombineEnv(t, "sqlite", 1)
	release := make(chan struct{})
	var once sync.Once
	core.SetBeforeCombinedWrite(e.svc, func() { once.Do(func() { <-release }) })
	ctx := context.Background()
	first := make(chan error, 1)
	go func() {
		_, _, err := e.svc.CreateOrder(ctx, e.ms[0], orderIn("G-1", 100, false))
		first <- err
	}()
	for core.QueuedPushes(e.svc) < 1 {
		time.Sleep(time.Millisecond)
	}
	// The first push's write waits (the hook): the next ones queue.
	gone, cancel := context.WithCancel(ctx)
	given := make(chan error, 1)
	go func() {
		_, _, err := e.svc.CreateOrder(gone, e.ms[0], orderIn("G-2", 100, false))
		given <- err
	}()
	kept := make(chan error, 1)
	go func() {
		_, _, err := e.svc.CreateOrder(ctx, e.ms[1], orderIn("G-3", 100, false))
		kept <- err
	}()
	for core.QueuedPushes(e.svc) < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-given; err != context.Canceled {
		t.Fatalf("the push given up: %v; want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-kept; err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Order(ctx, e.ms[0], "G-2"); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Errorf("the push given up was stored: %v", err)
	}
	if _, err := e.svc.Order(ctx, e.ms[1], "G-3"); err != nil {
		t.Errorf("the push queued beside it: %v", err)
	}
}

// TestCombinePause: after a combined write failed (a repeat among new
// pushes), pushes are stored alone for a while, each answered as before.
func TestCombinePause(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newCombineEnv(t, "sqlite", 1)
	core.SetCombinePause(e.svc, time.Hour)
	old := orderIn("P-OLD", 300, false, "HG014")
	if _, _, err := e.svc.CreateOrder(ctx, e.ms[0], old); err != nil {
		t.Fatal(err)
	}
	failing := []push{{0, old}, {0, orderIn("P-1", 100, false)}, {1, orderIn("P-2", 100, false, "HG014")}}
	for i, a := range e.pushAll(t, failing, true) {
		if a.err != nil || a.created != (i > 0) {
			t.Fatalf("push %d: created %v, %v", i, a.created, a.err)
		}
	}
	later := []push{{0, orderIn("P-3", 100, false)}, {1, orderIn("P-4", 100, false)}, {0, orderIn("P-5", 100, false)}}
	for i, a := range e.pushAll(t, later, true) {
		if a.err != nil || !a.created {
			t.Fatalf("push %d after the failed write: created %v, %v", i, a.created, a.err)
		}
	}
	if n := counter(t, e.svc.Metrics.CombinedWrites); n != 0 {
		t.Errorf("%v combined writes committed; want none: one failed, then the pause", n)
	}
	if n := counter(t, e.svc.Metrics.OrdersCreated); n != 6 {
		t.Errorf("%v orders created; want 6", n)
	}
}
