package inbound

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckJSON(t *testing.T) {
	cases := []struct {
		in     string
		kind   string // "" = no problem
		path   string
		offset int64
		msg    string // part of the message
	}{
		{in: `{"amount":1}`},
		{in: ` [1, 2.5e-3, "x", true, false, null, {}, []] `},
		{in: `{"name":"\u5f20\u4e09","emoji":"\ud83d\ude00"}`},
		{in: `"\u00e9\/\b\f\n\r\t\\\""`},
		{in: "{\"k\":\"\xef\xbf\xbd\"}"}, // a real U+FFFD is text like any other
		{in: "", kind: KindSyntax, offset: 0, msg: "empty"},
		{in: "  ", kind: KindSyntax, offset: 0, msg: "empty"},
		{in: `{"amount":1,"AMOUNT":2}`, kind: KindDuplicate, path: "AMOUNT", offset: 12, msg: `"amount" and "AMOUNT" differ only in case`},
		{in: `{"amount":1,"amount":2}`, kind: KindDuplicate, path: "amount", offset: 12, msg: "appears twice"},
		// The Kelvin sign folds to k, as encoding/json matches it.
		{in: `{"kind":1,"\u212aind":2}`, kind: KindDuplicate, path: "\u212aind", offset: 10},
		{in: `{"a":{"x":1},"b":{"X":1}}`}, // one key per object
		{in: `{"declarations":[{"customs":"HG014"},{"customs":"A","Customs":"B"}]}`, kind: KindDuplicate,
			path: "declarations[1].Customs", msg: "declarations[1].Customs"},
		{in: "{\"name\":\"\xd5\xc5\xc8\xfd\"}", kind: KindUTF8, path: "name", offset: 9, msg: "invalid UTF-8"},
		{in: "{\"n\xff\":1}", kind: KindUTF8, offset: 3},
		{in: `{"name":"\ud800"}`, kind: KindSurrogate, path: "name", offset: 9, msg: `\ud800`},
		{in: `{"name":"\udc00\ud800"}`, kind: KindSurrogate, path: "name"},
		{in: `{"name":"\ud83dx"}`, kind: KindSurrogate, path: "name"},
		{in: `{"name":"\ud83d\u0041"}`, kind: KindSurrogate, path: "name"},
		{in: `{"amount":01}`, kind: KindSyntax, path: "", offset: 11, msg: "expected ',' or '}'"},
		{in: `{"amount":1.}`, kind: KindSyntax, path: "amount", msg: "after the decimal point"},
		{in: `{"amount":-}`, kind: KindSyntax, path: "amount"},
		{in: `{"amount":1e}`, kind: KindSyntax, path: "amount"},
		{in: `{"a":tru}`, kind: KindSyntax, path: "a"},
		{in: `{"a":1,}`, kind: KindSyntax, msg: "quoted object key"},
		{in: `[1,]`, kind: KindSyntax, path: "[1]"},
		{in: `{"a":1} {"b":2}`, kind: KindSyntax, offset: 8, msg: "more than one JSON value"},
		{in: "{\"a\":\"x\ny\"}", kind: KindSyntax, path: "a", msg: "control character"},
		{in: `{"a":"\x"}`, kind: KindSyntax, path: "a", msg: "invalid escape"},
		{in: `{"a":"\u12"}`, kind: KindSyntax, path: "a"},
		{in: `{"a":"abc`, kind: KindSyntax, path: "a", msg: "end of JSON"},
		{in: strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2), kind: KindDepth, path: strings.Repeat("[0]", MaxDepth+1)},
		{in: strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)},
	}
	for _, c := range cases {
		p := CheckJSON([]byte(c.in))
		switch {
		case c.kind == "" && p != nil:
			t.Errorf("%q: %v, want no problem", c.in, p)
		case c.kind == "":
		case p == nil:
			t.Errorf("%q: no problem, want %s", c.in, c.kind)
		case p.Kind != c.kind || p.Path != c.path || c.offset != 0 && p.Offset != c.offset || !strings.Contains(p.Message, c.msg):
			t.Errorf("%q: %s at %d path %q: %s; want %s at %d path %q with %q", c.in, p.Kind, p.Offset, p.Path, p.Message, c.kind, c.offset, c.path, c.msg)
		}
		// Whatever CheckJSON accepts, encoding/json reads.
		if p == nil && !json.Valid([]byte(c.in)) {
			t.Errorf("%q: accepted, but encoding/json finds it invalid", c.in)
		}
	}
}

