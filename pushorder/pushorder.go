// Package pushorder serves the "支付报关系统 API" (PushOrder / GetOrder, v1.1
// of 2018-07-13) that many ERP and WMS systems already speak: an order is
// pushed as JSON in the form field data, paid from the merchant's funding
// account and declared to customs (the "支付+报关" service), queried by
// order number, and reported back by a data= form callback answered with
// "ok".
//
// The package only translates. It decodes the vendor's loose wire format
// (keys with spaces around them, numbers written 100.0, JSON sent unencoded
// inside a form), authenticates the caller, calls core.Service, and answers
// with the document's ReturnCode values. Every rule about orders, amounts
// and states lives in the core.
//
// The vendor document has no authentication; see access.go and
// docs/protocols/pushorder.md for how baoguan binds a MerchantName to its
// caller.
package pushorder

import (
	"errors"
	"log/slog"
	"net/netip"

	"github.com/baoguan/baoguan/core"
)

// Protocol is this front-end's name in the core: orders it creates carry it,
// so their notifications are rendered by the Format from NewFormat, and
// merchant settings are read from Merchant.Settings["pushorder.<flag>"].
const Protocol = "pushorder"

// Merchant settings this front-end reads, set by
// `baoguan merchant key --protocol pushorder`.
const (
	// SettingAccessToken is the secret path segment the merchant's client
	// puts before the endpoint name: /pushorder/{token}/PushOrder.
	SettingAccessToken = Protocol + ".access-token"
	// SettingAllowNet is a comma-separated list of networks (CIDR, or single
	// addresses) the merchant's requests may come from.
	SettingAllowNet = Protocol + ".allow-net"
	// SettingCallbackURL is where the data= callback goes; the merchant's
	// notify URL when unset.
	SettingCallbackURL = Protocol + ".callback-url"
)

// defaultMaxBody caps a request body. One order is well under a kilobyte;
// the cap only stops a client from streaming without end.
const defaultMaxBody = 1 << 20

// Options configure the front-end.
type Options struct {
	// Svc is the core every request is translated to. Required.
	Svc *core.Service
	// Log receives internal errors (with the request id) and refused access
	// attempts; discarded when nil.
	Log *slog.Logger
	// MaxBody caps a request body in bytes (default 1 MiB). A larger body
	// is answered 9904 (PushOrder) or 9999 (GetOrder).
	MaxBody int64
	// TrustedProxies are the reverse proxies allowed to name the client in
	// X-Forwarded-For. A merchant's allow-net is checked against the
	// connection's address unless that address is one of these; then the
	// rightmost X-Forwarded-For address that is not a trusted proxy counts.
	// Empty means X-Forwarded-For is ignored, which is right when clients
	// connect directly.
	TrustedProxies []netip.Prefix
}

// Server serves the PushOrder, PushTestOrder, GetOrder and GetTestOrder
// endpoints. Build it with New.
type Server struct {
	svc     *core.Service
	log     *slog.Logger
	maxBody int64
	proxies []netip.Prefix
}

// New returns the front-end. It fails when Options.Svc is missing, because
// a server without a core would answer every push with 9910.
func New(o Options) (*Server, error) {
	if o.Svc == nil {
		return nil, errors.New("pushorder: Options.Svc is required")
	}
	s := &Server{svc: o.Svc, log: o.Log, maxBody: o.MaxBody, proxies: o.TrustedProxies}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = defaultMaxBody
	}
	return s, nil
}
