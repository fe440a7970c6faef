package wechatv3_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// TestExtremeTimestamps signs requests correctly with timestamps far from
// baoguan's clock: every one is SIGN_ERROR. Before the check compared
// seconds, |now-ts| was multiplied into a time.Duration, and a difference
// of more than about 292 years wrapped into a small or negative duration
// that passed.
func TestExtremeTimestamps(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.paidOrder(t, h.A.M, orderSpec{No: "TS-1"})
	h.declare(t, h.A, map[string]any{"out_trade_no": "TS-1", "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
	path := customsPath + "/orders?appid=wx1&mchid=" + h.A.MchID + "&order_type=out_trade_no&order_no=TS-1&customs=SHANGHAI_ZS"
	now := time.Now().Unix()
	const wrap = math.MaxInt64 / int64(time.Second) // the first difference whose Duration overflows
	year := int64(365 * 24 * 3600)
	var tss []int64
	for _, d := range []int64{600, 3600, 300 * year, wrap, wrap + 1, wrap + 2, wrap + 300, 2 * wrap, 2*wrap + 1,
		(1 << 40), (1 << 62), 18446744073 /* 2^64 ns in seconds */, 18446744074, 36893488147} {
		tss = append(tss, now+d)
		if now-d > math.MinInt64+1 {
			tss = append(tss, now-d)
		}
	}
	tss = append(tss, 1, -1, math.MaxInt64, math.MinInt64, math.MinInt64+1, math.MaxInt64-now)
	// A sweep around the wrapping point: the differences that produced a
	// duration within ±5 minutes after wrapping were the accepted ones.
	for k := int64(1); k <= 4; k++ {
		for _, off := range []int64{-1, 0, 1, 60, 299} {
			// k·2^64 ns, in seconds: the product wraps to about off·1e9.
			tss = append(tss, now+int64(float64(k)*18446744073.709551616)+off)
		}
	}
	for _, ts := range tss {
		r := h.do(t, call{Method: http.MethodGet, Path: path, Timestamp: ts})
		if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), `"SIGN_ERROR"`) {
			t.Errorf("timestamp %d (now %+d s): %s, want 401 SIGN_ERROR", ts, ts-now, r)
		}
	}
	// The window itself still works, on both sides. The time is read
	// afresh for each request and kept a minute inside the 5-minute
	// window, so that a slow machine cannot push a request out of it.
	for _, d := range []int64{-240, -1, 1, 240} {
		r := h.do(t, call{Method: http.MethodGet, Path: path, Timestamp: time.Now().Unix() + d})
		expect(t, r, http.StatusOK, "", "")
	}
}

// certWithValidity registers a merchant whose certificate is valid from
// nb to na.
func certWithValidity(t *testing.T, h *harness, no, mchid string, nb, na time.Time) *wxMerchant {
	t.Helper()
	w := h.wxMerchant(t, no, "Merchant "+no, mchid, false)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: mchid}, NotBefore: nb, NotAfter: na,
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &w.Key.PublicKey, w.Key)
	if err != nil {
		t.Fatal(err)
	}
	w.Serial = fmt.Sprintf("%X", serial.Bytes())
	w.CertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	m, err := h.svc.UpdateMerchant(t.Context(), no, func(m *baoguan.Merchant) error {
		m.Settings["wechatv3.cert"] = w.CertPEM
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.M = m
	return w
}

// TestCertificateValidity: a certificate authenticates only between its
// NotBefore and NotAfter; an expired or not yet valid one is SIGN_ERROR
// even when the signature is right.
func TestCertificateValidity(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	now := time.Now()
	cases := []struct {
		name   string
		nb, na time.Time
		ok     bool
	}{
		{"valid", now.Add(-time.Hour), now.Add(time.Hour), true},
		{"expired a second ago", now.Add(-48 * time.Hour), now.Add(-time.Second), false},
		{"expired long ago", now.AddDate(-10, 0, 0), now.AddDate(-9, 0, 0), false},
		{"not valid yet", now.Add(time.Hour), now.AddDate(1, 0, 0), false},
	}
	for i, c := range cases {
		w := certWithValidity(t, h, fmt.Sprintf("MV-%d", i), fmt.Sprintf("12400001%02d", i), c.nb, c.na)
		r := h.do(t, call{Method: http.MethodGet, Path: "/v3/certificates", As: w})
		if c.ok {
			if r.Status == http.StatusUnauthorized {
				t.Errorf("%s: %s, want authenticated", c.name, r)
			}
			continue
		}
		if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), `"SIGN_ERROR"`) || !strings.Contains(string(r.Body), "valid from") {
			t.Errorf("%s: %s, want 401 SIGN_ERROR naming the validity", c.name, r)
		}
	}
}

