package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// Fuzz targets for what the native API reads from a caller before any
// rule of the core runs: the body decoder of every route that takes a
// body (orders, batches, declarations, refunds, the merchant patch) with
// its Content-Type and Content-Encoding checks, and the Authorization
// header. Their seeds run in every `go test`; fuzz one with
// `go test ./api -run '^$' -fuzz '^FuzzDecode$' -fuzztime 10m -parallel 1`.

// fuzzRoutes are the request types a.decode fills, one per route (an
// order through a.decodeOrder, as a push is read).
var fuzzRoutes = []func() any{
	func() any { return new(orderReq) },
	func() any { return new(batchReq) },
	func() any { return new(declareReq) },
	func() any { return new(refundReq) },
	func() any {
		return new(struct {
			NotifyURL *string `json:"notify_url"`
		})
	},
}

// apiSamples are request bodies as the documentation and the scenario
// tests send them.
var apiSamples = []string{
	`{"merchant_order_no":"O-1001","amount":5000,"subject":"婴儿奶粉 x2","payer":{"name":"张三","id_type":"IDCARD","id_number":"110105199001011232","phone":"13800138000"},"declarations":[{"customs":"HG014"}]}`,
	`{"merchant_order_no":"O-1003","amount":100,"subject":"x","channel":"external","payment_no":"EXT-PAY-1","psp":"ACME","ordered_at":"2026-11-23T10:00:00+08:00"}`,
	`{"merchant_order_no":"O-1","amount":12900,"currency":"USD","subject":"x","items":[{"subject":"a","quantity":2,"unit_amount":6450}]}`,
	`{"merchant_order_no":"O-1","amount":100,"subject":"x","declarations":[{"customs":"HG014","order_fee":100,"transport_fee":0,"product_fee":100,"sub_order_no":"S1"},{"customs":"HANGZHOU_ZS","customs_area_code":"5141"}]}`,
	`{"batch_no":"B-1","pay":true,"orders":[{"merchant_order_no":"B-1-1","amount":100,"subject":"x"},{"merchant_order_no":"B-1-2","amount":1.5,"subject":"y"}]}`,
	`{"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},"declarations":[{"customs":"HG014","auth_check_strategy":"DIFF_REJECT"}]}`,
	`{"refund_no":"R-1","order_no":"O-1001","amount":9223372036854775807,"reason":"退货"}`,
	`{"notify_url":"https://merchant.example/hooks"}`, `{"notify_url":null}`, `{"notify_url":7}`, `{"name":"Evil"}`,
	`{"amount":"100"}`, `{"AMOUNT":1,"amount":2}`, `{"orders":[{"declarations":[{"customs":1}]}]}`, `{"subject":"\ud800"}`,
	"{\"subject\":\"\xff\"}", `[]`, `null`, ``, `{`, `{"orders":[{"Merchant_Order_No":"x","extra":1}]}`, `{"ordered_at":"yesterday"}`,
}

