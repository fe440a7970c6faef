package payzero

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sqlite"
)

// Fuzz targets for what payzero reads from a caller: every request body
// (Jackson-lenient JSON into the document's types, with the fen, time and
// string readers) and its translation to core orders, and the
// Authorization header with its login token (JWT). payzero's
// notification signature (Sign) only signs what baoguan sends; nothing it
// receives is checked with it. Their seeds run in every `go test`; fuzz
// one with `go test ./payzero -run '^$' -fuzz '^FuzzDecode$' -fuzztime 10m -parallel 1`.

var fuzzTypes = []func() any{
	func() any { return new(orderReq) },
	func() any { return new([]orderReq) },
	func() any { return new(loginReq) },
	func() any { return new(declareReq) },
	func() any { return new(refundReq) },
	func() any { return new(agreeApplyReq) },
	func() any { return new(agreeConfirmReq) },
	func() any { return new(confirmQuickReq) },
	func() any { return new(redoQuickReq) },
	func() any { return new(orderNoReq) },
}

// fenText is what an amount in fen may be written as: a whole number,
// quoted or not. Never a fraction or an exponent.
var fenText = regexp.MustCompile(`^\s*"?[+-]?[0-9]+"?\s*$`)

// FuzzDecode: any body and headers either are refused as a 400 (or 413)
// with a payzero code and a UTF-8 message, or decode; a decoded order
// translates with its amount exactly the whole fen sent, its times
// read back in China time, and the core's order check either passes or
// names a field.
func FuzzDecode(f *testing.F) {
	names, _ := filepath.Glob("testdata/*.request.json")
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for i := range fuzzTypes {
			f.Add(uint8(i), "application/json", b)
		}
	}
	for _, s := range []string{`{"paymentAmount":"35302"}`, `{"paymentAmount":353.02}`, `{"paymentAmount":1e3}`, `{"paymentAmount":99999999999999999999}`,
		`{"orderDatetime":1554174706000}`, `{"orderDatetime":"2019-04-02"}`, `{"orderDatetime":"2019-04-02T11:11:46Z"}`, `{"mchtOrderNo":12,"needDeclare":"true"}`,
		`{"payerName":{"a":1}}`, `{"items":{}}`, `{"Subject":"a","subject":"b"}`, `[{"paymentAmount":1},{"paymentAmount":"x"}]`, `null`, ` `, `{"username":true,"password":null}`} {
		f.Add(uint8(0), "", []byte(s))
		f.Add(uint8(1), "application/json;charset=gbk", []byte(s))
	}
	s := &Server{maxBody: defaultMaxBody}
	f.Fuzz(func(t *testing.T, which uint8, ct string, body []byte) {
		v := fuzzTypes[int(which)%len(fuzzTypes)]()
		r := httptest.NewRequest(http.MethodPost, "/auto/createAndPay", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		err := s.decode(httptest.NewRecorder(), r, v, s.maxBody)
		if err != nil {
			code, msg := s.translate(err)
			_, bad := err.(badRequest)
			if code == codeInternal || !bad && baoguan.ErrorCode(err) != baoguan.ETOOLARGE || msg == "" || !utf8.ValidString(msg) {
				t.Fatalf("%q refused as %s %q (%v)", body, code, msg, err)
			}
			return
		}
		var orders []orderReq
		switch q := v.(type) {
		case *orderReq:
			orders = []orderReq{*q}
		case *[]orderReq:
			orders = *q
		case *refundReq:
			if q.RefundAmount.set && !fenText.MatchString(rawField(body, "refundAmount")) {
				t.Fatalf("refundAmount %s read as %d", rawField(body, "refundAmount"), q.RefundAmount.v)
			}
		}
		for i := range orders {
			o := &orders[i]
			in, err := o.input()
			if err != nil {
				if code, _ := s.translate(err); code == codeInternal || baoguan.ErrorField(err) == "" {
					t.Fatalf("input of %q: %v", body, err)
				}
				continue
			}
			if in.Order.Amount != o.PaymentAmount.v {
				t.Fatalf("amount %d translated into %d", o.PaymentAmount.v, in.Order.Amount)
			}
			if err := in.Order.Validate(); err != nil {
				if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) == "" {
					t.Fatalf("Validate: %v", err)
				}
				continue
			}
			if in.Order.Amount <= 0 || in.Order.Amount > baoguan.MaxAmount {
				t.Fatalf("Validate accepted amount %d", in.Order.Amount)
			}
		}
		if len(orders) == 1 && which%2 == 0 {
			if raw := rawField(body, "paymentAmount"); raw != "" && raw != "null" && !fenText.MatchString(raw) {
				t.Fatalf("paymentAmount %s read as %d", raw, orders[0].PaymentAmount.v)
			}
		}
	})
}

