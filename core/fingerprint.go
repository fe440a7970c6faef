package core

import (
	"crypto/sha256"
	"strconv"
	"sync"

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
	b = baoguan.AppendJSONString(b, o.MerchantOrderNo, true)
	b = append(b, `,"Cur":`...)
	b = baoguan.AppendJSONString(b, o.Currency, true)
	b = append(b, `,"Subj":`...)
	b = baoguan.AppendJSONString(b, o.Subject, true)
	b = append(b, `,"Notify":`...)
	b = baoguan.AppendJSONString(b, o.NotifyURL, true)
	b = append(b, `,"Cap":`...)
	b = baoguan.AppendJSONString(b, o.CapitalName, true)
	b = append(b, `,"PayNo":`...)
	b = baoguan.AppendJSONString(b, o.Payment.No, true)
	b = append(b, `,"Proto":`...)
	b = baoguan.AppendJSONString(b, o.Protocol, true)
	b = append(b, `,"Amount":`...)
	b = strconv.AppendInt(b, o.Amount, 10)
	b = append(b, `,"Items":`...)
	b = baoguan.AppendItemsJSON(b, o.Items)
	b = append(b, `,"Payer":`...)
	b = appendFPPayer(b, &o.Payer)
	b = append(b, `,"Need":`...)
	b = strconv.AppendBool(b, o.NeedDeclare)
	b = append(b, `,"Test":`...)
	b = strconv.AppendBool(b, in.Test)
	b = append(b, `,"Channel":`...)
	b = baoguan.AppendJSONString(b, string(o.Channel), true)
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
	b = baoguan.AppendStringMapJSON(b, o.Extra)
	b = append(b, `,"At":`...)
	b = strconv.AppendInt(b, o.OrderedAt.Unix(), 10)
	return append(b, '}')
}

func appendFPPayer(b []byte, p *baoguan.Payer) []byte {
	b = append(b, `{"Name":`...)
	b = baoguan.AppendJSONString(b, p.Name, true)
	b = append(b, `,"IDType":`...)
	b = baoguan.AppendJSONString(b, p.IDType, true)
	b = append(b, `,"IDNumber":`...)
	b = baoguan.AppendJSONString(b, p.IDNumber, true)
	b = append(b, `,"Phone":`...)
	b = baoguan.AppendJSONString(b, p.Phone, true)
	return append(b, '}')
}

// appendFPSpec: baoguan.DeclarationSpec by its field names (DutyIncluded
// and Payer omitted when empty).
func appendFPSpec(b []byte, s *baoguan.DeclarationSpec) []byte {
	b = append(b, `{"Customs":`...)
	b = baoguan.AppendJSONString(b, s.Customs, true)
	b = append(b, `,"Extras":`...)
	b = s.Extras.AppendJSON(b)
	b = append(b, `,"SubOrderNo":`...)
	b = baoguan.AppendJSONString(b, s.SubOrderNo, true)
	b = append(b, `,"MerchantCustomsNo":`...)
	b = baoguan.AppendJSONString(b, s.MerchantCustomsNo, true)
	b = append(b, `,"OrderFee":`...)
	b = strconv.AppendInt(b, s.OrderFee, 10)
	b = append(b, `,"TransportFee":`...)
	b = strconv.AppendInt(b, s.TransportFee, 10)
	b = append(b, `,"ProductFee":`...)
	b = strconv.AppendInt(b, s.ProductFee, 10)
	b = append(b, `,"Duty":`...)
	b = strconv.AppendInt(b, s.Duty, 10)
	b = append(b, `,"Strategy":`...)
	b = baoguan.AppendJSONString(b, s.Strategy, true)
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
