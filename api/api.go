// Package api is baoguan's native REST API under /v1: JSON in snake_case,
// amounts in fen, times in RFC 3339, Bearer API keys, Idempotency-Key on
// every POST, and errors as {"error":{"code","message","field"}}. It only
// translates between HTTP and the core services.
package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/inbound"
)

// Options configure the API.
type Options struct {
	Svc *core.Service
	Log *slog.Logger
	// MaxBody caps a request body (default 1 MiB); batch uploads get
	// MaxBatchBody (default 32 MiB, room for 10,000 orders).
	MaxBody      int64
	MaxBatchBody int64
}

// API serves /v1.
type API struct {
	svc          *core.Service
	log          *slog.Logger
	maxBody      int64
	maxBatchBody int64
}

// New returns the API.
func New(o Options) *API {
	a := &API{svc: o.Svc, log: o.Log, maxBody: o.MaxBody, maxBatchBody: o.MaxBatchBody}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.maxBody <= 0 {
		a.maxBody = 1 << 20
	}
	if a.maxBatchBody <= 0 {
		a.maxBatchBody = 32 << 20
	}
	return a
}

type ctxKey int

const merchantKey ctxKey = 1

func merchantOf(r *http.Request) *baoguan.Merchant {
	m, _ := r.Context().Value(merchantKey).(*baoguan.Merchant)
	return m
}

// authed authenticates the Bearer API key, then applies Idempotency-Key
// handling to POSTs.
func (a *API) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A key names no merchant: failures count against the source
		// address only (core.Service.AuthAllowed).
		if err := a.svc.AuthAllowed(r.Context(), r.RemoteAddr, ""); err != nil {
			a.fail(w, r, err)
			return
		}
		m, err := a.svc.MerchantByAPIKey(r.Context(), bearerToken(r.Header.Get("Authorization")))
		if baoguan.ErrorCode(err) == baoguan.EUNAUTHORIZED {
			err = a.svc.AuthFailed(r.Context(), r.RemoteAddr, "", err)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), merchantKey, m))
		if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" {
			a.idempotent(w, r, h)
			return
		}
		h(w, r)
	})
}

// bearerToken returns the credentials of an Authorization header of the
// Bearer scheme, or "". The scheme name is case-insensitive (RFC 9110
// §11.1: "bearer", "BEARER" and "Bearer" are the same scheme) and may be
// followed by more than one space.
func bearerToken(h string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// idempotent replays the first response to a repeated Idempotency-Key with
// the same request, and refuses the key with another request (409). The
// core takes the key in the transaction of the request's first write
// (core.Service.Idempotent), so concurrent requests with one key have one
// effect and one answer.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	m := merchantOf(r)
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 {
		a.fail(w, r, baoguan.FieldError("Idempotency-Key", "Idempotency-Key is longer than 255 characters"))
		return
	}
	limit := a.maxBody
	if r.URL.Path == "/v1/batches" { // batch uploads only; the other batch routes take no body
		limit = a.maxBatchBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		a.fail(w, r, bodyError(err))
		return
	}
	sum := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\n" + string(body)))
	var rec *recorder
	res, replayed, err := a.svc.Idempotent(r.Context(), m, key, hex.EncodeToString(sum[:]), func(ctx context.Context) core.Response {
		rec = &recorder{header: http.Header{}, status: http.StatusOK}
		r2 := r.WithContext(ctx)
		r2.Body = io.NopCloser(bytes.NewReader(body))
		h(rec, r2)
		return core.Response{Status: rec.status, Body: rec.body.Bytes()}
	})
	switch {
	case err != nil:
		a.fail(w, r, err)
	case replayed:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Body)
	default:
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Body)
	}
}

// recorder keeps a response until the core has kept it for its
// Idempotency-Key.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// decode reads one JSON object into v: the body is capped, the content
// type must be JSON in UTF-8 and not compressed, and the JSON is read only
// if encoding/json would not change it (invalid UTF-8, lone surrogates,
// keys that differ only in case are refused). Errors name the field by its
// JSON path (declarations[1].customs) and say what it takes; syntax
// errors give the byte offset.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if err := checkBodyHeaders(r); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyError(err)
	}
	if p := inbound.Decode(body, v, true); p != nil {
		return problemError(p)
	}
	return nil
}

// decodeOrder is decode for a pushed order: a body of the common shape is
// read by decodeOrderFast, any other by inbound.Decode, with the same
// result and the same errors.
func (a *API) decodeOrder(w http.ResponseWriter, r *http.Request, q *orderReq) error {
	if err := checkBodyHeaders(r); err != nil {
		return err
	}
	body, err := readBody(w, r, a.maxBody)
	if err != nil {
		return bodyError(err)
	}
	return decodeOrderBody(body, q)
}

// decodeOrderBody decodes an order's body into q, a zero orderReq, as
// inbound.Decode does.
func decodeOrderBody(body []byte, q *orderReq) error {
	if inbound.CheckJSON(body) == nil && decodeOrderFast(body, q) {
		return nil
	}
	*q = orderReq{}
	if p := inbound.Decode(body, q, true); p != nil {
		return problemError(p)
	}
	return nil
}

// checkBodyHeaders refuses a body the API cannot read as it was meant:
// another content type, a charset other than UTF-8 (JSON is UTF-8, RFC
// 8259 §8.1), a Content-Encoding other than identity.
func checkBodyHeaders(r *http.Request) error {
	if p := inbound.CheckContentEncoding(r.Header.Values("Content-Encoding"), false); p != nil {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "Content-Encoding", Reason: reasonUnsupportedEncoding, Message: p.Message}
	}
	return checkContentType(r.Header.Get("Content-Type"))
}

