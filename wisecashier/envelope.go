package wisecashier

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
)

// The answer (§1, §3): every response is JSON with meta (the request's own
// status) and data (what it returns); errors are HTTP statuses with the
// same envelope, data null.

// Statuses of §3 beyond net/http's names.
const (
	// StatusTimestamp is §3's 411 "Timestamp Error – 请求已过时": the
	// request's Timestamp is outside the window (Options.Window).
	StatusTimestamp = 411
	// StatusWallet is §3's 555 "Wechat Service Error": the wallet refused
	// the payment; message holds {"wx_message","wx_code"} as JSON.
	StatusWallet = 555
)

// meta is the request's own status.
type meta struct {
	StatusCode int    `json:"status_code"`
	Message    string `json:"message"`
	Success    bool   `json:"success"`
}

// envelope is the usual answer: data beside meta.
type envelope struct {
	Meta meta `json:"meta"`
	Data any  `json:"data"`
}

// okMessage is the message of a successful request, as the document
// prints it.
const okMessage = "请求成功"

// wireError is an answer other than 200: its HTTP status and message.
type wireError struct {
	status  int
	message string
	// retryAfter is the Retry-After of a 429, in seconds.
	retryAfter int
}

func (e *wireError) Error() string { return e.message }

// paramError is 400 naming the parameter at fault.
func paramError(name, msg string) error {
	return &wireError{status: http.StatusBadRequest, message: "请求参数错误: " + name + ": " + msg}
}

// authError is 401.
func authError(msg string) error {
	return &wireError{status: http.StatusUnauthorized, message: msg}
}

// walletError is 555 with the wallet's message and code in message, as
// §3 prescribes.
func walletError(message, code string) error {
	b, _ := json.Marshal(struct {
		WxMessage string `json:"wx_message"`
		WxCode    string `json:"wx_code"`
	}{message, code})
	return &wireError{status: StatusWallet, message: string(b)}
}

// toWire maps an error to its status and message: the core's codes to §3's
// statuses (EINVALID, ECONFLICT, ESTATE and the amount rules 400 naming
// the field; EUNAUTHORIZED 401; EFORBIDDEN and EMERCHANT 403; ENOTFOUND
// 404; a missing payment channel 503; anything else 500 without details).
func toWire(err error) *wireError {
	var we *wireError
	if errors.As(err, &we) {
		return we
	}
	var e *baoguan.Error
	if !errors.As(err, &e) {
		return &wireError{status: http.StatusInternalServerError, message: "内部服务出错，请稍后重试"}
	}
	switch e.Code {
	case baoguan.EINVALID, baoguan.ECONFLICT, baoguan.ESTATE, baoguan.ELIMIT, baoguan.ETOOLARGE, baoguan.EINSUFFICIENT:
		if e.Reason == "no_channel" || e.Reason == "no_live_adapters" {
			return &wireError{status: http.StatusServiceUnavailable, message: "服务不可用: " + e.Message}
		}
		field := e.Field
		if field == "" {
			field = "request"
		}
		return &wireError{status: http.StatusBadRequest, message: "请求参数错误: " + wireField(field) + ": " + e.Message}
	case baoguan.EUNAUTHORIZED:
		return &wireError{status: http.StatusUnauthorized, message: e.Message}
	case baoguan.ERATELIMIT:
		return &wireError{status: http.StatusTooManyRequests, retryAfter: baoguan.RetryAfter(err), message: "请求过于频繁: " + e.Message}
	case baoguan.EFORBIDDEN, baoguan.EMERCHANT:
		return &wireError{status: http.StatusForbidden, message: "权限错误: " + e.Message}
	case baoguan.ENOTFOUND:
		return &wireError{status: http.StatusNotFound, message: "未找到资源或对象: " + e.Message}
	}
	return &wireError{status: http.StatusInternalServerError, message: "内部服务出错，请稍后重试"}
}

// wireField names a core field as this protocol's parameter.
func wireField(f string) string {
	switch f {
	case "merchant_order_no":
		return "agent_order_id"
	case "refund_no":
		return "outer_refund_no"
	case "order_fee":
		return "sub_order_amount"
	case "subject":
		return "product_info"
	case "payer.id_number":
		return "cert_id"
	}
	return strings.TrimPrefix(f, "payer.")
}

// write answers v as JSON with the status, < > & unescaped as the
// document's examples show them.
func (s *Server) write(w http.ResponseWriter, status int, v any) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.log.Error("wisecashier encoding response", "err", err)
		status, b = http.StatusInternalServerError, strings.Builder{}
		b.WriteString(`{"meta":{"status_code":500,"message":"内部服务出错，请稍后重试","success":false},"data":null}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// ok answers 200 with data in the envelope.
func (s *Server) ok(w http.ResponseWriter, data any) {
	s.write(w, http.StatusOK, envelope{Meta: meta{StatusCode: http.StatusOK, Message: okMessage, Success: true}, Data: data})
}

// fail answers an error in the envelope; internal errors are logged, never
// described.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	we := toWire(err)
	if we.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(max(we.retryAfter, 1)))
	}
	if we.status == http.StatusInternalServerError {
		// The caller sees a generic message; the cause is logged under the
		// request id (X-Request-Id, set by the gateway).
		s.log.Error("wisecashier internal error", "request_id", r.Header.Get("X-Request-Id"), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.write(w, we.status, envelope{Meta: meta{StatusCode: we.status, Message: we.message, Success: false}})
}
