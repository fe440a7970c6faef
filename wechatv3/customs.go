package wechatv3

import (
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// feeTypeCNY is the only fee_type WeChat's customs API knows.
const feeTypeCNY = "CNY"

// cst is the zone WeChat writes times in (RFC 3339, +08:00).
var cst = time.FixedZone("CST", 8*60*60)

func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(cst).Format(time.RFC3339)
}

// wireState maps the core's declaration state to WeChat's: PENDING (queued
// inside baoguan) is WeChat's SUBMITTED, "submitted, not declared yet";
// a declaration handed to the port is being declared, PROCESSING.
func wireState(s baoguan.DeclState) string {
	switch s {
	case baoguan.DeclPending:
		return "SUBMITTED"
	case baoguan.DeclSubmitted, baoguan.DeclProcessing:
		return "PROCESSING"
	}
	return string(s)
}

// verifyDepartment maps a payment's verification department code (customs
// 1/2/3) to WeChat's names.
func verifyDepartment(code string) string {
	switch code {
	case "1":
		return "UNIONPAY"
	case "2":
		return "NETSUNION"
	case "3":
		return "OTHERS"
	}
	return ""
}

// ident are the parameters every customs call starts with.
type ident struct {
	AppID         string `json:"appid"`
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
}

// check validates the identification: appid is echoed (baoguan keeps no
// WeChat app ids), mchid must be the authenticated one, and the order is
// named by out_trade_no, transaction_id or both.
func (id *ident) check(c *call, loc location, needOrder bool) error {
	if err := need(loc, "appid", id.AppID, 32); err != nil {
		return err
	}
	if err := need(loc, "mchid", id.MchID, 32); err != nil {
		return err
	}
	if id.MchID != c.mchid {
		return paramError(loc, "mchid", id.MchID, "mchid "+id.MchID+" is not the mchid of the Authorization header ("+c.mchid+")")
	}
	if needOrder && id.OutTradeNo == "" && id.TransactionID == "" {
		return paramError(loc, "out_trade_no", "", "out_trade_no or transaction_id is required")
	}
	return nil
}

func (id *ident) ref() core.OrderRef {
	return core.OrderRef{No: id.OutTradeNo, PaymentNo: id.TransactionID}
}

// need checks a required text parameter of at most max characters.
func need(loc location, name, v string, max int) error {
	if strings.TrimSpace(v) == "" {
		return paramError(loc, name, v, name+" is required")
	}
	if utf8.RuneCountInString(v) > max {
		return paramError(loc, name, v, name+" is longer than "+strconv.Itoa(max)+" characters")
	}
	return nil
}

// wechatCustoms checks that code is a WeChat customs code of the catalogue.
func wechatCustoms(loc location, code string) (string, error) {
	if strings.TrimSpace(code) == "" {
		return "", paramError(loc, "customs", code, "customs is required")
	}
	e, err := baoguan.LookupCustoms(code)
	if err != nil || !e.In(baoguan.SchemeWeChat) {
		return "", paramError(loc, "customs", code, "customs "+code+" is not a WeChat Pay customs code (e.g. SHANGHAI_ZS, GUANGZHOU_ZS, HANGZHOU_ZS, NINGBO)")
	}
	return e.Code, nil
}

// declarationReply is what declare, modify and redeclare answer.
type declarationReply struct {
	AppID                   string `json:"appid"`
	MchID                   string `json:"mchid"`
	OutTradeNo              string `json:"out_trade_no"`
	TransactionID           string `json:"transaction_id"`
	Customs                 string `json:"customs"`
	MerchantCustomsNo       string `json:"merchant_customs_no"`
	Duty                    int64  `json:"duty"`
	SubOrderNo              string `json:"sub_order_no,omitempty"`
	SubOrderID              string `json:"sub_order_id"`
	FeeType                 string `json:"fee_type"`
	OrderFee                int64  `json:"order_fee"`
	TransportFee            int64  `json:"transport_fee"`
	ProductFee              int64  `json:"product_fee"`
	State                   string `json:"state"`
	Explanation             string `json:"explanation,omitempty"`
	ModifyTime              string `json:"modify_time"`
	VerifyDepartment        string `json:"verify_department,omitempty"`
	VerifyDepartmentTradeID string `json:"verify_department_trade_id,omitempty"`
}

