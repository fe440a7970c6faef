package sqlstore

import (
	"strings"

	"github.com/baoguan/baoguan"
)

const merchantCols = `id, merchant_no, name, status, mode, ebp_code, ebp_name, notify_url,
	api_key_hash, app_id, app_key_hash, sign_token, webhook_secret, funding_balance, settings,
	COALESCE(agent_id, 0), created_at, updated_at`

const (
	qInsertMerchant = `INSERT INTO merchants (merchant_no, name, status, mode, ebp_code, ebp_name, notify_url,
	api_key_hash, app_id, app_key_hash, sign_token, webhook_secret, funding_balance, settings,
	agent_id, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id`

	qUpdateMerchant = `UPDATE merchants SET merchant_no = ?, name = ?, status = ?, mode = ?, ebp_code = ?,
	ebp_name = ?, notify_url = ?, api_key_hash = ?, app_id = ?, app_key_hash = ?, sign_token = ?,
	webhook_secret = ?, funding_balance = ?, settings = ?, agent_id = ?, updated_at = ?
WHERE id = ?`

	qMerchant         = `SELECT ` + merchantCols + ` FROM merchants WHERE id = ?`
	qMerchantByNo     = `SELECT ` + merchantCols + ` FROM merchants WHERE merchant_no = ? AND merchant_no <> ''`
	qMerchantByName   = `SELECT ` + merchantCols + ` FROM merchants WHERE name = ? AND name <> ''`
	qMerchantByAPIKey = `SELECT ` + merchantCols + ` FROM merchants WHERE api_key_hash = ? AND api_key_hash <> ''`
	qMerchantByAppID  = `SELECT ` + merchantCols + ` FROM merchants WHERE app_id = ? AND app_id <> ''`
	qMerchants        = `SELECT ` + merchantCols + ` FROM merchants ORDER BY id`
	qMerchantExists   = `SELECT 1 FROM merchants WHERE id = ?`
	qDebitFunding     = `UPDATE merchants SET funding_balance = funding_balance - ?, updated_at = ? WHERE id = ? AND funding_balance >= ?`

	// qMerchantTaken finds another merchant holding one of m's natural
	// keys; the conditions mirror the partial unique indexes.
	qMerchantTaken = `SELECT merchant_no, name, api_key_hash, app_id FROM merchants
WHERE id <> ? AND (merchant_no = ? AND merchant_no <> '' OR name = ? AND name <> ''
	OR api_key_hash = ? AND api_key_hash <> '' OR app_id = ? AND app_id <> '')
LIMIT 1`
)

// merchantArgs returns the column values of m, merchant_no … agent_id.
func (t *Tx) merchantArgs(m *baoguan.Merchant) ([]any, error) {
	settings, err := t.toJSON(m.Settings)
	if err != nil {
		return nil, err
	}
	s := t.sealer()
	args := []any{m.No, m.Name, string(m.Status), string(m.Mode), m.EBPCode, m.EBPName, m.NotifyURL,
		m.APIKeyHash, m.AppID, m.AppKeyHash, s.seal(m.SignToken), s.seal(m.WebhookSecret),
		m.FundingBalance, s.seal(settings), nullID(m.AgentID)}
	return args, s.err
}

// merchantTaken returns the ECONFLICT error naming the natural key of m
// that a merchant other than id already holds, or nil.
func (t *Tx) merchantTaken(m *baoguan.Merchant, id int64) error {
	var no, name, apiKey, appID string
	found, err := t.one(qMerchantTaken, []any{id, m.No, m.Name, m.APIKeyHash, m.AppID}, func(s Scanner) error {
		return s.Scan(&no, &name, &apiKey, &appID)
	})
	switch {
	case err != nil:
		return err
	case !found:
		return nil
	case m.No != "" && no == m.No:
		return duplicate("merchant_no", "merchant %q already exists", m.No)
	case m.Name != "" && name == m.Name:
		return duplicate("name", "a merchant named %q already exists", m.Name)
	case m.APIKeyHash != "" && apiKey == m.APIKeyHash:
		return duplicate("api_key", "another merchant has the same API key")
	}
	return duplicate("app_id", "a merchant with app id %q already exists", m.AppID)
}

// merchantDup names the natural key a unique violation hit, from what the
// database reports: "merchants.name" (SQLite) or the index merchants_name
// (PostgreSQL). Only a race between two writers gets here; the keys are
// checked before writing.
func merchantDup(m *baoguan.Merchant, what string) error {
	what = strings.ReplaceAll(what, ".", "_")
	switch {
	case strings.Contains(what, "merchants_name"):
		return duplicate("name", "a merchant named %q already exists", m.Name)
	case strings.Contains(what, "merchants_api_key_hash"):
		return duplicate("api_key", "another merchant has the same API key")
	case strings.Contains(what, "merchants_app_id"):
		return duplicate("app_id", "a merchant with app id %q already exists", m.AppID)
	}
	return duplicate("merchant_no", "merchant %q already exists", m.No)
}

