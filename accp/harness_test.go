package accp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/accp"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The merchant key pair the tests sign with, and a second one that is not
// registered (a forged signature). Made once: RSA generation is slow.
var (
	merchantKey = sync.OnceValue(func() *rsa.PrivateKey { return genKey() })
	strangerKey = sync.OnceValue(func() *rsa.PrivateKey { return genKey() })
)

func genKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func publicPEM(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

var cst = time.FixedZone("CST", 8*3600)

// clock is the test clock shared by the store and the service: retry
// schedules and timestamp windows are crossed by moving it, not by sleeping.
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

// start is 2026-11-23 10:00:00 in China, the timestamp of the golden request.
var start = time.Date(2026, 11, 23, 10, 0, 0, 0, cst)

const mchID = "402103190000000001"

type env struct {
	t      *testing.T
	ctx    context.Context
	svc    *core.Service
	clock  *clock
	srv    *accp.Server
	http   *httptest.Server // routes under /accp
	root   *httptest.Server // Handler() at the root
	m      *baoguan.Merchant
	notify *receiver
	path   string // the database file
}

// newEnv builds a fresh gateway: SQLite in a temp dir, the sandbox channel
// and port (customs answers after delay), the job runner in the background,
// the ACCP routes on an httptest server, a merchant with a registered key,
// and a notification receiver.
func newEnv(t *testing.T, delay time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: start}
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "accp.db")
	db, err := sqlite.Open(ctx, sqlite.Options{Path: path, Keys: keys, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := core.New(&core.Service{Store: db, Now: c.Now,
		// Scenarios fail authentication on purpose, many times from one
		// address; the limits have their own tests (limits_test.go).
		Limits:         core.NoLimits(),
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(delay)},
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           &http.Client{Timeout: 5 * time.Second}})
	srv, err := accp.New(accp.Options{Svc: svc})
	if err != nil {
		t.Fatal(err)
	}
	svc.Formats.Register(accp.Protocol, accp.NewFormat(srv.Key()))
	mux := http.NewServeMux()
	srv.Register(mux, "/accp")
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	root := httptest.NewServer(srv.Handler())
	t.Cleanup(root.Close)

	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{No: mchID, Name: "杭州某某电子商务有限公司"})
	if err != nil {
		t.Fatal(err)
	}
	m, err = svc.UpdateMerchant(ctx, mchID, func(m *baoguan.Merchant) error {
		m.Settings[accp.SettingPublicKey] = publicPEM(merchantKey())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(rctx, core.RunnerOptions{Poll: 20 * time.Millisecond}) }()
	t.Cleanup(func() { cancel(); <-done })

	e := &env{t: t, ctx: ctx, svc: svc, clock: c, srv: srv, http: hs, root: root, m: m, path: path}
	e.notify = newReceiver(t, srv)
	return e
}

// paidOrder creates an order through the core (as the native API would)
// and waits until the sandbox has paid it.
func (e *env) paidOrder(no string, amount int64, payer baoguan.Payer) *baoguan.Order {
	e.t.Helper()
	_, _, err := e.svc.CreateOrder(e.ctx, e.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: amount,
		Subject: "跨境商品", Channel: baoguan.ChannelMock, Payer: payer, Protocol: "native"}})
	if err != nil {
		e.t.Fatalf("CreateOrder(%s): %v", no, err)
	}
	var o *baoguan.Order
	e.eventually("order "+no+" paid", func() bool {
		o, err = e.svc.Order(e.ctx, e.m, no)
		return err == nil && o.PayStatus == baoguan.PaySucceed
	})
	return o
}

// eventually polls cond until it holds or a deadline passes.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits until no job is running or due at the test clock's time:
// then nothing more happens until the clock moves.
func (e *env) settle() {
	e.t.Helper()
	e.eventually("no job running or due", func() bool {
		n, err := e.svc.Busy(e.ctx)
		return err == nil && n == 0
	})
}

// timestamp is the clock's time as LianLian writes it, moved by off.
func (e *env) timestamp(off time.Duration) string {
	return e.clock.Now().Add(off).In(cst).Format("20060102150405")
}

// response is one reply as a LianLian SDK sees it.
type response struct {
	status int
	header http.Header
	body   []byte
	reply  map[string]string
}

// call signs body with key (nil: the merchant's) and POSTs it to url, the
// way LianLian's Java SDK does, then checks that baoguan signed the reply
// with the platform key.
func (e *env) call(url string, body []byte, key *rsa.PrivateKey, header map[string]string) response {
	e.t.Helper()
	return e.callForm(url, body, key, accp.FormHexMD5, header)
}

