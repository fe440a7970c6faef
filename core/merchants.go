package core

import (
	"context"
	"fmt"
	"strings"

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
	if err := baoguan.CheckAmount("funding_balance", in.FundingBalance); err != nil {
		return nil, cr, err
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

// Merchants lists every merchant (operators).
func (s *Service) Merchants(ctx context.Context) ([]baoguan.Merchant, error) {
	var out []baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
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
		if err := baoguan.CheckAmount("funding_balance", m.FundingBalance); err != nil {
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

// MerchantByNo returns the merchant with that merchant_no (ACCP's mch_id,
// an operator's --merchant). ENOTFOUND.
func (s *Service) MerchantByNo(ctx context.Context, no string) (*baoguan.Merchant, error) {
	var m *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		m, err = tx.MerchantByNo(no)
		return err
	})
	return m, err
}

// MerchantByName returns the merchant with that name (pushorder names
// merchants by it). ENOTFOUND.
func (s *Service) MerchantByName(ctx context.Context, name string) (*baoguan.Merchant, error) {
	var m *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		m, err = tx.MerchantByName(name)
		return err
	})
	return m, err
}

// MerchantBySetting returns the merchant whose per-protocol setting key
// (e.g. "wechatv3.mchid") equals value. Settings are sealed and not
// indexed, so this reads every merchant; the number of merchants of one
// installation is small. ENOTFOUND when none matches or value is empty.
func (s *Service) MerchantBySetting(ctx context.Context, key, value string) (*baoguan.Merchant, error) {
	if value == "" {
		return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no merchant has an empty " + key}
	}
	var out *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
		ms, err := tx.Merchants()
		if err != nil {
			return err
		}
		for i := range ms {
			if ms[i].Settings[key] == value {
				m := ms[i]
				out = &m
				return nil
			}
		}
		return &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no merchant has " + key + " " + value}
	})
	return out, err
}
