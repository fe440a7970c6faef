package core

import (
	"context"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/netguard"
	"github.com/baoguan/baoguan/webhook"
)

// Key lifecycle: an operator reissues a merchant secret (the new one is
// shown once) and chooses how long the old one stays valid — a grace
// period for the integration to switch, or none, which revokes it at once.
// Retired secrets live in the store until their grace period ends:
// checked secrets (API key, app key) as hashes, signing secrets sealed.
//
// During a webhook secret's grace period every native notification is
// signed with the new and the old secret (Standard Webhooks allows several
// signatures), so receivers verify with either.

// MaxKeyGrace bounds a grace period: a key left valid for longer is a key
// nobody remembers to revoke.
const MaxKeyGrace = 30 * 24 * time.Hour

// reissuable are the merchant secrets ReissueKey handles.
var reissuable = map[string]bool{baoguan.KeyAPI: true, baoguan.KeyApp: true, baoguan.KeyWebhook: true}

// ReissueKey replaces one of a merchant's secrets (kind baoguan.KeyAPI,
// KeyApp or KeyWebhook) and returns the new one, which nothing shows again.
// With grace > 0 the old secret stays valid until now+grace; with 0 it, and
// every earlier one of the kind still in a grace period, stops at once.
// Errors: EINVALID (kind, grace), ENOTFOUND.
func (s *Service) ReissueKey(ctx context.Context, no, kind string, grace time.Duration) (string, error) {
	if !reissuable[kind] {
		return "", &baoguan.Error{Code: baoguan.EINVALID, Field: "kind", Reason: "bad_key_kind",
			Message: "key kind must be " + baoguan.KeyAPI + ", " + baoguan.KeyApp + " or " + baoguan.KeyWebhook}
	}
	if grace < 0 || grace > MaxKeyGrace {
		return "", &baoguan.Error{Code: baoguan.EINVALID, Field: "grace", Reason: "bad_grace",
			Message: "grace period must be between 0 and 720h"}
	}
	var fresh string
	err := s.update(ctx, func(tx baoguan.Tx, _ *queue) error {
		m, err := tx.MerchantByNo(no)
		if err != nil {
			return err
		}
		var old string
		switch kind {
		case baoguan.KeyAPI:
			prefix := "bg_test_"
			if m.Mode == baoguan.ModeLive {
				prefix = "bg_live_"
			}
			fresh, old = randomToken(prefix, 24), m.APIKeyHash
			m.APIKeyHash = HashSecret(fresh)
		case baoguan.KeyApp:
			fresh, old = randomToken("", 24), m.AppKeyHash
			m.AppKeyHash = HashSecret(fresh)
		case baoguan.KeyWebhook:
			fresh, old = webhook.NewSecret(), m.WebhookSecret
			m.WebhookSecret = fresh
		}
		if grace == 0 {
			if err := tx.RevokeRetiredKeys(m.ID, kind); err != nil {
				return err
			}
		} else if old != "" {
			if err := tx.RetireKey(&baoguan.RetiredKey{MerchantID: m.ID, Kind: kind, Secret: old, ExpiresAt: tx.Now().Add(grace)}); err != nil {
				return err
			}
		}
		return tx.UpdateMerchant(m)
	})
	s.auth.forget()
	return fresh, err
}

// RevokeKeys ends the grace period of every retired secret of a kind now;
// the current secret stays. Errors: EINVALID (kind), ENOTFOUND.
func (s *Service) RevokeKeys(ctx context.Context, no, kind string) error {
	if !reissuable[kind] && !strings.HasPrefix(kind, settingKind) {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "kind", Reason: "bad_key_kind", Message: "unknown key kind " + kind}
	}
	err := s.update(ctx, func(tx baoguan.Tx, _ *queue) error {
		m, err := tx.MerchantByNo(no)
		if err != nil {
			return err
		}
		return tx.RevokeRetiredKeys(m.ID, kind)
	})
	s.auth.forget()
	return err
}

// settingKind prefixes the retired-key kind of a protocol setting
// ("setting:pushorder.access-token").
const settingKind = "setting:"

// RotateSetting replaces a protocol key kept in the merchant's settings
// (name "<protocol>.<setting>", as `baoguan merchant key` stores it) and,
// with grace > 0, keeps the old value valid until now+grace; SettingValues
// returns both meanwhile. Errors: EINVALID (grace), ENOTFOUND.
func (s *Service) RotateSetting(ctx context.Context, no, name, value string, grace time.Duration) error {
	return s.RotateSettings(ctx, no, map[string]string{name: value}, grace)
}

