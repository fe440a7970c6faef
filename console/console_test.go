package console_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/api"
	"github.com/baoguan/baoguan/console"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
)

// The console's unit tests run the real console on a real SQLite store
// and core, over HTTP, as a browser would: cookies, forms, redirects.

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

const (
	clerkPW    = "clerk password 1"
	operatorPW = "operator password 1"
	// An ID number and phone the pages must never show whole.
	idNumber = "110105199001011232"
	phone    = "13800138000"
)

type env struct {
	t           *testing.T
	ctx         context.Context
	svc         *core.Service
	clock       *clock
	srv         *httptest.Server
	demo, other *baoguan.Merchant
	demoKey     string
}

func newEnv(t *testing.T, opts ...func(*console.Options)) *env {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "console.db"), Keys: keys, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := core.New(&core.Service{Store: db, Now: c.Now,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity})
	// Orders made in the console notify like native API orders (as serve
	// registers them).
	svc.Formats.Register(console.Protocol, api.NewFormat())
	o := console.Options{Svc: svc}
	for _, f := range opts {
		f(&o)
	}
	mux := http.NewServeMux()
	console.New(o).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{t: t, ctx: ctx, svc: svc, clock: c, srv: srv}
	var cr core.Credentials
	if e.demo, cr, err = svc.CreateMerchant(ctx, core.MerchantInput{No: "demo", Name: "Demo shop"}); err != nil {
		t.Fatal(err)
	}
	e.demoKey = cr.APIKey
	if e.other, _, err = svc.CreateMerchant(ctx, core.MerchantInput{No: "other", Name: "Other shop"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []core.UserInput{
		{Login: "clerk", Role: baoguan.RoleMerchant, MerchantNo: "demo", Password: clerkPW},
		{Login: "rival", Role: baoguan.RoleMerchant, MerchantNo: "other", Password: clerkPW},
		{Login: "ops", Role: baoguan.RoleOperator, Password: operatorPW},
	} {
		if _, err := svc.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// paidOrder creates an order of m and runs the pipeline until it is paid
// and declared (or its declaration failed).
func (e *env) paidOrder(m *baoguan.Merchant, no, id string) *baoguan.Order {
	e.t.Helper()
	o, _, err := e.svc.CreateOrder(e.ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: 8800, Subject: "奶粉",
		Channel: baoguan.ChannelMock, Protocol: console.Protocol, NotifyURL: "http://127.0.0.1:1/hook", Payer: baoguan.Payer{Name: "张三", IDNumber: id, Phone: phone}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "HANGZHOU_ZS"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	for range 20 {
		if _, err := e.svc.RunOnce(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		e.clock.Add(time.Second)
	}
	return o
}

// browser is one browser: a cookie jar, redirects not followed (the
// tests look at them), the last page's CSRF token.
type browser struct {
	e    *env
	c    *http.Client
	base string
	lang string
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, base: e.srv.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if m := csrfField.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

// post sends a form; csrf "" sends none, "auto" the last page's token.
func (b *browser) post(path string, form url.Values, csrf string) page {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if csrf == "auto" {
		csrf = b.csrf
	}
	if csrf != "" {
		form.Set("csrf", csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) login(login, pw string) page {
	b.e.t.Helper()
	b.get("/console/login")
	return b.post("/console/login", url.Values{"login": {login}, "password": {pw}}, "auto")
}

func (e *env) signedIn(login, pw string) *browser {
	e.t.Helper()
	b := e.browser()
	if p := b.login(login, pw); p.status != http.StatusSeeOther {
		e.t.Fatalf("login %s: %d %s", login, p.status, p.body)
	}
	return b
}

func setCookie(p page, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestLoginLogoutExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()

	// Not signed in: pages send the browser to the login page and back.
	p := b.get("/console/m/demo/orders?pay=PAY_SUCCEED")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/login?next=%2Fconsole%2Fm%2Fdemo%2Forders%3Fpay%3DPAY_SUCCEED" {
		t.Fatalf("anonymous page: %d → %s", p.status, p.header.Get("Location"))
	}
	if p := b.post("/console/logout", nil, ""); p.status != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d, want 401", p.status)
	}

	// The login form itself carries a token (double submit): without it,
	// or with another, it is refused.
	b.get("/console/login")
	if p := b.post("/console/login", url.Values{"login": {"clerk"}, "password": {clerkPW}}, ""); p.status != http.StatusForbidden {
		t.Errorf("login without its CSRF token: %d, want 403", p.status)
	}
	if p := b.post("/console/login", url.Values{"login": {"clerk"}, "password": {clerkPW}}, "forged"); p.status != http.StatusForbidden {
		t.Errorf("login with a forged CSRF token: %d, want 403", p.status)
	}
	if p := b.login("clerk", "wrong password"); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "wrong login or password") {
		t.Errorf("wrong password: %d", p.status)
	}
	if p := b.login("nobody", clerkPW); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "wrong login or password") {
		t.Errorf("unknown login: %d", p.status)
	}

	b.get("/console/login?next=" + url.QueryEscape("/console/m/demo/orders"))
	p = b.post("/console/login", url.Values{"login": {"clerk"}, "password": {clerkPW}, "next": {"/console/m/demo/orders"}}, "auto")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/m/demo/orders" {
		t.Fatalf("login: %d → %s", p.status, p.header.Get("Location"))
	}
	ck := setCookie(p, "bg_session")
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/console" || ck.MaxAge != int(core.SessionTTL.Seconds()) {
		t.Errorf("session cookie over plain HTTP: %+v", ck)
	}
	if p := b.get("/console/m/demo/"); p.status != http.StatusOK || !strings.Contains(p.body, `class="kpis"`) {
		t.Errorf("dashboard after login: %d", p.status)
	}

	// An off-site next is ignored.
	b2 := e.browser()
	b2.get("/console/login")
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/console\\@evil.example"} {
		p := b2.post("/console/login", url.Values{"login": {"ops"}, "password": {operatorPW}, "next": {next}}, "auto")
		if loc := p.header.Get("Location"); loc != "/console/ops/" {
			t.Errorf("next=%s: redirected to %q", next, loc)
		}
		b2.get("/console/login")
	}

	// Logout ends the session on the server, not only in the browser.
	b.get("/console/m/demo/")
	saved := b.c.Jar.Cookies(mustURL(t, e.srv.URL+"/console/"))
	if p := b.post("/console/logout", nil, "auto"); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	b.c.Jar.SetCookies(mustURL(t, e.srv.URL+"/console/"), saved)
	if p := b.get("/console/m/demo/"); p.status != http.StatusSeeOther {
		t.Errorf("the session cookie still works after logout: %d", p.status)
	}

	// A session ends SessionTTL after login, however busy.
	b = e.signedIn("clerk", clerkPW)
	e.clock.Add(core.SessionTTL - time.Minute)
	if p := b.get("/console/m/demo/"); p.status != http.StatusOK {
		t.Errorf("a minute before expiry: %d", p.status)
	}
	e.clock.Add(2 * time.Minute)
	if p := b.get("/console/m/demo/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/console/login") {
		t.Errorf("after expiry: %d → %s", p.status, p.header.Get("Location"))
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSecureCookies: cookies are Secure when the browser came over TLS,
// directly or through a proxy that is trusted to say so.
func TestSecureCookies(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		tls    bool
		trust  bool
		header string
		secure bool
	}{
		{"plain HTTP", false, false, "", false},
		{"TLS", true, false, "", true},
		{"proxy not trusted", false, false, "https", false},
		{"trusted proxy", false, true, "https", true},
		{"trusted proxy over http", false, true, "http", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(o *console.Options) { o.TrustForwardedProto = c.trust })
			b := e.browser()
			if c.tls {
				srv := httptest.NewUnstartedServer(e.srv.Config.Handler)
				srv.StartTLS()
				t.Cleanup(srv.Close)
				b.base = srv.URL
				b.c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the test server's own certificate
			}
			req, _ := http.NewRequest(http.MethodGet, b.base+"/console/login", nil)
			if c.header != "" {
				req.Header.Set("X-Forwarded-Proto", c.header)
			}
			p := b.do(req)
			if ck := setCookie(p, "bg_login_csrf"); ck == nil || ck.Secure != c.secure || !ck.HttpOnly {
				t.Errorf("login CSRF cookie %+v, want Secure=%v", ck, c.secure)
			}
		})
	}
}

