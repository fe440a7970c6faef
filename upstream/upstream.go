// Package upstream holds what every client of a remote payment service
// shares: the record of one call (for the operators' call log), the
// classification of a failed call (retry after a wait, or give up), masking
// of personal data and secrets in anything that leaves a client, and the
// HTTP client with short timeouts the clients are given.
//
// It knows nothing of any one wallet; the wechatpay and alipay packages
// build on it. ForRequest connects the records to a baoguan.DeclareRequest,
// through which core collects and stores them. A record never carries a secret or a clear ID number: every
// text a client puts in a Call or an Error goes through a Scrubber first.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Outcomes of a call, as recorded.
const (
	OutcomeOK    = "ok"    // the far side answered and the answer was used
	OutcomeRetry = "retry" // a transient failure: the call is worth repeating later
	OutcomeFail  = "fail"  // the far side refused for good, or its answer could not be trusted
)

// Call is the record of one request to a remote service: what the
// operators' call log shows per declaration. It never holds secrets, request
// bodies or clear personal data.
type Call struct {
	Time       time.Time     // when the request was sent
	Service    string        // "wechatpay.v2", "wechatpay.v3", "alipay"
	Operation  string        // "declare", "query", "modify", "redeclare"
	Ref        string        // baoguan's reference of the declaration (its sub-order id), never a personal value
	HTTPStatus int           // 0 when no answer arrived
	Latency    time.Duration // from sending to the end of the answer (or the failure)
	Code       string        // the far side's code (SUCCESS, SYSTEMERROR, PARAM_ERROR…), or TIMEOUT/NETWORK/BAD_ANSWER
	Message    string        // the far side's message, scrubbed
	Outcome    string        // OutcomeOK, OutcomeRetry or OutcomeFail
}

// Recorder receives the record of every call. It must not block for long:
// it runs on the caller's goroutine, between two steps of a declaration.
type Recorder func(ctx context.Context, c Call)

type recorderKey struct{}

// WithRecorder returns a context whose calls are also reported to rec: a
// port hands each request's own recorder to its clients this way.
func WithRecorder(ctx context.Context, rec Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, rec)
}

// Report passes a call record to the client's recorder, if any, and to
// the one the context carries, if any.
func Report(ctx context.Context, own Recorder, c Call) {
	if own != nil {
		own(ctx, c)
	}
	if rec, ok := ctx.Value(recorderKey{}).(Recorder); ok && rec != nil {
		rec(ctx, c)
	}
}

// Kind says what a failed call means for the caller.
type Kind int

const (
	// Retry: a transient failure (timeout, 5xx, SYSTEMERROR, rate limit,
	// maintenance). The same request may be repeated after RetryAfter.
	Retry Kind = iota + 1
	// Fail: the far side refused the request for good (bad parameter, bad
	// signature, unknown transaction). Repeating it unchanged cannot help.
	Fail
	// Untrusted: an answer arrived but its signature did not verify, or it
	// could not be read. Nothing in it is used; the caller must treat the
	// outcome of the request as unknown (ask again later).
	Untrusted
	// NotFound: the far side has no record of what was asked about.
	NotFound
)

func (k Kind) String() string {
	switch k {
	case Retry:
		return "retry"
	case Fail:
		return "fail"
	case Untrusted:
		return "untrusted"
	case NotFound:
		return "not_found"
	}
	return "unknown"
}

// Error is a failed call, classified. Its texts are scrubbed: an Error may
// be logged and shown to operators as it is.
type Error struct {
	Service    string
	Operation  string
	Kind       Kind
	HTTPStatus int           // 0 when no answer arrived
	Code       string        // the far side's code, or TIMEOUT/NETWORK/BAD_ANSWER/BAD_SIGNATURE/CONFIG
	Message    string        // scrubbed
	RetryAfter time.Duration // a suggested wait before repeating, for Retry and Untrusted
}

func (e *Error) Error() string {
	s := e.Service + " " + e.Operation + ": " + e.Code
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// RetryWait is the suggested wait before repeating the call: the job
// runner waits at least this long before its next try.
func (e *Error) RetryWait() time.Duration {
	if e.Retryable() {
		return e.RetryAfter
	}
	return 0
}

// Retryable reports whether repeating the request later may succeed.
func (e *Error) Retryable() bool { return e.Kind == Retry || e.Kind == Untrusted }

// KindOf returns the Kind of err if it is (or wraps) an *Error, else 0.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Outcome returns the recorded outcome of a call that ended with err.
func Outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	var e *Error
	if errors.As(err, &e) && e.Retryable() {
		return OutcomeRetry
	}
	return OutcomeFail
}

