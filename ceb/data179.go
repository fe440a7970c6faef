package ceb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// 179 (GACC announcement 2018 No. 179): customs posts a form field openReq
// to the platform's platDataOpen endpoint, the platform answers at once and
// then uploads the payment's raw data, signed, to customs' URL.

// Answer codes of the platDataOpen reply.
const (
	OpenAccepted = "10000" // the request is taken; the data follows
	OpenRefused  = "20000" // the request cannot be served
)

// OpenReqField is the form field customs' request carries.
const OpenReqField = "openReq"

// MaxOpenReq bounds customs' request (three short values).
const MaxOpenReq = 4 << 10

// OpenReq is customs' request for the data of one order's payment.
type OpenReq struct {
	OrderNo     string // the platform's order number (for a split order, a sub-order number)
	SessionID   string // customs' session; the upload must carry it back
	ServiceTime int64  // customs' time of the request, Unix milliseconds
}

// ParseOpenReq reads the openReq JSON: {"orderNo":"…","sessionID":"…",
// "serviceTime":"1600852846372"} (serviceTime as a string, as customs sends
// it, or as a number). Unknown fields are ignored. Errors are EINVALID
// naming the field (openReq, orderNo, sessionID, serviceTime).
func ParseOpenReq(s string) (OpenReq, error) {
	if len(s) > MaxOpenReq {
		return OpenReq{}, fieldErr(OpenReqField, "openReq is longer than %d bytes", MaxOpenReq)
	}
	var raw struct {
		OrderNo     *string         `json:"orderNo"`
		SessionID   *string         `json:"sessionID"`
		ServiceTime json.RawMessage `json:"serviceTime"`
	}
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&raw); err != nil {
		return OpenReq{}, fieldErr(OpenReqField, "openReq is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return OpenReq{}, fieldErr(OpenReqField, "openReq has data after the JSON object")
	}
	var r OpenReq
	if raw.OrderNo == nil {
		return r, fieldErr("orderNo", "orderNo is required")
	}
	r.OrderNo = strings.TrimSpace(*raw.OrderNo)
	if err := (textRule{"orderNo", 1, 60}).check(r.OrderNo); err != nil {
		return r, err
	}
	if raw.SessionID == nil {
		return r, fieldErr("sessionID", "sessionID is required")
	}
	r.SessionID = strings.TrimSpace(*raw.SessionID)
	if err := (textRule{"sessionID", 1, 64}).check(r.SessionID); err != nil {
		return r, err
	}
	st := strings.TrimSpace(string(raw.ServiceTime))
	var quoted string
	if json.Unmarshal(raw.ServiceTime, &quoted) == nil {
		st = quoted
	}
	ms, err := strconv.ParseInt(st, 10, 64)
	if err != nil || ms <= 0 || len(st) > 16 || st[0] == '+' {
		return r, fieldErr("serviceTime", "serviceTime must be Unix milliseconds")
	}
	r.ServiceTime = ms
	return r, nil
}

// ReadOpenReq reads customs' request from an HTTP POST
// (application/x-www-form-urlencoded, field openReq), with the body capped.
func ReadOpenReq(r *http.Request) (OpenReq, error) {
	if r.Method != http.MethodPost {
		return OpenReq{}, fieldErr(OpenReqField, "platDataOpen takes POST, not %s", r.Method)
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 2*MaxOpenReq)
	if err := r.ParseForm(); err != nil {
		return OpenReq{}, fieldErr(OpenReqField, "bad form: %v", err)
	}
	v := r.PostForm.Get(OpenReqField)
	if v == "" {
		return OpenReq{}, fieldErr(OpenReqField, "the form has no openReq")
	}
	return ParseOpenReq(v)
}

// openAnswer is platDataOpen's reply.
type openAnswer struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	ServiceTime int64  `json:"serviceTime"`
}

