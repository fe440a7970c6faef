package baoguan

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
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
	num := func() int64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return -r.Int64N(1 << 40)
		}
		return r.Int64N(1 << 62)
	}
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