// Default waits suggested for transient failures when the far side names
// none: long enough not to hammer a service that is struggling, short
// enough that a declaration is not held up for long.
const (
	WaitTransient   = 30 * time.Second // timeouts, 5xx, SYSTEMERROR
	WaitRateLimited = time.Minute      // FREQUENCY_LIMITED, HTTP 429
	WaitMaintenance = 10 * time.Minute // a wallet announcing maintenance
)

// Transport classifies an error from http.Client.Do (no answer arrived):
// a timeout or a network failure, both worth repeating.
func Transport(service, op string, err error) *Error {
	code := "NETWORK"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		code = "TIMEOUT"
	}
	return &Error{Service: service, Operation: op, Kind: Retry, Code: code,
		Message: transportText(err), RetryAfter: WaitTransient}
}

// transportText keeps what helps an operator (timeout, refused) and drops
// the URL, which may carry query parameters.
func transportText(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			err = inner
		}
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// HTTPClient returns the HTTP client a wallet client should be given: a
// short connect timeout and a whole-request timeout, no cookie jar, and
// redirects refused (a payment API never redirects; following one could
// send a signed request elsewhere).
func HTTPClient(connect, total time.Duration) *http.Client {
	if connect <= 0 {
		connect = 5 * time.Second
	}
	if total <= 0 {
		total = 15 * time.Second
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: total,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: total,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Scrubber removes secrets and personal data from texts that leave a
// client: call records, errors, explanations. Known values (keys, the
// declared ID number and name) are replaced outright; anything shaped like
// a resident ID number or a mainland mobile number is masked as well, since
// a far side may echo a value the client never knew it held.
type Scrubber struct{ secrets []string }

// NewScrubber returns a scrubber for the given values; empty ones and very
// short ones (which would mask ordinary words) are ignored.
func NewScrubber(values ...string) *Scrubber {
	s := &Scrubber{}
	s.Add(values...)
	return s
}

// Add registers more values to remove.
func (s *Scrubber) Add(values ...string) {
	for _, v := range values {
		if v = strings.TrimSpace(v); len(v) >= 2 {
			s.secrets = append(s.secrets, v)
		}
	}
}

// Shapes of personal numbers, masked wherever they stand alone (not inside
// a longer run of digits such as a transaction number): an 18-character
// resident ID number, the older 15-digit one, and a mainland mobile number.
var personalShapes = []*regexp.Regexp{
	regexp.MustCompile(`\d{17}[\dXx]`),
	regexp.MustCompile(`\d{15}`),
	regexp.MustCompile(`1[3-9]\d{9}`),
}

// Scrub returns text with every registered value replaced by "***" and
// every standalone ID-number- or phone-shaped number masked (first 3 and
// last 2 characters kept).
func (s *Scrubber) Scrub(text string) string {
	if s != nil {
		for _, v := range s.secrets {
			text = strings.ReplaceAll(text, v, "***")
		}
	}
	for _, re := range personalShapes {
		text = maskStandalone(text, re)
	}
	return text
}

// MaskPersonal masks every standalone ID-number- or phone-shaped number in
// text, as Scrub does: for what a wallet says about a record (customs'
// reason for a refusal may quote the payer's ID number), which becomes a
// declaration's explanation, stored and shown to the merchant.
func MaskPersonal(text string) string {
	var s *Scrubber
	return s.Scrub(text)
}

func maskStandalone(text string, re *regexp.Regexp) string {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringIndex(text, -1) {
		if m[0] > 0 && isDigit(text[m[0]-1]) || m[1] < len(text) && isIDChar(text[m[1]]) {
			continue
		}
		b.WriteString(text[last:m[0]])
		b.WriteString(MaskID(text[m[0]:m[1]]))
		last = m[1]
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

func isIDChar(c byte) bool { return isDigit(c) || c == 'X' || c == 'x' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// MaskID masks an identifier for display: the first 3 and last 2
// characters are kept, the rest become asterisks ("110***************32").
func MaskID(id string) string {
	r := []rune(id)
	if len(r) <= 5 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-5) + string(r[len(r)-2:])
}

// Clip shortens an untrusted text from the far side to at most n bytes on
// a rune boundary, so that a huge or hostile message cannot swell a record.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
