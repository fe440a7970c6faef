// Package console is baoguan's web console at /console: server-rendered
// pages (html/template, embedded assets, a little progressive JavaScript)
// in Chinese and English for merchants' operations staff and for the
// gateway's operators. Like every front-end it only translates: it
// authenticates through core, calls core and renders what core returns.
//
// Security: sessions are random cookie tokens (HttpOnly, SameSite=Lax,
// Secure when the request came over TLS, directly or — with
// TrustForwardedProto — through a proxy saying X-Forwarded-Proto: https);
// every form carries the session's CSRF token and a POST without it is
// refused with 403; logins are rate limited in the database
// (core.Service.Login). A merchant user's URLs name their merchant
// (/console/m/{merchant_no}/…): any other merchant number, and any object
// of another merchant, is 404, exactly like an object that does not exist.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Protocol is the name orders created in the console carry.
const Protocol = "console"

// Prefix is where the console is mounted.
const Prefix = "/console"

// Cookie names.
const (
	sessionCookie = "bg_session"
	loginCSRF     = "bg_login_csrf"
	langCookie    = "bg_lang"
)

// Options configure the console.
type Options struct {
	Svc *core.Service
	Log *slog.Logger
	// TrustForwardedProto makes a request with X-Forwarded-Proto: https
	// count as TLS when deciding the Secure flag of cookies. Set it only
	// when a TLS-terminating proxy in front of baoguan sets that header
	// (and strips it from clients).
	TrustForwardedProto bool
}

// Console serves /console.
type Console struct {
	svc      *core.Service
	log      *slog.Logger
	trustXFP bool
	pages    map[string]*template.Template
}

// New returns the console.
func New(o Options) *Console {
	c := &Console{svc: o.Svc, log: o.Log, trustXFP: o.TrustForwardedProto}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.pages = parsePages()
	return c
}

// viewerKey carries the signed-in viewer in a request's context.
type ctxKey int

const viewerKey ctxKey = 1

func viewerOf(r *http.Request) *core.Viewer {
	v, _ := r.Context().Value(viewerKey).(*core.Viewer)
	return v
}

// secure reports whether the client reached us over TLS.
func (c *Console) secure(r *http.Request) bool {
	return r.TLS != nil || c.trustXFP && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, HttpOnly: true, Secure: c.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds())})
}

// headers are sent with every console response: no framing, no sniffing,
// scripts only from the console itself, no caching of personal pages.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// authed requires a session; a browser without one is sent to the login
// page. POSTs must carry the session's CSRF token.
func (c *Console) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		ck, _ := r.Cookie(sessionCookie)
		token := ""
		if ck != nil {
			token = ck.Value
		}
		v, err := c.svc.Authenticate(r.Context(), token)
		if baoguan.ErrorCode(err) == baoguan.EUNAUTHORIZED {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, err)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if r.Method == http.MethodPost && !csrfOK(r, v.Session.CSRF) {
			c.fail(w, r, errCSRF)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), viewerKey, v)))
	})
}

var errCSRF = &baoguan.Error{Code: baoguan.EFORBIDDEN, Reason: "csrf", Message: "the form is missing its security token or it is stale; reload the page and try again"}

// csrfOK checks the form's token (or the X-CSRF-Token header of a script's
// request) against want, in constant time.
func csrfOK(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = formValue(r, "csrf")
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// formValue reads a form field of a urlencoded or multipart body.
func formValue(r *http.Request, name string) string {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if r.MultipartForm == nil {
			if err := r.ParseMultipartForm(8 << 20); err != nil {
				return ""
			}
		}
	}
	return r.FormValue(name)
}

// merchantFor resolves the {merchant} of a URL for the viewer: a merchant
// user gets their own merchant only, anything else is ENOTFOUND, the same
// answer as for a merchant that does not exist.
func (c *Console) merchantFor(r *http.Request) (*baoguan.Merchant, error) {
	v := viewerOf(r)
	no := r.PathValue("merchant")
	if !v.Operator() {
		if v.Merchant == nil || v.Merchant.No != no {
			return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "not found"}
		}
		return v.Merchant, nil
	}
	return c.svc.MerchantByNo(r.Context(), no)
}

// operator guards the operator pages: a merchant user gets 404, so the
// pages' existence is not confirmed to them either.
func (c *Console) operator(h http.HandlerFunc) http.Handler {
	return c.authed(func(w http.ResponseWriter, r *http.Request) {
		if !viewerOf(r).Operator() {
			c.fail(w, r, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "not found"})
			return
		}
		h(w, r)
	})
}

// statusOf maps a core error to the HTTP status of the error page.
func statusOf(err error) int {
	switch baoguan.ErrorCode(err) {
	case baoguan.EINVALID, baoguan.ELIMIT:
		return http.StatusBadRequest
	case baoguan.ENOTFOUND:
		return http.StatusNotFound
	case baoguan.ECONFLICT, baoguan.ESTATE, baoguan.EINSUFFICIENT:
		return http.StatusConflict
	case baoguan.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case baoguan.ERATELIMIT:
		return http.StatusTooManyRequests
	case baoguan.EFORBIDDEN, baoguan.EMERCHANT:
		return http.StatusForbidden
	case baoguan.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// fail renders the error page. Internal errors are logged with the
// request id and shown only as "something went wrong".
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if s := baoguan.RetryAfter(err); s > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	msg := ""
	var e *baoguan.Error
	if status == http.StatusInternalServerError || !errors.As(err, &e) {
		c.log.Error("console", "request_id", r.Header.Get("X-Request-Id"), "path", r.URL.Path, "err", err)
		status = http.StatusInternalServerError
	} else {
		msg = e.Message
		if status == http.StatusNotFound {
			msg = "" // the page says "not found"; never which merchant owns what
		}
	}
	c.render(w, r, status, "error", map[string]any{"Status": status, "Message": msg})
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientIP is the address the login rate limit counts by: the TCP peer.
// X-Forwarded-For is not used: a client could rotate it to escape the limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// staticHandler serves the embedded stylesheet and script.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix(Prefix+"/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}
