package pushorder

import (
	"bytes"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// FuzzPush runs what PushOrder does with a caller's bytes before it knows
// who is calling: the body (raw "data=<JSON>", a URL-encoded form, a
// multipart form or bare JSON, in UTF-8 or a declared GB charset), the data
// object's fields, and their translation into a core order. Its seeds run
// in every `go test`; fuzz it with
// `go test ./pushorder -run '^$' -fuzz '^FuzzPush$' -fuzztime 10m -parallel 1`.
//
// Properties: no panic; a refusal is a documented ReturnCode other than
// 9910 (internal); what readData returns is UTF-8; data sent URL-encoded or
// as a multipart part comes back as sent; a translated order has the
// amount OrderTotal states (big.Rat as the oracle), a positive count, and
// passes or fails the core's order check with an error naming a field.
func FuzzPush(f *testing.F) {
	for _, name := range []string{"testdata/pushorder_sample.json", "testdata/getorder_sample.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for mode := range uint8(5) {
			f.Add(mode, "", b)
		}
		f.Add(uint8(0), "application/x-www-form-urlencoded; charset=gbk", append([]byte("data="), b...))
	}
	cb, err := os.ReadFile("testdata/callback_sample.body")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), "application/x-www-form-urlencoded", cb)
	for _, s := range []string{`{"OrderNo":"1","OrderTotal":"1e3"}`, `{"orderno":"a","OrderNo":"b"}`, `{"TotalNum":5.50}`, `{"OrderTotal":-0.01}`,
		`{"ShopPayTime":"2018-07-01T21:22:34.5+08:00"}`, `{"OrderTotal":{}}`, `[]`, `{"a":1}{`, "{\"ReceiverName\":\"\xd5\xc5\xc8\xfd\"}", `{"CustomsCode":"HANGZHOU_ZS"}`,
		`{"PaymentNo":"P1"}`, `{"OrderNo":"1","ReceiverName":"张三","ReceiverCardNo":"110105199001011232","ReceiverMobile":"1","OrderTotal":100.00,"TotalNum":1,"ItemNames":"x","ShopPayTime":"2018-07-01 21:22:34"}`} {
		f.Add(uint8(1), "", []byte(s))
		f.Add(uint8(0), "text/plain; charset=gb18030", []byte("data="+s))
	}
	s := &Server{maxBody: defaultMaxBody}
	f.Fuzz(func(t *testing.T, mode uint8, ct string, data []byte) {
		// mode 0: data is the whole body; 1: data=<data> raw; 2: data
		// URL-encoded in a form; 3: a multipart part; 4: bare JSON with a
		// byte-order mark.
		body := data
		switch mode % 5 {
		case 1:
			body = append([]byte("data="), data...)
		case 2:
			body = []byte("x=1&data=" + url.QueryEscape(string(data)))
			ct = "application/x-www-form-urlencoded"
		case 3:
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			_ = mw.WriteField("data", string(data))
			_ = mw.Close()
			body, ct = buf.Bytes(), mw.FormDataContentType()
		case 4:
			body = append([]byte("\xef\xbb\xbf"), data...)
		}
		r := httptest.NewRequest(http.MethodPost, "/PushOrder/tok", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		got, err := s.readData(httptest.NewRecorder(), r)
		if err != nil {
			checkRefusal(t, body, err)
			return
		}
		if !utf8.Valid(got) {
			t.Fatalf("readData(%q) = %q, not UTF-8", body, got)
		}
		trimmed := bytes.TrimSpace(data)
		if (mode%5 == 2 || mode%5 == 3) && utf8.Valid(data) && len(trimmed) > 0 && !bytes.Equal(got, trimmed) {
			t.Fatalf("data %q sent in mode %d read as %q", data, mode%5, got)
		}
		fs, err := parseFields(got)
		if err == nil {
			err = fs.check(pushKeys...)
		}
		if err != nil {
			checkRefusal(t, body, err)
			return
		}
		for k := range fs {
			if k != strings.ToLower(strings.TrimSpace(k)) {
				t.Fatalf("key %q kept unnormalised", k)
			}
		}
		in, err := orderInput(fs, mode%2 == 0)
		if err != nil {
			checkRefusal(t, body, err)
			return
		}
		o := in.Order
		r2, ok := new(big.Rat).SetString(fs.mustText("OrderTotal"))
		if !ok {
			t.Fatalf("OrderTotal %q accepted, big.Rat cannot read it", fs.mustText("OrderTotal"))
		}
		r2.Mul(r2, big.NewRat(100, 1))
		if !r2.IsInt() || !r2.Num().IsInt64() || r2.Num().Int64() != o.Amount || o.Amount > baoguan.MaxAmount || o.Amount < -baoguan.MaxAmount {
			t.Fatalf("OrderTotal %q read as %d fen", fs.mustText("OrderTotal"), o.Amount)
		}
		if len(o.Items) != 1 || o.Items[0].Quantity <= 0 || o.Payer.Name == "" || o.Payer.IDNumber == "" || o.Payer.Phone == "" || len(in.Declarations) != 1 {
			t.Fatalf("translated into %+v", in)
		}
		if err := o.Validate(); err != nil {
			if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) == "" {
				t.Fatalf("Validate: %v", err)
			}
			checkRefusal(t, body, err)
		}
	})
}

func checkRefusal(t *testing.T, body []byte, err error) {
	t.Helper()
	code, msg := pushResult(err)
	if code == CodeInternal || code == CodeOK || code == "" || msg == "" || !utf8.ValidString(msg) {
		t.Fatalf("%q: %v answered %s %q", body, err, code, msg)
	}
}
