package core_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h := core.HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string with the documented parameters", h)
	}
	if h == core.HashPassword("correct horse battery") {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, c := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{strings.Replace(h, "argon2id", "argon2i", 1), "correct horse battery", false},
		{strings.Replace(h, "m=19456", "m=0", 1), "correct horse battery", false},
		{"$argon2id$v=19$m=19456,t=2,p=1$$", "x", false},
		{"", "", false},
	} {
		if got := core.CheckPassword(c.hash, c.pw); got != c.want {
			t.Errorf("CheckPassword(%.40q, %q) = %v, want %v", c.hash, c.pw, got, c.want)
		}
	}
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	const pw = "long enough password"
	cases := []struct {
		name  string
		in    core.UserInput
		code  string
		field string
	}{
		{"operator", core.UserInput{Login: " Ops@Example ", Role: baoguan.RoleOperator, Password: pw}, "", ""},
		{"merchant user", core.UserInput{Login: "clerk", Role: baoguan.RoleMerchant, MerchantNo: e.m.No, Password: pw}, "", ""},
		{"login taken, case folded", core.UserInput{Login: "OPS@example", Role: baoguan.RoleOperator, Password: pw}, baoguan.ECONFLICT, "login"},
		{"short password", core.UserInput{Login: "a", Role: baoguan.RoleOperator, Password: "short"}, baoguan.EINVALID, "password"},
		{"no login", core.UserInput{Role: baoguan.RoleOperator, Password: pw}, baoguan.EINVALID, "login"},
		{"bad login", core.UserInput{Login: "a b", Role: baoguan.RoleOperator, Password: pw}, baoguan.EINVALID, "login"},
		{"bad role", core.UserInput{Login: "b", Role: "admin", Password: pw}, baoguan.EINVALID, "role"},
		{"merchant user without merchant", core.UserInput{Login: "c", Role: baoguan.RoleMerchant, Password: pw}, baoguan.EINVALID, "merchant"},
		{"operator with merchant", core.UserInput{Login: "d", Role: baoguan.RoleOperator, MerchantNo: e.m.No, Password: pw}, baoguan.EINVALID, "merchant"},
		{"unknown merchant", core.UserInput{Login: "e", Role: baoguan.RoleMerchant, MerchantNo: "nope", Password: pw}, baoguan.ENOTFOUND, "merchant"},
	}
	for _, c := range cases {
		u, err := e.svc.CreateUser(e.ctx, c.in)
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if u.PasswordHash == c.in.Password || !core.CheckPassword(u.PasswordHash, c.in.Password) {
				t.Errorf("%s: password kept as %q", c.name, u.PasswordHash)
			}
			continue
		}
		var be *baoguan.Error
		if baoguan.ErrorCode(err) != c.code || !asError(err, &be) || be.Field != c.field {
			t.Errorf("%s: %v, want %s on field %s", c.name, err, c.code, c.field)
		}
	}
	us, err := e.svc.Users(e.ctx)
	if err != nil || len(us) != 2 || us[0].Login != "ops@example" || us[1].MerchantID != e.m.ID {
		t.Errorf("users: %+v %v", us, err)
	}
}

func asError(err error, target **baoguan.Error) bool {
	e, ok := err.(*baoguan.Error)
	*target = e
	return ok
}

func TestLoginSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	const pw = "clerk password 1"
	if _, err := e.svc.CreateUser(e.ctx, core.UserInput{Login: "clerk", Role: baoguan.RoleMerchant, MerchantNo: e.m.No, Password: pw}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ login, pw string }{{"clerk", "wrong password"}, {"nobody", pw}, {"clerk", ""}} {
		if _, _, err := e.svc.Login(e.ctx, c.login, c.pw, "192.0.2.1"); baoguan.ErrorReason(err) != "bad_login" {
			t.Errorf("Login(%s, %s): %v, want bad_login", c.login, c.pw, err)
		}
	}
	token, v, err := e.svc.Login(e.ctx, " CLERK ", pw, "192.0.2.2")
	if err != nil {
		t.Fatal(err)
	}
	if v.Operator() || v.Merchant == nil || v.Merchant.ID != e.m.ID || v.Session.CSRF == "" || len(token) < 40 {
		t.Fatalf("viewer %+v, token %q", v, token)
	}
	got, err := e.svc.Authenticate(e.ctx, token)
	if err != nil || got.User.Login != "clerk" || got.Session.CSRF != v.Session.CSRF {
		t.Fatalf("Authenticate: %+v %v", got, err)
	}
	for _, bad := range []string{"", "x", token + "x"} {
		if _, err := e.svc.Authenticate(e.ctx, bad); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
			t.Errorf("Authenticate(%q): %v", bad, err)
		}
	}

	// A session ends after SessionTTL, whatever the activity.
	e.clock.Add(core.SessionTTL - time.Second)
	if _, err := e.svc.Authenticate(e.ctx, token); err != nil {
		t.Errorf("session before its expiry: %v", err)
	}
	e.clock.Add(2 * time.Second)
	if _, err := e.svc.Authenticate(e.ctx, token); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
		t.Errorf("expired session: %v", err)
	}

	// Logout ends one session; a password change ends all of them.
	t1, _, _ := e.svc.Login(e.ctx, "clerk", pw, "192.0.2.2")
	t2, _, _ := e.svc.Login(e.ctx, "clerk", pw, "192.0.2.3")
	if err := e.svc.Logout(e.ctx, t1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(e.ctx, t1); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
		t.Errorf("session after logout: %v", err)
	}
	if _, err := e.svc.Authenticate(e.ctx, t2); err != nil {
		t.Errorf("the other session after one logout: %v", err)
	}
	if err := e.svc.SetPassword(e.ctx, "clerk", "short"); baoguan.ErrorCode(err) != baoguan.EINVALID {
		t.Errorf("short new password: %v", err)
	}
	if err := e.svc.SetPassword(e.ctx, "clerk", "a new password 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(e.ctx, t2); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
		t.Errorf("session after a password change: %v", err)
	}
	if _, _, err := e.svc.Login(e.ctx, "clerk", pw, "192.0.2.4"); baoguan.ErrorReason(err) != "bad_login" {
		t.Errorf("old password after the change: %v", err)
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	const pw = "clerk password 1"
	if _, err := e.svc.CreateUser(e.ctx, core.UserInput{Login: "clerk", Role: baoguan.RoleOperator, Password: pw}); err != nil {
		t.Fatal(err)
	}
	// Ten wrong passwords for one login, from ten addresses, spend the
	// login's bucket: then even the right password is refused for it,
	// from any address, until the bucket refills, and the refusal says
	// when to come back.
	for i := range 10 {
		if _, _, err := e.svc.Login(e.ctx, "clerk", "guess", fmt.Sprintf("198.51.100.%d:4000", i)); baoguan.ErrorReason(err) != "bad_login" {
			t.Fatalf("try %d: %v", i+1, err)
		}
	}
	_, _, err := e.svc.Login(e.ctx, "clerk", pw, "203.0.113.1:5000")
	if baoguan.ErrorCode(err) != baoguan.ERATELIMIT || baoguan.ErrorReason(err) != core.ErrTooManyLogins || baoguan.RetryAfter(err) != 6 {
		t.Errorf("the guessed login from another address: %v (retry after %d), want %s after 6 s", err, baoguan.RetryAfter(err), core.ErrTooManyLogins)
	}
	// Another login is not affected by that one's failures.
	if _, _, err := e.svc.Login(e.ctx, "other", "guess", "198.51.100.1:4000"); baoguan.ErrorReason(err) != "bad_login" {
		t.Errorf("another login: %v, want bad_login", err)
	}
	e.clock.Add(6 * time.Second) // one try back in the login's bucket
	if _, _, err := e.svc.Login(e.ctx, "clerk", pw, "198.51.100.7:4000"); err != nil {
		t.Errorf("after the refill: %v", err)
	}
	// One address failing against many logins spends the address's
	// bucket (20): its next try is refused whatever login it names.
	for i := range 20 {
		if _, _, err := e.svc.Login(e.ctx, fmt.Sprintf("nobody%d", i), "guess", "192.0.2.9:1"); baoguan.ErrorReason(err) != "bad_login" {
			t.Fatalf("address try %d: %v", i+1, err)
		}
	}
	if _, _, err := e.svc.Login(e.ctx, "clerk", pw, "192.0.2.9:2"); baoguan.ErrorCode(err) != baoguan.ERATELIMIT {
		t.Errorf("21st try from one address: %v, want rate_limited", err)
	}
	// Successful logins take nothing: many in a row all succeed.
	for i := range 12 {
		if _, _, err := e.svc.Login(e.ctx, "clerk", pw, "198.51.100.200:1"); err != nil {
			t.Fatalf("successful login %d: %v", i+1, err)
		}
	}
}

