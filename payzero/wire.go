package payzero

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/inbound"
)

// payzero is a Spring application: its JSON reader (Jackson as Spring
// Boot configures it) ignores fields it does not know and reads a number
// where it expects a string and the reverse. baoguan reads the same way, so
// integrations written against it keep working, with one exception: an
// amount in fen must be a whole number, never truncated from a fraction.

// decode reads one JSON value into v, the body capped at limit. Unknown
// fields are ignored. A body that is not JSON, or a value of the wrong
// type, is a badRequest (HTTP 400).
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	// Lenient about types as Jackson is, not about text: a body in another
	// charset or compressed, and what encoding/json would store other than
	// sent (invalid UTF-8, lone surrogate escapes, two keys that differ
	// only in case, of which Jackson and encoding/json keep different
	// ones), are refused naming where.
	if p := inbound.CheckContentEncoding(r.Header.Values("Content-Encoding"), false); p != nil {
		return badRequest{&baoguan.Error{Code: baoguan.EINVALID, Field: "Content-Encoding", Reason: "bad_encoding", Message: "不支持的 Content-Encoding，请发送未压缩的请求体（" + p.Message + "）"}}
	}
	if _, p := inbound.ToUTF8(nil, inbound.Charset(r.Header.Get("Content-Type")), inbound.UTF8Only); p != nil {
		return badRequest{&baoguan.Error{Code: baoguan.EINVALID, Field: "Content-Type", Reason: "bad_encoding", Message: "请求体须为 UTF-8 编码（" + p.Message + "）"}}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &baoguan.Error{Code: baoguan.ETOOLARGE, Reason: "body_too_large", Message: fmt.Sprintf("请求体超过 %d 字节", tooBig.Limit)}
		}
		return badRequest{&baoguan.Error{Code: baoguan.EINVALID, Reason: "bad_body", Message: "请求体读取失败"}}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest{&baoguan.Error{Code: baoguan.EINVALID, Reason: "bad_json", Message: "请求体为空，请以 application/json 传入参数"}}
	}
	p := inbound.Decode(body, v, false)
	if p == nil {
		return nil
	}
	f := p.Path
	if f == "" {
		f = "body"
	}
	var msg, reason string
	switch p.Kind {
	case inbound.KindType:
		reason, msg = "bad_type", fmt.Sprintf("%s 的类型不正确（收到 %s）", f, p.Got)
		switch p.GoType {
		case "int64":
			msg = fmt.Sprintf("%s 必须是以分为单位的整数（收到 %s）", f, p.Got)
		case "time.Time":
			msg = fmt.Sprintf("%s 的格式应为 yyyy-MM-dd HH:mm:ss（收到 %s）", f, p.Got)
		}
	case inbound.KindDuplicate:
		reason, msg = "duplicate_key", fmt.Sprintf("%s 重复（键名仅大小写不同也视为重复），请只传一个：%s", f, p.Message)
	case inbound.KindUTF8, inbound.KindSurrogate:
		reason, msg = "bad_encoding", fmt.Sprintf("%s 含有无法按 UTF-8 读取的文本：%s", f, p.Message)
	case inbound.KindSyntax, inbound.KindDepth:
		reason, msg = "bad_json", fmt.Sprintf("请求体不是合法的 JSON（第 %d 字节）：%s", p.Offset, p.Message)
	default:
		reason, msg, f = "bad_json", "请求体不是合法的 JSON", ""
	}
	if f == "body" {
		f = ""
	}
	return badRequest{&baoguan.Error{Code: baoguan.EINVALID, Field: f, Reason: reason, Message: msg}}
}

// jstr is a string field that also accepts a JSON number or boolean (read
// as its text) and null (empty).
type jstr string

func (j *jstr) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*j = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*j = jstr(strings.TrimSpace(s))
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9' || string(b) == "true" || string(b) == "false"):
		*j = jstr(b)
	default:
		return &json.UnmarshalTypeError{Value: "object or array", Type: reflect.TypeFor[string]()}
	}
	return nil
}

