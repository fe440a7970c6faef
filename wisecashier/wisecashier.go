// Package wisecashier serves the WiseCashier open API (seed 002: WeChat Pay
// mainland and Hong Kong wallets, Alipay online and offline, bills, customs
// declarations to WeChat Pay and Alipay, payment notifications) for agents
// (服务商) acting for their merchants, so that an integration written
// against WiseCashier works against baoguan when pointed at its URL.
//
// A request is signed by the agent (AgentNo, Signature, Version, Timestamp
// headers; RSA-SHA256 over the sorted, URL-encoded parameters) and names
// one of the agent's merchants; amounts are in the order's currency, with
// the exchange rate to CNY the payment used. Answers are the document's
// {"meta":{...},"data":...} envelope with HTTP statuses 400, 401, 411, 403,
// 404, 500, 503 and 555. Notifications are signed form POSTs.
//
// The package only translates: agents, merchants, orders, wallet payment
// modes, currencies, refunds and declarations are the core's, and the
// sandbox wallet pages it hosts complete payments through the core.
// docs/protocols/wisecashier.md lists every interface and every choice
// made where the document is silent.
package wisecashier

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/platform"
)

// Protocol is this front-end's name in the core: its orders carry it (so
// their notifications are rendered by NewFormat's format), its platform key
// is loaded under it, and agents' keys are "wisecashier.public-key".
const Protocol = "wisecashier"

// Options configure the front-end.
type Options struct {
	Svc *core.Service // required
	Log *slog.Logger
	// PublicURL is the base URL browsers reach this front-end at (e.g.
	// https://gw.example.com/wisecashier), used in the links to the sandbox
	// wallet pages; when empty, links are built from the request.
	PublicURL string
	// MaxBody caps a request body (default 64 KiB).
	MaxBody int64
	// Window is how far a request's Timestamp may be from baoguan's clock
	// before it is refused with 411 (default 5 minutes).
	Window time.Duration
	// RateLimit is the sustained number of requests per second one agent
	// may make, RateBurst how many at once, before 503 (defaults 100 and
	// 200); a negative RateLimit turns the limit off.
	RateLimit float64
	RateBurst int
}

// Server serves every interface of the document. Build it with New.
type Server struct {
	svc       *core.Service
	log       *slog.Logger
	key       *platform.Key
	publicURL string
	maxBody   int64
	window    time.Duration
	rate      float64
	burst     int
}

// New loads (on first start: generates and stores) the platform key that
// signs notifications and client payment parameters, and returns the
// front-end. It fails when Svc is missing or the key cannot be loaded.
func New(o Options) (*Server, error) {
	if o.Svc == nil {
		return nil, errors.New("wisecashier: Options.Svc is required")
	}
	key, err := o.Svc.PlatformKey(context.Background(), Protocol)
	if err != nil {
		return nil, err
	}
	s := &Server{svc: o.Svc, log: o.Log, key: key, publicURL: strings.TrimRight(o.PublicURL, "/"),
		maxBody: o.MaxBody, window: o.Window, rate: o.RateLimit, burst: o.RateBurst}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = 64 << 10
	}
	if s.window <= 0 {
		s.window = 5 * time.Minute
	}
	if s.rate == 0 {
		s.rate = 100
	}
	if s.burst <= 0 {
		s.burst = 200
	}
	return s, nil
}

// Key is the platform key merchants verify notifications and client
// payment parameters with (`baoguan platform-cert --protocol wisecashier`).
func (s *Server) Key() *platform.Key { return s.key }

// Register adds every route under prefix (e.g. "/wisecashier") to mux.
func (s *Server) Register(mux *http.ServeMux, prefix string) { s.routes(mux, prefix) }

// Handler serves the same routes at the root, for the dedicated listener
// (--wisecashier-addr), where an integration changes only its host.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux, "")
	return mux
}

// keyBase carries the mount prefix to handlers that build links.
type ctxKey struct{}

var keyBase ctxKey

// baseURL is the front-end's public base: Options.PublicURL, else the
// request's scheme, host and prefix.
func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	prefix, _ := r.Context().Value(keyBase).(string)
	return scheme + "://" + r.Host + prefix
}
