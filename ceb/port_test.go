package ceb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/ceb"
)

type portEnv struct {
	port  *ceb.Port
	out   string
	inbox string
	req   baoguan.DeclareRequest
}

func newPortEnv(t *testing.T, signer ceb.Signer) *portEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := testConfig()
	ob, _, err := ceb.OpenOutbox(ceb.OutboxConfig{Dir: filepath.Join(dir, "out"), SenderID: cfg.Sender()})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ceb.OpenInbox(ceb.InboxConfig{Dir: filepath.Join(dir, "in"), Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if signer == nil {
		signer = ceb.NoneSigner{}
	}
	p := &ceb.Port{Config: cfg, Outbox: ob, Inbox: in, Signer: signer}
	submitted := time.Date(2026, 3, 15, 15, 36, 2, 0, cst)
	o := &baoguan.Order{MerchantOrderNo: "ORD20260315001", Amount: 19050, PayStatus: baoguan.PaySucceed,
		Payment: baoguan.Payment{No: "P2026031500012345", PaidAt: submitted.Add(-time.Minute)}}
	m := &baoguan.Merchant{No: "M1", EBPCode: "46016602EV", EBPName: "海南省荣誉进出口贸易有限公司"}
	d := &baoguan.Declaration{ID: 41, Customs: "HG014", OrderFee: 19050, Attempts: 1, SubmittedAt: submitted, State: baoguan.DeclSubmitted,
		Payer: baoguan.Payer{Name: "张三", IDType: baoguan.IDTypeIDCard, IDNumber: "110105199001011232", Phone: "13800138000"}}
	return &portEnv{port: p, out: filepath.Join(dir, "out"), inbox: filepath.Join(dir, "in"),
		req: baoguan.DeclareRequest{Declaration: d, Order: o, Merchant: m, Now: submitted}}
}

func (e *portEnv) files(t *testing.T) []string {
	t.Helper()
	es, err := os.ReadDir(e.out)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range es {
		out = append(out, f.Name())
	}
	return out
}

func (e *portEnv) read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.out, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPortDeclare(t *testing.T) {
	e := newPortEnv(t, nil)
	guid, _ := e.port.PlanRef(e.req)
	r, err := e.port.Declare(context.Background(), e.req)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != baoguan.DeclProcessing || r.Ref != guid || r.RetryAfter <= 0 {
		t.Fatalf("declare answered %+v", r)
	}
	files := e.files(t)
	if len(files) != 1 || !strings.HasPrefix(files[0], "CEB_CEB411_DXPENT0000011951_EPORT_") {
		t.Fatalf("outbox: %v", files)
	}
	msg := e.read(t, files[0])
	xmllintValidate(t, msg)
	if !strings.Contains(string(msg), "<ceb:guid>"+guid+"</ceb:guid>") || !strings.Contains(string(msg), "<ceb:appType>1</ceb:appType>") ||
		!strings.Contains(string(msg), "<ceb:appTime>20260315153602</ceb:appTime>") {
		t.Errorf("message:\n%s", msg)
	}
	// The E-Port client takes the file; the job runs again (a crash before
	// recording): nothing is written twice.
	os.Remove(filepath.Join(e.out, files[0]))
	again, err := e.port.Declare(context.Background(), e.req)
	if err != nil || again.Ref != guid || again.State != baoguan.DeclProcessing {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	if files := e.files(t); len(files) != 0 {
		t.Errorf("the attempt was written again: %v", files)
	}
}

// A later attempt is a change (appType 2, new guid) when the E-Port holds
// the record, and new (1) when it refused the earlier message.
func TestPortAppType(t *testing.T) {
	for _, c := range []struct {
		first string
		want  string
	}{{"100", "2"}, {"-401009", "1"}, {"", "2"}} {
		e := newPortEnv(t, nil)
		g1, _ := e.port.PlanRef(e.req)
		if _, err := e.port.Declare(context.Background(), e.req); err != nil {
			t.Fatal(err)
		}
		for _, f := range e.files(t) {
			os.Remove(filepath.Join(e.out, f))
		}
		d2 := *e.req.Declaration
		d2.Attempts = 2
		d2.SubmittedAt = d2.SubmittedAt.Add(time.Hour)
		req := e.req
		req.Declaration = &d2
		if c.first != "" {
			req.Receipts = []baoguan.CustomsReceipt{{Port: "eport", Ref: g1, Status: "2"}, {Port: "eport", Ref: g1, Status: c.first, ReturnTime: time.Now()}}
		}
		r, err := e.port.Declare(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		files := e.files(t)
		if len(files) != 1 || r.Ref == g1 {
			t.Fatalf("second attempt: %+v %v", r, files)
		}
		if msg := string(e.read(t, files[0])); !strings.Contains(msg, "<ceb:appType>"+c.want+"</ceb:appType>") {
			t.Errorf("after %q the second attempt is not appType %s:\n%s", c.first, c.want, msg)
		}
	}
}

// What a CEB411 cannot carry fails the declaration, naming the field, and
// nothing is written; a signer that refuses for good is EXCEPT; a signer
// outage is an error (retried).
func TestPortDeclareRefusals(t *testing.T) {
	e := newPortEnv(t, nil)
	e.req.Declaration.Payer.IDType = baoguan.IDTypeOther
	r, err := e.port.Declare(context.Background(), e.req)
	if err != nil || r.State != baoguan.DeclFail || !strings.Contains(r.Explanation, "payerIdType") {
		t.Errorf("passport payer: %+v %v", r, err)
	}
	e = newPortEnv(t, nil)
	e.req.Merchant.EBPCode, e.req.Merchant.EBPName = "", ""
	if r, err := e.port.Declare(context.Background(), e.req); err != nil || r.State != baoguan.DeclFail || !strings.Contains(r.Explanation, "HG014") {
		t.Errorf("merchant without platform code: %+v %v", r, err)
	}
	// The installation's platform, or the merchant's registration for the
	// code, stand in.
	e.port.EBPCode, e.port.EBPName = "1101110323", "荔枝跨境平台"
	if r, err := e.port.Declare(context.Background(), e.req); err != nil || r.State != baoguan.DeclProcessing {
		t.Errorf("with the installation's platform: %+v %v", r, err)
	}
	if files := e.files(t); len(files) != 1 || !strings.Contains(string(e.read(t, files[0])), "<ceb:ebpCode>1101110323</ceb:ebpCode>") {
		t.Errorf("platform: %v", files)
	}
	if files := e.files(t); len(files) != 1 {
		t.Errorf("files: %v", files)
	}

	svc, signer := standIn(t)
	e = newPortEnv(t, &ceb.HTTPSigner{URL: signer.URL, Token: "wrong"})
	if r, err := e.port.Declare(context.Background(), e.req); err != nil || r.State != baoguan.DeclExcept || !strings.HasPrefix(r.Explanation, ceb.ExplainSigner) {
		t.Errorf("signer refusing: %+v %v", r, err)
	}
	e = newPortEnv(t, signer)
	svc.FailNext(1)
	if _, err := e.port.Declare(context.Background(), e.req); err == nil || isPermanent(err) {
		t.Errorf("signer outage: %v (want a retried error)", err)
	}
	if files := e.files(t); len(files) != 0 {
		t.Errorf("written without a signature: %v", files)
	}
	r, err = e.port.Declare(context.Background(), e.req)
	if err != nil || r.State != baoguan.DeclProcessing {
		t.Fatalf("after the outage: %+v %v", r, err)
	}
	files := e.files(t)
	if len(files) != 1 {
		t.Fatalf("files: %v", files)
	}
	if err := svc.VerifyMessage(e.read(t, files[0])); err != nil {
		t.Errorf("the file's signature: %v", err)
	}
}

func TestPortReceipt(t *testing.T) {
	e := newPortEnv(t, nil)
	guid, _ := e.port.PlanRef(e.req)
	e.req.Declaration.PortRef = guid
	t0 := time.Date(2026, 3, 15, 15, 37, 0, 0, cst)
	rc := func(status string, at time.Duration) baoguan.CustomsReceipt {
		return baoguan.CustomsReceipt{Port: "eport", Ref: guid, Status: status, Info: "info " + status, ReturnTime: t0.Add(at)}
	}
	other := baoguan.CustomsReceipt{Port: "eport", Ref: "8ACCDF31-E27A-804D-B6C5-A5440572F5E1", Status: "120", ReturnTime: t0}
	for _, c := range []struct {
		name string
		rs   []baoguan.CustomsReceipt
		want baoguan.DeclState
		code string
	}{
		{"nothing yet", nil, baoguan.DeclProcessing, ""},
		{"another attempt's 120", []baoguan.CustomsReceipt{other}, baoguan.DeclProcessing, ""},
		{"2", []baoguan.CustomsReceipt{rc("2", 0)}, baoguan.DeclProcessing, "2"},
		{"2 3 120", []baoguan.CustomsReceipt{rc("2", 0), rc("3", time.Second), rc("120", time.Minute)}, baoguan.DeclSuccess, "120"},
		{"120 before 2", []baoguan.CustomsReceipt{rc("2", time.Hour), rc("120", time.Minute)}, baoguan.DeclSuccess, "120"},
		{"2 100", []baoguan.CustomsReceipt{rc("2", 0), rc("100", time.Minute)}, baoguan.DeclFail, "100"},
		{"-1", []baoguan.CustomsReceipt{rc("-1", 0)}, baoguan.DeclFail, "-1"},
		{"2 4", []baoguan.CustomsReceipt{rc("2", 0), rc("4", time.Second)}, baoguan.DeclExcept, "4"},
		{"100 then 120", []baoguan.CustomsReceipt{rc("100", 0), rc("120", time.Minute)}, baoguan.DeclFail, "100"},
		{"unknown status", []baoguan.CustomsReceipt{rc("2", 0), rc("7", time.Second)}, baoguan.DeclProcessing, "2"},
	} {
		req := e.req
		req.Receipts = c.rs
		r, err := e.port.Receipt(context.Background(), req)
		if err != nil || r.State != c.want || r.ReceiptCode != c.code || r.Ref != guid {
			t.Errorf("%s: %+v %v, want %s %s", c.name, r, err, c.want, c.code)
		}
		if r.State == baoguan.DeclProcessing && r.RetryAfter <= 0 {
			t.Errorf("%s: no RetryAfter", c.name)
		}
	}
	// No receipt at all for a day: the E-Port client is down or lost it.
	req := e.req
	req.Now = e.req.Declaration.SubmittedAt.Add(24 * time.Hour)
	if r, _ := e.port.Receipt(context.Background(), req); r.State != baoguan.DeclExcept || !strings.HasPrefix(r.Explanation, ceb.ExplainNoReceipt) {
		t.Errorf("after a day without receipt: %+v", r)
	}
	req.Receipts = []baoguan.CustomsReceipt{rc("2", 0)}
	if r, _ := e.port.Receipt(context.Background(), req); r.State != baoguan.DeclProcessing || r.RetryAfter != 10*time.Minute {
		t.Errorf("a day after receipt 2: %+v", r)
	}
}

func TestPortReadReceipts(t *testing.T) {
	e := newPortEnv(t, nil)
	guid, _ := e.port.PlanRef(e.req)
	if err := os.WriteFile(filepath.Join(e.inbox, "CEB412_1.xml"), receipt412(entry(guid, "2", "申报中"), entry(otherGUID, "120", "入库")), 0o644); err != nil {
		t.Fatal(err)
	}
	down := errors.New("store down")
	var got []baoguan.CustomsReceipt
	store := func(_ context.Context, rs []baoguan.CustomsReceipt) error { got = append(got, rs...); return down }
	if err := e.port.ReadReceipts(context.Background(), store); !errors.Is(err, down) {
		t.Fatalf("store failing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.inbox, "CEB412_1.xml")); err != nil {
		t.Fatal("a file whose receipts were not stored left the inbox")
	}
	got = nil
	store = func(_ context.Context, rs []baoguan.CustomsReceipt) error { got = append(got, rs...); return nil }
	if err := e.port.ReadReceipts(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Ref != guid || got[0].Status != "2" || got[0].Port != "eport" || got[0].Source != "CEB412_1.xml" ||
		got[0].ReturnTime.IsZero() || !strings.Contains(got[0].Raw, "returnStatus=2") || got[1].Status != "120" {
		t.Errorf("stored %+v", got)
	}
	if _, err := os.Stat(filepath.Join(e.inbox, "CEB412_1.xml")); err == nil {
		t.Error("the file was not archived")
	}
}

// Every call of an attempt — the signing service's, the hand-over to the
// outbox — is reported for the call log, under the declaration, and an
// outage is reported as a failure to retry.
func TestPortReportsCalls(t *testing.T) {
	svc, signer := standIn(t)
	e := newPortEnv(t, signer)
	var calls []baoguan.UpstreamCall
	e.req.Declaration.MerchantID, e.req.Declaration.OrderID = 7, 9
	e.req.Record = func(c baoguan.UpstreamCall) { calls = append(calls, c) }
	svc.FailNext(1)
	if _, err := e.port.Declare(context.Background(), e.req); err == nil {
		t.Fatal("the signer outage did not fail the attempt")
	}
	if _, err := e.port.Declare(context.Background(), e.req); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		if c.MerchantID != 7 || c.OrderID != 9 || c.DeclarationID != 41 || c.Attempt != 1 || c.At.IsZero() {
			t.Errorf("call not filed under the declaration: %+v", c)
		}
		if strings.Contains(c.Message, "110105199001011232") {
			t.Errorf("a call record shows the ID number: %+v", c)
		}
		got = append(got, c.Service+"/"+c.Operation+"/"+c.Outcome)
	}
	if strings.Join(got, " ") != "signer/sign/retry signer/sign/ok eport/outbox/ok" {
		t.Errorf("calls: %v", got)
	}
}
