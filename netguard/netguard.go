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

	"github.com/baoguan/baoguan"
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
	// Short connect and handshake timeouts: a receiver that cannot be
	// reached must give its place back soon (see core/delivery.go).
	d := &net.Dialer{
		Timeout:   3 * time.Second,
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
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		// A notification's answer is read for its status and at most 4 KB
		// of body (core.Post): asking for gzip would cost every request a
		// header map and a header, and the receiver its parsing.
		DisableCompression: true,
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

// The address rules follow the IANA special-purpose address registries
// (https://www.iana.org/assignments/iana-ipv4-special-registry and
// https://www.iana.org/assignments/iana-ipv6-special-registry, RFC 6890 and
// its updates; as of 2025): every block whose "Globally Reachable" is False
// or N/A is refused, and so is whatever is not unicast. docs/operations.md
// lists the same table.

// blocked4 are the IPv4 blocks the registry marks not globally reachable
// (or N/A), plus multicast. 192.0.0.0/24 is refused but for the two /32s
// the registry marks globally reachable (allowed4).
var blocked4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network" (RFC 791); 0.0.0.0 reaches the local host on Linux
	netip.MustParsePrefix("10.0.0.0/8"),         // private use (RFC 1918)
	netip.MustParsePrefix("100.64.0.0/10"),      // shared address space, carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback (RFC 1122)
	netip.MustParsePrefix("169.254.0.0/16"),     // link local, cloud metadata services (RFC 3927)
	netip.MustParsePrefix("172.16.0.0/12"),      // private use (RFC 1918)
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments (RFC 6890): DS-Lite, dummy, NAT64 discovery…
	netip.MustParsePrefix("192.0.2.0/24"),       // documentation, TEST-NET-1 (RFC 5737)
	netip.MustParsePrefix("192.88.99.0/24"),     // deprecated 6to4 relay anycast (RFC 7526), 6a44 relay (RFC 6751)
	netip.MustParsePrefix("192.168.0.0/16"),     // private use (RFC 1918)
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"),    // documentation, TEST-NET-2 (RFC 5737)
	netip.MustParsePrefix("203.0.113.0/24"),     // documentation, TEST-NET-3 (RFC 5737)
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast (RFC 5771): not a unicast destination
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved (RFC 1112)
	netip.MustParsePrefix("255.255.255.255/32"), // limited broadcast (RFC 919), inside 240/4 but listed by the registry
}

// allowed4 are the globally reachable exceptions inside blocked4.
var allowed4 = []netip.Addr{
	netip.MustParseAddr("192.0.0.9"),  // Port Control Protocol anycast (RFC 7723)
	netip.MustParseAddr("192.0.0.10"), // TURN anycast (RFC 8155)
}

// IPv6: only the global unicast space 2000::/3 (IANA IPv6 address space
// registry) can be a webhook's address; everything else (::/8 with the
// unspecified, loopback and deprecated IPv4-compatible ::a.b.c.d forms,
// 100::/64 discard-only, 64:ff9b:1::/48 local-use NAT64, 5f00::/16 SRv6
// SIDs, fc00::/7 unique local, fe80::/10 link local, fec0::/10 site local,
// ff00::/8 multicast, …) is refused, with two exceptions judged by the
// IPv4 address they carry: ::ffff:0:0/96 (IPv4-mapped) and 64:ff9b::/96
// (the well-known NAT64 prefix, RFC 6052).
var (
	global6 = netip.MustParsePrefix("2000::/3")
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4  = netip.MustParsePrefix("2002::/16") // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 carries AA.BB.CC.DD
)

