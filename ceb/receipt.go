package ceb

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// MaxReceiptSize bounds a receipt file. A CEB412 holds at most 100 short
// PaymentReturn entries (a few hundred KB at worst); a CEB900 carries the
// original message, itself at most 100 payments. 4 MiB is far above both
// and keeps a hostile or broken file from taking the memory of the server.
const MaxReceiptSize = 4 << 20

// maxReturns is the schema's maxOccurs for PaymentReturn (and Payment).
const maxReturns = 100

// Receipt message kinds.
const (
	KindPaymentReturn = "CEB412Message" // 支付凭证回执
	KindFormatReturn  = "CEB900Message" // 报文格式校验回执 about one of our CEB411
)

// ReceiptFile is one parsed receipt message.
type ReceiptFile struct {
	File    string // the file's name, when read by an Inbox
	Kind    string // KindPaymentReturn or KindFormatReturn
	GUID    string // the receipt message's own guid attribute
	Returns []PaymentReturn
}

// PaymentReturn is one receipt about one payment record: the E-Port's or
// customs' answer to one CEB411 (one declaration attempt, named by GUID).
type PaymentReturn struct {
	GUID             string    // the guid of the CEB411 payment it answers, upper-case
	PayCode          string    // the payment company's code, as sent
	PayTransactionID string    // the transaction number, as sent
	Status           int       // returnStatus: 2, 3, 4, 100, 120, 399, or negative
	Time             time.Time // returnTime (China time, milliseconds); zero when the receipt's value is malformed
	TimeRaw          string    // returnTime as received
	Info             string    // returnInfo: the reason of a refusal, or a remark
	Kind             string    // the message it came in: KindPaymentReturn or KindFormatReturn
}

// receiptErr is the EINVALID error of an unusable receipt.
func receiptErr(format string, args ...any) error {
	return baoguan.Errorf(baoguan.EINVALID, format, args...).WithReason("bad_receipt")
}

// ParseReceipt reads a receipt file: a CEB412Message (PaymentReturn
// entries), or a CEB900Message format-check receipt about a CEB411 (mapped
// onto the payments of the original message, whose guids are ours). It goes
// by namespace, not by prefix: receipts use the ceb namespace as the default
// namespace, messages use the ceb: prefix, and both parse. Only UTF-8 is
// read (the encoding customs messages use). A file above MaxReceiptSize,
// not well-formed, in another namespace or of another kind, with more than
// 100 entries, or an entry without a 36-character guid or an integer
// returnStatus is refused with an EINVALID error (reason "bad_receipt").
func ParseReceipt(data []byte) (ReceiptFile, error) {
	if len(data) > MaxReceiptSize {
		return ReceiptFile{}, receiptErr("receipt is %d bytes, more than the %d allowed", len(data), MaxReceiptSize)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root, err := rootElement(dec)
	if err != nil {
		return ReceiptFile{}, err
	}
	f := ReceiptFile{Kind: root.Name.Local, GUID: attr(root, "guid")}
	switch {
	case root.Name.Space != Namespace:
		return f, receiptErr("root element %s is not in the customs namespace %s (namespace %q)", root.Name.Local, Namespace, root.Name.Space)
	case root.Name.Local == KindPaymentReturn:
		f.Returns, err = paymentReturns(dec)
	case root.Name.Local == KindFormatReturn:
		f.Returns, err = formatReturns(dec)
	default:
		return f, receiptErr("%s is not a payment receipt (CEB412Message or CEB900Message)", root.Name.Local)
	}
	if err != nil {
		return f, err
	}
	if len(f.Returns) == 0 {
		return f, receiptErr("%s holds no receipt", f.Kind)
	}
	return f, nil
}

// ParseCEB412 is ParseReceipt restricted to CEB412Message.
func ParseCEB412(data []byte) ([]PaymentReturn, error) {
	f, err := ParseReceipt(data)
	if err != nil {
		return nil, err
	}
	if f.Kind != KindPaymentReturn {
		return nil, receiptErr("%s is not a CEB412Message", f.Kind)
	}
	return f.Returns, nil
}

func rootElement(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, syntaxErr(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, nil
		}
	}
}

// skip skips the current element, reporting a syntax error as a receipt
// error.
func skip(dec *xml.Decoder) error {
	if err := dec.Skip(); err != nil {
		return syntaxErr(err)
	}
	return nil
}

func syntaxErr(err error) error {
	if errors.Is(err, io.EOF) {
		return receiptErr("receipt is empty or ends early")
	}
	return receiptErr("receipt is not well-formed XML: %v", err)
}

func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// rawReturn is a PaymentReturn as written. Fields are matched by namespace
// and local name; unknown children are ignored.
type rawReturn struct {
	GUID             string `xml:"http://www.chinaport.gov.cn/ceb guid"`
	PayCode          string `xml:"http://www.chinaport.gov.cn/ceb payCode"`
	PayTransactionID string `xml:"http://www.chinaport.gov.cn/ceb payTransactionId"`
	ReturnStatus     string `xml:"http://www.chinaport.gov.cn/ceb returnStatus"`
	ReturnTime       string `xml:"http://www.chinaport.gov.cn/ceb returnTime"`
	ReturnInfo       string `xml:"http://www.chinaport.gov.cn/ceb returnInfo"`
}

// children calls each for every child element of the current element (the
// root), skipping what is not in the ceb namespace, until the root closes.
func children(dec *xml.Decoder, each func(se xml.StartElement) error) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return syntaxErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := each(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil // the root's end: Token checks that tags match
		}
	}
}

