package ceb

import (
	"bytes"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// AppType is PaymentHead.appType, 企业报送类型.
type AppType string

const (
	AppNew    AppType = "1" // 新增: the first declaration of this payment record
	AppChange AppType = "2" // 变更: a modification or re-declaration (with a new guid)
	AppDelete AppType = "3" // 删除
)

// AppStatus values (业务状态). baoguan always declares (2); 1 keeps the
// record as a draft at the E-Port and is accepted for completeness.
const (
	AppStatusSaved    = "1" // 暂存
	AppStatusDeclared = "2" // 申报
)

// payerIDCard is payerIdType 1, 身份证: the only type customs accepts
// ("限定为身份证，填写“1”").
const payerIDCard = "1"

// Payment is one PaymentHead: one payment record for one order or
// sub-order, as one declaration attempt sends it. Amount is fen; the
// message carries yuan with two decimals, converted exactly.
type Payment struct {
	GUID             string    // the attempt's guid (see GUID): 36 upper-case characters
	AppType          AppType   // AppNew or AppChange (AppDelete is accepted, baoguan does not send it)
	AppTime          time.Time // when this attempt was made; written in China time
	AppStatus        string    // AppStatusDeclared when empty
	PayCode          string    // payment company's customs registration code, C..18
	PayName          string    // its registered name, C..100
	PayTransactionID string    // the payment company's unique transaction number, C..60
	OrderNo          string    // the platform's order (or sub-order) number, C..60
	EBPCode          string    // e-commerce platform's customs code, C..18
	EBPName          string    // its registered name, C..100
	Payer            baoguan.Payer
	Amount           int64     // amountPaid in fen, > 0
	PayTime          time.Time // when the payment succeeded; written in China time
	Note             string    // C..1000, may be empty
}

// Transfer is BaseTransfer: the company whose E-Port client transmits the
// message. CopCode must match the identity of the client's card.
type Transfer struct {
	CopCode string // 传输企业代码, C..18
	CopName string // 传输企业名称, C..100
	DxpID   string // 报文传输编号: the DXP user id the E-Port data centre issued, C..30
	Note    string // C..1000, may be empty
}

// Validate checks every field against the 2022-05 specification (table
// 3-10) and schema: lengths, fixed values, formats. The error is EINVALID,
// reason ReasonField, naming the customs field (payCode, payerIdNumber, …).
func (p *Payment) Validate() error {
	if err := CheckGUID("guid", p.GUID); err != nil {
		return err
	}
	switch p.AppType {
	case AppNew, AppChange, AppDelete:
	default:
		return fieldErr("appType", "appType must be 1 (new), 2 (change) or 3 (delete), not %q", string(p.AppType))
	}
	if p.AppTime.IsZero() {
		return fieldErr("appTime", "appTime is required")
	}
	switch p.AppStatus {
	case "", AppStatusSaved, AppStatusDeclared:
	default:
		return fieldErr("appStatus", "appStatus must be 1 (saved) or 2 (declared), not %q", p.AppStatus)
	}
	if err := codeRule("payCode", p.PayCode, 18); err != nil {
		return err
	}
	if err := (textRule{"payName", 1, 100}).check(p.PayName); err != nil {
		return err
	}
	if err := asciiNo("payTransactionId", p.PayTransactionID, 60); err != nil {
		return err
	}
	if err := asciiNo("orderNo", p.OrderNo, 60); err != nil {
		return err
	}
	if err := codeRule("ebpCode", p.EBPCode, 18); err != nil {
		return err
	}
	if err := (textRule{"ebpName", 1, 100}).check(p.EBPName); err != nil {
		return err
	}
	if t := p.Payer.IDType; t != "" && t != baoguan.IDTypeIDCard {
		return fieldErr("payerIdType", "customs accepts only resident ID cards (payerIdType 1), not %s", t)
	}
	if err := baoguan.CheckIDFormat("payerIdNumber", baoguan.IDTypeIDCard, p.Payer.IDNumber); err != nil {
		return err
	}
	if strings.TrimSpace(p.Payer.IDNumber) != p.Payer.IDNumber {
		return fieldErr("payerIdNumber", "payerIdNumber has surrounding spaces")
	}
	if err := (textRule{"payerName", 1, 60}).check(p.Payer.Name); err != nil {
		return err
	}
	if strings.TrimSpace(p.Payer.Name) != p.Payer.Name {
		return fieldErr("payerName", "payerName has surrounding spaces")
	}
	if err := (textRule{"telephone", 0, 60}).check(p.Payer.Phone); err != nil {
		return err
	}
	if p.Amount <= 0 {
		return fieldErr("amountPaid", "amountPaid must be positive, not %s yuan", baoguan.FormatYuan(p.Amount))
	}
	if p.PayTime.IsZero() {
		return fieldErr("payTime", "payTime is required")
	}
	return (textRule{"note", 0, 1000}).check(p.Note)
}

// Validate checks BaseTransfer (specification table 3-11). copName and
// dxpId are required there although the schema lets them be empty.
func (t *Transfer) Validate() error {
	if err := codeRule("copCode", t.CopCode, 18); err != nil {
		return err
	}
	if err := (textRule{"copName", 1, 100}).check(t.CopName); err != nil {
		return err
	}
	if err := codeRule("dxpId", t.DxpID, 30); err != nil {
		return err
	}
	return (textRule{"note", 0, 1000}).check(t.Note)
}

// CheckGUID checks a customs guid: 36 characters of upper-case hex digits
// and dashes in the 8-4-4-4-12 layout ("36位唯一序号（英文字母大写）").
// field names the field in the error.
func CheckGUID(field, g string) error {
	if len(g) != 36 {
		return fieldErr(field, "%s must have 36 characters, not %d", field, len(g))
	}
	for i := 0; i < 36; i++ {
		c := g[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return fieldErr(field, "%s must be laid out 8-4-4-4-12", field)
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
				return fieldErr(field, "%s may hold only upper-case hex digits and dashes", field)
			}
		}
	}
	return nil
}

