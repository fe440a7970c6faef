package wechatv3_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/platform"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/wechatv3"
)

// The harness runs the real gateway: a fresh SQLite file, the core with
// the sandbox channel and port, the job runner, and the wechatv3 routes
// both under /wechatpay on one httptest server and at the root of another
// (the dedicated listener).

// waitTimeout bounds every wait for background work. It is a deadline,
// not an expected duration: waits poll and return as soon as they can.
const waitTimeout = 20 * time.Second

// Sandbox ID numbers from docs/sandbox.md.
const (
	idSucceeds     = "110105199001011232" // SUCCESS
	idNameMismatch = "110105199001019998" // FAIL 支付人姓名和证件号不匹配
	idExceptOnce   = "11010519900101998X" // EXCEPT, SUCCESS on the next attempt
)

// wxMerchant is a merchant registered for wechatv3, with its private key.
type wxMerchant struct {
	M        *baoguan.Merchant
	MchID    string
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
	CertPEM  string
	Serial   string // as WeChat's tools print it: upper-case hex of the serial bytes
	APIv3Key string
}

type harness struct {
	svc      *core.Service
	store    *sqlite.DB
	path     string // the database file
	wx       *wechatv3.Server
	platform *platform.Key
	srv      *httptest.Server // routes under /wechatpay
	root     *httptest.Server // the same routes at the root
	client   *http.Client
	A, B     *wxMerchant
	// Plain is a merchant with no wechatv3 settings.
	Plain *baoguan.Merchant
}

type harnessConfig struct {
	portDelay time.Duration
	opts      wechatv3.Options
}

func newHarness(t *testing.T, configure ...func(*harnessConfig)) *harness {
	t.Helper()
	cfg := harnessConfig{}
	for _, f := range configure {
		f(&cfg)
	}
	ctx := context.Background()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	path := filepath.Join(t.TempDir(), "baoguan.db")
	store, err := sqlite.Open(ctx, sqlite.Options{Path: path, Keys: keys, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	retries := core.DefaultRetries()
	// No automatic re-declaration: an EXCEPT is final at once, so tests
	// can re-declare it themselves.
	retries[baoguan.JobDeclare] = baoguan.Retry{}
	svc := core.New(&core.Service{
		// Scenarios fail authentication on purpose, many times from one
		// address; the limits have their own tests (limits_test.go).
		Limits:         core.NoLimits(),
		Store:          store,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(cfg.portDelay)},
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           &http.Client{Timeout: 5 * time.Second},
		Retries:        retries,
	})
	svc.Formats.Register(wechatv3.Protocol, wechatv3.NewFormat())
	opts := cfg.opts
	opts.Svc = svc
	wx, err := wechatv3.New(opts)
	if err != nil {
		t.Fatalf("wechatv3.New: %v", err)
	}
	pk, err := platform.Load(ctx, store, wechatv3.Protocol)
	if err != nil {
		t.Fatalf("platform.Load: %v", err)
	}
	h := &harness{svc: svc, store: store, path: path, wx: wx, platform: pk, client: &http.Client{Timeout: 30 * time.Second}}
	mux := http.NewServeMux()
	wx.Register(mux, "/wechatpay")
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	h.root = httptest.NewServer(wx.Handler())
	t.Cleanup(h.root.Close)

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx, core.RunnerOptions{Poll: 20 * time.Millisecond}) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	})

	h.A = h.wxMerchant(t, "MA-001", "Merchant A", "1230000109", true)
	h.B = h.wxMerchant(t, "MB-002", "Merchant B", "1230000110", true)
	plain, _, err := svc.CreateMerchant(ctx, core.MerchantInput{No: "MP-003", Name: "Merchant Plain"})
	if err != nil {
		t.Fatalf("CreateMerchant: %v", err)
	}
	h.Plain = plain
	return h
}

