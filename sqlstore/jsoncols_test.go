package sqlstore

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// The JSON columns' appenders write what json.Marshal writes, byte for
// byte: the stored text, and so the row images' comparisons, do not change
// (TestJSONColumnsAsEncodingJSON). A field added to baoguan.Item or
// baoguan.CustomsExtras that the appenders miss fails here.
func TestJSONColumnsAsEncodingJSON(t *testing.T) {
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
	check := func(what, got string, v any) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Fatalf("%s of %#v:\n got %s\nwant %s", what, v, got, want)
		}
	}
	check("items", itemsJSON(nil), []baoguan.Item(nil))
	check("items", itemsJSON([]baoguan.Item{}), []baoguan.Item{})
	check("map", stringMapJSON(nil), map[string]string(nil))
	check("map", stringMapJSON(map[string]string{}), map[string]string{})
	check("extras", customsExtrasJSON(baoguan.CustomsExtras{}), baoguan.CustomsExtras{})
	for range 3000 {
		items := make([]baoguan.Item, r.IntN(4))
		for i := range items {
			items[i] = baoguan.Item{Subject: str(), Link: str(), ArticleNo: str(), Quantity: num(), UnitAmount: num()}
		}
		check("items", itemsJSON(items), items)
		m := map[string]string{}
		for range r.IntN(5) {
			m[str()] = str()
		}
		check("map", stringMapJSON(m), m)
		x := baoguan.CustomsExtras{AreaCode: str(), JyOrg: str(), InType: str()}
		check("extras", customsExtrasJSON(x), x)
	}
}