// TestCheckJSONElements: the elements of the named top-level array are
// found where they are, only for that key spelled so at the top level; a
// problem is CheckJSON's.
func TestCheckJSONElements(t *testing.T) {
	cases := []struct {
		in    string
		ok    bool
		elems []string // the spans' text
	}{
		{in: `{"orders":[{"a":1}, [2,3] ,"x",4,null,{"orders":[5]}],"pay":true}`, ok: true,
			elems: []string{`{"a":1}`, `[2,3]`, `"x"`, `4`, `null`, `{"orders":[5]}`}},
		{in: ` { "batch_no" : "B", "orders" : [ ] } `, ok: true},
		{in: `{"Orders":[1]}`},
		{in: `{"orders":{"x":[1]}}`},
		{in: `{"orders":null,"x":[1]}`},
		{in: `{"x":{"orders":[1]}}`},
		{in: `[{"orders":[1]}]`},
		{in: `{"other":[1],"orders":"[2]"}`},
	}
	for _, c := range cases {
		arr, spans, ok, p := CheckJSONElements([]byte(c.in), "orders")
		if p != nil {
			t.Errorf("%q: %v", c.in, p)
			continue
		}
		var got []string
		for _, sp := range spans {
			got = append(got, c.in[sp[0]:sp[1]])
		}
		if ok != c.ok || !reflect.DeepEqual(got, c.elems) {
			t.Errorf("%q: ok %v, elements %q; want %v, %q", c.in, ok, got, c.ok, c.elems)
		}
		if ok && (c.in[arr[0]] != '[' || c.in[arr[1]-1] != ']' || !json.Valid([]byte(c.in[arr[0]:arr[1]]))) {
			t.Errorf("%q: the array is %q", c.in, c.in[arr[0]:arr[1]])
		}
	}
	bad := `{"orders":[{"a":1},{"a":1,"A":2}]}`
	if _, _, _, p := CheckJSONElements([]byte(bad), "orders"); p == nil || *p != *CheckJSON([]byte(bad)) {
		t.Errorf("%q: %v, want CheckJSON's %v", bad, p, CheckJSON([]byte(bad)))
	}
}

func TestPathAt(t *testing.T) {
	doc := `{"merchant_order_no":"A1","amount":1.5,"declarations":[{"customs":"HG014"},{"customs":7,"fees":[1,2]}],"payer":{"name":"x"}}`
	cases := []struct {
		at   string // the text whose first byte is looked up (its first occurrence)
		skip int    // occurrences to skip
		want string
	}{
		{`{"merchant`, 0, ""},
		{`"A1"`, 0, "merchant_order_no"},
		{`"merchant_order_no"`, 0, "merchant_order_no"},
		{`1.5`, 0, "amount"},
		{`5,"decl`, 0, "amount"},
		{`7,`, 0, "declarations[1].customs"},
		{`"HG014"`, 0, "declarations[0].customs"},
		{`2]`, 0, "declarations[1].fees[1]"},
		{`{"customs":7`, 0, "declarations[1]"},
		{`"x"`, 0, "payer.name"},
		{`}}`, 0, "payer"},
	}
	for _, c := range cases {
		at := strings.Index(doc, c.at)
		if at < 0 {
			t.Fatalf("%q not in the document", c.at)
		}
		if got := PathAt([]byte(doc), int64(at)); got != c.want {
			t.Errorf("PathAt(%q at %d) = %q, want %q", c.at, at, got, c.want)
		}
	}
	if got := PathAt([]byte(doc), int64(len(doc)-1)); got != "" {
		t.Errorf("last byte: %q", got)
	}
}

// TestTypeErrorPath shows how a front-end names the field of an
// encoding/json type error: the error's offset is just past the value,
// and PathAt of the byte before it is the value's path with indices.
func TestTypeErrorPath(t *testing.T) {
	type decl struct {
		Customs string `json:"customs"`
	}
	var v struct {
		Amount       int64  `json:"amount"`
		Declarations []decl `json:"declarations"`
	}
	for in, want := range map[string]string{
		`{"amount":1,"declarations":[{"customs":"A"},{"customs":7}]}`: "declarations[1].customs",
		`{"amount":1.5}`:      "amount",
		`{"amount":"100"}`:    "amount",
		`{"amount":{"x":1}}`:  "amount",
		`{"declarations":{}}`: "declarations",
	} {
		err := json.Unmarshal([]byte(in), &v)
		te, ok := err.(*json.UnmarshalTypeError)
		if !ok {
			t.Fatalf("%s: %v, want a type error", in, err)
		}
		if got := PathAt([]byte(in), te.Offset-1); got != want {
			t.Errorf("%s: path %q (offset %d), want %q", in, got, te.Offset, want)
		}
	}
}

