package payzero_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/payzero"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
)

// The harness runs the real gateway: a fresh SQLite file, the core with
// the sandbox channel and port, the job runner in the background, the
// payzero routes under /payzero on an httptest server, and notification
// receivers on 127.0.0.1. One settable clock drives the store, the core
// and the notification timestamps, so expiries and retry schedules are
// crossed without sleeping.

// waitTimeout bounds every wait for background work. It is a deadline,
// not an expected duration: waits poll and return as soon as they can.
const waitTimeout = 20 * time.Second

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
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type harness struct {
	t      *testing.T
	ctx    context.Context
	clock  *clock
	store  *sqlite.DB
	path   string // the database file
	svc    *core.Service
	srv    *httptest.Server
	hooks  *receiver
	client *http.Client
	stop   context.CancelFunc
	runner chan struct{}
}

// merchant is a merchant with the secrets a payzero integration holds.
type merchant struct {
	h         *harness
	M         *baoguan.Merchant
	AppID     string
	AppKey    string
	SignToken string
	token     string
}

var start = time.Date(2019, 4, 2, 3, 11, 46, 0, time.UTC) // 11:11:46 in China

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: start}
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "payzero.db")
	store, err := sqlite.Open(ctx, sqlite.Options{Path: path, Keys: keys, Now: c.Now, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := core.New(&core.Service{
		Store:          store,
		Now:            c.Now,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           &http.Client{Timeout: 10 * time.Second}, // receivers are on 127.0.0.1
	})
	svc.Formats.Register(payzero.Protocol, payzero.NewFormat(payzero.FormatOptions{Now: c.Now}))
	pz, err := payzero.New(payzero.Options{Svc: svc})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	pz.Register(mux, "/payzero")
	h := &harness{t: t, ctx: ctx, clock: c, store: store, path: path, svc: svc, client: &http.Client{Timeout: 30 * time.Second}}
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	h.hooks = newReceiver(t)
	rctx, cancel := context.WithCancel(ctx)
	h.stop, h.runner = cancel, make(chan struct{})
	go func() {
		defer close(h.runner)
		_ = svc.Run(rctx, core.RunnerOptions{Poll: 20 * time.Millisecond})
	}()
	t.Cleanup(h.stopRunner)
	return h
}

func (h *harness) stopRunner() {
	h.stop()
	<-h.runner
}

// newMerchant onboards a sandbox merchant whose payzero notifications go to
// the harness receiver.
func (h *harness) newMerchant(name string) *merchant {
	h.t.Helper()
	m, cr, err := h.svc.CreateMerchant(h.ctx, core.MerchantInput{Name: name})
	if err != nil {
		h.t.Fatal(err)
	}
	m, err = h.svc.UpdateMerchant(h.ctx, m.No, func(m *baoguan.Merchant) error {
		m.Settings[payzero.SettingNotifyURL] = h.hooks.srv.URL + "/notify/" + name
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return &merchant{h: h, M: m, AppID: cr.AppID, AppKey: cr.AppKey, SignToken: cr.SignToken}
}

// resp is one answer: the HTTP status, the raw body and the envelope.
type resp struct {
	Status int
	Header http.Header
	Raw    []byte
	Env    struct {
		Success   bool            `json:"success"`
		ErrorMsg  *string         `json:"errorMsg"`
		ErrorCode *string         `json:"errorCode"`
		Data      json.RawMessage `json:"data"`
	}
}

func (r *resp) code() string {
	if r.Env.ErrorCode == nil {
		return ""
	}
	return *r.Env.ErrorCode
}

func (r *resp) msg() string {
	if r.Env.ErrorMsg == nil {
		return ""
	}
	return *r.Env.ErrorMsg
}

// data decodes the envelope's data into v.
func (r *resp) data(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Env.Data, v); err != nil {
		t.Fatalf("data %s: %v", r.Env.Data, err)
	}
}

// do sends one request. body is sent as is when it is a string or []byte,
// else as JSON. token "" sends no Authorization header.
func (h *harness) do(method, path string, body any, token string) *resp {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	out := &resp{Status: res.StatusCode, Header: res.Header}
	out.Raw, _ = io.ReadAll(res.Body)
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Raw, &out.Env); err != nil {
			h.t.Fatalf("%s %s: answer is not an envelope: %s", method, path, out.Raw)
		}
	}
	return out
}

