package accp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/inbound"
)

// Push statuses. The document refers to a table ('推送订单状态') it does not
// include; these are baoguan's, mapped from the core declaration state by
// PushStatus.
const (
	PushWait       = "PUSH_WAIT"       // accepted, queued for customs (PENDING)
	PushProcessing = "PUSH_PROCESSING" // with customs, waiting for the receipt (SUBMITTED, PROCESSING, EXCEPT being retried)
	PushSuccess    = "PUSH_SUCCESS"    // customs accepted the payment record (SUCCESS)
	PushFail       = "PUSH_FAIL"       // refused, or the customs interface kept failing (FAIL, final EXCEPT)
)

// PushStatus maps a declaration's state to the push status.
func PushStatus(d *baoguan.Declaration) string {
	switch d.State {
	case baoguan.DeclSubmitted, baoguan.DeclProcessing:
		return PushProcessing
	case baoguan.DeclSuccess:
		return PushSuccess
	case baoguan.DeclFail:
		return PushFail
	case baoguan.DeclExcept:
		if d.Retrying {
			return PushProcessing
		}
		return PushFail
	}
	return PushWait // UNDECLARED cannot happen for a paid order; PENDING
}

// PayTransactionID is the pay_transaction_id of a push: baoguan's payment
// number, or for a split push (sub_order_flag Y) the first 32 lower-case hex
// digits of SHA-256(payment number + txn_seqno), so that every part of a
// split payment carries its own number and the same part always the same.
func PayTransactionID(paymentNo, txnSeqno string, split bool) string {
	if !split {
		return paymentNo
	}
	h := sha256.Sum256([]byte(paymentNo + txnSeqno))
	return hex.EncodeToString(h[:16])
}

// resultInfo is the result_info JSON string. user_check_result is left out
// when the payment channel reported no payer to compare with.
func resultInfo(check string) string {
	switch check {
	case baoguan.CheckSame:
		return `{"user_check_result":"SAME"}`
	case baoguan.CheckDifferent:
		return `{"user_check_result":"DIFF"}`
	}
	return `{}`
}

// pushDate is the day the record went to customs, or, while it waits, the
// day it was accepted or last modified.
func pushDate(d *baoguan.Declaration) string {
	t := d.ModifiedAt
	if d.State != baoguan.DeclPending && !d.SubmittedAt.IsZero() {
		t = d.SubmittedAt
	}
	return t.In(cst).Format("20060102")
}

// pushFacts fills the fields every push reply and notification shares.
func pushFacts(r *reply, m *baoguan.Merchant, txn string, o *baoguan.Order, d *baoguan.Declaration) {
	r.MchID = m.No
	r.TxnSeqno = txn
	r.AccpTxno = d.SubOrderID
	r.OrgTxnSeqno = o.MerchantOrderNo
	r.PushStatus = PushStatus(d)
	r.PayCompanyCode = o.Payment.PSPCode
	if r.PayCompanyCode == "" {
		r.PayCompanyCode = o.Payment.PSP
	}
	r.PayCompanyName = o.Payment.PSPName
	r.PayTransactionID = PayTransactionID(o.Payment.No, txn, d.SubOrderNo != "")
	r.PushDate = pushDate(d)
	if r.PushStatus == PushFail {
		r.PushFailReason = d.Explanation
	}
	r.ResultInfo = resultInfo(d.IdentityCheck)
}

// yuan is an amount as sent: a JSON number, or a string holding one (some
// SDKs quote numbers). It is kept as text and converted to fen exactly.
type yuan struct{ text string }

func (y *yuan) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		y.text = s
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		// A type error, so that the decoder adds the field's name.
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[float64]()}
	}
	y.text = n.String()
	return nil
}

