package core_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

// recordingPort is a live customs port that accepts everything and keeps
// what it was asked.
type recordingPort struct {
	name  string
	mu    sync.Mutex
	calls []string
}

func (p *recordingPort) Name() string { return p.name }
func (p *recordingPort) Declare(_ context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, "declare "+r.Declaration.Customs)
	return baoguan.Receipt{State: baoguan.DeclSuccess, Ref: p.name + "-ref"}, nil
}
func (p *recordingPort) Receipt(_ context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	return baoguan.Receipt{State: baoguan.DeclSuccess}, nil
}
func (p *recordingPort) seen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.calls, ",")
}

type routeEnv struct {
	*env
	wx, ali, ep *recordingPort
}

// newRouteEnv is a live installation with three routes: a WeChat-like
// wallet, an Alipay-like wallet and an E-Port-like route configured for
// HG014 only; its merchant is live.
func newRouteEnv(t *testing.T) *routeEnv {
	t.Helper()
	e := newEnv(t, 0)
	r := &routeEnv{env: e, wx: &recordingPort{name: "wx"}, ali: &recordingPort{name: "ali"}, ep: &recordingPort{name: "ep"}}
	e.svc.Live = core.Adapters{Channel: sandbox.NewChannel(), Routes: map[string]core.Route{
		baoguan.RouteWeChatPay: {Port: r.wx, PaidWith: "WECHAT", Credential: baoguan.RouteWeChatPay, Registration: true, Name: "WeChat Pay",
			Accepts: func(code string) bool { e, _ := baoguan.LookupCustoms(code); return e.In(baoguan.SchemeWeChat) }},
		baoguan.RouteAlipay: {Port: r.ali, PaidWith: "ALIPAY", Credential: baoguan.RouteAlipay, Registration: true, Name: "Alipay",
			Accepts: func(code string) bool { e, _ := baoguan.LookupCustoms(code); return e.In(baoguan.SchemeAlipay) }},
		baoguan.RouteEPort: {Port: r.ep, Name: "E-Port", Accepts: func(code string) bool { return code == "HG014" }},
	}}
	m, err := e.svc.UpdateMerchant(e.ctx, e.m.No, func(m *baoguan.Merchant) error { m.Mode = baoguan.ModeLive; return nil })
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	return r
}

func (r *routeEnv) push(t *testing.T, no, psp, customs string) (*core.OrderView, error) {
	t.Helper()
	v, _, err := r.svc.CreateOrderDetail(r.ctx, r.m, core.OrderInput{
		Order: baoguan.Order{MerchantOrderNo: no, Amount: 5000, Subject: "奶粉", Channel: baoguan.ChannelExternal,
			Payment: baoguan.Payment{No: "TX-" + no, PSP: psp},
			Payer:   baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: customs}},
	})
	return v, err
}

func (r *routeEnv) reload(t *testing.T) {
	t.Helper()
	m, err := r.svc.MerchantByNo(r.ctx, r.m.No)
	if err != nil {
		t.Fatal(err)
	}
	r.m = m
}

