package wechatpay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan/upstream"
	"github.com/baoguan/baoguan/wechatpay"
)

// Identities of the tests: payers the stand-in knows.
const (
	payerName = "张三"
	payerID   = "110105199001011232"
	otherID   = "11010519900101998X"
)

// callLog collects call records.
type callLog struct {
	mu    sync.Mutex
	calls []upstream.Call
}

func (l *callLog) record(_ context.Context, c upstream.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

func (l *callLog) all() []upstream.Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]upstream.Call(nil), l.calls...)
}

func (l *callLog) ops() string {
	var s []string
	for _, c := range l.all() {
		s = append(s, c.Operation+":"+c.Outcome)
	}
	return strings.Join(s, " ")
}

type v2Fixture struct {
	s   *v2Standin
	c   *wechatpay.V2Client
	cr  *wechatpay.V2Credentials
	log *callLog
}

func newV2(t *testing.T) *v2Fixture {
	t.Helper()
	s := newV2Standin(t)
	log := &callLog{}
	c := &wechatpay.V2Client{BaseURL: s.srv.URL, HTTP: upstream.HTTPClient(time.Second, 2*time.Second), Record: log.record}
	s.pay("4200000001202401010000000001", v2Payment{OutTradeNo: "ORDER-1", Amount: 10000, PayerName: payerName, PayerID: payerID})
	return &v2Fixture{s: s, c: c, log: log,
		cr: &wechatpay.V2Credentials{AppID: s.appid, MchID: s.mchid, APIKey: s.key}}
}

func wholeDecl() *wechatpay.Declaration {
	return &wechatpay.Declaration{Ref: "D1", OutTradeNo: "ORDER-1", TransactionID: "4200000001202401010000000001",
		Customs: "SHANGHAI_ZS", MerchantCustomsNo: "3301960A01", PayerName: payerName, PayerID: payerID}
}

func mustKind(t *testing.T, err error, want upstream.Kind, code string) *upstream.Error {
	t.Helper()
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		t.Fatalf("error %v (%T), want an *upstream.Error of kind %s", err, err, want)
	}
	if ue.Kind != want || code != "" && ue.Code != code {
		t.Fatalf("error kind %s code %s, want %s %s: %v", ue.Kind, ue.Code, want, code, ue)
	}
	return ue
}

func TestV2DeclareQueryBothSignTypes(t *testing.T) {
	for _, st := range []string{"", wechatpay.SignMD5, wechatpay.SignHMACSHA256} {
		t.Run("sign="+st, func(t *testing.T) {
			f := newV2(t)
			f.cr.SignType = st
			ctx := context.Background()
			d := wholeDecl()
			r, err := f.c.Declare(ctx, f.cr, d)
			if err != nil {
				t.Fatalf("Declare: %v", err)
			}
			if r.State != wechatpay.StateUndeclared || r.CertCheckResult != wechatpay.CertSame || r.TransactionID != d.TransactionID {
				t.Fatalf("declare answer: %+v", r)
			}
			r, err = f.c.Query(ctx, f.cr, d)
			if err != nil || r.State != wechatpay.StateProcessing || !r.InFlight() {
				t.Fatalf("first query: %+v %v", r, err)
			}
			r, err = f.c.Query(ctx, f.cr, d)
			if err != nil || r.State != wechatpay.StateSuccess || r.VerifyDepartment != "UNIONPAY" ||
				r.OrderFee != 10000 || r.MerchantCustomsNo != "3301960A01" {
				t.Fatalf("second query: %+v %v", r, err)
			}
			if got := f.log.ops(); got != "declare:ok query:ok query:ok" {
				t.Fatalf("calls recorded: %s", got)
			}
			for _, c := range f.log.all() {
				if c.Service != wechatpay.ServiceV2 || c.Ref != "D1" || c.HTTPStatus != http.StatusOK || c.Code != "SUCCESS" || c.Time.IsZero() {
					t.Fatalf("call record: %+v", c)
				}
			}
		})
	}
}

// The declared payer is compared with the real one: SAME or DIFFERENT.
func TestV2IdentityCheck(t *testing.T) {
	f := newV2(t)
	d := wholeDecl()
	d.PayerID = otherID
	r, err := f.c.Declare(context.Background(), f.cr, d)
	if err != nil || r.CertCheckResult != wechatpay.CertDifferent || r.IdentityCheck() != "DIFFERENT" {
		t.Fatalf("declare with another payer: %+v %v", r, err)
	}
	d2 := wholeDecl()
	d2.Customs, d2.PayerID, d2.PayerName = "HANGZHOU_ZS", "", ""
	r, err = f.c.Declare(context.Background(), f.cr, d2)
	if err != nil || r.IdentityCheck() != "UNCHECKED" {
		t.Fatalf("declare without a payer: %+v %v", r, err)
	}
}

