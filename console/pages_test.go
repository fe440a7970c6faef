package console_test

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sheet"
)

// The pages one by one: what each shows and what each form does, through
// the real console, core and SQLite store.

// walletPort is the sandbox port behind a remote-looking wallet: it reports
// each call it makes to the call log as a wallet client does, and, while
// down is set, fails for good (the declare job dies).
type walletPort struct {
	next baoguan.CustomsPort
	down atomic.Bool
}

func (p *walletPort) Name() string { return p.next.Name() }

func (p *walletPort) call(op string, r baoguan.DeclareRequest, fn func() (baoguan.Receipt, error)) (baoguan.Receipt, error) {
	c := baoguan.UpstreamCall{MerchantID: r.Merchant.ID, OrderID: r.Order.ID, DeclarationID: r.Declaration.ID, At: r.Now,
		Service: "testwallet", Operation: op, Attempt: r.Declaration.Attempts, LatencyMS: 12}
	if p.down.Load() {
		c.Code, c.Message, c.Outcome = "SYSTEM_ERROR", "证件号 "+baoguan.MaskID(r.Declaration.Payer.IDNumber)+" 系统繁忙", "fail"
		if r.Record != nil {
			r.Record(c)
		}
		return baoguan.Receipt{}, baoguan.Permanent(errors.New("testwallet: SYSTEM_ERROR"))
	}
	res, err := fn()
	c.HTTPStatus, c.Code, c.Message, c.Outcome = 200, "SUCCESS", "受理成功", "ok"
	if r.Record != nil {
		r.Record(c)
	}
	return res, err
}

func (p *walletPort) Declare(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	return p.call("declare", r, func() (baoguan.Receipt, error) { return p.next.Declare(ctx, r) })
}

func (p *walletPort) Receipt(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	return p.call("query", r, func() (baoguan.Receipt, error) { return p.next.Receipt(ctx, r) })
}

func (e *env) run() {
	e.t.Helper()
	for range 20 {
		if _, err := e.svc.RunOnce(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		e.clock.Add(time.Second)
	}
}

// TestUpstreamCallsPage: the operator's page lists the calls the ports
// reported, with the merchant's and the order's numbers, masked messages,
// and filters by merchant and order.
func TestUpstreamCallsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := &walletPort{next: sandbox.NewPort(0)}
	e.svc.Sandbox.Port = port
	e.paidOrder(e.demo, "UP-1", idNumber)
	e.paidOrder(e.other, "UP-2", idNumber)
	ops := e.signedIn("ops", operatorPW)

	p := ops.get("/console/ops/upstream")
	if p.status != http.StatusOK {
		t.Fatalf("upstream page: %d", p.status)
	}
	rows := strings.Count(p.body, `<tr class="call">`)
	if rows < 2 {
		t.Fatalf("%d calls listed, want the declarations of UP-1 and UP-2:\n%s", rows, p.body)
	}
	for _, want := range []string{`href="/console/m/demo/orders/UP-1"`, `href="/console/m/other/orders/UP-2"`, "testwallet", "受理成功", ">ok<"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("upstream page lacks %q", want)
		}
	}

	// Filters: a merchant; a merchant's order, by order or payment number.
	if p := ops.get("/console/ops/upstream?merchant=other"); strings.Contains(p.body, "UP-1") || !strings.Contains(p.body, "UP-2") {
		t.Errorf("filtered to merchant other: %d", p.status)
	}
	o, _ := e.svc.Order(e.ctx, e.demo, "UP-1")
	for _, no := range []string{"UP-1", o.Payment.No} {
		if p := ops.get("/console/ops/upstream?merchant=demo&order=" + url.QueryEscape(no)); !strings.Contains(p.body, "UP-1") || strings.Contains(p.body, "UP-2") {
			t.Errorf("filtered to order %s: %d", no, p.status)
		}
	}
	for q, want := range map[string]string{"merchant=nobody": "no merchant nobody", "order=UP-1": "needs its merchant",
		"merchant=demo&order=NOPE": "has no order NOPE"} {
		if p := ops.get("/console/ops/upstream?" + q); p.status != http.StatusBadRequest || !strings.Contains(p.body, want) {
			t.Errorf("?%s: %d, want 400 saying %q", q, p.status, want)
		}
	}

	// A failing wallet: the call is logged with its code and masked
	// message, and the job it killed is on the dead jobs page.
	port.down.Store(true)
	e.paidOrder(e.demo, "UP-3", idNumber)
	p = ops.get("/console/ops/upstream?merchant=demo&order=UP-3")
	if !strings.Contains(p.body, "SYSTEM_ERROR") || !strings.Contains(p.body, baoguan.MaskID(idNumber)) || strings.Contains(p.body, idNumber) {
		t.Errorf("failed call: code or masked message missing, or the ID number in clear")
	}
	if p := ops.get("/console/ops/upstream?merchant=nobody&order=x"); strings.Contains(p.body, idNumber) {
		t.Error("error page shows an ID number")
	}
}