func TestRouteChoice(t *testing.T) {
	t.Parallel()
	r := newRouteEnv(t)
	ctx := r.ctx

	// A WeChat payment without WeChat credentials, to a code E-Port does
	// not serve: refused, naming what to configure, and nothing written.
	_, err := r.push(t, "R-1", "WECHAT", "SHANGHAI_ZS")
	if baoguan.ErrorReason(err) != "no_route" || baoguan.ErrorField(err) != "customs" ||
		!strings.Contains(baoguan.ErrorMessage(err), "has no WeChat Pay credentials (baoguan merchant credentials") ||
		!strings.Contains(baoguan.ErrorMessage(err), "E-Port cannot declare to SHANGHAI_ZS") {
		t.Fatalf("push without credentials: %v", err)
	}
	if _, err := r.svc.Order(ctx, r.m, "R-1"); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Fatalf("a refused push wrote the order: %v", err)
	}
	// Credentials alone are not enough: a registration for the code.
	if _, err := r.svc.SetUpstreamCredential(ctx, r.m.No, baoguan.RouteWeChatPay, `{"appid":"wx1","mchid":"123","api_key":"k"}`); err != nil {
		t.Fatal(err)
	}
	r.reload(t)
	if _, err := r.push(t, "R-1", "WECHAT", "SHANGHAI_ZS"); !strings.Contains(baoguan.ErrorMessage(err), "no customs registration for SHANGHAI_ZS") {
		t.Fatalf("push without a registration: %v", err)
	}
	if _, err := r.svc.SetCustomsRegistration(ctx, r.m.No, "SHANGHAI_ZS", core.CustomsRegistration{No: "3101960A01", Name: "上海某商贸"}); err != nil {
		t.Fatal(err)
	}
	r.reload(t)
	v, err := r.push(t, "R-1", "WECHAT", "SHANGHAI_ZS")
	if err != nil || v.Declarations[0].Route != baoguan.RouteWeChatPay {
		t.Fatalf("WeChat-paid order: %+v %v", v, err)
	}
	// An order paid some other way to HG014: E-Port.
	if v, err = r.push(t, "R-2", "OTHERPAY", "HG014"); err != nil || v.Declarations[0].Route != baoguan.RouteEPort {
		t.Fatalf("E-Port order: %+v %v", v, err)
	}
	// A pin wins over the wallet, and is still checked.
	if _, err := r.svc.PinRoute(ctx, r.m.No, "SHANGHAI_ZS", baoguan.RouteEPort); err != nil {
		t.Fatal(err)
	}
	r.reload(t)
	if _, err := r.push(t, "R-3", "WECHAT", "SHANGHAI_ZS"); !strings.Contains(baoguan.ErrorMessage(err), "E-Port cannot declare to SHANGHAI_ZS") {
		t.Fatalf("a pin to a route that cannot serve the code: %v", err)
	}
	if _, err := r.svc.PinRoute(ctx, r.m.No, "SHANGHAI_ZS", baoguan.RouteAuto); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.PinRoute(ctx, r.m.No, "HG014", "nowhere"); baoguan.ErrorReason(err) != "unknown_route" {
		t.Fatalf("pin to an unknown route: %v", err)
	}
	// The routes' ports get the declarations; the route survives a
	// re-declaration.
	r.drain(t, 10*time.Second)
	if r.wx.seen() != "declare SHANGHAI_ZS" || r.ep.seen() != "declare HG014" || r.ali.seen() != "" {
		t.Fatalf("ports saw wx=%q ep=%q ali=%q", r.wx.seen(), r.ep.seen(), r.ali.seen())
	}
	_, d, err := r.svc.Redeclare(ctx, r.m, core.DeclarationTarget{Order: core.OrderRef{No: "R-1"}, Customs: "SHANGHAI_ZS"}, "")
	if err != nil || d.Route != baoguan.RouteWeChatPay {
		t.Fatalf("re-declared: %+v %v", d, err)
	}
	// A sandbox test order always goes to the sandbox.
	tv, _, err := r.svc.CreateOrderDetail(ctx, r.m, core.OrderInput{Test: true, Order: baoguan.Order{MerchantOrderNo: "T-1", Amount: 100,
		Subject: "x", Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "SHANGHAI_ZS"}}})
	if err != nil || tv.Declarations[0].Route != baoguan.RouteSandbox {
		t.Fatalf("test order: %+v %v", tv, err)
	}
}

// A declaration whose route this process does not run ends its job dead
// rather than retrying for ever.
func TestRouteNotRunning(t *testing.T) {
	t.Parallel()
	r := newRouteEnv(t)
	if _, err := r.push(t, "N-1", "OTHERPAY", "HG014"); err != nil {
		t.Fatal(err)
	}
	delete(r.svc.Live.Routes, baoguan.RouteEPort)
	r.drain(t, 10*time.Second)
	jobs, err := r.svc.Jobs(r.ctx, baoguan.JobFilter{State: baoguan.JobDead})
	if err != nil || len(jobs) != 1 || jobs[0].Kind != baoguan.JobDeclare || !strings.Contains(jobs[0].LastError, "route eport") {
		t.Fatalf("dead jobs: %+v %v", jobs, err)
	}
}