func FuzzDecode(f *testing.F) {
	for i, s := range apiSamples {
		f.Add(uint8(i), "application/json", "", []byte(s))
	}
	f.Add(uint8(0), "application/json; charset=gbk", "", []byte(apiSamples[0]))
	f.Add(uint8(0), "application/json; charset=UTF-8", "identity", []byte(apiSamples[0]))
	f.Add(uint8(1), "text/plain", "", []byte(apiSamples[4]))
	f.Add(uint8(3), "", "gzip", []byte(apiSamples[6]))
	f.Add(uint8(2), "application/json;;", "br, identity", []byte(`{}`))
	a := New(Options{})
	f.Fuzz(func(t *testing.T, route uint8, ct, ce string, body []byte) {
		newV := fuzzRoutes[int(route)%len(fuzzRoutes)]
		r := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		if ce != "" {
			r.Header.Set("Content-Encoding", ce)
		}
		v := newV()
		var err error
		if q, ok := v.(*orderReq); ok {
			err = a.decodeOrder(httptest.NewRecorder(), r, q) // a push's: the fast path, else a.decode's
		} else {
			err = a.decode(httptest.NewRecorder(), r, v, a.maxBody)
		}
		if err != nil {
			checkDecodeError(t, body, err)
			// What the API refuses as a type or an unknown field,
			// encoding/json refuses too.
			var e *baoguan.Error
			if errorsAs(err, &e) && (e.Reason == "bad_type" || e.Reason == "unknown_field") {
				dec := json.NewDecoder(bytes.NewReader(body))
				dec.DisallowUnknownFields()
				if dec.Decode(newV()) == nil {
					t.Fatalf("%q refused (%v), encoding/json reads it", body, err)
				}
			}
			return
		}
		// Accepted: the headers were JSON, the body valid UTF-8 JSON, and
		// encoding/json (strict) reads it into the same value.
		if ct != "" {
			if mt, _, perr := mime.ParseMediaType(ct); perr != nil || mt != "application/json" {
				t.Fatalf("accepted Content-Type %q", ct)
			}
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted %q, which is not UTF-8 JSON", body)
		}
		want := newV()
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if derr := dec.Decode(want); derr != nil {
			t.Fatalf("accepted %q, encoding/json says %v", body, derr)
		}
		got, _ := json.Marshal(v)
		exp, _ := json.Marshal(want)
		if !bytes.Equal(got, exp) {
			t.Fatalf("%q decoded as %s, encoding/json as %s", body, got, exp)
		}
		// Round trip: what was read, written back, reads the same.
		again := newV()
		if p := decodeBytes(got, again); p != nil {
			t.Fatalf("%s (from %q) does not read back: %v", got, body, p)
		}
		if back, _ := json.Marshal(again); !bytes.Equal(back, got) {
			t.Fatalf("round trip %s → %s", got, back)
		}
		// The translation to the core's input, and the core's own checks
		// of it, run on whatever was read; what they accept is storable.
		switch q := v.(type) {
		case *orderReq:
			checkOrder(t, q)
		case *batchReq:
			for i := range q.Orders {
				checkOrder(t, &q.Orders[i])
			}
		case *declareReq:
			for _, d := range q.Declarations {
				checkSpec(t, d)
			}
		}
	})
}

func decodeBytes(b []byte, v any) error {
	r := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(b))
	return New(Options{}).decode(httptest.NewRecorder(), r, v, 1<<30)
}

func errorsAs(err error, e **baoguan.Error) bool {
	return errors.As(err, e)
}

// checkDecodeError: a refusal is the API's error, answered 400, 413 or
// 415 with a message for the caller, naming a field that is a header or a
// JSON path that exists in the body.
func checkDecodeError(t *testing.T, body []byte, err error) {
	t.Helper()
	var e *baoguan.Error
	if !errorsAs(err, &e) {
		t.Fatalf("%q: error %T %v is not a *baoguan.Error", body, err, err)
	}
	st := status(e.Code)
	if e.Reason == reasonUnsupportedEncoding {
		st = http.StatusUnsupportedMediaType
	}
	if st != 400 && st != 413 && st != 415 {
		t.Fatalf("%q: %v answers %d", body, err, st)
	}
	if e.Message == "" || !utf8.ValidString(e.Message) {
		t.Fatalf("%q: message %q", body, e.Message)
	}
	switch e.Field {
	case "", "Content-Type", "Content-Encoding":
		return
	}
	if e.Reason == "duplicate_key" || e.Reason == "bad_encoding" || e.Reason == "bad_json" {
		return // the path of a key or string that was refused before any tree exists
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&tree) != nil {
		t.Fatalf("%q: field %q named in a body that is not JSON (%v)", body, e.Field, err)
	}
	if !resolves(tree, e.Field) {
		t.Fatalf("%q: field %q (%s) is not a path in the body", body, e.Field, e.Message)
	}
}

