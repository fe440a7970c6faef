package wechatpay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/platform"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/upstream"
	"github.com/baoguan/baoguan/wechatpay"
	"github.com/baoguan/baoguan/wechatv3"
)

// The v3 stand-in is baoguan's own WeChat Pay APIv3 front-end (package
// wechatv3) over a real core with a SQLite file and the sandbox: it checks
// the request signature, answers signed with its platform key, and keeps
// one declaration per order, customs code and sub-order. Between the
// client and it sits a proxy that can fail, delay or tamper with calls.

const v3AppID = "wxd678efh567hg6787"

// Sandbox payer ID numbers (docs/sandbox.md).
const (
	sbxSucceeds     = "110105199001011232"
	sbxNameMismatch = "110105199001019998"
)

type v3Standin struct {
	svc      *core.Service
	platform *platform.Key
	m        *baoguan.Merchant // the merchant as the stand-in knows it
	mchid    string
	key      *rsa.PrivateKey
	serial   string
	apiv3    string
	proxy    *httptest.Server
	base     string // the client's BaseURL: the proxy, /wechatpay

	mu     sync.Mutex
	inject []string
	paths  []string
}

// proxy failure modes
const (
	pxy503       = "503"
	pxy429       = "429"
	pxyHang      = "hang"
	pxyTamper    = "tamper"   // change a byte of the body, keep the signature
	pxyUnsigned  = "unsigned" // drop the signature headers
	pxyHangAfter = "hang-after"
)

func newV3Standin(t *testing.T, portDelay time.Duration) *v3Standin {
	t.Helper()
	ctx := context.Background()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "standin.db"), Keys: keys, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	retries := core.DefaultRetries()
	retries[baoguan.JobDeclare] = baoguan.Retry{}
	svc := core.New(&core.Service{Store: store,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(portDelay)},
		SampleIdentity: sandbox.IsSampleIdentity, HTTP: &http.Client{Timeout: 5 * time.Second}, Retries: retries})
	svc.Formats.Register(wechatv3.Protocol, wechatv3.NewFormat())
	wx, err := wechatv3.New(wechatv3.Options{Svc: svc})
	if err != nil {
		t.Fatalf("wechatv3.New: %v", err)
	}
	pk, err := platform.Load(ctx, store, wechatv3.Protocol)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	wx.Register(mux, "/wechatpay")
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx, core.RunnerOptions{Poll: 20 * time.Millisecond}) }()
	t.Cleanup(func() { stop(); <-done })

	s := &v3Standin{svc: svc, platform: pk, mchid: "1230000109", apiv3: "0123456789abcdefghijABCDEFGHIJ09"}
	certPEM := s.merchantCert(t)
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{No: "WX-1", Name: "WeChat merchant"})
	if err != nil {
		t.Fatal(err)
	}
	if s.m, err = svc.UpdateMerchant(ctx, m.No, func(m *baoguan.Merchant) error {
		m.Settings["wechatv3.mchid"], m.Settings["wechatv3.cert"], m.Settings["wechatv3.apiv3-key"] = s.mchid, certPEM, s.apiv3
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = s.modify
	s.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.Method+" "+r.URL.Path)
		mode := ""
		if len(s.inject) > 0 {
			mode, s.inject = s.inject[0], s.inject[1:]
		}
		s.mu.Unlock()
		switch mode {
		case pxy503:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"code":"SYSTEM_ERROR","message":"系统繁忙"}`)
			return
		case pxy429:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"code":"FREQUENCY_LIMITED","message":"频率超限"}`)
			return
		case pxyHang:
			// The server notices the client hanging up only once the
			// body has been read.
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), modeKey{}, mode))
		if mode == pxyHangAfter {
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			<-r.Context().Done()
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(s.proxy.Close)
	s.base = s.proxy.URL + "/wechatpay"
	return s
}

type modeKey struct{}