// wxMerchant onboards a merchant and registers its wechatv3 settings the
// way `baoguan merchant key --protocol wechatv3` does.
func (h *harness) wxMerchant(t *testing.T, no, name, mchid string, withAPIv3 bool) *wxMerchant {
	t.Helper()
	ctx := context.Background()
	m, _, err := h.svc.CreateMerchant(ctx, core.MerchantInput{No: no, Name: name})
	if err != nil {
		t.Fatalf("CreateMerchant %s: %v", name, err)
	}
	w := newMerchantCert(t, mchid)
	w.APIv3Key = "0123456789abcdefghijABCDEFGHIJ" + mchid[len(mchid)-2:]
	m, err = h.svc.UpdateMerchant(ctx, no, func(m *baoguan.Merchant) error {
		m.Settings["wechatv3.mchid"] = mchid
		m.Settings["wechatv3.cert"] = w.CertPEM
		if withAPIv3 {
			m.Settings["wechatv3.apiv3-key"] = w.APIv3Key
		}
		return nil
	})
	if err != nil {
		t.Fatalf("registering wechatv3 settings: %v", err)
	}
	w.M = m
	return w
}

// newMerchantCert makes a merchant API key and certificate, as WeChat's
// certificate tool would.
func newMerchantCert(t *testing.T, mchid string) *wxMerchant {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: mchid, Organization: []string{"test merchant"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &wxMerchant{MchID: mchid, Key: key, Cert: cert, Serial: fmt.Sprintf("%X", serial.Bytes()),
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// ---- orders ----------------------------------------------------------------

// orderSpec is an order as a test pushes it through the core, the way any
// front-end would.
type orderSpec struct {
	No        string
	Amount    int64
	Name, ID  string
	Channel   baoguan.Channel
	PaymentNo string // external payments keep it
}

// paidOrder pushes an order (no declaration) and waits for its payment.
func (h *harness) paidOrder(t *testing.T, m *baoguan.Merchant, s orderSpec) *baoguan.Order {
	t.Helper()
	o := h.pushOrder(t, m, s)
	return h.waitPay(t, m, o.MerchantOrderNo, baoguan.PaySucceed)
}

func (h *harness) pushOrder(t *testing.T, m *baoguan.Merchant, s orderSpec) *baoguan.Order {
	t.Helper()
	if s.Amount == 0 {
		s.Amount = 10000
	}
	if s.Name == "" {
		s.Name, s.ID = "张三", idSucceeds
	}
	if s.Channel == "" {
		s.Channel = baoguan.ChannelMock
	}
	o, _, err := h.svc.CreateOrder(context.Background(), m, core.OrderInput{Order: baoguan.Order{
		MerchantOrderNo: s.No, Amount: s.Amount, Subject: "跨境商品", Channel: s.Channel, Protocol: "native",
		Payer:   baoguan.Payer{Name: s.Name, IDType: baoguan.IDTypeIDCard, IDNumber: s.ID, Phone: "13800138000"},
		Payment: baoguan.Payment{No: s.PaymentNo}}})
	if err != nil {
		t.Fatalf("CreateOrder %s: %v", s.No, err)
	}
	return o
}

func (h *harness) waitPay(t *testing.T, m *baoguan.Merchant, no string, want baoguan.PayStatus) *baoguan.Order {
	t.Helper()
	var o *baoguan.Order
	waitFor(t, "order "+no+" to be "+string(want), func() (bool, string) {
		var err error
		o, err = h.svc.Order(context.Background(), m, no)
		if err != nil {
			return false, err.Error()
		}
		return o.PayStatus == want, string(o.PayStatus)
	})
	return o
}

// waitDecl waits until the order's declaration to customs (and sub-order)
// is in state want, as the core stores it.
func (h *harness) waitDecl(t *testing.T, m *baoguan.Merchant, no, customs, sub string, want baoguan.DeclState) baoguan.Declaration {
	t.Helper()
	var got baoguan.Declaration
	waitFor(t, "declaration of "+no+" to "+customs+" to be "+string(want), func() (bool, string) {
		ds, err := h.svc.Declarations(context.Background(), m, no)
		if err != nil {
			return false, err.Error()
		}
		for _, d := range ds {
			if d.Customs == customs && d.SubOrderNo == sub {
				got = d
				return d.State == want, string(d.State) + " " + d.Explanation
			}
		}
		return false, "no such declaration"
	})
	return got
}

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

// ---- signed requests -------------------------------------------------------

// call is one request to the WeChat routes, signed as a merchant would
// sign it unless a field says otherwise.
type call struct {
	Method string
	Path   string // e.g. "/v3/global/customs/orders?…", after the base
	Body   string
	As     *wxMerchant
	Base   string // default: the /wechatpay mount

	Timestamp int64             // default: now
	Nonce     string            // default: random
	Serial    string            // default: the merchant's
	SignKey   *rsa.PrivateKey   // default: the merchant's
	SignURI   string            // default: the URI sent
	SignBody  *string           // default: the body sent
	Auth      *string           // a whole Authorization header instead
	Header    map[string]string // extra headers
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string { return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body)) }

// wireErr is WeChat's error model, as a client reads it.
type wireErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  *struct {
		Field    string `json:"field"`
		Value    string `json:"value"`
		Issue    string `json:"issue"`
		Location string `json:"location"`
	} `json:"detail"`
}

// authorization builds a WECHATPAY2-SHA256-RSA2048 header.
func authorization(t *testing.T, key *rsa.PrivateKey, mchid, serial, method, uri string, ts int64, nonce, body string) string {
	t.Helper()
	msg := method + "\n" + uri + "\n" + strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + body + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%d",serial_no="%s",signature="%s"`,
		mchid, nonce, ts, serial, base64.StdEncoding.EncodeToString(sig))
}