// TestDeadJobRetry: a declaration whose job died is listed on the dead
// jobs page with its error; Retry (after the cause is fixed) runs it again
// and the declaration succeeds.
func TestDeadJobRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := &walletPort{next: sandbox.NewPort(0)}
	port.down.Store(true)
	e.svc.Sandbox.Port = port
	e.paidOrder(e.demo, "DEAD-1", idNumber)
	ops := e.signedIn("ops", operatorPW)
	p := ops.get("/console/ops/jobs")
	m := regexp.MustCompile(`action="/console/ops/jobs/(\d+)/retry"`).FindStringSubmatch(p.body)
	if m == nil || !strings.Contains(p.body, "testwallet: SYSTEM_ERROR") || !strings.Contains(p.body, `<a href="/console/m/demo/">demo</a>`) {
		t.Fatalf("dead jobs page lists no dead declare job:\n%s", p.body)
	}
	port.down.Store(false)
	if p := ops.post("/console/ops/jobs/"+m[1]+"/retry", nil, "auto"); p.status != http.StatusSeeOther {
		t.Fatalf("retry: %d", p.status)
	}
	if p := ops.get("/console/ops/jobs?retried=" + m[1]); strings.Contains(p.body, `/jobs/`+m[1]+`/retry"`) {
		t.Error("the retried job is still listed as dead")
	}
	ops.get("/console/ops/jobs")
	if p := ops.post("/console/ops/jobs/"+m[1]+"/retry", nil, "auto"); p.status != http.StatusConflict {
		t.Errorf("retrying a job that is not dead: %d, want 409", p.status)
	}
	e.run()
	if o, _ := e.svc.Order(e.ctx, e.demo, "DEAD-1"); o.DeclareStatus != baoguan.DeclareDone {
		t.Errorf("after the retry the order is %s", o.DeclareStatus)
	}
}

