package payzero_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/payzero"
	"github.com/baoguan/baoguan/sandbox"
)

var apply = map[string]any{"requestId": "REQ1", "acctname": "王五", "acctno": "6217920151050000", "accttype": "00",
	"bankcode": "999", "idno": "110105199001011232", "mobile": "13800138000"}

type quick struct {
	MchtOrderNo, Psp, Agreeid, PayStatus string
	Message                              *string
}

// Quick pay in the sandbox: bank 999 with any card, any 6-character SMS
// code, codes good for 3 minutes and one try, redoQuickpay for a new one.
func TestQuickPay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("quick")

	// Agreement: another bank is refused in the sandbox; CVV2 never echoed.
	other := map[string]any{}
	for k, v := range apply {
		other[k] = v
	}
	other["bankcode"] = "0308"
	if r := m.call("POST", "/sdbc/agreeApply", other); r.code() != "30001" || !strings.Contains(r.msg(), "bankcode") {
		t.Fatalf("bank 0308 in the sandbox: %s", r.Raw)
	}
	credit := map[string]any{}
	for k, v := range apply {
		credit[k] = v
	}
	credit["accttype"], credit["requestId"] = "02", "REQ-CREDIT"
	if r := m.call("POST", "/sdbc/agreeApply", credit); r.code() != "30001" || !strings.Contains(r.msg(), "cvv2") {
		t.Fatalf("credit card without cvv2: %s", r.Raw)
	}
	credit["cvv2"], credit["validdate"] = "123", "2912"
	r := m.ok("POST", "/sdbc/agreeApply", credit, nil)
	if bytes.Contains(r.Raw, []byte(`"123"`)) || !bytes.Contains(r.Raw, []byte(`"cvv2":null`)) || bytes.Contains(r.Raw, []byte("6217920151050000")) {
		t.Fatalf("agreeApply echoes card secrets: %s", r.Raw)
	}
	m.ok("POST", "/sdbc/agreeApply", apply, nil)
	// A wrong code burns the application; applying again sends a new one.
	if r := m.call("POST", "/sdbc/agreeConfirm", map[string]any{"requestId": "REQ1", "smsCode": "12345"}); r.code() != "30011" {
		t.Fatalf("5-character code: %s", r.Raw)
	}
	if r := m.call("POST", "/sdbc/agreeConfirm", map[string]any{"requestId": "REQ1", "smsCode": "123456"}); r.code() != "30013" {
		t.Fatalf("corrected code without re-applying: %s", r.Raw)
	}
	m.ok("POST", "/sdbc/agreeApply", apply, nil)
	var ag struct{ Agreeid, Acctno string }
	m.ok("POST", "/sdbc/agreeConfirm", map[string]any{"requestId": "REQ1", "smsCode": "a1b2c3"}, &ag)
	if len(ag.Agreeid) != 18 || ag.Acctno != "6217 **** **** 0000" {
		t.Fatalf("agreement %+v", ag)
	}
	// Confirming again is idempotent; re-applying a confirmed request id is not.
	var again struct{ Agreeid string }
	m.ok("POST", "/sdbc/agreeConfirm", map[string]any{"requestId": "REQ1", "smsCode": "zzzzzz"}, &again)
	if again.Agreeid != ag.Agreeid {
		t.Errorf("second confirm gave %s", again.Agreeid)
	}
	if r := m.call("POST", "/sdbc/agreeApply", apply); r.code() != "30002" {
		t.Errorf("re-applying a confirmed request id: %s", r.Raw)
	}
	// The card number is sealed at rest like every setting.
	a, err := h.svc.CardAgreement(h.ctx, m.M, ag.Agreeid)
	if err != nil || a.AcctNo != "6217920151050000" {
		t.Fatalf("agreement: %+v %v", a, err)
	}

	order := map[string]any{"agreeid": ag.Agreeid, "mchtOrderNo": "Q1", "paymentAmount": 3352, "currency": "CNY", "subject": "测试商品1",
		"customsCode": "HG022", "payerName": "李白", "payerNumber": "110105199001011232", "payerPhone": "13800138000"}
	var q quick
	m.ok("POST", "/order/createAndQuickpay", order, &q)
	if q.PayStatus != "PAY_APPLIED" || q.Psp != "ALLINPAY" || q.Message == nil || *q.Message != "请输入短信验证码" {
		t.Fatalf("createAndQuickpay %+v", q)
	}
	confirm := func(code string) *resp {
		return m.call("POST", "/order/confirmQuickpay", map[string]any{"mchtOrderNo": "Q1", "agreeid": ag.Agreeid, "smsCode": code})
	}
	// Wrong code, then the right one without redo: 请求异常.
	if r := confirm("1234567"); r.code() != "30011" {
		t.Fatalf("7-character code: %s", r.Raw)
	}
	if r := confirm("700336"); r.code() != "30013" || !strings.Contains(r.msg(), "请求异常") {
		t.Fatalf("corrected code without redo: %s", r.Raw)
	}
	// Redo sends a new code; it expires after 3 minutes.
	m.ok("POST", "/order/redoQuickpay", map[string]any{"mchtOrderNo": "Q1", "agreeid": ag.Agreeid}, &q)
	if q.PayStatus != "PAY_APPLIED" {
		t.Fatalf("redo %+v", q)
	}
	h.clock.Add(core.SMSCodeTTL + time.Second)
	if r := confirm("700336"); r.code() != "30012" {
		t.Fatalf("expired code: %s", r.Raw)
	}
	m.ok("POST", "/order/redoQuickpay", map[string]any{"mchtOrderNo": "Q1", "agreeid": ag.Agreeid}, nil)
	h.clock.Add(core.SMSCodeTTL - time.Second)
	if r := confirm("700336"); r.code() != "" {
		t.Fatalf("code within 3 minutes: %s", r.Raw)
	} else {
		r.data(t, &q)
	}
	if q.PayStatus != "PAY_SUCCEED" || q.Message != nil {
		t.Fatalf("confirm %+v", q)
	}
	v := m.waitOrder("Q1", baoguan.PaySucceed, baoguan.DeclareDone)
	// The card holder (王五) paid and the order's payer (李白) was declared:
	// the declaration's identity check says DIFFERENT.
	if v.Order.Payment.PayerName != "王五" || v.Declarations[0].IdentityCheck != baoguan.CheckDifferent {
		t.Errorf("payer %q, identity check %s", v.Order.Payment.PayerName, v.Declarations[0].IdentityCheck)
	}
	// A second confirm of a paid order answers the outcome.
	if r := confirm("000000"); r.code() != "" {
		t.Errorf("confirm after payment: %s", r.Raw)
	}
	h.waitFor("pay and declare notices", func() bool { return len(h.hooks.notices("quick")) >= 2 })
	for _, n := range h.hooks.notices("quick") {
		verify(t, n, m.SignToken)
	}
	// An unknown agreement, and redo of a paid order.
	order["mchtOrderNo"], order["agreeid"] = "Q2", "201905041150567656"
	if r := m.call("POST", "/order/createAndQuickpay", order); r.code() != "30004" {
		t.Errorf("unknown agreement: %s", r.Raw)
	}
	if r := m.call("POST", "/order/redoQuickpay", map[string]any{"mchtOrderNo": "Q1", "agreeid": ag.Agreeid}); r.code() != "30005" {
		t.Errorf("redo of a paid order: %s", r.Raw)
	}
	// The bank refusing (sandbox: order number ends in PAYFAIL) fails the payment.
	order["mchtOrderNo"], order["agreeid"] = "Q3PAYFAIL", ag.Agreeid
	m.ok("POST", "/order/createAndQuickpay", order, nil)
	m.ok("POST", "/order/confirmQuickpay", map[string]any{"mchtOrderNo": "Q3PAYFAIL", "agreeid": ag.Agreeid, "smsCode": "700336"}, &q)
	if q.PayStatus != "PAY_FAILED" || q.Message == nil {
		t.Errorf("refused payment %+v", q)
	}
}