func replyOf(id ident, o *baoguan.Order, d *baoguan.Declaration) declarationReply {
	return declarationReply{AppID: id.AppID, MchID: id.MchID, OutTradeNo: o.MerchantOrderNo, TransactionID: o.Payment.No,
		Customs: d.Customs, MerchantCustomsNo: d.MerchantCustomsNo, Duty: d.Duty, SubOrderNo: d.SubOrderNo,
		SubOrderID: d.SubOrderID, FeeType: feeTypeCNY, OrderFee: d.OrderFee, TransportFee: d.TransportFee,
		ProductFee: d.ProductFee, State: wireState(d.State), Explanation: d.Explanation, ModifyTime: wireTime(d.ModifiedAt),
		VerifyDepartment: d.VerifyDepartment, VerifyDepartmentTradeID: d.VerifyDepartmentTradeID}
}

type declareReq struct {
	ident
	Customs           string `json:"customs"`
	MerchantCustomsNo string `json:"merchant_customs_no"`
	Duty              *int64 `json:"duty"`
	SubOrderNo        string `json:"sub_order_no"`
	FeeType           string `json:"fee_type"`
	OrderFee          *int64 `json:"order_fee"`
	TransportFee      *int64 `json:"transport_fee"`
	ProductFee        *int64 `json:"product_fee"`
}

