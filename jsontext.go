package baoguan

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// JSON text written without reflection. An order's items, extra and
// customs extras are written as encoding/json writes them in three
// places that run for every pushed order: the order's fingerprint (core),
// its stored JSON columns (sqlstore) and its wire JSON (api). Each place
// must write json.Marshal's bytes exactly — a fingerprint or a column
// already stored is compared with a new one — so they share these
// appenders, and TestJSONAppendersAsEncodingJSON compares them with
// encoding/json over random values: a field added to Item or
// CustomsExtras that they do not follow fails it.

const jsonHex = "0123456789abcdef"

// jsonSafe and jsonHTMLSafe tell the ASCII bytes AppendJSONString writes
// as they are, without and with html (a table, as encoding/json's: the
// raw exchange a notification body quotes has a quote every few bytes,
// and the comparisons were about 5 ns a byte).
var jsonSafe, jsonHTMLSafe = func() (safe, html [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		safe[c] = c >= 0x20 && c != '"' && c != '\\'
		html[c] = safe[c] && c != '<' && c != '>' && c != '&'
	}
	return safe, html
}()

// AppendJSONString appends s quoted as encoding/json quotes a string:
// quotes, backslashes and control characters escaped (\b \f \n \r \t by
// name, the others as \u00XX), <, > and & as \u00XX when html is set (as
// json.Marshal does), each byte that is not UTF-8 as \ufffd, and U+2028
// and U+2029 escaped.
func AppendJSONString(b []byte, s string, html bool) []byte {
	safe := &jsonSafe
	if html {
		safe = &jsonHTMLSafe
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSON appends json.Marshal(it): by its JSON tags, link, article_no,
// quantity and unit_amount omitted when empty.
func (it *Item) AppendJSON(b []byte) []byte {
	b = append(b, `{"subject":`...)
	b = AppendJSONString(b, it.Subject, true)
	if it.Link != "" {
		b = append(b, `,"link":`...)
		b = AppendJSONString(b, it.Link, true)
	}
	if it.ArticleNo != "" {
		b = append(b, `,"article_no":`...)
		b = AppendJSONString(b, it.ArticleNo, true)
	}
	if it.Quantity != 0 {
		b = append(b, `,"quantity":`...)
		b = strconv.AppendInt(b, it.Quantity, 10)
	}
	if it.UnitAmount != 0 {
		b = append(b, `,"unit_amount":`...)
		b = strconv.AppendInt(b, it.UnitAmount, 10)
	}
	return append(b, '}')
}

// AppendItemsJSON appends json.Marshal(items): null for nil.
func AppendItemsJSON(b []byte, items []Item) []byte {
	if items == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = items[i].AppendJSON(b)
	}
	return append(b, ']')
}

// AppendStringMapJSON appends json.Marshal(m): null for nil, the members
// sorted by key.
func AppendStringMapJSON(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, k, true)
		b = append(b, ':')
		b = AppendJSONString(b, m[k], true)
	}
	return append(b, '}')
}

// AppendJSON appends json.Marshal(x), by its field names.
func (x CustomsExtras) AppendJSON(b []byte) []byte {
	b = append(b, `{"AreaCode":`...)
	b = AppendJSONString(b, x.AreaCode, true)
	b = append(b, `,"JyOrg":`...)
	b = AppendJSONString(b, x.JyOrg, true)
	b = append(b, `,"InType":`...)
	b = AppendJSONString(b, x.InType, true)
	return append(b, '}')
}

// JSON text read without reflection. The store reads the JSON columns
// the appenders above wrote for every order and declaration it reads —
// on SQLite a runner's batch reads the orders it pays inside the single
// writer — where encoding/json cost 1–2 µs a column. The parsers below
// take only the text the appenders write (no white space, the members in
// the appenders' order, strings without escapes, integers as strconv
// writes them) and report false for any other, which the caller hands to
// encoding/json instead. What they return is what json.Unmarshal returns
// into a zero value (TestJSONParsersAsEncodingJSON).

// ParseItemsJSON reads text AppendItemsJSON wrote, as json.Unmarshal
// into a nil []Item would; ok is false for text it does not take.
func ParseItemsJSON(s string) (items []Item, ok bool) {
	if s == "null" {
		return nil, true
	}
	if len(s) < 2 || s[0] != '[' {
		return nil, false
	}
	items = []Item{}
	i := 1
	if s[i] == ']' {
		return items, i+1 == len(s)
	}
	for {
		var it Item
		if i, ok = it.parseJSON(s, i); !ok {
			return nil, false
		}
		items = append(items, it)
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		return items, i+1 == len(s) && s[i] == ']'
	}
}