// QR codes: the sandbox page pays or fails the order; codes refresh,
// switch type and expire.
func TestQRCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("qr")
	type qrAnswer struct{ MchtOrderNo, Psp, CodeURL, QrCodeType string }
	var q qrAnswer
	order := map[string]any{"qrCodeType": "ALIPAY", "mchtOrderNo": "QR1", "paymentAmount": 3352, "currency": "CNY", "subject": "测试商品1",
		"customsCode": "HG022", "payerName": "李白", "payerNumber": "310327198009270027", "payerPhone": "13800138000"}
	if r := m.call("POST", "/order/createAndQrCode", map[string]any{"qrCodeType": "PAYPAL", "mchtOrderNo": "QR0", "paymentAmount": 1, "subject": "x"}); r.code() != "30001" || !strings.Contains(r.msg(), "qrCodeType") {
		t.Fatalf("bad type: %s", r.Raw)
	}
	m.ok("POST", "/order/createAndQrCode", order, &q)
	if q.QrCodeType != "ALIPAY" || q.Psp != "EASYPAY" || !strings.HasPrefix(q.CodeURL, h.srv.URL+"/payzero/sandbox/qr/") {
		t.Fatalf("createAndQrCode %+v", q)
	}
	// Repeating the request shows the same code.
	var same qrAnswer
	m.ok("POST", "/order/createAndQrCode", order, &same)
	if same.CodeURL != q.CodeURL {
		t.Errorf("repeat gave another code")
	}
	// Switching type replaces the code: the old page is gone.
	var wx qrAnswer
	m.ok("GET", "/order/qrCode?mchtOrderNo=QR1&qrCodeType=WECHATPAY", nil, &wx)
	if wx.QrCodeType != "WECHATPAY" || wx.CodeURL == q.CodeURL {
		t.Fatalf("refresh %+v", wx)
	}
	if res := get(t, q.CodeURL); res.StatusCode != http.StatusGone {
		t.Errorf("replaced code's page: %d", res.StatusCode)
	}
	page := get(t, wx.CodeURL)
	body, _ := io.ReadAll(page.Body)
	if page.StatusCode != 200 || !bytes.Contains(body, []byte("QR1")) || !bytes.Contains(body, []byte("33.52")) || !bytes.Contains(body, []byte(`value="pay"`)) {
		t.Fatalf("page %d %s", page.StatusCode, body)
	}
	png := get(t, wx.CodeURL+".png")
	img, _ := io.ReadAll(png.Body)
	if png.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("png %s %q", png.Header.Get("Content-Type"), img[:min(8, len(img))])
	}
	// The tester pays.
	res, err := http.PostForm(wx.CodeURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("支付成功")) {
		t.Fatalf("pay %d %s", res.StatusCode, body)
	}
	v := m.waitOrder("QR1", baoguan.PaySucceed, baoguan.DeclareDone)
	if v.Order.Payment.PSP != "EASYPAY" || v.Order.Payment.PayType != "3" {
		t.Errorf("payment %+v", v.Order.Payment)
	}
	var dto map[string]any
	m.ok("GET", "/order/queryOrder?mchtOrderNo=QR1", nil, &dto)
	if dto["payStatus"] != "PAY_SUCCEED" || dto["paymentDatetime"] != "20190402111146" {
		t.Errorf("queryOrder %v", dto)
	}
	// Paid: the code cannot be paid again, nor refreshed.
	if res, _ := http.PostForm(wx.CodeURL, url.Values{"action": {"pay"}}); res.StatusCode != http.StatusConflict {
		t.Errorf("paying twice: %d", res.StatusCode)
	}
	if r := m.call("GET", "/order/qrCode?mchtOrderNo=QR1&qrCodeType=ALIPAY", nil); r.code() != "30005" {
		t.Errorf("refreshing a paid order: %s", r.Raw)
	}

	// A failed scan, then a refreshed code in a new payment round.
	order["mchtOrderNo"] = "QR2"
	m.ok("POST", "/order/createAndQrCode", order, &q)
	if res, _ := http.PostForm(q.CodeURL, url.Values{"action": {"fail"}}); res.StatusCode != 200 {
		t.Fatalf("fail: %d", res.StatusCode)
	}
	m.waitOrder("QR2", baoguan.PayFailed, baoguan.DeclarePending)
	m.ok("GET", "/order/qrCode?mchtOrderNo=QR2&qrCodeType=UNIONPAY", nil, &q)
	if st := m.order("QR2").Order; st.PayStatus != baoguan.PayApplied || st.PayAttempts != 2 {
		t.Fatalf("after refresh: %s round %d", st.PayStatus, st.PayAttempts)
	}
	// Codes expire.
	h.clock.Add(sandbox.CollectTTL)
	if res, _ := http.PostForm(q.CodeURL, url.Values{"action": {"pay"}}); res.StatusCode != http.StatusConflict {
		t.Errorf("expired code paid: %d", res.StatusCode)
	}
	if _, err := h.svc.PayCollection(h.ctx, q.CodeURL[strings.LastIndex(q.CodeURL, "/")+1:], baoguan.PayerAction{Paid: true}); baoguan.ErrorReason(err) != "qr_expired" {
		t.Errorf("expired: %v", err)
	}
	if res := get(t, h.srv.URL+"/payzero/sandbox/qr/1-deadbeef"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown token: %d", res.StatusCode)
	}
	// A batch order can be paid by QR code instead of automatic payment.
	m.ok("POST", "/orderBatch", `[{"mchtOrderNo":"QB1","paymentAmount":500,"currency":"CNY","subject":"x"}]`, nil)
	m.ok("GET", "/order/qrCode?mchtOrderNo=QB1&qrCodeType=WECHATPAY", nil, &q)
	if _, err := h.svc.PayCollection(h.ctx, q.CodeURL[strings.LastIndex(q.CodeURL, "/")+1:], baoguan.PayerAction{Paid: true}); err != nil {
		t.Fatal(err)
	}
	m.waitOrder("QB1", baoguan.PaySucceed, baoguan.DeclareNone)
}