// rawField is the raw JSON of a top-level key of an object body, or "".
func rawField(body []byte, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return string(v)
		}
	}
	return ""
}

// FuzzWireTime: orderDatetime in any form is read as an instant that
// formats back (in China time, or as epoch milliseconds) to what was sent.
func FuzzWireTime(f *testing.F) {
	for _, s := range []string{`"2019-04-02 11:11:46"`, `"2019-04-02"`, `1554174706000`, `-1`, `"  2019-04-02 11:11:46 "`, `null`, `""`,
		`"2019-02-30 11:11:46"`, `9223372036854775807`, `"2019-04-02 24:00:00"`, `{}`, `1.5`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var w wireTime
		if err := w.UnmarshalJSON(b); err != nil {
			return
		}
		s := strings.TrimSpace(string(b))
		switch {
		case s == "null" || s == `""`:
			if !w.t.IsZero() {
				t.Fatalf("%s read as %v", s, w.t)
			}
		case strings.HasPrefix(s, `"`):
			var str string
			if json.Unmarshal([]byte(s), &str) != nil {
				t.Fatalf("%s accepted, not a JSON string", s)
			}
			str = strings.TrimSpace(str)
			m := chinaTimeText.FindStringSubmatch(str)
			if m == nil {
				t.Fatalf("%s accepted", s)
			}
			at := w.t.In(core.ChinaTime)
			got := []int{at.Year(), int(at.Month()), at.Day(), at.Hour(), at.Minute(), at.Second()}
			for i, g := range got {
				want, _ := strconv.Atoi(m[i+1]) // "" (no time) is 0
				if g != want {
					t.Fatalf("%s read as %v", s, at)
				}
			}
		default:
			want, err := strconv.ParseInt(s, 10, 64)
			if err != nil || w.t.UnixMilli() != want {
				t.Fatalf("%s read as %d ms", s, w.t.UnixMilli())
			}
		}
	})
}

