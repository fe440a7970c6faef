// Package netguard makes the outbound HTTP requests that deliver
// notifications to merchant-supplied URLs without letting those URLs reach
// the gateway's own network (server-side request forgery).
//
// A notify URL is chosen by the merchant, so it might name 127.0.0.1, a cloud
// metadata service at 169.254.169.254, or a host whose DNS answer points
// inside the operator's network. Checking the URL's host when it is saved is
// not enough, because DNS can answer differently at delivery time (DNS
// rebinding). The client from Client therefore checks the address each
// connection is actually made to, after resolution, and refuses non-public
// ones unless the operator started the gateway with --allow-private-notify
// (for development, or for merchants on the same private network).
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNotAllowed is wrapped by the error a request fails with when its
// connection would go to an address Allowed refuses.
var ErrNotAllowed = errors.New("address is not allowed for notifications (loopback, private, link-local or other non-public address); start the gateway with --allow-private-notify to permit it")

// maxURLLength bounds a notify URL. Real ones are far shorter; the cap keeps
// a merchant from storing arbitrary blobs in a column that is echoed back
// in every notification log line.
const maxURLLength = 2048

// Client returns an http.Client for delivering notifications.
//
// The whole request, including reading the body, is limited to timeout.
// Redirects are not followed: the 3xx response is returned as is, both
// because the redirect target would be a second, unchecked URL and because
// a notification must reach the URL the merchant configured. Connections are
// kept alive and reused, since a gateway sends many notifications to the same
// few merchants.
//
// Unless allowPrivate is true, every connection is checked at connect time,
// after DNS resolution, and refused if Allowed rejects the address; the
// request then fails with an error wrapping ErrNotAllowed. Environment proxy
// settings are ignored, because through a proxy the check would apply to the
// proxy's address instead of the merchant's.
func Client(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
	}
	if !allowPrivate {
		d.Control = control
	}
	t := &http.Transport{
		Proxy:             nil,
		DialContext:       d.DialContext,
		ForceAttemptHTTP2: true, // a custom dialer otherwise turns HTTP/2 off
		// Notifications to one merchant come from many job workers at once;
		// keeping their connections alive saves a dial per notification.
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// control is the dialer's Control hook. It runs just before connect(2) with
// the numeric address the socket is about to use, which is what makes the
// check immune to DNS rebinding: whatever a name resolved to, this is the
// address actually dialed, once per address tried.
func control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("netguard: unexpected dial address %q: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		// Control only ever sees resolved addresses; anything else is
		// refused rather than waved through.
		return fmt.Errorf("netguard: %s: %w", address, ErrNotAllowed)
	}
	if !allowedAddr(ip) {
		return fmt.Errorf("netguard: %s: %w", ip, ErrNotAllowed)
	}
	return nil
}

// Non-public ranges that net.IP has no predicate for.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT (RFC 6598), often the provider's internal network
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"; 0.0.0.0 itself reaches the local host on Linux
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking (RFC 2544), not routed publicly but used inside some networks
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, including the limited broadcast 255.255.255.255
	netip.MustParsePrefix("fec0::/10"),     // deprecated site-local, still routed inside some networks
}

// nat64 is the well-known NAT64 prefix (RFC 6052): such an address is an
// IPv4 address in disguise, and a NAT64 gateway would carry the connection
// to whatever IPv4 address it embeds, so that address is what is checked.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Allowed reports whether a notification may be sent to ip. It refuses
// loopback, private (RFC 1918, fc00::/7), link-local (169.254.0.0/16,
// fe80::/10), unspecified, multicast and carrier-grade NAT (100.64.0.0/10)
// addresses, a few other ranges that are never public, and an invalid ip.
// IPv4 addresses written as IPv6 (::ffff:a.b.c.d, or NAT64 64:ff9b::a.b.c.d)
// are judged by the IPv4 address they carry.
func Allowed(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	return allowedAddr(a)
}

// allowedAddr is Allowed for a netip.Addr, the form the dial hook has.
func allowedAddr(a netip.Addr) bool {
	// The zone of a scoped address does not change which host it reaches,
	// and mapped forms must not hide an IPv4 loopback or private address.
	a = a.WithZone("").Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:16]))
	}
	if !a.IsValid() ||
		a.IsLoopback() ||
		a.IsPrivate() ||
		a.IsLinkLocalUnicast() ||
		a.IsUnspecified() ||
		a.IsMulticast() { // includes link- and interface-local multicast
		return false
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckURL validates a notify URL when a merchant sets it: it must be an
// absolute http or https URL with a host, an optional port in 1-65535, no
// user name or password, and at most 2048 bytes. The error names the
// problem. CheckURL does not look the host up: where it points is checked
// each time a notification is delivered (see Client).
func CheckURL(raw string) error {
	if raw == "" {
		return errors.New("notify URL is empty")
	}
	if len(raw) > maxURLLength {
		return fmt.Errorf("notify URL is %d bytes long, more than the %d allowed", len(raw), maxURLLength)
	}
	if strings.TrimSpace(raw) != raw {
		return errors.New("notify URL has leading or trailing spaces")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors repeat the input, which is the merchant's own.
		return fmt.Errorf("notify URL is malformed: %w", err)
	}
	switch u.Scheme {
	case "http", "https": // url.Parse lower-cases the scheme
	case "":
		return errors.New("notify URL has no scheme; it must start with http:// or https://")
	default:
		return fmt.Errorf("notify URL scheme %q is not allowed; use http or https", u.Scheme)
	}
	if u.Opaque != "" {
		return fmt.Errorf("notify URL must be %s://host/...", u.Scheme)
	}
	// Credentials in a URL end up in logs and in the merchant dashboard;
	// merchants should authenticate notifications by their signature.
	if u.User != nil {
		return errors.New("notify URL must not contain a user name or password")
	}
	if u.Hostname() == "" {
		return errors.New("notify URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("notify URL port %q is not in 1-65535", p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return errors.New("notify URL has an empty port")
	}
	return nil
}
