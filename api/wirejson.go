package api

import (
	"strconv"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// The order's JSON, and the notifications', written without encoding/json.
// Every push is answered with its order, and every notification body holds
// the order or a declaration; encoding/json walked those structs by
// reflection and, for each time, called MarshalJSON and scanned its output
// again — the largest part of a push's answer, and of a notification's
// rendering, which on SQLite the single writer does itself for the
// notifications its renderer has not begun (core/batchtx.go). The
// appenders below write the bytes encoding/json writes for the same
// structs, fields in their order, omitempty as their tags say, strings
// escaped as encoding/json escapes them (TestWireJSONAsEncodingJSON
// compares the two with every field set and with none). A time that
// encoding/json refuses (a year outside 0–9999) makes an appender report
// false, and the caller encodes with encoding/json, which returns its error.

// jsonBuffers holds the buffers appenders write into: an answer is copied
// out by its Write, a notification's body by Render.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// withJSONBuffer calls f with an empty buffer from jsonBuffers and puts
// back what f returns, unless it grew large (a list of orders).
func withJSONBuffer(f func([]byte) []byte) {
	p := jsonBuffers.Get().(*[]byte)
	b := f((*p)[:0])
	if cap(b) <= 64<<10 {
		*p = b
		jsonBuffers.Put(p)
	}
}

// jsonAppender is a wire shape that writes its own JSON.
type jsonAppender interface {
	// appendJSON appends the JSON of the value to b; html escapes <, >
	// and & as json.Marshal does (the API's answers do not, as
	// json.Encoder with SetEscapeHTML(false)). ok is false if the value
	// cannot be written by hand; b is then to be discarded.
	appendJSON(b []byte, html bool) (out []byte, ok bool)
}

// jsonObject writes one JSON object's fields.
type jsonObject struct {
	b     []byte
	html  bool
	ok    bool
	first bool
}

func newObject(b []byte, html bool) jsonObject {
	return jsonObject{b: append(b, '{'), html: html, ok: true, first: true}
}

func (o *jsonObject) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *jsonObject) str(k, v string) {
	o.key(k)
	o.b = baoguan.AppendJSONString(o.b, v, o.html)
}

func (o *jsonObject) strOmit(k, v string) {
	if v != "" {
		o.str(k, v)
	}
}

func (o *jsonObject) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *jsonObject) intOmit(k string, v int64) {
	if v != 0 {
		o.int(k, v)
	}
}

func (o *jsonObject) bool(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *jsonObject) time(k string, t time.Time) {
	o.key(k)
	var ok bool
	if o.b, ok = appendJSONTime(o.b, t); !ok {
		o.ok = false
	}
}

// field writes a nested value (a function rather than a method, so that
// v is not boxed in an interface).
func field[T jsonAppender](o *jsonObject, k string, v T) {
	o.key(k)
	var ok bool
	if o.b, ok = v.appendJSON(o.b, o.html); !ok {
		o.ok = false
	}
}

func (o *jsonObject) end() ([]byte, bool) {
	return append(o.b, '}'), o.ok
}

// appendJSONArray appends vs as a JSON array, null for a nil slice.
func appendJSONArray[T jsonAppender](b []byte, vs []T, html bool) ([]byte, bool) {
	if vs == nil {
		return append(b, "null"...), true
	}
	b = append(b, '[')
	for i := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = vs[i].appendJSON(b, html); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

// jsonArray is a slice written as a JSON array.
type jsonArray[T jsonAppender] []T

func (a jsonArray[T]) appendJSON(b []byte, html bool) ([]byte, bool) {
	return appendJSONArray(b, []T(a), html)
}

// appendJSONTime appends t as time.Time.MarshalJSON writes it (RFC 3339
// with nanoseconds, quoted), or reports false where MarshalJSON fails: a
// year that is not four digits, a zone offset of 24 hours or more.
func appendJSONTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	n := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	if len(b) < n+len("2006-01-02T15:04:05Z") || b[n+4] != '-' {
		return b, false
	}
	if b[len(b)-1] != 'Z' {
		c := b[len(b)-len("Z07:00")]
		h := 10*(b[len(b)-5]-'0') + (b[len(b)-4] - '0')
		if '0' <= c && c <= '9' || h >= 24 {
			return b, false
		}
	}
	return append(b, '"'), true
}

func (j itemJSON) appendJSON(b []byte, html bool) ([]byte, bool) {
	o := newObject(b, html)
	o.str("subject", j.Subject)
	o.strOmit("link", j.Link)
	o.strOmit("article_no", j.ArticleNo)
	o.intOmit("quantity", j.Quantity)
	o.intOmit("unit_amount", j.UnitAmount)
	return o.end()
}

func (j payerJSON) appendJSON(b []byte, html bool) ([]byte, bool) {
	o := newObject(b, html)
	o.str("name", j.Name)
	o.strOmit("id_type", j.IDType)
	o.str("id_number", j.IDNumber)
	o.str("phone", j.Phone)
	return o.end()
}

