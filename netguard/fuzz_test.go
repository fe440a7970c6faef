package netguard

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAllowed checks every IPv4 address against the registry table
// written out independently below, and that its IPv6 disguises are judged
// alike: ::ffff:a.b.c.d and 64:ff9b::a.b.c.d as the address itself,
// 2002:AABB:CCDD:: (6to4) too, and ::a.b.c.d (IPv4-compatible, never
// routed) always refused. No address is dialed.
func FuzzAllowed(f *testing.F) {
	for _, c := range registryCases {
		a, err := netip.ParseAddr(c.ip)
		if err == nil {
			b := a.As16()
			f.Add(b[:])
		}
	}
	f.Add([]byte{127, 0, 0, 1})
	f.Add([]byte{192, 0, 0, 9})
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, ok := netip.AddrFromSlice(raw)
		if !ok {
			if Allowed(raw) {
				t.Fatalf("Allowed(%x) for an invalid address", raw)
			}
			return
		}
		got := allowedAddr(a)
		if a.Is4() || a.Is4In6() {
			v4 := a.Unmap().As4()
			if want := public4(v4); got != want {
				t.Fatalf("Allowed(%s) = %v, want %v", a, got, want)
			}
			b := v4
			nat := netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 10: 0, 11: 0, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
			six := netip.AddrFrom16([16]byte{0x20, 0x02, b[0], b[1], b[2], b[3], 15: 1})
			compat := netip.AddrFrom16([16]byte{12: b[0], 13: b[1], 14: b[2], 15: b[3]})
			if allowedAddr(nat) != got || allowedAddr(six) != got || allowedAddr(compat) {
				t.Fatalf("%s: NAT64 %s → %v, 6to4 %s → %v, compatible %s → %v; want %v, %v, false",
					a, nat, allowedAddr(nat), six, allowedAddr(six), compat, allowedAddr(compat), got, got)
			}
			return
		}
		// IPv6: nothing outside 2000::/3 but the disguised IPv4 forms.
		b := a.As16()
		if got && b[0]&0xe0 != 0x20 && !(b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {
			t.Fatalf("Allowed(%s) outside 2000::/3", a)
		}
		if got && (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 || b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
			t.Fatalf("Allowed(%s) in documentation or Teredo space", a)
		}
	})
}

// public4 is the IPv4 registry as a decision on the four bytes.
func public4(b [4]byte) bool {
	switch {
	case b[0] == 0, b[0] == 10, b[0] == 127, b[0] >= 224:
		return false
	case b[0] == 100 && b[1]&0xc0 == 64:
		return false
	case b[0] == 169 && b[1] == 254:
		return false
	case b[0] == 172 && b[1]&0xf0 == 16:
		return false
	case b[0] == 192 && b[1] == 0 && b[2] == 0:
		return b[3] == 9 || b[3] == 10
	case b[0] == 192 && b[1] == 0 && b[2] == 2, b[0] == 192 && b[1] == 88 && b[2] == 99, b[0] == 192 && b[1] == 168:
		return false
	case b[0] == 198 && b[1]&0xfe == 18, b[0] == 198 && b[1] == 51 && b[2] == 100, b[0] == 203 && b[1] == 0 && b[2] == 113:
		return false
	}
	return true
}

// FuzzCheckURL: CheckURL never panics, and whatever it accepts is an
// absolute http(s) URL with a host, no user info, no control or direction
// characters, at most 2048 bytes.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://merchant.example.com/notify", "http://[2001:db8::1]:8080/cb", "ftp://x/", "javascript:alert(1)",
		"https://u:p@x/", "https://x:0/", "http:x", "//x/y", "https://x/\u202e", "HTTPS://X/", "https://x:65535/a?b=c#d", "https://%zz/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if CheckURL(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Opaque != "" {
			t.Fatalf("CheckURL accepted %q (%v)", raw, err)
		}
		if len(raw) > maxURLLength || !utf8.ValidString(raw) || strings.ContainsAny(raw, "\x00\r\n\t\u202e\u2066") || strings.TrimSpace(raw) != raw {
			t.Fatalf("CheckURL accepted %q", raw)
		}
	})
}
