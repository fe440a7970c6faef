package alipay_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/alipay"
	"github.com/baoguan/baoguan/alipay/alipaytest"
	"github.com/baoguan/baoguan/upstream"
)

const (
	buyerName = "李四"
	buyerID   = "110105199001011232"
	otherID   = "11010519900101998X"
	tradeNo   = "2015051446800462000100020003"
)

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

type fixture struct {
	s    *alipaytest.Standin
	c    *alipay.Client
	cr   *alipay.Credentials
	log  *callLog
	port *alipay.Port
	m    *baoguan.Merchant
	o    *baoguan.Order
}

// newFixture sets up the stand-in and a client with credentials of the
// given sign type.
func newFixture(t *testing.T, signType string) *fixture {
	t.Helper()
	mkey := testKey(t, 1)
	s, err := alipaytest.New(&mkey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddTrade(tradeNo, alipaytest.Trade{Amount: 10000, BuyerName: buyerName, BuyerID: buyerID})
	der, _ := x509.MarshalPKCS8PrivateKey(mkey)
	cr := &alipay.Credentials{Partner: s.Partner, SignType: signType}
	switch signType {
	case alipay.SignMD5:
		cr.MD5Key = s.MD5Key
	default:
		cr.PrivateKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		cr.AlipayPublicKeyPEM = s.AlipayPublicKeyPEM()
	}
	cr.Registrations = map[string]alipay.Registration{
		"ZONGSHU":     {No: "4403960Z01", Name: "深圳测试跨境电商有限公司"},
		"HENAN":       {No: "4101960H01", Name: "深圳测试跨境电商有限公司"},
		"SHENZHEN_ZS": {No: "4403960Z01", Name: "深圳测试跨境电商有限公司"},
	}
	log := &callLog{}
	c := &alipay.Client{Gateway: s.URL(), HTTP: upstream.HTTPClient(time.Second, 2*time.Second), Record: log.record}
	f := &fixture{s: s, c: c, cr: cr, log: log, m: &baoguan.Merchant{ID: 5, No: "LIVE-ALI", Mode: baoguan.ModeLive}}
	f.port = &alipay.Port{Client: c, PollAfter: 3 * time.Second, Credentials: func(_ context.Context, m *baoguan.Merchant) (*alipay.Credentials, error) {
		if m.ID != 5 {
			return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "none"}
		}
		return f.cr, nil
	}}
	f.o = &baoguan.Order{ID: 3, MerchantID: 5, MerchantOrderNo: "ALI-ORDER-1", Amount: 10000, PayStatus: baoguan.PaySucceed,
		Payer: baoguan.Payer{Name: buyerName, IDType: baoguan.IDTypeIDCard, IDNumber: buyerID}, Payment: baoguan.Payment{No: tradeNo}}
	return f
}

