package sqlite

import (
	"strings"

	"github.com/baoguan/baoguan"
)

const merchantCols = `id, merchant_no, name, status, mode, ebp_code, ebp_name, notify_url,
	api_key_hash, app_id, app_key_hash, sign_token, webhook_secret, funding_balance, settings,
	created_at, updated_at`

const (
	qInsertMerchant = `INSERT INTO merchants (merchant_no, name, status, mode, ebp_code, ebp_name, notify_url,
	api_key_hash, app_id, app_key_hash, sign_token, webhook_secret, funding_balance, settings,
	created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`

	qUpdateMerchant = `UPDATE merchants SET merchant_no = ?, name = ?, status = ?, mode = ?, ebp_code = ?,
	ebp_name = ?, notify_url = ?, api_key_hash = ?, app_id = ?, app_key_hash = ?, sign_token = ?,
	webhook_secret = ?, funding_balance = ?, settings = ?, updated_at = ?
WHERE id = ?`

	qMerchant         = `SELECT ` + merchantCols + ` FROM merchants WHERE id = ?`
	qMerchantByNo     = `SELECT ` + merchantCols + ` FROM merchants WHERE merchant_no = ? AND merchant_no <> ''`
	qMerchantByName   = `SELECT ` + merchantCols + ` FROM merchants WHERE name = ? AND name <> ''`
	qMerchantByAPIKey = `SELECT ` + merchantCols + ` FROM merchants WHERE api_key_hash = ? AND api_key_hash <> ''`
	qMerchantByAppID  = `SELECT ` + merchantCols + ` FROM merchants WHERE app_id = ? AND app_id <> ''`
	qMerchants        = `SELECT ` + merchantCols + ` FROM merchants ORDER BY id`
	qMerchantExists   = `SELECT 1 FROM merchants WHERE id = ?`
	qDebitFunding     = `UPDATE merchants SET funding_balance = funding_balance - ?, updated_at = ? WHERE id = ? AND funding_balance >= ?`
)

// merchantArgs returns the column values of m after merchant_no… settings.
func (t *tx) merchantArgs(m *baoguan.Merchant) ([]any, error) {
	settings, err := toJSON(m.Settings)
	if err != nil {
		return nil, err
	}
	s := t.sealer()
	args := []any{m.No, m.Name, string(m.Status), string(m.Mode), m.EBPCode, m.EBPName, m.NotifyURL,
		m.APIKeyHash, m.AppID, m.AppKeyHash, s.seal(m.SignToken), s.seal(m.WebhookSecret),
		m.FundingBalance, s.seal(settings)}
	return args, s.err
}

// merchantDup names the natural key a unique violation hit, from the
// constraint text SQLite reports ("UNIQUE constraint failed: merchants.name").
func merchantDup(m *baoguan.Merchant, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "merchants.name"):
		return duplicate("name", "a merchant named %q already exists", m.Name)
	case strings.Contains(msg, "merchants.api_key_hash"):
		return duplicate("api_key", "another merchant has the same API key")
	case strings.Contains(msg, "merchants.app_id"):
		return duplicate("app_id", "a merchant with app id %q already exists", m.AppID)
	}
	return duplicate("merchant_no", "merchant %q already exists", m.No)
}

func (t *tx) CreateMerchant(m *baoguan.Merchant) error {
	args, err := t.merchantArgs(m)
	if err != nil {
		return err
	}
	args = append(args, ms(t.now), ms(t.now))
	var id int64
	found, err := t.one(qInsertMerchant, args, func(s scanner) error { return s.Scan(&id) })
	if isUnique(err) {
		return merchantDup(m, err)
	}
	if err != nil {
		return err
	}
	if !found {
		return errNoReturning
	}
	m.ID, m.CreatedAt, m.UpdatedAt = id, t.now, t.now
	return nil
}

func (t *tx) UpdateMerchant(m *baoguan.Merchant) error {
	args, err := t.merchantArgs(m)
	if err != nil {
		return err
	}
	args = append(args, ms(t.now), m.ID)
	n, err := affected(t.exec(qUpdateMerchant, args...))
	if isUnique(err) {
		return merchantDup(m, err)
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("merchant %d not found", m.ID)
	}
	m.UpdatedAt = t.now
	return nil
}

func (t *tx) scanMerchant(sc scanner, m *baoguan.Merchant) error {
	var status, mode, signToken, webhookSecret, settings string
	var created, updated int64
	if err := sc.Scan(&m.ID, &m.No, &m.Name, &status, &mode, &m.EBPCode, &m.EBPName, &m.NotifyURL,
		&m.APIKeyHash, &m.AppID, &m.AppKeyHash, &signToken, &webhookSecret, &m.FundingBalance, &settings,
		&created, &updated); err != nil {
		return err
	}
	m.Status, m.Mode = baoguan.MerchantStatus(status), baoguan.Mode(mode)
	m.CreatedAt, m.UpdatedAt = fromMS(created), fromMS(updated)
	s := t.sealer()
	m.SignToken, m.WebhookSecret = s.open(signToken), s.open(webhookSecret)
	if s.err != nil {
		return s.err
	}
	if strings.HasPrefix(settings, "k1.") {
		// Settings hold merchant keys and tokens: sealed like other secrets.
		if settings = s.open(settings); s.err != nil {
			return s.err
		}
	}
	return fromJSON(settings, &m.Settings)
}

func (t *tx) merchantBy(q string, arg any, what string) (*baoguan.Merchant, error) {
	m := new(baoguan.Merchant)
	found, err := t.one(q, []any{arg}, func(s scanner) error { return t.scanMerchant(s, m) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("merchant %s not found", what)
	}
	return m, nil
}

func (t *tx) Merchant(id int64) (*baoguan.Merchant, error) {
	return t.merchantBy(qMerchant, id, itoa(id))
}

func (t *tx) MerchantByNo(no string) (*baoguan.Merchant, error) {
	return t.merchantBy(qMerchantByNo, no, quote(no))
}

func (t *tx) MerchantByName(name string) (*baoguan.Merchant, error) {
	return t.merchantBy(qMerchantByName, name, quote(name))
}

func (t *tx) MerchantByAPIKeyHash(hash string) (*baoguan.Merchant, error) {
	// The hash is a credential's fingerprint: keep it out of the message.
	return t.merchantBy(qMerchantByAPIKey, hash, "with this API key")
}

func (t *tx) MerchantByAppID(appID string) (*baoguan.Merchant, error) {
	return t.merchantBy(qMerchantByAppID, appID, "with app id "+quote(appID))
}

func (t *tx) Merchants() ([]baoguan.Merchant, error) {
	var out []baoguan.Merchant
	err := t.each(qMerchants, nil, func(s scanner) error {
		var m baoguan.Merchant
		if err := t.scanMerchant(s, &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// DebitFunding is a single conditional UPDATE, so the check and the debit
// cannot be separated by another writer, whatever the store's concurrency.
func (t *tx) DebitFunding(merchantID, amount int64) (bool, error) {
	if amount < 0 {
		return false, &baoguan.Error{Code: baoguan.EINVALID, Field: "amount", Reason: "bad_amount", Message: "a debit must not be negative"}
	}
	n, err := affected(t.exec(qDebitFunding, amount, ms(t.now), merchantID, amount))
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	ok, err := t.exists(qMerchantExists, merchantID)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, notFound("merchant %d not found", merchantID)
	}
	return false, nil
}