// fen is an amount in fen: a whole JSON number, or a string of digits.
type fen struct {
	set bool
	v   int64
}

func (f *fen) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*f = fen{}
		return nil
	}
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: s, Type: reflect.TypeFor[int64]()}
	}
	*f = fen{set: true, v: v}
	return nil
}

// wireTime is orderDatetime: "yyyy-MM-dd HH:mm:ss" in China time, or epoch
// milliseconds as Jackson writes a java.util.Date.
type wireTime struct{ t time.Time }

func (w *wireTime) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" || s == `""` {
		*w = wireTime{}
		return nil
	}
	if s != "" && s[0] != '"' {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return &json.UnmarshalTypeError{Value: s, Type: reflect.TypeFor[time.Time]()}
		}
		w.t = time.UnixMilli(ms)
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(str), core.ChinaTime); err == nil {
			w.t = t
			return nil
		}
	}
	return &json.UnmarshalTypeError{Value: str, Type: reflect.TypeFor[time.Time]()}
}

// itemReq is the document's items type.
type itemReq struct {
	Subject    jstr `json:"subject"`
	ItemLink   jstr `json:"itemLink"`
	ArticleNum jstr `json:"articleNum"`
}

// orderReq is the document's order type, with the fields the QR, quick
// pay and virtual payment interfaces add to it.
type orderReq struct {
	QRCodeType      jstr      `json:"qrCodeType"`
	AgreeID         jstr      `json:"agreeid"`
	NeedDeclare     *bool     `json:"needDeclare"`
	Currency        jstr      `json:"currency"`
	CustomsCode     jstr      `json:"customsCode"`
	CustomsAreaCode jstr      `json:"customsAreaCode"`
	CustomsJyOrg    jstr      `json:"customsJyOrg"`
	CustomsInType   jstr      `json:"customsInType"`
	MchtOrderNo     jstr      `json:"mchtOrderNo"`
	OrderDatetime   *wireTime `json:"orderDatetime"`
	PayerName       jstr      `json:"payerName"`
	PayerNumber     jstr      `json:"payerNumber"`
	PayerPhone      jstr      `json:"payerPhone"`
	PaymentAmount   fen       `json:"paymentAmount"`
	Subject         jstr      `json:"subject"`
	NotifyURL       jstr      `json:"notifyUrl"`
	Items           []itemReq `json:"items"`
}

// input translates an order. declareByDefault is what an absent
// needDeclare means: payzero declares orders of automatic and virtual
// payment by itself, and QR / quick-pay orders "by the merchant's business
// form at onboarding", which baoguan reads as "when a customs code is
// given". needDeclare false keeps the customs data for a later 8.1.
func (o *orderReq) input() (core.OrderInput, error) {
	if !o.PaymentAmount.set {
		return core.OrderInput{}, baoguan.FieldError("amount", "paymentAmount (fen) is required")
	}
	in := core.OrderInput{Order: baoguan.Order{
		MerchantOrderNo: string(o.MchtOrderNo),
		Amount:          o.PaymentAmount.v,
		Currency:        string(o.Currency),
		Subject:         string(o.Subject),
		Payer:           baoguan.Payer{Name: string(o.PayerName), IDNumber: string(o.PayerNumber), Phone: string(o.PayerPhone)},
		NotifyURL:       string(o.NotifyURL),
		Protocol:        Protocol,
		Extra:           map[string]string{},
	}}
	if o.OrderDatetime != nil {
		in.Order.OrderedAt = o.OrderDatetime.t
	}
	for _, it := range o.Items {
		in.Order.Items = append(in.Order.Items, baoguan.Item{Subject: string(it.Subject), Link: string(it.ItemLink), ArticleNo: string(it.ArticleNum)})
	}
	x := baoguan.CustomsExtras{AreaCode: string(o.CustomsAreaCode), JyOrg: string(o.CustomsJyOrg), InType: string(o.CustomsInType)}
	for k, v := range map[string]string{core.ExtraCustoms: string(o.CustomsCode), core.ExtraAreaCode: x.AreaCode, core.ExtraJyOrg: x.JyOrg, core.ExtraInType: x.InType} {
		if v != "" {
			in.Order.Extra[k] = v
		}
	}
	declare := o.CustomsCode != ""
	if o.NeedDeclare != nil {
		declare = *o.NeedDeclare
	}
	if declare {
		in.Order.NeedDeclare = true
		in.Declarations = []baoguan.DeclarationSpec{{Customs: string(o.CustomsCode), Extras: x}}
		if o.CustomsCode == "" {
			return in, baoguan.FieldError("customs", "customsCode is required when the order is to be declared")
		}
	}
	return in, nil
}