// resolves reports whether path (a.b[1].c, keys as sent) names a value in
// tree. Keys may themselves hold '.' or '[', so every split is tried.
func resolves(tree any, path string) bool {
	if path == "" {
		return true
	}
	switch n := tree.(type) {
	case map[string]any:
		for k, v := range n {
			rest, ok := strings.CutPrefix(path, k)
			if !ok {
				continue
			}
			if rest == "" {
				return true
			}
			if r, ok := strings.CutPrefix(rest, "."); ok && resolves(v, r) {
				return true
			}
			if strings.HasPrefix(rest, "[") && resolves(v, rest) {
				return true
			}
		}
	case []any:
		if !strings.HasPrefix(path, "[") {
			return false
		}
		end := strings.IndexByte(path, ']')
		if end < 0 {
			return false
		}
		i, err := strconv.Atoi(path[1:end])
		if err != nil || i < 0 || i >= len(n) {
			return false
		}
		rest := path[end+1:]
		if r, ok := strings.CutPrefix(rest, "."); ok {
			rest = r
		}
		return resolves(n[i], rest)
	}
	return false
}

// checkOrder runs the order translation and the core's order checks; an
// order they accept has an amount within MaxAmount and storable text.
func checkOrder(t *testing.T, q *orderReq) {
	t.Helper()
	o := q.input()
	for _, d := range q.Declarations {
		checkSpec(t, d)
	}
	if err := o.Validate(); err != nil {
		if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) == "" {
			t.Fatalf("Validate of %+v: %v does not name a field", o, err)
		}
		return
	}
	if o.Amount <= 0 || o.Amount > baoguan.MaxAmount {
		t.Fatalf("Validate accepted amount %d", o.Amount)
	}
	for _, s := range []string{o.Subject, o.MerchantOrderNo, o.Payer.Name, o.Payer.IDNumber, o.Payer.Phone} {
		if baoguan.CheckText("x", s) != nil {
			t.Fatalf("Validate accepted text %q", s)
		}
	}
	for _, it := range o.Items {
		if it.Quantity < 0 || it.UnitAmount < 0 || it.UnitAmount > baoguan.MaxAmount {
			t.Fatalf("Validate accepted item %+v", it)
		}
	}
}

func checkSpec(t *testing.T, d declarationReq) {
	t.Helper()
	s := d.spec()
	if _, err := s.Validate(); err != nil {
		if baoguan.ErrorCode(err) != baoguan.EINVALID {
			t.Fatalf("DeclarationSpec.Validate of %+v: %v", s, err)
		}
		return
	}
	for _, v := range []int64{s.OrderFee, s.TransportFee, s.ProductFee, s.Duty} {
		if v < 0 || v > baoguan.MaxAmount {
			t.Fatalf("DeclarationSpec.Validate accepted %+v", s)
		}
	}
}

// FuzzBearerToken: the token is what follows a case-insensitive Bearer
// scheme, trimmed; anything else yields no token. A token given with any
// casing of the scheme and any spacing reads back.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer bg_test_abc", "bearer x", "BEARER  x ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "", " Bearer\tx", "Bearerx y", "Bearer a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok := bearerToken(h)
		if tok != strings.TrimSpace(tok) {
			t.Fatalf("bearerToken(%q) = %q is not trimmed", h, tok)
		}
		if tok != "" {
			if !strings.EqualFold(strings.TrimSpace(h)[:6], "bearer") || !strings.HasSuffix(strings.TrimSpace(h), tok) {
				t.Fatalf("bearerToken(%q) = %q", h, tok)
			}
		}
		if tok := strings.TrimSpace(h); tok != "" && !strings.ContainsAny(tok, " \t\r\n\v\f\u0085\u00a0") {
			for _, scheme := range []string{"Bearer ", "bearer  ", "BeArEr "} {
				if got := bearerToken(scheme + tok); got != tok {
					t.Fatalf("bearerToken(%q) = %q, want %q", scheme+tok, got, tok)
				}
			}
		}
	})
}