// handleDeclare is POST …/customs/orders: declare a paid order to one
// customs code, whole or as one sub-order of a split. A repeat of the same
// request answers the existing declaration.
func (s *Server) handleDeclare(ctx context.Context, c *call) (any, error) {
	var req declareReq
	if err := decodeBody(c, &req, "unknown parameter"); err != nil {
		return nil, err
	}
	if err := req.check(c, locBody, true); err != nil {
		return nil, err
	}
	customs, err := wechatCustoms(locBody, req.Customs)
	if err != nil {
		return nil, err
	}
	if err := need(locBody, "merchant_customs_no", req.MerchantCustomsNo, 32); err != nil {
		return nil, err
	}
	if req.FeeType != "" && req.FeeType != feeTypeCNY {
		return nil, paramError(locBody, "fee_type", req.FeeType, "fee_type must be CNY")
	}
	if req.SubOrderNo != "" {
		// A split order declares a part: WeChat requires its fees.
		for _, f := range []struct {
			name string
			set  bool
		}{{"fee_type", req.FeeType != ""}, {"order_fee", req.OrderFee != nil},
			{"transport_fee", req.TransportFee != nil}, {"product_fee", req.ProductFee != nil}} {
			if !f.set {
				return nil, paramError(locBody, f.name, "", f.name+" is required when sub_order_no is given")
			}
		}
	}
	spec := baoguan.DeclarationSpec{Customs: customs, SubOrderNo: req.SubOrderNo, MerchantCustomsNo: req.MerchantCustomsNo,
		Duty: deref(req.Duty), OrderFee: deref(req.OrderFee), TransportFee: deref(req.TransportFee), ProductFee: deref(req.ProductFee),
		Split: req.OrderFee != nil || req.TransportFee != nil || req.ProductFee != nil}
	o, d, _, err := s.svc.DeclareTarget(ctx, c.m, req.ref(), spec)
	if err != nil {
		return nil, err
	}
	return replyOf(req.ident, o, d), nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// queryItem is one record of the query's data array, named as the seed
// names them (mch_customs_no, not merchant_customs_no).
type queryItem struct {
	SubOrderNo   string `json:"sub_order_no,omitempty"`
	SubOrderID   string `json:"sub_order_id"`
	MchCustomsNo string `json:"mch_customs_no"`
	Customs      string `json:"customs"`
	FeeType      string `json:"fee_type"`
	OrderFee     int64  `json:"order_fee"`
	Duty         int64  `json:"duty"`
	TransportFee int64  `json:"transport_fee"`
	ProductFee   int64  `json:"product_fee"`
	State        string `json:"state"`
	Explanation  string `json:"explanation,omitempty"`
	ModifyTime   string `json:"modify_time"`
}

type queryReply struct {
	AppID                   string      `json:"appid"`
	MchID                   string      `json:"mchid"`
	TransactionID           string      `json:"transaction_id"`
	VerifyDepartment        string      `json:"verify_department,omitempty"`
	VerifyDepartmentTradeID string      `json:"verify_department_trade_id,omitempty"`
	Offset                  int         `json:"offset"`
	Limit                   int         `json:"limit"`
	TotalCount              int         `json:"total_count"`
	Data                    []queryItem `json:"data"`
}

// handleQuery is GET …/customs/orders: the declarations of an order (or of
// a sub-order) to one customs code, a page at a time.
func (s *Server) handleQuery(ctx context.Context, c *call) (any, error) {
	q := c.r.URL.Query()
	id := ident{AppID: q.Get("appid"), MchID: q.Get("mchid")}
	if err := id.check(c, locQuery, false); err != nil {
		return nil, err
	}
	orderType, orderNo := q.Get("order_type"), q.Get("order_no")
	if err := need(locQuery, "order_no", orderNo, 64); err != nil {
		return nil, err
	}
	customs, err := wechatCustoms(locQuery, q.Get("customs"))
	if err != nil {
		return nil, err
	}
	dq := core.DeclarationQuery{Customs: customs}
	switch orderType {
	case "out_trade_no":
		dq.Order.No = orderNo
	case "transaction_id":
		dq.Order.PaymentNo = orderNo
	case "sub_order_no":
		dq.SubOrderNo = orderNo
	case "sub_order_id":
		dq.SubOrderID = orderNo
	default:
		return nil, paramError(locQuery, "order_type", orderType, "order_type must be out_trade_no, transaction_id, sub_order_no or sub_order_id")
	}
	offset, err := queryInt(c, "offset", 0, 0, 1<<30)
	if err != nil {
		return nil, err
	}
	limit, err := queryInt(c, "limit", 20, 1, 100)
	if err != nil {
		return nil, err
	}
	ms, err := s.svc.FindDeclarations(ctx, c.m, dq)
	if err != nil {
		return nil, err
	}
	out := queryReply{AppID: id.AppID, MchID: id.MchID, TransactionID: ms[0].Order.Payment.No,
		Offset: offset, Limit: limit, TotalCount: len(ms), Data: []queryItem{}}
	for _, m := range ms {
		if d := m.Declaration; d.VerifyDepartment != "" && out.VerifyDepartment == "" {
			out.VerifyDepartment, out.VerifyDepartmentTradeID = d.VerifyDepartment, d.VerifyDepartmentTradeID
		}
	}
	if out.VerifyDepartment == "" {
		out.VerifyDepartment = verifyDepartment(ms[0].Order.Payment.VerDept)
	}
	for i := offset; i < len(ms) && i < offset+limit; i++ {
		d := &ms[i].Declaration
		out.Data = append(out.Data, queryItem{SubOrderNo: d.SubOrderNo, SubOrderID: d.SubOrderID, MchCustomsNo: d.MerchantCustomsNo,
			Customs: d.Customs, FeeType: feeTypeCNY, OrderFee: d.OrderFee, Duty: d.Duty, TransportFee: d.TransportFee,
			ProductFee: d.ProductFee, State: wireState(d.State), Explanation: d.Explanation, ModifyTime: wireTime(d.ModifiedAt)})
	}
	return out, nil
}

type modifyReq struct {
	ident
	Customs           string  `json:"customs"`
	SubOrderNo        string  `json:"sub_order_no"`
	SubOrderID        string  `json:"sub_order_id"`
	FeeType           string  `json:"fee_type"`
	MerchantCustomsNo *string `json:"merchant_customs_no"`
	Duty              *int64  `json:"duty"`
	OrderFee          *int64  `json:"order_fee"`
	TransportFee      *int64  `json:"transport_fee"`
	ProductFee        *int64  `json:"product_fee"`
}

// handleModify is PATCH …/customs/orders: change what WeChat lets change
// (merchant_customs_no, duty and the fees) and declare again. Any other
// parameter is refused by name.
func (s *Server) handleModify(ctx context.Context, c *call) (any, error) {
	var req modifyReq
	if err := decodeBody(c, &req, "this parameter cannot be modified: only merchant_customs_no, duty, order_fee, transport_fee and product_fee can"); err != nil {
		return nil, err
	}
	if err := req.check(c, locBody, true); err != nil {
		return nil, err
	}
	customs, err := wechatCustoms(locBody, req.Customs)
	if err != nil {
		return nil, err
	}
	if req.FeeType != "" && req.FeeType != feeTypeCNY {
		return nil, paramError(locBody, "fee_type", req.FeeType, "fee_type must be CNY and cannot be modified")
	}
	if req.MerchantCustomsNo != nil {
		if err := need(locBody, "merchant_customs_no", *req.MerchantCustomsNo, 32); err != nil {
			return nil, err
		}
	}
	t := core.DeclarationTarget{Order: req.ref(), Customs: customs, SubOrderNo: req.SubOrderNo, SubOrderID: req.SubOrderID}
	o, d, err := s.svc.ModifyDeclaration(ctx, c.m, t, core.DeclarationChange{MerchantCustomsNo: req.MerchantCustomsNo,
		Duty: req.Duty, OrderFee: req.OrderFee, TransportFee: req.TransportFee, ProductFee: req.ProductFee})
	if err != nil {
		return nil, err
	}
	return replyOf(req.ident, o, d), nil
}

type redeclareReq struct {
	ident
	Customs           string `json:"customs"`
	SubOrderNo        string `json:"sub_order_no"`
	SubOrderID        string `json:"sub_order_id"`
	MerchantCustomsNo string `json:"merchant_customs_no"`
}

// handleRedeclare is POST …/customs/redeclare: send a declaration that
// succeeded or met a customs exception again, unchanged.
func (s *Server) handleRedeclare(ctx context.Context, c *call) (any, error) {
	var req redeclareReq
	if err := decodeBody(c, &req, "unknown parameter"); err != nil {
		return nil, err
	}
	if err := req.check(c, locBody, true); err != nil {
		return nil, err
	}
	customs, err := wechatCustoms(locBody, req.Customs)
	if err != nil {
		return nil, err
	}
	t := core.DeclarationTarget{Order: req.ref(), Customs: customs, SubOrderNo: req.SubOrderNo, SubOrderID: req.SubOrderID}
	o, d, err := s.svc.Redeclare(ctx, c.m, t, req.MerchantCustomsNo)
	if err != nil {
		return nil, err
	}
	return replyOf(req.ident, o, d), nil
}

type verifyReq struct {
	ident
	SubOrderNo        string `json:"sub_order_no"`
	Customs           string `json:"customs"`
	MerchantCustomsNo string `json:"merchant_customs_no"`
	CertificateType   string `json:"certificate_type"`
	CertificateID     string `json:"certificate_id"`
	CertificateName   string `json:"certificate_name"`
}

type verifyReply struct {
	AppID                  string `json:"appid"`
	MchID                  string `json:"mchid"`
	OutTradeNo             string `json:"out_trade_no"`
	TransactionID          string `json:"transaction_id"`
	SubOrderNo             string `json:"sub_order_no,omitempty"`
	SubOrderID             string `json:"sub_order_id"`
	Customs                string `json:"customs"`
	MerchantCustomsNo      string `json:"merchant_customs_no"`
	CertificateCheckResult string `json:"certificate_check_result"`
}

// handleVerifyCertificate is POST …/customs/verify-certificate: does the
// identity the merchant holds match the payer on record? The certificate
// fields arrive encrypted to the platform certificate the Wechatpay-Serial
// header names.
func (s *Server) handleVerifyCertificate(ctx context.Context, c *call) (any, error) {
	var req verifyReq
	if err := decodeBody(c, &req, "unknown parameter"); err != nil {
		return nil, err
	}
	serial := c.r.Header.Get("Wechatpay-Serial")
	if serial == "" {
		return nil, paramError(locHeader, "Wechatpay-Serial", "", "Wechatpay-Serial is required: the serial of the platform certificate the certificate fields are encrypted to")
	}
	if normSerial(serial) != normSerial(s.serial) {
		return nil, paramError(locHeader, "Wechatpay-Serial", serial, "Wechatpay-Serial "+serial+" is not baoguan's platform certificate ("+s.serial+"); download the current one from /v3/certificates")
	}
	if err := req.check(c, locBody, true); err != nil {
		return nil, err
	}
	customs, err := wechatCustoms(locBody, req.Customs)
	if err != nil {
		return nil, err
	}
	if req.CertificateType != baoguan.IDTypeIDCard {
		return nil, paramError(locBody, "certificate_type", req.CertificateType, "certificate_type must be IDCARD")
	}
	id, name, err := s.decryptIdentity(req.CertificateID, req.CertificateName)
	if err != nil {
		return nil, err
	}
	t := core.DeclarationTarget{Order: req.ref(), Customs: customs, SubOrderNo: req.SubOrderNo}
	o, d, result, err := s.svc.CheckPayer(ctx, c.m, t, baoguan.Payer{Name: name, IDType: baoguan.IDTypeIDCard, IDNumber: id})
	if err != nil {
		return nil, err
	}
	return verifyReply{AppID: req.AppID, MchID: req.MchID, OutTradeNo: o.MerchantOrderNo, TransactionID: o.Payment.No,
		SubOrderNo: d.SubOrderNo, SubOrderID: d.SubOrderID, Customs: d.Customs, MerchantCustomsNo: d.MerchantCustomsNo,
		CertificateCheckResult: result}, nil
}

// errIdentityFields is the one answer to every failure of reading the
// encrypted certificate fields: missing, not base64, not decryptable with
// the platform key, or decrypted into something that is not an ID number
// or a name. A distinct answer for "cannot decrypt" (as baoguan gave
// before) would make verify-certificate a padding oracle on the platform
// key: with PKCS #1 v1.5, telling well-padded ciphertexts from others is
// what Bleichenbacher's attack needs to decrypt any captured field, one
// query at a time. So the caller learns only that the pair was unusable.
var errIdentityFields = paramError(locBody, "", "",
	"certificate_id and certificate_name must be the payer's ID number and name, each encrypted to the platform certificate "+
		"(RSAES-PKCS1-v1_5 as the document prescribes, or RSAES-OAEP with SHA-1 as WeChat's SDKs do) and base64-encoded")

// decryptIdentity opens the two certificate fields and checks what they
// hold. Both fields are always decrypted both ways, whatever fails first,
// and the checks run on whatever came out, so that neither the answer nor
// its timing depends on which step failed (see errIdentityFields). The
// seed prescribes RSAES-PKCS1-v1_5, so that scheme cannot be dropped;
// crypto/rsa's PKCS #1 v1.5 decryption checks the padding in constant
// time, and its result is only combined with the others at the end.
func (s *Server) decryptIdentity(idField, nameField string) (id, name string, err error) {
	idPT, idOK := s.decrypt(idField)
	namePT, nameOK := s.decrypt(nameField)
	id, name = strings.TrimSpace(string(idPT)), strings.TrimSpace(string(namePT))
	idValid := baoguan.CheckIDFormat("certificate_id", baoguan.IDTypeIDCard, id) == nil
	// A name is 1-64 characters of text (CheckText); random bytes that
	// happen to be well padded almost never are.
	nameValid := name != "" && utf8.RuneCountInString(name) <= 64 && baoguan.CheckText("certificate_name", name) == nil
	if !(idOK && nameOK && idValid && nameValid) {
		return "", "", errIdentityFields
	}
	return id, name, nil
}

// decrypt opens one field encrypted to the platform certificate, trying
// RSAES-OAEP (SHA-1) and RSAES-PKCS1-v1_5 both, always. OAEP's padding
// check cannot pass by chance on a PKCS #1 v1.5 ciphertext, while the
// reverse can (about once in 256), so OAEP's result wins when both open.
func (s *Server) decrypt(b64 string) ([]byte, bool) {
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(ct) == 0 {
		// Still spend the decryptions, on a block of zeros: the answer
		// must not come sooner for a malformed field.
		ct = make([]byte, s.key.Private.Size())
	}
	oaep, oerr := rsa.DecryptOAEP(sha1.New(), nil, s.key.Private, ct, nil)
	v15, verr := rsa.DecryptPKCS1v15(nil, s.key.Private, ct) // the seed prescribes PKCS #1 v1.5: see decryptIdentity
	switch {
	case err != nil || b64 == "":
		return nil, false
	case oerr == nil:
		return oaep, true
	case verr == nil:
		return v15, true
	}
	return nil, false
}
