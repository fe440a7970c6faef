package wisecashier_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/wisecashier"
)

// The harness runs the real gateway: a fresh SQLite file, the core with
// the sandbox wallets and port, the job runner, the wisecashier routes
// under /wisecashier on one httptest server and at the root of another
// (the dedicated listener), and a notification receiver on 127.0.0.1. One
// settable clock drives the store, the core and the notification
// timestamps; requests are signed at the clock's time.

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

// start is 2017-06-23 13:07:02 in China, the time of §4.2's example order.
var start = time.Date(2017, 6, 23, 5, 7, 2, 0, time.UTC)

// failingStore fails every transaction while fail is set: a database that
// has gone away, for the 500 answer.
type failingStore struct {
	baoguan.Store
	fail atomic.Bool
}

var errDown = errors.New("database is down")

func (s *failingStore) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	if s.fail.Load() {
		return errDown
	}
	return s.Store.Update(ctx, fn)
}

func (s *failingStore) View(ctx context.Context, fn func(baoguan.Tx) error) error {
	if s.fail.Load() {
		return errDown
	}
	return s.Store.View(ctx, fn)
}

type harness struct {
	t     *testing.T
	ctx   context.Context
	clock *clock
	store *failingStore
	path  string // the database file
	svc   *core.Service
	wc    *wisecashier.Server
	srv   *httptest.Server // routes under /wisecashier
	root  *httptest.Server // the same routes at the root
	hooks *receiver
	// agent is the agent the seed's requests come from; other is another
	// agent. A1 and A2 are agent's merchants (A1 is the seed's "xxx"), O1
	// is other's, N1 has no agent.
	agent, other *agent
}

// agent is an agent and the private key it signs with.
type agent struct {
	A   *baoguan.Agent
	Key *rsa.PrivateKey
}

type harnessOptions struct {
	opts   wisecashier.Options
	limits core.Limits // the zero value: the defaults
}

func newHarness(t *testing.T, configure ...func(*harnessOptions)) *harness {
	t.Helper()
	var ho harnessOptions
	for _, f := range configure {
		f(&ho)
	}
	ctx := context.Background()
	c := &clock{t: start}
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "wisecashier.db")
	db, err := sqlite.Open(ctx, sqlite.Options{Path: path, Keys: keys, Now: c.Now, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &failingStore{Store: db}
	svc := core.New(&core.Service{
		Store:          store,
		Now:            c.Now,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           &http.Client{Timeout: 10 * time.Second}, // receivers are on 127.0.0.1
		Limits:         ho.limits,
	})
	opts := ho.opts
	opts.Svc = svc
	wc, err := wisecashier.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	svc.Formats.Register(wisecashier.Protocol, wisecashier.NewFormat(wc.Key(), wisecashier.FormatOptions{Now: c.Now}))
	h := &harness{t: t, ctx: ctx, clock: c, store: store, path: path, svc: svc, wc: wc}
	mux := http.NewServeMux()
	wc.Register(mux, "/wisecashier")
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	h.root = httptest.NewServer(wc.Handler())
	t.Cleanup(h.root.Close)
	h.hooks = newReceiver(t)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(rctx, core.RunnerOptions{Poll: 20 * time.Millisecond})
	}()
	t.Cleanup(func() { cancel(); <-done })

	h.agent = h.newAgent("123456", testKey(t, "agent_private.pem"))
	h.other = h.newAgent("654321", testKey(t, "other_private.pem"))
	h.newMerchant("xxx", h.agent)
	h.newMerchant("A2", h.agent)
	h.newMerchant("O1", h.other)
	h.newMerchant("N1", nil)
	return h
}