// TestReissueKeys: an operator reissues each merchant secret; the old one
// keeps working for the grace period and not after it, and a reissue or a
// revocation without grace ends it at once.
func TestReissueKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	_, cr, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{No: "K1", Name: "keys"})
	if err != nil {
		t.Fatal(err)
	}
	apiOK := func(key string) bool {
		m, err := e.svc.MerchantByAPIKey(e.ctx, key)
		return err == nil && m.No == "K1"
	}
	appOK := func(key string) bool {
		m, err := e.svc.MerchantByAppKey(e.ctx, cr.AppID, key)
		return err == nil && m.No == "K1"
	}
	if _, err := e.svc.ReissueKey(e.ctx, "K1", "password", time.Hour); baoguan.ErrorCode(err) != baoguan.EINVALID {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := e.svc.ReissueKey(e.ctx, "K1", baoguan.KeyAPI, core.MaxKeyGrace+time.Hour); baoguan.ErrorCode(err) != baoguan.EINVALID {
		t.Errorf("grace beyond the maximum: %v", err)
	}
	if _, err := e.svc.ReissueKey(e.ctx, "NOPE", baoguan.KeyAPI, 0); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Errorf("unknown merchant: %v", err)
	}

	api2, err := e.svc.ReissueKey(e.ctx, "K1", baoguan.KeyAPI, time.Hour)
	if err != nil || !strings.HasPrefix(api2, "bg_test_") || api2 == cr.APIKey {
		t.Fatalf("reissued API key %q: %v", api2, err)
	}
	app2, err := e.svc.ReissueKey(e.ctx, "K1", baoguan.KeyApp, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !apiOK(cr.APIKey) || !apiOK(api2) || !appOK(cr.AppKey) || !appOK(app2) {
		t.Errorf("during the grace period: old API key %v, new %v; old app key %v, new %v",
			apiOK(cr.APIKey), apiOK(api2), appOK(cr.AppKey), appOK(app2))
	}
	e.clock.Add(time.Hour + 2*time.Second) // past the authentication cache, too
	if apiOK(cr.APIKey) || !apiOK(api2) {
		t.Errorf("after the API key's grace period: old %v, new %v", apiOK(cr.APIKey), apiOK(api2))
	}
	if !appOK(cr.AppKey) {
		t.Error("the app key's longer grace period ended with the API key's")
	}
	if err := e.svc.RevokeKeys(e.ctx, "K1", baoguan.KeyApp); err != nil {
		t.Fatal(err)
	}
	if appOK(cr.AppKey) || !appOK(app2) {
		t.Errorf("after revoking: old app key %v, new %v", appOK(cr.AppKey), appOK(app2))
	}
	api3, err := e.svc.ReissueKey(e.ctx, "K1", baoguan.KeyAPI, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Second)
	if apiOK(api2) || !apiOK(api3) {
		t.Errorf("reissued without grace: previous %v, new %v", apiOK(api2), apiOK(api3))
	}
}

