package wechatpay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/upstream"
	"github.com/baoguan/baoguan/wechatpay"
)

// portFixture is the port over the v2 stand-in, with one live merchant.
type portFixture struct {
	*v2Fixture
	port *wechatpay.Port
	m    *baoguan.Merchant
	o    *baoguan.Order
}

func newV2Port(t *testing.T) *portFixture {
	t.Helper()
	f := newV2(t)
	m := &baoguan.Merchant{ID: 7, No: "M-LIVE-1", Mode: baoguan.ModeLive}
	creds := &wechatpay.Credentials{V2: f.cr, Registrations: map[string]wechatpay.Registration{
		"SHANGHAI_ZS": {No: "3301960A01", Name: "上海测试商贸有限公司"},
		"NINGBO":      {No: "3302460C03", Name: "上海测试商贸有限公司"},
	}}
	p := &wechatpay.Port{V2: f.c, PollAfter: 2 * time.Second,
		Credentials: func(_ context.Context, got *baoguan.Merchant) (*wechatpay.Credentials, error) {
			if got.ID != m.ID {
				return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no credentials"}
			}
			return creds, nil
		}}
	o := &baoguan.Order{ID: 1, MerchantID: m.ID, MerchantOrderNo: "ORDER-1", Amount: 10000, PayStatus: baoguan.PaySucceed,
		Payer:   baoguan.Payer{Name: payerName, IDType: baoguan.IDTypeIDCard, IDNumber: payerID},
		Payment: baoguan.Payment{No: "4200000001202401010000000001"}}
	return &portFixture{v2Fixture: f, port: p, m: m, o: o}
}

func (f *portFixture) decl(customs string, attempt int) *baoguan.Declaration {
	return &baoguan.Declaration{ID: 11, OrderID: f.o.ID, MerchantID: f.m.ID, Customs: customs, SubOrderID: "D-11",
		OrderFee: 10000, ProductFee: 10000, Payer: f.o.Payer, Attempts: attempt, State: baoguan.DeclPending}
}

func (f *portFixture) req(d *baoguan.Declaration) baoguan.DeclareRequest {
	return baoguan.DeclareRequest{Declaration: d, Order: f.o, Merchant: f.m, Now: time.Now()}
}

// The whole life: declared (PROCESSING, poll later), polled until SUCCESS.
func TestPortDeclareThenReceipt(t *testing.T) {
	f := newV2Port(t)
	ctx := context.Background()
	d := f.decl("SHANGHAI_ZS", 1)
	r, err := f.port.Declare(ctx, f.req(d))
	if err != nil || r.State != baoguan.DeclProcessing || r.RetryAfter != 2*time.Second || r.Ref == "" || r.IdentityCheck != baoguan.CheckSame {
		t.Fatalf("Declare: %+v %v", r, err)
	}
	if r, err = f.port.Receipt(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("first Receipt: %+v %v", r, err)
	}
	r, err = f.port.Receipt(ctx, f.req(d))
	if err != nil || r.State != baoguan.DeclSuccess || r.VerifyDepartment != "UNIONPAY" || r.VerifyDepartmentTradeID == "" {
		t.Fatalf("second Receipt: %+v %v", r, err)
	}
	// The registration number came from the merchant's credentials.
	if recs := f.s.recordsFor(f.o.Payment.No); len(recs) != 1 || recs[0].MchCustomsNo != "3301960A01" {
		t.Fatalf("stand-in records: %+v", recs)
	}
}

// WeChat's FAIL reaches the declaration with WeChat's explanation.
func TestPortFailWithWalletReason(t *testing.T) {
	f := newV2Port(t)
	// Customs' reason quotes the ID number: the explanation masks it.
	f.s.failIDs[payerID] = "支付人姓名和证件号(" + payerID + ")不匹配"
	ctx := context.Background()
	d := f.decl("SHANGHAI_ZS", 1)
	if _, err := f.port.Declare(ctx, f.req(d)); err != nil {
		t.Fatal(err)
	}
	f.port.Receipt(ctx, f.req(d))
	r, err := f.port.Receipt(ctx, f.req(d))
	if err != nil || r.State != baoguan.DeclFail || r.Explanation != "支付人姓名和证件号("+upstream.MaskID(payerID)+")不匹配" {
		t.Fatalf("Receipt: %+v %v", r, err)
	}
}

