package api

import (
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// An order's body, read without encoding/json. Every push is one order,
// and encoding/json, after inbound.CheckJSON had already walked the bytes
// once, was the largest part of a push's decoding: a second scan, fields
// matched by reflection and case folding. decodeOrderFast reads the
// common shape of a body CheckJSON accepted — the orderReq fields spelled
// exactly as their tags, each holding the JSON type the field takes — and
// gives up (false) on anything else: a key in another case or unknown, a
// null, a number that is not an int64, a value of another type, a time
// time.Time refuses. The caller then decodes the body with
// inbound.Decode from a zero orderReq, which gives the answer, or the
// error naming the field, that it always gave; decodeOrderFast never
// decides an error. TestDecodeOrderFastAsEncodingJSON compares the two
// over random bodies.

// decodeOrderFast decodes data, which inbound.CheckJSON accepted, into
// q, a zero orderReq, as encoding/json would with unknown fields
// disallowed, and reports true; or reports false, leaving q partly
// written, if data is not of the shape it reads.
func decodeOrderFast(data []byte, q *orderReq) bool {
	d := fastDecoder{data: data}
	ok := d.object(func(key []byte) bool {
		switch string(key) {
		case "merchant_order_no":
			return d.str(&q.MerchantOrderNo)
		case "amount":
			return d.int(&q.Amount)
		case "currency":
			return d.str(&q.Currency)
		case "subject":
			return d.str(&q.Subject)
		case "items":
			q.Items = []itemJSON{}
			return d.array(func() bool {
				q.Items = append(q.Items, itemJSON{})
				return d.item(&q.Items[len(q.Items)-1])
			})
		case "payer":
			q.Payer = new(payerJSON)
			return d.payer(q.Payer)
		case "ordered_at":
			q.OrderedAt = new(time.Time)
			return d.time(q.OrderedAt)
		case "notify_url":
			return d.str(&q.NotifyURL)
		case "channel":
			return d.str(&q.Channel)
		case "payment_no":
			return d.str(&q.PaymentNo)
		case "psp":
			return d.str(&q.PSP)
		case "declarations":
			q.Declarations = []declarationReq{}
			return d.array(func() bool {
				q.Declarations = append(q.Declarations, declarationReq{})
				return d.declaration(&q.Declarations[len(q.Declarations)-1])
			})
		}
		return false
	})
	if !ok {
		return false
	}
	d.space()
	return d.i == len(d.data)
}

func (d *fastDecoder) item(it *itemJSON) bool {
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "subject":
			return d.str(&it.Subject)
		case "link":
			return d.str(&it.Link)
		case "article_no":
			return d.str(&it.ArticleNo)
		case "quantity":
			return d.int(&it.Quantity)
		case "unit_amount":
			return d.int(&it.UnitAmount)
		}
		return false
	})
}

func (d *fastDecoder) payer(p *payerJSON) bool {
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "name":
			return d.str(&p.Name)
		case "id_type":
			return d.str(&p.IDType)
		case "id_number":
			return d.str(&p.IDNumber)
		case "phone":
			return d.str(&p.Phone)
		}
		return false
	})
}

func (d *fastDecoder) declaration(x *declarationReq) bool {
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "customs":
			return d.str(&x.Customs)
		case "customs_area_code":
			return d.str(&x.CustomsAreaCode)
		case "customs_jy_org":
			return d.str(&x.CustomsJyOrg)
		case "customs_in_type":
			return d.str(&x.CustomsInType)
		case "sub_order_no":
			return d.str(&x.SubOrderNo)
		case "merchant_customs_no":
			return d.str(&x.MerchantCustomsNo)
		case "order_fee":
			x.OrderFee = new(int64)
			return d.int(x.OrderFee)
		case "transport_fee":
			x.TransportFee = new(int64)
			return d.int(x.TransportFee)
		case "product_fee":
			x.ProductFee = new(int64)
			return d.int(x.ProductFee)
		case "duty":
			return d.int(&x.Duty)
		case "auth_check_strategy":
			return d.str(&x.Strategy)
		}
		return false
	})
}

// fastDecoder reads JSON that inbound.CheckJSON accepted: valid UTF-8, no
// lone surrogate escapes, no key twice in an object. Each method reports
// false for what it does not read, and the decoding stops.
type fastDecoder struct {
	data []byte
	i    int
	// text is data as a string, made at the first string read: the
	// strings without escapes are its substrings, one allocation for all
	// of them (they keep the body's bytes alive as long as the order).
	text string
}

