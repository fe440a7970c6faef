// Package webhook signs and verifies notifications in the Standard Webhooks
// format (https://www.standardwebhooks.com), which the native API uses for
// the notifications it sends to merchants. Following a published format lets
// merchants verify them with an off-the-shelf library in their own language.
//
// A notification carries three headers: webhook-id (a unique message id,
// also usable for de-duplication), webhook-timestamp (Unix seconds) and
// webhook-signature (one or more space-separated "v1,<base64 HMAC-SHA256>"
// entries, several while a secret is being rotated). The HMAC covers
// id + "." + timestamp + "." + body, so none of them can be changed or
// replayed under another id without detection, and the timestamp limits how
// long a captured message can be replayed.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header names defined by Standard Webhooks.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret, so a secret pasted in the wrong place is
// recognisable and so secrets can be found by secret scanners.
const SecretPrefix = "whsec_"

// DefaultTolerance is the clock skew and delivery delay Verify should accept,
// the value the Standard Webhooks specification recommends.
const DefaultTolerance = 5 * time.Minute

// secretSize is the number of random bytes in a new secret: 192 bits, the
// size the specification's examples use and well above what HMAC-SHA256 needs.
const secretSize = 24

// Errors returned by Verify, for callers that answer each differently (a
// missing header is a client bug, a bad signature may be an attack).
var (
	ErrMissingHeader = errors.New("webhook: missing header")
	ErrTimestamp     = errors.New("webhook: bad timestamp")
	ErrSignature     = errors.New("webhook: no matching signature")
)

// NewSecret returns a fresh random signing secret: "whsec_" followed by the
// standard base64 of 24 random bytes.
func NewSecret() string {
	b := make([]byte, secretSize)
	// crypto/rand.Read never returns an error on supported platforms (it
	// crashes the program instead), so there is nothing to handle.
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// decodeSecret returns the HMAC key of a secret. The "whsec_" prefix is
// optional, as in the reference libraries, so a secret stored without it
// still works.
func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		// err is not wrapped: its offset would hint at the secret's content.
		return nil, errors.New("webhook: secret is not " + SecretPrefix + " followed by standard base64")
	}
	if len(key) == 0 {
		return nil, errors.New("webhook: empty secret")
	}
	return key, nil
}

// mac returns the raw HMAC-SHA256 of a message under key.
func mac(key []byte, msgID string, unix int64, body []byte) []byte {
	return macWith(hmac.New(sha256.New, key), nil, msgID, unix, body)
}

// macWith appends to out the HMAC-SHA256 of a message, computed with h, a
// keyed HMAC as hmac.New returns it.
func macWith(h hash.Hash, out []byte, msgID string, unix int64, body []byte) []byte {
	// The id, the timestamp and their dots in one write: each slice given
	// to the hash is a copy on the heap.
	h.Write(appendHead(make([]byte, 0, len(msgID)+22), msgID, unix))
	h.Write(body)
	return h.Sum(out)
}

// appendHead appends what a message's HMAC covers before its body: the
// id, a dot, the Unix seconds and a dot.
func appendHead(b []byte, msgID string, unix int64) []byte {
	b = append(b, msgID...)
	b = append(b, '.')
	b = strconv.AppendInt(b, unix, 10)
	return append(b, '.')
}

// A Signer signs with one secret: its key decoded once, and HMACs keyed
// with it kept for the next message. Sign decodes the secret and keys a
// new HMAC (hashing its two pads) for every message; a sender that signs
// many with few secrets keeps a Signer for each. Safe for concurrent use.
type Signer struct {
	macs sync.Pool // of *keyedMAC
}

// keyedMAC is a Signer's HMAC, which a reset puts back to its keyed
// state, with room for a message's head and sum: slices given to the
// hash escape, and would be new garbage at every message.
type keyedMAC struct {
	h    hash.Hash
	head []byte
	sum  [sha256.Size]byte
}

// NewSigner returns a Signer for secret; the error is Sign's for a secret
// that does not decode.
func NewSigner(secret string) (*Signer, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	s := &Signer{}
	s.macs.New = func() any { return &keyedMAC{h: hmac.New(sha256.New, key)} }
	return s, nil
}