// TestOperatorMerchants: create a merchant (credentials shown once),
// change its status and sandbox funding, set a protocol key.
func TestOperatorMerchants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ops := e.signedIn("ops", operatorPW)
	ops.get("/console/ops/merchants")
	p := ops.post("/console/ops/merchants", url.Values{"name": {"Shop three"}, "no": {"shop3"}, "mode": {"sandbox"}}, "auto")
	key := regexp.MustCompile(`api_key: (bg_test_[A-Za-z0-9_-]+)`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || key == nil {
		t.Fatalf("create merchant: %d, no API key shown", p.status)
	}
	if m, err := e.svc.MerchantByAPIKey(e.ctx, key[1]); err != nil || m.No != "shop3" {
		t.Fatalf("the key shown: %v", err)
	}
	if again := ops.get("/console/ops/merchants"); strings.Contains(again.body, key[1]) {
		t.Error("the merchants page shows the API key again")
	}
	if p := ops.post("/console/ops/merchants", url.Values{"name": {"dup"}, "no": {"shop3"}}, "auto"); p.status != http.StatusConflict {
		t.Errorf("a merchant number taken: %d, want 409", p.status)
	}

	ops.get("/console/ops/merchants")
	if p := ops.post("/console/ops/merchants/shop3", url.Values{"status": {"arrears"}, "funding": {"5000.50"}}, "auto"); p.status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", p.status, p.body)
	}
	m, _ := e.svc.MerchantByNo(e.ctx, "shop3")
	if m.Status != baoguan.MerchantArrears || m.FundingBalance != 500050 {
		t.Errorf("after the change: status %s, funding %d fen", m.Status, m.FundingBalance)
	}
	for form, want := range map[string]url.Values{"a bad status": {"status": {"closed"}}, "a bad amount": {"funding": {"5,000"}},
		"a negative amount": {"funding": {"-1"}}} {
		ops.get("/console/ops/merchants")
		if p := ops.post("/console/ops/merchants/shop3", want, "auto"); p.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", form, p.status)
		}
	}
	ops.get("/console/ops/merchants")
	if p := ops.post("/console/ops/merchants/nobody", url.Values{"status": {"active"}}, "auto"); p.status != http.StatusNotFound {
		t.Errorf("an unknown merchant: %d, want 404", p.status)
	}

	ops.get("/console/ops/merchants")
	if p := ops.post("/console/ops/protocol-keys", url.Values{"merchant": {"shop3"}, "setting": {"pushorder.access-token"},
		"value": {"T0kenOne9xQ4mL8zV3wN6cK1pH5dJ2sR"}, "grace": {"0"}}, "auto"); p.status != http.StatusSeeOther {
		t.Fatalf("protocol key: %d %s", p.status, p.body)
	}
	if m, _ := e.svc.MerchantByNo(e.ctx, "shop3"); m.Settings["pushorder.access-token"] != "T0kenOne9xQ4mL8zV3wN6cK1pH5dJ2sR" {
		t.Errorf("access token %q", m.Settings["pushorder.access-token"])
	}
	p = ops.get("/console/ops/merchants")
	if !strings.Contains(p.body, "pushorder.access-token") || strings.Contains(p.body, "T0kenOne9xQ4mL8zV3wN6cK1pH5dJ2sR") {
		t.Error("the merchants page does not say which protocol keys are set, or shows a value")
	}
	if p := ops.post("/console/ops/protocol-keys", url.Values{"merchant": {"shop3"}, "setting": {"shop.secret"}, "value": {"x"}}, "auto"); p.status != http.StatusBadRequest {
		t.Errorf("an unknown setting: %d, want 400", p.status)
	}
}

