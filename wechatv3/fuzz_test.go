package wechatv3

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/platform"
)

// Fuzz targets for what the WeChat Pay APIv3 front-end reads from a
// caller: the Authorization header, the request bodies of every customs
// call, and the identity fields encrypted to the platform certificate.
// Their seeds run in every `go test`; fuzz one with
// `go test ./wechatv3 -run '^$' -fuzz '^FuzzParseAuthorization$' -fuzztime 10m -parallel 1`.

// FuzzParseAuthorization: a header parses only when it has the scheme and
// all five parameters, each non-empty and given once, and each value then
// is in the header; a header built from five values (without quotes) in
// any order and spacing parses back to them.
func FuzzParseAuthorization(f *testing.F) {
	golden := `WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",signature="uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XyUgx9FmutKSYTmYtWBZ0+tNvfGmbXU7cob8H/4nLBiCwIUFluw==",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"`
	f.Add(golden, "", "", "", "", "", uint8(0))
	f.Add(strings.ReplaceAll(golden, ",", ", "), "1230000109", "n", "1554208460", "ABC", "c2ln", uint8(1))
	f.Add(strings.Replace(golden, `mchid="1900009191",`, ``, 1), "a,b", " n ", "t", "s", "sig==", uint8(7))
	f.Add(golden+`,mchid="1"`, "", "", "", "", "", uint8(2))
	f.Add(`WECHATPAY2-SHA256-RSA2048 mchid=1900009191, nonce_str = x ,timestamp="1",serial_no="s",signature="x`, "m", "n", "t", "s", "g", uint8(3))
	f.Add(`Bearer x`, "", "", "", "", "", uint8(0))
	f.Fuzz(func(t *testing.T, h, mchid, nonce, ts, serial, sig string, order uint8) {
		a, err := parseAuthorization(h)
		if err == nil {
			if !strings.HasPrefix(strings.TrimSpace(h), authScheme+" ") {
				t.Fatalf("parsed %q without the scheme", h)
			}
			for _, v := range []string{a.mchid, a.nonce, a.timestamp, a.serial, a.signature} {
				if v == "" || !strings.Contains(h, v) {
					t.Fatalf("parsed %q into %+v", h, a)
				}
			}
		} else if !utf8.ValidString(err.Error()) && utf8.ValidString(h) {
			t.Fatalf("error %q", err)
		}
		// Build a header from the values and read it back.
		vals := []string{mchid, nonce, ts, serial, sig}
		for _, v := range vals {
			if v == "" || strings.ContainsAny(v, `"`) {
				return
			}
		}
		keys := []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"}
		idx := []int{0, 1, 2, 3, 4}
		for i := range idx { // a permutation chosen by order
			j := i + int(order>>1)%(len(idx)-i)
			idx[i], idx[j] = idx[j], idx[i]
		}
		sep := ","
		if order&1 == 1 {
			sep = ", "
		}
		parts := make([]string, 0, 5)
		for _, i := range idx {
			parts = append(parts, keys[i]+`="`+vals[i]+`"`)
		}
		b, err := parseAuthorization(authScheme + " " + strings.Join(parts, sep))
		if err != nil {
			t.Fatalf("%v does not parse: %v", parts, err)
		}
		if got := []string{b.mchid, b.nonce, b.timestamp, b.serial, b.signature}; strings.Join(got, "\x00") != strings.Join(vals, "\x00") {
			t.Fatalf("%v parsed as %q", parts, got)
		}
	})
}

var bodyTypes = []func() any{
	func() any { return new(declareReq) },
	func() any { return new(modifyReq) },
	func() any { return new(redeclareReq) },
	func() any { return new(verifyReq) },
}

