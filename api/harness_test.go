package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/api"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/webhook"
)

// The harness runs the real gateway: a fresh SQLite file, the core with
// the sandbox channel and port, the job runner, the /v1 routes behind an
// httptest server, and a webhook receiver on 127.0.0.1.

// waitTimeout bounds every wait for background work (payment, declaration,
// delivery). It is a deadline, not an expected duration: waits poll and
// return as soon as the condition holds.
const waitTimeout = 20 * time.Second

// Sandbox ID numbers from docs/sandbox.md.
const (
	idSucceeds     = "110105199001011232" // SUCCESS
	idNameMismatch = "110105199001019998" // FAIL 支付人姓名和证件号不匹配
)

// account is a merchant with the secrets the test needs.
type account struct {
	M      *baoguan.Merchant
	Key    string
	Secret string
}

// exchange is one request to the API and its response, as the OpenAPI
// check sees it.
type exchange struct {
	Method   string
	Path     string
	RawQuery string
	ReqBody  []byte
	Status   int
	Header   http.Header
	Body     []byte
}

type harness struct {
	path   string // the SQLite file, on sqlite
	pgURL  string // the database, on postgres
	svc    *core.Service
	srv    *httptest.Server
	hooks  *receiver
	client *http.Client
	A, B   account // A has the receiver as notify URL; B has none
	C      account // in arrears: may not push orders
	L      account // live: its orders paid elsewhere go through the test route

	// observe, when set, sees every API exchange (the OpenAPI check).
	observe func(t *testing.T, ex exchange)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessOn(t, "sqlite")
}

// stores are the store kinds a test can run the harness on.
var stores = []string{"sqlite", "postgres"}

// newHarnessOn is newHarness over the named store: "sqlite" (a fresh
// file) or "postgres" (a fresh database on BAOGUAN_TEST_POSTGRES; the test
// is skipped without it, and fails in CI).
func newHarnessOn(t *testing.T, kind string) *harness {
	t.Helper()
	// Scenarios fail authentication on purpose, many times from one
	// address; the limits have their own harness (limits_test.go).
	return newHarnessLimits(t, kind, core.NoLimits())
}

// newHarnessLimits is a harness whose service has the limits given.
func newHarnessLimits(t *testing.T, kind string, limits core.Limits) *harness {
	t.Helper()
	ctx := context.Background()
	keys, err := keyring.New(bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	var store interface {
		baoguan.Store
		Close() error
	}
	var path, pgURL string
	switch kind {
	case "sqlite":
		path = filepath.Join(t.TempDir(), "baoguan.db")
		store, err = sqlite.Open(ctx, sqlite.Options{Path: path, Keys: keys, Synchronous: "NORMAL"})
	case "postgres":
		pgURL = pgtest.URL(t)
		store, err = postgres.Open(ctx, postgres.Options{URL: pgURL, Keys: keys})
	default:
		t.Fatalf("no store %q", kind)
	}
	if err != nil {
		t.Fatalf("opening the %s store: %v", kind, err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("closing store: %v", err)
		}
	})
	svc := core.New(&core.Service{
		Limits:         limits,
		Store:          store,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity,
		// A plain client: notify URLs on 127.0.0.1 must be reachable.
		HTTP: &http.Client{Timeout: 5 * time.Second},
		// Live orders paid elsewhere go through a route whose port reports
		// the calls it makes, as the wallet ports do.
		Live: core.Adapters{Channel: sandbox.NewChannel(), Routes: map[string]core.Route{
			baoguan.RouteEPort: {Port: reportingPort{}, Name: "the test route"}}},
	})
	svc.Formats.Register(api.Protocol, api.NewFormat())

	h := &harness{path: path, pgURL: pgURL, svc: svc, client: &http.Client{Timeout: 30 * time.Second}}
	h.hooks = newReceiver()
	t.Cleanup(h.hooks.srv.Close)

	mux := http.NewServeMux()
	api.New(api.Options{Svc: svc}).Register(mux)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx, core.RunnerOptions{Poll: 20 * time.Millisecond}) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	})

	h.A = h.merchant(t, core.MerchantInput{No: "MA-001", Name: "Merchant A", NotifyURL: h.hooks.srv.URL + "/hooks/a"})
	h.B = h.merchant(t, core.MerchantInput{No: "MB-002", Name: "Merchant B"})
	h.C = h.merchant(t, core.MerchantInput{No: "MC-003", Name: "Merchant C"})
	h.L = h.merchant(t, core.MerchantInput{No: "ML-004", Name: "Merchant Live"})
	if _, err := svc.UpdateMerchant(ctx, h.L.M.No, func(m *baoguan.Merchant) error {
		m.Mode = baoguan.ModeLive
		return nil
	}); err != nil {
		t.Fatalf("making L live: %v", err)
	}
	if _, err := svc.UpdateMerchant(ctx, h.C.M.No, func(m *baoguan.Merchant) error {
		m.Status = baoguan.MerchantArrears
		return nil
	}); err != nil {
		t.Fatalf("setting C in arrears: %v", err)
	}
	return h
}

