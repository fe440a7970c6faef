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
	"sync/atomic"
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
// keyed HMAC as hmac.New returns it (reset first).
func macWith(h hash.Hash, out []byte, msgID string, unix int64, body []byte) []byte {
	h.Reset()
	// The id, the timestamp and their dots in one write: each slice given
	// to the hash is a copy on the heap.
	var buf [96]byte
	head := buf[:0]
	if len(msgID)+22 > len(buf) {
		head = make([]byte, 0, len(msgID)+22)
	}
	head = append(head, msgID...)
	head = append(head, '.')
	head = strconv.AppendInt(head, unix, 10)
	head = append(head, '.')
	h.Write(head)
	h.Write(body)
	return h.Sum(out)
}

// A signer signs with one secret: its key decoded once, and HMACs keyed
// with it kept for the next message. Keying an HMAC hashes two blocks
// (the key's inner and outer pads); one reset after its first use
// restores the keyed state without hashing them again.
type signer struct {
	macs sync.Pool // of hash.Hash, keyed
}

// signers are the signers of the secrets Sign was given, by secret: a
// gateway signs its notifications with a few secrets, each many times.
// Past maxSigners secrets the cache starts again empty. (The secrets are
// in the process's memory anyway, with the merchants that hold them.)
var (
	signers   sync.Map // secret → *signer
	signerN   atomic.Int32
	signersMu sync.Mutex
)

const maxSigners = 1024

// signerFor returns the signer of secret, made at its first use; the
// error is decodeSecret's.
func signerFor(secret string) (*signer, error) {
	if s, ok := signers.Load(secret); ok {
		return s.(*signer), nil
	}
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	s := &signer{}
	s.macs.New = func() any { return hmac.New(sha256.New, key) }
	if signerN.Add(1) > maxSigners {
		signersMu.Lock()
		if signerN.Load() > maxSigners {
			signers.Clear()
			signerN.Store(1)
		}
		signersMu.Unlock()
	}
	got, _ := signers.LoadOrStore(secret, s)
	return got.(*signer), nil
}

// Sign returns the webhook-signature header value for a message: "v1,"
// followed by the standard base64 of HMAC-SHA256, keyed with the decoded
// secret, over msgID + "." + Unix seconds of ts + "." + body.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	if msgID == "" {
		if _, err := decodeSecret(secret); err != nil {
			return "", err
		}
		return "", errors.New("webhook: empty message id")
	}
	sg, err := signerFor(secret)
	if err != nil {
		return "", err
	}
	h := sg.macs.Get().(hash.Hash)
	var sum [sha256.Size]byte
	macWith(h, sum[:0], msgID, ts.Unix(), body)
	sg.macs.Put(h)
	var sig [3 + 44]byte // "v1," and the base64 of 32 bytes
	copy(sig[:], "v1,")
	base64.StdEncoding.Encode(sig[3:], sum[:])
	return string(sig[:]), nil
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