func TestUpstreamCredentialsMasked(t *testing.T) {
	t.Parallel()
	r := newRouteEnv(t)
	secret := "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
	if _, err := r.svc.SetUpstreamCredential(r.ctx, r.m.No, baoguan.RouteAlipay,
		`{"partner":"2088101122136241","sign_type":"RSA2","private_key":"`+secret+`","md5_key":"abc"}`); err != nil {
		t.Fatal(err)
	}
	list, err := r.svc.UpstreamCredentials(r.ctx, r.m.No)
	if err != nil || len(list) != 1 {
		t.Fatalf("%+v %v", list, err)
	}
	f := list[0].Fields
	if f["partner"] != "2088101122136241" || f["sign_type"] != "RSA2" || f["private_key"] != maskTail(secret) || f["md5_key"] != "set" {
		t.Fatalf("masked: %+v", f)
	}
	if _, err := r.svc.SetUpstreamCredential(r.ctx, r.m.No, "paypal", "{}"); baoguan.ErrorReason(err) != "unknown_kind" {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := r.svc.SetUpstreamCredential(r.ctx, r.m.No, baoguan.RouteAlipay, "not json"); baoguan.ErrorReason(err) != "bad_credentials" {
		t.Fatalf("not JSON: %v", err)
	}
}

func maskTail(s string) string { return "set, …" + s[len(s)-4:] }

// scriptedPort answers as its fields say and counts its calls.
type scriptedPort struct {
	mu       sync.Mutex
	declares int
	receipts int
	identity string
	// failReceipts: the first n Receipt calls fail with a suggested wait.
	failReceipts int
}

type waitErr struct{ d time.Duration }

func (e waitErr) Error() string            { return "the service is busy" }
func (e waitErr) RetryWait() time.Duration { return e.d }
func (p *scriptedPort) Name() string       { return "scripted" }
func (p *scriptedPort) counts() (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.declares, p.receipts
}
func (p *scriptedPort) Declare(_ context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.declares++
	return baoguan.Receipt{State: baoguan.DeclProcessing, RetryAfter: time.Second, IdentityCheck: p.identity}, nil
}
func (p *scriptedPort) Receipt(_ context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.receipts++
	if p.failReceipts > 0 {
		p.failReceipts--
		return baoguan.Receipt{}, waitErr{time.Minute}
	}
	return baoguan.Receipt{State: baoguan.DeclSuccess}, nil
}

// One merchant's calls are limited by its route's rate: over it, a
// declaration waits and goes later, without counting a failure.
func TestRouteRateLimit(t *testing.T) {
	t.Parallel()
	r := newRouteEnv(t)
	p := &scriptedPort{}
	r.svc.Live.Routes[baoguan.RouteEPort] = core.Route{Port: p, Accepts: func(string) bool { return true }, Rate: 1, Burst: 1}
	for _, no := range []string{"RL-1", "RL-2", "RL-3"} {
		if _, err := r.push(t, no, "OTHERPAY", "HG014"); err != nil {
			t.Fatal(err)
		}
	}
	// Pay all three first: no time passes, so the bucket does not refill.
	for i := 0; i < 3; i++ {
		if _, err := r.svc.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if d, _ := p.counts(); d != 1 {
		t.Fatalf("declares within one second: %d, want 1", d)
	}
	r.drain(t, 20*time.Second)
	if d, _ := p.counts(); d != 3 {
		t.Fatalf("declares after waiting: %d, want 3", d)
	}
	dead, err := r.svc.Jobs(r.ctx, baoguan.JobFilter{State: baoguan.JobDead})
	if err != nil || len(dead) != 0 {
		t.Fatalf("dead jobs: %+v %v", dead, err)
	}
}

// The wallet's identity comparison lands on the declaration; a receipt the
// port cannot read for a while leaves the declaration PROCESSING and is
// asked for again after the wait it names, never ending the poll job.
func TestRouteIdentityAndPollOutage(t *testing.T) {
	t.Parallel()
	r := newRouteEnv(t)
	p := &scriptedPort{identity: baoguan.CheckDifferent, failReceipts: 8}
	r.svc.Live.Routes[baoguan.RouteEPort] = core.Route{Port: p, Accepts: func(string) bool { return true }}
	if _, err := r.push(t, "PO-1", "OTHERPAY", "HG014"); err != nil {
		t.Fatal(err)
	}
	r.drain(t, 5*time.Minute)
	v := r.detail(t, "PO-1")
	if d := v.Declarations[0]; d.State != baoguan.DeclProcessing || d.IdentityCheck != baoguan.CheckDifferent {
		t.Fatalf("during the outage: %+v", d)
	}
	if _, rc := p.counts(); rc < 4 || rc > 6 {
		t.Fatalf("receipt asked %d times in 5 minutes with a 1-minute wait", rc)
	}
	r.drain(t, 10*time.Minute)
	if d := r.detail(t, "PO-1").Declarations[0]; d.State != baoguan.DeclSuccess || d.IdentityCheck != baoguan.CheckDifferent {
		t.Fatalf("after the outage: %+v", d)
	}
	dead, _ := r.svc.Jobs(r.ctx, baoguan.JobFilter{State: baoguan.JobDead})
	if len(dead) != 0 {
		t.Fatalf("dead jobs: %+v", dead)
	}
}
