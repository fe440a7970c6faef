package core_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

// TestPushPayerSealedBeforeItsTransaction: once a transaction of the store
// has given core its sealer, a push seals its payer's ID number and phone
// before its transaction — once for the order, once for each declaration
// its specs plan — and hands them to it (sqlstore.Tx.Presealed; the
// sqlite package's TestPresealedValuesTakenOnce shows an insert takes
// each once); the order and its declaration read back with the payer.
func TestPushPayerSealedBeforeItsTransaction(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
	spy := &presealSpy{Store: openKind(t, "sqlite", c.Now)}
	svc := core.New(&core.Service{Store: spy, Now: c.Now,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity})
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	in := benchOrder("PRESEAL1", "native") // one declaration, a payer with an ID number and a phone
	payer := in.Order.Payer
	if _, _, err := svc.CreateOrder(ctx, m, in); err != nil {
		t.Fatal(err)
	}
	spy.reset()
	o, _, err := svc.CreateOrder(ctx, m, benchOrder("PRESEAL2", "native"))
	if err != nil {
		t.Fatal(err)
	}
	given := spy.pairs()
	var plain []string
	for i := 0; i+1 < len(given); i += 2 {
		plain = append(plain, given[i])
		if given[i+1] == "" || given[i+1] == given[i] {
			t.Errorf("pair %d: %q sealed as %q", i/2, given[i], given[i+1])
		}
	}
	want := []string{payer.IDNumber, payer.IDNumber, payer.Phone, payer.Phone}
	if !slices.Equal(plain, want) {
		t.Fatalf("the push's transaction was given %q sealed beforehand, want %q", plain, want)
	}
	v, err := svc.OrderDetail(ctx, m, o.MerchantOrderNo)
	if err != nil {
		t.Fatal(err)
	}
	same := func(p baoguan.Payer) bool { return p.IDNumber == payer.IDNumber && p.Phone == payer.Phone }
	if !same(v.Order.Payer) || len(v.Declarations) != 1 || !same(v.Declarations[0].Payer) {
		t.Errorf("read back: order payer %+v, declarations %+v; want the ID number and phone of %+v", v.Order.Payer, v.Declarations, payer)
	}
}

// presealSpy is a store whose write transactions note the values sealed
// before them that core hands them.
type presealSpy struct {
	baoguan.Store
	mu    sync.Mutex
	given []string
}

type presealer interface {
	ValueSealer() func(string) (string, error)
	Presealed(pairs []string)
}

func (s *presealSpy) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	return s.Store.Update(ctx, func(tx baoguan.Tx) error { return fn(&presealTx{Tx: tx, spy: s}) })
}

func (s *presealSpy) reset() { s.mu.Lock(); s.given = nil; s.mu.Unlock() }

func (s *presealSpy) pairs() []string { s.mu.Lock(); defer s.mu.Unlock(); return s.given }

type presealTx struct {
	baoguan.Tx
	spy *presealSpy
}

func (t *presealTx) ValueSealer() func(string) (string, error) {
	return t.Tx.(presealer).ValueSealer()
}

func (t *presealTx) Presealed(pairs []string) {
	t.spy.mu.Lock()
	t.spy.given = append(t.spy.given, pairs...)
	t.spy.mu.Unlock()
	t.Tx.(presealer).Presealed(pairs)
}