func paymentReturns(dec *xml.Decoder) ([]PaymentReturn, error) {
	var out []PaymentReturn
	err := children(dec, func(se xml.StartElement) error {
		if se.Name.Space != Namespace || se.Name.Local != "PaymentReturn" {
			return skip(dec)
		}
		if len(out) == maxReturns {
			return receiptErr("CEB412Message holds more than %d PaymentReturn entries", maxReturns)
		}
		var r rawReturn
		if err := dec.DecodeElement(&r, &se); err != nil {
			return syntaxErr(err)
		}
		pr, err := r.parse(len(out)+1, KindPaymentReturn)
		if err != nil {
			return err
		}
		out = append(out, pr)
		return nil
	})
	return out, err
}

// parse checks one entry; n is its position, for the error.
func (r rawReturn) parse(n int, kind string) (PaymentReturn, error) {
	pr := PaymentReturn{
		GUID:             strings.ToUpper(strings.TrimSpace(r.GUID)),
		PayCode:          strings.TrimSpace(r.PayCode),
		PayTransactionID: strings.TrimSpace(r.PayTransactionID),
		TimeRaw:          strings.TrimSpace(r.ReturnTime),
		Info:             strings.TrimSpace(r.ReturnInfo),
		Kind:             kind,
	}
	if len(pr.GUID) != 36 {
		return pr, receiptErr("entry %d: guid %q does not have 36 characters", n, clip(pr.GUID))
	}
	st, err := parseStatus(r.ReturnStatus)
	if err != nil {
		return pr, receiptErr("entry %d (guid %s): %v", n, pr.GUID, err)
	}
	pr.Status = st
	pr.Time = parseReturnTime(pr.TimeRaw)
	return pr, nil
}

// parseStatus reads returnStatus (C1..10): an optional minus sign and
// digits.
func parseStatus(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 10 {
		return 0, errors.New("returnStatus must be an integer of 1–10 characters")
	}
	v, err := strconv.Atoi(s)
	if err != nil || strings.HasPrefix(s, "+") {
		return 0, errors.New("returnStatus " + strconv.Quote(s) + " is not an integer")
	}
	return v, nil
}

// parseReturnTime reads YYYYMMDDhhmmssSSS in China time; zero when
// malformed (a receipt is still applied without it, see Decide).
func parseReturnTime(s string) time.Time {
	if len(s) != 17 {
		return time.Time{}
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}
		}
	}
	t, err := time.ParseInLocation("20060102150405", s[:14], ChinaTime)
	if err != nil {
		return time.Time{}
	}
	ms, _ := strconv.Atoi(s[14:])
	return t.Add(time.Duration(ms) * time.Millisecond)
}

// rawFormatReturn is a CEB900 MessageReturn.
type rawFormatReturn struct {
	GUID           string `xml:"http://www.chinaport.gov.cn/ceb guid"`
	ReturnStatus   string `xml:"http://www.chinaport.gov.cn/ceb returnStatus"`
	ReturnInfo     string `xml:"http://www.chinaport.gov.cn/ceb returnInfo"`
	ReturnTime     string `xml:"http://www.chinaport.gov.cn/ceb returnTime"`
	OriMessageType string `xml:"http://www.chinaport.gov.cn/ceb oriMessageType"`
	OriBizMessage  string `xml:"http://www.chinaport.gov.cn/ceb oriBizMessage"`
}

// original411 reads the payments of the original message a CEB900 quotes.
type original411 struct {
	XMLName xml.Name `xml:"http://www.chinaport.gov.cn/ceb CEB411Message"`
	GUID    string   `xml:"guid,attr"`
	Heads   []struct {
		GUID             string `xml:"http://www.chinaport.gov.cn/ceb guid"`
		PayCode          string `xml:"http://www.chinaport.gov.cn/ceb payCode"`
		PayTransactionID string `xml:"http://www.chinaport.gov.cn/ceb payTransactionId"`
	} `xml:"http://www.chinaport.gov.cn/ceb Payment>PaymentHead"`
}

// formatReturns maps a CEB900 onto the payments of the CEB411 it refused.
// The original message is read from oriBizMessage; when it cannot be read,
// the receipt's own guid is taken as the message guid, which for baoguan's
// messages is the payment guid.
func formatReturns(dec *xml.Decoder) ([]PaymentReturn, error) {
	var mr *rawFormatReturn
	err := children(dec, func(se xml.StartElement) error {
		if se.Name.Space != Namespace || se.Name.Local != "MessageReturn" || mr != nil {
			return skip(dec)
		}
		mr = new(rawFormatReturn)
		if err := dec.DecodeElement(mr, &se); err != nil {
			return syntaxErr(err)
		}
		return nil
	})
	if err != nil || mr == nil {
		return nil, err
	}
	if t := strings.TrimSpace(mr.OriMessageType); t != "" && t != "CEB411Message" {
		return nil, receiptErr("CEB900Message is about a %s, not a CEB411Message", clip(t))
	}
	base := rawReturn{GUID: mr.GUID, ReturnStatus: mr.ReturnStatus, ReturnTime: mr.ReturnTime, ReturnInfo: mr.ReturnInfo}
	var orig original411
	if xml.Unmarshal([]byte(strings.TrimSpace(mr.OriBizMessage)), &orig) != nil || len(orig.Heads) == 0 {
		pr, err := base.parse(1, KindFormatReturn)
		if err != nil {
			return nil, err
		}
		return []PaymentReturn{pr}, nil
	}
	if len(orig.Heads) > maxReturns {
		return nil, receiptErr("the CEB411Message quoted by the CEB900Message holds more than %d payments", maxReturns)
	}
	out := make([]PaymentReturn, 0, len(orig.Heads))
	for i, h := range orig.Heads {
		r := base
		r.GUID, r.PayCode, r.PayTransactionID = h.GUID, h.PayCode, h.PayTransactionID
		pr, err := r.parse(i+1, KindFormatReturn)
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