// checkContentType accepts no Content-Type or application/json in UTF-8.
// The two spellings clients send nearly always are accepted without
// parsing (mime.ParseMediaType makes a map for the parameters); any other
// is parsed (TestCheckContentTypeAsParsed).
func checkContentType(ct string) error {
	switch ct {
	case "", "application/json", "application/json; charset=utf-8":
		return nil
	}
	return parseContentType(ct)
}

// parseContentType is checkContentType's answer for any Content-Type.
func parseContentType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "Content-Type", Reason: "unsupported_media_type", Message: "send the body as application/json"}
	}
	if _, p := inbound.ToUTF8(nil, inbound.CharsetParam(params), inbound.UTF8Only); p != nil {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "Content-Type", Reason: reasonUnsupportedEncoding, Message: p.Message}
	}
	return nil
}

// reasonUnsupportedEncoding is a body coding or charset the API does not
// read: 415.
const reasonUnsupportedEncoding = "unsupported_encoding"

// amountFields are the API's amount inputs: a type error on one says what
// an amount is.
var amountFields = map[string]bool{"amount": true, "order_fee": true, "transport_fee": true, "product_fee": true, "duty": true, "unit_amount": true}

// problemError turns a decoding problem into the API's error: EINVALID
// naming the JSON path.
func problemError(p *inbound.Problem) error {
	reason := "bad_json"
	msg := p.Message
	switch p.Kind {
	case inbound.KindType:
		reason = "bad_type"
		leaf := p.Path
		if i := strings.LastIndexAny(leaf, ".]"); i >= 0 {
			leaf = leaf[i+1:]
		}
		if amountFields[leaf] && p.Want == "integer" {
			msg = p.Path + " must be an integer number of fen (minor units), not " + inbound.Describe(p.Got)
		}
	case inbound.KindUnknown:
		reason = "unknown_field"
	case inbound.KindDuplicate:
		reason = "duplicate_key"
	case inbound.KindUTF8, inbound.KindSurrogate, inbound.KindCharset:
		reason = "bad_encoding"
	case inbound.KindValue:
		msg = "the body is not valid JSON"
	}
	if p.Kind == inbound.KindSyntax && p.Offset == 0 && strings.Contains(msg, "empty") {
		msg = "the body is empty"
	}
	return &baoguan.Error{Code: baoguan.EINVALID, Field: p.Path, Reason: reason, Message: msg}
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &baoguan.Error{Code: baoguan.ETOOLARGE, Reason: "body_too_large", Message: fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)}
	}
	return &baoguan.Error{Code: baoguan.EINVALID, Reason: "bad_body", Message: "the body could not be read"}
}

// errorBody is the one error shape of the native API.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// status maps a core error code to an HTTP status.
func status(code string) int {
	switch code {
	case baoguan.EINVALID:
		return http.StatusBadRequest
	case baoguan.ENOTFOUND:
		return http.StatusNotFound
	case baoguan.ECONFLICT, baoguan.ESTATE:
		return http.StatusConflict
	case baoguan.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case baoguan.EFORBIDDEN, baoguan.EMERCHANT:
		return http.StatusForbidden
	case baoguan.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case baoguan.ELIMIT, baoguan.EINSUFFICIENT:
		return http.StatusUnprocessableEntity
	case baoguan.ERATELIMIT:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// fail writes err in the API's error shape. Internal errors are logged
// with the request id and shown only as "internal error".
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := baoguan.ErrorCode(err)
	var body errorBody
	body.Error.Code = code
	if reason := baoguan.ErrorReason(err); reason != "" {
		body.Error.Code = reason
	}
	body.Error.Message = baoguan.ErrorMessage(err)
	body.Error.Field = baoguan.ErrorField(err)
	if code == baoguan.EINTERNAL {
		a.log.Error("internal error", "request_id", r.Header.Get("X-Request-Id"), "path", r.URL.Path, "err", err)
	}
	if code == baoguan.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="baoguan"`)
	}
	if s := baoguan.RetryAfter(err); s > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	st := status(code)
	if body.Error.Code == reasonUnsupportedEncoding {
		st = http.StatusUnsupportedMediaType
	}
	writeJSON(w, st, body)
}

// writeOrderJSON is writeJSON for an order: the order is written by its
// appender without going through an interface, which would copy it to the
// heap, and without a closure; the bytes are writeJSON's.
func writeOrderJSON(w http.ResponseWriter, status int, j orderJSON) {
	p := jsonBuffers.Get().(*[]byte)
	b, ok := j.appendJSON((*p)[:0], false)
	if !ok {
		jsonBuffers.Put(p)
		writeJSON(w, status, j)
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	b = append(b, '\n') // as json.Encoder writes it: one Write, a newline after
	_, _ = w.Write(b)
	if cap(b) <= 64<<10 {
		*p = b
		jsonBuffers.Put(p)
	}
}

// jsonContentType is the Content-Type header's value every JSON answer
// shares, as Header.Set would store it but without a slice an answer:
// net/http only reads it, and its capacity of 1 makes an Add copy it.
var jsonContentType = []string{"application/json"}[:1:1]

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	if a, ok := v.(jsonAppender); ok {
		written := false
		withJSONBuffer(func(b []byte) []byte {
			var ok bool
			if b, ok = a.appendJSON(b, false); ok {
				// As json.Encoder writes it: one Write, a newline after.
				b = append(b, '\n')
				_, _ = w.Write(b)
				written = true
			}
			return b
		})
		if written {
			return
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
