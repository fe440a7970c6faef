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
	// Written on the stack when it fits: only the string is allocated.
	var buf [512]byte
	return string(baoguan.AppendItemsJSON(buf[:0], items))
}

// stringMapJSON is json.Marshal(m).
func stringMapJSON(m map[string]string) string {
	if len(m) == 0 && m != nil {
		return "{}"
	}
	var buf [256]byte
	return string(baoguan.AppendStringMapJSON(buf[:0], m))
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

// The columns are read back by baoguan's parsers where they take the
// text (what the appenders wrote: every row since the appenders came, and
// the json.Marshal text before them, which is the same), and by
// encoding/json otherwise. Every order and declaration read goes through
// them, a SQLite batch's among them inside the single writer.

// itemsFromJSON reads an items column into *v.
func (t *Tx) itemsFromJSON(s string, v *[]baoguan.Item) error {
	if items, ok := baoguan.ParseItemsJSON(s); ok {
		*v = items
		return nil
	}
	return t.fromJSON(s, v)
}

// stringMapFromJSON reads a string map column into *v, a nil map (JSON
// read into a map it adds to).
func (t *Tx) stringMapFromJSON(s string, v *map[string]string) error {
	if *v == nil {
		if m, ok := baoguan.ParseStringMapJSON(s); ok {
			*v = m
			return nil
		}
	}
	return t.fromJSON(s, v)
}

// customsExtrasFromJSON reads a customs extras column into *v.
func (t *Tx) customsExtrasFromJSON(s string, v *baoguan.CustomsExtras) error {
	if s == zeroCustomsExtras {
		*v = baoguan.CustomsExtras{}
		return nil
	}
	if x, ok := baoguan.ParseCustomsExtrasJSON(s); ok {
		*v = x
		return nil
	}
	return t.fromJSON(s, v)
}
