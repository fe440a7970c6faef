package baoguan

import (
	"strings"
	"time"
)

// Role says what a console user may see.
type Role string

const (
	// RoleOperator runs the gateway: every merchant, dead jobs, upstream logs.
	RoleOperator Role = "operator"
	// RoleMerchant is a merchant's operations staff: one merchant's data only.
	RoleMerchant Role = "merchant"
)

// User is a console account. Merchant users belong to exactly one merchant
// (MerchantID); operators to none (MerchantID 0). The password is kept only
// as a KDF hash (see core.HashPassword).
type User struct {
	ID           int64
	Login        string // unique, case-folded
	Name         string // shown in the console
	Role         Role
	MerchantID   int64
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Validate checks a user as an operator creates it. EINVALID naming the field.
func (u *User) Validate() error {
	u.Login = strings.ToLower(strings.TrimSpace(u.Login))
	if u.Login == "" {
		return &Error{Code: EINVALID, Field: "login", Reason: "missing", Message: "login is required"}
	}
	if len(u.Login) > 64 {
		return &Error{Code: EINVALID, Field: "login", Reason: "too_long", Message: "login is longer than 64 characters"}
	}
	for _, c := range u.Login {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return &Error{Code: EINVALID, Field: "login", Reason: "bad_login", Message: "login may hold letters, digits and . _ - @ only"}
		}
	}
	switch u.Role {
	case RoleOperator:
		if u.MerchantID != 0 {
			return &Error{Code: EINVALID, Field: "merchant", Reason: "operator_with_merchant", Message: "an operator belongs to no merchant"}
		}
	case RoleMerchant:
		if u.MerchantID == 0 {
			return &Error{Code: EINVALID, Field: "merchant", Reason: "missing", Message: "a merchant user needs a merchant"}
		}
	default:
		return &Error{Code: EINVALID, Field: "role", Reason: "bad_role", Message: "role must be operator or merchant"}
	}
	return nil
}

// Session is a signed-in console browser. The cookie carries a random token;
// the store keeps only its SHA-256 hash, so a copy of the database signs
// nobody in. CSRF is the token every form of this session must carry.
type Session struct {
	TokenHash string
	UserID    int64
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Key kinds a merchant holds; each can be reissued with a grace period or
// revoked at once (core.ReissueKey).
const (
	KeyAPI     = "api_key"        // native API Bearer key (stored hashed)
	KeyApp     = "app_key"        // payzero login key (stored hashed)
	KeyWebhook = "webhook_secret" // Standard Webhooks signing secret (sealed)
)

// RetiredKey is a merchant secret replaced by a new one but still accepted
// until ExpiresAt, so an integration can switch without downtime. Secret
// is the SHA-256 hash for checked secrets (API key, app key) and the value
// itself, sealed by the store, for secrets baoguan signs with.
type RetiredKey struct {
	ID         int64
	MerchantID int64
	Kind       string
	Secret     string
	ExpiresAt  time.Time
	CreatedAt  time.Time
}

// DayCount is one day of a merchant's orders for the dashboard. Day is the
// start of the day in China Standard Time (UTC+8), where the merchants are.
type DayCount struct {
	Day        time.Time
	Orders     int
	Paid       int
	PaidAmount int64
	PayFailed  int
}

// PortCount counts declarations to one customs port by outcome.
type PortCount struct {
	Port    string
	Success int
	Failed  int // FAIL, and EXCEPT no longer retried
	Waiting int // anything not final
}

// FailureCount is how often one explanation failed declarations at a port.
type FailureCount struct {
	Port        string
	Explanation string
	Count       int
	Last        time.Time
}

// StatsFilter bounds the dashboard figures: one merchant (0 = all, for
// operators) and the time the objects were created in, [From, To).
type StatsFilter struct {
	MerchantID int64
	From, To   time.Time
}
