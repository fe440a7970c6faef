// Package payzero serves the Payzero QuickPay API (payzero's "china quick
// payment API" document of 2019): JWT login with a merchant's app id and
// app key, automatic payment of order batches and single orders, QR-code
// and bank-card quick-pay collection, virtual payment, real-name checks,
// declaration of paid orders to customs, refunds, and signed JSON
// notifications acknowledged with "OK".
//
// A merchant integration written for payzero works against baoguan by
// changing its base URL to http://HOST:PORT/payzero (or the root of the
// dedicated --payzero-addr listener). The package only translates: it
// decodes payzero's JSON, authenticates the bearer token, calls
// core.Service, and answers in payzero's envelope {success, errorMsg,
// errorCode, data} with the document's error codes. Every rule about
// orders, cards, agreements, SMS codes and QR codes lives in the core
// (core/payments*.go and the other capability files) or, for the
// sandbox's own rules, in package sandbox. docs/protocols/payzero.md lists each interface and
// what baoguan decided where the document is silent.
package payzero

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/baoguan/baoguan/core"
)

// Protocol is this front-end's name in the core: orders it creates carry
// it, so their notifications are rendered by the Format from NewFormat, and
// merchant settings are read from Merchant.Settings["payzero.<flag>"].
const Protocol = "payzero"

// SettingNotifyURL is the merchant-level notification URL (payzero 3.1),
// set with `baoguan merchant key --protocol payzero --notify-url URL`. The
// merchant's general notify URL is used when it is unset.
const SettingNotifyURL = Protocol + ".notify-url"

// settingJWTSecret names the installation secret that signs login tokens
// (core.Service.InstallationSecret): generated on first use, the same for
// every instance on one database.
const settingJWTSecret = "payzero.jwt-secret"

// TokenTTL is how long a login token is valid (payzero §1: 4 hours).
const TokenTTL = 4 * time.Hour

const (
	defaultMaxBody      = 1 << 20  // one order or request is well under this
	defaultMaxBatchBody = 32 << 20 // room for baoguan.MaxBatchOrders orders
)

// Options configure the front-end.
type Options struct {
	// Svc is the core every request is translated to. Required.
	Svc *core.Service
	// Log receives internal errors with the request id; discarded when nil.
	Log *slog.Logger
	// PublicURL is the base URL shoppers' browsers reach this front-end at
	// (e.g. https://gw.example.com/payzero), used in sandbox QR code links.
	// When empty, the link is built from the request's Host and prefix.
	PublicURL string
	// MaxBody caps a request body (default 1 MiB); a batch upload may be
	// MaxBatchBody (default 32 MiB).
	MaxBody      int64
	MaxBatchBody int64
}

// Server serves every interface of the payzero document. Build it with New.
type Server struct {
	svc          *core.Service
	log          *slog.Logger
	publicURL    string
	maxBody      int64
	maxBatchBody int64
	mux          *http.ServeMux // the routes, rooted at "/"

	keyMu sync.Mutex
	key   []byte // the JWT key once loaded
}

// New returns the front-end. It fails when Options.Svc is missing.
func New(o Options) (*Server, error) {
	if o.Svc == nil {
		return nil, errors.New("payzero: Options.Svc is required")
	}
	s := &Server{svc: o.Svc, log: o.Log, publicURL: o.PublicURL, maxBody: o.MaxBody, maxBatchBody: o.MaxBatchBody}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = defaultMaxBody
	}
	if s.maxBatchBody <= 0 {
		s.maxBatchBody = defaultMaxBatchBody
	}
	s.mux = http.NewServeMux()
	s.routes(s.mux)
	return s, nil
}