func (d *fastDecoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// object reads an object, calling member with each key (the decoder then
// at its value) in turn.
func (d *fastDecoder) object(member func(key []byte) bool) bool {
	d.space()
	if d.i == len(d.data) || d.data[d.i] != '{' {
		return false
	}
	d.i++
	d.space()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return true
	}
	for {
		key, ok := d.rawKey()
		if !ok {
			return false
		}
		d.space()
		if d.i == len(d.data) || d.data[d.i] != ':' {
			return false
		}
		d.i++
		if !member(key) {
			return false
		}
		d.space()
		if d.i == len(d.data) {
			return false
		}
		switch d.data[d.i] {
		case ',':
			d.i++
			d.space()
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// rawKey reads a key without escapes; a key with one is left to
// encoding/json.
func (d *fastDecoder) rawKey() ([]byte, bool) {
	if d.i == len(d.data) || d.data[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	for j := start; j < len(d.data); j++ {
		switch d.data[j] {
		case '"':
			d.i = j + 1
			return d.data[start:j], true
		case '\\':
			return nil, false
		}
	}
	return nil, false
}

// array reads an array, calling elem with the decoder at each element.
func (d *fastDecoder) array(elem func() bool) bool {
	d.space()
	if d.i == len(d.data) || d.data[d.i] != '[' {
		return false
	}
	d.i++
	d.space()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		d.space()
		if d.i == len(d.data) {
			return false
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string into s, escapes decoded as encoding/json decodes
// them.
func (d *fastDecoder) str(s *string) bool {
	d.space()
	if d.i == len(d.data) || d.data[d.i] != '"' {
		return false
	}
	start := d.i + 1
	for j := start; j < len(d.data); j++ {
		switch d.data[j] {
		case '"':
			if d.text == "" {
				d.text = string(d.data)
			}
			*s = d.text[start:j]
			d.i = j + 1
			return true
		case '\\':
			return d.escaped(s, start, j)
		}
	}
	return false
}

// escaped reads the rest of a string whose bytes from start hold an
// escape at j.
func (d *fastDecoder) escaped(s *string, start, j int) bool {
	b := make([]byte, 0, j-start+16)
	b = append(b, d.data[start:j]...)
	for j < len(d.data) {
		c := d.data[j]
		switch {
		case c == '"':
			*s = string(b)
			d.i = j + 1
			return true
		case c != '\\':
			b = append(b, c)
			j++
			continue
		}
		if j+1 == len(d.data) {
			return false
		}
		switch d.data[j+1] {
		case '"', '\\', '/':
			b = append(b, d.data[j+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4(j + 2)
			if !ok {
				return false
			}
			j += 6
			if utf16.IsSurrogate(r) {
				// CheckJSON refused a lone half; the pair is whole here.
				if j+6 > len(d.data) || d.data[j] != '\\' || d.data[j+1] != 'u' {
					return false
				}
				lo, ok := d.hex4(j + 2)
				if !ok {
					return false
				}
				r = utf16.DecodeRune(r, lo)
				if r == utf8.RuneError {
					return false
				}
				j += 6
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			return false
		}
		j += 2
	}
	return false
}

func (d *fastDecoder) hex4(at int) (rune, bool) {
	if at+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// int reads a number that is an int64 as strconv.ParseInt reads it, as
// encoding/json takes an integer field. A fraction or an exponent stops
// the digits short, and the object or array around finds no ',' there.
func (d *fastDecoder) int(v *int64) bool {
	d.space()
	start := d.i
	for d.i < len(d.data) {
		c := d.data[d.i]
		if c != '-' && (c < '0' || c > '9') {
			break
		}
		d.i++
	}
	n, err := strconv.ParseInt(string(d.data[start:d.i]), 10, 64)
	if err != nil {
		return false
	}
	*v = n
	return true
}

// time reads a string as encoding/json gives it to time.Time's
// UnmarshalJSON: its bytes, quotes included.
func (d *fastDecoder) time(t *time.Time) bool {
	d.space()
	start := d.i
	var s string
	if !d.str(&s) {
		return false
	}
	return t.UnmarshalJSON(d.data[start:d.i]) == nil
}
