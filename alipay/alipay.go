// Package alipay declares payment records to customs through Alipay's
// customs API on its MAPI gateway, with the merchant's own Alipay
// credentials: alipay.acquire.customs (declare, and declare again under
// the same out_request_no) and alipay.overseas.acquire.customs.query.
// Requests are form posts signed MD5 (with the partner key), RSA or RSA2
// (with the merchant's private key); answers are XML, signed the same
// way, and are verified before anything in them is used.
//
// Client speaks the API and answers with an Answer (declare) or a Record
// (query), or a classified *upstream.Error. Port implements
// baoguan.CustomsPort on top of it. docs/live.md has the facts this
// package relies on, with their sources, and marks what baoguan decided
// where Alipay's documents are silent.
package alipay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/baoguan/baoguan"
)

// DefaultGateway is Alipay's production MAPI gateway for cross-border
// merchants (global.alipay.com); mainland accounts use
// https://mapi.alipay.com/gateway.do.
const DefaultGateway = "https://intlmapi.alipay.com/gateway.do"

// Service is the service name in call records and errors.
const Service = "alipay"

// Operations, as recorded.
const (
	OpDeclare = "declare"
	OpQuery   = "query"
)

// MAPI service names.
const (
	serviceDeclare = "alipay.acquire.customs"
	serviceQuery   = "alipay.overseas.acquire.customs.query"
)

// Sign types.
const (
	SignMD5  = "MD5"
	SignRSA  = "RSA"  // SHA1withRSA
	SignRSA2 = "RSA2" // SHA256withRSA
)

// Record statuses (the query's status field).
const (
	StatusWaiting = "ws"      // waiting to be sent to customs
	StatusSending = "sending" // sent, customs has not answered
	StatusSucc    = "succ"    // customs accepted it
	StatusFail    = "fail"    // customs refused it
)

// Registration is a merchant's customs registration for one customs code:
// merchant_customs_code and merchant_customs_name.
type Registration struct {
	No   string
	Name string
}

// Credentials are one merchant's Alipay credentials: the partner id
// (2088 and 12 more digits), the sign type and its key material, and its
// customs registrations by customs code.
type Credentials struct {
	Partner  string
	SignType string // SignMD5, SignRSA or SignRSA2 (default RSA2)
	MD5Key   string // MD5: the partner key, 32 characters
	// RSA and RSA2: the merchant's private key (PKCS #8 or PKCS #1 PEM),
	// whose public key is registered with Alipay, and Alipay's public key,
	// which verifies answers.
	PrivateKeyPEM      string
	AlipayPublicKeyPEM string
	Registrations      map[string]Registration
}

func (c *Credentials) signType() string {
	if c.SignType == "" {
		return SignRSA2
	}
	return strings.ToUpper(c.SignType)
}

// CredentialSource returns a merchant's Alipay credentials. The port calls
// it for every declaration; core supplies it from its sealed store. It
// returns an error with code baoguan.ENOTFOUND when the merchant has none.
type CredentialSource func(ctx context.Context, m *baoguan.Merchant) (*Credentials, error)

// Declaration is one declaration as the client sends it.
type Declaration struct {
	Ref                 string // baoguan's id of the declaration, for call records only; never sent
	OutRequestNo        string // 6–32 of [0-9A-Za-z_-:], stable for the declaration
	TradeNo             string
	Amount              int64 // fen; sent as yuan with two decimals
	CustomsPlace        string
	MerchantCustomsCode string
	MerchantCustomsName string
	SubOutBizNo         string // a split order's part: is_split=T
	BuyerName           string
	BuyerIDNo           string
}

// Split reports whether the declaration is a part of a split order.
func (d *Declaration) Split() bool { return d.SubOutBizNo != "" }

// Answer is what alipay.acquire.customs answers when Alipay accepts a
// declaration.
type Answer struct {
	OutRequestNo    string
	TradeNo         string
	AlipayDeclareNo string
	// IdentityCheck is T when the buyer declared is the payer, F when not,
	// and empty when Alipay did not check (it checks a declaration once;
	// repeats carry no result).
	IdentityCheck string
}

// IdentityResult maps identity_check onto baoguan's identity results.
func (a *Answer) IdentityResult() string {
	switch strings.ToUpper(a.IdentityCheck) {
	case "T":
		return baoguan.CheckSame
	case "F":
		return baoguan.CheckDifferent
	}
	return baoguan.CheckUnchecked
}

// Record is one declaration as alipay.overseas.acquire.customs.query
// shows it.
type Record struct {
	OutRequestNo        string
	AlipayDeclareNo     string
	TradeNo             string
	Amount              string // yuan, as Alipay writes it
	CustomsPlace        string
	MerchantCustomsCode string
	MerchantCustomsName string
	Status              string // ws, sending, succ, fail
	CustomsResultCode   string // customs' receipt code (ZONGSHU only): 2, 3, 4, 100, 399, or negative
	CustomsResultInfo   string
	CustomsReturnTime   string // yyyyMMddHHmmss
	IsSplit             string
	SubOutBizNo         string
	LastModifiedTime    string
	Memo                string
}

// DeclState maps the record onto baoguan's declaration states:
//   - ws, sending: PROCESSING (customs has not answered);
//   - succ: SUCCESS, unless customs' receipt code says otherwise: 100
//     (海关退单) or a negative code (an error receipt) is FAIL, 4 (发送海关
//     失败, sending to customs failed) is EXCEPT;
//   - fail: FAIL.
func (r *Record) DeclState() baoguan.DeclState {
	switch strings.ToLower(r.Status) {
	case StatusWaiting, StatusSending, "":
		return baoguan.DeclProcessing
	case StatusFail:
		return baoguan.DeclFail
	}
	switch c := strings.TrimSpace(r.CustomsResultCode); {
	case c == "100" || strings.HasPrefix(c, "-"):
		return baoguan.DeclFail
	case c == "4":
		return baoguan.DeclExcept
	}
	return baoguan.DeclSuccess
}

// Explanation is the text a FAIL or EXCEPT record carries.
func (r *Record) Explanation() string {
	for _, s := range []string{r.CustomsResultInfo, r.Memo} {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	switch r.DeclState() {
	case baoguan.DeclFail:
		return "支付宝报关失败"
	case baoguan.DeclExcept:
		return "发送海关失败"
	}
	return ""
}

// OutRequestNo derives a declaration's out_request_no: its baoguan id when
// that fits Alipay's rule (6–32 of digits, letters, _ - :), else a digest of
// it. The same declaration always gets the same number, so that Alipay
// sees a repeat as the same declaration.
func OutRequestNo(d *baoguan.Declaration) string {
	id := d.SubOrderID
	if validRequestNo(id) {
		return id
	}
	sum := sha256.Sum256([]byte(d.Customs + "\x00" + id))
	return "BG" + hex.EncodeToString(sum[:])[:30]
}

func validRequestNo(s string) bool {
	if len(s) < 6 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}
