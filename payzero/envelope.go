package payzero

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Error codes. 30001 and 50001/50010/50054/50056 are the document's; the
// document leaves every other failure without a code, so baoguan numbers
// them after 30001 (request and business errors) and 4xxxx (the HTTP
// statuses of the document's table). docs/protocols/payzero.md lists them.
const (
	codeParam       = "30001" // 参数 xxxx 未正确设置 (document)
	codeDuplicate   = "30002" // the number exists with other content
	codeMerchant    = "30003" // merchant in arrears, unsigned, or not allowed
	codeNotFound    = "30004" // no such order, batch, refund or agreement
	codeState       = "30005" // the order's state does not allow the call
	codeLimit       = "30006" // an amount rule (refunds above the paid amount)
	codeTooLarge    = "30007" // body or batch too large
	codeSMSWrong    = "30011" // wrong SMS code
	codeSMSExpired  = "30012" // SMS code older than 3 minutes
	codeSMSUsed     = "30013" // 请求异常: the code was burnt or used; apply again
	codeLogin       = "40001" // 401: bad credentials or token
	codeNoAuth      = "40003" // 403: no Authorization header
	codeTooMany     = "40029" // 429: too many failed logins, SMS codes or real-name checks (baoguan's)
	codeNoRoute     = "40004" // 404
	codeMethod      = "40005" // 405
	codeInternal    = "50000" // 500
	codeNoCard      = "50001" // document 2.2/2.6
	codeNoSigned    = "50010" // document 2.2/2.6
	codeNothingToDo = "50054" // document 2.2
	codeBalance     = "50056" // document 2.2/2.6
)

// envelope is payzero's one answer shape (技术综述: 返回格式说明).
type envelope struct {
	Success   bool    `json:"success"`
	ErrorMsg  *string `json:"errorMsg"`
	ErrorCode *string `json:"errorCode"`
	Data      any     `json:"data"`
}

func success(data any) envelope { return envelope{Success: true, Data: data} }

func failure(code, msg string) envelope {
	return envelope{ErrorMsg: &msg, ErrorCode: &code}
}

func writeEnvelope(w http.ResponseWriter, status int, e envelope) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e)
}

func (s *Server) ok(w http.ResponseWriter, data any) {
	writeEnvelope(w, http.StatusOK, success(data))
}

// badRequest marks an error that payzero answers with HTTP 400: the
// request itself could not be read (not JSON, a value of the wrong type, a
// required query parameter or path id missing or malformed). Business
// validation of a readable request is answered 200 with success false.
type badRequest struct{ err error }

func (b badRequest) Error() string { return b.err.Error() }
func (b badRequest) Unwrap() error { return b.err }