// OpenAnswer is the immediate reply to a request baoguan will serve:
// {"code":"10000","message":"","serviceTime":<now, ms>}.
func OpenAnswer(now time.Time) []byte {
	return mustJSON(openAnswer{Code: OpenAccepted, ServiceTime: now.UnixMilli()})
}

// OpenRefusal is the reply to a request baoguan cannot take (code 20000,
// message saying why).
func OpenRefusal(now time.Time, message string) []byte {
	return mustJSON(openAnswer{Code: OpenRefused, Message: message, ServiceTime: now.UnixMilli()})
}

// OpenHandler serves platDataOpen: it reads the request, hands it to
// accept (which must only record it and queue the upload: customs wants
// the answer at once) and answers 10000, or 20000 with the reason when the
// request is malformed or accept failed. accept should record an unknown
// order number and return nil: customs expects 10000 for any well-formed
// request. Replies are HTTP 200 with a JSON body in every case, as customs
// reads the body, not the status.
func OpenHandler(accept func(context.Context, OpenReq) error, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		req, err := ReadOpenReq(r)
		if err != nil {
			w.Write(OpenRefusal(now(), baoguan.ErrorMessage(err)))
			return
		}
		if err := accept(r.Context(), req); err != nil {
			msg := "internal error"
			if c := baoguan.ErrorCode(err); c != baoguan.EINTERNAL {
				msg = baoguan.ErrorMessage(err)
			}
			w.Write(OpenRefusal(now(), msg))
			return
		}
		w.Write(OpenAnswer(now()))
	})
}

// Yuan is an amount in fen that 179 data carries as a JSON number of yuan
// in the form the payment companies' own uploads use (Java's and PHP's
// rendering of a double): at least one decimal, no trailing zeros beyond
// it: 500 → 5.0, 550 → 5.5, 525 → 5.25, 1 → 0.01. It is converted from
// fen exactly, never through a float.
type Yuan int64

// MarshalJSON renders the amount.
func (y Yuan) MarshalJSON() ([]byte, error) {
	if y < 0 {
		return nil, errors.New("ceb: negative amount")
	}
	s := baoguan.FormatYuan(int64(y))
	if strings.HasSuffix(s, "0") {
		s = s[:len(s)-1]
	}
	return []byte(s), nil
}