func (h *harness) merchant(t *testing.T, in core.MerchantInput) account {
	t.Helper()
	m, cr, err := h.svc.CreateMerchant(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateMerchant %s: %v", in.Name, err)
	}
	return account{M: m, Key: cr.APIKey, Secret: cr.WebhookSecret}
}

// ---- HTTP ------------------------------------------------------------------

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// decode unmarshals the body into a T, failing the test if it cannot.
func decode[T any](t *testing.T, r *response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decoding %s: %v", r, err)
	}
	return v
}

// request is one call; Auth is the whole Authorization header ("" = none).
type request struct {
	Method  string
	Path    string // with query
	Auth    string
	Headers map[string]string
	Body    []byte
}

func (h *harness) do(t *testing.T, rq request) *response {
	t.Helper()
	var body io.Reader
	if rq.Body != nil {
		body = bytes.NewReader(rq.Body)
	}
	req, err := http.NewRequest(rq.Method, h.srv.URL+rq.Path, body)
	if err != nil {
		t.Fatalf("building %s %s: %v", rq.Method, rq.Path, err)
	}
	if rq.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.Auth != "" {
		req.Header.Set("Authorization", rq.Auth)
	}
	for k, v := range rq.Headers {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.Method, rq.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", rq.Method, rq.Path, err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if h.observe != nil {
		path, query, _ := strings.Cut(rq.Path, "?")
		h.observe(t, exchange{Method: rq.Method, Path: path, RawQuery: query, ReqBody: rq.Body,
			Status: r.Status, Header: r.Header, Body: r.Body})
	}
	return r
}

func bearer(a account) string { return "Bearer " + a.Key }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// get and post are the calls setup code makes; they fail the test on an
// unexpected status.
func (h *harness) get(t *testing.T, a account, path string, want int) *response {
	t.Helper()
	r := h.do(t, request{Method: http.MethodGet, Path: path, Auth: bearer(a)})
	if r.Status != want {
		t.Fatalf("GET %s: got %s, want %d", path, r, want)
	}
	return r
}

func (h *harness) post(t *testing.T, a account, path string, v any, want int) *response {
	t.Helper()
	var b []byte
	if v != nil {
		b = mustJSON(t, v)
	}
	r := h.do(t, request{Method: http.MethodPost, Path: path, Auth: bearer(a), Body: b})
	if r.Status != want {
		t.Fatalf("POST %s: got %s, want %d", path, r, want)
	}
	return r
}

// ---- waiting ---------------------------------------------------------------

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last state: %s", what, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type declView struct {
	ID             string `json:"id"`
	Customs        string `json:"customs"`
	SubOrderNo     string `json:"sub_order_no"`
	State          string `json:"state"`
	Explanation    string `json:"explanation"`
	IdentityCheck  string `json:"identity_check"`
	VerifyDept     string `json:"verify_department"`
	VerifyTradeID  string `json:"verify_department_trade_id"`
	OrderFee       int64  `json:"order_fee"`
	Attempts       int    `json:"attempts"`
	MerchantOrder  string `json:"merchant_order_no"` // webhook data only
	PaymentNo      string `json:"payment_no"`        // webhook data only
	ModifiedAtText string `json:"modified_at"`
}

type refundView struct {
	RefundNo   string `json:"refund_no"`
	OrderNo    string `json:"order_no"`
	Amount     int64  `json:"amount"`
	Status     string `json:"status"`
	FailReason string `json:"fail_reason"`
}

type orderView struct {
	MerchantOrderNo string  `json:"merchant_order_no"`
	Amount          int64   `json:"amount"`
	PayStatus       string  `json:"pay_status"`
	DeclareStatus   string  `json:"declare_status"`
	Refunded        int64   `json:"refunded"`
	BatchID         *string `json:"batch_id"`
	CreatedAt       string  `json:"created_at"`
	OrderedAt       string  `json:"ordered_at"`
	Payment         struct {
		PaymentNo  string `json:"payment_no"`
		FailReason string `json:"fail_reason"`
		PaidAt     string `json:"paid_at"`
	} `json:"payment"`
	Declarations []declView   `json:"declarations"`
	Refunds      []refundView `json:"refunds"`
}

