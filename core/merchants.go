package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/netguard"
	"github.com/baoguan/baoguan/webhook"
)

// MerchantInput is what an operator gives to onboard a merchant.
type MerchantInput struct {
	No             string // optional; generated when empty
	Name           string
	NotifyURL      string
	Mode           baoguan.Mode // default sandbox
	FundingBalance int64        // sandbox funding account, fen (default 1,000,000.00 yuan)
}

// Credentials are a new merchant's secrets, shown once.
type Credentials struct {
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret"`
	AppID         string `json:"app_id"`
	AppKey        string `json:"app_key"`
	SignToken     string `json:"sign_token"`
}

// HashSecret is how checked-only secrets (API key, app key) are stored.
func HashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func randomToken(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "=")
}

// CreateMerchant onboards a merchant and returns its credentials.
// Errors: EINVALID (name, notify URL), ECONFLICT (name or number taken).
func (s *Service) CreateMerchant(ctx context.Context, in MerchantInput) (*baoguan.Merchant, Credentials, error) {
	var cr Credentials
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return nil, cr, baoguan.FieldError("name", "merchant name is required")
	}
	if in.NotifyURL != "" {
		if err := netguard.CheckURL(in.NotifyURL); err != nil {
			return nil, cr, baoguan.FieldError("notify_url", "%v", err)
		}
	}
	if in.Mode == "" {
		in.Mode = baoguan.ModeSandbox
	}
	if in.Mode != baoguan.ModeSandbox && in.Mode != baoguan.ModeLive {
		return nil, cr, baoguan.FieldError("mode", "mode must be sandbox or live")
	}
	if in.FundingBalance == 0 && in.Mode == baoguan.ModeSandbox {
		in.FundingBalance = 100_000_000
	}
	prefix := "bg_test_"
	if in.Mode == baoguan.ModeLive {
		prefix = "bg_live_"
	}
	cr = Credentials{
		APIKey:        randomToken(prefix, 24),
		WebhookSecret: webhook.NewSecret(),
		AppID:         randomToken("app_", 9),
		AppKey:        randomToken("", 24),
		SignToken:     randomToken("", 12),
	}
	m := &baoguan.Merchant{No: in.No, Name: in.Name, Status: baoguan.MerchantActive, Mode: in.Mode,
		NotifyURL: in.NotifyURL, APIKeyHash: HashSecret(cr.APIKey), AppID: cr.AppID, AppKeyHash: HashSecret(cr.AppKey),
		SignToken: cr.SignToken, WebhookSecret: cr.WebhookSecret, FundingBalance: in.FundingBalance, Settings: map[string]string{}}
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		if m.No == "" {
			m.No = fmt.Sprintf("M%s", strings.ToUpper(randomToken("", 6)))
		} else if err := baoguan.CheckOrderNo("merchant_no", m.No); err != nil {
			return err
		}
		if _, err := tx.MerchantByName(m.Name); err == nil {
			return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "name", Reason: "duplicate", Message: "a merchant named " + m.Name + " exists"}
		}
		return tx.CreateMerchant(m)
	})
	if err != nil {
		return nil, Credentials{}, err
	}
	return m, cr, nil
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
	hash := HashSecret(key)
	if m := s.auth.get(hash, s.Now()); m != nil {
		return m, nil
	}
	var m *baoguan.Merchant
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		m, err = tx.MerchantByAPIKeyHash(hash)
		return err
	})
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return nil, &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "invalid API key"}
	}
	if err == nil {
		s.auth.put(hash, m, s.Now())
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
	m  map[string]authEntry
}

type authEntry struct {
	m   baoguan.Merchant
	exp time.Time
}

func (c *authCache) get(hash string, now time.Time) *baoguan.Merchant {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || now.After(e.exp) {
		return nil
	}
	m := e.m
	return &m
}

func (c *authCache) put(hash string, m *baoguan.Merchant, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]authEntry{}
	}
	c.m[hash] = authEntry{m: *m, exp: now.Add(authCacheTTL)}
}

// forget drops cached lookups after an operator changes a merchant.
func (c *authCache) forget() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// MerchantByAppKey authenticates a payzero login. EUNAUTHORIZED.
func (s *Service) MerchantByAppKey(ctx context.Context, appID, appKey string) (*baoguan.Merchant, error) {
	var m *baoguan.Merchant
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		m, err = tx.MerchantByAppID(appID)
		return err
	})
	if err == nil && subtle.ConstantTimeCompare([]byte(m.AppKeyHash), []byte(HashSecret(appKey))) == 1 {
		return m, nil
	}
	if err != nil && baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		return nil, err
	}
	return nil, &baoguan.Error{Code: baoguan.EUNAUTHORIZED, Message: "invalid app id or app key"}
}

// Merchants lists every merchant (operators).
func (s *Service) Merchants(ctx context.Context) ([]baoguan.Merchant, error) {
	var out []baoguan.Merchant
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.Merchants()
		return err
	})
	return out, err
}

// UpdateMerchant applies change to a merchant in one transaction (operator
// settings: notify URL, status, funding). ENOTFOUND.
func (s *Service) UpdateMerchant(ctx context.Context, no string, change func(m *baoguan.Merchant) error) (*baoguan.Merchant, error) {
	var out *baoguan.Merchant
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		m, err := tx.MerchantByNo(no)
		if err != nil {
			return err
		}
		if err := change(m); err != nil {
			return err
		}
		if m.NotifyURL != "" {
			if err := netguard.CheckURL(m.NotifyURL); err != nil {
				return baoguan.FieldError("notify_url", "%v", err)
			}
		}
		out = m
		return tx.UpdateMerchant(m)
	})
	s.auth.forget()
	return out, err
}