// UnmarshalJSON reads a yuan number exactly.
func (y *Yuan) UnmarshalJSON(b []byte) error {
	v, err := baoguan.ParseYuan("totalAmount", strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	*y = Yuan(v)
	return nil
}

// PayExchangeInfoHead is the payment part of 179 data.
type PayExchangeInfoHead struct {
	GUID             string `json:"guid"`             // 36 characters, unique per upload
	InitalRequest    string `json:"initalRequest"`    // the raw request to the payment channel (sic: customs' spelling)
	InitalResponse   string `json:"initalResponse"`   // the raw response from it
	EBPCode          string `json:"ebpCode"`          // platform's customs code
	PayCode          string `json:"payCode"`          // payment company's customs code
	PayTransactionID string `json:"payTransactionId"` // as declared in CEB411
	TotalAmount      Yuan   `json:"totalAmount"`
	Currency         string `json:"currency"`    // 142
	VerDept          string `json:"verDept"`     // 验核机构: 1 UnionPay, 2 NetsUnion, 3 other
	PayType          string `json:"payType"`     // 1 APP, 2 PC, 3 scan (扫码), 4 other
	TradingTime      string `json:"tradingTime"` // yyyyMMddHHmmss, China time
	Note             string `json:"note"`
}

// PayExchangeInfo is one order paid by the payment.
type PayExchangeInfo struct {
	OrderNo     string  `json:"orderNo"`
	GoodsInfo   []Goods `json:"goodsInfo"`
	RecpAccount string  `json:"recpAccount"` // the payee's account
	RecpCode    string  `json:"recpCode"`    // the payee's customs code
	RecpName    string  `json:"recpName"`    // the payee's name
}

// Goods is one product of an order: its name and the link to its page.
type Goods struct {
	Gname    string `json:"gname"`
	ItemLink string `json:"itemLink"`
}

// PayExInfo is one 179 upload, payExInfoStr.
type PayExInfo struct {
	SessionID   string
	Head        PayExchangeInfoHead
	Lists       []PayExchangeInfo
	ServiceTime int64 // the upload's time, Unix milliseconds
	CertNo      string
	SignValue   string
}

// maxRaw bounds each raw channel message.
const maxRaw = 256 << 10

// Validate checks the data before it is signed. The 179 documents give no
// lengths beyond the CEB ones; baoguan applies the CEB411 rules to the
// shared fields and requires the rest. Errors are EINVALID naming the field
// (payExchangeInfoHead.payCode, payExchangeInfoLists[0].goodsInfo[1].itemLink, …).
func (p *PayExInfo) Validate() error {
	if err := (textRule{"sessionID", 1, 64}).check(p.SessionID); err != nil {
		return err
	}
	h, hp := &p.Head, "payExchangeInfoHead."
	if len(h.GUID) != 36 {
		return fieldErr(hp+"guid", "guid must have 36 characters")
	}
	for _, f := range []struct{ name, v string }{{"initalRequest", h.InitalRequest}, {"initalResponse", h.InitalResponse}} {
		if strings.TrimSpace(f.v) == "" {
			return fieldErr(hp+f.name, "%s is required: it is the raw data customs asks for", f.name)
		}
		if len(f.v) > maxRaw || !utf8.ValidString(f.v) {
			return fieldErr(hp+f.name, "%s must be UTF-8 text of at most %d bytes", f.name, maxRaw)
		}
	}
	if err := codeRule(hp+"ebpCode", h.EBPCode, 18); err != nil {
		return err
	}
	if err := codeRule(hp+"payCode", h.PayCode, 18); err != nil {
		return err
	}
	if err := asciiNo(hp+"payTransactionId", h.PayTransactionID, 60); err != nil {
		return err
	}
	if h.TotalAmount <= 0 {
		return fieldErr(hp+"totalAmount", "totalAmount must be positive")
	}
	if h.Currency != Currency {
		return fieldErr(hp+"currency", "currency must be %s (CNY)", Currency)
	}
	if h.VerDept != "1" && h.VerDept != "2" && h.VerDept != "3" {
		return fieldErr(hp+"verDept", "verDept must be 1 (UnionPay), 2 (NetsUnion) or 3 (other)")
	}
	if h.PayType != "1" && h.PayType != "2" && h.PayType != "3" && h.PayType != "4" {
		return fieldErr(hp+"payType", "payType must be 1 (APP), 2 (PC), 3 (scan) or 4 (other)")
	}
	if _, err := time.Parse("20060102150405", h.TradingTime); err != nil || len(h.TradingTime) != 14 {
		return fieldErr(hp+"tradingTime", "tradingTime must be yyyyMMddHHmmss")
	}
	if err := (textRule{hp + "note", 0, 1000}).check(h.Note); err != nil {
		return err
	}
	if len(p.Lists) == 0 || len(p.Lists) > maxReturns {
		return fieldErr("payExchangeInfoLists", "payExchangeInfoLists must hold 1–%d orders", maxReturns)
	}
	for i, l := range p.Lists {
		lp := "payExchangeInfoLists[" + strconv.Itoa(i) + "]."
		if err := (textRule{lp + "orderNo", 1, 60}).check(l.OrderNo); err != nil {
			return err
		}
		if len(l.GoodsInfo) == 0 || len(l.GoodsInfo) > 1000 {
			return fieldErr(lp+"goodsInfo", "goodsInfo must list the order's goods (1–1000)")
		}
		for j, g := range l.GoodsInfo {
			gp := lp + "goodsInfo[" + strconv.Itoa(j) + "]."
			if err := (textRule{gp + "gname", 1, 250}).check(g.Gname); err != nil {
				return err
			}
			if err := (textRule{gp + "itemLink", 1, 1000}).check(g.ItemLink); err != nil {
				return err
			}
		}
		for _, f := range []struct{ name, v string }{{"recpAccount", l.RecpAccount}, {"recpCode", l.RecpCode}, {"recpName", l.RecpName}} {
			if err := (textRule{lp + f.name, 1, 200}).check(f.v); err != nil {
				return err
			}
		}
	}
	if p.ServiceTime <= 0 {
		return fieldErr("serviceTime", "serviceTime is required")
	}
	return nil
}

// encodeJSON writes v as compact JSON without HTML escaping (raw channel
// messages are XML, and customs sees "<xml>" as the payment company sent
// it, not "\u003cxml\u003e").
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func mustJSON(v any) []byte {
	b, err := encodeJSON(v)
	if err != nil {
		panic(err)
	}
	return b
}

// parts returns the head and the lists as JSON, the same bytes for the
// sign string and the body.
func (p *PayExInfo) parts() (head, lists []byte, err error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	if head, err = encodeJSON(p.Head); err != nil {
		return nil, nil, err
	}
	lists, err = encodeJSON(p.Lists)
	return head, lists, err
}

// SignString is the text customs verifies signValue against:
//
//	"sessionID":"<sessionID>"||"payExchangeInfoHead":"<head JSON>"||"payExchangeInfoLists":"<lists JSON>"||"serviceTime":"<ms>"
//
// The JSON inside the quotes is not escaped: it is the same bytes the body
// carries (Body). Errors are Validate's.
func (p *PayExInfo) SignString() (string, error) {
	head, lists, err := p.parts()
	if err != nil {
		return "", err
	}
	return `"sessionID":"` + p.SessionID + `"||"payExchangeInfoHead":"` + string(head) +
		`"||"payExchangeInfoLists":"` + string(lists) + `"||"serviceTime":"` + strconv.FormatInt(p.ServiceTime, 10) + `"`, nil
}

// Sign signs the data with s and records certNo and signValue.
func (p *PayExInfo) Sign(ctx context.Context, s Signer) error {
	data, err := p.SignString()
	if err != nil {
		return err
	}
	sig, err := s.Sign179(ctx, data)
	if err != nil {
		return err
	}
	p.CertNo, p.SignValue = sig.CertNo, sig.SignValue
	return nil
}

// Body is payExInfoStr: {"sessionID","payExchangeInfoHead","payExchangeInfoLists",
// "serviceTime","certNo","signValue"}, serviceTime as a string. It needs a
// signature (Sign); errors are Validate's or EINVALID on "signValue".
func (p *PayExInfo) Body() ([]byte, error) {
	head, lists, err := p.parts()
	if err != nil {
		return nil, err
	}
	if p.CertNo == "" || p.SignValue == "" {
		return nil, fieldErr("signValue", "the data is not signed")
	}
	var b bytes.Buffer
	b.WriteString(`{"sessionID":`)
	b.Write(mustJSON(p.SessionID))
	b.WriteString(`,"payExchangeInfoHead":`)
	b.Write(head)
	b.WriteString(`,"payExchangeInfoLists":`)
	b.Write(lists)
	b.WriteString(`,"serviceTime":`)
	b.Write(mustJSON(strconv.FormatInt(p.ServiceTime, 10)))
	b.WriteString(`,"certNo":`)
	b.Write(mustJSON(p.CertNo))
	b.WriteString(`,"signValue":`)
	b.Write(mustJSON(p.SignValue))
	b.WriteString(`}`)
	return b.Bytes(), nil
}

// ParsePayExInfo reads a payExInfoStr (what customs receives), keeping
// the head and lists; it is how a stand-in customs server checks uploads.
func ParsePayExInfo(s []byte) (PayExInfo, error) {
	var raw struct {
		SessionID   string              `json:"sessionID"`
		Head        PayExchangeInfoHead `json:"payExchangeInfoHead"`
		Lists       []PayExchangeInfo   `json:"payExchangeInfoLists"`
		ServiceTime json.Number         `json:"serviceTime"`
		CertNo      string              `json:"certNo"`
		SignValue   string              `json:"signValue"`
	}
	if err := json.Unmarshal(s, &raw); err != nil {
		return PayExInfo{}, fieldErr("payExInfoStr", "payExInfoStr is not the 179 JSON: %v", err)
	}
	st, err := raw.ServiceTime.Int64()
	if err != nil {
		return PayExInfo{}, fieldErr("serviceTime", "serviceTime must be Unix milliseconds")
	}
	return PayExInfo{SessionID: raw.SessionID, Head: raw.Head, Lists: raw.Lists, ServiceTime: st, CertNo: raw.CertNo, SignValue: raw.SignValue}, nil
}

// GUID179 is the head guid of a 179 upload: derived from the session and
// the order, so that retries of one upload carry one guid.
func GUID179(secret []byte, sessionID, orderNo string) string {
	return derivedGUID(secret, "179", sessionID, orderNo)
}

// verDept maps baoguan's verify department onto 179's code.
func verDept(v string) string {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "UNIONPAY":
		return "1"
	case "2", "NETSUNION":
		return "2"
	}
	return "3"
}