// merchantRoutes are every merchant page, as (method, path) with {m} for
// the merchant number; POSTs get a valid CSRF token unless a test says so.
var merchantRoutes = []struct{ method, path string }{
	{"GET", "/console/m/{m}/"},
	{"GET", "/console/m/{m}/orders"},
	{"GET", "/console/m/{m}/orders/export?format=csv"},
	{"GET", "/console/m/{m}/orders/{order}"},
	{"POST", "/console/m/{m}/orders/{order}/declare"},
	{"POST", "/console/m/{m}/events/{event}/redeliver"},
	{"GET", "/console/m/{m}/batches"},
	{"POST", "/console/m/{m}/batches"},
	{"GET", "/console/m/{m}/batches/template.xlsx"},
	{"GET", "/console/m/{m}/batches/template.csv"},
	{"GET", "/console/m/{m}/batches/{batch}"},
	{"GET", "/console/m/{m}/batches/{batch}/progress"},
	{"GET", "/console/m/{m}/settings"},
	{"POST", "/console/m/{m}/settings"},
	{"POST", "/console/m/{m}/keys"},
}

var operatorRoutes = []struct{ method, path string }{
	{"GET", "/console/ops/"},
	{"GET", "/console/ops/merchants"},
	{"POST", "/console/ops/merchants"},
	{"POST", "/console/ops/merchants/demo"},
	{"POST", "/console/ops/protocol-keys"},
	{"GET", "/console/ops/jobs"},
	{"POST", "/console/ops/jobs/1/retry"},
	{"GET", "/console/ops/declarations"},
	{"GET", "/console/ops/upstream"},
}

