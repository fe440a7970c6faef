package baoguan

import (
	"errors"
	"fmt"
)

// Error codes shared by every front-end. Each protocol maps them to its own
// wire codes in one function; the native API maps them to HTTP statuses.
const (
	EINVALID      = "invalid"         // a field is missing or malformed (400/422)
	ENOTFOUND     = "not_found"       // no such object for this merchant (404)
	ECONFLICT     = "conflict"        // the object exists with other content, or an idempotency key is reused (409)
	ESTATE        = "illegal_state"   // the object's state does not allow the operation (409)
	EUNAUTHORIZED = "unauthorized"    // missing or bad credentials (401)
	EFORBIDDEN    = "forbidden"       // credentials valid but not allowed (403)
	ETOOLARGE     = "too_large"       // request body or batch too large (413)
	ELIMIT        = "limit_exceeded"  // an amount rule is broken: refunds or declared fees above what was paid (422)
	EMERCHANT     = "merchant_status" // the merchant is in arrears or unsigned (403)
	EINSUFFICIENT = "insufficient_funds"
	ERATELIMIT    = "rate_limited" // too many failed authentications or sends; Error.RetryAfter says when to try again (429)
	EINTERNAL     = "internal"     // anything else; never shown to callers in detail (500)
)

// Error is a domain error: a machine-readable code, a message a person can
// act on, and the request field it concerns, if any.
type Error struct {
	Code    string
	Message string
	Field   string
	// Reason is a finer, stable sub-code (e.g. "duplicate_order_no",
	// "split_fees_mismatch") that front-ends use to pick a vendor code.
	Reason string
	// RetryAfter is, for ERATELIMIT, how many whole seconds the caller
	// should wait before trying again (at least 1); front-ends send it as
	// the Retry-After header.
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("baoguan: %s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("baoguan: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error naming the field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// WithReason returns a copy of e carrying the reason sub-code.
func (e *Error) WithReason(reason string) *Error {
	c := *e
	c.Reason = reason
	return &c
}

// ErrorCode returns the code of err if it is (or wraps) an *Error with a
// code, else EINTERNAL.
func ErrorCode(err error) string {
	if err == nil {
		return "" // before e: errors.As takes &e, which puts it on the heap
	}
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return EINTERNAL
}

// ErrorReason returns the reason sub-code of err, or "".
func ErrorReason(err error) string {
	if err == nil {
		return "" // before e: errors.As takes &e, which puts it on the heap
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// ErrorField returns the field named by err, or "".
func ErrorField(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// RetryAfter returns the seconds an ERATELIMIT error asks the caller to
// wait (at least 1), or 0 for any other error.
func RetryAfter(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) && e.Code == ERATELIMIT {
		return max(e.RetryAfter, 1)
	}
	return 0
}

// InternalMessage is the only text a caller sees of an internal error.
const InternalMessage = "internal error"

// ErrorMessage returns the message of err written for the caller: the
// Message of an *Error whose code is one of the public codes above. An
// EINTERNAL *Error, an *Error without a code and any other error get
// InternalMessage, so that what a store, a driver, a file or a bug says
// never reaches a caller; front-ends log such errors with the request id.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != "" && e.Code != EINTERNAL {
		return e.Message
	}
	return InternalMessage
}
