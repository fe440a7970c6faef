package baoguan

import "time"

// Bank cards: the cards a merchant funds automatic payments from, and the
// quick-pay agreements that let a payer pay by card with an SMS code.

// FundingCard is a bank card a merchant funds automatic ("auto") payments
// from, with the balance the merchant recorded for it. The card number is
// personal data: sealed by the store, shown masked (MaskCard).
type FundingCard struct {
	BankCode string `json:"bank_code"`
	AcctName string `json:"acct_name"`
	AcctNo   string `json:"acct_no"`
	// Signed says the card's payment agreement is confirmed; an unsigned
	// card is bound but cannot pay.
	Signed bool `json:"signed"`
	// Balance is the balance the merchant recorded, in fen. baoguan only
	// compares it with what is to be paid; the merchant keeps it true.
	Balance int64 `json:"balance"`
}

// FundingCards is a merchant's funding set-up for automatic payment.
type FundingCards struct {
	Cards []FundingCard
	// Recorded is false when the merchant never recorded cards (a recorded
	// empty list is "no card"). A sandbox merchant that never recorded
	// cards pays from its sandbox funding account, shown as one signed card
	// of the test bank whose balance is the account's.
	Recorded  bool
	UpdatedAt time.Time
}

// BankCodes are the bank institution codes a card may carry, with the
// banks' names (payzero appendix A.5 lists them; they are the codes of the
// banks' payment-system registrations). TestBankCode is NetsUnion's test
// bank.
var BankCodes = map[string]string{
	"0102":     "中国工商银行",
	"0103":     "中国农业银行",
	"0104":     "中国银行",
	"0105":     "中国建设银行",
	"0301":     "交通银行",
	"0302":     "中信银行",
	"0303":     "中国光大银行",
	"0304":     "华夏银行",
	"0305":     "中国民生银行",
	"0306":     "广东发展银行",
	"0307":     "平安银行",
	"0308":     "招商银行",
	"0309":     "兴业银行",
	"0310":     "上海浦东发展银行",
	"04012900": "上海银行",
	"999":      "网联测试专用银行",
}

// TestBankCode is NetsUnion's test bank, which test environments accept
// with any card number.
const TestBankCode = "999"

// CheckCardNo validates a bank card number: 12 to 19 digits once spaces and
// hyphens are dropped. It returns the digits, or EINVALID reason
// bad_card_no naming field.
func CheckCardNo(field, no string) (string, error) {
	bad := &Error{Code: EINVALID, Field: field, Reason: "bad_card_no", Message: field + " must be a bank card number of 12 to 19 digits"}
	var digits []byte
	for i := 0; i < len(no); i++ {
		switch c := no[i]; {
		case c == ' ' || c == '-':
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		default:
			return "", bad
		}
	}
	if len(digits) < 12 || len(digits) > 19 {
		return "", bad
	}
	return string(digits), nil
}

// CardAgreement is a quick-pay agreement binding a payer's card, applied
// for (AgreeID empty) or confirmed. AcctNo, IDNo, Mobile and ValidDate are
// personal data: sealed by the store, shown masked.
type CardAgreement struct {
	MerchantID  int64
	RequestID   string // the merchant's number for the application; unique per merchant
	AgreeID     string // the bank's agreement number, once confirmed; unique per merchant
	AcctName    string
	AcctNo      string
	AcctType    string // "00" debit, "02" credit
	BankCode    string
	IDNo        string
	Mobile      string
	ValidDate   string // yyMM, credit cards
	PSP         string // the payment company that holds the agreement
	AppliedAt   time.Time
	ConfirmedAt time.Time
}

// Confirmed reports whether the agreement can pay.
func (a *CardAgreement) Confirmed() bool { return a.AgreeID != "" }

// BankName is the bank's name from BankCodes.
func (a *CardAgreement) BankName() string { return BankCodes[a.BankCode] }

// SMS challenge purposes.
const (
	SMSBindCard = "bind" // confirming a card agreement; Ref is its request id
	SMSPayment  = "pay"  // confirming a card payment; Ref is the merchant order number
)

// SMSChallenge is one SMS code sent to a payer: good for one try, within
// the core's SMS code lifetime, and replaced by the next code sent for the
// same purpose and reference.
type SMSChallenge struct {
	MerchantID int64
	Purpose    string // SMSBindCard or SMSPayment
	Ref        string
	AgreeID    string // SMSPayment: the agreement the payment was applied for with
	SentAt     time.Time
	Burnt      bool // spent by a wrong or late try
	UsedAt     time.Time
	Attempts   int
}