// objects are one merchant's order number, event id and batch id.
type objects struct{ order, event, batch string }

func (e *env) objectsOf(m *baoguan.Merchant, no string) objects {
	e.t.Helper()
	e.paidOrder(m, no, idNumber)
	o, err := e.svc.Order(e.ctx, m, no)
	if err != nil {
		e.t.Fatal(err)
	}
	es, err := e.svc.Events(e.ctx, m, baoguan.EventFilter{OrderID: o.ID, Page: baoguan.Page{Limit: 1}})
	if err != nil || len(es) == 0 {
		e.t.Fatalf("events of %s: %v", no, err)
	}
	b, _, err := e.svc.CreateBatch(e.ctx, m, core.BatchInput{Orders: []core.OrderInput{{Order: baoguan.Order{MerchantOrderNo: no + "-B",
		Amount: 100, Subject: "x", Channel: baoguan.ChannelMock, Payer: baoguan.Payer{Name: "张三", IDNumber: idNumber}}}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return objects{order: no, event: strconv.FormatInt(es[0].ID, 10), batch: strconv.FormatInt(b.ID, 10)}
}

func fill(path, m string, o objects) string {
	return strings.NewReplacer("{m}", m, "{order}", o.order, "{event}", o.event, "{batch}", o.batch).Replace(path)
}

// TestOtherMerchantsAreNotFound: a merchant user who edits a URL — to
// another merchant's number, or to another merchant's order, event or
// batch under their own number — gets 404, as for something that does not
// exist; the operator pages are 404 to them too. Nothing is changed.
func TestOtherMerchantsAreNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine := e.objectsOf(e.demo, "MINE-1")
	theirs := e.objectsOf(e.other, "THEIRS-1")
	clerk := e.signedIn("clerk", clerkPW)
	ops := e.signedIn("ops", operatorPW)
	before, _ := e.svc.MerchantByNo(e.ctx, "other")

	for _, r := range merchantRoutes {
		for _, c := range []struct {
			name string
			path string
		}{
			{"another merchant's number", fill(r.path, "other", theirs)},
			{"another merchant's object under one's own number", fill(r.path, "demo", theirs)},
			{"a merchant that does not exist", fill(r.path, "nobody", theirs)},
		} {
			if c.name == "another merchant's object under one's own number" && !strings.Contains(r.path, "{order}") &&
				!strings.Contains(r.path, "{event}") && !strings.Contains(r.path, "{batch}") {
				continue // the route names no object
			}
			clerk.get("/console/m/demo/settings") // a fresh CSRF token
			var p page
			if r.method == "GET" {
				p = clerk.get(c.path)
			} else {
				p = clerk.post(c.path, url.Values{"notify_url": {"https://attacker.example/"}, "kind": {"api_key"}, "grace": {"0"},
					"name": {"张三"}, "id_number": {idNumber}, "phone": {phone}}, "auto")
			}
			if p.status != http.StatusNotFound {
				t.Errorf("clerk of demo, %s %s (%s): %d, want 404", r.method, c.path, c.name, p.status)
			}
			if strings.Contains(p.body, "Other shop") || strings.Contains(p.body, baoguan.MaskID(idNumber)) {
				t.Errorf("%s %s: the 404 page shows the other merchant's data", r.method, c.path)
			}
		}
		// The clerk reaches the same route for their own objects, and the
		// operator reaches the other merchant's.
		if r.method == "GET" {
			if p := clerk.get(fill(r.path, "demo", mine)); p.status != http.StatusOK {
				t.Errorf("clerk of demo, own %s: %d", fill(r.path, "demo", mine), p.status)
			}
			if p := ops.get(fill(r.path, "other", theirs)); p.status != http.StatusOK {
				t.Errorf("operator, %s: %d", fill(r.path, "other", theirs), p.status)
			}
		}
	}
	for _, r := range operatorRoutes {
		clerk.get("/console/m/demo/settings")
		var p page
		if r.method == "GET" {
			p = clerk.get(r.path)
		} else {
			p = clerk.post(r.path, url.Values{"name": {"sneaky"}, "status": {"arrears"}}, "auto")
		}
		if p.status != http.StatusNotFound {
			t.Errorf("clerk at %s %s: %d, want 404", r.method, r.path, p.status)
		}
	}
	after, _ := e.svc.MerchantByNo(e.ctx, "other")
	if after.NotifyURL != before.NotifyURL || after.APIKeyHash != before.APIKeyHash || after.Status != before.Status {
		t.Errorf("refused requests changed the other merchant: %+v", after)
	}
	if ms, _ := e.svc.Merchants(e.ctx); len(ms) != 2 {
		t.Errorf("%d merchants after refused requests, want 2", len(ms))
	}
}

// TestCSRF: every form post of a signed-in user without the session's
// token, or with a wrong one, is refused with 403 and changes nothing;
// the token in the X-CSRF-Token header (scripts) is accepted.
func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine := e.objectsOf(e.demo, "MINE-1")
	clerk := e.signedIn("clerk", clerkPW)
	ops := e.signedIn("ops", operatorPW)
	form := url.Values{"notify_url": {"https://attacker.example/"}, "kind": {"api_key"}, "grace": {"0"}, "name": {"sneaky"},
		"status": {"arrears"}, "merchant": {"demo"}, "setting": {"pushorder.access-token"}, "value": {"stolen"},
		"id_number": {idNumber}, "phone": {phone}}
	before, _ := e.svc.MerchantByNo(e.ctx, "demo")
	type route struct {
		b      *browser
		method string
		path   string
	}
	var posts []route
	for _, r := range merchantRoutes {
		posts = append(posts, route{clerk, r.method, fill(r.path, "demo", mine)})
	}
	for _, r := range operatorRoutes {
		posts = append(posts, route{ops, r.method, r.path})
	}
	posts = append(posts, route{clerk, "POST", "/console/logout"})
	n := 0
	for _, r := range posts {
		if r.method != "POST" {
			continue
		}
		n++
		for _, token := range []string{"", "forged-token"} {
			if p := r.b.post(r.path, form, token); p.status != http.StatusForbidden {
				t.Errorf("%s with CSRF token %q: %d, want 403", r.path, token, p.status)
			}
		}
	}
	if n < 9 {
		t.Fatalf("checked %d form posts", n)
	}
	after, _ := e.svc.MerchantByNo(e.ctx, "demo")
	if after.NotifyURL != before.NotifyURL || after.APIKeyHash != before.APIKeyHash || after.Status != before.Status ||
		after.Settings["pushorder.access-token"] != "" {
		t.Errorf("refused forms changed the merchant: %+v", after)
	}
	if ms, _ := e.svc.Merchants(e.ctx); len(ms) != 2 {
		t.Errorf("a refused form created a merchant: %d merchants", len(ms))
	}
	if p := clerk.get("/console/m/demo/"); p.status != http.StatusOK {
		t.Errorf("refused logout ended the session: %d", p.status)
	}

	// The same form with the token goes through; so does the header.
	clerk.get("/console/m/demo/settings")
	if p := clerk.post("/console/m/demo/settings", url.Values{"notify_url": {"https://shop.example/hook"}}, "auto"); p.status != http.StatusSeeOther {
		t.Fatalf("settings with the token: %d %s", p.status, p.body)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/console/m/demo/settings",
		strings.NewReader(url.Values{"notify_url": {"https://shop.example/hook2"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", clerk.csrf)
	if p := clerk.do(req); p.status != http.StatusSeeOther {
		t.Errorf("settings with the X-CSRF-Token header: %d", p.status)
	}
	if m, _ := e.svc.MerchantByNo(e.ctx, "demo"); m.NotifyURL != "https://shop.example/hook2" {
		t.Errorf("notify URL %q", m.NotifyURL)
	}
	// Another session's token is not this session's.
	other := e.signedIn("clerk", clerkPW)
	other.get("/console/m/demo/settings")
	if p := clerk.post("/console/m/demo/settings", url.Values{"notify_url": {"https://x.example/"}}, other.csrf); p.status != http.StatusForbidden {
		t.Errorf("another session's token: %d, want 403", p.status)
	}
}

// TestLanguage: Chinese by default, English for browsers that ask for it,
// and the switch (a cookie) wins over the browser.
func TestLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ accept, want, not string }{
		{"", "登录", "Sign in"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "登录", "Sign in"},
		{"en-US,en;q=0.9", "Sign in", "登录"},
	} {
		b := e.browser()
		b.lang = c.accept
		p := b.get("/console/login")
		if !strings.Contains(p.body, "<h1>"+c.want+"</h1>") || strings.Contains(p.body, c.not) {
			t.Errorf("Accept-Language %q: the login page does not say %q", c.accept, c.want)
		}
		wantLang := "zh-CN"
		if c.want == "Sign in" {
			wantLang = "en"
		}
		if !strings.Contains(p.body, `<html lang="`+wantLang+`"`) {
			t.Errorf("Accept-Language %q: html lang is not %s", c.accept, wantLang)
		}
	}
	b := e.browser()
	b.lang = "zh-CN"
	p := b.get("/console/lang?to=en&next=" + url.QueryEscape("/console/login"))
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/login" {
		t.Fatalf("switch: %d → %s", p.status, p.header.Get("Location"))
	}
	if p := b.get("/console/login"); !strings.Contains(p.body, "<h1>Sign in</h1>") {
		t.Error("after switching to English the page is not English")
	}
	b.login("clerk", clerkPW)
	e.paidOrder(e.demo, "LANG-1", idNumber)
	if p := b.get("/console/m/demo/orders/LANG-1"); !strings.Contains(p.body, "Declarations") || strings.Contains(p.body, "申报记录") {
		t.Error("the order page is not in English")
	}
	b.get("/console/lang?to=zh")
	if p := b.get("/console/m/demo/orders/LANG-1"); !strings.Contains(p.body, ">订单 LANG-1<") {
		t.Errorf("the order page is not in Chinese after switching back")
	}
}

// TestPagesMaskPersonalData: ID numbers and phone numbers appear masked on
// every page that shows a payer; the export masks them too.
func TestPagesMaskPersonalData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidOrder(e.demo, "MASK-1", idNumber)
	b := e.signedIn("clerk", clerkPW)
	for _, path := range []string{"/console/m/demo/orders", "/console/m/demo/orders/MASK-1", "/console/m/demo/orders/export?format=csv",
		"/console/m/demo/orders/export?format=xlsx"} {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", path, p.status)
		}
		if strings.Contains(p.body, idNumber) || strings.Contains(p.body, phone) || strings.Contains(p.body, "张三") {
			t.Errorf("%s shows the payer's data in clear", path)
		}
	}
	if p := b.get("/console/m/demo/orders/MASK-1"); !strings.Contains(p.body, baoguan.MaskID(idNumber)) || !strings.Contains(p.body, baoguan.MaskPhone(phone)) {
		t.Errorf("the order page does not show the masked payer")
	}
}