func decl(no string, amount int64) *alipay.Declaration {
	return &alipay.Declaration{Ref: "D-" + no, OutRequestNo: no, TradeNo: tradeNo, Amount: amount, CustomsPlace: "ZONGSHU",
		MerchantCustomsCode: "4403960Z01", MerchantCustomsName: "深圳测试跨境电商有限公司", BuyerName: buyerName, BuyerIDNo: buyerID}
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

func TestDeclareQueryEverySignType(t *testing.T) {
	for _, st := range []string{alipay.SignMD5, alipay.SignRSA, alipay.SignRSA2} {
		t.Run(st, func(t *testing.T) {
			f := newFixture(t, st)
			ctx := context.Background()
			d := decl("20240101000001", 10000)
			a, err := f.c.Declare(ctx, f.cr, d)
			if err != nil || a.AlipayDeclareNo == "" || a.TradeNo != tradeNo || a.IdentityResult() != baoguan.CheckSame {
				t.Fatalf("Declare: %+v %v", a, err)
			}
			r, err := f.c.Query(ctx, f.cr, d)
			if err != nil || r.Status != alipay.StatusSending || r.DeclState() != baoguan.DeclProcessing || r.Amount != "100.00" {
				t.Fatalf("query 1: %+v %v", r, err)
			}
			r, err = f.c.Query(ctx, f.cr, d)
			if err != nil || r.DeclState() != baoguan.DeclSuccess || r.CustomsResultCode != "2" || r.AlipayDeclareNo != a.AlipayDeclareNo {
				t.Fatalf("query 2: %+v %v", r, err)
			}
			for _, c := range f.log.all() {
				if c.Service != alipay.Service || c.Code != "SUCCESS" || c.HTTPStatus != 200 || c.Ref != "D-20240101000001" {
					t.Fatalf("record: %+v", c)
				}
			}
		})
	}
}

// identity_check: T for the payer, F for someone else, nothing on a repeat.
func TestIdentityCheck(t *testing.T) {
	f := newFixture(t, alipay.SignRSA2)
	ctx := context.Background()
	d := decl("IDCHECK001", 5000)
	d.BuyerIDNo = otherID
	a, err := f.c.Declare(ctx, f.cr, d)
	if err != nil || a.IdentityCheck != "F" || a.IdentityResult() != baoguan.CheckDifferent {
		t.Fatalf("another buyer: %+v %v", a, err)
	}
	a, err = f.c.Declare(ctx, f.cr, d)
	if err != nil || a.IdentityResult() != baoguan.CheckUnchecked {
		t.Fatalf("a repeat: %+v %v", a, err)
	}
}

func TestSplitAndAmounts(t *testing.T) {
	f := newFixture(t, alipay.SignRSA2)
	ctx := context.Background()
	a := decl("SPLIT-0001", 6000)
	a.SubOutBizNo = "SUB-1"
	b := decl("SPLIT-0002", 4000)
	b.SubOutBizNo = "SUB-2"
	for _, d := range []*alipay.Declaration{a, b} {
		if _, err := f.c.Declare(ctx, f.cr, d); err != nil {
			t.Fatalf("%s: %v", d.SubOutBizNo, err)
		}
	}
	c := decl("SPLIT-0003", 1)
	c.SubOutBizNo = "SUB-3"
	_, err := f.c.Declare(ctx, f.cr, c)
	mustKind(t, err, upstream.Fail, "AMOUNT_OUT_OF_RANGE")
	r, err := f.c.Query(ctx, f.cr, b)
	if err != nil || r.SubOutBizNo != "SUB-2" || r.IsSplit != "T" || r.Amount != "40.00" {
		t.Fatalf("query SUB-2: %+v %v", r, err)
	}
	if ds := f.s.Decls(tradeNo); len(ds) != 2 {
		t.Fatalf("stand-in: %+v", ds)
	}
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		name   string
		inject string
		change func(*fixture, *alipay.Declaration)
		kind   upstream.Kind
		code   string
	}{
		{name: "5xx", inject: alipaytest.InjectHTTP500, kind: upstream.Retry, code: "HTTP_500"},
		{name: "SYSTEM_ERROR", inject: alipaytest.InjectSystemError, kind: upstream.Retry, code: "SYSTEM_ERROR"},
		{name: "timeout", inject: alipaytest.InjectHang, kind: upstream.Retry, code: "TIMEOUT"},
		{name: "tampered", inject: alipaytest.InjectTamper, kind: upstream.Untrusted, code: "BAD_SIGNATURE"},
		{name: "our sign refused", inject: alipaytest.InjectIllegalSign, kind: upstream.Fail, code: "ILLEGAL_SIGN"},
		{name: "wrong partner", change: func(f *fixture, _ *alipay.Declaration) { f.cr.Partner = "2088000000000000" }, kind: upstream.Fail, code: "ILLEGAL_PARTNER"},
		{name: "unknown trade", change: func(_ *fixture, d *alipay.Declaration) { d.TradeNo = "2015000000000000000000000000" }, kind: upstream.Fail, code: "TRADE_NOT_EXIST"},
		{name: "bad request no", change: func(_ *fixture, d *alipay.Declaration) { d.OutRequestNo = "a b" }, kind: upstream.Fail, code: "INVALID_PARAMETER"},
		{name: "no registration name", change: func(_ *fixture, d *alipay.Declaration) { d.MerchantCustomsName = "" }, kind: upstream.Fail, code: "INVALID_PARAMETER"},
		{name: "not an Alipay place", change: func(_ *fixture, d *alipay.Declaration) { d.CustomsPlace = "HG014" }, kind: upstream.Fail, code: "INVALID_PARAMETER"},
		{name: "wrong Alipay key", change: func(f *fixture, _ *alipay.Declaration) {
			der, _ := x509.MarshalPKIXPublicKey(&testKey(t, 2).PublicKey)
			f.cr.AlipayPublicKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		}, kind: upstream.Untrusted, code: "BAD_SIGNATURE"},
		{name: "no key", change: func(f *fixture, _ *alipay.Declaration) { f.cr.PrivateKeyPEM = "" }, kind: upstream.Fail, code: "CONFIG"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, alipay.SignRSA2)
			f.c.HTTP = upstream.HTTPClient(time.Second, 300*time.Millisecond)
			if tc.inject != "" {
				f.s.InjectNext(tc.inject)
			}
			d := decl("ERRCASE001", 100)
			if tc.change != nil {
				tc.change(f, d)
			}
			_, err := f.c.Declare(context.Background(), f.cr, d)
			ue := mustKind(t, err, tc.kind, tc.code)
			if ue.Retryable() && ue.RetryAfter <= 0 {
				t.Fatalf("no suggested wait: %+v", ue)
			}
			if calls := f.log.all(); len(calls) != 1 || calls[0].Code != tc.code {
				t.Fatalf("records: %+v", calls)
			}
		})
	}
}

