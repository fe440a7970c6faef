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