// TestVerifyCertificateNoOracle sends verify-certificate every kind of
// broken certificate field, through both encryptions: every answer is the
// same status, code and body, so that the answer never tells a well-padded
// PKCS #1 v1.5 ciphertext from another.
func TestVerifyCertificateNoOracle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.paidOrder(t, h.A.M, orderSpec{No: "ORC-1", Name: "李四", ID: "11010519900101123x"})
	h.declare(t, h.A, map[string]any{"transaction_id": o.Payment.No, "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
	serial := map[string]string{"Wechatpay-Serial": h.platformSerial()}
	pub := &h.platform.Private.PublicKey
	v15 := func(s string) string {
		ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(ct)
	}
	oaep := func(s string) string {
		ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, []byte(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(ct)
	}
	// A ciphertext that is not well padded: the raw RSA of random bytes.
	raw := func() string {
		m := make([]byte, pub.Size())
		_, _ = rand.Read(m[1:])
		c := new(big.Int).Exp(new(big.Int).SetBytes(m), big.NewInt(int64(pub.E)), pub.N)
		return base64.StdEncoding.EncodeToString(c.FillBytes(make([]byte, pub.Size())))
	}
	goodID, goodName := v15("11010519900101123X"), v15("李四")
	bad := []struct{ name, id, person string }{
		{"id not well padded", raw(), goodName},
		{"name not well padded", goodID, raw()},
		{"both not well padded", raw(), raw()},
		{"id zeros", base64.StdEncoding.EncodeToString(make([]byte, 256)), goodName},
		{"id too long", base64.StdEncoding.EncodeToString(make([]byte, 512)), goodName},
		{"id not base64", "%%%", goodName},
		{"id empty", "", goodName},
		{"name empty", goodID, ""},
		{"id decrypts (v1.5) to letters", v15("ABCDEFGHIJKLMNOPQR"), goodName},
		{"id decrypts (OAEP) to letters", oaep("ABCDEFGHIJKLMNOPQR"), goodName},
		{"id decrypts to nothing", v15(""), goodName},
		{"id decrypts to binary", v15("\x00\x01\x02\xff\xfe"), goodName},
		{"name decrypts (v1.5) to binary", goodID, v15("\xff\xfe\x00bin")},
		{"name decrypts (OAEP) to a control character", goodID, oaep("李\u202e四")},
		{"name decrypts to 65 characters", goodID, v15(strings.Repeat("李", 65))},
	}
	var first *response
	for _, b := range bad {
		r := h.do(t, call{Method: http.MethodPost, Path: customsPath + "/verify-certificate", Header: serial,
			Body: mustJSON(t, map[string]any{"appid": "wx1", "mchid": h.A.MchID, "out_trade_no": "ORC-1", "customs": "SHANGHAI_ZS",
				"certificate_type": "IDCARD", "certificate_id": b.id, "certificate_name": b.person})})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"PARAM_ERROR"`) {
			t.Errorf("%s: %s, want 400 PARAM_ERROR", b.name, r)
		}
		if first == nil {
			first = r
			continue
		}
		if string(r.Body) != string(first.Body) {
			t.Errorf("%s answers differently:\n%s\nthan %s:\n%s", b.name, r.Body, bad[0].name, first.Body)
		}
	}
	// And the right pair still verifies, both ways.
	for _, enc := range []func(string) string{v15, oaep} {
		r := h.do(t, call{Method: http.MethodPost, Path: customsPath + "/verify-certificate", Header: serial,
			Body: mustJSON(t, map[string]any{"appid": "wx1", "mchid": h.A.MchID, "out_trade_no": "ORC-1", "customs": "SHANGHAI_ZS",
				"certificate_type": "IDCARD", "certificate_id": enc("11010519900101123X"), "certificate_name": enc("李四")})})
		expect(t, r, http.StatusOK, "", "")
		if v := decode[map[string]any](t, r); v["certificate_check_result"] != "SAME" {
			t.Errorf("good pair: %s", r)
		}
	}
}

// TestBodyStrictness: correctly signed bodies that encoding/json would
// store other than sent (GBK bytes, a lone surrogate escape, keys that
// differ only in case) or that are declared in another charset or
// compressed are refused with WeChat's error model naming where; a type
// error names the field. Nothing is declared for a refused body.
func TestBodyStrictness(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	h.paidOrder(t, h.A.M, orderSpec{No: "BS-OK"})
	orders := customsPath + "/orders"
	body := func(member string) string {
		return `{"appid":"wxd678efh567hg6787","mchid":"` + h.A.MchID + `","out_trade_no":"BS-OK","customs":"SHANGHAI_ZS","merchant_customs_no":"31"` + member + `}`
	}
	cases := []struct {
		name   string
		body   string
		header map[string]string
		status int
		code   string
		field  string
		issue  string
	}{
		{"GBK bytes", body(`,"certificate_name":"` + "\xd5\xc5\xc8\xfd" + `"`), nil, 400, "PARAM_ERROR", "#/properties/certificate_name", "invalid UTF-8"},
		{"lone surrogate", body(`,"certificate_name":"\udfff"`), nil, 400, "PARAM_ERROR", "#/properties/certificate_name", "surrogate"},
		{"keys differing in case", body(`,"Customs":"NINGBO"`), nil, 400, "PARAM_ERROR", "#/properties/Customs", `"customs" and "Customs" differ only in case`},
		{"a key twice", body(`,"out_trade_no":"OTHER"`), nil, 400, "PARAM_ERROR", "#/properties/out_trade_no", "appears twice"},
		{"GBK charset", body(""), map[string]string{"Content-Type": "application/json; charset=gbk"}, 400, "INVALID_REQUEST", "", `charset "gbk"`},
		{"gzip", body(""), map[string]string{"Content-Encoding": "gzip"}, 400, "INVALID_REQUEST", "", `Content-Encoding "gzip"`},
		{"type error", body(`,"order_fee":"ten"`), nil, 400, "PARAM_ERROR", "#/properties/order_fee", "order_fee must be an integer"},
	}
	for _, c := range cases {
		r := h.do(t, call{Method: "POST", Path: orders, Body: c.body, Header: c.header})
		e := decode[wireErr](t, r)
		field, issue := "", e.Message
		if e.Detail != nil {
			field, issue = e.Detail.Field, e.Detail.Issue
		}
		if r.Status != c.status || e.Code != c.code || field != c.field || !strings.Contains(issue, c.issue) {
			t.Errorf("%s: %s; want %d %s field %q issue with %q", c.name, r, c.status, c.code, c.field, c.issue)
		}
	}
	if ds, err := h.svc.Declarations(ctx, h.A.M, "BS-OK"); err != nil || len(ds) != 0 && ds[0].State != baoguan.DeclUndeclared {
		t.Errorf("a refused body declared: %+v %v", ds, err)
	}
	r := h.do(t, call{Method: "POST", Path: orders, Body: body(""), Header: map[string]string{"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "identity"}})
	if r.Status != http.StatusOK {
		t.Errorf("UTF-8 declared, identity coding: %s", r)
	}
}