// applyReq is the apply-pushpay body, field for field as the document
// lists it.
type applyReq struct {
	Timestamp         string          `json:"timestamp"`
	MchID             string          `json:"mch_id"`
	UserName          string          `json:"user_name"`
	IDType            string          `json:"id_type"`
	IDNo              string          `json:"id_no"`
	Phone             string          `json:"phone"`
	TxnSeqno          string          `json:"txn_seqno"`
	OrgTxnSeqno       string          `json:"org_txn_seqno"`
	TxnTime           string          `json:"txn_time"`
	OperateType       string          `json:"operate_type"`
	TotalAmount       *yuan           `json:"total_amount"`
	PlatformCode      string          `json:"platform_code"`
	PlatformName      string          `json:"platform_name"`
	CustomCode        string          `json:"custom_code"`
	NotifyURL         string          `json:"notify_url"`
	SubOrderFlag      string          `json:"sub_order_flag"`
	PayFeeAmount      *yuan           `json:"pay_fee_amount"`
	PayGdsAmt         *yuan           `json:"pay_gds_amt"`
	PayTaxAmt         *yuan           `json:"pay_tax_amt"`
	ExtendInfo        json.RawMessage `json:"extend_info"`
	AuthCheckStrategy string          `json:"auth_check_strategy"`
}

// queryReq is the query-pushpay body.
type queryReq struct {
	Timestamp string `json:"timestamp"`
	MchID     string `json:"mch_id"`
	TxnSeqno  string `json:"txn_seqno"`
}

// decodeStrict decodes the whole body into v, refusing unknown fields so
// that a misspelt optional field (which would silently default) is named.
func decodeStrict(body []byte, v any) error {
	p := inbound.Decode(body, v, true)
	if p == nil {
		return nil
	}
	switch p.Kind {
	case inbound.KindType:
		return fail(CodeBadField, p.Path+" must be a JSON "+accpType(p.Want)+", not "+inbound.Describe(p.Got))
	case inbound.KindUnknown:
		return fail(CodeBadField, "unknown field "+p.Path)
	case inbound.KindValue:
		if e, ok := p.Err.(*baoguan.Error); ok {
			return fail(CodeBadField, e.Message)
		}
		return fail(CodeBadField, "a field holds a value of the wrong form")
	}
	return fail(CodeBadRequest, p.Message)
}

// accpType names a JSON type as the document's tables do: amounts are
// numbers (or numeric strings), nested values objects.
func accpType(want string) string {
	switch want {
	case "integer":
		return "number"
	}
	return want
}

// pushContent is what makes two pushes of one txn_seqno the same: every
// field the merchant sent, normalised, except timestamp (it changes with
// every retry), operate_type (an ADD and a MOD of the same content are the
// same push) and mch_id (the push belongs to the merchant anyway).
type pushContent struct {
	UserName, IDType, IDNo, Phone      string
	TxnSeqno, OrgTxnSeqno, TxnTime     string
	Total, Fee, Goods, Tax             int64
	PlatformCode, PlatformName, Custom string
	NotifyURL                          string
	Split                              bool
	Extras                             baoguan.CustomsExtras
	Strategy                           string
}