func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%X", b)
}

func (h *harness) do(t *testing.T, c call) *response {
	t.Helper()
	if c.As == nil {
		c.As = h.A
	}
	base := c.Base
	if base == "" {
		base = h.srv.URL + "/wechatpay"
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequest(c.Method, base+c.Path, body)
	if err != nil {
		t.Fatalf("building %s %s: %v", c.Method, c.Path, err)
	}
	if c.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	ts := c.Timestamp
	if ts == 0 {
		ts = time.Now().Unix()
	}
	if c.Nonce == "" {
		c.Nonce = nonce()
	}
	if c.Serial == "" {
		c.Serial = c.As.Serial
	}
	if c.SignKey == nil {
		c.SignKey = c.As.Key
	}
	if c.SignURI == "" {
		c.SignURI = req.URL.RequestURI()
	}
	signBody := c.Body
	if c.SignBody != nil {
		signBody = *c.SignBody
	}
	if c.Auth != nil {
		if *c.Auth != "" {
			req.Header.Set("Authorization", *c.Auth)
		}
	} else {
		req.Header.Set("Authorization", authorization(t, c.SignKey, c.As.MchID, c.Serial, c.Method, c.SignURI, ts, c.Nonce, signBody))
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.Method, c.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	h.checkSigned(t, r)
	return r
}

// checkSigned verifies that a response is signed with the platform key,
// as every response must be.
func (h *harness) checkSigned(t *testing.T, r *response) {
	t.Helper()
	if got := r.Header.Get("Wechatpay-Serial"); got != fmt.Sprintf("%X", h.platform.Cert.SerialNumber.Bytes()) {
		t.Fatalf("Wechatpay-Serial = %q, want the platform certificate serial (%s)", got, r)
	}
	ts, n, sig := r.Header.Get("Wechatpay-Timestamp"), r.Header.Get("Wechatpay-Nonce"), r.Header.Get("Wechatpay-Signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Fatalf("Wechatpay-Timestamp %q is not now", ts)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || n == "" {
		t.Fatalf("missing or bad Wechatpay-Signature/Nonce on %s", r)
	}
	sum := sha256.Sum256([]byte(ts + "\n" + n + "\n" + string(r.Body) + "\n"))
	if err := rsa.VerifyPKCS1v15(&h.platform.Private.PublicKey, crypto.SHA256, sum[:], raw); err != nil {
		t.Fatalf("response signature does not verify with the platform certificate: %v (%s)", err, r)
	}
}

func decode[T any](t *testing.T, r *response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decoding %s: %v", r, err)
	}
	return v
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// expect fails the test unless r has the status and, for an error, the
// WeChat code (and detail field when given).
func expect(t *testing.T, r *response, status int, code, field string) wireErr {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r)
	}
	if code == "" {
		return wireErr{}
	}
	e := decode[wireErr](t, r)
	if e.Code != code {
		t.Fatalf("code %q, want %q: %s", e.Code, code, r)
	}
	if e.Message == "" {
		t.Fatalf("error without a message: %s", r)
	}
	if field != "" {
		if e.Detail == nil || e.Detail.Field != field {
			t.Fatalf("detail.field, want %q: %s", field, r)
		}
		if e.Detail.Issue == "" || e.Detail.Location == "" {
			t.Fatalf("detail without issue or location: %s", r)
		}
	}
	return e
}

