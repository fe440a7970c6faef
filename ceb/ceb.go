// Package ceb declares payment records straight to China customs through the
// China E-Port (中国电子口岸 / 单一窗口) message exchange, the way a licensed
// payment company does it itself instead of through a wallet:
//
//   - CEB411 (支付凭证数据报文) out: [Build] writes the 2022-05 统一版 payment
//     message for one declaration attempt, validated field by field against
//     the customs specification and schema, and [Outbox] hands it to the
//     operator's E-Port client as a file, atomically and exactly once.
//   - CEB412 (支付凭证回执报文) back: [ParseReceipt] reads receipts (and the
//     CEB900 format-check receipts about our messages), [Inbox] feeds them to
//     a sink and archives each file only after the sink took it, and
//     [PaymentReturn.Receipt] and [Decide] map returnStatus onto baoguan's
//     declaration states.
//   - 179 (GACC announcement 2018 No. 179, 支付相关原始数据实时获取): customs
//     asks for a payment's raw data ([ParseOpenReq], [OpenAnswer]); [PayExInfo]
//     builds the payExInfoStr and its sign string, and [Uploader] posts it.
//   - Signing is pluggable ([Signer]): [NoneSigner] when the E-Port client
//     signs with the company's IC card or UKey, [HTTPSigner] when a signing
//     service does.
//
// The package wraps the customs formats and the file exchange only. What it
// needs from the rest of baoguan comes in as plain structs ([Declaration],
// [Config]) built from root types ([FromDeclaration]); state changes are the
// caller's, made with what [Decide] says. docs/chinaport.md is the operator's
// guide and lists the specification facts used here, with their source.
//
// All times customs sees (appTime, payTime, returnTime, file names, 179
// tradingTime) are China Standard Time, UTC+8, whatever the server's zone.
package ceb

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// Namespace is the customs message namespace (targetNamespace of
// import-202205.xsd). Messages baoguan writes bind it to the prefix "ceb";
// receipts use it as the default namespace.
const Namespace = "http://www.chinaport.gov.cn/ceb"

// DSigNamespace is the W3C XML-DSig namespace of ds:Signature.
const DSigNamespace = "http://www.w3.org/2000/09/xmldsig#"

// ChinaTime is UTC+8 without daylight saving: customs' clock. A fixed zone
// rather than time.LoadLocation("Asia/Shanghai") so that no tz database is
// needed on the server.
var ChinaTime = time.FixedZone("CST", 8*3600)

// Currency is the customs currency code for CNY (币制 142); CEB411 and 179
// accept no other.
const Currency = "142"

// ReasonField is the error reason of every field check in this package: the
// error's Field names the customs field (payCode, payerIdNumber, …) or the
// configuration setting.
const ReasonField = "ceb_field"

// fieldErr is an EINVALID error naming a customs field.
func fieldErr(field, format string, args ...any) error {
	return baoguan.FieldError(field, format, args...).WithReason(ReasonField)
}

// textRule is a field's length rule from the specification ("C..60" is 1–60
// characters when the field is required). Lengths count characters, as the
// schema's xs:maxLength does.
type textRule struct {
	field    string
	min, max int // max 0 = unbounded
}

// check validates v against the rule. Control characters are refused
// everywhere: XML 1.0 cannot carry most of them and customs fields never
// need a line break.
func (r textRule) check(v string) error {
	if !utf8.ValidString(v) {
		return fieldErr(r.field, "%s is not valid UTF-8", r.field)
	}
	n := utf8.RuneCountInString(v)
	if n < r.min {
		if r.min == 1 {
			return fieldErr(r.field, "%s is required", r.field)
		}
		return fieldErr(r.field, "%s must have at least %d characters", r.field, r.min)
	}
	if r.max > 0 && n > r.max {
		return fieldErr(r.field, "%s is longer than %d characters", r.field, r.max)
	}
	if i := strings.IndexFunc(v, badRune); i >= 0 {
		return fieldErr(r.field, "%s contains a control character at byte %d", r.field, i)
	}
	return nil
}

// badRune reports characters a customs field must not carry.
func badRune(c rune) bool {
	return unicode.IsControl(c) || c == '\uFFFE' || c == '\uFFFF' || c == utf8.RuneError
}

// codeRule checks a registration code (payCode, ebpCode, copCode, dxpId):
// 1–max ASCII letters and digits. Customs codes are 10-character customs
// registration numbers or 18-character unified social credit codes.
func codeRule(field, v string, max int) error {
	if v == "" {
		return fieldErr(field, "%s is required", field)
	}
	if len(v) > max {
		return fieldErr(field, "%s is longer than %d characters", field, max)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return fieldErr(field, "%s may hold only letters and digits", field)
		}
	}
	return nil
}

// asciiNo checks an order or transaction number: 1–max printable ASCII
// characters without spaces (the rule baoguan applies to every number it
// accepts, and what customs' matching across the four documents tolerates).
func asciiNo(field, v string, max int) error {
	if v == "" {
		return fieldErr(field, "%s is required", field)
	}
	if len(v) > max {
		return fieldErr(field, "%s is longer than %d characters", field, max)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return fieldErr(field, "%s may only hold printable ASCII without spaces", field)
		}
	}
	return nil
}

// formatTime renders t as customs' YYYYMMDDhhmmss in China time.
func formatTime(t time.Time) string { return t.In(ChinaTime).Format("20060102150405") }

// formatMillis renders t as YYYYMMDDhhmmssSSS in China time (returnTime,
// file names).
func formatMillis(t time.Time) string {
	t = t.In(ChinaTime)
	return t.Format("20060102150405") + t.Format(".000")[1:]
}