// A refusal is a FAIL naming WeChat's code; a transient failure is an
// EXCEPT that the core retries; a failing poll is an error to retry.
func TestPortFailureMapping(t *testing.T) {
	ctx := context.Background()
	t.Run("refused", func(t *testing.T) {
		f := newV2Port(t)
		f.o.Payment.No = "4200000001202401019999999999"
		r, err := f.port.Declare(ctx, f.req(f.decl("SHANGHAI_ZS", 1)))
		if err != nil || r.State != baoguan.DeclFail || r.ReceiptCode != "FAIL" || !strings.Contains(r.Explanation, "交易单信息有误") {
			t.Fatalf("%+v %v", r, err)
		}
	})
	for _, mode := range []string{inj5xx, injSystemError, injFrequency, injHang, injTamper} {
		t.Run("transient "+mode, func(t *testing.T) {
			f := newV2Port(t)
			f.c.HTTP = upstream.HTTPClient(time.Second, 300*time.Millisecond)
			f.s.injectNext(mode)
			r, err := f.port.Declare(ctx, f.req(f.decl("SHANGHAI_ZS", 1)))
			if err != nil || r.State != baoguan.DeclExcept || r.RetryAfter <= 0 || r.Explanation == "" {
				t.Fatalf("%+v %v", r, err)
			}
		})
	}
	t.Run("poll fails", func(t *testing.T) {
		f := newV2Port(t)
		d := f.decl("SHANGHAI_ZS", 1)
		if _, err := f.port.Declare(ctx, f.req(d)); err != nil {
			t.Fatal(err)
		}
		f.s.injectNext(injSystemError)
		_, err := f.port.Receipt(ctx, f.req(d))
		if upstream.KindOf(err) != upstream.Retry {
			t.Fatalf("a failed poll: %v", err)
		}
	})
}

// A declaration whose answer was lost (WeChat did the work, the client
// timed out) is retried as attempt 2: the port finds WeChat's record in
// flight and pushes nothing again.
func TestPortRetryAfterLostAnswerDeclaresOnce(t *testing.T) {
	f := newV2Port(t)
	f.c.HTTP = upstream.HTTPClient(time.Second, 300*time.Millisecond)
	ctx := context.Background()
	f.s.injectNext(injHangAfter)
	r, err := f.port.Declare(ctx, f.req(f.decl("SHANGHAI_ZS", 1)))
	if err != nil || r.State != baoguan.DeclExcept {
		t.Fatalf("attempt 1: %+v %v", r, err)
	}
	r, err = f.port.Declare(ctx, f.req(f.decl("SHANGHAI_ZS", 2)))
	if err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("attempt 2: %+v %v", r, err)
	}
	recs := f.s.recordsFor(f.o.Payment.No)
	if len(recs) != 1 || recs[0].Pushes != 1 || f.s.calledPath("/cgi-bin/mch/customs/customdeclareorder") != 1 {
		t.Fatalf("want one record pushed once: %+v, %d declare calls", recs, f.s.calledPath("/cgi-bin/mch/customs/customdeclareorder"))
	}
	// A crash replay of attempt 1 is a repeat of the same record.
	if _, err := f.port.Declare(ctx, f.req(f.decl("SHANGHAI_ZS", 1))); err != nil {
		t.Fatal(err)
	}
	if recs := f.s.recordsFor(f.o.Payment.No); len(recs) != 1 || recs[0].Pushes != 1 {
		t.Fatalf("after a replay: %+v", recs)
	}
}

