package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// TestIdempotent follows one Idempotency-Key through its cases: the first
// request's answer is kept with its effect and replayed, another request
// with the key is refused, a refusal that wrote nothing is kept too, and a
// key whose request died between its effect and its answer is taken over
// once stale.
func TestIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	runs := 0
	create := func(no string) func(ctx context.Context) core.Response {
		return func(ctx context.Context) core.Response {
			runs++
			_, created, err := e.svc.CreateOrder(ctx, e.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: 100, Subject: "x"}})
			switch {
			case err != nil:
				return core.Response{Status: 400, Body: []byte(baoguan.ErrorReason(err))}
			case created:
				return core.Response{Status: 201, Body: []byte("created " + no)}
			}
			return core.Response{Status: 200, Body: []byte("exists " + no)}
		}
	}
	res, replayed, err := e.svc.Idempotent(e.ctx, e.m, "k1", "h1", create("I1"))
	if err != nil || replayed || res.Status != 201 || runs != 1 {
		t.Fatalf("first: %+v %v %v runs %d", res, replayed, err, runs)
	}
	res, replayed, err = e.svc.Idempotent(e.ctx, e.m, "k1", "h1", create("I1"))
	if err != nil || !replayed || res.Status != 201 || string(res.Body) != "created I1" || runs != 1 {
		t.Fatalf("repeat: %+v %v %v runs %d", res, replayed, err, runs)
	}
	if _, _, err := e.svc.Idempotent(e.ctx, e.m, "k1", "h2", create("I2")); baoguan.ErrorReason(err) != core.ReasonKeyReused || runs != 1 {
		t.Fatalf("other request with the key: %v runs %d", err, runs)
	}
	// A refusal that wrote nothing is kept as well.
	res, _, _ = e.svc.Idempotent(e.ctx, e.m, "k2", "h1", create("bad no"))
	again, replayed, _ := e.svc.Idempotent(e.ctx, e.m, "k2", "h1", create("bad no"))
	if res.Status != 400 || !replayed || again.Status != 400 || runs != 2 {
		t.Fatalf("refusal: %+v then %+v replayed %v runs %d", res, again, replayed, runs)
	}
	// A request that took its key and died before answering: the key is
	// in progress, then, once stale, taken over by a repeat.
	crashed := func(ctx context.Context) core.Response {
		runs++
		if _, _, err := e.svc.CreateOrder(ctx, e.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "I3", Amount: 100, Subject: "x"}}); err != nil {
			t.Fatal(err)
		}
		panic("crash")
	}
	func() {
		defer func() { _ = recover() }()
		_, _, _ = e.svc.Idempotent(e.ctx, e.m, "k3", "h1", crashed)
	}()
	e.clock.Add(2 * time.Minute)
	res, replayed, err = e.svc.Idempotent(e.ctx, e.m, "k3", "h1", create("I3"))
	if err != nil || replayed || res.Status != 200 || string(res.Body) != "exists I3" {
		t.Fatalf("takeover: %+v %v %v", res, replayed, err)
	}
	if res, replayed, _ = e.svc.Idempotent(e.ctx, e.m, "k3", "h1", create("I3")); !replayed || res.Status != 200 {
		t.Fatalf("after takeover: %+v %v", res, replayed)
	}
}