// chinaTimeText is what orderDatetime may be as a string. Go's parser
// takes a fraction after the seconds even when the layout has none, a
// one-digit hour (as Jackson's lenient yyyy-MM-dd HH:mm:ss does), and a
// run of spaces for the layout's one.
var chinaTimeText = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})(?: +([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:[.,][0-9]+)?)?$`)

func itoa64(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzAuthenticate: an Authorization header authenticates only with a
// token signed HS256 with the installation key, naming the merchant's app
// id and app-key fingerprint, and not expired; any other header, token or
// claim is the same 401, never a panic or a 500. Tokens are fuzzed raw and
// also built from fuzzed header and claims JSON, signed with the right key
// or not, so the checks past the signature are reached.
func FuzzAuthenticate(f *testing.F) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(f.TempDir(), "fuzz.db"), Keys: keys, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	svc := core.New(&core.Service{Store: db, Now: func() time.Time { return now }})
	s, err := New(Options{Svc: svc})
	if err != nil {
		f.Fatal(err)
	}
	m, cr, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	key, err := s.jwtKey(ctx)
	if err != nil {
		f.Fatal(err)
	}
	akh := appKeyFingerprint(m)
	good := `{"sub":"` + cr.AppID + `","roles":["ROLE_USER"],"akh":"` + akh + `","iat":` + itoa64(now.Unix()) + `,"exp":` + itoa64(now.Unix()+7200) + `}`
	hs := `{"alg":"HS256","typ":"JWT"}`
	f.Add("", uint8(1), hs, good)
	f.Add("", uint8(2), hs, good)
	f.Add("", uint8(1), `{"alg":"none"}`, good)
	f.Add("", uint8(1), `{"alg":"HS512"}`, good)
	f.Add("", uint8(1), hs, strings.Replace(good, akh, "0000000000000000", 1))
	f.Add("", uint8(1), hs, strings.Replace(good, itoa64(now.Unix()+7200), itoa64(now.Unix()-1), 1))
	f.Add("", uint8(1), hs, strings.Replace(good, `"iat":`+itoa64(now.Unix()), `"iat":`+itoa64(now.Unix()+3600), 1))
	f.Add("", uint8(1), hs, strings.Replace(good, `"exp":`, `"x":`, 1))
	f.Add("", uint8(1), hs, strings.Replace(good, cr.AppID, "app_nobody", 1))
	f.Add("", uint8(1), hs, strings.Replace(good, itoa64(now.Unix()+7200), `"tomorrow"`, 1))
	f.Add("", uint8(1), hs, strings.Replace(good, itoa64(now.Unix()+7200), `1e300`, 1))
	f.Add("Bearer", uint8(0), "", "")
	f.Add("Basic YTpi", uint8(0), "", "")
	f.Add("bearer eyJhbGciOiJIUzI1NiJ9.e30.x", uint8(0), "", "")
	// The target is not vacuous: a login's token authenticates.
	if got, err := s.authenticate(ctx, token(key, 1, hs, good)); err != nil || got.ID != m.ID {
		f.Fatalf("a good token: %v, %v", got, err)
	}
	f.Fuzz(func(t *testing.T, hdr string, mode uint8, head, claims string) {
		signed := mode%4 == 1 || mode%4 == 2
		if mode%4 != 0 {
			hdr = token(key, mode, head, claims)
		}
		got, err := s.authenticate(ctx, strings.TrimSpace(hdr))
		if err != nil {
			if baoguan.ErrorCode(err) != baoguan.EUNAUTHORIZED {
				t.Fatalf("authenticate(%q): %v", hdr, err)
			}
			return
		}
		if !signed || got == nil || got.ID != m.ID {
			t.Fatalf("authenticate(%q) = %v without a token signed with the key", hdr, got)
		}
		var h struct {
			Alg string `json:"alg"`
		}
		var c struct {
			Sub string          `json:"sub"`
			AKH string          `json:"akh"`
			Exp json.RawMessage `json:"exp"`
		}
		if json.Unmarshal([]byte(head), &h) != nil || h.Alg != "HS256" {
			t.Fatalf("accepted a token with header %q", head)
		}
		if json.Unmarshal([]byte(claims), &c) != nil || c.Sub != cr.AppID || c.AKH != akh {
			t.Fatalf("accepted claims %q", claims)
		}
		var exp float64
		if json.Unmarshal(c.Exp, &exp) != nil || exp <= float64(now.Unix()) {
			t.Fatalf("accepted claims %q: expired or without exp", claims)
		}
	})
}

// token builds an Authorization header from a JWT header and claims,
// signed HS256 with key (modes 1 and 2, the second with an odd casing of
// the scheme) or with another key (mode 3).
func token(key []byte, mode uint8, head, claims string) string {
	enc := base64.RawURLEncoding
	unsigned := enc.EncodeToString([]byte(head)) + "." + enc.EncodeToString([]byte(claims))
	if mode%4 == 3 {
		key = []byte("not the installation key")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(unsigned))
	scheme := "Bearer "
	if mode%4 == 2 {
		scheme = "bEARER   "
	}
	return scheme + unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}