// An answer signed MD5 is refused when the merchant signs RSA2, even by a
// client that holds the MD5 key: a forged answer cannot choose the weakest
// check.
func TestAnswerOfAnotherSignTypeRefused(t *testing.T) {
	f := newFixture(t, alipay.SignRSA2)
	f.cr.MD5Key = f.s.MD5Key
	f.s.InjectNext(alipaytest.InjectMD5Answer)
	_, err := f.c.Declare(context.Background(), f.cr, decl("SIGNTYPE01", 100))
	mustKind(t, err, upstream.Untrusted, "BAD_SIGNATURE")
}

func TestNoSecretsInRecordsOrErrors(t *testing.T) {
	f := newFixture(t, alipay.SignMD5)
	ctx := context.Background()
	d := decl("LEAKS00001", 100)
	d.BuyerIDNo = "11010519900101" // 14 characters, echoed in the refusal
	_, err := f.c.Declare(ctx, f.cr, d)
	ue := mustKind(t, err, upstream.Fail, "INVALID_PARAMETER")
	d = decl("LEAKS00002", 100)
	if _, err := f.c.Declare(ctx, f.cr, d); err != nil {
		t.Fatal(err)
	}
	texts := []string{ue.Error()}
	for _, c := range f.log.all() {
		texts = append(texts, c.Message, c.Code, c.Ref)
	}
	for _, s := range texts {
		for _, secret := range []string{f.s.MD5Key, "11010519900101", buyerID, buyerName} {
			if strings.Contains(s, secret) {
				t.Fatalf("%q leaks %q", s, secret)
			}
		}
	}
}

// ---- the port ------------------------------------------------------------

func (f *fixture) decl(customs string, attempt int) *baoguan.Declaration {
	return &baoguan.Declaration{ID: 9, OrderID: f.o.ID, MerchantID: f.m.ID, Customs: customs, SubOrderID: "Dlx7q2k3a9f0001" + customs[:1],
		OrderFee: 10000, ProductFee: 10000, Payer: f.o.Payer, Attempts: attempt, State: baoguan.DeclPending}
}

func (f *fixture) req(d *baoguan.Declaration) baoguan.DeclareRequest {
	return baoguan.DeclareRequest{Declaration: d, Order: f.o, Merchant: f.m, Now: time.Now()}
}

func TestPortLifecycle(t *testing.T) {
	f := newFixture(t, alipay.SignRSA2)
	ctx := context.Background()
	d := f.decl("ZONGSHU", 1)
	r, err := f.port.Declare(ctx, f.req(d))
	if err != nil || r.State != baoguan.DeclProcessing || r.RetryAfter != 3*time.Second || r.Ref == "" || r.IdentityCheck != baoguan.CheckSame {
		t.Fatalf("Declare: %+v %v", r, err)
	}
	if r, _ = f.port.Receipt(ctx, f.req(d)); r.State != baoguan.DeclProcessing {
		t.Fatalf("receipt 1: %+v", r)
	}
	if r, err = f.port.Receipt(ctx, f.req(d)); err != nil || r.State != baoguan.DeclSuccess || r.ReceiptCode != "2" {
		t.Fatalf("receipt 2: %+v %v", r, err)
	}
	ds := f.s.Decls(tradeNo)
	if len(ds) != 1 || ds[0].OutRequestNo != alipay.OutRequestNo(d) || ds[0].Code != "4403960Z01" || ds[0].Name == "" || ds[0].Amount != 10000 {
		t.Fatalf("stand-in: %+v", ds)
	}
	// Re-declared (attempt 2): the same declaration pushed again.
	d.Attempts = 2
	if r, err = f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("re-declare: %+v %v", r, err)
	}
	// Modified (attempt 3, less after a refund): the same declaration updated.
	f.port.Receipt(ctx, f.req(d))
	d.Attempts, d.OrderFee, d.ProductFee = 3, 8000, 8000
	if r, err = f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("modify: %+v %v", r, err)
	}
	if ds = f.s.Decls(tradeNo); len(ds) != 1 || ds[0].Pushes != 3 || ds[0].Updates != 1 || ds[0].Amount != 8000 {
		t.Fatalf("one declaration, pushed three times, updated once: %+v", ds)
	}
}