// parseJSON reads an item at s[i:] as AppendJSON writes it, returning
// where it ends.
func (it *Item) parseJSON(s string, i int) (int, bool) {
	var ok bool
	if !hasAt(s, i, `{"subject":`) {
		return i, false
	}
	if it.Subject, i, ok = plainJSONString(s, i+len(`{"subject":`)); !ok {
		return i, false
	}
	if hasAt(s, i, `,"link":`) {
		if it.Link, i, ok = plainJSONString(s, i+len(`,"link":`)); !ok || it.Link == "" {
			return i, false
		}
	}
	if hasAt(s, i, `,"article_no":`) {
		if it.ArticleNo, i, ok = plainJSONString(s, i+len(`,"article_no":`)); !ok || it.ArticleNo == "" {
			return i, false
		}
	}
	if hasAt(s, i, `,"quantity":`) {
		if it.Quantity, i, ok = plainJSONInt(s, i+len(`,"quantity":`)); !ok || it.Quantity == 0 {
			return i, false
		}
	}
	if hasAt(s, i, `,"unit_amount":`) {
		if it.UnitAmount, i, ok = plainJSONInt(s, i+len(`,"unit_amount":`)); !ok || it.UnitAmount == 0 {
			return i, false
		}
	}
	return i + 1, i < len(s) && s[i] == '}'
}

// ParseStringMapJSON reads text AppendStringMapJSON wrote (the keys in
// order), as json.Unmarshal into a nil map would; ok is false for text it
// does not take.
func ParseStringMapJSON(s string) (m map[string]string, ok bool) {
	if s == "null" {
		return nil, true
	}
	if len(s) < 2 || s[0] != '{' {
		return nil, false
	}
	m = map[string]string{}
	i := 1
	if s[i] == '}' {
		return m, i+1 == len(s)
	}
	prev := ""
	for {
		var k, v string
		if k, i, ok = plainJSONString(s, i); !ok || (len(m) > 0 && k <= prev) || !hasAt(s, i, ":") {
			return nil, false
		}
		if v, i, ok = plainJSONString(s, i+1); !ok {
			return nil, false
		}
		m[k], prev = v, k
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		return m, i+1 == len(s) && s[i] == '}'
	}
}

// ParseCustomsExtrasJSON reads text CustomsExtras.AppendJSON wrote, as
// json.Unmarshal into a zero CustomsExtras would; ok is false for text it
// does not take.
func ParseCustomsExtrasJSON(s string) (x CustomsExtras, ok bool) {
	i := 0
	for _, f := range [...]struct {
		key string
		v   *string
	}{{`{"AreaCode":`, &x.AreaCode}, {`,"JyOrg":`, &x.JyOrg}, {`,"InType":`, &x.InType}} {
		if !hasAt(s, i, f.key) {
			return CustomsExtras{}, false
		}
		if *f.v, i, ok = plainJSONString(s, i+len(f.key)); !ok {
			return CustomsExtras{}, false
		}
	}
	return x, i+1 == len(s) && s[i] == '}'
}

// hasAt reports whether s has p at i.
func hasAt(s string, i int, p string) bool {
	return len(s)-i >= len(p) && s[i:i+len(p)] == p
}

// plainJSONString reads a JSON string without escapes at s[i:], returning
// it and where it ends; a string with an escape, a control character or
// bytes that are not UTF-8 (which json.Unmarshal would replace) is not
// taken.
func plainJSONString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	start := i + 1
	for j := start; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v := s[start:j]
			return v, j + 1, utf8.ValidString(v)
		case c == '\\' || c < 0x20:
			return "", j, false
		}
	}
	return "", len(s), false
}

// plainJSONInt reads an integer at s[i:] as strconv.AppendInt writes it,
// returning it and where it ends.
func plainJSONInt(s string, i int) (int64, int, bool) {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	digits := j
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == digits || (s[digits] == '0' && j-digits > 1) {
		return 0, j, false
	}
	n, err := strconv.ParseInt(s[i:j], 10, 64)
	return n, j, err == nil
}