// opt is a nullable string: null when empty, as payzero writes absent values.
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// orderResult is the document's orderResultDto (2.4), the shape of every
// query and of every notification's msgBody.
type orderResult struct {
	MchtOrderNo           string  `json:"mchtOrderNo"`
	PaymentAmount         int64   `json:"paymentAmount"`
	PayerName             *string `json:"payerName"`
	PayerNumber           *string `json:"payerNumber"`
	PayerPhone            *string `json:"payerPhone"`
	Subject               string  `json:"subject"`
	PayStatus             string  `json:"payStatus"`
	DeclareStatus         string  `json:"declareStatus"`
	DeclareFailReason     *string `json:"declareFailReason"`
	PaymentOrderNo        *string `json:"paymentOrderNo"`
	VerDept               *string `json:"verDept"`
	PayType               *string `json:"payType"`
	InitRequest           *string `json:"initRequest"`
	InitResponse          *string `json:"initResponse"`
	PaymentDatetime       *string `json:"paymentDatetime"`
	CustomsPayCompanyName *string `json:"customsPayCompanyName"`
	CustomsPayCompanyCode *string `json:"customsPayCompanyCode"`
}

// resultOf renders an order and its declarations. The declared payer is
// the order's payer, which a re-declaration (8.1) replaces.
func resultOf(o *baoguan.Order, ds []baoguan.Declaration) orderResult {
	p := o.Payment
	r := orderResult{
		MchtOrderNo:           o.MerchantOrderNo,
		PaymentAmount:         o.Amount,
		PayerName:             opt(o.Payer.Name),
		PayerNumber:           opt(o.Payer.IDNumber),
		PayerPhone:            opt(o.Payer.Phone),
		Subject:               o.Subject,
		PayStatus:             string(o.PayStatus),
		DeclareStatus:         string(o.DeclareStatus),
		PaymentOrderNo:        opt(p.No),
		VerDept:               opt(p.VerDept),
		PayType:               opt(p.PayType),
		InitRequest:           opt(p.InitRequest),
		InitResponse:          opt(p.InitResponse),
		CustomsPayCompanyName: opt(p.PSPName),
		CustomsPayCompanyCode: opt(p.PSPCode),
	}
	if !p.PaidAt.IsZero() {
		r.PaymentDatetime = opt(p.PaidAt.In(core.ChinaTime).Format("20060102150405"))
	}
	if o.DeclareStatus == baoguan.DeclareFailedSt {
		var why []string
		for _, d := range ds {
			if d.Final() && d.State != baoguan.DeclSuccess && d.Explanation != "" {
				why = append(why, d.Explanation)
			}
		}
		r.DeclareFailReason = opt(strings.Join(why, "；"))
	}
	return r
}

// queryParam reads a required query parameter (HTTP 400 when missing, as
// Spring answers a missing @RequestParam).
func queryParam(r *http.Request, name string) (string, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return "", badRequest{baoguan.FieldError(name, "缺少查询参数 %s", name)}
	}
	return v, nil
}

// pathID reads a numeric path variable such as {orderBatchId}.
func pathID(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v <= 0 {
		return 0, badRequest{baoguan.FieldError("orderBatchId", "orderBatchId 必须是创建批次时返回的数字 id")}
	}
	return v, nil
}