// TestOperatorDeclarationsByPort: declarations of every merchant by port,
// with customs' failure reasons.
func TestOperatorDeclarationsByPort(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidOrder(e.demo, "PORT-1", idNumber)
	e.paidOrder(e.other, "PORT-2", "110105199001019998") // FAIL 支付人姓名和证件号不匹配
	ops := e.signedIn("ops", operatorPW)
	p := ops.get("/console/ops/declarations")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="ports"`) || !strings.Contains(p.body, "HANGZHOU") ||
		!strings.Contains(p.body, "支付人姓名和证件号不匹配") || !strings.Contains(p.body, "1 / 2") {
		t.Errorf("declarations by port: %d\n%s", p.status, p.body)
	}
}

// TestOrdersSearchFiltersExport: search by order or payment number opens
// the order; filters narrow the list; the export carries every order the
// filters select and reads back.
func TestOrdersSearchFiltersExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidOrder(e.demo, "S-OK", idNumber)
	e.paidOrder(e.demo, "S-FAIL", "110105199001019998")
	e.paidOrder(e.demo, "S-PAYFAIL", idNumber) // the sandbox refuses it
	e.paidOrder(e.other, "S-OTHER", idNumber)
	ok, _ := e.svc.Order(e.ctx, e.demo, "S-OK")
	other, _ := e.svc.Order(e.ctx, e.other, "S-OTHER")
	b := e.signedIn("clerk", clerkPW)
	b.lang = "en"

	for _, q := range []string{"S-OK", ok.Payment.No, " S-OK "} {
		if p := b.get("/console/m/demo/orders?q=" + url.QueryEscape(q)); p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/m/demo/orders/S-OK" {
			t.Errorf("search %q: %d → %s", q, p.status, p.header.Get("Location"))
		}
	}
	for _, q := range []string{"S-OTHER", other.Payment.No, "NOPE"} {
		if p := b.get("/console/m/demo/orders?q=" + url.QueryEscape(q)); p.status != http.StatusOK || !strings.Contains(p.body, "No orders match") {
			t.Errorf("search %q (not demo's): %d", q, p.status)
		}
	}
	list := func(q string) []string {
		t.Helper()
		p := b.get("/console/m/demo/orders?" + q)
		if p.status != http.StatusOK {
			t.Fatalf("orders?%s: %d", q, p.status)
		}
		var nos []string
		for _, m := range regexp.MustCompile(`<td><a href="/console/m/demo/orders/([^"]+)">`).FindAllStringSubmatch(p.body, -1) {
			nos = append(nos, m[1])
		}
		return nos
	}
	today := e.clock.Now().In(core.ChinaTime).Format("2006-01-02")
	tomorrow := e.clock.Now().In(core.ChinaTime).AddDate(0, 0, 1).Format("2006-01-02")
	for q, want := range map[string]string{
		"":                                  "[S-PAYFAIL S-FAIL S-OK]",
		"pay=PAY_FAILED":                    "[S-PAYFAIL]",
		"declare=DECLARE_FAILED":            "[S-FAIL]",
		"declare=DECLARED&pay=PAY_SUCCEED":  "[S-OK]",
		"from=" + today + "&to=" + today:    "[S-PAYFAIL S-FAIL S-OK]",
		"from=" + tomorrow:                  "[]",
		"to=" + today + "&declare=DECLARED": "[S-OK]",
	} {
		if got := fmtList(list(q)); got != want {
			t.Errorf("orders?%s: %s, want %s", q, got, want)
		}
	}
	for _, q := range []string{"pay=PAID", "declare=x", "from=yesterday", "batch=one"} {
		if p := b.get("/console/m/demo/orders?" + q); p.status != http.StatusBadRequest {
			t.Errorf("orders?%s: %d, want 400", q, p.status)
		}
	}

	// Export the failed declarations: the list page links the export
	// with its filters; CSV and xlsx read back with the same rows.
	p := b.get("/console/m/demo/orders?declare=DECLARE_FAILED")
	link := regexp.MustCompile(`id="export-csv" href="([^"]+)"`).FindStringSubmatch(p.body)
	if link == nil {
		t.Fatal("no CSV export link")
	}
	href := strings.ReplaceAll(link[1], "&amp;", "&")
	if href != "/console/m/demo/orders/export?declare=DECLARE_FAILED&format=csv" {
		t.Errorf("export link %s", href)
	}
	for _, format := range []sheet.Format{sheet.CSV, sheet.XLSX} {
		p := b.get(strings.Replace(href, "format=csv", "format="+string(format), 1))
		if p.status != http.StatusOK || !strings.Contains(p.header.Get("Content-Disposition"), "."+string(format)) {
			t.Fatalf("export %s: %d %s", format, p.status, p.header.Get("Content-Disposition"))
		}
		r, err := sheet.NewReader(strings.NewReader(p.body), format)
		if err != nil {
			t.Fatal(err)
		}
		var rows [][]string
		for r.Next() {
			rows = append(rows, append([]string(nil), r.Row()...))
		}
		r.Close()
		if len(rows) != 2 || rows[0][0] != "merchant_order_no" || rows[1][0] != "S-FAIL" || rows[1][5] != "DECLARE_FAILED" ||
			rows[1][1] != "88.00" || rows[1][9] != baoguan.MaskID("110105199001019998") {
			t.Errorf("export %s: %v", format, rows)
		}
	}
	if p := b.get("/console/m/demo/orders/export?format=pdf"); p.status != http.StatusBadRequest {
		t.Errorf("export as pdf: %d", p.status)
	}
}