type listView[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

type eventView struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhook_id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempt_count"`
	History   []struct {
		Status int `json:"status"`
	} `json:"attempts"`
}

type batchView struct {
	ID       string `json:"id"`
	BatchNo  string `json:"batch_no"`
	Total    int    `json:"total"`
	Amount   int64  `json:"amount"`
	PayCalls int    `json:"pay_calls"`
	Summary  struct {
		Total        int   `json:"total"`
		PaySucceeded int   `json:"pay_succeeded"`
		PayFailed    int   `json:"pay_failed"`
		PayOther     int   `json:"pay_other"`
		DeclSucc     int   `json:"declare_succeeded"`
		PaidAmount   int64 `json:"paid_amount"`
	} `json:"summary"`
	Scheduled int `json:"scheduled"`
}

// waitOrder polls GET /v1/orders/{no} until cond holds and returns the order.
func (h *harness) waitOrder(t *testing.T, a account, no string, what string, cond func(o orderView) bool) orderView {
	t.Helper()
	var o orderView
	waitFor(t, "order "+no+" "+what, func() (bool, string) {
		r := h.get(t, a, "/v1/orders/"+no, http.StatusOK)
		o = decode[orderView](t, r)
		return cond(o), r.String()
	})
	return o
}

func paidAndDeclared(o orderView) bool {
	return o.PayStatus == "PAY_SUCCEED" && o.DeclareStatus == "DECLARED"
}

func paid(o orderView) bool { return o.PayStatus == "PAY_SUCCEED" }

// ---- webhook receiver ------------------------------------------------------

type delivery struct {
	Path   string
	Header http.Header
	Body   []byte
	// From the body:
	ID   string
	Type string
	Data json.RawMessage
}

// orderNo is the order a delivery concerns (order, declaration or refund data).
func (d delivery) orderNo() string {
	var v struct {
		MerchantOrderNo string `json:"merchant_order_no"`
		OrderNo         string `json:"order_no"`
	}
	_ = json.Unmarshal(d.Data, &v)
	if v.MerchantOrderNo != "" {
		return v.MerchantOrderNo
	}
	return v.OrderNo
}

type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery
}

func newReceiver() *receiver {
	rc := &receiver{}
	// httptest listens on 127.0.0.1.
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d := delivery{Path: r.URL.Path, Header: r.Header.Clone(), Body: b}
		var env struct {
			ID   string          `json:"id"`
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(b, &env)
		d.ID, d.Type, d.Data = env.ID, env.Type, env.Data
		rc.mu.Lock()
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/hooks/echo") {
			// A careless receiver that answers with what it got: the
			// answer is kept with the attempt.
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write(b)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	return rc
}

func (rc *receiver) all() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// wait returns the deliveries matching match once there are at least n.
func (rc *receiver) wait(t *testing.T, what string, n int, match func(d delivery) bool) []delivery {
	t.Helper()
	var out []delivery
	waitFor(t, what, func() (bool, string) {
		out = out[:0]
		var types []string
		for _, d := range rc.all() {
			types = append(types, d.Type+":"+d.orderNo())
			if match(d) {
				out = append(out, d)
			}
		}
		return len(out) >= n, fmt.Sprintf("%d matching; received %v", len(out), types)
	})
	return out
}

func (rc *receiver) waitEvent(t *testing.T, typ, orderNo string) delivery {
	t.Helper()
	return rc.wait(t, typ+" for "+orderNo, 1, func(d delivery) bool { return d.Type == typ && d.orderNo() == orderNo })[0]
}

// verifySigned checks a delivery's Standard Webhooks signature with the
// merchant's secret, and that another secret does not verify it.
func verifySigned(t *testing.T, d delivery, a, other account) {
	t.Helper()
	if err := webhook.Verify(a.Secret, d.Header, d.Body, time.Now(), webhook.DefaultTolerance); err != nil {
		t.Errorf("%s %s: signature does not verify with the merchant's secret: %v", d.Type, d.ID, err)
	}
	if err := webhook.Verify(other.Secret, d.Header, d.Body, time.Now(), webhook.DefaultTolerance); err == nil {
		t.Errorf("%s %s: signature verifies with another merchant's secret", d.Type, d.ID)
	}
	if got := d.Header.Get(webhook.HeaderID); got != d.ID {
		t.Errorf("%s: webhook-id header %q, body id %q", d.Type, got, d.ID)
	}
	if ct := d.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", d.Type, ct)
	}
}

// ---- scenarios -------------------------------------------------------------