// blocked6 are the blocks inside 2000::/3 the registry marks not globally
// reachable (or N/A).
var blocked6 = []netip.Prefix{
	netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments (RFC 2928), but for allowed6
	netip.MustParsePrefix("2001::/32"),     // Teredo (RFC 4380): reaches a client behind NAT through a relay; N/A
	netip.MustParsePrefix("2001:2::/48"),   // benchmarking (RFC 5180)
	netip.MustParsePrefix("2001:10::/28"),  // deprecated ORCHID (RFC 4843)
	netip.MustParsePrefix("2001:db8::/32"), // documentation (RFC 3849)
	netip.MustParsePrefix("3fff::/20"),     // documentation (RFC 9637)
}

// allowed6 are the globally reachable exceptions inside 2001::/23.
var allowed6 = []netip.Prefix{
	netip.MustParsePrefix("2001:1::1/128"),   // Port Control Protocol anycast (RFC 7723)
	netip.MustParsePrefix("2001:1::2/128"),   // TURN anycast (RFC 8155)
	netip.MustParsePrefix("2001:1::3/128"),   // DNS-SD service registration anycast (RFC 9665)
	netip.MustParsePrefix("2001:3::/32"),     // AMT (RFC 7450)
	netip.MustParsePrefix("2001:4:112::/48"), // AS112-v6 (RFC 7535)
	netip.MustParsePrefix("2001:20::/28"),    // ORCHIDv2 (RFC 7343)
	netip.MustParsePrefix("2001:30::/28"),    // drone remote ID entity tags (RFC 9374)
}

// Allowed reports whether a notification may be sent to ip: only an
// address the IANA special-purpose registries leave globally reachable, and
// unicast. It refuses loopback, private, shared (CGN), link-local,
// documentation, benchmarking, reserved, broadcast and multicast IPv4
// blocks, the IETF-assignment block 192.0.0.0/24 (but for its two anycast
// addresses), every IPv6 address outside 2000::/3 (unique local, link
// local, discard, local-use NAT64, IPv4-compatible, …) and the
// non-reachable blocks inside it (Teredo, ORCHID, benchmarking,
// documentation). IPv4 addresses written as IPv6 — ::ffff:a.b.c.d,
// NAT64 64:ff9b::a.b.c.d and 6to4 2002:AABB:CCDD:: — are judged by the
// IPv4 address they carry. An invalid ip is refused.
func Allowed(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	return allowedAddr(a)
}

// allowedAddr is Allowed for a netip.Addr, the form the dial hook has.
func allowedAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	// The zone of a scoped address does not change which host it reaches.
	a = a.WithZone("")
	if a.Is6() && !a.Is4In6() {
		switch {
		case nat64.Contains(a):
			b := a.As16()
			return allowed4Addr(netip.AddrFrom4([4]byte(b[12:16])))
		case sixTo4.Contains(a):
			b := a.As16()
			return allowed4Addr(netip.AddrFrom4([4]byte(b[2:6])))
		case !global6.Contains(a):
			return false
		}
		for _, p := range allowed6 {
			if p.Contains(a) {
				return true
			}
		}
		for _, p := range blocked6 {
			if p.Contains(a) {
				return false
			}
		}
		return true
	}
	// IPv4, or IPv4-mapped IPv6 (::ffff:a.b.c.d), which connects to the
	// IPv4 address it carries.
	return allowed4Addr(a.Unmap())
}

// allowed4Addr judges an IPv4 address.
func allowed4Addr(a netip.Addr) bool {
	for _, x := range allowed4 {
		if a == x {
			return true
		}
	}
	for _, p := range blocked4 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckURL validates a notify URL when a merchant sets it: it must be an
// absolute http or https URL (any other scheme — ftp, file, gopher, data,
// javascript, ws… — is refused here, when the URL is configured, not when a
// delivery fails) with a host, an optional port in 1-65535, no user name or
// password, no control or bidirectional characters, and at most 2048
// bytes. The error names the
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
	// Control and bidirectional characters would be stored and shown in
	// logs and pages as something other than what is requested.
	if err := baoguan.CheckText("notify URL", raw); err != nil {
		return errors.New(baoguan.ErrorMessage(err))
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