// testKey reads a fixed RSA key of testdata/ (the test vector's is the one
// published in docs/protocols/wisecashier.md).
func testKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: not PEM", name)
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func publicPEM(k *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// newAgent creates an agent and registers its public key, as `baoguan
// agent create --public-key` does.
func (h *harness) newAgent(no string, key *rsa.PrivateKey) *agent {
	h.t.Helper()
	if _, err := h.svc.CreateAgent(h.ctx, core.AgentInput{No: no}); err != nil {
		h.t.Fatal(err)
	}
	a, err := h.svc.UpdateAgent(h.ctx, no, func(a *baoguan.Agent) error {
		a.Settings["wisecashier.public-key"] = publicPEM(&key.PublicKey)
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return &agent{A: a, Key: key}
}

// newMerchant onboards a sandbox merchant, attached to a (nil: none),
// whose notifications go to the receiver at /notify/<no>.
func (h *harness) newMerchant(no string, a *agent) *baoguan.Merchant {
	h.t.Helper()
	m, _, err := h.svc.CreateMerchant(h.ctx, core.MerchantInput{No: no, Name: "merchant " + no, NotifyURL: h.hooks.srv.URL + "/notify/" + no})
	if err != nil {
		h.t.Fatal(err)
	}
	if a != nil {
		if m, err = h.svc.AttachMerchant(h.ctx, a.A.No, no, false); err != nil {
			h.t.Fatal(err)
		}
	}
	return m
}

func (h *harness) merchant(no string) *baoguan.Merchant {
	h.t.Helper()
	m, err := h.svc.MerchantByNo(h.ctx, no)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// ---- requests ----------------------------------------------------------

// req is one request as a client sends it; the zero value is the seed's
// Python client: headers AgentNo, Signature, Version 1.0 and a
// str(time.time()) Timestamp, a form body, values encoded as Python 2's
// quote(safe="").
type req struct {
	method, path string
	params       map[string]string
	agent        *agent
	version      string
	agentHeader  string // default AgentNo
	timestamp    string // default the clock's time as seconds with a fraction
	encoding     string // the signing string's encoding (default python2)
	multipart    bool
	signature    string // override the signature
	root         bool   // at the dedicated listener's root
	inQuery      bool   // authentication values in the query (cashier pages)
	noRedirect   bool
}

// resp is an answer.
type resp struct {
	Status int
	Header http.Header
	Raw    []byte
	Env    struct {
		Meta struct {
			StatusCode int    `json:"status_code"`
			Message    string `json:"message"`
			Success    bool   `json:"success"`
		} `json:"meta"`
		Data json.RawMessage `json:"data"`
	}
}

// data decodes the envelope's data.
func (r *resp) data(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Env.Data, v); err != nil {
		t.Fatalf("data %s: %v", r.Env.Data, err)
	}
}

func encodingNamed(t *testing.T, name string) wisecashier.Encoding {
	for _, e := range wisecashier.Encodings {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no encoding %s", name)
	return wisecashier.Encoding{}
}

func (h *harness) do(q req) *resp {
	h.t.Helper()
	if q.agent == nil {
		q.agent = h.agent
	}
	if q.params == nil {
		q.params = map[string]string{}
	}
	ts := q.timestamp
	if ts == "" {
		now := h.clock.Now()
		ts = strconv.FormatInt(now.Unix(), 10) + "." + strconv.Itoa(123456+now.Nanosecond()/1000)
	}
	enc := q.encoding
	if enc == "" {
		enc = "python2"
	}
	sig := q.signature
	if sig == "" {
		sig = signWith(h.t, q.agent.Key, wisecashier.SigningString(q.params, ts, encodingNamed(h.t, enc)))
	}
	base := h.srv.URL + "/wisecashier"
	if q.root {
		base = h.root.URL
	}
	if q.version == "" {
		q.version = "1.0"
	}
	auth := map[string]string{"Signature": sig, "Timestamp": ts, "Version": q.version}
	ah := q.agentHeader
	if ah == "" {
		ah = "AgentNo"
	}
	auth[ah] = q.agent.A.No
	vals := url.Values{}
	for k, v := range q.params {
		vals.Set(k, v)
	}
	var body io.Reader
	u := base + q.path
	ct := ""
	if q.method == http.MethodGet {
		if q.inQuery {
			for k, v := range auth {
				vals.Set(k, v)
			}
		}
		if len(vals) > 0 {
			u += "?" + vals.Encode()
		}
	} else if q.multipart {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for k, v := range q.params {
			mw.WriteField(k, v)
		}
		mw.Close()
		body, ct = &b, mw.FormDataContentType()
	} else {
		body, ct = strings.NewReader(vals.Encode()), "application/x-www-form-urlencoded"
	}
	hr, err := http.NewRequest(q.method, u, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	if !q.inQuery {
		for k, v := range auth {
			hr.Header[k] = []string{v} // as sent, not canonicalised: MerchantNO stays MerchantNO
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if q.noRedirect {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	hresp, err := client.Do(hr)
	if err != nil {
		h.t.Fatal(err)
	}
	defer hresp.Body.Close()
	out := &resp{Status: hresp.StatusCode, Header: hresp.Header}
	out.Raw, _ = io.ReadAll(hresp.Body)
	if strings.HasPrefix(hresp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Raw, &out.Env); err != nil {
			h.t.Fatalf("%s %s: not the envelope: %s", q.method, q.path, out.Raw)
		}
	}
	return out
}

// ok sends q and fails unless it answers 200 with success true.
func (h *harness) ok(q req) *resp {
	h.t.Helper()
	r := h.do(q)
	if r.Status != http.StatusOK || (r.Env.Meta.StatusCode != 0 && (!r.Env.Meta.Success || r.Env.Meta.StatusCode != 200)) {
		h.t.Fatalf("%s %s: %d %s", q.method, q.path, r.Status, r.Raw)
	}
	return r
}

// ---- waiting -------------------------------------------------------------

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

// settle waits until no job is running or due at the clock's time.
func (h *harness) settle() {
	h.t.Helper()
	h.waitFor("no job running or due", func() bool {
		n, err := h.svc.Busy(h.ctx)
		return err == nil && n == 0
	})
}

// ---- notifications -------------------------------------------------------

// receiver records notifications by path and answers success unless told
// to fail a path's first n deliveries.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  map[string][]notice
	fail map[string]int
}

type notice struct {
	Form      url.Values
	Signature string
	Timestamp string
	At        time.Time
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string][]notice{}, fail: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		q.ParseForm()
		no := strings.TrimPrefix(q.URL.Path, "/notify/")
		r.mu.Lock()
		r.got[no] = append(r.got[no], notice{Form: q.PostForm, Signature: q.Header.Get("Signature"), Timestamp: q.Header.Get("Timestamp")})
		failing := r.fail[no] > 0
		if failing {
			r.fail[no]--
		}
		r.mu.Unlock()
		if failing {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "success")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) notices(no string) []notice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notice(nil), r.got[no]...)
}
