package baoguan

import "time"

// MerchantStatus says whether a merchant may push orders. pushorder's 9911
// (arrears) and 9912 (unsigned) come from here.
type MerchantStatus string

const (
	MerchantActive   MerchantStatus = "active"
	MerchantArrears  MerchantStatus = "arrears"
	MerchantUnsigned MerchantStatus = "unsigned"
)

// Mode decides which payment channel and customs port a merchant's
// production requests use. Test endpoints always use the sandbox.
type Mode string

const (
	ModeSandbox Mode = "sandbox"
	ModeLive    Mode = "live"
)

// Merchant is a customer of the gateway. Secrets that baoguan only checks
// (API key, payzero app key) are kept as SHA-256 hashes; secrets baoguan must
// use to sign (webhook secret, sign token) are kept sealed by the store.
type Merchant struct {
	ID        int64
	No        string // merchant_no, public and unique
	Name      string // unique; pushorder names the merchant by it
	Status    MerchantStatus
	Mode      Mode
	EBPCode   string // customs registration of the e-commerce platform
	EBPName   string
	NotifyURL string // default notification URL; an order may override it

	APIKeyHash    string // hex SHA-256 of the native API key
	AppID         string // payzero login user name
	AppKeyHash    string // hex SHA-256 of the payzero app key
	SignToken     string // payzero notification signing token
	WebhookSecret string // Standard Webhooks secret, "whsec_…"

	// FundingBalance is the sandbox funding account (fen) that the "auto"
	// channel pays from; live merchants fund payments at their PSP.
	FundingBalance int64
	// Settings holds per-protocol options (access tokens, allowed networks,
	// registered public keys), as opaque JSON owned by each front-end.
	Settings map[string]string
	// PreviousWebhookSecrets are retired webhook secrets still in their
	// grace period (see core.ReissueKey). Not a column: core fills it in
	// before a delivery, so notifications are signed with them too.
	PreviousWebhookSecrets []string
	// AgentID is the agent (服务商) acting for the merchant, 0 for none.
	AgentID int64

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Active reports whether the merchant may push orders, or the error saying why not.
func (m *Merchant) Active() error {
	switch m.Status {
	case MerchantActive:
		return nil
	case MerchantArrears:
		return &Error{Code: EMERCHANT, Reason: "arrears", Message: "merchant is in arrears; settle the account before pushing orders"}
	default:
		return &Error{Code: EMERCHANT, Reason: "unsigned", Message: "merchant has not signed; sign the agreement before pushing orders"}
	}
}
