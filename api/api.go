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
	"strings"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
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
		m, err := a.svc.MerchantByAPIKey(r.Context(), bearerToken(r.Header.Get("Authorization")))
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

// decode reads one JSON object into v: the body is capped, the content type
// must be JSON, unknown fields are refused naming the field.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &baoguan.Error{Code: baoguan.EINVALID, Field: "Content-Type", Reason: "unsupported_media_type", Message: "send the body as application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return &baoguan.Error{Code: baoguan.EINVALID, Reason: "bad_json", Message: "the body holds more than one JSON value"}
	}
	return nil
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return &baoguan.Error{Code: baoguan.ETOOLARGE, Reason: "body_too_large", Message: fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)}
	case errors.As(err, &typeErr):
		return &baoguan.Error{Code: baoguan.EINVALID, Field: typeErr.Field, Reason: "bad_type", Message: fmt.Sprintf("%s must be a JSON %s", typeErr.Field, typeErr.Type.Kind())}
	case errors.As(err, &syntax):
		return &baoguan.Error{Code: baoguan.EINVALID, Reason: "bad_json", Message: fmt.Sprintf("the body is not valid JSON (at byte %d)", syntax.Offset)}
	case errors.Is(err, io.EOF):
		return &baoguan.Error{Code: baoguan.EINVALID, Reason: "bad_json", Message: "the body is empty"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &baoguan.Error{Code: baoguan.EINVALID, Field: f, Reason: "unknown_field", Message: "unknown field " + f}
	}
	return &baoguan.Error{Code: baoguan.EINVALID, Reason: "bad_json", Message: "the body is not valid JSON"}
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
	writeJSON(w, status(code), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