func TestV2Split(t *testing.T) {
	f := newV2(t)
	ctx := context.Background()
	part := func(sub string, transport, product int64) *wechatpay.Declaration {
		d := wholeDecl()
		d.SubOrderNo, d.TransportFee, d.ProductFee, d.OrderFee = sub, transport, product, transport+product
		return d
	}
	a, err := f.c.Declare(ctx, f.cr, part("SUB-A", 500, 5500))
	if err != nil || a.SubOrderID == "" || a.SubOrderNo != "SUB-A" {
		t.Fatalf("sub-order A: %+v %v", a, err)
	}
	if _, err := f.c.Declare(ctx, f.cr, part("SUB-B", 0, 4000)); err != nil {
		t.Fatalf("sub-order B: %v", err)
	}
	// 60.00 + 40.00 is the whole payment: one fen more is refused.
	_, err = f.c.Declare(ctx, f.cr, part("SUB-C", 0, 1))
	mustKind(t, err, upstream.Fail, "PARAM_ERROR")
	// order_fee must be transport_fee + product_fee.
	bad := part("SUB-D", 0, 1)
	bad.OrderFee = 2
	_, err = f.c.Declare(ctx, f.cr, bad)
	mustKind(t, err, upstream.Fail, "PARAM_ERROR")
	// The query by sub-order finds that part only.
	r, err := f.c.Query(ctx, f.cr, part("SUB-B", 0, 4000))
	if err != nil || r.SubOrderNo != "SUB-B" || r.OrderFee != 4000 || r.ProductFee != 4000 {
		t.Fatalf("query SUB-B: %+v %v", r, err)
	}
	if n := len(f.s.recordsFor("4200000001202401010000000001")); n != 2 {
		t.Fatalf("stand-in holds %d records, want 2", n)
	}
}

func TestV2RepeatModifyRedeclare(t *testing.T) {
	f := newV2(t)
	ctx := context.Background()
	d := wholeDecl()
	if _, err := f.c.Declare(ctx, f.cr, d); err != nil {
		t.Fatal(err)
	}
	// The same declaration again is the same record, not a second one.
	if _, err := f.c.Declare(ctx, f.cr, d); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if recs := f.s.recordsFor(d.TransactionID); len(recs) != 1 || recs[0].Pushes != 1 {
		t.Fatalf("after a repeat: %+v", recs)
	}
	// Other data under ADD is refused: changes are MODIFY.
	d.MerchantCustomsNo = "3301960B02"
	_, err := f.c.Declare(ctx, f.cr, d)
	mustKind(t, err, upstream.Fail, "INVALID_REQUEST")
	r, err := f.c.Modify(ctx, f.cr, d)
	if err != nil || r.State != wechatpay.StateSubmitted {
		t.Fatalf("modify: %+v %v", r, err)
	}
	// Re-declaring needs SUCCESS or EXCEPT.
	_, err = f.c.Redeclare(ctx, f.cr, d)
	mustKind(t, err, upstream.Fail, "INVALID_REQUEST")
	f.c.Query(ctx, f.cr, d)
	if r, _ = f.c.Query(ctx, f.cr, d); r.State != wechatpay.StateSuccess || r.MerchantCustomsNo != "3301960B02" {
		t.Fatalf("after modify: %+v", r)
	}
	if r, err = f.c.Redeclare(ctx, f.cr, d); err != nil || r.State != wechatpay.StateSubmitted {
		t.Fatalf("redeclare: %+v %v", r, err)
	}
	if recs := f.s.recordsFor(d.TransactionID); len(recs) != 1 || recs[0].Pushes != 3 {
		t.Fatalf("one record pushed three times expected: %+v", recs)
	}
	// Modify of a record WeChat does not have.
	other := wholeDecl()
	other.Customs = "NINGBO"
	_, err = f.c.Modify(ctx, f.cr, other)
	mustKind(t, err, upstream.NotFound, "INVALID_REQUEST")
	_, err = f.c.Query(ctx, f.cr, other)
	mustKind(t, err, upstream.NotFound, "")
}

