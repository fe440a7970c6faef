package core

import (
	"crypto/sha256"
	"maps"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// fingerprint is what makes two pushes of the same order number "the same":
// every field the merchant sent, nothing baoguan filled in. It is the
// SHA-256, in hex, of fingerprintJSON's bytes; the stores keep it, so those
// bytes may never change for an order they already hold.
func (in *OrderInput) fingerprint() string {
	p := fingerprintBuffers.Get().(*[]byte)
	b := in.fingerprintJSON((*p)[:0])
	h := sha256.Sum256(b)
	if cap(b) <= 64<<10 {
		*p = b
		fingerprintBuffers.Put(p)
	}
	return hexString(h)
}

var fingerprintBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// fingerprintJSON appends, byte for byte, what json.Marshal writes for
//
//	struct {
//		No, Cur, Subj, Notify, Cap, PayNo, Proto string
//		Amount                                   int64
//		Items                                    []baoguan.Item
//		Payer                                    baoguan.Payer
//		Need, Test                               bool
//		Channel                                  baoguan.Channel
//		Decl                                     []baoguan.DeclarationSpec
//		Extra                                    map[string]string
//		At                                       int64
//	}
//
// filled from the order (At its OrderedAt in Unix seconds), which is how
// fingerprints were made until json.Marshal's reflection became a
// noticeable part of a push. TestFingerprintAsEncodingJSON compares the
// two over random orders, so a field added to Item, Payer,
// DeclarationSpec or CustomsExtras but not here fails it.
func (in *OrderInput) fingerprintJSON(b []byte) []byte {
	o := &in.Order
	b = append(b, `{"No":`...)
	b = appendFPString(b, o.MerchantOrderNo)
	b = append(b, `,"Cur":`...)
	b = appendFPString(b, o.Currency)
	b = append(b, `,"Subj":`...)
	b = appendFPString(b, o.Subject)
	b = append(b, `,"Notify":`...)
	b = appendFPString(b, o.NotifyURL)
	b = append(b, `,"Cap":`...)
	b = appendFPString(b, o.CapitalName)
	b = append(b, `,"PayNo":`...)
	b = appendFPString(b, o.Payment.No)
	b = append(b, `,"Proto":`...)
	b = appendFPString(b, o.Protocol)
	b = append(b, `,"Amount":`...)
	b = strconv.AppendInt(b, o.Amount, 10)
	b = append(b, `,"Items":`...)
	if o.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range o.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFPItem(b, &o.Items[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"Payer":`...)
	b = appendFPPayer(b, &o.Payer)
	b = append(b, `,"Need":`...)
	b = strconv.AppendBool(b, o.NeedDeclare)
	b = append(b, `,"Test":`...)
	b = strconv.AppendBool(b, in.Test)
	b = append(b, `,"Channel":`...)
	b = appendFPString(b, string(o.Channel))
	b = append(b, `,"Decl":`...)
	if in.Declarations == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range in.Declarations {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFPSpec(b, &in.Declarations[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"Extra":`...)
	if o.Extra == nil {
		b = append(b, "null"...)
	} else {
		// encoding/json writes a map's members sorted by key.
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(o.Extra)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFPString(b, k)
			b = append(b, ':')
			b = appendFPString(b, o.Extra[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"At":`...)
	b = strconv.AppendInt(b, o.OrderedAt.Unix(), 10)
	return append(b, '}')
}

// appendFPItem: baoguan.Item by its JSON tags (subject; link, article_no,
// quantity and unit_amount omitted when empty).
func appendFPItem(b []byte, it *baoguan.Item) []byte {
	b = append(b, `{"subject":`...)
	b = appendFPString(b, it.Subject)
	if it.Link != "" {
		b = append(b, `,"link":`...)
		b = appendFPString(b, it.Link)
	}
	if it.ArticleNo != "" {
		b = append(b, `,"article_no":`...)
		b = appendFPString(b, it.ArticleNo)
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

func appendFPPayer(b []byte, p *baoguan.Payer) []byte {
	b = append(b, `{"Name":`...)
	b = appendFPString(b, p.Name)
	b = append(b, `,"IDType":`...)
	b = appendFPString(b, p.IDType)
	b = append(b, `,"IDNumber":`...)
	b = appendFPString(b, p.IDNumber)
	b = append(b, `,"Phone":`...)
	b = appendFPString(b, p.Phone)
	return append(b, '}')
}

// appendFPSpec: baoguan.DeclarationSpec by its field names (DutyIncluded
// and Payer omitted when empty).
func appendFPSpec(b []byte, s *baoguan.DeclarationSpec) []byte {
	b = append(b, `{"Customs":`...)
	b = appendFPString(b, s.Customs)
	b = append(b, `,"Extras":{"AreaCode":`...)
	b = appendFPString(b, s.Extras.AreaCode)
	b = append(b, `,"JyOrg":`...)
	b = appendFPString(b, s.Extras.JyOrg)
	b = append(b, `,"InType":`...)
	b = appendFPString(b, s.Extras.InType)
	b = append(b, `},"SubOrderNo":`...)
	b = appendFPString(b, s.SubOrderNo)
	b = append(b, `,"MerchantCustomsNo":`...)
	b = appendFPString(b, s.MerchantCustomsNo)
	b = append(b, `,"OrderFee":`...)
	b = strconv.AppendInt(b, s.OrderFee, 10)
	b = append(b, `,"TransportFee":`...)
	b = strconv.AppendInt(b, s.TransportFee, 10)
	b = append(b, `,"ProductFee":`...)
	b = strconv.AppendInt(b, s.ProductFee, 10)
	b = append(b, `,"Duty":`...)
	b = strconv.AppendInt(b, s.Duty, 10)
	b = append(b, `,"Strategy":`...)
	b = appendFPString(b, s.Strategy)
	b = append(b, `,"Split":`...)
	b = strconv.AppendBool(b, s.Split)
	if s.DutyIncluded {
		b = append(b, `,"DutyIncluded":true`...)
	}
	if s.Payer != nil {
		b = append(b, `,"Payer":`...)
		b = appendFPPayer(b, s.Payer)
	}
	return append(b, '}')
}

const fpHex = "0123456789abcdef"

// appendFPString appends s quoted as json.Marshal quotes a string: quotes,
// backslashes and control characters escaped (\b \f \n \r \t by name, the
// others as \u00XX), <, > and & as \u00XX, each byte that is not UTF-8 as
// \ufffd, and U+2028 and U+2029 escaped. (api's appendJSONString with
// html set; core cannot import api.)
func appendFPString(b []byte, s string) []byte {
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
				b = append(b, '\\', 'u', '0', '0', fpHex[c>>4], fpHex[c&0xF])
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
			b = append(b, '\\', 'u', '2', '0', '2', fpHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