// TestReissueKeyShownOnce: the settings page reissues a key, shows it in
// that answer only (not cached), and the old key keeps working for the
// grace period chosen.
func TestReissueKeyShownOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signedIn("clerk", clerkPW)
	b.get("/console/m/demo/settings")
	p := b.post("/console/m/demo/keys", url.Values{"kind": {"api_key"}, "grace": {"1h"}}, "auto")
	key := regexp.MustCompile(`id="new-key">(bg_test_[^<]+)<`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || key == nil {
		t.Fatalf("reissue: %d, no key shown", p.status)
	}
	if cc := p.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the page showing a key", cc)
	}
	if again := b.get("/console/m/demo/settings"); strings.Contains(again.body, key[1]) {
		t.Error("the settings page shows the key again")
	}
	for _, k := range []string{e.demoKey, key[1]} {
		if m, err := e.svc.MerchantByAPIKey(e.ctx, k); err != nil || m.No != "demo" {
			t.Errorf("key %.12s… in the grace period: %v", k, err)
		}
	}
	e.clock.Add(time.Hour + 2*time.Second)
	if _, err := e.svc.MerchantByAPIKey(e.ctx, e.demoKey); baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
		t.Errorf("old key after the grace period: %v", err)
	}
	b.get("/console/m/demo/settings")
	if p := b.post("/console/m/demo/keys", url.Values{"kind": {"password"}, "grace": {"1h"}}, "auto"); p.status != http.StatusBadRequest {
		t.Errorf("unknown key kind: %d", p.status)
	}
}

// TestDashboardAndHeaders: the dashboard shows today's figures and its
// charts as inline SVG; every page carries the security headers.
func TestDashboardAndHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidOrder(e.demo, "DASH-1", idNumber)
	e.paidOrder(e.demo, "DASH-2", "110105199001019998") // declaration FAIL
	b := e.signedIn("clerk", clerkPW)
	p := b.get("/console/m/demo/")
	if p.status != http.StatusOK {
		t.Fatalf("dashboard: %d", p.status)
	}
	if n := regexp.MustCompile(`data-kpi="orders-today">(\d+)<`).FindStringSubmatch(p.body); n == nil || n[1] != "2" {
		t.Errorf("orders today: %v", n)
	}
	if strings.Count(p.body, "<svg") < 2 {
		t.Error("the dashboard has no SVG charts")
	}
	if !strings.Contains(p.body, "支付人姓名和证件号不匹配") {
		t.Error("the dashboard does not list the failure reason")
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	ops := e.signedIn("ops", operatorPW)
	if p := ops.get("/console/ops/"); !strings.Contains(p.body, `data-kpi="orders-today">2<`) {
		t.Error("the operator's dashboard does not count every merchant's orders")
	}
}