// translate checks the fields the core does not know about (formats and
// enumerations of the wire) and builds the core's push input.
func (q *applyReq) translate() (core.DeclarationPushInput, error) {
	var in core.DeclarationPushInput
	for _, f := range []struct{ name, v string }{
		{"user_name", q.UserName}, {"id_no", q.IDNo}, {"phone", q.Phone}, {"txn_seqno", q.TxnSeqno},
		{"org_txn_seqno", q.OrgTxnSeqno}, {"txn_time", q.TxnTime}, {"custom_code", q.CustomCode},
	} {
		if strings.TrimSpace(f.v) == "" {
			return in, fail(CodeMissingField, f.name+" is required")
		}
	}
	if q.TotalAmount == nil {
		return in, fail(CodeMissingField, "total_amount is required")
	}
	if q.PayGdsAmt == nil {
		return in, fail(CodeMissingField, "pay_gds_amt is required")
	}
	idType := strings.TrimSpace(q.IDType)
	switch idType {
	case "":
		idType = baoguan.IDTypeIDCard
	case baoguan.IDTypeIDCard, baoguan.IDTypeOther:
	default:
		return in, fail(CodeBadField, "id_type must be IDCARD or OTHER, got "+q.IDType)
	}
	switch q.OperateType {
	case "", "ADD":
	case "MOD":
		in.Modify = true
	default:
		return in, fail(CodeBadField, "operate_type must be ADD or MOD, got "+q.OperateType)
	}
	if t, err := time.ParseInLocation("20060102150405", q.TxnTime, cst); err != nil || len(q.TxnTime) != 14 || t.IsZero() {
		return in, fail(CodeBadField, "txn_time must be yyyyMMddHHmmss, got "+q.TxnTime)
	}
	split := false
	switch q.SubOrderFlag {
	case "", "N":
	case "Y":
		split = true
	default:
		return in, fail(CodeBadField, "sub_order_flag must be Y for a split push, or absent, got "+q.SubOrderFlag)
	}
	strategy := q.AuthCheckStrategy
	switch strategy {
	case "":
		strategy = baoguan.StrategyDiffPush
	case baoguan.StrategyDiffPush, baoguan.StrategyDiffReject:
	default:
		return in, fail(CodeBadField, "auth_check_strategy must be DIFF_PUSH or DIFF_REJECT, got "+strategy)
	}
	amount := func(name string, y *yuan) (int64, error) {
		if y == nil {
			return 0, nil // the document's default for fees and tax
		}
		v, err := baoguan.ParseYuan(name, y.text)
		if err != nil {
			return 0, fail(CodeBadField, baoguan.ErrorMessage(err))
		}
		if v < 0 {
			return 0, fail(CodeBadField, name+" must not be negative")
		}
		return v, nil
	}
	total, err := amount("total_amount", q.TotalAmount)
	if err != nil {
		return in, err
	}
	if total == 0 {
		return in, fail(CodeBadField, "total_amount must be positive")
	}
	fee, err := amount("pay_fee_amount", q.PayFeeAmount)
	if err != nil {
		return in, err
	}
	goods, err := amount("pay_gds_amt", q.PayGdsAmt)
	if err != nil {
		return in, err
	}
	tax, err := amount("pay_tax_amt", q.PayTaxAmt)
	if err != nil {
		return in, err
	}
	extras, err := parseExtendInfo(q.ExtendInfo)
	if err != nil {
		return in, err
	}

	in.No = q.TxnSeqno
	in.OrderNo = q.OrgTxnSeqno
	in.NotifyURL = q.NotifyURL
	in.Payer = baoguan.Payer{Name: strings.TrimSpace(q.UserName), IDType: idType, IDNumber: strings.TrimSpace(q.IDNo), Phone: strings.TrimSpace(q.Phone)}
	// The tax is in what was paid: the core declares it inside product_fee
	// (DutyIncluded) and, separately, as duty, and refuses a total that is
	// not fee + goods + tax.
	in.Spec = baoguan.DeclarationSpec{Customs: strings.TrimSpace(q.CustomCode), Extras: extras,
		MerchantCustomsNo: q.PlatformCode, OrderFee: total, TransportFee: fee, ProductFee: goods, Duty: tax, DutyIncluded: true,
		Strategy: strategy, Split: true}
	if split {
		in.Spec.SubOrderNo = q.TxnSeqno
	}
	in.Content, err = json.Marshal(pushContent{UserName: in.Payer.Name, IDType: idType, IDNo: in.Payer.IDNumber, Phone: in.Payer.Phone,
		TxnSeqno: q.TxnSeqno, OrgTxnSeqno: q.OrgTxnSeqno, TxnTime: q.TxnTime, Total: total, Fee: fee, Goods: goods, Tax: tax,
		PlatformCode: q.PlatformCode, PlatformName: q.PlatformName, Custom: in.Spec.Customs, NotifyURL: q.NotifyURL,
		Split: split, Extras: extras, Strategy: strategy})
	return in, err
}