func fmtList(s []string) string { return "[" + strings.Join(s, " ") + "]" }

// TestOrderPage: an order's page shows its payment, each declaration with
// its receipt and customs' reason, refunds and every notification with
// its attempts; fixing the payer declares again and succeeds; a
// notification is redelivered.
func TestOrderPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidOrder(e.demo, "PAGE-1", "110105199001019998")
	o, _ := e.svc.Order(e.ctx, e.demo, "PAGE-1")
	b := e.signedIn("clerk", clerkPW)
	b.lang = "en"
	p := b.get("/console/m/demo/orders/PAGE-1")
	for _, want := range []string{o.Payment.No, ">FAIL<", "支付人姓名和证件号不匹配", "No refunds.",
		"order.paid", "declaration.failed", `class="attempt"`, `id="redeclare"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("order page lacks %q", want)
		}
	}
	// A refused fix says why and changes nothing.
	if p := b.post("/console/m/demo/orders/PAGE-1/declare", url.Values{"name": {"张三"}, "id_number": {"12345"}, "phone": {phone}}, "auto"); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `class="error"`) {
		t.Errorf("a bad ID number: %d", p.status)
	}
	p = b.post("/console/m/demo/orders/PAGE-1/declare", url.Values{"name": {"张三"}, "id_type": {"IDCARD"}, "id_number": {idNumber}, "phone": {phone}}, "auto")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/m/demo/orders/PAGE-1" {
		t.Fatalf("fix payer: %d → %s %s", p.status, p.header.Get("Location"), regexp.MustCompile(`class="error"[^<]*<`).FindString(p.body))
	}
	e.run()
	if _, _, err := e.svc.CreateRefund(e.ctx, e.demo, core.RefundInput{OrderNo: "PAGE-1", RefundNo: "RF-1", Amount: 800, Reason: "退货"}); err != nil {
		t.Fatal(err)
	}
	e.run()
	p = b.get("/console/m/demo/orders/PAGE-1")
	if !strings.Contains(p.body, ">SUCCESS<") || !strings.Contains(p.body, ">DECLARED<") || strings.Contains(p.body, `id="redeclare"`) {
		t.Errorf("after the fix the order page shows no success, or still offers the fix")
	}
	for _, want := range []string{"RF-1", "¥8.00", "退货", ">REFUND_SUCCEED<", "declaration.succeeded", "refund.succeeded"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("order page lacks %q", want)
		}
	}

	ev := regexp.MustCompile(`action="/console/m/demo/events/(\d+)/redeliver"`).FindStringSubmatch(p.body)
	if ev == nil {
		t.Fatal("no redeliver button")
	}
	id, _ := strconv.ParseInt(ev[1], 10, 64)
	_, before, _ := e.svc.Event(e.ctx, e.demo, id)
	if p := b.post("/console/m/demo/events/"+ev[1]+"/redeliver", nil, "auto"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/m/demo/orders/PAGE-1" {
		t.Fatalf("redeliver: %d → %s", p.status, p.header.Get("Location"))
	}
	e.run()
	if _, after, _ := e.svc.Event(e.ctx, e.demo, id); len(after) <= len(before) {
		t.Errorf("redelivery made no attempt: %d → %d", len(before), len(after))
	}
}

// upload posts a file to the batch form.
func (b *browser) upload(path, name string, data []byte) page {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", b.csrf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// TestBatchCSV: the CSV template downloads and reads back; a CSV with bad
// rows lists each with its row and column and writes nothing; a good one
// becomes a batch whose progress figure runs to every order finished.
func TestBatchCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signedIn("clerk", clerkPW)
	for _, f := range []sheet.Format{sheet.CSV, sheet.XLSX} {
		p := b.get("/console/m/demo/batches/template." + string(f))
		if p.status != http.StatusOK || p.header.Get("Content-Type") != f.ContentType() {
			t.Fatalf("template %s: %d %s", f, p.status, p.header.Get("Content-Type"))
		}
		r, err := sheet.NewReader(strings.NewReader(p.body), f)
		if err != nil {
			t.Fatal(err)
		}
		up, err := sheet.ReadOrders(r, "console")
		r.Close()
		if err != nil || len(up.Errors) != 0 || len(up.Orders) != 1 {
			t.Errorf("template %s does not read back as one good order: %v %+v", f, err, up)
		}
	}

	b.get("/console/m/demo/batches")
	head := "订单号,金额(元),商品描述,订购人姓名,订购人证件号,订购人电话,海关\n"
	bad := head + "C1,10.00,奶粉,张三," + idNumber + "," + phone + ",HANGZHOU_ZS\n" +
		"C2,ten,奶粉,张三," + idNumber + "," + phone + ",HANGZHOU_ZS\n" +
		"C3,10.00,奶粉,张三,12345," + phone + ",HANGZHOU_ZS\n"
	p := b.upload("/console/m/demo/batches", "orders.csv", []byte(bad))
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad CSV: %d", p.status)
	}
	errs := regexp.MustCompile(`<tr><td>(\d+)</td><td>([a-z_]+)</td>`).FindAllStringSubmatch(p.body, -1)
	var got []string
	for _, m := range errs {
		got = append(got, m[1]+":"+m[2])
	}
	if fmtList(got) != "[3:amount 4:payer_id_number]" {
		t.Errorf("row errors %v, want rows 3 (amount) and 4 (payer_id_number)", got)
	}
	if os, _ := e.svc.Orders(e.ctx, e.demo, baoguan.OrderFilter{}); len(os) != 0 {
		t.Errorf("a file with bad rows wrote %d orders", len(os))
	}

	b.get("/console/m/demo/batches")
	good := head + "C1,10.00,奶粉,张三," + idNumber + "," + phone + ",HANGZHOU_ZS\n" + "C2,20.00,奶粉,李四," + idNumber + "," + phone + ",HANGZHOU_ZS\n"
	p = b.upload("/console/m/demo/batches", "orders.csv", []byte(good))
	loc := p.header.Get("Location")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/m/demo/batches/") {
		t.Fatalf("good CSV: %d → %s\n%s", p.status, loc, p.body)
	}
	if p := b.get(loc); p.status != http.StatusOK || !strings.Contains(p.body, `data-progress="`+loc+`/progress"`) {
		t.Errorf("batch page: %d", p.status)
	}
	e.run()
	if p := b.get(loc + "/progress"); p.body != `{"total":2,"finished":2,"percent":100,"pay_succeed":2,"pay_failed":0,"declare_succeed":2,"declare_failed":0}` {
		t.Errorf("progress after the pipeline ran: %s", p.body)
	}
	if p := b.get(loc); !strings.Contains(p.body, `data-done="true"`) || !strings.Contains(p.body, ">100%<") {
		t.Error("the finished batch's page does not say it is done")
	}
	// The batches page lists it, with how far it is; another merchant's
	// list does not.
	if p := b.get("/console/m/demo/batches"); strings.Count(p.body, `<tr class="batch">`) != 1 || !strings.Contains(p.body, `href="`+loc+`"`) ||
		!strings.Contains(p.body, "2 (100%)") {
		t.Errorf("recent batches on the batches page:\n%s", p.body)
	}
	if p := e.signedIn("rival", clerkPW).get("/console/m/other/batches"); strings.Contains(p.body, `<tr class="batch">`) {
		t.Error("another merchant's batches page lists demo's batch")
	}
	b.get("/console/m/demo/batches")
	if p := b.upload("/console/m/demo/batches", "orders.pdf", []byte("x")); p.status != http.StatusBadRequest {
		t.Errorf("a .pdf: %d, want 400", p.status)
	}
}

// TestLoginRateLimit: after 10 wrong passwords for a login the console
// refuses even the right one with 429 until the bucket refills.
func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	for i := range 10 {
		if p := b.login("clerk", "wrong"); p.status != http.StatusUnauthorized {
			t.Fatalf("wrong try %d: %d", i+1, p.status)
		}
	}
	if p := b.login("clerk", clerkPW); p.status != http.StatusTooManyRequests {
		t.Fatalf("the right password after 10 wrong ones: %d, want 429", p.status)
	}
	e.clock.Add(7 * time.Second)
	if p := b.login("clerk", clerkPW); p.status != http.StatusSeeOther {
		t.Errorf("after the wait: %d", p.status)
	}
}

// TestDashboardDays: the 14-day chart has a bar per day and counts an
// order on the day it was made (China time).
func TestDashboardDays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidOrder(e.demo, "OLD-1", idNumber)
	e.clock.Add(3 * 24 * time.Hour)
	e.paidOrder(e.demo, "NEW-1", idNumber)
	e.paidOrder(e.demo, "NEW-2", idNumber)
	b := e.signedIn("clerk", clerkPW)
	p := b.get("/console/m/demo/")
	if n := strings.Count(p.body, `<rect class="orders"`); n != 14 {
		t.Errorf("%d day bars, want 14", n)
	}
	old := e.clock.Now().Add(-3 * 24 * time.Hour).In(core.ChinaTime).Format("01-02")
	now := e.clock.Now().In(core.ChinaTime).Format("01-02")
	for _, want := range []string{"<title>" + old + " orders 1</title>", "<title>" + now + " orders 2</title>"} {
		if !strings.Contains(strings.ReplaceAll(p.body, "订单", "orders"), want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if n := regexp.MustCompile(`data-kpi="orders-today">(\d+)<`).FindStringSubmatch(p.body); n == nil || n[1] != "2" {
		t.Errorf("orders today: %v", n)
	}
}

// TestSettingsNotifyURLs: a merchant user sets the notify URL and the
// protocols' own notification addresses; a refused address changes
// nothing; an empty one falls back to the notify URL.
func TestSettingsNotifyURLs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signedIn("clerk", clerkPW)
	b.get("/console/m/demo/settings")
	p := b.post("/console/m/demo/settings", url.Values{"notify_url": {"https://shop.example/hook"},
		"pushorder.callback-url": {"https://shop.example/pushorder"}, "payzero.notify-url": {"https://shop.example/payzero"},
		"wisecashier.notify-url": {""}}, "auto")
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.status, p.body)
	}
	m, _ := e.svc.MerchantByNo(e.ctx, "demo")
	if m.NotifyURL != "https://shop.example/hook" || m.Settings["pushorder.callback-url"] != "https://shop.example/pushorder" ||
		m.Settings["payzero.notify-url"] != "https://shop.example/payzero" || m.Settings["wisecashier.notify-url"] != "" {
		t.Fatalf("after saving: %q %v", m.NotifyURL, m.Settings)
	}
	if p := b.get("/console/m/demo/settings?saved=1"); !strings.Contains(p.body, `value="https://shop.example/payzero"`) {
		t.Error("the settings page does not show the payzero address")
	}
	p = b.post("/console/m/demo/settings", url.Values{"notify_url": {"https://shop.example/other"}, "payzero.notify-url": {"ftp://shop.example/"}}, "auto")
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `class="error"`) {
		t.Errorf("an ftp address: %d", p.status)
	}
	b.get("/console/m/demo/settings")
	if p := b.post("/console/m/demo/settings", url.Values{"notify_url": {"https://shop.example/hook"}, "payzero.notify-url": {""}}, "auto"); p.status != http.StatusSeeOther {
		t.Fatalf("clearing: %d", p.status)
	}
	m, _ = e.svc.MerchantByNo(e.ctx, "demo")
	if m.NotifyURL != "https://shop.example/hook" || m.Settings["payzero.notify-url"] != "" || m.Settings["pushorder.callback-url"] != "https://shop.example/pushorder" {
		t.Errorf("after the refused form and the clearing: %q %v", m.NotifyURL, m.Settings)
	}
}
