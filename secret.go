package baoguan

import (
	"fmt"
	"math"
	"strings"
)

// MinSecretLen is the shortest shared secret an operator may configure.
const MinSecretLen = 24

// SecretSetting reports whether a protocol setting (named
// "<protocol>.<name>") is a shared secret a caller proves it knows: names
// ending in "-token" or "-secret" (a pushorder access token), and the
// APIv3 key WeChat Pay merchants choose ("apiv3-key"). Public keys,
// certificates, serials, identifiers and URLs are not.
func SecretSetting(name string) bool {
	return strings.HasSuffix(name, "-token") || strings.HasSuffix(name, "-secret") || strings.HasSuffix(name, ".apiv3-key")
}

// CheckSecret refuses a shared secret that can be guessed: shorter than
// MinSecretLen, with characters other than printable ASCII without
// spaces (secrets travel in paths and headers), with less than 80 bits of
// entropy estimated from its own characters (Shannon's, per character,
// times the length: "aaaa…" and "abab…" have next to none), or made of
// runs ("abcdef…", "987654…": more than half of its neighbours one
// apart). A random secret of MinSecretLen characters from hex or base64
// passes; `openssl rand -hex 16` makes one. EINVALID naming field, reason
// weak_secret.
func CheckSecret(field, s string) error {
	weak := func(why string) error {
		return &Error{Code: EINVALID, Field: field, Reason: "weak_secret",
			Message: fmt.Sprintf("%s is too weak (%s): use at least %d random characters, e.g. the output of `openssl rand -hex 16`", field, why, MinSecretLen)}
	}
	if len(s) < MinSecretLen {
		return weak(fmt.Sprintf("%d characters", len(s)))
	}
	if len(s) > 256 {
		return &Error{Code: EINVALID, Field: field, Reason: "bad_secret", Message: field + " is longer than 256 characters"}
	}
	counts := map[byte]int{}
	runs := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			return &Error{Code: EINVALID, Field: field, Reason: "bad_secret",
				Message: field + " may hold only printable ASCII characters without spaces"}
		}
		counts[c]++
		if i > 0 {
			if d := int(c) - int(s[i-1]); d == -1 || d == 1 {
				runs++
			}
		}
	}
	bits := 0.0
	for _, n := range counts {
		p := float64(n) / float64(len(s))
		bits -= float64(n) * math.Log2(p)
	}
	if bits < 80 {
		return weak(fmt.Sprintf("about %.0f bits of entropy, at least 80 needed", bits))
	}
	if runs*2 > len(s)-1 {
		return weak("it is made of runs of neighbouring characters")
	}
	return nil
}
