// Package wechatpay declares payment records to customs through WeChat
// Pay's customs APIs, with the merchant's own WeChat Pay credentials: the
// APIv3 family (POST/GET/PATCH /v3/global/customs/orders and
// /v3/global/customs/redeclare, JSON, WECHATPAY2-SHA256-RSA2048 signatures
// both ways through the official wechatpay-go SDK) and the older v2 family
// (cgi-bin/mch/customs/customdeclareorder, customdeclarequery and
// newcustoms/customdeclareredeclare, XML signed with the API key), which is
// what mainland-registered merchants use.
//
// V2Client and V3Client speak one API each and answer with a Record, the
// wallet's view of one customs record, or a classified *upstream.Error.
// Port implements baoguan.CustomsPort on top of either, choosing per
// merchant from the credentials it is given. docs/live.md has the facts of
// both APIs this package relies on, with their sources.
package wechatpay

import (
	"context"
	"strings"

	"github.com/baoguan/baoguan"
)

// Production hosts. The v3 customs API is served by WeChat Pay's Hong Kong
// host (the documents' "apihk"); the v2 customs API by the mainland host.
const (
	DefaultV3BaseURL = "https://apihk.mch.weixin.qq.com"
	DefaultV2BaseURL = "https://api.mch.weixin.qq.com"
)

// Service names in call records and errors.
const (
	ServiceV2 = "wechatpay.v2"
	ServiceV3 = "wechatpay.v3"
)

// Operations, as recorded.
const (
	OpDeclare   = "declare"
	OpQuery     = "query"
	OpModify    = "modify"
	OpRedeclare = "redeclare"
)

// WeChat's declaration states (the query's state field). UNDECLARED is what
// WeChat answers right after accepting a record; SUBMITTED is a record
// changed (modified or pushed again) and not yet declared.
const (
	StateUndeclared = "UNDECLARED"
	StateSubmitted  = "SUBMITTED"
	StateProcessing = "PROCESSING"
	StateSuccess    = "SUCCESS"
	StateFail       = "FAIL"
	StateExcept     = "EXCEPT"
)

// Identity-check results (v2 cert_check_result).
const (
	CertUnchecked = "UNCHECKED"
	CertSame      = "SAME"
	CertDifferent = "DIFFERENT"
)

// feeTypeCNY is the only fee_type WeChat's customs APIs know.
const feeTypeCNY = "CNY"

// Registration is a merchant's customs registration for one customs code:
// the number (mch_customs_no / merchant_customs_no) and the name, as
// recorded with customs and entered on WeChat Pay's merchant platform.
type Registration struct {
	No   string
	Name string
}

// V2Credentials are what the v2 API needs: the app id and merchant id
// WeChat issued and the API key (32 characters, set on the merchant
// platform) that signs requests and answers.
type V2Credentials struct {
	AppID  string
	MchID  string
	APIKey string
	// SignType is "MD5" (the default, and the only type WeChat's customs
	// pages name) or "HMAC-SHA256".
	SignType string
}

// Modes of a v3 merchant account (the documents' "Applicable object").
const (
	ModeDirect      = "direct"      // the merchant's own account (普通模式 / 直连模式)
	ModeInstitution = "institution" // an institution declares for its merchant (机构模式)
)

// V3Credentials are what the APIv3 family needs. The merchant signs with
// its API certificate's private key; answers are verified with WeChat Pay's
// public key, or with platform certificates (given, or downloaded and
// decrypted with the APIv3 key). One of the three must be present: baoguan
// never reads an unverified answer.
type V3Credentials struct {
	Mode  string // ModeDirect (default) or ModeInstitution
	AppID string // appid in the request body (the institution's app id in institution mode)
	MchID string // mchid in the request body
	// SignerMchID is the merchant id of the certificate that signs the
	// Authorization header; empty means MchID. In institution mode it is
	// the institution's.
	SignerMchID   string
	CertSerial    string // serial number of the merchant API certificate
	PrivateKeyPEM string // the certificate's private key (PKCS #8 or PKCS #1 PEM)
	APIv3Key      string // 32 bytes; decrypts downloaded platform certificates

	// WeChat Pay public key (the newer verification method): its id, as
	// sent in Wechatpay-Serial, and the PEM.
	PublicKeyID  string
	PublicKeyPEM string
	// PlatformCertPEMs pins platform certificates instead of downloading them.
	PlatformCertPEMs []string
}

