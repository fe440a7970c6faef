package pushorder_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/pushorder"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
)

// The harness runs the real gateway: a fresh SQLite file, the core with the
// sandbox channel and port, the job runner in the background, the pushorder
// routes under /pushorder behind an httptest server, and a callback
// receiver on 127.0.0.1.

// waitTimeout bounds every wait for background work. It is a deadline, not
// an expected duration: waits poll and return as soon as the condition holds.
const waitTimeout = 20 * time.Second

// Sandbox ID numbers (docs/sandbox.md).
const (
	idOK       = "110105199001011232" // SUCCESS
	idMismatch = "110105199001019998" // FAIL 支付人姓名和证件号不匹配
	idVerify   = "110105199001019963" // FAIL 支付单验证失败
	idSample   = "32068119891142120001"
)

// A merchant of the harness: how to reach its endpoints.
type account struct {
	M     *baoguan.Merchant
	Token string // "" when the merchant has none
}

// base is the merchant's URL prefix, with its token when it has one.
func (a account) base() string {
	if a.Token == "" {
		return "/pushorder"
	}
	return "/pushorder/" + a.Token
}

type harness struct {
	svc   *core.Service
	store *sqlite.DB
	path  string // the database file
	srv   *httptest.Server
	cb    *receiver

	Sample  account // "商户 1", the PushOrder sample's merchant (token)
	Test    account // "测试商户", the GetOrder sample's merchant (token)
	A       account // token and allow-net 127.0.0.0/8; callback-url set
	B       account // token; callbacks fall back to its notify URL
	Net     account // allow-net 127.0.0.1 only, no token
	Far     account // allow-net 203.0.113.0/24 only: never the test client
	None    account // no pushorder settings
	Arrears account // in arrears (9911)
	Unsign  account // unsigned (9912)
	Live    account // live mode: the installation has no live adapters
}