// scenario is one request through the real router and what must come back
// (in the style of PocketBase's ApiScenario).
type scenario struct {
	Name    string
	Method  string
	Path    string
	As      *account // whose API key; nil = merchant A
	Auth    string   // explicit Authorization header, overrides As
	NoAuth  bool     // send no Authorization header
	Headers map[string]string
	Body    any // nil: no body; string or []byte: sent as is; else JSON-encoded
	Status  int
	// Expect are fragments of compact JSON the body must contain;
	// NotExpect must not appear.
	Expect        []string
	NotExpect     []string
	ExpectHeaders map[string]string
	Check         func(t *testing.T, r *response)
}

func (h *harness) run(t *testing.T, table []scenario) {
	t.Helper()
	for _, sc := range table {
		t.Run(sc.Name, func(t *testing.T) { h.runOne(t, sc) })
	}
}

func (h *harness) runOne(t *testing.T, sc scenario) *response {
	t.Helper()
	rq := request{Method: sc.Method, Path: sc.Path, Headers: sc.Headers}
	switch {
	case sc.NoAuth:
	case sc.Auth != "":
		rq.Auth = sc.Auth
	case sc.As != nil:
		rq.Auth = bearer(*sc.As)
	default:
		rq.Auth = bearer(h.A)
	}
	switch b := sc.Body.(type) {
	case nil:
	case string:
		rq.Body = []byte(b)
	case []byte:
		rq.Body = b
	default:
		rq.Body = mustJSON(t, b)
	}
	r := h.do(t, rq)
	if r.Status != sc.Status {
		t.Fatalf("%s %s: status %d, want %d; body %s", sc.Method, sc.Path, r.Status, sc.Status, bytes.TrimSpace(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !json.Valid(r.Body) {
		t.Errorf("body is not JSON: %q", r.Body)
	}
	for _, f := range sc.Expect {
		if !bytes.Contains(r.Body, []byte(f)) {
			t.Errorf("body lacks %s\nbody: %s", f, bytes.TrimSpace(r.Body))
		}
	}
	for _, f := range sc.NotExpect {
		if bytes.Contains(r.Body, []byte(f)) {
			t.Errorf("body has %s\nbody: %s", f, bytes.TrimSpace(r.Body))
		}
	}
	for k, v := range sc.ExpectHeaders {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if sc.Check != nil {
		sc.Check(t, r)
	}
	return r
}

// ---- request bodies --------------------------------------------------------

type obj = map[string]any

func payer(id string) obj {
	return obj{"name": "张三", "id_type": "IDCARD", "id_number": id, "phone": "13800138000"}
}

// order returns an order body; mods adjust it.
func order(no string, amount int64, mods ...func(obj)) obj {
	o := obj{"merchant_order_no": no, "amount": amount, "subject": "跨境商品 " + no}
	for _, m := range mods {
		m(o)
	}
	return o
}

// declared adds a payer with the given ID number and a declaration to customs.
func declared(id, customs string) func(obj) {
	return func(o obj) {
		o["payer"] = payer(id)
		o["declarations"] = []obj{{"customs": customs}}
	}
}

func with(k string, v any) func(obj) { return func(o obj) { o[k] = v } }

func without(k string) func(obj) { return func(o obj) { delete(o, k) } }

// errFrag is the JSON fragment of an error code.
func errFrag(code string) string { return `"code":"` + code + `"` }

func fieldFrag(field string) string { return `"field":"` + field + `"` }

// reportingPort is a live customs port that reports one upstream call per
// request, as the wallet ports do, and answers SUCCESS.
type reportingPort struct{}

func (reportingPort) Name() string { return "reporting" }
func (reportingPort) Declare(_ context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	if r.Record != nil {
		r.Record(baoguan.UpstreamCall{MerchantID: r.Declaration.MerchantID, OrderID: r.Declaration.OrderID,
			DeclarationID: r.Declaration.ID, At: r.Now, Service: "test.upstream", Operation: "declare", HTTPStatus: 200,
			// A careless upstream that quotes the payer: the message
			// must still be stored and shown masked.
			LatencyMS: 12, Code: "SUCCESS", Message: "accepted " + r.Declaration.Payer.IDNumber + " " + r.Declaration.Payer.Phone, Attempt: r.Declaration.Attempts, Outcome: "ok"})
	}
	return baoguan.Receipt{State: baoguan.DeclSuccess, Ref: "T-REF"}, nil
}
func (reportingPort) Receipt(context.Context, baoguan.DeclareRequest) (baoguan.Receipt, error) {
	return baoguan.Receipt{State: baoguan.DeclSuccess}, nil
}