func (j paymentJSON) appendJSON(b []byte, html bool) ([]byte, bool) {
	o := newObject(b, html)
	o.strOmit("payment_no", j.PaymentNo)
	o.strOmit("psp", j.PSP)
	o.strOmit("psp_name", j.PSPName)
	o.strOmit("psp_customs_code", j.PSPCode)
	if j.PaidAt != nil {
		o.time("paid_at", *j.PaidAt)
	}
	o.strOmit("ver_dept", j.VerDept)
	o.strOmit("pay_type", j.PayType)
	o.strOmit("fail_reason", j.FailReason)
	o.strOmit("fail_code", j.FailCode)
	o.strOmit("init_request", j.InitRequest)
	o.strOmit("init_response", j.InitResp)
	o.strOmit("exchange_rate", j.ExchangeRate)
	o.intOmit("pay_amount", j.PayAmount)
	o.strOmit("pay_currency", j.PayCurrency)
	o.strOmit("settle_rate", j.SettleRate)
	return o.end()
}

func (j declarationJSON) appendJSON(b []byte, html bool) ([]byte, bool) {
	o := newObject(b, html)
	j.fields(&o)
	return o.end()
}

// fields writes the declaration's fields into o, which a notification's
// data shares with two fields of the order's.
func (j *declarationJSON) fields(o *jsonObject) {
	o.str("id", j.ID)
	o.str("customs", j.Customs)
	o.str("port", j.Port)
	o.strOmit("route", j.Route)
	o.strOmit("customs_area_code", j.CustomsAreaCode)
	o.strOmit("customs_jy_org", j.CustomsJyOrg)
	o.strOmit("customs_in_type", j.CustomsInType)
	o.strOmit("sub_order_no", j.SubOrderNo)
	o.str("sub_order_id", j.SubOrderID)
	o.strOmit("merchant_customs_no", j.MerchantCustomsNo)
	o.int("order_fee", j.OrderFee)
	o.int("transport_fee", j.TransportFee)
	o.int("product_fee", j.ProductFee)
	o.int("duty", j.Duty)
	o.str("auth_check_strategy", j.Strategy)
	o.str("identity_check", j.IdentityCheck)
	o.str("state", j.State)
	o.strOmit("explanation", j.Explanation)
	o.strOmit("verify_department", j.VerifyDepartment)
	o.strOmit("verify_department_trade_id", j.VerifyDepartmentTradeID)
	o.int("attempts", int64(j.Attempts))
	o.time("modified_at", j.ModifiedAt)
}

func (j refundJSON) appendJSON(b []byte, html bool) ([]byte, bool) {
	o := newObject(b, html)
	o.str("refund_no", j.RefundNo)
	o.str("order_no", j.OrderNo)
	o.int("amount", j.Amount)
	o.strOmit("reason", j.Reason)
	o.str("status", j.Status)
	o.strOmit("fail_reason", j.FailReason)
	o.int("cny_amount", j.CNYAmount)
	o.time("created_at", j.CreatedAt)
	o.time("updated_at", j.UpdatedAt)
	return o.end()
}

func (j orderJSON) appendJSON(b []byte, html bool) ([]byte, bool) {
	o := newObject(b, html)
	o.str("merchant_order_no", j.MerchantOrderNo)
	o.int("amount", j.Amount)
	o.str("currency", j.Currency)
	o.str("subject", j.Subject)
	field(&o, "items", jsonArray[itemJSON](j.Items))
	field(&o, "payer", j.Payer)
	o.time("ordered_at", j.OrderedAt)
	o.strOmit("notify_url", j.NotifyURL)
	o.str("channel", j.Channel)
	o.bool("sandbox", j.Sandbox)
	if j.BatchID != nil {
		o.str("batch_id", *j.BatchID)
	} else {
		o.key("batch_id")
		o.b = append(o.b, "null"...)
	}
	o.str("pay_status", j.PayStatus)
	o.str("declare_status", j.DeclareStatus)
	field(&o, "payment", j.Payment)
	o.int("refunded", j.Refunded)
	if len(j.Declarations) > 0 {
		field(&o, "declarations", jsonArray[declarationJSON](j.Declarations))
	}
	if len(j.Refunds) > 0 {
		field(&o, "refunds", jsonArray[refundJSON](j.Refunds))
	}
	o.time("created_at", j.CreatedAt)
	o.time("updated_at", j.UpdatedAt)
	return o.end()
}

// declarationNotice is a declaration notification's data: the order's
// number and payment number, then the declaration's fields.
type declarationNotice struct {
	MerchantOrderNo string `json:"merchant_order_no"`
	PaymentNo       string `json:"payment_no"`
	declarationJSON
}

func (j declarationNotice) appendJSON(b []byte, html bool) ([]byte, bool) {
	o := newObject(b, html)
	o.str("merchant_order_no", j.MerchantOrderNo)
	o.str("payment_no", j.PaymentNo)
	j.declarationJSON.fields(&o)
	return o.end()
}

// appendWebhookBody appends a notification's body, Standard Webhooks'
// envelope (the struct webhookBody) around data.
func appendWebhookBody[T jsonAppender](b []byte, id, typ string, at time.Time, data T) ([]byte, bool) {
	o := newObject(b, true)
	o.str("id", id)
	o.str("type", typ)
	o.time("timestamp", at)
	field(&o, "data", data)
	return o.end()
}