func get(t *testing.T, u string) *http.Response {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// Virtual payment answers at once; redoMockpay after a failure.
func TestMockPay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("mock")
	var out struct {
		PayStatus string
		Psp       *string
		Message   *string
	}
	m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "M1PAYFAIL", "paymentAmount": 100, "currency": "CNY", "subject": "x"}, &out)
	if out.PayStatus != "PAY_FAILED" || out.Message == nil || *out.Message == "" {
		t.Fatalf("failed mock %+v", out)
	}
	m.ok("POST", "/order/redoMockpay", map[string]any{"mchtOrderNo": "M1PAYFAIL"}, &out)
	if st := m.order("M1PAYFAIL").Order; st.PayAttempts != 2 || out.PayStatus != "PAY_FAILED" {
		t.Errorf("redo: %+v round %d", out, st.PayAttempts)
	}
	if r := m.call("POST", "/order/redoMockpay", map[string]any{"mchtOrderNo": "NOPE"}); r.code() != "30004" {
		t.Errorf("unknown order: %s", r.Raw)
	}
	// A repeated createAndMockpay with other content is a duplicate.
	if r := m.call("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "M1PAYFAIL", "paymentAmount": 200, "currency": "CNY", "subject": "x"}); r.code() != "30002" {
		t.Errorf("duplicate: %s", r.Raw)
	}
	// needDeclare true without a customs code.
	if r := m.call("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "M2", "paymentAmount": 1, "subject": "x", "needDeclare": true}); r.code() != "30001" || !strings.Contains(r.msg(), "customsCode") {
		t.Errorf("needDeclare without customsCode: %s", r.Raw)
	}
}

// The dedicated listener serves the same routes at the root.
func TestRootHandler(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("root")
	pz, err := payzero.New(payzero.Options{Svc: h.svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(pz.Handler())
	defer srv.Close()
	res, err := http.Post(srv.URL+"/auth/login", "application/json", strings.NewReader(`{"username":"`+m.AppID+`","password":"`+m.AppKey+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(b, []byte(`"success":true`)) {
		t.Fatalf("login at the root: %d %s", res.StatusCode, b)
	}
	if res, _ := http.Get(srv.URL + "/payzero/auth/login"); res.StatusCode != 404 {
		t.Errorf("prefixed path on the dedicated listener: %d", res.StatusCode)
	}
	if _, err := payzero.New(payzero.Options{}); err == nil {
		t.Error("New without a core should fail")
	}
}
