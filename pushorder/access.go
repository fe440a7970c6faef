package pushorder

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// The vendor document authenticates nobody: the body names the merchant
// (MerchantName) and that is all. On a gateway shared by many merchants
// that would let anyone push orders, spend a merchant's funding account and
// read its payers' payment records, so baoguan binds each merchant's
// pushorder access to what an unchanged client can still carry:
//
//   - an access token, a secret path segment the merchant puts in the base
//     URL it configures (https://gateway/pushorder/{token}/PushOrder), and
//   - an allow-list of source networks.
//
// The operator sets either or both with `baoguan merchant key --protocol
// pushorder --access-token T --allow-net 203.0.113.0/24`. When both are set,
// both must hold. A merchant with neither has no pushorder access at all.
// A request that fails any check, or names a merchant that does not exist,
// gets the same 9912 answer, writes nothing, and is logged for the
// operator with the reason.

// denied is the error of every failed access check; the caller learns no
// more than that, the operator's log gets the reason.
var denied = &baoguan.Error{Code: baoguan.EFORBIDDEN, Reason: reasonNoAccess, Message: "pushorder access denied"}

// caller returns the merchant a request names, if the request may speak
// for it.
func (s *Server) caller(r *http.Request, name string) (*baoguan.Merchant, error) {
	refuse := func(why string) (*baoguan.Merchant, error) {
		s.log.Warn("pushorder access refused", "merchant_name", name, "remote", r.RemoteAddr,
			"client_ip", s.clientIP(r).String(), "path_token", r.PathValue("token") != "", "reason", why,
			"request_id", r.Header.Get("X-Request-Id"))
		return nil, denied
	}
	// Failed checks count against the source (the address allow-net
	// sees) and, once the name is a merchant's, the merchant
	// (core.Service.AuthAllowed); over either limit nothing is checked.
	src := s.clientIP(r).String()
	if !s.clientIP(r).IsValid() {
		src = r.RemoteAddr
	}
	// Only a wrong token counts against the merchant: it is the one
	// secret to guess; an address outside allow-net has nothing to try,
	// and counting it would let anyone lock the merchant out.
	subject := ""
	failedAs := func(subject, why string) (*baoguan.Merchant, error) {
		_, err := refuse(why)
		return nil, s.svc.AuthFailed(r.Context(), src, subject, err)
	}
	failed := func(why string) (*baoguan.Merchant, error) { return failedAs("", why) }
	if err := s.svc.AuthAllowed(r.Context(), src, ""); err != nil {
		return nil, err
	}
	if name == "" {
		return failed("MerchantName is empty")
	}
	m, err := s.svc.MerchantByName(r.Context(), name)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return failed("no merchant of that name")
	}
	if err != nil {
		return nil, err
	}
	subject = core.AuthMerchant(m)
	if err := s.svc.AuthAllowed(r.Context(), src, subject); err != nil {
		return nil, err
	}
	token := strings.TrimSpace(m.Settings[SettingAccessToken])
	nets, bad := parseNets(m.Settings[SettingAllowNet])
	if len(bad) > 0 {
		s.log.Warn("pushorder allow-net entries ignored", "merchant", m.No, "entries", strings.Join(bad, ","))
	}
	if token == "" && m.Settings[SettingAllowNet] == "" {
		return failed("pushorder access is not enabled for this merchant (no access-token, no allow-net)")
	}
	given := r.PathValue("token")
	switch {
	case token == "" && given != "":
		return failed("the path holds a token but the merchant has none")
	case token != "" && subtle.ConstantTimeCompare([]byte(given), []byte(token)) != 1:
		// A token replaced with a grace period (baoguan merchant key
		// --grace) still opens the door until the period ends.
		old, err := s.svc.RetiredSettingValues(r.Context(), m, SettingAccessToken)
		if err != nil {
			return nil, err
		}
		ok := false
		for _, o := range old {
			o = strings.TrimSpace(o)
			ok = ok || given != "" && subtle.ConstantTimeCompare([]byte(given), []byte(o)) == 1
		}
		if !ok {
			return failedAs(subject, "the path token is missing or wrong")
		}
	}
	if m.Settings[SettingAllowNet] != "" {
		ip := s.clientIP(r)
		ok := false
		for _, p := range nets {
			if p.Contains(ip) {
				ok = true
				break
			}
		}
		if !ok {
			return failed("the client address is not in the merchant's allow-net")
		}
	}
	return m, nil
}

// parseNets reads an allow-net setting: comma-separated CIDR prefixes or
// single addresses. Entries that do not parse are returned in bad and allow
// nothing, so a typo narrows access instead of widening it.
func parseNets(setting string) (nets []netip.Prefix, bad []string) {
	for _, part := range strings.Split(setting, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			nets = append(nets, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(part); err == nil {
			a = a.Unmap()
			nets = append(nets, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		bad = append(bad, part)
	}
	return nets, bad
}

// clientIP is the address allow-net is checked against: the connection's
// peer, or, when the peer is a trusted proxy, the rightmost address in
// X-Forwarded-For that is not one (addresses further left are whatever the
// client chose to write). The invalid Addr, which no prefix contains, when
// nothing parses.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		a, err := netip.ParseAddr(h)
		if err != nil {
			return netip.Addr{} // a hop we cannot read: trust nothing left of it
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
