package sqlstore

import "github.com/baoguan/baoguan"

// JSON columns written by hand. An order's items and extra and a
// declaration's customs extras are stored as the text json.Marshal makes
// of them, and that text is made at every write of the row and every
// image of it (an order's push, its update at the batch's flush: on
// SQLite inside the single writer), where encoding/json's reflection cost
// about a microsecond a column. baoguan's appenders write the same bytes
// (TestJSONAppendersAsEncodingJSON).

// itemsJSON is json.Marshal(items).
func itemsJSON(items []baoguan.Item) string {
	return string(baoguan.AppendItemsJSON(make([]byte, 0, 16+64*len(items)), items))
}

// stringMapJSON is json.Marshal(m).
func stringMapJSON(m map[string]string) string {
	if len(m) == 0 && m != nil {
		return "{}"
	}
	return string(baoguan.AppendStringMapJSON(nil, m))
}

// zeroCustomsExtras is json.Marshal of baoguan.CustomsExtras{}, what nearly
// every declaration stores.
const zeroCustomsExtras = `{"AreaCode":"","JyOrg":"","InType":""}`

// customsExtrasJSON is json.Marshal(x).
func customsExtrasJSON(x baoguan.CustomsExtras) string {
	if x == (baoguan.CustomsExtras{}) {
		return zeroCustomsExtras
	}
	return string(x.AppendJSON(make([]byte, 0, len(zeroCustomsExtras)+len(x.AreaCode)+len(x.JyOrg)+len(x.InType)+8)))
}