func TestToUTF8(t *testing.T) {
	gbk := "\xd5\xc5\xc8\xfd" // 张三 in GBK
	cases := []struct {
		in, charset string
		gb          bool
		want        string
		kind        string
		offset      int64
	}{
		{in: "张三", charset: "", want: "张三"},
		{in: "\xef\xbb\xbf张三", charset: "utf-8", want: "张三"},
		{in: "张三", charset: "utf8", want: "张三"},
		{in: "ab" + gbk, charset: "", kind: KindUTF8, offset: 2},
		{in: gbk, charset: "utf-8", kind: KindUTF8, offset: 0},
		{in: gbk, charset: "gbk", gb: true, want: "张三"},
		{in: gbk, charset: "gb2312", gb: true, want: "张三"},
		{in: "data=" + gbk, charset: "gb18030", gb: true, want: "data=张三"},
		{in: gbk, charset: "gbk", gb: false, kind: KindCharset},
		{in: "ab\xd5", charset: "gbk", gb: true, kind: KindCharset},
		{in: "ab\xff\xff", charset: "gbk", gb: true, kind: KindCharset, offset: 2},
		{in: "abc", charset: "iso-8859-1", gb: true, kind: KindCharset},
		{in: "abc", charset: "big5", kind: KindCharset},
	}
	for _, c := range cases {
		out, p := ToUTF8([]byte(c.in), c.charset, c.gb)
		switch {
		case c.kind == "" && (p != nil || string(out) != c.want):
			t.Errorf("%q as %q: %q %v, want %q", c.in, c.charset, out, p, c.want)
		case c.kind != "" && (p == nil || p.Kind != c.kind || c.offset != 0 && p.Offset != c.offset):
			t.Errorf("%q as %q: %q %+v, want %s at %d", c.in, c.charset, out, p, c.kind, c.offset)
		}
		if p == nil && !utf8.Valid(out) {
			t.Errorf("%q as %q: invalid UTF-8 out", c.in, c.charset)
		}
	}
	for ct, want := range map[string]string{
		"application/x-www-form-urlencoded; charset=GBK": "gbk",
		"application/json;charset=utf-8":                 "utf-8",
		`text/plain; charset="UTF-8"`:                    "utf-8",
		"application/json":                               "",
		"":                                               "",
		"garbage;;":                                      "",
	} {
		if got := Charset(ct); got != want {
			t.Errorf("Charset(%q) = %q, want %q", ct, got, want)
		}
	}
}

func TestCheckContentEncoding(t *testing.T) {
	cases := []struct {
		values  []string
		charset bool
		ok      bool
	}{
		{nil, false, true},
		{[]string{""}, false, true},
		{[]string{"identity"}, false, true},
		{[]string{"Identity"}, true, true},
		{[]string{"gzip"}, false, false},
		{[]string{"gzip"}, true, false},
		{[]string{"identity, br"}, false, false},
		{[]string{"deflate"}, true, false},
		{[]string{"UTF-8"}, true, true}, // LianLian's SDK
		{[]string{"utf-8"}, false, false},
		{[]string{"UTF-8", "gzip"}, true, false},
	}
	for _, c := range cases {
		p := CheckContentEncoding(c.values, c.charset)
		if (p == nil) != c.ok {
			t.Errorf("%q (charset names %v): %v, want ok=%v", c.values, c.charset, p, c.ok)
		}
		if p != nil && p.Kind != KindEncoding {
			t.Errorf("%q: kind %s", c.values, p.Kind)
		}
	}
}