// callForm is call with the request signed in the given form.
func (e *env) callForm(url string, body []byte, key *rsa.PrivateKey, form accp.SignatureForm, header map[string]string) response {
	e.t.Helper()
	if key == nil {
		key = merchantKey()
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	sig, err := accp.SignForm(key, body, form)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", accp.ContentType)
	req.Header.Set("Content-Encoding", "UTF-8")
	req.Header.Set(accp.HeaderSignatureType, accp.SignatureTypeRSA)
	req.Header.Set(accp.HeaderSignatureData, sig)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	if got := resp.Header.Get(accp.HeaderSignatureType); got != accp.SignatureTypeRSA {
		e.t.Errorf("reply Signature-Type %q, want RSA", got)
	}
	// Replies are signed as LianLian's own responses are: over the hex MD5.
	if err := accp.VerifyForm(&e.srv.Key().Private.PublicKey, b, resp.Header.Get(accp.HeaderSignatureData), accp.FormHexMD5); err != nil {
		e.t.Errorf("reply signature: %v\nbody %s", err, b)
	}
	if err := json.Unmarshal(b, &r.reply); err != nil {
		e.t.Fatalf("reply is not a JSON object of strings: %v\n%s", err, b)
	}
	return r
}

// apply sends a push built from fields over the base request.
func (e *env) apply(fields map[string]any) response {
	e.t.Helper()
	return e.call(e.http.URL+"/accp/v1/cbpayment/apply-pushpay", e.body(fields), nil, nil)
}

// query asks for a push by txn_seqno.
func (e *env) query(txn string) response {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"timestamp": e.timestamp(0), "mch_id": mchID, "txn_seqno": txn})
	return e.call(e.http.URL+"/accp/v1/cbpayment/query-pushpay", b, nil, nil)
}

// body is the base push with fields replaced (nil deletes a field), dated
// now.
func (e *env) body(fields map[string]any) []byte {
	e.t.Helper()
	req := map[string]any{
		"timestamp": e.timestamp(0), "mch_id": mchID, "user_name": "张三", "id_type": "IDCARD",
		"id_no": "110105199001011232", "phone": "13800138000", "txn_seqno": "T1", "org_txn_seqno": "O1",
		"txn_time": "20261123093000", "operate_type": "ADD", "total_amount": 100, "platform_code": "3301964J31",
		"platform_name": "杭州某某电子商务有限公司", "custom_code": "HG021", "notify_url": e.notify.url(),
		"pay_fee_amount": 0, "pay_gds_amt": 100, "pay_tax_amt": 0, "auth_check_strategy": "DIFF_PUSH",
	}
	for k, v := range fields {
		if v == nil {
			delete(req, k)
		} else {
			req[k] = v
		}
	}
	b, err := json.Marshal(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// receiver is a merchant's notify_url: it verifies each notification's
// signature and answers from a script (default "Success").
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	got    []delivery
	answer func(n int) (int, string) // n is 1-based
}

type delivery struct {
	header http.Header
	body   []byte
	fields map[string]string
	sigErr error
}

func newReceiver(t *testing.T, srv *accp.Server) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		d := delivery{header: req.Header.Clone(), body: b,
			sigErr: accp.VerifyForm(&srv.Key().Private.PublicKey, b, req.Header.Get(accp.HeaderSignatureData), accp.FormHexMD5)}
		_ = json.Unmarshal(b, &d.fields)
		r.mu.Lock()
		r.got = append(r.got, d)
		n, answer := len(r.got), r.answer
		r.mu.Unlock()
		status, text := http.StatusOK, "Success"
		if answer != nil {
			status, text = answer(n)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/accp/notify" }

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// forTxn returns the deliveries about one push.
func (r *receiver) forTxn(txn string) []delivery {
	var out []delivery
	for _, d := range r.deliveries() {
		if d.fields["txn_seqno"] == txn {
			out = append(out, d)
		}
	}
	return out
}

// golden compares got with testdata/name, after replacing the values in
// subst (value → placeholder) so that generated numbers do not matter.
func golden(t *testing.T, name string, got []byte, subst map[string]string) {
	t.Helper()
	s := string(got)
	for v, ph := range subst {
		if v != "" {
			s = strings.ReplaceAll(s, v, ph)
		}
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(want)) != s {
		t.Errorf("%s differs:\ngot  %s\nwant %s", name, s, strings.TrimSpace(string(want)))
	}
}
