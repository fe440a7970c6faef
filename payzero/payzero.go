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
// (core/payzero_*.go). docs/protocols/payzero.md lists each interface and
// what baoguan decided where the document is silent.
package payzero

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
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

// settingJWTSecret is the installation setting holding the HMAC key that
// signs login tokens. It is generated on first use and stored with
// onlyNew, so every instance on one database signs with the same key.
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
	// Store holds the login-token key and is read to authenticate tokens;
	// Svc.Store when nil.
	Store baoguan.Store
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
	store        baoguan.Store
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
	s := &Server{svc: o.Svc, store: o.Store, log: o.Log, publicURL: o.PublicURL, maxBody: o.MaxBody, maxBatchBody: o.MaxBatchBody}
	if s.store == nil {
		s.store = o.Svc.Store
	}
	if s.store == nil {
		return nil, errors.New("payzero: no store: set Options.Store or Options.Svc.Store")
	}
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
