package sqlstore

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// JSON columns written by hand.
//
// An order's items and extra and a declaration's customs extras are stored
// as the text json.Marshal makes of them, and that text is made at every
// write of the row and every image of it (an order's push, its batch's
// adoption of the pushed row, its update at the batch's flush: on SQLite
// all inside the single writer): encoding/json walks the values by
// reflection, about a microsecond a column. These appenders write the same
// bytes without reflection (TestJSONColumnsAsEncodingJSON compares them
// byte for byte over random values); a change of baoguan.Item or
// baoguan.CustomsExtras that they do not follow fails that test.

// itemsJSON is json.Marshal(items).
func itemsJSON(items []baoguan.Item) string {
	if items == nil {
		return "null"
	}
	b := make([]byte, 0, 16+64*len(items))
	b = append(b, '[')
	for i := range items {
		it := &items[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"subject":`...)
		b = appendJSONString(b, it.Subject)
		if it.Link != "" {
			b = append(b, `,"link":`...)
			b = appendJSONString(b, it.Link)
		}
		if it.ArticleNo != "" {
			b = append(b, `,"article_no":`...)
			b = appendJSONString(b, it.ArticleNo)
		}
		if it.Quantity != 0 {
			b = append(b, `,"quantity":`...)
			b = strconv.AppendInt(b, it.Quantity, 10)
		}
		if it.UnitAmount != 0 {
			b = append(b, `,"unit_amount":`...)
			b = strconv.AppendInt(b, it.UnitAmount, 10)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	return string(b)
}

// stringMapJSON is json.Marshal(m): keys in sorted order.
func stringMapJSON(m map[string]string) string {
	if m == nil {
		return "null"
	}
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	n := 2
	for k, v := range m {
		keys = append(keys, k)
		n += len(k) + len(v) + 6
	}
	slices.Sort(keys)
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	b = append(b, '}')
	return string(b)
}

// zeroCustomsExtras is json.Marshal of baoguan.CustomsExtras{}, what nearly
// every declaration stores.
const zeroCustomsExtras = `{"AreaCode":"","JyOrg":"","InType":""}`

// customsExtrasJSON is json.Marshal(x).
func customsExtrasJSON(x baoguan.CustomsExtras) string {
	if x == (baoguan.CustomsExtras{}) {
		return zeroCustomsExtras
	}
	b := make([]byte, 0, len(zeroCustomsExtras)+len(x.AreaCode)+len(x.JyOrg)+len(x.InType)+8)
	b = append(b, `{"AreaCode":`...)
	b = appendJSONString(b, x.AreaCode)
	b = append(b, `,"JyOrg":`...)
	b = appendJSONString(b, x.JyOrg)
	b = append(b, `,"InType":`...)
	b = appendJSONString(b, x.InType)
	b = append(b, '}')
	return string(b)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as json.Marshal quotes a string:
// quotes, backslashes and control characters escaped (\b \f \n \r \t by
// name, the others as \u00XX), <, > and & as \u00XX, each byte that is not
// UTF-8 as \ufffd, and U+2028 and U+2029 escaped. (api's wire JSON has
// the same function, with HTML escaping optional; the store's columns are
// always json.Marshal's.)
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
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
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
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
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