// Customs' refusal (海关退单) is FAIL with its explanation; a failure to
// reach customs (4) is EXCEPT.
func TestPortCustomsOutcomes(t *testing.T) {
	ctx := context.Background()
	t.Run("refused", func(t *testing.T) {
		f := newFixture(t, alipay.SignMD5)
		// Customs' reason quotes the ID number: the explanation masks it.
		f.s.FailID(buyerID, "订购人("+buyerID+")与支付人身份信息不一致")
		d := f.decl("ZONGSHU", 1)
		f.port.Declare(ctx, f.req(d))
		f.port.Receipt(ctx, f.req(d))
		r, err := f.port.Receipt(ctx, f.req(d))
		if err != nil || r.State != baoguan.DeclFail || r.ReceiptCode != "100" || r.Explanation != "订购人("+upstream.MaskID(buyerID)+")与支付人身份信息不一致" {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("not delivered", func(t *testing.T) {
		f := newFixture(t, alipay.SignMD5)
		f.s.ExceptID(buyerID)
		d := f.decl("ZONGSHU", 1)
		f.port.Declare(ctx, f.req(d))
		f.port.Receipt(ctx, f.req(d))
		r, _ := f.port.Receipt(ctx, f.req(d))
		if r.State != baoguan.DeclExcept || r.ReceiptCode != "4" {
			t.Fatalf("%+v", r)
		}
		// The core retries an EXCEPT as attempt 2: pushed again, then SUCCESS.
		d.Attempts = 2
		if r, _ = f.port.Declare(ctx, f.req(d)); r.State != baoguan.DeclProcessing {
			t.Fatalf("retry: %+v", r)
		}
		f.port.Receipt(ctx, f.req(d))
		if r, _ = f.port.Receipt(ctx, f.req(d)); r.State != baoguan.DeclSuccess {
			t.Fatalf("after the retry: %+v", r)
		}
	})
}

// A lost answer (Alipay declared, the client timed out) is an EXCEPT; the
// retry finds the declaration waiting and sends nothing; nothing is ever
// declared as two records.
func TestPortLostAnswerDeclaresOnce(t *testing.T) {
	f := newFixture(t, alipay.SignRSA2)
	f.c.HTTP = upstream.HTTPClient(time.Second, 300*time.Millisecond)
	ctx := context.Background()
	d := f.decl("ZONGSHU", 1)
	f.s.InjectNext(alipaytest.InjectHangAfter)
	if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclExcept {
		t.Fatalf("attempt 1: %+v %v", r, err)
	}
	d.Attempts = 2
	if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("attempt 2: %+v %v", r, err)
	}
	if ds := f.s.Decls(tradeNo); len(ds) != 1 || ds[0].Pushes != 1 {
		t.Fatalf("stand-in: %+v", ds)
	}
	if n := f.s.Called("alipay.acquire.customs"); n != 1 {
		t.Fatalf("declare calls %d", n)
	}
}

// Two-push plans: HENAN then ZONGSHU, and SHENZHEN_ZS then ZONGSHU, are
// two declarations each, with their own out_request_no.
func TestPortTwoPushPlans(t *testing.T) {
	for _, code := range []string{"HENAN", "SHENZHEN_ZS"} {
		t.Run(code, func(t *testing.T) {
			f := newFixture(t, alipay.SignRSA2)
			e, err := baoguan.LookupCustoms(code)
			if err != nil || len(e.Plan) != 2 || e.Plan[1] != "ZONGSHU" {
				t.Fatalf("catalogue: %+v %v", e, err)
			}
			ctx := context.Background()
			for i, c := range e.Plan {
				d := f.decl(c, 1)
				d.ID, d.SubOrderID, d.OrderFee = int64(40+i), "Dlx7q2k3a9f00"+c, 5000
				if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
					t.Fatalf("%s: %+v %v", c, r, err)
				}
			}
			ds := f.s.Decls(tradeNo)
			if len(ds) != 2 || ds[0].CustomsPlace != code || ds[1].CustomsPlace != "ZONGSHU" || ds[0].OutRequestNo == ds[1].OutRequestNo {
				t.Fatalf("stand-in: %+v", ds)
			}
		})
	}
}

func TestPortSplit(t *testing.T) {
	f := newFixture(t, alipay.SignRSA2)
	ctx := context.Background()
	for i, sub := range []string{"P1", "P2"} {
		d := f.decl("ZONGSHU", 1)
		d.ID, d.SubOrderID, d.SubOrderNo, d.OrderFee, d.TransportFee, d.ProductFee = int64(50+i), "Dsplit000"+sub, sub, 5000, 1000, 4000
		if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
			t.Fatalf("%s: %+v %v", sub, r, err)
		}
	}
	ds := f.s.Decls(tradeNo)
	if len(ds) != 2 || ds[0].SubOutBizNo != "P1" || ds[1].Amount != 5000 {
		t.Fatalf("stand-in: %+v", ds)
	}
}