// Later attempts do what the record needs: modify when the data changed
// or the record failed, re-declare when it succeeded or met an exception.
func TestPortReconcile(t *testing.T) {
	f := newV2Port(t)
	ctx := context.Background()
	d := f.decl("SHANGHAI_ZS", 1)
	f.port.Declare(ctx, f.req(d))
	f.port.Receipt(ctx, f.req(d))
	if r, _ := f.port.Receipt(ctx, f.req(d)); r.State != baoguan.DeclSuccess {
		t.Fatalf("setup: %+v", r)
	}
	// Re-declared unchanged: pushed again.
	d.Attempts = 2
	if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("redeclare: %+v %v", r, err)
	}
	if n := f.s.calledPath("/cgi-bin/mch/newcustoms/customdeclareredeclare"); n != 1 {
		t.Fatalf("redeclare calls %d", n)
	}
	f.port.Receipt(ctx, f.req(d))
	f.port.Receipt(ctx, f.req(d))
	// Modified (a new registration number): MODIFY.
	d.Attempts, d.MerchantCustomsNo = 3, "3301960B02"
	if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("modify: %+v %v", r, err)
	}
	recs := f.s.recordsFor(f.o.Payment.No)
	if len(recs) != 1 || recs[0].MchCustomsNo != "3301960B02" || recs[0].Modified != 1 || recs[0].Pushes != 3 {
		t.Fatalf("after modify: %+v", recs)
	}
	// While in flight, another attempt sends nothing.
	before := f.s.calledPath("/cgi-bin/mch/customs/customdeclareorder")
	d.Attempts = 4
	if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("in flight: %+v %v", r, err)
	}
	if f.s.calledPath("/cgi-bin/mch/customs/customdeclareorder") != before {
		t.Fatal("a record in flight was sent again")
	}
}

// A failed record re-declared with corrected payer data goes out as a
// MODIFY carrying the new identity, which WeChat checks again.
func TestPortRedeclareAfterFailModifies(t *testing.T) {
	f := newV2Port(t)
	f.s.failIDs[payerID] = "订购人身份信息校验失败"
	ctx := context.Background()
	d := f.decl("NINGBO", 1)
	f.port.Declare(ctx, f.req(d))
	f.port.Receipt(ctx, f.req(d))
	if r, _ := f.port.Receipt(ctx, f.req(d)); r.State != baoguan.DeclFail {
		t.Fatalf("setup: %+v", r)
	}
	d.Attempts, d.Payer.IDNumber = 2, otherID
	if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("re-declare: %+v %v", r, err)
	}
	recs := f.s.recordsFor(f.o.Payment.No)
	if len(recs) != 1 || recs[0].CertID != otherID || recs[0].Modified != 1 {
		t.Fatalf("stand-in: %+v", recs)
	}
	f.port.Receipt(ctx, f.req(d))
	if r, _ := f.port.Receipt(ctx, f.req(d)); r.State != baoguan.DeclSuccess {
		t.Fatalf("after the fix: %+v", r)
	}
}

// Split declarations carry their sub-order and fees; the two parts are
// two records.
func TestPortSplit(t *testing.T) {
	f := newV2Port(t)
	ctx := context.Background()
	for i, sub := range []string{"SUB-1", "SUB-2"} {
		d := f.decl("SHANGHAI_ZS", 1)
		d.ID, d.SubOrderID, d.SubOrderNo = int64(20+i), "D-2"+sub, sub
		d.OrderFee, d.TransportFee, d.ProductFee = 5000, 1000, 4000
		if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing || r.Ref == f.o.Payment.No {
			t.Fatalf("%s: %+v %v", sub, r, err)
		}
	}
	recs := f.s.recordsFor(f.o.Payment.No)
	if len(recs) != 2 || recs[0].OrderFee != 5000 || recs[1].TransportFee != 1000 || recs[0].SubOrderID == recs[1].SubOrderID {
		t.Fatalf("stand-in: %+v", recs)
	}
}

