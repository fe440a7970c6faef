package wechatv3_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/wechatv3"
)

func encryptPKCS1(t *testing.T, h *harness, s string) string {
	t.Helper()
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, &h.platform.Private.PublicKey, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(ct)
}

func encryptOAEP(t *testing.T, h *harness, s string) string {
	t.Helper()
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &h.platform.Private.PublicKey, []byte(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(ct)
}

func ptr[T any](v T) *T { return &v }

// TestDeclareQueryModifyRedeclare follows one order through the whole
// family: declared whole, answered by customs, queried every way, modified
// and re-declared.
func TestDeclareQueryModifyRedeclare(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.paidOrder(t, h.A.M, orderSpec{No: "WX-FLOW-1", Amount: 12345})

	d := h.declare(t, h.A, map[string]any{"out_trade_no": "WX-FLOW-1", "customs": "SHANGHAI_ZS", "merchant_customs_no": "3101234567", "duty": 300})
	if d.State != "SUBMITTED" || d.SubOrderID == "" || d.TransactionID != o.Payment.No || d.OutTradeNo != "WX-FLOW-1" {
		t.Fatalf("declare reply: %+v", d)
	}
	if d.OrderFee != 12345 || d.ProductFee != 12345 || d.TransportFee != 0 || d.FeeType != "CNY" || d.Duty != 300 {
		t.Fatalf("an unsplit declaration declares the whole paid amount: %+v", d)
	}
	if _, err := time.Parse(time.RFC3339, d.ModifyTime); err != nil || !strings.HasSuffix(d.ModifyTime, "+08:00") {
		t.Fatalf("modify_time %q is not RFC 3339 in +08:00", d.ModifyTime)
	}
	h.waitDecl(t, h.A.M, "WX-FLOW-1", "SHANGHAI_ZS", "", baoguan.DeclSuccess)

	for _, by := range []struct{ typ, no string }{{"out_trade_no", "WX-FLOW-1"}, {"transaction_id", o.Payment.No}, {"sub_order_id", d.SubOrderID}} {
		r := h.query(t, h.A, by.typ, by.no, "SHANGHAI_ZS")
		expect(t, r, http.StatusOK, "", "")
		q := decode[queryResult](t, r)
		if q.TotalCount != 1 || len(q.Data) != 1 || q.TransactionID != o.Payment.No || q.Limit != 20 || q.Offset != 0 {
			t.Fatalf("query by %s: %s", by.typ, r)
		}
		it := q.Data[0]
		if it.State != "SUCCESS" || it.MchCustomsNo != "3101234567" || it.SubOrderID != d.SubOrderID || it.OrderFee != 12345 || it.Duty != 300 {
			t.Fatalf("query by %s: %s", by.typ, r)
		}
		if q.VerifyDepartment != "UNIONPAY" || !strings.HasPrefix(q.VerifyDepartmentTradeID, "4208") {
			t.Fatalf("query by %s: verification department missing: %s", by.typ, r)
		}
	}

	// Modify: the new customs number is declared again.
	r := h.do(t, call{Method: http.MethodPatch, Path: customsPath + "/orders", Body: mustJSON(t, map[string]any{
		"appid": "wxd678efh567hg6787", "mchid": h.A.MchID, "out_trade_no": "WX-FLOW-1", "customs": "SHANGHAI_ZS",
		"merchant_customs_no": "3109999999", "duty": 0})})
	expect(t, r, http.StatusOK, "", "")
	if m := decode[declaration](t, r); m.State != "SUBMITTED" || m.MerchantCustomsNo != "3109999999" || m.Duty != 0 || m.SubOrderID != d.SubOrderID {
		t.Fatalf("modify reply: %s", r)
	}
	got := h.waitDecl(t, h.A.M, "WX-FLOW-1", "SHANGHAI_ZS", "", baoguan.DeclSuccess)
	if got.Attempts != 2 || got.MerchantCustomsNo != "3109999999" {
		t.Fatalf("after modify: attempts %d, customs no %s; want 2 and the new number", got.Attempts, got.MerchantCustomsNo)
	}

	// Redeclare from SUCCESS.
	r = h.do(t, call{Method: http.MethodPost, Path: customsPath + "/redeclare", Body: mustJSON(t, map[string]any{
		"appid": "wxd678efh567hg6787", "mchid": h.A.MchID, "transaction_id": o.Payment.No, "customs": "SHANGHAI_ZS",
		"sub_order_id": d.SubOrderID, "merchant_customs_no": "3109999999"})})
	expect(t, r, http.StatusOK, "", "")
	if rd := decode[declaration](t, r); rd.State != "SUBMITTED" || rd.OutTradeNo != "WX-FLOW-1" {
		t.Fatalf("redeclare reply: %s", r)
	}
	if got := h.waitDecl(t, h.A.M, "WX-FLOW-1", "SHANGHAI_ZS", "", baoguan.DeclSuccess); got.Attempts != 3 {
		t.Fatalf("after redeclare: attempts %d, want 3", got.Attempts)
	}

	// A repeated declare answers the declaration as it is.
	again := h.declare(t, h.A, map[string]any{"out_trade_no": "WX-FLOW-1", "customs": "SHANGHAI_ZS", "merchant_customs_no": "3109999999"})
	if again.SubOrderID != d.SubOrderID || again.State != "SUCCESS" {
		t.Fatalf("repeated declare: %+v", again)
	}
}

// TestSplitDeclarations declares one order in parts and checks the amount
// rules: order_fee = transport_fee + product_fee, and the parts to one
// customs code never exceed what was paid.
func TestSplitDeclarations(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.paidOrder(t, h.A.M, orderSpec{No: "WX-SPLIT-1", Amount: 10000})
	part := func(sub string, fee, transport, product int64) map[string]any {
		return map[string]any{"appid": "wxd678efh567hg6787", "mchid": h.A.MchID, "out_trade_no": "WX-SPLIT-1", "customs": "HANGZHOU_ZS",
			"merchant_customs_no": "3301234567", "sub_order_no": sub, "fee_type": "CNY", "order_fee": fee, "transport_fee": transport, "product_fee": product}
	}
	post := func(body map[string]any) *response {
		return h.do(t, call{Method: http.MethodPost, Path: customsPath + "/orders", Body: mustJSON(t, body)})
	}
	r := post(part("P1", 6000, 1000, 5000))
	expect(t, r, http.StatusOK, "", "")
	if d := decode[declaration](t, r); d.SubOrderNo != "P1" || d.OrderFee != 6000 || d.TransportFee != 1000 {
		t.Fatalf("part 1: %s", r)
	}
	expect(t, post(part("P2", 4000, 0, 4000)), http.StatusOK, "", "")
	// 6000 + 4000 is all that was paid: one fen more is refused.
	expect(t, post(part("P3", 1, 0, 1)), http.StatusBadRequest, "PARAM_ERROR", "#/properties/order_fee")
	expect(t, post(part("P4", 100, 10, 50)), http.StatusBadRequest, "PARAM_ERROR", "#/properties/order_fee")
	h.waitDecl(t, h.A.M, "WX-SPLIT-1", "HANGZHOU_ZS", "P1", baoguan.DeclSuccess)
	h.waitDecl(t, h.A.M, "WX-SPLIT-1", "HANGZHOU_ZS", "P2", baoguan.DeclSuccess)

	r = h.query(t, h.A, "out_trade_no", "WX-SPLIT-1", "HANGZHOU_ZS")
	if q := decode[queryResult](t, r); q.TotalCount != 2 || len(q.Data) != 2 || q.Data[0].SubOrderNo != "P1" || q.Data[1].SubOrderNo != "P2" {
		t.Fatalf("query both parts: %s", r)
	}
	r = h.do(t, call{Method: http.MethodGet, Path: customsPath + "/orders?appid=wx1&mchid=" + h.A.MchID +
		"&order_type=out_trade_no&order_no=WX-SPLIT-1&customs=HANGZHOU_ZS&offset=1&limit=1"})
	if q := decode[queryResult](t, r); q.TotalCount != 2 || len(q.Data) != 1 || q.Data[0].SubOrderNo != "P2" || q.Offset != 1 || q.Limit != 1 {
		t.Fatalf("second page: %s", r)
	}
	r = h.query(t, h.A, "sub_order_no", "P2", "HANGZHOU_ZS")
	if q := decode[queryResult](t, r); q.TotalCount != 1 || q.Data[0].OrderFee != 4000 {
		t.Fatalf("query by sub_order_no: %s", r)
	}

	// Modifying a part above what is left is refused; within it, accepted.
	modify := func(fee, transport, product int64) *response {
		return h.do(t, call{Method: http.MethodPatch, Path: customsPath + "/orders", Body: mustJSON(t, map[string]any{
			"appid": "wx1", "mchid": h.A.MchID, "out_trade_no": "WX-SPLIT-1", "customs": "HANGZHOU_ZS", "sub_order_no": "P2",
			"order_fee": fee, "transport_fee": transport, "product_fee": product})})
	}
	expect(t, modify(5000, 0, 5000), http.StatusBadRequest, "PARAM_ERROR", "#/properties/order_fee")
	r = modify(3000, 500, 2500)
	expect(t, r, http.StatusOK, "", "")
	if d := decode[declaration](t, r); d.OrderFee != 3000 || d.State != "SUBMITTED" {
		t.Fatalf("modify part 2: %s", r)
	}
	h.waitDecl(t, h.A.M, "WX-SPLIT-1", "HANGZHOU_ZS", "P2", baoguan.DeclSuccess)
}

// TestRedeclareExcept re-declares a declaration that met a customs
// interface exception; the sandbox heals it on the second attempt.
func TestRedeclareExcept(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.paidOrder(t, h.A.M, orderSpec{No: "WX-EXC-1", Name: "王五", ID: idExceptOnce})
	h.declare(t, h.A, map[string]any{"out_trade_no": "WX-EXC-1", "customs": "NINGBO", "merchant_customs_no": "3302"})
	h.waitDecl(t, h.A.M, "WX-EXC-1", "NINGBO", "", baoguan.DeclExcept)
	r := h.query(t, h.A, "out_trade_no", "WX-EXC-1", "NINGBO")
	if q := decode[queryResult](t, r); q.Data[0].State != "EXCEPT" || q.Data[0].Explanation == "" {
		t.Fatalf("query: %s", r)
	}
	r = h.do(t, call{Method: http.MethodPost, Path: customsPath + "/redeclare", Body: mustJSON(t, map[string]any{
		"appid": "wx1", "mchid": h.A.MchID, "out_trade_no": "WX-EXC-1", "customs": "NINGBO"})})
	expect(t, r, http.StatusOK, "", "")
	h.waitDecl(t, h.A.M, "WX-EXC-1", "NINGBO", "", baoguan.DeclSuccess)
}

// TestInFlight: while customs has not answered, a declaration can be
// neither modified nor re-declared, and shows as PROCESSING.
func TestInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *harnessConfig) { c.portDelay = time.Hour })
	h.paidOrder(t, h.A.M, orderSpec{No: "WX-FLY-1"})
	h.declare(t, h.A, map[string]any{"out_trade_no": "WX-FLY-1", "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
	h.waitDecl(t, h.A.M, "WX-FLY-1", "SHANGHAI_ZS", "", baoguan.DeclProcessing)
	r := h.query(t, h.A, "out_trade_no", "WX-FLY-1", "SHANGHAI_ZS")
	if q := decode[queryResult](t, r); q.Data[0].State != "PROCESSING" {
		t.Fatalf("query: %s", r)
	}
	r = h.do(t, call{Method: http.MethodPatch, Path: customsPath + "/orders", Body: mustJSON(t, map[string]any{
		"appid": "wx1", "mchid": h.A.MchID, "out_trade_no": "WX-FLY-1", "customs": "SHANGHAI_ZS", "merchant_customs_no": "32"})})
	expect(t, r, http.StatusBadRequest, "INVALID_REQUEST", "")
	r = h.do(t, call{Method: http.MethodPost, Path: customsPath + "/redeclare", Body: mustJSON(t, map[string]any{
		"appid": "wx1", "mchid": h.A.MchID, "out_trade_no": "WX-FLY-1", "customs": "SHANGHAI_ZS"})})
	expect(t, r, http.StatusBadRequest, "INVALID_REQUEST", "")
}

// TestVerifyCertificate compares identities with the payer on record, with
// the fields encrypted the seed's way (PKCS #1 v1.5) and the SDKs' (OAEP).
func TestVerifyCertificate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.paidOrder(t, h.A.M, orderSpec{No: "WX-VER-1", Name: "李四", ID: "11010519900101123x"})
	h.declare(t, h.A, map[string]any{"transaction_id": o.Payment.No, "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
	serial := h.platformSerial()
	for _, tc := range []struct {
		name, id, person string
		oaep             bool
		want             string
	}{
		{"same, PKCS#1 v1.5", "11010519900101123X", "李四", false, "SAME"},
		{"same, OAEP", "11010519900101123x", "李四", true, "SAME"},
		{"other name", "11010519900101123X", "张三", false, "DIFFERENT"},
		{"other number", idSucceeds, "李四", true, "DIFFERENT"},
	} {
		enc := encryptPKCS1
		if tc.oaep {
			enc = encryptOAEP
		}
		r := h.do(t, call{Method: http.MethodPost, Path: customsPath + "/verify-certificate", Header: map[string]string{"Wechatpay-Serial": serial},
			Body: mustJSON(t, map[string]any{"appid": "wx1", "mchid": h.A.MchID, "out_trade_no": "WX-VER-1", "customs": "SHANGHAI_ZS",
				"certificate_type": "IDCARD", "certificate_id": enc(t, h, tc.id), "certificate_name": enc(t, h, tc.person)})})
		expect(t, r, http.StatusOK, "", "")
		v := decode[map[string]any](t, r)
		if v["certificate_check_result"] != tc.want || v["transaction_id"] != o.Payment.No || v["merchant_customs_no"] != "31" {
			t.Errorf("%s: %s", tc.name, r)
		}
	}
}

func (h *harness) platformSerial() string {
	return strings.ToUpper(h.platform.Cert.SerialNumber.Text(16))
}

// TestCertificates decrypts the certificate list with the APIv3 key, on
// every path it is served at, and finds the platform certificate.
func TestCertificates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, p := range []string{"/v3/certificates", "/v3/global/certificates", "/global/v3/certificates"} {
		r := h.do(t, call{Method: http.MethodGet, Path: p})
		expect(t, r, http.StatusOK, "", "")
		list := decode[certList](t, r)
		if len(list.Data) != 1 {
			t.Fatalf("%s: %s", p, r)
		}
		c := list.Data[0]
		if c.SerialNo != r.Header.Get("Wechatpay-Serial") || c.Enc.Algorithm != "AEAD_AES_256_GCM" || c.Enc.AssociatedData != "certificate" {
			t.Fatalf("%s: %s", p, r)
		}
		if _, err := time.Parse(time.RFC3339, c.ExpireTime); err != nil {
			t.Fatalf("%s: expire_time %q", p, c.ExpireTime)
		}
		block, _ := aes.NewCipher([]byte(h.A.APIv3Key))
		gcm, _ := cipher.NewGCM(block)
		ct, _ := base64.StdEncoding.DecodeString(c.Enc.Ciphertext)
		pt, err := gcm.Open(nil, []byte(c.Enc.Nonce), ct, []byte(c.Enc.AssociatedData))
		if err != nil {
			t.Fatalf("%s: cannot decrypt with the APIv3 key: %v", p, err)
		}
		if string(pt) != string(h.platform.CertPEM) {
			t.Fatalf("%s: decrypted certificate is not the platform certificate", p)
		}
	}
	// B's list is encrypted with B's key, not A's.
	r := h.do(t, call{Method: http.MethodGet, Path: "/v3/certificates", As: h.B})
	expect(t, r, http.StatusOK, "", "")
	v := decode[certList](t, r)
	block, _ := aes.NewCipher([]byte(h.A.APIv3Key))
	gcm, _ := cipher.NewGCM(block)
	ct, _ := base64.StdEncoding.DecodeString(v.Data[0].Enc.Ciphertext)
	if _, err := gcm.Open(nil, []byte(v.Data[0].Enc.Nonce), ct, []byte("certificate")); err == nil {
		t.Fatal("B's certificate list opens with A's APIv3 key")
	}
}

// certList is the certificate download reply.
type certList struct {
	Data []struct {
		SerialNo      string `json:"serial_no"`
		EffectiveTime string `json:"effective_time"`
		ExpireTime    string `json:"expire_time"`
		Enc           struct {
			Algorithm      string `json:"algorithm"`
			Nonce          string `json:"nonce"`
			AssociatedData string `json:"associated_data"`
			Ciphertext     string `json:"ciphertext"`
		} `json:"encrypt_certificate"`
	} `json:"data"`
}

// TestErrors runs the error cases of every call through the real router.
func TestErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	h.paidOrder(t, h.A.M, orderSpec{No: "E-OK"})
	h.paidOrder(t, h.A.M, orderSpec{No: "E-FAIL", Name: "赵六", ID: idNameMismatch})
	unpaid := h.pushOrder(t, h.A.M, orderSpec{No: "E-UNPAID-PAYFAIL"})
	h.waitPay(t, h.A.M, unpaid.MerchantOrderNo, baoguan.PayFailed)
	bOrder := h.paidOrder(t, h.B.M, orderSpec{No: "E-B-1"})
	h.declare(t, h.A, map[string]any{"out_trade_no": "E-OK", "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
	h.declare(t, h.A, map[string]any{"out_trade_no": "E-FAIL", "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
	h.declare(t, h.B, map[string]any{"out_trade_no": "E-B-1", "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
	h.waitDecl(t, h.A.M, "E-OK", "SHANGHAI_ZS", "", baoguan.DeclSuccess)
	h.waitDecl(t, h.A.M, "E-FAIL", "SHANGHAI_ZS", "", baoguan.DeclFail)
	noKey := h.wxMerchant(t, "MN-004", "Merchant No Key", "1230000111", false)
	if _, err := h.svc.Order(ctx, h.A.M, "E-B-1"); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Fatalf("B's order is visible to A in the core: %v", err)
	}

	base := func(extra map[string]any) string {
		b := map[string]any{"appid": "wxd678efh567hg6787", "mchid": h.A.MchID, "out_trade_no": "E-OK", "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"}
		for k, v := range extra {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return mustJSON(t, b)
	}
	serial := map[string]string{"Wechatpay-Serial": h.platformSerial()}
	verify := func(extra map[string]any) string {
		b := map[string]any{"certificate_type": "IDCARD", "certificate_id": encryptPKCS1(t, h, idSucceeds), "certificate_name": encryptPKCS1(t, h, "张三")}
		for k, v := range extra {
			b[k] = v
		}
		return base(b)
	}
	q := func(params string) string {
		return customsPath + "/orders?appid=wx1&mchid=" + h.A.MchID + "&customs=SHANGHAI_ZS&" + params
	}
	orders, redeclare, verifyPath := customsPath+"/orders", customsPath+"/redeclare", customsPath+"/verify-certificate"

	cases := []struct {
		name   string
		c      call
		status int
		code   string
		field  string
	}{
		// declare
		{"declare: unknown parameter", call{Method: "POST", Path: orders, Body: base(map[string]any{"foo": 1})}, 400, "PARAM_ERROR", "#/properties/foo"},
		{"declare: wrong type", call{Method: "POST", Path: orders, Body: base(map[string]any{"duty": "ten"})}, 400, "PARAM_ERROR", "#/properties/duty"},
		{"declare: not JSON", call{Method: "POST", Path: orders, Body: "{"}, 400, "PARAM_ERROR", "#"},
		{"declare: appid missing", call{Method: "POST", Path: orders, Body: base(map[string]any{"appid": nil})}, 400, "PARAM_ERROR", "#/properties/appid"},
		{"declare: mchid not the signer's", call{Method: "POST", Path: orders, Body: base(map[string]any{"mchid": h.B.MchID})}, 400, "PARAM_ERROR", "#/properties/mchid"},
		{"declare: no order named", call{Method: "POST", Path: orders, Body: base(map[string]any{"out_trade_no": nil})}, 400, "PARAM_ERROR", "#/properties/out_trade_no"},
		{"declare: not a WeChat customs code", call{Method: "POST", Path: orders, Body: base(map[string]any{"customs": "HG022"})}, 400, "PARAM_ERROR", "#/properties/customs"},
		{"declare: merchant_customs_no missing", call{Method: "POST", Path: orders, Body: base(map[string]any{"merchant_customs_no": nil})}, 400, "PARAM_ERROR", "#/properties/merchant_customs_no"},
		{"declare: fee_type not CNY", call{Method: "POST", Path: orders, Body: base(map[string]any{"fee_type": "USD"})}, 400, "PARAM_ERROR", "#/properties/fee_type"},
		{"declare: split without its fees", call{Method: "POST", Path: orders, Body: base(map[string]any{"customs": "NINGBO", "sub_order_no": "S1", "fee_type": "CNY", "order_fee": 10})}, 400, "PARAM_ERROR", "#/properties/transport_fee"},
		{"declare: fees do not add up", call{Method: "POST", Path: orders, Body: base(map[string]any{"customs": "NINGBO", "sub_order_no": "S1", "fee_type": "CNY", "order_fee": 10, "transport_fee": 1, "product_fee": 1})}, 400, "PARAM_ERROR", "#/properties/order_fee"},
		{"declare: above the paid amount", call{Method: "POST", Path: orders, Body: base(map[string]any{"customs": "NINGBO", "sub_order_no": "S1", "fee_type": "CNY", "order_fee": 10001, "transport_fee": 1, "product_fee": 10000})}, 400, "PARAM_ERROR", "#/properties/order_fee"},
		{"declare: numbers of two orders", call{Method: "POST", Path: orders, Body: base(map[string]any{"transaction_id": bOrder.Payment.No})}, 400, "PARAM_ERROR", "#/properties/transaction_id"},
		{"declare: unpaid order", call{Method: "POST", Path: orders, Body: base(map[string]any{"out_trade_no": "E-UNPAID-PAYFAIL"})}, 400, "INVALID_REQUEST", ""},
		{"declare: same target, other data", call{Method: "POST", Path: orders, Body: base(map[string]any{"merchant_customs_no": "99"})}, 400, "INVALID_REQUEST", ""},
		{"declare: another merchant's order", call{Method: "POST", Path: orders, Body: base(map[string]any{"out_trade_no": "E-B-1"})}, 404, "NOT_FOUND", ""},
		{"declare: another merchant's payment", call{Method: "POST", Path: orders, Body: base(map[string]any{"out_trade_no": nil, "transaction_id": bOrder.Payment.No})}, 404, "NOT_FOUND", ""},
		{"declare: no such order", call{Method: "POST", Path: orders, Body: base(map[string]any{"out_trade_no": "NOPE"})}, 404, "NOT_FOUND", ""},
		{"declare: form body", call{Method: "POST", Path: orders, Body: base(nil), Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 400, "INVALID_REQUEST", ""},
		// query
		{"query: bad order_type", call{Method: "GET", Path: q("order_type=merchant_no&order_no=E-OK")}, 400, "PARAM_ERROR", "order_type"},
		{"query: order_no missing", call{Method: "GET", Path: q("order_type=out_trade_no")}, 400, "PARAM_ERROR", "order_no"},
		{"query: limit 0", call{Method: "GET", Path: q("order_type=out_trade_no&order_no=E-OK&limit=0")}, 400, "PARAM_ERROR", "limit"},
		{"query: negative offset", call{Method: "GET", Path: q("order_type=out_trade_no&order_no=E-OK&offset=-1")}, 400, "PARAM_ERROR", "offset"},
		{"query: customs missing", call{Method: "GET", Path: customsPath + "/orders?appid=wx1&mchid=" + h.A.MchID + "&order_type=out_trade_no&order_no=E-OK"}, 400, "PARAM_ERROR", "customs"},
		{"query: mchid not the signer's", call{Method: "GET", Path: customsPath + "/orders?appid=wx1&mchid=" + h.B.MchID + "&customs=SHANGHAI_ZS&order_type=out_trade_no&order_no=E-B-1"}, 400, "PARAM_ERROR", "mchid"},
		{"query: another merchant's order", call{Method: "GET", Path: q("order_type=out_trade_no&order_no=E-B-1")}, 404, "NOT_FOUND", ""},
		{"query: another merchant's payment", call{Method: "GET", Path: q("order_type=transaction_id&order_no=" + bOrder.Payment.No)}, 404, "NOT_FOUND", ""},
		{"query: no declaration to that customs", call{Method: "GET", Path: customsPath + "/orders?appid=wx1&mchid=" + h.A.MchID + "&customs=NINGBO&order_type=out_trade_no&order_no=E-OK"}, 404, "NOT_FOUND", ""},
		{"query: unknown sub_order_id", call{Method: "GET", Path: q("order_type=sub_order_id&order_no=D404")}, 404, "NOT_FOUND", ""},
		// modify
		{"modify: a field that cannot change", call{Method: "PATCH", Path: orders, Body: base(map[string]any{"state": "SUCCESS"})}, 400, "PARAM_ERROR", "#/properties/state"},
		{"modify: the payer cannot change", call{Method: "PATCH", Path: orders, Body: base(map[string]any{"certificate_id": idSucceeds})}, 400, "PARAM_ERROR", "#/properties/certificate_id"},
		{"modify: fee_type cannot change", call{Method: "PATCH", Path: orders, Body: base(map[string]any{"fee_type": "HKD"})}, 400, "PARAM_ERROR", "#/properties/fee_type"},
		{"modify: no declaration to that customs", call{Method: "PATCH", Path: orders, Body: base(map[string]any{"customs": "NINGBO"})}, 404, "NOT_FOUND", ""},
		{"modify: another merchant's order", call{Method: "PATCH", Path: orders, Body: base(map[string]any{"out_trade_no": "E-B-1"})}, 404, "NOT_FOUND", ""},
		{"modify: negative duty", call{Method: "PATCH", Path: orders, Body: base(map[string]any{"duty": -1})}, 400, "PARAM_ERROR", "#/properties/duty"},
		// redeclare
		{"redeclare: from FAIL", call{Method: "POST", Path: redeclare, Body: base(map[string]any{"out_trade_no": "E-FAIL"})}, 400, "INVALID_REQUEST", ""},
		{"redeclare: other merchant_customs_no", call{Method: "POST", Path: redeclare, Body: base(map[string]any{"merchant_customs_no": "99"})}, 400, "PARAM_ERROR", "#/properties/merchant_customs_no"},
		{"redeclare: unknown sub_order_id", call{Method: "POST", Path: redeclare, Body: base(map[string]any{"sub_order_id": "D404"})}, 404, "NOT_FOUND", ""},
		{"redeclare: another merchant's order", call{Method: "POST", Path: redeclare, Body: base(map[string]any{"out_trade_no": "E-B-1"})}, 404, "NOT_FOUND", ""},
		{"redeclare: unknown parameter", call{Method: "POST", Path: redeclare, Body: base(map[string]any{"duty": 1})}, 400, "PARAM_ERROR", "#/properties/duty"},
		// verify-certificate
		{"verify: Wechatpay-Serial missing", call{Method: "POST", Path: verifyPath, Body: verify(nil)}, 400, "PARAM_ERROR", "Wechatpay-Serial"},
		{"verify: not the platform serial", call{Method: "POST", Path: verifyPath, Body: verify(nil), Header: map[string]string{"Wechatpay-Serial": h.A.Serial}}, 400, "PARAM_ERROR", "Wechatpay-Serial"},
		{"verify: not an IDCARD", call{Method: "POST", Path: verifyPath, Body: verify(map[string]any{"certificate_type": "PASSPORT"}), Header: serial}, 400, "PARAM_ERROR", "#/properties/certificate_type"},
		{"verify: not encrypted", call{Method: "POST", Path: verifyPath, Body: verify(map[string]any{"certificate_id": idSucceeds}), Header: serial}, 400, "PARAM_ERROR", "#"},
		{"verify: encrypted to another key", call{Method: "POST", Path: verifyPath, Body: verify(map[string]any{"certificate_name": base64.StdEncoding.EncodeToString(make([]byte, 256))}), Header: serial}, 400, "PARAM_ERROR", "#"},
		{"verify: not an ID number", call{Method: "POST", Path: verifyPath, Body: verify(map[string]any{"certificate_id": encryptPKCS1(t, h, "12AB")}), Header: serial}, 400, "PARAM_ERROR", "#"},
		{"verify: another merchant's order", call{Method: "POST", Path: verifyPath, Body: verify(map[string]any{"out_trade_no": "E-B-1"}), Header: serial}, 404, "NOT_FOUND", ""},
		{"verify: undeclared customs", call{Method: "POST", Path: verifyPath, Body: verify(map[string]any{"customs": "NINGBO"}), Header: serial}, 404, "NOT_FOUND", ""},
		// certificates and the rest
		{"certificates: no APIv3 key", call{Method: "GET", Path: "/v3/certificates", As: noKey}, 400, "INVALID_REQUEST", ""},
		{"unknown path", call{Method: "GET", Path: "/v3/global/customs/nothing"}, 404, "NOT_FOUND", ""},
		{"unsupported method", call{Method: "DELETE", Path: orders}, 404, "NOT_FOUND", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.c)
			e := expect(t, r, tc.status, tc.code, tc.field)
			if e.Detail != nil && (strings.Contains(string(r.Body), idSucceeds) || strings.Contains(string(r.Body), "张三")) {
				t.Errorf("personal data echoed in the error: %s", r)
			}
		})
	}
	// None of the refused requests changed A's declarations, and B's
	// order was never declared for A.
	ds, err := h.svc.Declarations(ctx, h.A.M, "E-OK")
	if err != nil || len(ds) != 1 || ds[0].MerchantCustomsNo != "31" || ds[0].State != baoguan.DeclSuccess || ds[0].Attempts != 1 {
		t.Fatalf("E-OK after the refused requests: %+v %v", ds, err)
	}
	if bd, _ := h.svc.Declarations(ctx, h.B.M, "E-B-1"); len(bd) != 1 || bd[0].MerchantCustomsNo != "31" {
		t.Fatalf("B's declaration changed: %+v", bd)
	}
}

// TestSecurity covers the request authentication: each way to get it
// wrong is SIGN_ERROR, and what WeChat allows still works.
func TestSecurity(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.paidOrder(t, h.A.M, orderSpec{No: "SEC-1"})
	h.declare(t, h.A, map[string]any{"out_trade_no": "SEC-1", "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
	queryPath := customsPath + "/orders?appid=wx1&mchid=" + h.A.MchID + "&order_type=out_trade_no&order_no=SEC-1&customs=SHANGHAI_ZS"
	body := mustJSON(t, map[string]any{"appid": "wx1", "mchid": h.A.MchID, "out_trade_no": "SEC-1", "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
	tampered := strings.Replace(body, `"31"`, `"32"`, 1)
	now := time.Now().Unix()
	empty, bad := "", "Bearer abc"
	cases := []struct {
		name   string
		c      call
		status int
	}{
		{"no Authorization", call{Method: "GET", Path: queryPath, Auth: &empty}, 401},
		{"another scheme", call{Method: "GET", Path: queryPath, Auth: &bad}, 401},
		{"tampered body", call{Method: "POST", Path: customsPath + "/orders", Body: tampered, SignBody: &body}, 401},
		{"timestamp 6 minutes old", call{Method: "GET", Path: queryPath, Timestamp: now - 360}, 401},
		{"timestamp 6 minutes ahead", call{Method: "GET", Path: queryPath, Timestamp: now + 360}, 401},
		{"timestamp 4 minutes old", call{Method: "GET", Path: queryPath, Timestamp: now - 240}, 200},
		{"unknown serial", call{Method: "GET", Path: queryPath, Serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"}, 401},
		{"another merchant's serial", call{Method: "GET", Path: queryPath, Serial: h.B.Serial}, 401},
		{"signed with another key", call{Method: "GET", Path: queryPath, SignKey: h.B.Key}, 401},
		{"signed over another URI", call{Method: "GET", Path: queryPath, SignURI: strings.Replace(queryPath, "SEC-1", "SEC-2", 1)}, 401},
		{"serial in lower case", call{Method: "GET", Path: queryPath, Serial: strings.ToLower(h.A.Serial)}, 200},
		{"signed over the URI without the mount prefix", call{Method: "GET", Path: queryPath, SignURI: queryPath}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.c)
			if tc.status == 401 {
				expect(t, r, 401, "SIGN_ERROR", "")
			} else {
				expect(t, r, tc.status, "", "")
			}
		})
	}

	t.Run("unknown mchid", func(t *testing.T) {
		stranger := newMerchantCert(t, "1999999999")
		expect(t, h.do(t, call{Method: "GET", Path: queryPath, As: stranger}), 401, "SIGN_ERROR", "")
	})
	t.Run("replayed nonce", func(t *testing.T) {
		n := nonce()
		ts := time.Now().Unix()
		expect(t, h.do(t, call{Method: "GET", Path: queryPath, Nonce: n, Timestamp: ts}), 200, "", "")
		expect(t, h.do(t, call{Method: "GET", Path: queryPath, Nonce: n, Timestamp: ts}), 401, "SIGN_ERROR", "")
	})
	t.Run("parameters in any order", func(t *testing.T) {
		full := authorization(t, h.A.Key, h.A.MchID, h.A.Serial, "GET", "/wechatpay"+queryPath, time.Now().Unix(), nonce(), "")
		scheme, params, _ := strings.Cut(full, " ")
		parts := strings.Split(params, ",")
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		reordered := scheme + " " + strings.Join(parts, ", ")
		expect(t, h.do(t, call{Method: "GET", Path: queryPath, Auth: &reordered}), 200, "", "")
	})
	t.Run("both path shapes, mounted and at the root", func(t *testing.T) {
		for _, base := range []string{h.srv.URL + "/wechatpay", h.root.URL} {
			for _, shape := range []string{"/v3/global/customs", "/global/v3/customs"} {
				p := strings.Replace(queryPath, customsPath, shape, 1)
				r := h.do(t, call{Method: "GET", Path: p, Base: base})
				if q := decode[queryResult](t, r); r.Status != 200 || q.TotalCount != 1 {
					t.Errorf("%s%s: %s", base, shape, r)
				}
			}
		}
	})
	t.Run("a merchant key registered as public key and serial", func(t *testing.T) {
		c := newMerchantCert(t, "1230000120")
		if _, _, err := h.svc.CreateMerchant(context.Background(), core.MerchantInput{No: "MK-1", Name: "Key Merchant"}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.UpdateMerchant(context.Background(), "MK-1", func(m *baoguan.Merchant) error {
			m.Settings["wechatv3.mchid"] = c.MchID
			m.Settings["wechatv3.public-key"] = publicPEM(t, &c.Key.PublicKey)
			m.Settings["wechatv3.serial"] = c.Serial
			m.Settings["wechatv3.apiv3-key"] = strings.Repeat("k", 32)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		expect(t, h.do(t, call{Method: "GET", Path: "/v3/certificates", As: c}), 200, "", "")
		expect(t, h.do(t, call{Method: "GET", Path: "/v3/certificates", As: c, Serial: "01"}), 401, "SIGN_ERROR", "")
	})
	// None of the refused writes reached the core.
	ds, _ := h.svc.Declarations(context.Background(), h.A.M, "SEC-1")
	if len(ds) != 1 || ds[0].MerchantCustomsNo != "31" {
		t.Fatalf("declarations after refused requests: %+v", ds)
	}
}

// TestFrequencyLimited: past its burst, a merchant is refused with 429;
// another merchant is not.
func TestFrequencyLimited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *harnessConfig) { c.opts.RateLimit, c.opts.RateBurst = 1e-9, 2 })
	for i := 0; i < 2; i++ {
		expect(t, h.do(t, call{Method: "GET", Path: "/v3/certificates"}), 200, "", "")
	}
	expect(t, h.do(t, call{Method: "GET", Path: "/v3/certificates"}), 429, "FREQUENCY_LIMITED", "")
	expect(t, h.do(t, call{Method: "GET", Path: "/v3/certificates", As: h.B}), 200, "", "")
}

// TestSystemError: when the store fails, the answer is SYSTEM_ERROR with
// no detail of the failure, still signed.
func TestSystemError(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	h := newHarness(t, func(c *harnessConfig) { c.opts.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
	if err := h.store.Close(); err != nil {
		t.Fatal(err)
	}
	r := h.do(t, call{Method: "GET", Path: "/v3/certificates"})
	e := expect(t, r, 500, "SYSTEM_ERROR", "")
	if strings.Contains(strings.ToLower(e.Message), "sql") || strings.Contains(e.Message, "closed") {
		t.Fatalf("system error leaks its cause: %s", r)
	}
	// The operator finds the cause in the log under the Request-ID the
	// caller was given.
	id := r.Header.Get("Request-ID")
	if line := logs.String(); id == "" || !strings.Contains(line, "request_id="+id) || !strings.Contains(line, "closed") {
		t.Fatalf("log lacks request id %q or cause: %s", id, line)
	}
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestGuangzhouPlan: a code declared in two steps (GUANGZHOU_HP_GJ needs
// GUANGZHOU_ZS first) answers for the code asked, and both are queryable.
func TestGuangzhouPlan(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.paidOrder(t, h.A.M, orderSpec{No: "GZ-1"})
	d := h.declare(t, h.A, map[string]any{"out_trade_no": "GZ-1", "customs": "GUANGZHOU_HP_GJ", "merchant_customs_no": "44"})
	if d.Customs != "GUANGZHOU_HP_GJ" {
		t.Fatalf("reply for %s", d.Customs)
	}
	h.waitDecl(t, h.A.M, "GZ-1", "GUANGZHOU_HP_GJ", "", baoguan.DeclSuccess)
	h.waitDecl(t, h.A.M, "GZ-1", "GUANGZHOU_ZS", "", baoguan.DeclSuccess)
	for _, c := range []string{"GUANGZHOU_HP_GJ", "GUANGZHOU_ZS"} {
		if q := decode[queryResult](t, h.query(t, h.A, "out_trade_no", "GZ-1", c)); q.TotalCount != 1 || q.Data[0].Customs != c {
			t.Fatalf("query %s: %+v", c, q)
		}
	}
}

// TestNew refuses to start without its dependencies.
func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := wechatv3.New(wechatv3.Options{}); err == nil {
		t.Fatal("New without Svc and Store succeeded")
	}
	if f := wechatv3.NewFormat(); f.URL(nil, nil) != "" {
		t.Fatal("the wechatv3 format has a URL: it sends nothing")
	}
	if _, _, ok, _ := wechatv3.NewFormat().Render(core.Notice{Type: baoguan.EventDeclSucceeded}); ok {
		t.Fatal("the wechatv3 format rendered a notice: WeChat's customs API has no callback")
	}
}

// TestKeyRotationGrace: a merchant certificate, or a public key and its
// serial, replaced with a grace period (baoguan merchant key --grace) still
// verifies requests until the operator revokes it (or the period ends);
// the new one verifies at once, a stranger's key never does.
func TestKeyRotationGrace(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	certs := call{Method: "GET", Path: "/v3/certificates"}
	as := func(c call, w *wxMerchant, serial string, key *rsa.PrivateKey) call {
		c.As, c.Serial, c.SignKey = w, serial, key
		return c
	}

	t.Run("certificate", func(t *testing.T) {
		old := *h.A
		next := newMerchantCert(t, h.A.MchID)
		if err := h.svc.RotateSetting(ctx, h.A.M.No, "wechatv3.cert", next.CertPEM, time.Hour); err != nil {
			t.Fatal(err)
		}
		expect(t, h.do(t, as(certs, &old, old.Serial, old.Key)), 200, "", "")
		expect(t, h.do(t, as(certs, &old, next.Serial, next.Key)), 200, "", "")
		expect(t, h.do(t, as(certs, &old, old.Serial, next.Key)), 401, "SIGN_ERROR", "")
		if err := h.svc.RevokeKeys(ctx, h.A.M.No, "setting:wechatv3.cert"); err != nil {
			t.Fatal(err)
		}
		expect(t, h.do(t, as(certs, &old, old.Serial, old.Key)), 401, "SIGN_ERROR", "")
		expect(t, h.do(t, as(certs, &old, next.Serial, next.Key)), 200, "", "")
	})

	t.Run("public key and serial", func(t *testing.T) {
		first, second, stranger := newMerchantCert(t, "1230000130"), newMerchantCert(t, "1230000130"), newMerchantCert(t, "1230000130")
		if _, _, err := h.svc.CreateMerchant(ctx, core.MerchantInput{No: "ROT-1", Name: "Rotating"}); err != nil {
			t.Fatal(err)
		}
		set := func(w *wxMerchant, grace time.Duration) {
			t.Helper()
			if err := h.svc.RotateSettings(ctx, "ROT-1", map[string]string{"wechatv3.mchid": w.MchID,
				"wechatv3.public-key": publicPEM(t, &w.Key.PublicKey), "wechatv3.serial": w.Serial,
				"wechatv3.apiv3-key": "a9F3kQ7mZ2xL8vR4tN6wB1cH5jP0sD3g"}, grace); err != nil {
				t.Fatal(err)
			}
		}
		set(first, 0)
		expect(t, h.do(t, as(certs, first, first.Serial, first.Key)), 200, "", "")
		set(second, time.Hour)
		expect(t, h.do(t, as(certs, first, first.Serial, first.Key)), 200, "", "")
		expect(t, h.do(t, as(certs, first, second.Serial, second.Key)), 200, "", "")
		expect(t, h.do(t, as(certs, first, first.Serial, stranger.Key)), 401, "SIGN_ERROR", "")
		expect(t, h.do(t, as(certs, first, stranger.Serial, first.Key)), 401, "SIGN_ERROR", "")
		set(stranger, 0) // a rotation without grace ends every earlier key at once
		expect(t, h.do(t, as(certs, first, first.Serial, first.Key)), 401, "SIGN_ERROR", "")
		expect(t, h.do(t, as(certs, first, second.Serial, second.Key)), 401, "SIGN_ERROR", "")
		expect(t, h.do(t, as(certs, first, stranger.Serial, stranger.Key)), 200, "", "")
	})
}