func TestDecode(t *testing.T) {
	type decl struct {
		Customs string `json:"customs"`
		Fee     int64  `json:"order_fee"`
	}
	type base struct {
		No string `json:"merchant_order_no"`
	}
	type req struct {
		base
		Amount       int64          `json:"amount"`
		Declarations []decl         `json:"declarations"`
		Extra        map[string]int `json:"extra"`
		Pay          bool           `json:"pay"`
	}
	cases := []struct {
		in     string
		strict bool
		kind   string
		path   string
		want   string
		msg    string
	}{
		{in: `{"merchant_order_no":"A","amount":1,"declarations":[{"customs":"X","order_fee":2}],"extra":{"a":1},"pay":true}`, strict: true},
		{in: `{"MERCHANT_ORDER_NO":"A","Amount":1}`, strict: true}, // encoding/json's matching, one key each
		{in: `{"amount":1.5}`, kind: KindType, path: "amount", want: "integer", msg: "amount must be an integer, not the number 1.5"},
		{in: `{"amount":"100"}`, kind: KindType, path: "amount", want: "integer", msg: "not a string"},
		{in: `{"amount":99999999999999999999}`, kind: KindType, path: "amount", want: "integer"},
		{in: `{"declarations":[{"customs":"A"},{"customs":7}]}`, kind: KindType, path: "declarations[1].customs", want: "string", msg: "declarations[1].customs must be a string, not a number"},
		{in: `{"declarations":[{},{"order_fee":true}]}`, kind: KindType, path: "declarations[1].order_fee", want: "integer", msg: "not a boolean"},
		{in: `{"declarations":{}}`, kind: KindType, path: "declarations", want: "array"},
		{in: `{"extra":{"a":"b"}}`, kind: KindType, path: "extra.a", want: "integer"},
		{in: `{"pay":"yes"}`, kind: KindType, path: "pay", want: "boolean"},
		{in: `[1]`, kind: KindType, path: "", want: "object", msg: "the body must be an object"},
		{in: `{"amount":1,"nope":2}`, strict: true, kind: KindUnknown, path: "nope"},
		{in: `{"amount":1,"nope":2}`},
		{in: `{"declarations":[{"customs":"A"},{"customs":"B","fee":1}]}`, strict: true, kind: KindUnknown, path: "declarations[1].fee"},
		{in: `{"declarations":[{"customs":"A"}],"customs":"B"}`, strict: true, kind: KindUnknown, path: "customs"},
		// Found by FuzzDecode (api): an unknown key "" sorted first hid the
		// nested key encoding/json named, and the path fell back to "0000".
		{in: `{"DECLARATIONS":[{"0000":"x"}],"":[]}`, strict: true, kind: KindUnknown, path: "DECLARATIONS[0].0000"},
		{in: `{"":1}`, strict: true, kind: KindUnknown, path: ""},
		{in: `{"amount":1,"AMOUNT":2}`, kind: KindDuplicate, path: "AMOUNT"},
		{in: `{"amount":`, kind: KindSyntax, path: "amount"},
	}
	for _, c := range cases {
		var v req
		p := Decode([]byte(c.in), &v, c.strict)
		switch {
		case c.kind == "" && p != nil:
			t.Errorf("%s: %v", c.in, p)
		case c.kind == "":
		case p == nil:
			t.Errorf("%s: no problem, want %s", c.in, c.kind)
		case p.Kind != c.kind || p.Path != c.path || p.Want != c.want || !strings.Contains(p.Message, c.msg):
			t.Errorf("%s: %s %q want=%q: %s; want %s %q want=%q %q", c.in, p.Kind, p.Path, p.Want, p.Message, c.kind, c.path, c.want, c.msg)
		}
	}
}

// amountText is a field type with its own decoder, whose type errors
// encoding/json reports without an offset or indices.
type amountText int64

func (a *amountText) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[int64]()}
	}
	return json.Unmarshal(b, (*int64)(a))
}

func TestDecodeLocatesOwnDecoderErrors(t *testing.T) {
	type item struct {
		Amount amountText `json:"paymentAmount"`
	}
	var batch []item
	p := Decode([]byte(`[{"paymentAmount":1},{"paymentAmount":2},{"paymentAmount":"x"}]`), &batch, false)
	if p == nil || p.Kind != KindType || p.Path != "[2].paymentAmount" {
		t.Errorf("top-level array: %+v, want a type error at [2].paymentAmount", p)
	}
	var obj struct {
		Orders []item `json:"orders"`
	}
	p = Decode([]byte(`{"orders":[{"paymentAmount":1},{"PaymentAmount":true}]}`), &obj, false)
	if p == nil || p.Path != "orders[1].PaymentAmount" {
		t.Errorf("nested: %+v, want orders[1].PaymentAmount", p)
	}
	for in, want := range map[string]string{"[0].amount": "amount", "a[1].b[2].c": "a.b.c", "x": "x", "[3]": ""} {
		if got := stripIndices(in); got != want {
			t.Errorf("stripIndices(%q) = %q, want %q", in, got, want)
		}
	}
}
