package wechatv3

import (
	"errors"
	"net/http"

	"github.com/baoguan/baoguan"
)

// WeChat Pay APIv3 error codes baoguan answers with.
const (
	codeParamError       = "PARAM_ERROR"       // 400: a parameter is missing or wrong; detail names it
	codeInvalidRequest   = "INVALID_REQUEST"   // 400: well-formed, but the order or declaration does not allow it
	codeNotFound         = "NOT_FOUND"         // 404: no such order or declaration for this merchant
	codeSignError        = "SIGN_ERROR"        // 401: authentication failed
	codeFrequencyLimited = "FREQUENCY_LIMITED" // 429: too many requests for this mchid
	codeSystemError      = "SYSTEM_ERROR"      // 500: baoguan failed; retry with the same request
)

// location says where a bad parameter is, in WeChat's words.
type location string

const (
	locBody   location = "body"
	locQuery  location = "query"
	locHeader location = "header" // baoguan's addition: WeChat lists body, url and query only
)

// errorDetail names the parameter of a PARAM_ERROR.
type errorDetail struct {
	Field    string `json:"field"`
	Value    string `json:"value,omitempty"`
	Issue    string `json:"issue"`
	Location string `json:"location"`
}

// errorBody is WeChat's error model.
type errorBody struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Detail  *errorDetail `json:"detail,omitempty"`
}

// wireError is an error already in WeChat's terms.
type wireError struct {
	status int
	body   errorBody
	// retryAfter is the Retry-After of a 429, in seconds.
	retryAfter int
}

func (e *wireError) Error() string { return e.body.Code + ": " + e.body.Message }

// paramError is a PARAM_ERROR naming one parameter. In the body the field
// is a JSON pointer as WeChat writes it (#/properties/order_fee); in the
// query string or a header it is the parameter's name.
func paramError(loc location, field, value, issue string) *wireError {
	f, msg := field, "parameter "+field+" is invalid: "+issue
	if loc == locBody {
		f = "#/properties/" + field
	}
	if field == "" {
		f, msg = "#", issue
	}
	if personal[field] {
		value = "" // never echo personal data, even back to its sender
	}
	return &wireError{status: http.StatusBadRequest, body: errorBody{Code: codeParamError,
		Message: msg,
		Detail:  &errorDetail{Field: f, Value: value, Issue: issue, Location: string(loc)}}}
}

func invalidRequest(msg string) *wireError {
	return &wireError{status: http.StatusBadRequest, body: errorBody{Code: codeInvalidRequest, Message: msg}}
}

func signError(msg string) *wireError {
	return &wireError{status: http.StatusUnauthorized, body: errorBody{Code: codeSignError, Message: msg}}
}

// personal fields are never echoed in an error detail.
var personal = map[string]bool{"certificate_id": true, "certificate_name": true}

// wireFields maps the core's field names to WeChat's.
var wireFields = map[string]string{
	"merchant_order_no": "out_trade_no",
	"order_no":          "out_trade_no",
	"payment_no":        "transaction_id",
	"payer.name":        "certificate_name",
	"payer.id_number":   "certificate_id",
	"payer.id_type":     "certificate_type",
}

// toWire turns any error into WeChat's terms: the one place where core
// error codes become WeChat codes. vals are the request's parameter values,
// echoed in a PARAM_ERROR detail.
func toWire(err error, loc location, vals map[string]string) *wireError {
	var we *wireError
	if errors.As(err, &we) {
		return we
	}
	code, field, msg := baoguan.ErrorCode(err), baoguan.ErrorField(err), baoguan.ErrorMessage(err)
	if f, ok := wireFields[field]; ok {
		field = f
	}
	switch code {
	case baoguan.EINVALID, baoguan.ELIMIT:
		if field != "" {
			e := paramError(loc, field, vals[field], msg)
			e.body.Message = msg
			return e
		}
		return invalidRequest(msg)
	case baoguan.ENOTFOUND:
		return &wireError{status: http.StatusNotFound, body: errorBody{Code: codeNotFound, Message: msg}}
	case baoguan.EUNAUTHORIZED:
		return signError(msg)
	case baoguan.ERATELIMIT:
		// Too many failed signatures (or SMS codes, real-name checks):
		// WeChat's own answer to a caller going too fast.
		return &wireError{status: http.StatusTooManyRequests, retryAfter: baoguan.RetryAfter(err),
			body: errorBody{Code: codeFrequencyLimited, Message: msg}}
	case baoguan.ECONFLICT:
		if baoguan.ErrorReason(err) == "stale" {
			// Another request changed the same order at the same moment;
			// WeChat's advice for SYSTEM_ERROR (retry as is) is right.
			return &wireError{status: http.StatusInternalServerError, body: errorBody{Code: codeSystemError,
				Message: "the order changed while this request was handled; retry the same request"}}
		}
		return invalidRequest(msg)
	case baoguan.ESTATE, baoguan.EMERCHANT, baoguan.EFORBIDDEN, baoguan.ETOOLARGE, baoguan.EINSUFFICIENT:
		return invalidRequest(msg)
	}
	return &wireError{status: http.StatusInternalServerError, body: errorBody{Code: codeSystemError,
		Message: "system error; retry the same request later"}}
}