// TestRotateSettings: a protocol setting rotated with grace keeps its old
// value among SettingValues until the period ends; companions rotate in
// the same transaction; a rotation without grace drops earlier values.
func TestRotateSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	no := e.m.No
	values := func(name string) []string {
		t.Helper()
		m, err := e.svc.MerchantByNo(e.ctx, no)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := e.svc.SettingValues(e.ctx, m, name)
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}
	same := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
	}
	if err := e.svc.RotateSettings(e.ctx, no, map[string]string{"p.key": "k1", "p.serial": "s1"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RotateSettings(e.ctx, no, map[string]string{"p.key": "k2", "p.serial": "s2"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	same("keys in grace", values("p.key"), "k2", "k1")
	same("serials in grace", values("p.serial"), "s2", "s1")
	if err := e.svc.RotateSetting(e.ctx, no, "p.key", "k3", 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	same("two rotations", values("p.key"), "k3", "k1", "k2")
	e.clock.Add(time.Hour + time.Second)
	same("after the first grace period", values("p.key"), "k3", "k2")
	same("serial after its grace period", values("p.serial"), "s2")
	if err := e.svc.RotateSetting(e.ctx, no, "p.key", "k4", 0); err != nil {
		t.Fatal(err)
	}
	same("rotated without grace", values("p.key"), "k4")
	if err := e.svc.RotateSetting(e.ctx, no, "p.key", "", 0); err != nil {
		t.Fatal(err)
	}
	same("removed", values("p.key"))
	if err := e.svc.RotateSetting(e.ctx, no, "p.key", "k5", -time.Second); baoguan.ErrorCode(err) != baoguan.EINVALID {
		t.Errorf("negative grace: %v", err)
	}
}

// TestDashboard: the figures of the last 14 days in China time, one
// merchant's only, declarations by port with their failure reasons.
func TestDashboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	// The clock is 2026-11-23 10:00 UTC, 18:00 in China.
	e.order(t, "D1", "110105199001011232", baoguan.ChannelMock, 1000)
	e.order(t, "D2", "110105199001019998", baoguan.ChannelMock, 2000) // declaration FAIL
	e.order(t, "D3PAYFAIL", "110105199001011232", baoguan.ChannelMock, 4000)
	e.drain(t, time.Minute)
	e.clock.Add(6 * time.Hour) // 00:01 the next day in China
	e.order(t, "D4", "110105199001011232", baoguan.ChannelMock, 8000)
	e.drain(t, time.Minute)
	other, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{No: "OTHER", Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CreateOrder(e.ctx, other, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "X1", Amount: 5,
		Subject: "x", Channel: baoguan.ChannelMock, Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232"}}}); err != nil {
		t.Fatal(err)
	}

	d, err := e.svc.Dashboard(e.ctx, e.m)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Days) != core.DashboardDays {
		t.Fatalf("%d days, want %d", len(d.Days), core.DashboardDays)
	}
	yesterday, today := d.Days[core.DashboardDays-2], d.Days[core.DashboardDays-1]
	if got := today.Day.In(core.ChinaTime).Format("2006-01-02 15:04"); got != "2026-11-24 00:00" {
		t.Errorf("today starts %s", got)
	}
	if yesterday.Orders != 3 || yesterday.Paid != 2 || yesterday.PaidAmount != 3000 || yesterday.PayFailed != 1 {
		t.Errorf("yesterday %+v, want 3 orders, 2 paid for 30.00, 1 failed", yesterday)
	}
	if today.Orders != 1 || today.Paid != 1 || today.PaidAmount != 8000 || d.Today != today {
		t.Errorf("today %+v (Today %+v), want 1 order paid 80.00", today, d.Today)
	}
	for _, x := range d.Days[:core.DashboardDays-2] {
		if x.Orders != 0 {
			t.Errorf("day %s has %d orders", x.Day, x.Orders)
		}
	}
	if len(d.Ports) != 1 || d.Ports[0].Success != 2 || d.Ports[0].Failed != 1 {
		t.Errorf("ports %+v, want one port with 2 successes and 1 failure", d.Ports)
	}
	if len(d.Failures) != 1 || d.Failures[0].Count != 1 || !strings.Contains(d.Failures[0].Explanation, "不匹配") {
		t.Errorf("failures %+v", d.Failures)
	}
	all, err := e.svc.Dashboard(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if all.Today.Orders != 2 {
		t.Errorf("every merchant's orders today: %d, want 2", all.Today.Orders)
	}
}

// TestAPIKeyCacheByKey: API keys authenticated again and again (answered
// from the cache after the first) each name their own merchant, and a key
// one character off either is refused.
func TestAPIKeyCacheByKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	keys := map[string]string{}
	for _, no := range []string{"C1", "C2"} {
		_, cr, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{No: no, Name: "cache " + no})
		if err != nil {
			t.Fatal(err)
		}
		keys[no] = cr.APIKey
	}
	for range 3 {
		for no, key := range keys {
			if m, err := e.svc.MerchantByAPIKey(e.ctx, key); err != nil || m.No != no {
				t.Fatalf("%s's key: %v, %v", no, m, err)
			}
			bad := key[:len(key)-1] + string(key[len(key)-1]^1)
			if m, err := e.svc.MerchantByAPIKey(e.ctx, bad); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
				t.Fatalf("%s's key one character off: %v, %v", no, m, err)
			}
		}
	}
}