// RotateSettings sets several protocol settings of a merchant in one
// transaction (an empty value removes one), so that a key and its
// companions — a public key and its serial — never change apart. With
// grace > 0 each replaced value stays valid until now+grace (SettingValues);
// with 0 the replaced values, and those of earlier rotations still in a
// grace period, stop at once. Errors: EINVALID (grace; a setting named
// …-url that netguard.CheckURL refuses, field = the setting; a shared
// secret (baoguan.SecretSetting) that baoguan.CheckSecret finds weak,
// reason weak_secret), ENOTFOUND.
func (s *Service) RotateSettings(ctx context.Context, no string, set map[string]string, grace time.Duration) error {
	if grace < 0 || grace > MaxKeyGrace {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "grace", Reason: "bad_grace", Message: "grace period must be between 0 and 720h"}
	}
	// A callback URL (pushorder.callback-url, payzero.notify-url, …) is
	// checked when it is configured, like every notify URL: a scheme other
	// than http(s) is the operator's error now, not a failed delivery later.
	for name, value := range set {
		// A shared secret is checked for strength when it is set: a
		// short or patterned access token can be guessed, rate limits
		// or not.
		if baoguan.SecretSetting(name) && value != "" {
			if err := baoguan.CheckSecret(name, value); err != nil {
				return err
			}
		}
		if strings.HasSuffix(name, "-url") && value != "" {
			if err := netguard.CheckURL(value); err != nil {
				return &baoguan.Error{Code: baoguan.EINVALID, Field: name, Reason: "bad_notify_url", Message: err.Error()}
			}
		}
	}
	err := s.update(ctx, func(tx baoguan.Tx, _ *queue) error {
		m, err := tx.MerchantByNo(no)
		if err != nil {
			return err
		}
		if m.Settings == nil {
			m.Settings = map[string]string{}
		}
		for name, value := range set {
			old := m.Settings[name]
			if grace == 0 {
				if err := tx.RevokeRetiredKeys(m.ID, settingKind+name); err != nil {
					return err
				}
			} else if old != "" && old != value {
				if err := tx.RetireKey(&baoguan.RetiredKey{MerchantID: m.ID, Kind: settingKind + name, Secret: old, ExpiresAt: tx.Now().Add(grace)}); err != nil {
					return err
				}
			}
			if value == "" {
				delete(m.Settings, name)
			} else {
				m.Settings[name] = value
			}
		}
		return tx.UpdateMerchant(m)
	})
	s.auth.forget()
	return err
}

// RetiredSettingValues returns the values of a protocol setting replaced
// by a rotation and still in their grace period, oldest first; a
// front-end checks them only after the current value failed, so a rotation
// costs a request nothing until a caller still uses an old key.
func (s *Service) RetiredSettingValues(ctx context.Context, m *baoguan.Merchant, name string) ([]string, error) {
	var out []string
	err := s.view(ctx, func(tx baoguan.Tx) error {
		ks, err := tx.RetiredKeys(m.ID, settingKind+name)
		for _, k := range ks {
			out = append(out, k.Secret)
		}
		return err
	})
	return out, err
}

// SettingValues returns the values of a protocol setting that are valid
// now: the current one first, then those still in a grace period. A
// front-end checking a merchant's key accepts any of them.
func (s *Service) SettingValues(ctx context.Context, m *baoguan.Merchant, name string) ([]string, error) {
	var out []string
	if v := m.Settings[name]; v != "" {
		out = append(out, v)
	}
	old, err := s.RetiredSettingValues(ctx, m, name)
	return append(out, old...), err
}

// retiredWebhookSecrets fills in the merchant's webhook secrets still in a
// grace period, which notifications are signed with beside the current one.
func (s *Service) retiredWebhookSecrets(tx baoguan.Tx, m *baoguan.Merchant) error {
	ks, err := tx.RetiredKeys(m.ID, baoguan.KeyWebhook)
	if err != nil {
		return err
	}
	m.PreviousWebhookSecrets = m.PreviousWebhookSecrets[:0]
	for _, k := range ks {
		m.PreviousWebhookSecrets = append(m.PreviousWebhookSecrets, k.Secret)
	}
	return nil
}