// signer returns the merchant id of the signing certificate.
func (c *V3Credentials) signer() string {
	if c.SignerMchID != "" {
		return c.SignerMchID
	}
	return c.MchID
}

// Credentials are one merchant's WeChat Pay credentials: v3, v2 or both
// (v3 is used when present), and its customs registrations by customs code.
type Credentials struct {
	V3            *V3Credentials
	V2            *V2Credentials
	Registrations map[string]Registration
}

// CredentialSource returns a merchant's WeChat Pay credentials. The port
// calls it for every declaration, so that rotated credentials take effect
// at once; core supplies it from its sealed store. It returns an error
// with code baoguan.ENOTFOUND when the merchant has none.
type CredentialSource func(ctx context.Context, m *baoguan.Merchant) (*Credentials, error)

// Declaration is one customs record as the clients send it. Fees are fen.
type Declaration struct {
	Ref               string // baoguan's id of the declaration, for call records only; never sent
	OutTradeNo        string
	TransactionID     string
	Customs           string
	MerchantCustomsNo string
	Duty              int64
	// SubOrderNo makes the record a part of a split order; its fees are
	// then sent. Without it WeChat declares the whole payment less refunds.
	SubOrderNo   string
	SubOrderID   string // WeChat's id of the sub-order, once known
	OrderFee     int64
	TransportFee int64
	ProductFee   int64
	// PayerName and PayerID are the declared payer (v2 only: cert_type
	// IDCARD, cert_id, name); WeChat compares them with the real payer.
	PayerName string
	PayerID   string
}

// Split reports whether the record is part of a split order.
func (d *Declaration) Split() bool { return d.SubOrderNo != "" }

// Record is WeChat's view of one customs record, as an answer shows it.
// Personal data in an answer (a query may return cert_id and name) is
// never copied into it.
type Record struct {
	State                   string
	Explanation             string
	TransactionID           string
	OutTradeNo              string
	SubOrderNo              string
	SubOrderID              string
	Customs                 string
	MerchantCustomsNo       string
	OrderFee                int64
	TransportFee            int64
	ProductFee              int64
	Duty                    int64
	ModifyTime              string
	CertCheckResult         string // UNCHECKED, SAME, DIFFERENT; v2 only
	VerifyDepartment        string // UNIONPAY, NETSUNION, OTHERS
	VerifyDepartmentTradeID string
}

// InFlight reports whether WeChat holds the record and has not answered
// for it yet: asking again later is all there is to do.
func (r *Record) InFlight() bool {
	switch r.State {
	case StateUndeclared, StateSubmitted, StateProcessing:
		return true
	}
	return false
}

// DeclState maps the record's state onto baoguan's declaration states.
func (r *Record) DeclState() baoguan.DeclState {
	switch r.State {
	case StateSuccess:
		return baoguan.DeclSuccess
	case StateFail:
		return baoguan.DeclFail
	case StateExcept:
		return baoguan.DeclExcept
	}
	return baoguan.DeclProcessing
}

// IdentityCheck maps cert_check_result onto baoguan's identity results.
func (r *Record) IdentityCheck() string {
	switch r.CertCheckResult {
	case CertSame:
		return baoguan.CheckSame
	case CertDifferent:
		return baoguan.CheckDifferent
	}
	return baoguan.CheckUnchecked
}

// matches reports whether the record is the one d names: same customs
// code and, for a split order, same sub-order.
func (r *Record) matches(d *Declaration) bool {
	return strings.EqualFold(r.Customs, d.Customs) && r.SubOrderNo == d.SubOrderNo
}

// differs reports whether declaring d would change what the record holds:
// the registration number, the duty or, for a split order, the fees.
func (r *Record) differs(d *Declaration) bool {
	if r.MerchantCustomsNo != "" && r.MerchantCustomsNo != d.MerchantCustomsNo || r.Duty != d.Duty {
		return true
	}
	if d.Split() {
		return r.OrderFee != d.OrderFee || r.TransportFee != d.TransportFee || r.ProductFee != d.ProductFee
	}
	return false
}

// schemeHas reports whether code is a WeChat Pay customs code of the
// catalogue.
func schemeHas(code string) bool {
	e, err := baoguan.LookupCustoms(code)
	return err == nil && e.In(baoguan.SchemeWeChat)
}