type harnessOptions struct {
	// frozen fixes the clock of the core and the store, so payment numbers
	// and times are reproducible for golden files. Retries and polls never
	// come due then; the sandbox port answers at once.
	frozen   time.Time
	schedule baoguan.Retry
	proxies  string // TrustedProxies, comma-separated
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now
	if !o.frozen.IsZero() {
		now = func() time.Time { return o.frozen }
	}
	path := filepath.Join(t.TempDir(), "baoguan.db")
	store, err := sqlite.Open(ctx, sqlite.Options{Path: path, Keys: keys,
		Synchronous: "NORMAL", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := core.New(&core.Service{
		Store:          store,
		Now:            now,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           &http.Client{Timeout: 5 * time.Second}, // receivers are on 127.0.0.1
	})
	schedule := o.schedule
	if schedule == nil {
		schedule = baoguan.Retry{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
	}
	svc.Formats.Register(pushorder.Protocol, pushorder.NewFormat(pushorder.FormatOptions{Schedule: schedule}))

	opts := pushorder.Options{Svc: svc}
	for _, p := range strings.Split(o.proxies, ",") {
		if p != "" {
			opts.TrustedProxies = append(opts.TrustedProxies, mustPrefix(t, p))
		}
	}
	po, err := pushorder.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	po.Register(mux, "/pushorder")
	h := &harness{svc: svc, store: store, path: path, srv: httptest.NewServer(mux), cb: newReceiver()}
	t.Cleanup(h.srv.Close)
	t.Cleanup(h.cb.srv.Close)

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx, core.RunnerOptions{Poll: 20 * time.Millisecond}) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	})

	h.Sample = h.merchant(t, "M-SAMPLE", "商户 1", "", map[string]string{
		pushorder.SettingAccessToken: "tok-sample", pushorder.SettingCallbackURL: h.cb.srv.URL + "/cb/sample"})
	h.Test = h.merchant(t, "M-TEST", "测试商户", "", map[string]string{pushorder.SettingAccessToken: "tok-test"})
	h.A = h.merchant(t, "M-A", "Merchant A", "", map[string]string{
		pushorder.SettingAccessToken: "tokA", pushorder.SettingAllowNet: "127.0.0.0/8, ::1/128",
		pushorder.SettingCallbackURL: h.cb.srv.URL + "/cb/a"})
	h.B = h.merchant(t, "M-B", "Merchant B", h.cb.srv.URL+"/notify/b", map[string]string{pushorder.SettingAccessToken: "tokB"})
	h.Net = h.merchant(t, "M-NET", "Net Only", "", map[string]string{pushorder.SettingAllowNet: "127.0.0.1"})
	h.Far = h.merchant(t, "M-FAR", "Far Net", "", map[string]string{pushorder.SettingAllowNet: "203.0.113.0/24"})
	h.None = h.merchant(t, "M-NONE", "No Access", "", nil)
	h.Arrears = h.merchant(t, "M-ARR", "Arrears", "", map[string]string{pushorder.SettingAccessToken: "tokR"})
	h.Unsign = h.merchant(t, "M-UNS", "Unsigned", "", map[string]string{pushorder.SettingAccessToken: "tokU"})
	h.Live = h.merchant(t, "M-LIVE", "Live", "", map[string]string{pushorder.SettingAccessToken: "tokL"})
	h.setMerchant(t, h.Arrears, func(m *baoguan.Merchant) { m.Status = baoguan.MerchantArrears })
	h.setMerchant(t, h.Unsign, func(m *baoguan.Merchant) { m.Status = baoguan.MerchantUnsigned })
	h.setMerchant(t, h.Live, func(m *baoguan.Merchant) { m.Mode = baoguan.ModeLive })
	return h
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// merchant creates a merchant with its pushorder settings, as
// `baoguan merchant key --protocol pushorder` would set them.
func (h *harness) merchant(t *testing.T, no, name, notify string, settings map[string]string) account {
	t.Helper()
	ctx := context.Background()
	m, _, err := h.svc.CreateMerchant(ctx, core.MerchantInput{No: no, Name: name, NotifyURL: notify})
	if err != nil {
		t.Fatalf("CreateMerchant %s: %v", name, err)
	}
	if len(settings) > 0 {
		m, err = h.svc.UpdateMerchant(ctx, no, func(m *baoguan.Merchant) error {
			for k, v := range settings {
				m.Settings[k] = v
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return account{M: m, Token: settings[pushorder.SettingAccessToken]}
}

func (h *harness) setMerchant(t *testing.T, a account, change func(m *baoguan.Merchant)) {
	t.Helper()
	if _, err := h.svc.UpdateMerchant(context.Background(), a.M.No, func(m *baoguan.Merchant) error {
		change(m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// ---- requests ---------------------------------------------------------------

// post sends body as the document's .NET sample does: a form content type
// and the bytes as they are. It returns the status and the body.
func (h *harness) post(t *testing.T, path, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// reply is either endpoint's answer, decoded.
type reply struct {
	ReturnCode    string
	ReturnMsg     string
	OrderNo       string
	PaymentNo     string
	PaymentStatus *int
	PaymentMsg    string
	PayTime       string
	CustomsMsg    string
}

func (h *harness) call(t *testing.T, path, body string, header ...string) reply {
	t.Helper()
	status, b := h.post(t, path, body, header...)
	if status != http.StatusOK {
		t.Fatalf("POST %s: status %d %s, want 200", path, status, b)
	}
	var r reply
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("POST %s: reply %s: %v", path, b, err)
	}
	return r
}

// order is a PushOrder data object; the zero fields are left out.
type order map[string]any

// sampleOrder is the document's PushOrder sample for merchant name, with
// keys spelled plainly.
func sampleOrder(no, name string) order {
	return order{"OperationType": "A", "OrderNo": no, "ReceiverName": "张三", "ReceiverCardNo": idOK,
		"TotalNum": json.Number("5.0"), "OrderTotal": json.Number("100.0"), "ItemNames": "测试商品",
		"ShopPayTime": "2018-07-01 21:22:34", "MerchantName": name, "CapitalName": "资方 1",
		"ReceiverMobile": "13817494910", "CustomsCode": "HG014"}
}

func (o order) with(kv ...any) order {
	c := order{}
	for k, v := range o {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(c, k)
		} else {
			c[k] = kv[i+1]
		}
	}
	return c
}

// body renders the order as the .NET sample sends it: "data=" and the JSON,
// not URL-encoded.
func (o order) body() string {
	b, err := json.Marshal(map[string]any(o))
	if err != nil {
		panic(err)
	}
	return "data=" + string(b)
}

func (h *harness) push(t *testing.T, a account, o order) reply {
	t.Helper()
	return h.call(t, a.base()+"/PushTestOrder", o.body())
}

func (h *harness) get(t *testing.T, a account, no string) reply {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"OrderNo": no, "MerchantName": a.M.Name})
	return h.call(t, a.base()+"/GetTestOrder", "data="+string(b))
}

// quiet waits until no job is queued or running: every payment,
// declaration and callback has ended, and nothing more will be sent.
func (h *harness) quiet(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		c, err := h.svc.JobCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, k := range c[baoguan.JobQueued] {
			n += k
		}
		for _, k := range c[baoguan.JobRunning] {
			n += k
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs still queued or running", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCustoms polls GetOrder until CustomsMsg satisfies ok.
func (h *harness) waitCustoms(t *testing.T, a account, no string, ok func(string) bool) reply {
	t.Helper()
	var r reply
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if r = h.get(t, a, no); r.ReturnCode == pushorder.CodeOK && ok(r.CustomsMsg) {
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("order %s: CustomsMsg still %q (%+v)", no, r.CustomsMsg, r)
	return r
}

func is(s string) func(string) bool { return func(x string) bool { return x == s } }

func (h *harness) orders(t *testing.T, a account) []baoguan.Order {
	t.Helper()
	os, err := h.svc.Orders(context.Background(), a.M, baoguan.OrderFilter{Page: baoguan.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	return os
}

func (h *harness) detail(t *testing.T, a account, no string) *core.OrderView {
	t.Helper()
	v, err := h.svc.OrderDetail(context.Background(), a.M, no)
	if err != nil {
		t.Fatalf("OrderDetail %s: %v", no, err)
	}
	return v
}

// waitDetail waits until the order exists and is paid or failed.
func (h *harness) waitDetail(t *testing.T, a account, no string) *core.OrderView {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		v := h.detail(t, a, no)
		if v.Order.PayStatus != baoguan.PayNotPayed {
			return v
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("order %s was never paid", no)
	return nil
}

// ---- callback receiver ------------------------------------------------------

// hit is one callback request as the receiver saw it.
type hit struct {
	Path        string
	ContentType string
	Raw         string // the body as sent
	Data        string // the form field data, decoded
}

type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hits   []hit
	answer map[string]string // path → body to answer; "ok" by default
}

func newReceiver() *receiver {
	r := &receiver{answer: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
		form, _ := url.ParseQuery(string(b))
		r.mu.Lock()
		r.hits = append(r.hits, hit{Path: req.URL.Path, ContentType: ct, Raw: string(b), Data: form.Get("data")})
		ans, ok := r.answer[req.URL.Path]
		r.mu.Unlock()
		if !ok {
			ans = "ok"
		}
		_, _ = io.WriteString(w, ans)
	}))
	return r
}

func (r *receiver) setAnswer(path, body string) {
	r.mu.Lock()
	r.answer[path] = body
	r.mu.Unlock()
}

// callbacks returns the decoded callbacks received at path for order no.
func (r *receiver) callbacks(path, no string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, h := range r.hits {
		var m map[string]string
		if h.Path == path && json.Unmarshal([]byte(h.Data), &m) == nil && m["order_no"] == no {
			out = append(out, m)
		}
	}
	return out
}

func (r *receiver) raw(path string) []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hit
	for _, h := range r.hits {
		if h.Path == path {
			out = append(out, h)
		}
	}
	return out
}

// waitCallbacks waits until at least n callbacks for order no reached path.
func (r *receiver) waitCallbacks(t *testing.T, path, no string, n int) []map[string]string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if cs := r.callbacks(path, no); len(cs) >= n {
			return cs
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: %d callbacks for %s, want %d", path, len(r.callbacks(path, no)), no, n)
	return nil
}