// fail answers err in payzero's envelope: the one place a core error
// becomes a payzero code and HTTP status. fields renames the core's field
// names for this interface (e.g. refunds' amount is refundAmount).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, fields ...map[string]string) {
	status := http.StatusOK
	var br badRequest
	if asBadRequest(err, &br) {
		status = http.StatusBadRequest
	}
	code, msg := s.translate(err, fields...)
	switch code {
	case codeInternal:
		status = http.StatusInternalServerError
		s.log.Error("internal error", "request_id", r.Header.Get("X-Request-Id"), "path", r.URL.Path, "err", err)
	case codeLogin:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="payzero"`)
	case codeTooMany:
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(baoguan.RetryAfter(err)))
	}
	writeEnvelope(w, status, failure(code, msg))
}

func asBadRequest(err error, br *badRequest) bool {
	b, ok := err.(badRequest)
	if ok {
		*br = b
	}
	return ok
}

// translate picks the payzero code and message for an error.
func (s *Server) translate(err error, fields ...map[string]string) (string, string) {
	if b, ok := err.(badRequest); ok {
		err = b.err
	}
	msg := baoguan.ErrorMessage(err)
	switch baoguan.ErrorReason(err) {
	case core.ReasonNoCard:
		return codeNoCard, msg
	case core.ReasonNoSignedCard:
		return codeNoSigned, msg
	case core.ReasonNothingToPay:
		return codeNothingToDo, "没有需要被分配执行的订单"
	case core.ReasonCardBalanceShort:
		return codeBalance, msg
	case core.ReasonFundingShort:
		return codeBalance, "系统记录的银行卡当前额度可能无法支持支付本批次订单，请增加系统内银行卡额度并确保实际资金与额度大致匹配（" + msg + "）"
	case core.ReasonSMSWrong:
		return codeSMSWrong, msg
	case core.ReasonSMSExpired:
		return codeSMSExpired, msg
	case core.ReasonSMSUsed:
		return codeSMSUsed, msg
	}
	switch baoguan.ErrorCode(err) {
	case baoguan.EINVALID:
		f := wireField(baoguan.ErrorField(err), fields...)
		if f == "" {
			return codeParam, "参数未正确设置。" + msg
		}
		return codeParam, "参数 " + f + " 未正确设置。" + renameFields(msg, fields...)
	case baoguan.ECONFLICT:
		return codeDuplicate, renameFields(msg, fields...)
	case baoguan.EMERCHANT, baoguan.EFORBIDDEN:
		return codeMerchant, msg
	case baoguan.ENOTFOUND:
		return codeNotFound, msg
	case baoguan.ESTATE:
		return codeState, msg
	case baoguan.ELIMIT:
		return codeLimit, renameFields(msg, fields...)
	case baoguan.EINSUFFICIENT:
		return codeBalance, msg
	case baoguan.ETOOLARGE:
		return codeTooLarge, msg
	case baoguan.EUNAUTHORIZED:
		return codeLogin, msg
	case baoguan.ERATELIMIT:
		return codeTooMany, fmt.Sprintf("请求过于频繁，请在 %d 秒后重试", baoguan.RetryAfter(err))
	}
	return codeInternal, "服务器内部错误"
}

// coreFields maps the core's field names to payzero's. Interfaces whose
// fields differ pass their own map to fail, consulted first.
var coreFields = map[string]string{
	"merchant_order_no": "mchtOrderNo",
	"order_no":          "mchtOrderNo",
	"amount":            "paymentAmount",
	"currency":          "currency",
	"subject":           "subject",
	"notify_url":        "notifyUrl",
	"customs":           "customsCode",
	"customs_area_code": "customsAreaCode",
	"customs_jy_org":    "customsJyOrg",
	"customs_in_type":   "customsInType",
	"order_fee":         "paymentAmount",
	"payer.name":        "payerName",
	"payer.id_number":   "payerNumber",
	"payer.id_type":     "payerNumber",
	"payer.phone":       "payerPhone",
	"qr_code_type":      "qrCodeType",
	"request_id":        "requestId",
	"acct_name":         "acctname",
	"acct_no":           "acctno",
	"acct_type":         "accttype",
	"bank_code":         "bankcode",
	"id_no":             "idno",
	"mobile":            "mobile",
	"cvv2":              "cvv2",
	"valid_date":        "validdate",
	"sms_code":          "smsCode",
	"agreeid":           "agreeid",
	"refund_no":         "mchtRefundOrderNo",
	"page":              "page",
	"pagesize":          "pagesize",
	"idno":              "idno",
	"name":              "name",
}

var indexed = regexp.MustCompile(`^orders\[(\d+)\]\.?`)

// wireField renames a core field ("orders[1].payer.name") to payzero's
// ("[1].payerName"; items keep their own names).
func wireField(f string, fields ...map[string]string) string {
	if f == "" {
		return ""
	}
	prefix := ""
	if m := indexed.FindStringSubmatch(f); m != nil {
		prefix = "[" + m[1] + "]."
		f = f[len(m[0]):]
		if f == "" {
			return strings.TrimSuffix(prefix, ".")
		}
	}
	for _, m := range fields {
		if w, ok := m[f]; ok {
			return prefix + w
		}
	}
	if w, ok := coreFields[f]; ok {
		return prefix + w
	}
	return prefix + f // items[0].subject and the like are payzero's names already
}

// renameFields rewrites core field names inside a message, so that
// "merchant_order_no is required" names mchtOrderNo. Longer names go
// first, so merchant_order_no is not taken for order_no.
func renameFields(msg string, fields ...map[string]string) string {
	for _, m := range append(fields, coreFields) {
		names := make([]string, 0, len(m))
		for from := range m {
			if strings.ContainsAny(from, "_.") {
				names = append(names, from)
			}
		}
		sort.Slice(names, func(i, j int) bool {
			if len(names[i]) != len(names[j]) {
				return len(names[i]) > len(names[j])
			}
			return names[i] < names[j]
		})
		for _, from := range names {
			msg = strings.ReplaceAll(msg, from, m[from])
		}
	}
	return msg
}