// PayExInfoFor builds the 179 data customs asked for with req, from the
// order, its merchant and, when customs named a sub-order, its
// declaration (nil otherwise). It mirrors the CEB411 the order was
// declared with, since customs compares the two: payCode and
// payTransactionId as declared (PartTransactionID for a sub-order),
// totalAmount the declared amount (the order amount when there is no
// declaration). The goods are the order's items (name, link); the payee is
// the merchant (recpAccount its merchant number at baoguan, recpCode and
// recpName its customs registration). now is the upload's serviceTime.
// Validate then says what is missing (an item without a link, a payment
// without its raw channel messages).
func (c *Config) PayExInfoFor(req OpenReq, o *baoguan.Order, m *baoguan.Merchant, part *baoguan.Declaration, now time.Time) PayExInfo {
	h := PayExchangeInfoHead{
		GUID:             GUID179(c.Secret, req.SessionID, req.OrderNo),
		InitalRequest:    o.Payment.InitRequest,
		InitalResponse:   o.Payment.InitResponse,
		EBPCode:          m.EBPCode,
		PayCode:          o.Payment.PSPCode,
		PayTransactionID: o.Payment.No,
		TotalAmount:      Yuan(o.Amount),
		Currency:         Currency,
		VerDept:          verDept(o.Payment.VerDept),
		PayType:          o.Payment.PayType,
		TradingTime:      formatTime(o.Payment.PaidAt),
	}
	if h.PayCode == "" || o.Payment.PSPName == "" {
		h.PayCode = c.PayCode
	}
	if h.PayType == "" {
		h.PayType = "4"
	}
	if d := o.Declarable(); d > 0 {
		h.TotalAmount = Yuan(d) // what a whole-order CEB411 declared: paid less refunded
	}
	orderNo := o.MerchantOrderNo
	if part != nil {
		h.TotalAmount = Yuan(part.OrderFee)
		if part.SubOrderNo != "" {
			orderNo = part.SubOrderNo
			h.PayTransactionID = baoguan.PartTransactionID(o.Payment.No, part.SubOrderNo)
		}
	}
	l := PayExchangeInfo{OrderNo: orderNo, RecpAccount: m.No, RecpCode: m.EBPCode, RecpName: m.EBPName}
	for _, it := range o.Items {
		l.GoodsInfo = append(l.GoodsInfo, Goods{Gname: it.Subject, ItemLink: it.Link})
	}
	return PayExInfo{SessionID: req.SessionID, Head: h, Lists: []PayExchangeInfo{l}, ServiceTime: now.UnixMilli()}
}
