package baoguan

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestJSONAppendersAsEncodingJSON: the appenders write what encoding/json
// writes, byte for byte, over random values — strings of quotes,
// backslashes, controls, <>&, bytes that are not UTF-8, U+2028, Chinese,
// emoji — so that fingerprints and JSON columns already stored stay equal
// to new ones. A field added to Item or CustomsExtras that the appenders
// miss fails here.
func TestJSONAppendersAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 63))
	pieces := []string{"", "a", "Zz 9", `"`, `\`, "<", ">", "&", "\n", "\t", "\r", "\b", "\f", "\x00", "\x1f", "\x7f",
		"é", "中文", "\u2028", "\u2029", "\xff", "\xe4\xb8", "😀", "\ufffd", "/", "'", "{", "}", "[", ","}
	str := func() string {
		var sb strings.Builder
		for range r.IntN(5) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		return sb.String()
	}
	num := func() int64 { return randInt64(r) }
	check := func(what string, got []byte, v any) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("%s of %#v:\n got %s\nwant %s", what, v, got, want)
		}
	}
	// Without HTML escaping, as a json.Encoder with SetEscapeHTML(false).
	checkPlain := func(s string) {
		t.Helper()
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(buf.String(), "\n")
		if got := string(AppendJSONString(nil, s, false)); got != want {
			t.Fatalf("string %q without HTML escaping:\n got %s\nwant %s", s, got, want)
		}
	}
	check("items", AppendItemsJSON(nil, nil), []Item(nil))
	check("items", AppendItemsJSON(nil, []Item{}), []Item{})
	check("map", AppendStringMapJSON(nil, nil), map[string]string(nil))
	check("map", AppendStringMapJSON(nil, map[string]string{}), map[string]string{})
	check("extras", CustomsExtras{}.AppendJSON(nil), CustomsExtras{})
	for c := range 256 { // every byte alone and amid others (AppendJSONString's table)
		for _, s := range []string{string([]byte{byte(c)}), "a" + string([]byte{byte(c)}) + "中"} {
			check("string", AppendJSONString(nil, s, true), s)
			checkPlain(s)
		}
	}
	for range 3000 {
		s := str()
		check("string", AppendJSONString(nil, s, true), s)
		checkPlain(s)
		items := make([]Item, r.IntN(4))
		for i := range items {
			items[i] = Item{Subject: str(), Link: str(), ArticleNo: str(), Quantity: num(), UnitAmount: num()}
		}
		check("items", AppendItemsJSON(nil, items), items)
		m := map[string]string{}
		for range r.IntN(5) {
			m[str()] = str()
		}
		check("map", AppendStringMapJSON(nil, m), m)
		x := CustomsExtras{AreaCode: str(), JyOrg: str(), InType: str()}
		check("extras", x.AppendJSON(nil), x)
	}
}

// TestJSONParsersAsEncodingJSON: what the parsers read from the
// appenders' text is what json.Unmarshal reads, over random values; they
// take all of it where no string needs an escape (so that a stored column
// is not left to encoding/json for nothing), and any text they take —
// also text the appenders do not write: white space, members out of
// order or twice, escapes, numbers of other forms, broken text — they
// read as json.Unmarshal does, and none that it refuses.
func TestJSONParsersAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 29))
	plain := []string{"", "a", "Zz 9", "é", "中文", "😀", "\ufffd", "/", "'", "{", "}", "[", ",", ":", "]"}
	escaped := []string{`"`, `\`, "<", ">", "&", "\n", "\x00", "\x1f", "\u2028", "\xff"}
	str := func(escapes bool) string {
		var sb strings.Builder
		for range r.IntN(5) {
			if escapes && r.IntN(4) == 0 {
				sb.WriteString(escaped[r.IntN(len(escaped))])
			} else {
				sb.WriteString(plain[r.IntN(len(plain))])
			}
		}
		return sb.String()
	}
	num := func() int64 { return randInt64(r) }
	// check parses text with parse and with json.Unmarshal into a zero
	// value of want's type; taken says the parser must take it.
	check := func(what, text string, taken bool, parse func(string) (any, bool), zero func() any) {
		t.Helper()
		got, ok := parse(text)
		want := zero()
		err := json.Unmarshal([]byte(text), want)
		switch {
		case ok && err != nil:
			t.Fatalf("%s %s: taken as %#v, which json.Unmarshal refuses: %v", what, text, got, err)
		case ok && !reflect.DeepEqual(got, reflect.ValueOf(want).Elem().Interface()):
			t.Fatalf("%s %s:\n got %#v\nwant %#v", what, text, got, reflect.ValueOf(want).Elem().Interface())
		case taken && !ok:
			t.Fatalf("%s %s: not taken", what, text)
		}
	}
	items := func(s string) (any, bool) { v, ok := ParseItemsJSON(s); return v, ok }
	itemsZero := func() any { return new([]Item) }
	strMap := func(s string) (any, bool) { v, ok := ParseStringMapJSON(s); return v, ok }
	mapZero := func() any { return new(map[string]string) }
	extras := func(s string) (any, bool) { v, ok := ParseCustomsExtrasJSON(s); return v, ok }
	extrasZero := func() any { return new(CustomsExtras) }
	for range 3000 {
		escapes := r.IntN(2) == 0
		its := make([]Item, r.IntN(4))
		if r.IntN(8) == 0 {
			its = nil
		}
		for i := range its {
			its[i] = Item{Subject: str(escapes), Link: str(escapes), ArticleNo: str(escapes), Quantity: num(), UnitAmount: num()}
		}
		check("items", string(AppendItemsJSON(nil, its)), !escapes, items, itemsZero)
		var m map[string]string
		if r.IntN(8) != 0 {
			m = map[string]string{}
			for range r.IntN(5) {
				m[str(escapes)] = str(escapes)
			}
		}
		check("map", string(AppendStringMapJSON(nil, m)), !escapes, strMap, mapZero)
		x := CustomsExtras{AreaCode: str(escapes), JyOrg: str(escapes), InType: str(escapes)}
		check("extras", string(x.AppendJSON(nil)), !escapes, extras, extrasZero)
	}
	for _, text := range []string{"", " ", "null", "nul", "[]", "[", "[]x", " []", "[ ]", "[{}]", `[{"subject":"a"}]`,
		`[{"subject":"a"},]`, `[{"subject":"a"}{"subject":"b"}]`, `[{"subject":"a"} ]`, `[{"subject": "a"}]`,
		`[{"subject":"a","subject":"b"}]`, `[{"link":"l","subject":"a"}]`, `[{"subject":"a","link":""}]`,
		`[{"subject":"a","quantity":0}]`, `[{"subject":"a","quantity":01}]`, `[{"subject":"a","quantity":-0}]`,
		`[{"subject":"a","quantity":1.0}]`, `[{"subject":"a","quantity":1e2}]`, `[{"subject":"a","quantity":-}]`,
		`[{"subject":"a","quantity":99999999999999999999}]`, `[{"subject":"a","unit_amount":-5,"quantity":2}]`,
		`[{"subject":"a","Quantity":2}]`, `[{"subject":"a\u0062"}]`, `[{"subject":"a` + "\x01" + `"}]`,
		`[{"subject":"a` + "\xff" + `"}]`, `[{"subject":"a"}]]`, `[{"subject":"a","link":"b","article_no":"c","quantity":3,"unit_amount":4}]`,
		`[{"subject":"a","x":1}]`, `[null]`, `{}`} {
		check("items", text, false, items, itemsZero)
	}
	for _, text := range []string{"", "null", "{}", "{", "{}}", `{"a":"b"}`, `{"a":"b","c":"d"}`, `{"c":"d","a":"b"}`,
		`{"a":"b","a":"c"}`, `{"":"x"}`, `{"":"x","":"y"}`, `{"a":1}`, `{"a":"b",}`, `{"a" :"b"}`, `{"a":"b" }`,
		`{"a\n":"b"}`, `{"a":"b\"c"}`, `{"a":null}`, `[]`} {
		check("map", text, false, strMap, mapZero)
	}
	for _, text := range []string{"", "null", "{}", `{"AreaCode":"","JyOrg":"","InType":""}`, `{"AreaCode":"a","JyOrg":"b","InType":"c"}`,
		`{"JyOrg":"b","AreaCode":"a","InType":"c"}`, `{"AreaCode":"a","JyOrg":"b"}`, `{"AreaCode":"a","JyOrg":"b","InType":"c","X":"d"}`,
		`{"areacode":"a","JyOrg":"b","InType":"c"}`, `{"AreaCode":"a","JyOrg":"b","InType":"c"}x`, `{"AreaCode":1,"JyOrg":"b","InType":"c"}`} {
		check("extras", text, false, extras, extrasZero)
	}
}

// randInt64 is a zero a quarter of the time, a negative number another
// quarter, else a large positive one: the integers the tests write.
func randInt64(r *rand.Rand) int64 {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		return -r.Int64N(1 << 40)
	}
	return r.Int64N(1 << 62)
}