// FuzzDecodeBody: a body is refused as a 400 in WeChat's error model
// (never echoing the personal fields), or decodes into the call's type
// exactly as encoding/json reads it, with every key a parameter of that
// call.
func FuzzDecodeBody(f *testing.F) {
	for _, name := range []string{"testdata/declare.request.json", "testdata/verify-certificate.request.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for i := range bodyTypes {
			f.Add(uint8(i), "application/json", b)
		}
		f.Add(uint8(0), "application/json; charset=gbk", b)
		f.Add(uint8(3), "", bytes.Replace(b, []byte(`"certificate_type"`), []byte(`"certificate_typo"`), 1))
	}
	for _, s := range []string{`{"duty":"888"}`, `{"duty":8.5}`, `{"order_fee":99999999999999999999}`, `{"certificate_id":1}`, `{"Customs":"x","customs":"y"}`,
		`[]`, `null`, `{"appid":"\ud800"}`, `{"sub_order_id":null}`, `{"certificate_name":{"a":1}}`} {
		f.Add(uint8(1), "", []byte(s))
		f.Add(uint8(3), "text/json", []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, ct string, body []byte) {
		newV := bodyTypes[int(which)%len(bodyTypes)]
		r := httptest.NewRequest(http.MethodPost, "/v3/customs/orders", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		c := &call{r: r, body: body, vals: map[string]string{}}
		v := newV()
		err := decodeBody(c, v, "not a parameter of this call")
		if err != nil {
			we, ok := err.(*wireError)
			if !ok || we.status != http.StatusBadRequest || (we.body.Code != codeParamError && we.body.Code != codeInvalidRequest) || we.body.Message == "" {
				t.Fatalf("%q refused with %#v", body, err)
			}
			if d := we.body.Detail; d != nil && personal[strings.TrimPrefix(d.Field, "#/properties/")] && d.Value != "" {
				t.Fatalf("%q: error detail echoes %s", body, d.Field)
			}
			return
		}
		var raw map[string]json.RawMessage
		if json.Unmarshal(body, &raw) != nil {
			t.Fatalf("%q accepted, not a JSON object", body)
		}
		known := jsonFields(v)
		for k := range raw {
			if !known[k] {
				t.Fatalf("%q accepted with the key %q", body, k)
			}
		}
		want := newV()
		if json.Unmarshal(body, want) != nil {
			t.Fatalf("%q accepted, encoding/json refuses it", body)
		}
		got, _ := json.Marshal(v)
		exp, _ := json.Marshal(want)
		if !bytes.Equal(got, exp) {
			t.Fatalf("%q read as %s, encoding/json reads %s", body, got, exp)
		}
	})
}

var fuzzPlatformKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// FuzzDecryptIdentity: the two certificate fields, encrypted with OAEP
// (SHA-1) or PKCS #1 v1.5 to the platform key, open to the ID number and
// name sent (trimmed) exactly when those pass the ID format and text
// checks; anything else, including a field that is not base64 or not a
// ciphertext, is the one errIdentityFields, whatever step failed.
func FuzzDecryptIdentity(f *testing.F) {
	key := fuzzPlatformKey()
	s := &Server{key: &platform.Key{Private: key}}
	f.Add("330821198809085211", "张三", uint8(0), "")
	f.Add("330821198809085211", "张三", uint8(1), "")
	f.Add("33082119880908521X", " 阿卜杜·热合曼 ", uint8(2), "")
	f.Add("330821198809085211", "a\x00b", uint8(0), "")
	f.Add("12345", "张三", uint8(1), "")
	f.Add("330821198809085211", "张三", uint8(3), "AAAA")
	f.Add("330821198809085211", "张三", uint8(3), "not base64!")
	f.Add("330821198809085211", "张三", uint8(4), "")
	f.Fuzz(func(t *testing.T, id, name string, mode uint8, garbage string) {
		enc := func(pt string, oaep bool) string {
			var ct []byte
			var err error
			if oaep {
				ct, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, &key.PublicKey, []byte(pt), nil)
			} else {
				ct, err = rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, []byte(pt))
			}
			if err != nil {
				return "" // too long for one block: an empty field
			}
			return base64.StdEncoding.EncodeToString(ct)
		}
		var idField, nameField string
		switch mode % 5 {
		case 0:
			idField, nameField = enc(id, true), enc(name, true)
		case 1:
			idField, nameField = enc(id, false), enc(name, false)
		case 2:
			idField, nameField = enc(id, true), enc(name, false)
		case 3:
			idField, nameField = garbage, enc(name, true)
		case 4:
			idField, nameField = enc(id, false), garbage
		}
		gotID, gotName, err := s.decryptIdentity(idField, nameField)
		if err != nil {
			if err != errIdentityFields {
				t.Fatalf("decryptIdentity: %v", err)
			}
		} else {
			if baoguan.CheckIDFormat("x", baoguan.IDTypeIDCard, gotID) != nil || gotName == "" || baoguan.CheckText("x", gotName) != nil ||
				utf8.RuneCountInString(gotName) > 64 || gotID != strings.TrimSpace(gotID) || gotName != strings.TrimSpace(gotName) {
				t.Fatalf("decryptIdentity accepted %q, %q", gotID, gotName)
			}
		}
		if mode%5 > 2 || idField == "" || nameField == "" {
			return
		}
		tid, tname := strings.TrimSpace(id), strings.TrimSpace(name)
		valid := baoguan.CheckIDFormat("x", baoguan.IDTypeIDCard, tid) == nil && tname != "" && utf8.RuneCountInString(tname) <= 64 &&
			baoguan.CheckText("x", tname) == nil
		if valid != (err == nil) || valid && (gotID != tid || gotName != tname) {
			t.Fatalf("%q, %q (mode %d) opened as %q, %q, %v", id, name, mode%5, gotID, gotName, err)
		}
	})
}
