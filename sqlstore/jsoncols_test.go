package sqlstore

import (
	"encoding/json"
	"testing"

	"github.com/baoguan/baoguan"
)

// The JSON columns' shortcuts (the zero customs extras, the empty map)
// write what json.Marshal writes; the appenders behind them are checked
// over random values by baoguan's TestJSONAppendersAsEncodingJSON.
func TestJSONColumnsAsEncodingJSON(t *testing.T) {
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
	items := []baoguan.Item{{Subject: "奶粉 <1>", Quantity: 2, UnitAmount: 4023}, {Subject: "x", Link: "http://a/b?c&d"}}
	for _, v := range [][]baoguan.Item{nil, {}, items} {
		check("items", itemsJSON(v), v)
	}
	for _, v := range []map[string]string{nil, {}, {"b": "2", "a": "\u2028"}} {
		check("map", stringMapJSON(v), v)
	}
	for _, v := range []baoguan.CustomsExtras{{}, {AreaCode: "3105"}, {JyOrg: "&", InType: "\n"}} {
		check("extras", customsExtrasJSON(v), v)
	}
}