// Two-push plans: each code of the plan is its own declaration and its
// own WeChat record (GUANGZHOU_HP_GJ goes with GUANGZHOU_ZS).
func TestPortTwoPushPlan(t *testing.T) {
	f := newV2Port(t)
	e, err := baoguan.LookupCustoms("GUANGZHOU_HP_GJ")
	if err != nil || len(e.Plan) != 2 {
		t.Fatalf("catalogue: %+v %v", e, err)
	}
	creds, _ := f.port.Credentials(context.Background(), f.m)
	ctx := context.Background()
	for i, code := range e.Plan {
		creds.Registrations[code] = wechatpay.Registration{No: "4401960D0" + string(rune('1'+i))}
		d := f.decl(code, 1)
		d.ID = int64(30 + i)
		if r, err := f.port.Declare(ctx, f.req(d)); err != nil || r.State != baoguan.DeclProcessing {
			t.Fatalf("%s: %+v %v", code, r, err)
		}
	}
	recs := f.s.recordsFor(f.o.Payment.No)
	if len(recs) != 2 || recs[0].Customs != "GUANGZHOU_ZS" || recs[1].Customs != "GUANGZHOU_HP_GJ" {
		t.Fatalf("stand-in: %+v", recs)
	}
}

// What cannot be sent is refused with a FAIL saying what to configure, and
// nothing reaches WeChat.
func TestPortRefusesWhatItCannotSend(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, want string
		change     func(*portFixture, *baoguan.Declaration)
	}{
		{"not a WeChat code", "has no WeChat Pay customs code", func(f *portFixture, d *baoguan.Declaration) { d.Customs = "ZONGSHU" }},
		{"no credentials", "has no WeChat Pay credentials", func(f *portFixture, d *baoguan.Declaration) { f.m = &baoguan.Merchant{ID: 8, No: "M-OTHER"} }},
		{"no registration", "no customs registration number for HANGZHOU_ZS", func(f *portFixture, d *baoguan.Declaration) { d.Customs = "HANGZHOU_ZS" }},
		{"no transaction", "no WeChat Pay transaction_id", func(f *portFixture, d *baoguan.Declaration) { f.o.Payment.No = "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newV2Port(t)
			d := f.decl("SHANGHAI_ZS", 1)
			tc.change(f, d)
			r, err := f.port.Declare(ctx, f.req(d))
			if err != nil || r.State != baoguan.DeclFail || !strings.Contains(r.Explanation, tc.want) {
				t.Fatalf("%+v %v", r, err)
			}
			if len(f.log.all()) != 0 {
				t.Fatalf("calls were made: %s", f.log.ops())
			}
		})
	}
}

// A stand-in failing the first calls in every way leads to EXCEPTs that
// the core would retry; each retry is a later attempt, and once WeChat
// answers the declaration proceeds to SUCCESS as one record pushed once.
func TestPortHealsAfterFailures(t *testing.T) {
	f := newV2Port(t)
	f.c.HTTP = upstream.HTTPClient(time.Second, 300*time.Millisecond)
	f.s.injectNext(inj5xx, injHangAfter, injSystemError, injFrequency, injTamper)
	ctx := context.Background()
	d := f.decl("SHANGHAI_ZS", 1)
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
	if r.State != baoguan.DeclProcessing {
		t.Fatalf("after the failures: %+v (%s)", r, f.log.ops())
	}
	for r.State == baoguan.DeclProcessing {
		var err error
		if r, err = f.port.Receipt(ctx, f.req(d)); err != nil {
			t.Fatal(err)
		}
	}
	recs := f.s.recordsFor(f.o.Payment.No)
	if r.State != baoguan.DeclSuccess || len(recs) != 1 || recs[0].Pushes != 1 {
		t.Fatalf("final %+v, stand-in %+v", r, recs)
	}
}

// An HGxxx code reaches WeChat as WeChat's name for the same customs, with
// the registration recorded under either name.
func TestPortTranslatesHGCodes(t *testing.T) {
	f := newV2Port(t)
	if r, err := f.port.Declare(context.Background(), f.req(f.decl("HG014", 1))); err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("%+v %v", r, err)
	}
	recs := f.s.recordsFor(f.o.Payment.No)
	if len(recs) != 1 || recs[0].Customs != "NINGBO" || recs[0].MchCustomsNo != "3302460C03" {
		t.Fatalf("stand-in: %+v", recs)
	}
}
