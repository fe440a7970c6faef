package wisecashier

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for what reads a caller's bytes before the signature is
// known to be good: the timestamp, the form decoder, the signing string
// and signature check.

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"1498194422", "1498194422.123456", "1498194422.12", "1498194422123", "", ".", "1.", "99999999999999999999",
		"1e9", "-1", " 1498194422 ", "１４９８"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseTimestamp(s)
		if err != nil {
			return
		}
		// Whatever is accepted is a plain number of at most 13 digits,
		// bounded in seconds so the window check cannot wrap.
		if v < 0 || v > 9_999_999_999_999 {
			t.Fatalf("parseTimestamp(%q) = %d", s, v)
		}
		if strings.ContainsAny(strings.TrimSpace(s), "-+eE ") {
			t.Fatalf("parseTimestamp(%q) accepted a sign, exponent or space", s)
		}
	})
}

// FuzzReadParams: any body and content type either fails as a 400 naming
// a parameter, or yields UTF-8 parameters given once each.
func FuzzReadParams(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "amount=100&merchant_no=xxx")
	f.Add("application/x-www-form-urlencoded; charset=gbk", "amount=100")
	f.Add("multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--X--\r\n")
	f.Add("application/x-www-form-urlencoded", "a=1&a=2")
	f.Add("application/x-www-form-urlencoded", "a=%ff%fe")
	f.Add("text/plain", "a=1")
	f.Add("", "%zz")
	s := &Server{maxBody: 64 << 10}
	f.Fuzz(func(t *testing.T, ct, body string) {
		r := httptest.NewRequest(http.MethodPost, "/order/scan_pay", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		params, err := s.readParams(httptest.NewRecorder(), r, false)
		if err != nil {
			if we := toWire(err); we.status != http.StatusBadRequest {
				t.Fatalf("readParams(%q, %q): status %d", ct, body, we.status)
			}
			return
		}
		for k, v := range params {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("readParams(%q, %q) kept non-UTF-8 %q=%q", ct, body, k, v)
			}
		}
	})
}

// FuzzVerifySignature: signing strings are deterministic, and a signature
// made over parameters verifies over them, and over no other parameters.
func FuzzVerifySignature(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("product_info", "奶粉 ~*!'() a+b&c=d", "1498194422.12", "")
	f.Add("", "", "", "x")
	f.Fuzz(func(t *testing.T, k, v, ts, other string) {
		params := map[string]string{"amount": "100", k: v}
		for _, e := range Encodings {
			if SigningString(params, ts, e) != SigningString(params, ts, e) {
				t.Fatal("signing string is not deterministic")
			}
		}
		sig, err := Sign(key, params, ts)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := decodeSignature(sig)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := verifySignature([]*rsa.PublicKey{&key.PublicKey}, raw, params, ts); !ok {
			t.Fatalf("a signature over %v does not verify", params)
		}
		changed := map[string]string{"amount": "100", k: v + other + "1"}
		if _, ok := verifySignature([]*rsa.PublicKey{&key.PublicKey}, raw, changed, ts); ok && !bytes.Equal([]byte(v), []byte(v+other+"1")) {
			t.Fatalf("a signature over %v verifies over %v", params, changed)
		}
		// Garbage never verifies and never panics.
		if _, ok := verifySignature([]*rsa.PublicKey{&key.PublicKey}, []byte(other), params, ts); ok {
			t.Fatal("garbage verified")
		}
		_, _ = decodeSignature(other)
	})
}

// FuzzParseNo: a WiseCashier number is read only when it is the 14-digit
// stamp and the 11-digit id that make it, which format back to it; a bill
// date only when it formats back to what was sent.
func FuzzParseNo(f *testing.F) {
	for _, s := range []string{"2026112310000000000000001", "20261123100000000000000000", "2026112310000099999999999", "202611231000009223372036854775807",
		"2026-11-23", "20261123", " 2026-11-23 ", "2026-02-30", "", "１２"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if id, stamp, ok := parseNo(s); ok {
			if id <= 0 || stamp+fmt.Sprintf("%011d", id) != s {
				t.Fatalf("parseNo(%q) = %d, %q", s, id, stamp)
			}
		}
		d, err := parseDate("start_date", s)
		if err != nil {
			if toWire(err).status != http.StatusBadRequest {
				t.Fatalf("parseDate(%q): %v", s, err)
			}
			return
		}
		v := strings.TrimSpace(s)
		if got := d.In(cst).Format("2006-01-02"); got != v && strings.ReplaceAll(got, "-", "") != v {
			t.Fatalf("parseDate(%q) = %s", s, got)
		}
	})
}