func TestV2ErrorClasses(t *testing.T) {
	cases := []struct {
		name   string
		inject string
		creds  func(*wechatpay.V2Credentials)
		decl   func(*wechatpay.Declaration)
		kind   upstream.Kind
		code   string
		wait   time.Duration
	}{
		{name: "5xx", inject: inj5xx, kind: upstream.Retry, code: "HTTP_502", wait: upstream.WaitTransient},
		{name: "SYSTEMERROR", inject: injSystemError, kind: upstream.Retry, code: "SYSTEMERROR", wait: upstream.WaitTransient},
		{name: "rate limited", inject: injFrequency, kind: upstream.Retry, code: "FREQUENCY_LIMITED", wait: upstream.WaitRateLimited},
		{name: "maintenance", inject: injMaintenance, kind: upstream.Retry, code: "SYSTEMERROR", wait: upstream.WaitTransient},
		{name: "timeout", inject: injHang, kind: upstream.Retry, code: "TIMEOUT", wait: upstream.WaitTransient},
		{name: "tampered answer", inject: injTamper, kind: upstream.Untrusted, code: "BAD_SIGNATURE"},
		{name: "wrong API key", creds: func(c *wechatpay.V2Credentials) { c.APIKey = strings.Repeat("k", 32) }, kind: upstream.Fail, code: "FAIL"},
		{name: "unknown transaction", decl: func(d *wechatpay.Declaration) { d.TransactionID = "4200000001202401019999999999" }, kind: upstream.Fail, code: "FAIL"},
		{name: "missing registration", decl: func(d *wechatpay.Declaration) { d.MerchantCustomsNo = "" }, kind: upstream.Fail, code: "PARAM_ERROR"},
		{name: "bad sign type", creds: func(c *wechatpay.V2Credentials) { c.SignType = "SHA1" }, kind: upstream.Fail, code: "CONFIG"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newV2(t)
			f.c.HTTP = upstream.HTTPClient(time.Second, 300*time.Millisecond)
			if tc.inject != "" {
				f.s.injectNext(tc.inject)
			}
			if tc.creds != nil {
				tc.creds(f.cr)
			}
			d := wholeDecl()
			if tc.decl != nil {
				tc.decl(d)
			}
			_, err := f.c.Declare(context.Background(), f.cr, d)
			ue := mustKind(t, err, tc.kind, tc.code)
			if tc.wait != 0 && ue.RetryAfter != tc.wait {
				t.Fatalf("RetryAfter %s, want %s", ue.RetryAfter, tc.wait)
			}
			calls := f.log.all()
			if len(calls) != 1 || calls[0].Code != tc.code || calls[0].Outcome != upstream.Outcome(err) {
				t.Fatalf("call record: %+v", calls)
			}
		})
	}
}

// A tampered query answer (a PROCESSING record turned SUCCESS after
// signing) is refused, and nothing of it is returned.
func TestV2TamperedQueryRefused(t *testing.T) {
	f := newV2(t)
	ctx := context.Background()
	d := wholeDecl()
	if _, err := f.c.Declare(ctx, f.cr, d); err != nil {
		t.Fatal(err)
	}
	f.s.injectNext(injTamper)
	r, err := f.c.Query(ctx, f.cr, d)
	if r != nil {
		t.Fatalf("a tampered answer gave a record: %+v", r)
	}
	mustKind(t, err, upstream.Untrusted, "BAD_SIGNATURE")
}

// Neither the API key nor the payer's ID number appears in a call record
// or an error, even when WeChat echoes the ID number in its answer.
func TestV2NoSecretsInRecordsOrErrors(t *testing.T) {
	f := newV2(t)
	ctx := context.Background()
	d := wholeDecl()
	d.PayerID = "1101051990010112" // 16 characters: the stand-in echoes it in its refusal
	_, err := f.c.Declare(ctx, f.cr, d)
	ue := mustKind(t, err, upstream.Fail, "PARAM_ERROR")
	d = wholeDecl()
	if _, err := f.c.Declare(ctx, f.cr, d); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Query(ctx, f.cr, d); err != nil { // the answer carries cert_id_0 and name_0
		t.Fatal(err)
	}
	f.s.injectNext(injSystemError)
	_, err2 := f.c.Query(ctx, f.cr, d)
	texts := []string{ue.Error(), err2.Error()}
	for _, c := range f.log.all() {
		texts = append(texts, c.Message, c.Code, c.Ref)
	}
	for _, s := range texts {
		for _, secret := range []string{f.cr.APIKey, payerID, "1101051990010112", payerName} {
			if strings.Contains(s, secret) {
				t.Fatalf("%q leaks %q", s, secret)
			}
		}
	}
	if !strings.Contains(ue.Message, "证件号码 ***") {
		t.Fatalf("the refusal should keep WeChat's words with the ID number removed: %q", ue.Message)
	}
}
