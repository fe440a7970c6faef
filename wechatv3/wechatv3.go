// Package wechatv3 serves WeChat Pay's APIv3 customs family (报关接口:
// declare, query, modify, redeclare, verify-certificate) and the platform
// certificate download, in WeChat's own wire format, so that WeChat's
// official SDKs work against baoguan when pointed at its URL with the
// merchant's API key and baoguan's platform certificate.
//
// Security is WeChat's: requests carry a WECHATPAY2-SHA256-RSA2048
// Authorization header verified with the merchant certificate the operator
// registered; every response is signed with the installation's platform key
// (package platform) and carries the Wechatpay-* headers. Errors are
// WeChat's {code, message, detail}. The package only translates: orders,
// declarations, amounts and states are the core's.
package wechatv3

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/platform"
)

// Protocol is the name of this front-end in the core: the platform key is
// loaded under it and merchant settings are "wechatv3.<flag>".
const Protocol = "wechatv3"

// Merchant settings this front-end reads (set by `baoguan merchant key
// --protocol wechatv3`).
const (
	settingMchID     = Protocol + ".mchid"      // WeChat merchant number, names the merchant in requests
	settingCert      = Protocol + ".cert"       // merchant API certificate(s), PEM
	settingPublicKey = Protocol + ".public-key" // or a bare public key, PEM ...
	settingSerial    = Protocol + ".serial"     // ... with the serial the merchant signs with
	settingAPIv3Key  = Protocol + ".apiv3-key"  // 32-byte key the certificate list is encrypted with
)

// Options configure the front-end.
type Options struct {
	Svc *core.Service
	Log *slog.Logger
	// MaxBody caps a request body (default 64 KiB; WeChat's requests are
	// a few hundred bytes).
	MaxBody int64
	// ClockSkew is how far a request's timestamp may be from baoguan's
	// clock (default 5 minutes, as WeChat).
	ClockSkew time.Duration
	// RateLimit is the sustained number of requests per second one mchid
	// may make, and RateBurst how many it may make at once, before
	// FREQUENCY_LIMITED (defaults 100 and 200). A negative RateLimit
	// turns the limit off.
	RateLimit float64
	RateBurst int
}

// Server is the WeChat Pay APIv3 customs front-end.
type Server struct {
	svc     *core.Service
	log     *slog.Logger
	key     *platform.Key
	serial  string // platform certificate serial as WeChat and its SDKs write it
	maxBody int64
	skew    time.Duration
	// rate and burst bound requests per mchid, through a token bucket kept
	// in the database so the limit holds across instances; rate < 0: none.
	rate  float64
	burst int
}

// New loads (on first start: generates and stores) the platform key and
// returns the server. It fails when Svc is missing or the key cannot be
// loaded.
func New(o Options) (*Server, error) {
	if o.Svc == nil {
		return nil, errors.New("wechatv3: Options.Svc is required")
	}
	key, err := o.Svc.PlatformKey(context.Background(), Protocol)
	if err != nil {
		return nil, err
	}
	s := &Server{svc: o.Svc, log: o.Log, key: key, serial: certSerial(key.Cert), maxBody: o.MaxBody, skew: o.ClockSkew}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = 64 << 10
	}
	if s.skew <= 0 {
		s.skew = 5 * time.Minute
	}
	rate, burst := o.RateLimit, o.RateBurst
	if rate == 0 {
		rate = 100
	}
	if burst <= 0 {
		burst = 200
	}
	s.rate, s.burst = rate, burst
	return s, nil
}

// Register adds every route under prefix (e.g. "/wechatpay") to mux.
func (s *Server) Register(mux *http.ServeMux, prefix string) {
	s.routes(mux, prefix)
}

// Handler serves the same routes at the root, for the dedicated listener
// (--wechatv3-addr), where SDKs can be pointed with only a host change.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux, "")
	return mux
}