func TestPortRefusesWhatItCannotSend(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, want string
		change     func(*fixture, *baoguan.Declaration)
	}{
		{"WeChat code", "has no Alipay customs code", func(f *fixture, d *baoguan.Declaration) { d.Customs = "SHANGHAI_ZS" }},
		{"no credentials", "has no Alipay credentials", func(f *fixture, d *baoguan.Declaration) { f.m = &baoguan.Merchant{ID: 6, No: "M6"} }},
		{"no registration", "no customs registration", func(f *fixture, d *baoguan.Declaration) { d.Customs = "NINGBO" }},
		{"no trade", "no Alipay trade_no", func(f *fixture, d *baoguan.Declaration) { f.o.Payment.No = "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, alipay.SignRSA2)
			d := f.decl("ZONGSHU", 1)
			tc.change(f, d)
			r, err := f.port.Declare(ctx, f.req(d))
			if err != nil || r.State != baoguan.DeclFail || !strings.Contains(r.Explanation, tc.want) {
				t.Fatalf("%+v %v", r, err)
			}
			if len(f.log.all()) != 0 {
				t.Fatal("a call was made")
			}
		})
	}
}

func TestPortFailureMapping(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, alipay.SignRSA2)
	f.s.InjectNext(alipaytest.InjectSystemError)
	d := f.decl("ZONGSHU", 1)
	if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclExcept || r.RetryAfter <= 0 {
		t.Fatalf("transient: %+v %v", r, err)
	}
	f.o.Payment.No = "2015000000000000000000000000"
	if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclFail || r.ReceiptCode != "TRADE_NOT_EXIST" {
		t.Fatalf("refused: %+v %v", r, err)
	}
	f.o.Payment.No = tradeNo
	if _, err := f.port.Declare(ctx, f.req(d)); err != nil {
		t.Fatal(err)
	}
	f.s.InjectNext(alipaytest.InjectHTTP500)
	if _, err := f.port.Receipt(ctx, f.req(d)); upstream.KindOf(err) != upstream.Retry {
		t.Fatalf("a failed poll: %v", err)
	}
	unknown := f.decl("ZONGSHU", 1)
	unknown.SubOrderID = "Dnever0000001"
	if r, err := f.port.Receipt(ctx, f.req(unknown)); err != nil || r.State != baoguan.DeclExcept {
		t.Fatalf("a poll of an unknown declaration: %+v %v", r, err)
	}
}

// A stand-in failing the first calls in every way leads to EXCEPTs; each
// retry is a later attempt, and once Alipay answers the declaration
// proceeds to SUCCESS as one declaration pushed once.
func TestPortHealsAfterFailures(t *testing.T) {
	f := newFixture(t, alipay.SignRSA2)
	f.c.HTTP = upstream.HTTPClient(time.Second, 300*time.Millisecond)
	f.s.InjectNext(alipaytest.InjectHTTP500, alipaytest.InjectHangAfter, alipaytest.InjectSystemError, alipaytest.InjectTamper, alipaytest.InjectHang)
	ctx := context.Background()
	d := f.decl("ZONGSHU", 1)
	var r baoguan.Receipt
	for attempt := 1; attempt <= 10; attempt++ {
		d.Attempts = attempt
		var err error
		if r, err = f.port.Declare(ctx, f.req(d)); err != nil {
			t.Fatal(err)
		}
		if r.State != baoguan.DeclExcept {
			break
		}
	}
	for i := 0; r.State == baoguan.DeclProcessing && i < 10; i++ {
		var err error
		if r, err = f.port.Receipt(ctx, f.req(d)); err != nil {
			t.Fatal(err)
		}
	}
	ds := f.s.Decls(tradeNo)
	if r.State != baoguan.DeclSuccess || len(ds) != 1 || ds[0].Pushes != 1 {
		t.Fatalf("final %+v, stand-in %+v", r, ds)
	}
}