// Sign is the package's Sign with the Signer's secret.
func (s *Signer) Sign(msgID string, ts time.Time, body []byte) (string, error) {
	if msgID == "" {
		return "", errors.New("webhook: empty message id")
	}
	m := s.macs.Get().(*keyedMAC)
	m.head = appendHead(m.head[:0], msgID, ts.Unix())
	m.h.Write(m.head)
	m.h.Write(body)
	m.h.Sum(m.sum[:0])
	sig := signature(&m.sum)
	m.h.Reset()
	s.macs.Put(m)
	return sig, nil
}

// Sign returns the webhook-signature header value for a message: "v1,"
// followed by the standard base64 of HMAC-SHA256, keyed with the decoded
// secret, over msgID + "." + Unix seconds of ts + "." + body.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	if msgID == "" {
		return "", errors.New("webhook: empty message id")
	}
	var sum [sha256.Size]byte
	macWith(hmac.New(sha256.New, key), sum[:0], msgID, ts.Unix(), body)
	return signature(&sum), nil
}

// signature is the webhook-signature entry of an HMAC: "v1," and its
// standard base64.
func signature(sum *[sha256.Size]byte) string {
	var sig [3 + 44]byte // the base64 of 32 bytes is 44 long
	copy(sig[:], "v1,")
	base64.StdEncoding.Encode(sig[3:], sum[:])
	return string(sig[:])
}

// Verify checks that a received notification was signed with secret. It
// reads the webhook-id, webhook-timestamp and webhook-signature headers from
// h; the timestamp must be within tolerance of now in either direction, and
// at least one "v1" entry of the space-separated signature list must match.
// Entries of other versions are ignored, as the specification requires.
// Errors wrap ErrMissingHeader, ErrTimestamp or ErrSignature where they apply.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	if tolerance < 0 {
		return errors.New("webhook: negative tolerance")
	}
	msgID := h.Get(HeaderID)
	tsText := h.Get(HeaderTimestamp)
	// Several header lines are treated as one list, as HTTP allows for
	// list-valued headers.
	sigs := strings.Fields(strings.Join(h.Values(HeaderSignature), " "))
	switch {
	case msgID == "":
		return fmt.Errorf("%w %s", ErrMissingHeader, HeaderID)
	case tsText == "":
		return fmt.Errorf("%w %s", ErrMissingHeader, HeaderTimestamp)
	case len(sigs) == 0:
		return fmt.Errorf("%w %s", ErrMissingHeader, HeaderSignature)
	}

	unix, err := parseUnix(tsText)
	if err != nil {
		return err
	}
	// Compare in seconds: the timestamp has no finer resolution, and
	// converting to time.Time could overflow for absurd values.
	d := now.Unix() - unix
	tol := int64(tolerance / time.Second)
	if d > tol {
		return fmt.Errorf("%w: %s is %ds in the past, more than the %s allowed", ErrTimestamp, HeaderTimestamp, d, tolerance)
	}
	if -d > tol {
		return fmt.Errorf("%w: %s is %ds in the future, more than the %s allowed", ErrTimestamp, HeaderTimestamp, -d, tolerance)
	}

	want := mac(key, msgID, unix, body)
	for _, s := range sigs {
		ver, sig, ok := strings.Cut(s, ",")
		if !ok || ver != "v1" {
			continue
		}
		// Strict: the last character's unused bits must be zero, so that
		// only the one canonical text of a signature verifies, as with
		// the reference libraries, which compare the signature text
		// (found by fuzzing: "…1OF=" decoded like "…1OE=").
		got, err := base64.StdEncoding.Strict().DecodeString(sig)
		if err != nil {
			continue
		}
		// hmac.Equal is constant-time in the content, so response timing
		// does not reveal how much of a forged signature was right.
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}

// parseUnix parses a webhook-timestamp value. Only plain decimal digits are
// accepted, which is all the specification produces; signs and spaces that
// strconv would tolerate are refused so the header has one meaning. The
// length cap keeps the value, and arithmetic on it, far from overflow.
func parseUnix(s string) (int64, error) {
	if len(s) > 18 {
		return 0, fmt.Errorf("%w: %s %q is not Unix seconds", ErrTimestamp, HeaderTimestamp, s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %s %q is not Unix seconds", ErrTimestamp, HeaderTimestamp, s)
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