func (s *v3Standin) modify(resp *http.Response) error {
	mode, _ := resp.Request.Context().Value(modeKey{}).(string)
	switch mode {
	case pxyTamper:
		b, _ := io.ReadAll(resp.Body)
		b = bytes.Replace(b, []byte(`"state":"`), []byte(`"state": "`), 1)
		if !bytes.Contains(b, []byte(`"state": "`)) && len(b) > 2 {
			b = append(b[:len(b)-1], []byte(`,"x":1}`)...)
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	case pxyUnsigned:
		resp.Header.Del("Wechatpay-Signature")
	}
	return nil
}

func (s *v3Standin) injectNext(modes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = append(s.inject, modes...)
}

func (s *v3Standin) calls(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.paths {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// merchantCert makes the merchant's API key and certificate, as WeChat's
// certificate tool would, and returns the certificate PEM.
func (s *v3Standin) merchantCert(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: s.mchid},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s.key, s.serial = key, fmt.Sprintf("%X", serial.Bytes())
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func (s *v3Standin) creds(t *testing.T) *wechatpay.V3Credentials {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return &wechatpay.V3Credentials{AppID: v3AppID, MchID: s.mchid, CertSerial: s.serial,
		PrivateKeyPEM:    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		PlatformCertPEMs: []string{string(s.platform.CertPEM)}}
}

// paidOrder pays an order at the stand-in (its sandbox plays WeChat's
// payment) and returns it as the live installation knows it.
func (s *v3Standin) paidOrder(t *testing.T, no string, amount int64, id string) *baoguan.Order {
	t.Helper()
	ctx := context.Background()
	_, _, err := s.svc.CreateOrder(ctx, s.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: amount,
		Subject: "跨境商品", Channel: baoguan.ChannelMock, Protocol: "native",
		Payer: baoguan.Payer{Name: payerName, IDType: baoguan.IDTypeIDCard, IDNumber: id, Phone: "13800138000"}}})
	if err != nil {
		t.Fatal(err)
	}
	var o *baoguan.Order
	waitFor(t, "payment of "+no, func() bool {
		o, err = s.svc.Order(ctx, s.m, no)
		return err == nil && o.Paid()
	})
	return &baoguan.Order{ID: 1, MerchantID: 99, MerchantOrderNo: no, Amount: amount, PayStatus: baoguan.PaySucceed,
		Payer: baoguan.Payer{Name: payerName, IDType: baoguan.IDTypeIDCard, IDNumber: id}, Payment: baoguan.Payment{No: o.Payment.No}}
}

// standinDecl returns the stand-in's declaration of order no to customs.
func (s *v3Standin) standinDecl(t *testing.T, no, customs, sub string) baoguan.Declaration {
	t.Helper()
	ds, err := s.svc.Declarations(context.Background(), s.m, no)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Customs == customs && d.SubOrderNo == sub {
			return d
		}
	}
	t.Fatalf("the stand-in has no declaration of %s to %s %s: %+v", no, customs, sub, ds)
	return baoguan.Declaration{}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type v3Fixture struct {
	s    *v3Standin
	c    *wechatpay.V3Client
	cr   *wechatpay.V3Credentials
	port *wechatpay.Port
	m    *baoguan.Merchant // the live merchant of the installation under test
	log  *callLog
}

func newV3(t *testing.T, portDelay time.Duration) *v3Fixture {
	t.Helper()
	s := newV3Standin(t, portDelay)
	log := &callLog{}
	c := &wechatpay.V3Client{BaseURL: s.base, HTTP: upstream.HTTPClient(time.Second, 2*time.Second), Record: log.record}
	f := &v3Fixture{s: s, c: c, cr: s.creds(t), log: log, m: &baoguan.Merchant{ID: 99, No: "LIVE-99", Mode: baoguan.ModeLive}}
	f.port = &wechatpay.Port{V3: c, PollAfter: time.Second, Credentials: func(context.Context, *baoguan.Merchant) (*wechatpay.Credentials, error) {
		return &wechatpay.Credentials{V3: f.cr, Registrations: map[string]wechatpay.Registration{"SHANGHAI_ZS": {No: "1234567"}}}, nil
	}}
	return f
}

func (f *v3Fixture) req(o *baoguan.Order, d *baoguan.Declaration) baoguan.DeclareRequest {
	return baoguan.DeclareRequest{Declaration: d, Order: o, Merchant: f.m, Now: time.Now()}
}

// waitReceipt polls the port until the receipt is final.
func (f *v3Fixture) waitReceipt(t *testing.T, o *baoguan.Order, d *baoguan.Declaration) baoguan.Receipt {
	t.Helper()
	var r baoguan.Receipt
	waitFor(t, "a final receipt", func() bool {
		var err error
		r, err = f.port.Receipt(context.Background(), f.req(o, d))
		if err != nil {
			t.Fatalf("Receipt: %v", err)
		}
		return r.State != baoguan.DeclProcessing
	})
	return r
}

// Declare, query, modify and re-declare through the port against the
// stand-in, with real signatures both ways.
func TestV3PortLifecycle(t *testing.T) {
	f := newV3(t, 0)
	ctx := context.Background()
	o := f.s.paidOrder(t, "V3-ORDER-1", 8800, sbxSucceeds)
	d := &baoguan.Declaration{ID: 1, Customs: "SHANGHAI_ZS", SubOrderID: "D-V3-1", Attempts: 1, Duty: 88,
		OrderFee: 8800, ProductFee: 8800, Payer: o.Payer}
	r, err := f.port.Declare(ctx, f.req(o, d))
	if err != nil || r.State != baoguan.DeclProcessing || r.RetryAfter != time.Second || r.Ref == "" {
		t.Fatalf("Declare: %+v %v", r, err)
	}
	d.PortRef = r.Ref
	if r = f.waitReceipt(t, o, d); r.State != baoguan.DeclSuccess || r.VerifyDepartment != "UNIONPAY" || r.VerifyDepartmentTradeID == "" {
		t.Fatalf("receipt: %+v", r)
	}
	sd := f.s.standinDecl(t, "V3-ORDER-1", "SHANGHAI_ZS", "")
	if sd.MerchantCustomsNo != "1234567" || sd.Duty != 88 || sd.OrderFee != 8800 || sd.Attempts != 1 {
		t.Fatalf("the stand-in's declaration: %+v", sd)
	}
	// A crash replay of attempt 1: the same record, not a second one.
	if r, err = f.port.Declare(ctx, f.req(o, d)); err != nil || r.State == baoguan.DeclFail {
		t.Fatalf("replay: %+v %v", r, err)
	}
	if sd = f.s.standinDecl(t, "V3-ORDER-1", "SHANGHAI_ZS", ""); sd.Attempts != 1 {
		t.Fatalf("a replay declared again: %+v", sd)
	}
	// Re-declared unchanged (attempt 2): redeclare.
	d.Attempts = 2
	if r, err = f.port.Declare(ctx, f.req(o, d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("redeclare: %+v %v", r, err)
	}
	f.waitReceipt(t, o, d)
	if f.s.calls("POST /wechatpay/v3/global/customs/redeclare") != 1 {
		t.Fatalf("calls: %v", f.s.paths)
	}
	// Modified (attempt 3): PATCH with the new registration number.
	d.Attempts, d.MerchantCustomsNo = 3, "7654321"
	if r, err = f.port.Declare(ctx, f.req(o, d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("modify: %+v %v", r, err)
	}
	f.waitReceipt(t, o, d)
	if sd = f.s.standinDecl(t, "V3-ORDER-1", "SHANGHAI_ZS", ""); sd.MerchantCustomsNo != "7654321" || sd.Attempts != 3 || sd.State != baoguan.DeclSuccess {
		t.Fatalf("after modify: %+v", sd)
	}
	if got := f.s.calls("PATCH /wechatpay/v3/global/customs/orders"); got != 1 {
		t.Fatalf("PATCH calls %d", got)
	}
	for _, c := range f.log.all() {
		if c.Service != wechatpay.ServiceV3 || c.Ref != "D-V3-1" || c.HTTPStatus != 200 || c.Outcome != upstream.OutcomeOK {
			t.Fatalf("call record: %+v", c)
		}
	}
}

// With only the APIv3 key, the client downloads the platform certificates
// (decrypting them with the key) and verifies with them.
func TestV3DownloadsPlatformCertificates(t *testing.T) {
	f := newV3(t, 0)
	f.cr.PlatformCertPEMs, f.cr.APIv3Key = nil, f.s.apiv3
	o := f.s.paidOrder(t, "V3-ORDER-DL", 1000, sbxSucceeds)
	d := &wechatpay.Declaration{OutTradeNo: o.MerchantOrderNo, TransactionID: o.Payment.No, Customs: "SHANGHAI_ZS", MerchantCustomsNo: "1234567"}
	r, err := f.c.Declare(context.Background(), f.cr, d)
	if err != nil || r.State != wechatpay.StateSubmitted || r.SubOrderID == "" {
		t.Fatalf("Declare: %+v %v", r, err)
	}
	if f.s.calls("GET /wechatpay/v3/certificates") != 2 {
		t.Fatalf("certificate downloads: %v", f.s.paths)
	}
	// WeChat failing while the certificates are downloaded is a failure
	// to retry, not a configuration fault.
	fresh := &wechatpay.V3Client{BaseURL: f.s.base, HTTP: f.c.HTTP}
	f.s.injectNext(pxy503)
	_, err = fresh.Declare(context.Background(), f.cr, d)
	mustKind(t, err, upstream.Retry, "SYSTEM_ERROR")
	// A wrong APIv3 key cannot open the certificates: no client, no call.
	f.cr.APIv3Key = strings.Repeat("x", 32)
	_, err = f.c.Declare(context.Background(), f.cr, d)
	mustKind(t, err, upstream.Fail, "CONFIG")
}

// A split order: two parts declared with their fees; a third that would
// exceed the payment is refused with WeChat's PARAM_ERROR.
func TestV3Split(t *testing.T) {
	f := newV3(t, 0)
	ctx := context.Background()
	o := f.s.paidOrder(t, "V3-SPLIT", 10000, sbxSucceeds)
	for i, p := range []struct {
		sub                 string
		transport, product  int64
		want                baoguan.DeclState
		wantCode, wantState string
	}{
		{"S1", 1000, 5000, baoguan.DeclProcessing, "", ""},
		{"S2", 0, 4000, baoguan.DeclProcessing, "", ""},
		{"S3", 0, 1, baoguan.DeclFail, "PARAM_ERROR", ""},
	} {
		d := &baoguan.Declaration{ID: int64(i + 1), Customs: "SHANGHAI_ZS", SubOrderID: "D-" + p.sub, SubOrderNo: p.sub, Attempts: 1,
			TransportFee: p.transport, ProductFee: p.product, OrderFee: p.transport + p.product}
		r, err := f.port.Declare(ctx, f.req(o, d))
		if err != nil || r.State != p.want || p.wantCode != "" && r.ReceiptCode != p.wantCode {
			t.Fatalf("%s: %+v %v", p.sub, r, err)
		}
	}
	if sd := f.s.standinDecl(t, "V3-SPLIT", "SHANGHAI_ZS", "S1"); sd.OrderFee != 6000 || sd.TransportFee != 1000 {
		t.Fatalf("S1 at the stand-in: %+v", sd)
	}
}

// Customs' refusal, as the stand-in's sandbox gives it, arrives as FAIL
// with its explanation.
func TestV3FailWithWalletReason(t *testing.T) {
	f := newV3(t, 0)
	o := f.s.paidOrder(t, "V3-FAIL", 1000, sbxNameMismatch)
	d := &baoguan.Declaration{Customs: "SHANGHAI_ZS", SubOrderID: "D-F", Attempts: 1}
	if r, err := f.port.Declare(context.Background(), f.req(o, d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("Declare: %+v %v", r, err)
	}
	if r := f.waitReceipt(t, o, d); r.State != baoguan.DeclFail || r.Explanation != sandbox.ExplainNameMismatch {
		t.Fatalf("receipt: %+v", r)
	}
}

// Answers whose signature does not verify are never used: a tampered
// body, a missing signature, a platform certificate not trusted.
func TestV3UnverifiedAnswersRefused(t *testing.T) {
	ctx := context.Background()
	f := newV3(t, 0)
	o := f.s.paidOrder(t, "V3-SIG", 1000, sbxSucceeds)
	d := &wechatpay.Declaration{Ref: "D-S", OutTradeNo: o.MerchantOrderNo, TransactionID: o.Payment.No, Customs: "SHANGHAI_ZS", MerchantCustomsNo: "1234567"}
	for _, mode := range []string{pxyTamper, pxyUnsigned} {
		f.s.injectNext(mode)
		r, err := f.c.Declare(ctx, f.cr, d)
		if r != nil {
			t.Fatalf("%s: a record from an unverified answer: %+v", mode, r)
		}
		mustKind(t, err, upstream.Untrusted, "")
	}
	// An error answer without its signature is not believed either: a 404
	// for an unknown order becomes Untrusted, not NotFound.
	f.s.injectNext(pxyUnsigned)
	unknown := *d
	unknown.TransactionID, unknown.OutTradeNo = "4200000000000000000000000000", "NO-SUCH-ORDER"
	_, err := f.c.Query(ctx, f.cr, &unknown)
	mustKind(t, err, upstream.Untrusted, "NOT_FOUND")
	// Signed, the same 404 is believed.
	_, err = f.c.Query(ctx, f.cr, &unknown)
	mustKind(t, err, upstream.NotFound, "NOT_FOUND")
	// Trusting another certificate: nothing verifies.
	other := newV3Standin(t, 0)
	f.cr.PlatformCertPEMs = []string{string(other.platform.CertPEM)}
	_, err = f.c.Declare(ctx, f.cr, d)
	mustKind(t, err, upstream.Untrusted, "BAD_SIGNATURE")
}

func TestV3ErrorClasses(t *testing.T) {
	ctx := context.Background()
	f := newV3(t, 0)
	f.c.HTTP = upstream.HTTPClient(time.Second, 400*time.Millisecond)
	o := f.s.paidOrder(t, "V3-ERR", 1000, sbxSucceeds)
	d := &wechatpay.Declaration{Ref: "D-E", OutTradeNo: o.MerchantOrderNo, TransactionID: o.Payment.No, Customs: "SHANGHAI_ZS", MerchantCustomsNo: "1234567"}
	cases := []struct {
		mode string
		kind upstream.Kind
		code string
		wait time.Duration
	}{
		{pxy503, upstream.Retry, "SYSTEM_ERROR", upstream.WaitTransient},
		{pxy429, upstream.Retry, "FREQUENCY_LIMITED", 7 * time.Second},
		{pxyHang, upstream.Retry, "TIMEOUT", upstream.WaitTransient},
	}
	for _, tc := range cases {
		f.s.injectNext(tc.mode)
		_, err := f.c.Declare(ctx, f.cr, d)
		if ue := mustKind(t, err, tc.kind, tc.code); ue.RetryAfter != tc.wait {
			t.Fatalf("%s: RetryAfter %s, want %s", tc.mode, ue.RetryAfter, tc.wait)
		}
	}
	// Bad data: PARAM_ERROR, for good.
	bad := *d
	bad.Customs = "HG014"
	_, err := f.c.Declare(ctx, f.cr, &bad)
	mustKind(t, err, upstream.Fail, "PARAM_ERROR")
	// A key WeChat does not know: SIGN_ERROR, for good.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(other)
	wrong := *f.cr
	wrong.PrivateKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	_, err = f.c.Declare(ctx, &wrong, d)
	mustKind(t, err, upstream.Fail, "SIGN_ERROR")
	// No way to verify answers: refused before any call.
	none := *f.cr
	none.PlatformCertPEMs = nil
	n := len(f.s.paths)
	_, err = f.c.Declare(ctx, &none, d)
	mustKind(t, err, upstream.Fail, "CONFIG")
	if len(f.s.paths) != n {
		t.Fatal("a call was made without a way to verify its answer")
	}
}

// A lost answer (the stand-in declared, the client timed out) leads to an
// EXCEPT; the retry finds the record in flight or done and does not
// declare it twice.
func TestV3LostAnswerDeclaresOnce(t *testing.T) {
	ctx := context.Background()
	f := newV3(t, 0)
	f.c.HTTP = upstream.HTTPClient(time.Second, 400*time.Millisecond)
	o := f.s.paidOrder(t, "V3-LOST", 1000, sbxSucceeds)
	d := &baoguan.Declaration{Customs: "SHANGHAI_ZS", SubOrderID: "D-L", Attempts: 1}
	f.s.injectNext(pxyHangAfter)
	if r, err := f.port.Declare(ctx, f.req(o, d)); err != nil || r.State != baoguan.DeclExcept {
		t.Fatalf("attempt 1: %+v %v", r, err)
	}
	waitFor(t, "the stand-in's declaration", func() bool {
		return f.s.standinDecl(t, "V3-LOST", "SHANGHAI_ZS", "").State == baoguan.DeclSuccess
	})
	d.Attempts = 2
	// The record has succeeded meanwhile: attempt 2 is a re-push of the
	// same record, never a second record.
	if r, err := f.port.Declare(ctx, f.req(o, d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("attempt 2: %+v %v", r, err)
	}
	if n := f.s.calls("POST /wechatpay/v3/global/customs/orders"); n != 1 {
		t.Fatalf("declare calls %d, want 1", n)
	}
	ds, _ := f.s.svc.Declarations(ctx, f.s.m, "V3-LOST")
	if len(ds) != 1 {
		t.Fatalf("the stand-in holds %d declarations", len(ds))
	}
}

// Credentials never appear in call records or errors.
func TestV3NoSecretsInRecordsOrErrors(t *testing.T) {
	ctx := context.Background()
	f := newV3(t, 0)
	f.cr.APIv3Key = f.s.apiv3
	o := f.s.paidOrder(t, "V3-LEAK", 1000, sbxSucceeds)
	d := &wechatpay.Declaration{Ref: "D-K", OutTradeNo: o.MerchantOrderNo, TransactionID: o.Payment.No, Customs: "SHANGHAI_ZS",
		MerchantCustomsNo: "1234567", PayerID: sbxSucceeds, PayerName: payerName}
	var texts []string
	if _, err := f.c.Declare(ctx, f.cr, d); err != nil {
		t.Fatal(err)
	}
	bad := *d
	bad.Customs = "HG014"
	_, err := f.c.Declare(ctx, f.cr, &bad)
	texts = append(texts, err.Error())
	broken := *f.cr
	broken.PrivateKeyPEM = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
	_, err = f.c.Declare(ctx, &broken, d)
	texts = append(texts, err.Error())
	for _, c := range f.log.all() {
		texts = append(texts, fmt.Sprintf("%+v", c))
	}
	for _, s := range texts {
		for _, secret := range []string{f.s.apiv3, "not a key", sbxSucceeds, "PRIVATE KEY"} {
			if strings.Contains(s, secret) {
				t.Fatalf("%q leaks %q", s, secret)
			}
		}
	}
}
