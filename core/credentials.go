package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/platform"
)

// Credentials: how callers prove who they are (API keys, app keys, signed
// requests' nonces), and the installation's own secrets and signing keys,
// which front-ends get from here rather than from the store.

// HashSecret is how checked-only secrets (API key, app key) are stored.
func HashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hexString(h)
}

// hexString is hex.EncodeToString of a SHA-256 sum in one allocation
// (EncodeToString makes the bytes, then the string): every request's API
// key and every push's fingerprint go through it.
func hexString(h [sha256.Size]byte) string {
	var b [2 * sha256.Size]byte
	hex.Encode(b[:], h[:])
	return string(b[:])
}

func randomToken(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "=")
}

// MerchantByAPIKey authenticates a native API caller. EUNAUTHORIZED.
//
// A successful lookup is remembered for a second (authCacheTTL), so a busy
// integration does not pay a database read per request; a merchant's status
// or settings changed by an operator apply within that second. Rules that
// depend on the merchant's state (funding, status at payment time) read it
// again inside their transaction.
func (s *Service) MerchantByAPIKey(ctx context.Context, key string) (*baoguan.Merchant, error) {
	if key == "" {
		return nil, &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "missing API key: send Authorization: Bearer <api_key>"}
	}
	// The cache is keyed by the sum: a request whose key is cached needs
	// neither its hex (HashSecret's string) nor a copy of the key's bytes.
	sum := sha256.Sum256([]byte(key))
	if m := s.auth.get(sum, s.Now()); m != nil {
		return m, nil
	}
	hash := hexString(sum)
	var m *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		m, err = tx.MerchantByAPIKeyHash(hash)
		if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
			// A reissued key's predecessor, still in its grace period.
			m, err = tx.MerchantByRetiredKey(baoguan.KeyAPI, hash)
		}
		return err
	})
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return nil, &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "invalid API key"}
	}
	if err == nil {
		s.auth.put(sum, m, s.Now())
	}
	return m, err
}

// authCacheTTL bounds how long a looked-up merchant is reused for
// authentication.
const authCacheTTL = time.Second

// authCache remembers recent API-key lookups. Entries are copies, so no
// caller can change another's merchant.
type authCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]authEntry // by the key's SHA-256
	// gen counts forget's calls: the deliverer's merchants read before
	// one are read again (handoff.go).
	gen atomic.Uint64
}

type authEntry struct {
	m   baoguan.Merchant
	exp time.Time
}

func (c *authCache) get(hash [sha256.Size]byte, now time.Time) *baoguan.Merchant {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || now.After(e.exp) {
		return nil
	}
	m := e.m
	return &m
}

func (c *authCache) put(hash [sha256.Size]byte, m *baoguan.Merchant, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[[sha256.Size]byte]authEntry{}
	}
	c.m[hash] = authEntry{m: *m, exp: now.Add(authCacheTTL)}
}

// forget drops cached lookups after an operator changes a merchant.
func (c *authCache) forget() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
	c.gen.Add(1)
}

// MerchantByAppKey authenticates a payzero login. EUNAUTHORIZED.
func (s *Service) MerchantByAppKey(ctx context.Context, appID, appKey string) (*baoguan.Merchant, error) {
	var m *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		m, err = tx.MerchantByAppID(appID)
		return err
	})
	if err == nil && subtle.ConstantTimeCompare([]byte(m.AppKeyHash), []byte(HashSecret(appKey))) == 1 {
		return m, nil
	}
	if err == nil && s.retiredAppKey(ctx, m, HashSecret(appKey)) {
		return m, nil
	}
	if err != nil && baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		return nil, err
	}
	return nil, &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "invalid app id or app key"}
}

// MerchantByAppID returns the merchant whose app id (payzero login user
// name) is appID, for a front-end checking a token it issued at login.
// ENOTFOUND.
func (s *Service) MerchantByAppID(ctx context.Context, appID string) (*baoguan.Merchant, error) {
	var m *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		m, err = tx.MerchantByAppID(appID)
		return err
	})
	return m, err
}

// UseNonce records that a request nonce was used by the merchant, under
// the key scope+":"+nonce, so that a replayed signed request is refused.
// It returns ECONFLICT (reason "nonce_reused") when the nonce was seen
// before. A nonce is kept for Retention.Nonces (a day by default), which
// must be longer than the signature window of every front-end that uses
// it (WeChat's: five minutes), so a replay is refused for as long as its
// signature is accepted.
func (s *Service) UseNonce(ctx context.Context, m *baoguan.Merchant, scope, nonce string) error {
	var seen bool
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		prev, err := takeKeyFor(tx, m.ID, scope+":"+nonce, "nonce", 0, nil, s.Retention.Nonces)
		seen = prev != nil
		return err
	})
	if err == nil && seen || baoguan.ErrorCode(err) == baoguan.ECONFLICT {
		return &baoguan.Error{Code: baoguan.ECONFLICT, Reason: "nonce_reused", Field: "nonce",
			Message: "this request nonce was already used; sign every request with a fresh nonce"}
	}
	return err
}

// InstallationSecret returns the installation's secret called name, size
// random bytes created on first use and kept sealed in the store (a
// front-end's token-signing key, say). Instances starting at once on one
// database agree on one value: the first insert wins and every instance
// reads it back. EINTERNAL when the stored value is not size bytes of hex.
func (s *Service) InstallationSecret(ctx context.Context, name string, size int) ([]byte, error) {
	var stored string
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		stored, err = tx.Setting(name)
		return err
	})
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		b := make([]byte, size)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		err = s.Store.Update(ctx, func(tx baoguan.Tx) error {
			if _, err := tx.PutSetting(name, hex.EncodeToString(b), true); err != nil {
				return err
			}
			var err error
			stored, err = tx.Setting(name)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(stored)
	if err != nil || len(key) < size {
		return nil, baoguan.Errorf(baoguan.EINTERNAL, "setting %s does not hold a %d-byte hex key", name, size)
	}
	return key, nil
}

// PlatformKey returns the installation's platform signing key of a
// protocol (WeChat Pay's platform certificate, LianLian's platform key),
// generated and stored sealed on first use (see package platform).
func (s *Service) PlatformKey(ctx context.Context, name string) (*platform.Key, error) {
	return platform.Load(ctx, s.Store, name)
}

// retiredAppKey reports whether hash is one of the merchant's app keys
// still in a grace period after a reissue.
func (s *Service) retiredAppKey(ctx context.Context, m *baoguan.Merchant, hash string) bool {
	ok := false
	_ = s.view(ctx, func(tx baoguan.Tx) error {
		ks, err := tx.RetiredKeys(m.ID, baoguan.KeyApp)
		for _, k := range ks {
			if subtle.ConstantTimeCompare([]byte(k.Secret), []byte(hash)) == 1 {
				ok = true
			}
		}
		return err
	})
	return ok
}
