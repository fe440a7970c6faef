package core_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// TestDeclarationPushVersions follows one push number through an ADD, its
// repeats and two modifications: each version is kept, the first content
// answers ADD repeats, the latest answers MOD repeats.
func TestDeclarationPushVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	payer := baoguan.Payer{Name: "张三", IDType: baoguan.IDTypeIDCard, IDNumber: "110105199001011232", Phone: "13800138000"}
	if _, _, err := e.svc.CreateOrder(e.ctx, e.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "P1", Amount: 5000,
		Subject: "奶粉", Channel: baoguan.ChannelMock, Payer: payer}}); err != nil {
		t.Fatal(err)
	}
	e.drain(t, 10*time.Second)
	push := func(no string, modify bool, phone string) (*core.DeclarationPushResult, error) {
		p := payer
		p.Phone = phone
		return e.svc.PushDeclaration(e.ctx, e.m, core.DeclarationPushInput{Protocol: "lianlian", No: no, Modify: modify,
			OrderNo: "P1", Payer: p, Spec: baoguan.DeclarationSpec{Customs: "HG021", OrderFee: 5000, ProductFee: 5000},
			Content: []byte(phone), Reply: func(p core.DeclarationPush) ([]byte, error) {
				return []byte("v" + strconv.Itoa(p.Version) + " " + string(p.Declaration.State)), nil
			}})
	}
	reply := func(r *core.DeclarationPushResult, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return string(r.Reply)
	}

	if got := reply(push("N1", false, "13800138000")); got != "v1 PENDING" {
		t.Fatalf("ADD: %s", got)
	}
	if r, err := push("N1", false, "13800138000"); err != nil || !r.Replayed || string(r.Reply) != "v1 PENDING" || r.Push != nil {
		t.Fatalf("repeat: %+v %v", r, err)
	}
	if _, err := push("N1", false, "13900139000"); baoguan.ErrorReason(err) != "duplicate_push" {
		t.Fatalf("other content: %v", err)
	}
	if _, err := push("N9", true, "13900139000"); baoguan.ErrorReason(err) != "unknown_push" {
		t.Fatalf("MOD of an unknown push: %v", err)
	}
	e.drain(t, 10*time.Second)
	if got := reply(push("N1", true, "13900139000")); got != "v2 PENDING" {
		t.Fatalf("first MOD: %s", got)
	}
	e.drain(t, 10*time.Second)
	if got := reply(push("N1", true, "13700137000")); got != "v3 PENDING" {
		t.Fatalf("second MOD: %s", got)
	}
	if got := reply(push("N1", true, "13700137000")); got != "v3 PENDING" {
		t.Errorf("MOD repeated: %s", got)
	}
	if got := reply(push("N1", false, "13800138000")); got != "v1 PENDING" {
		t.Errorf("ADD repeated after MODs: %s", got)
	}
	e.drain(t, 10*time.Second)

	v, err := e.svc.DeclarationPushByNo(e.ctx, e.m, "lianlian", "N1")
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != 3 || v.Declaration.Payer.Phone != "13700137000" || v.Declaration.State != baoguan.DeclSuccess || v.Declaration.Attempts != 3 {
		t.Errorf("push view: version %d, declaration %+v", v.Version, v.Declaration)
	}
	if v.Order.Protocol != "lianlian" || v.Order.Extra[core.DeclarationPushOwnerKey("lianlian", "HG021", "")] != "N1" {
		t.Errorf("order protocol %q extra %v", v.Order.Protocol, v.Order.Extra)
	}
	// The order's own payer is the one who paid; the push declares its own.
	if v.Order.Payer.Phone != "13800138000" {
		t.Errorf("order payer changed to %+v", v.Order.Payer)
	}
	if _, err := e.svc.DeclarationPushByNo(e.ctx, e.m, "lianlian", "N9"); baoguan.ErrorReason(err) != "unknown_push" {
		t.Errorf("unknown push: %v", err)
	}
}