// Build writes the CEB411Message for one payment record: the XML
// declaration, then the message in W3C canonical form (C14N 1.0) so that a
// signature's digest can be taken over exactly these bytes. Elements come
// in the schema's order; the message guid is the payment's guid (one
// Payment per message, so that each receipt names one declaration
// attempt). Invalid input is refused with the field-naming error of
// Payment.Validate or Transfer.Validate, never written.
func Build(p Payment, t Transfer) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	status := p.AppStatus
	if status == "" {
		status = AppStatusDeclared
	}
	var w cwriter
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.b.WriteString(`<ceb:CEB411Message xmlns:ceb="` + Namespace + `" guid="`)
	w.attr(p.GUID)
	w.b.WriteString(`" version="1.0">`)
	w.open(1, "Payment")
	w.open(2, "PaymentHead")
	w.leaf(3, "guid", p.GUID)
	w.leaf(3, "appType", string(p.AppType))
	w.leaf(3, "appTime", formatTime(p.AppTime))
	w.leaf(3, "appStatus", status)
	w.leaf(3, "payCode", p.PayCode)
	w.leaf(3, "payName", p.PayName)
	w.leaf(3, "payTransactionId", p.PayTransactionID)
	w.leaf(3, "orderNo", p.OrderNo)
	w.leaf(3, "ebpCode", p.EBPCode)
	w.leaf(3, "ebpName", p.EBPName)
	w.leaf(3, "payerIdType", payerIDCard)
	w.leaf(3, "payerIdNumber", strings.ToUpper(p.Payer.IDNumber))
	w.leaf(3, "payerName", p.Payer.Name)
	if p.Payer.Phone != "" {
		w.leaf(3, "telephone", p.Payer.Phone)
	}
	w.leaf(3, "amountPaid", baoguan.FormatYuan(p.Amount))
	w.leaf(3, "currency", Currency)
	w.leaf(3, "payTime", formatTime(p.PayTime))
	w.leaf(3, "note", p.Note)
	w.close(2, "PaymentHead")
	w.close(1, "Payment")
	w.open(1, "BaseTransfer")
	w.leaf(2, "copCode", t.CopCode)
	w.leaf(2, "copName", t.CopName)
	w.leaf(2, "dxpMode", "DXP")
	w.leaf(2, "dxpId", t.DxpID)
	w.leaf(2, "note", t.Note)
	w.close(1, "BaseTransfer")
	w.b.WriteString("\n</ceb:CEB411Message>\n")
	return w.b.Bytes(), nil
}

// cwriter writes ceb-prefixed elements in canonical form: no self-closing
// tags, text escaped as C14N escapes it, tab indentation as in the official
// sample (whitespace text nodes are part of the canonical form, so what is
// written here is exactly what is digested).
type cwriter struct{ b bytes.Buffer }

func (w *cwriter) indent(depth int) {
	w.b.WriteByte('\n')
	for range depth {
		w.b.WriteByte('\t')
	}
}

func (w *cwriter) open(depth int, name string) {
	w.indent(depth)
	w.b.WriteString("<ceb:" + name + ">")
}

func (w *cwriter) close(depth int, name string) {
	w.indent(depth)
	w.b.WriteString("</ceb:" + name + ">")
}

func (w *cwriter) leaf(depth int, name, text string) {
	w.indent(depth)
	w.b.WriteString("<ceb:" + name + ">")
	w.text(text)
	w.b.WriteString("</ceb:" + name + ">")
}

// text escapes character data the way C14N 1.0 does: &amp; &lt; &gt; and
// &#xD;, nothing else (encoding/xml would also escape quotes, which the
// canonical form keeps literal).
func (w *cwriter) text(s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			w.b.WriteString("&amp;")
		case '<':
			w.b.WriteString("&lt;")
		case '>':
			w.b.WriteString("&gt;")
		case '\r':
			w.b.WriteString("&#xD;")
		default:
			w.b.WriteByte(c)
		}
	}
}

// attr escapes an attribute value the way C14N 1.0 does.
func (w *cwriter) attr(s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			w.b.WriteString("&amp;")
		case '<':
			w.b.WriteString("&lt;")
		case '"':
			w.b.WriteString("&quot;")
		case '\t':
			w.b.WriteString("&#x9;")
		case '\n':
			w.b.WriteString("&#xA;")
		case '\r':
			w.b.WriteString("&#xD;")
		default:
			w.b.WriteByte(c)
		}
	}
}