// declaration is the reply of declare, modify and redeclare.
type declaration struct {
	AppID                   string `json:"appid"`
	MchID                   string `json:"mchid"`
	OutTradeNo              string `json:"out_trade_no"`
	TransactionID           string `json:"transaction_id"`
	Customs                 string `json:"customs"`
	MerchantCustomsNo       string `json:"merchant_customs_no"`
	Duty                    int64  `json:"duty"`
	SubOrderNo              string `json:"sub_order_no"`
	SubOrderID              string `json:"sub_order_id"`
	FeeType                 string `json:"fee_type"`
	OrderFee                int64  `json:"order_fee"`
	TransportFee            int64  `json:"transport_fee"`
	ProductFee              int64  `json:"product_fee"`
	State                   string `json:"state"`
	Explanation             string `json:"explanation"`
	ModifyTime              string `json:"modify_time"`
	VerifyDepartment        string `json:"verify_department"`
	VerifyDepartmentTradeID string `json:"verify_department_trade_id"`
}

type queryResult struct {
	AppID                   string `json:"appid"`
	MchID                   string `json:"mchid"`
	TransactionID           string `json:"transaction_id"`
	VerifyDepartment        string `json:"verify_department"`
	VerifyDepartmentTradeID string `json:"verify_department_trade_id"`
	Offset                  int    `json:"offset"`
	Limit                   int    `json:"limit"`
	TotalCount              int    `json:"total_count"`
	Data                    []struct {
		SubOrderNo   string `json:"sub_order_no"`
		SubOrderID   string `json:"sub_order_id"`
		MchCustomsNo string `json:"mch_customs_no"`
		Customs      string `json:"customs"`
		FeeType      string `json:"fee_type"`
		OrderFee     int64  `json:"order_fee"`
		Duty         int64  `json:"duty"`
		TransportFee int64  `json:"transport_fee"`
		ProductFee   int64  `json:"product_fee"`
		State        string `json:"state"`
		Explanation  string `json:"explanation"`
		ModifyTime   string `json:"modify_time"`
	} `json:"data"`
}

const customsPath = "/v3/global/customs"

// declare posts a declaration request body for merchant w and expects 200.
func (h *harness) declare(t *testing.T, w *wxMerchant, body map[string]any) declaration {
	t.Helper()
	body["appid"], body["mchid"] = "wxd678efh567hg6787", w.MchID
	r := h.do(t, call{Method: http.MethodPost, Path: customsPath + "/orders", Body: mustJSON(t, body), As: w})
	expect(t, r, http.StatusOK, "", "")
	return decode[declaration](t, r)
}

// query asks for an order's declarations to customs by out_trade_no.
func (h *harness) query(t *testing.T, w *wxMerchant, orderType, no, customs string) *response {
	t.Helper()
	q := "appid=wxd678efh567hg6787&mchid=" + w.MchID + "&order_type=" + orderType + "&order_no=" + no + "&customs=" + customs
	return h.do(t, call{Method: http.MethodGet, Path: customsPath + "/orders?" + q, As: w})
}

func publicPEM(t *testing.T, k *rsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