// parseExtendInfo reads the port extras from extend_info: a JSON object,
// usually sent as a string holding one. Both snake_case (baoguan's names)
// and camelCase (payzero's) keys are read; other keys are ignored, since
// they are for ports baoguan does not route to.
func parseExtendInfo(raw json.RawMessage) (baoguan.CustomsExtras, error) {
	var x baoguan.CustomsExtras
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return x, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return x, fail(CodeBadExtendInfo, "extend_info must be a JSON string holding a JSON object")
		}
		if strings.TrimSpace(s) == "" {
			return x, nil
		}
		raw = []byte(s)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return x, fail(CodeBadExtendInfo, "extend_info must hold a JSON object, e.g. {\"customs_area_code\":\"5141\"}")
	}
	get := func(keys ...string) (string, error) {
		for _, k := range keys {
			switch v := m[k].(type) {
			case nil:
			case string:
				return strings.TrimSpace(v), nil
			case float64:
				return fmt.Sprint(v), nil
			default:
				return "", fail(CodeBadExtendInfo, "extend_info."+k+" must be a string")
			}
		}
		return "", nil
	}
	var err error
	if x.AreaCode, err = get("customs_area_code", "customsAreaCode"); err != nil {
		return x, err
	}
	if x.JyOrg, err = get("customs_jy_org", "customsJyOrg"); err != nil {
		return x, err
	}
	if x.InType, err = get("customs_in_type", "customsInType"); err != nil {
		return x, err
	}
	return x, nil
}

// handleApply serves POST …/v1/cbpayment/apply-pushpay.
func (s *Server) handleApply(w http.ResponseWriter, r *http.Request) {
	req, err := s.authenticate(w, r)
	if err != nil {
		s.writeError(w, r, req.echo, err)
		return
	}
	var q applyReq
	if err := decodeStrict(req.body, &q); err != nil {
		s.writeError(w, r, req.echo, err)
		return
	}
	in, err := q.translate()
	if err != nil {
		s.writeError(w, r, req.echo, err)
		return
	}
	in.Protocol = Protocol
	m := req.merchant
	in.Reply = func(p core.DeclarationPush) ([]byte, error) {
		out := reply{RetCode: CodeOK, RetMsg: "受理成功"}
		d := p.Declaration
		pushFacts(&out, m, p.No, p.Order, &d)
		return marshal(out)
	}
	res, err := s.svc.PushDeclaration(r.Context(), m, in)
	if err != nil {
		s.writeError(w, r, req.echo, err)
		return
	}
	s.write(w, http.StatusOK, res.Reply)
}

// handleQuery serves POST …/v1/cbpayment/query-pushpay: the push as it
// stands now, in the apply reply's fields.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	req, err := s.authenticate(w, r)
	if err != nil {
		s.writeError(w, r, req.echo, err)
		return
	}
	var q queryReq
	if err := decodeStrict(req.body, &q); err != nil {
		s.writeError(w, r, req.echo, err)
		return
	}
	if strings.TrimSpace(q.TxnSeqno) == "" {
		s.writeError(w, r, req.echo, fail(CodeMissingField, "txn_seqno is required"))
		return
	}
	v, err := s.svc.DeclarationPushByNo(r.Context(), req.merchant, Protocol, q.TxnSeqno)
	if err != nil {
		s.writeError(w, r, req.echo, err)
		return
	}
	out := reply{RetCode: CodeOK, RetMsg: "查询成功"}
	pushFacts(&out, req.merchant, v.No, v.Order, &v.Declaration)
	b, err := marshal(out)
	if err != nil {
		s.writeError(w, r, req.echo, err)
		return
	}
	s.write(w, http.StatusOK, b)
}

// handleNoRoute answers paths under the prefix that are not ACCP routes.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	b, _ := marshal(reply{RetCode: CodeNoSuchAPI, RetMsg: "no such API: " + r.Method + " " + r.URL.Path})
	s.write(w, http.StatusNotFound, b)
}