// login returns a token for the merchant (cached).
func (m *merchant) login() string {
	m.h.t.Helper()
	if m.token != "" {
		return m.token
	}
	r := m.h.do("POST", "/payzero/auth/login", map[string]string{"username": m.AppID, "password": m.AppKey}, "")
	if r.Status != 200 || !r.Env.Success {
		m.h.t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	var d struct{ Username, Token string }
	r.data(m.h.t, &d)
	m.token = d.Token
	return d.Token
}

// call sends an authenticated request.
func (m *merchant) call(method, path string, body any) *resp {
	m.h.t.Helper()
	return m.h.do(method, "/payzero"+path, body, m.login())
}

// ok sends an authenticated request that must succeed, and decodes data.
func (m *merchant) ok(method, path string, body any, v any) *resp {
	m.h.t.Helper()
	r := m.call(method, path, body)
	if r.Status != 200 || !r.Env.Success {
		m.h.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Raw)
	}
	if v != nil {
		r.data(m.h.t, v)
	}
	return r
}

// order reads an order through the core.
func (m *merchant) order(no string) *core.OrderView {
	m.h.t.Helper()
	v, err := m.h.svc.OrderDetail(m.h.ctx, m.M, no)
	if err != nil {
		m.h.t.Fatalf("order %s: %v", no, err)
	}
	return v
}

// waitFor polls cond until it holds or the deadline passes.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits until no job is running or due at the harness clock's
// time: then nothing more happens until the clock moves.
func (h *harness) settle() {
	h.t.Helper()
	h.waitFor("no job running or due", func() bool {
		n, err := h.svc.Busy(h.ctx)
		return err == nil && n == 0
	})
}

// waitOrder waits until the order's statuses are as wanted.
func (m *merchant) waitOrder(no string, pay baoguan.PayStatus, decl baoguan.DeclareStatus) *core.OrderView {
	m.h.t.Helper()
	var v *core.OrderView
	m.h.waitFor(no+" "+string(pay)+"/"+string(decl), func() bool {
		v = m.order(no)
		return v.Order.PayStatus == pay && v.Order.DeclareStatus == decl
	})
	return v
}

// notice is one notification as a receiver got it.
type notice struct {
	Path      string
	Timestamp int64  `json:"timestamp"`
	MsgType   string `json:"msgType"`
	MsgBody   string `json:"msgBody"`
	Sign      string `json:"sign"`
	Raw       []byte
}

// receiver records notifications; it fails the first failFirst deliveries
// to a path before answering OK.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []notice
	// fail maps a path to how many more deliveries to refuse.
	fail map[string]int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{fail: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var n notice
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("notification is not JSON: %s", b)
		}
		n.Path, n.Raw = r.URL.Path, b
		rc.mu.Lock()
		rc.got = append(rc.got, n)
		refuse := rc.fail[r.URL.Path] > 0
		if refuse {
			rc.fail[r.URL.Path]--
		}
		rc.mu.Unlock()
		if refuse {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/notify/echo") {
			// A receiver that answers with what it got, as a careless
			// one might: the answer is kept with the attempt.
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write(b)
			return
		}
		_, _ = io.WriteString(w, "OK")
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// notices returns what arrived for a merchant, oldest first.
func (rc *receiver) notices(name string) []notice {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []notice
	for _, n := range rc.got {
		if n.Path == "/notify/"+name {
			out = append(out, n)
		}
	}
	return out
}

// body decodes a notice's msgBody.
func (n notice) body(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(n.MsgBody), &m); err != nil {
		t.Fatalf("msgBody is not JSON: %q", n.MsgBody)
	}
	return m
}
