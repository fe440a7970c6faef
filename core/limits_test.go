package core_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
)

// TestSendLimits: SMS codes (card binding) and real-name checks are
// limited per merchant, across two services on one database: past the
// burst every call is ERATELIMIT with the reason and a wait, and a
// refused real-name check is not made (nothing kept); another merchant is not affected;
// a refilled bucket lets calls through again.
func TestSendLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	keys, _ := keyring.New(make([]byte, 32))
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "lim.db"), Keys: keys, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	limits := core.Limits{SMS: core.Rate{PerSecond: 0.1, Burst: 3}, RealName: core.Rate{PerSecond: 0.5, Burst: 4}}
	newSvc := func() *core.Service {
		return core.New(&core.Service{Store: db, Now: c.Now, Limits: limits,
			Sandbox: core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)}, SampleIdentity: sandbox.IsSampleIdentity})
	}
	svcs := []*core.Service{newSvc(), newSvc()} // two instances
	m, _, err := svcs[0].CreateMerchant(ctx, core.MerchantInput{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := svcs[0].CreateMerchant(ctx, core.MerchantInput{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	bind := func(svc *core.Service, m *baoguan.Merchant, n int) error {
		_, err := svc.BindCard(ctx, m, core.CardBindInput{RequestID: fmt.Sprintf("REQ%d", n), AcctName: "张三", AcctNo: "6217920151050000",
			AcctType: "00", BankCode: "999", IDNo: "110105199001011232", Mobile: "13800138000"})
		return err
	}
	realName := func(svc *core.Service, m *baoguan.Merchant) error {
		_, err := svc.CheckRealName(ctx, m, "张三", "110105199001011232")
		return err
	}
	limited := func(err error, reason string, wait int) error {
		if baoguan.ErrorCode(err) != baoguan.ERATELIMIT || baoguan.ErrorReason(err) != reason || baoguan.RetryAfter(err) != wait {
			return fmt.Errorf("%v (reason %q, retry after %d), want rate_limited %s after %d s", err, baoguan.ErrorReason(err), baoguan.RetryAfter(err), reason, wait)
		}
		return nil
	}
	for n := range 3 {
		if err := bind(svcs[n%2], m, n); err != nil {
			t.Fatalf("SMS %d of a burst of 3: %v", n+1, err)
		}
	}
	for n := 3; n < 8; n++ {
		if err := limited(bind(svcs[n%2], m, n), "too_many_sms", 10); err != nil {
			t.Errorf("SMS %d: %v", n+1, err)
		}
	}
	if err := bind(svcs[1], other, 100); err != nil {
		t.Errorf("another merchant's SMS: %v", err)
	}
	for n := range 4 {
		if err := realName(svcs[n%2], m); err != nil {
			t.Fatalf("real-name check %d of a burst of 4: %v", n+1, err)
		}
	}
	for n := range 5 {
		if err := limited(realName(svcs[n%2], m), "too_many_realname", 2); err != nil {
			t.Errorf("real-name check %d past the burst: %v", n+5, err)
		}
	}
	checks, err := svcs[0].RealNameChecks(ctx, m, 100)
	if err != nil || len(checks) != 4 {
		t.Errorf("real-name checks kept: %d (%v), want the 4 made", len(checks), err)
	}
	if err := realName(svcs[0], other); err != nil {
		t.Errorf("another merchant's real-name check: %v", err)
	}
	c.Add(10 * time.Second) // one SMS and five checks back
	if err := bind(svcs[0], m, 50); err != nil {
		t.Errorf("SMS after the refill: %v", err)
	}
	if err := realName(svcs[1], m); err != nil {
		t.Errorf("real-name check after the refill: %v", err)
	}
}

// TestWeakSecretsRefused: a weak shared secret set through RotateSettings
// (the CLI's and the console's way) is EINVALID naming the setting, and
// nothing of the call is stored, its companions included; a strong one is
// stored.
func TestWeakSecretsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	for _, name := range []string{"pushorder.access-token", "wechatv3.apiv3-key"} {
		for _, weak := range []string{"tok", "tok-live", "0123456789abcdefghijklmnopqrstuv", strings.Repeat("Ab1", 11)} {
			err := e.svc.RotateSettings(e.ctx, e.m.No, map[string]string{name: weak, "pushorder.allow-net": "203.0.113.0/24"}, 0)
			if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) != name || baoguan.ErrorReason(err) != "weak_secret" {
				t.Errorf("%s = %q: %v, want EINVALID weak_secret naming it", name, weak, err)
			}
		}
	}
	m, err := e.svc.MerchantByNo(e.ctx, e.m.No)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Settings) != 0 {
		t.Errorf("refused settings were stored: %v", m.Settings)
	}
	if err := e.svc.RotateSettings(e.ctx, e.m.No, map[string]string{"pushorder.access-token": "9f2c4e7a1b8d3f6e0a5c9b2d7e4f1a8c"}, 0); err != nil {
		t.Errorf("a random token: %v", err)
	}
}