// nullID stores a reference that may be absent (0) as NULL, so a foreign
// key only constrains references that exist.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateMerchant inserts m. A natural key (number, name, API key hash, app
// id) held by another merchant is ECONFLICT reason duplicate, naming the field.
func (t *Tx) CreateMerchant(m *baoguan.Merchant) error {
	args, err := t.merchantArgs(m)
	if err != nil {
		return err
	}
	args = append(args, ms(t.now), ms(t.now))
	id, inserted, err := t.insertID(qInsertMerchant, args)
	if t.isForeignKey(err) {
		return notFound("agent %d not found", m.AgentID)
	}
	if err != nil {
		return err
	}
	if !inserted {
		if err := t.merchantTaken(m, 0); err != nil {
			return err
		}
		return duplicate("merchant_no", "merchant %q already exists", m.No)
	}
	m.ID, m.CreatedAt, m.UpdatedAt = id, t.now, t.now
	return nil
}

// UpdateMerchant writes m. Taking another merchant's natural key is
// ECONFLICT reason duplicate; a missing merchant is ENOTFOUND.
func (t *Tx) UpdateMerchant(m *baoguan.Merchant) error {
	args, err := t.merchantArgs(m)
	if err != nil {
		return err
	}
	// Checked first rather than caught: on PostgreSQL the violation would
	// abort the caller's whole transaction.
	if err := t.merchantTaken(m, m.ID); err != nil {
		return err
	}
	args = append(args, ms(t.now), m.ID)
	n, err := t.exec(qUpdateMerchant, args...)
	if t.isForeignKey(err) {
		return notFound("agent %d not found", m.AgentID)
	}
	if err != nil {
		if what, ok := t.d.UniqueViolation(err); ok {
			return merchantDup(m, what)
		}
		return err
	}
	if n == 0 {
		return notFound("merchant %d not found", m.ID)
	}
	m.UpdatedAt = t.now
	return nil
}

func (t *Tx) scanMerchant(sc Scanner, m *baoguan.Merchant) error {
	var status, mode, signToken, webhookSecret, settings string
	var created, updated int64
	if err := sc.Scan(&m.ID, &m.No, &m.Name, &status, &mode, &m.EBPCode, &m.EBPName, &m.NotifyURL,
		&m.APIKeyHash, &m.AppID, &m.AppKeyHash, &signToken, &webhookSecret, &m.FundingBalance, &settings,
		&m.AgentID, &created, &updated); err != nil {
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
	return t.fromJSON(settings, &m.Settings)
}

func (t *Tx) merchantBy(q string, arg any, what string) (*baoguan.Merchant, error) {
	m := new(baoguan.Merchant)
	found, err := t.one(q, []any{arg}, func(s Scanner) error { return t.scanMerchant(s, m) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("merchant %s not found", what)
	}
	return m, nil
}

// Merchant reads a merchant by id; ENOTFOUND.
func (t *Tx) Merchant(id int64) (*baoguan.Merchant, error) {
	return t.merchantBy(qMerchant, id, itoa(id))
}

// MerchantByNo reads a merchant by merchant_no; ENOTFOUND.
func (t *Tx) MerchantByNo(no string) (*baoguan.Merchant, error) {
	return t.merchantBy(qMerchantByNo, no, quote(no))
}

// MerchantByName reads a merchant by name; ENOTFOUND.
func (t *Tx) MerchantByName(name string) (*baoguan.Merchant, error) {
	return t.merchantBy(qMerchantByName, name, quote(name))
}

// MerchantByAPIKeyHash reads the merchant an API key's hash belongs to;
// ENOTFOUND.
func (t *Tx) MerchantByAPIKeyHash(hash string) (*baoguan.Merchant, error) {
	// The hash is a credential's fingerprint: keep it out of the message.
	return t.merchantBy(qMerchantByAPIKey, hash, "with this API key")
}

// MerchantByAppID reads a merchant by payzero app id; ENOTFOUND.
func (t *Tx) MerchantByAppID(appID string) (*baoguan.Merchant, error) {
	return t.merchantBy(qMerchantByAppID, appID, "with app id "+quote(appID))
}

// Merchants lists every merchant, oldest first.
func (t *Tx) Merchants() ([]baoguan.Merchant, error) {
	var out []baoguan.Merchant
	err := t.each(qMerchants, nil, func(s Scanner) error {
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
func (t *Tx) DebitFunding(merchantID, amount int64) (bool, error) {
	// A negative debit would credit the account, and a huge one could take
	// the column past int64 in a store that does not check.
	if err := baoguan.CheckAmount("amount", amount); err != nil {
		return false, err
	}
	n, err := t.exec(qDebitFunding, amount, ms(t.now), merchantID, amount)
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
