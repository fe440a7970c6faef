package baoguan

import (
	"strings"
	"time"
	"unicode/utf8"
)

// PayStatus is an order's payment state (payzero appendix A.1 is canonical).
type PayStatus string

const (
	PayInitFeePending PayStatus = "INIT_FEE_PENDING"
	PayNotPayed       PayStatus = "NOT_PAYED"
	PayApplied        PayStatus = "PAY_APPLIED"
	PaySMSConfirmed   PayStatus = "PAY_SMS_CONFIRMED"
	PaySucceed        PayStatus = "PAY_SUCCEED"
	PayFailed         PayStatus = "PAY_FAILED"
	PayCancelled      PayStatus = "PAY_CANCELLED"
)

// payTransitions lists every legal pay_status change. PAY_SUCCEED is final:
// money that moved is undone by refunds, never by rewriting the status.
var payTransitions = map[PayStatus][]PayStatus{
	PayInitFeePending: {PayNotPayed, PayCancelled},
	PayNotPayed:       {PayApplied, PaySucceed, PayFailed, PayCancelled},
	PayApplied:        {PaySMSConfirmed, PaySucceed, PayFailed, PayCancelled, PayNotPayed},
	PaySMSConfirmed:   {PaySucceed, PayFailed},
	PayFailed:         {PayNotPayed, PayApplied, PayCancelled},
	PaySucceed:        nil,
	PayCancelled:      nil,
}

// CanMove reports whether from → to is a legal payment transition.
func (from PayStatus) CanMove(to PayStatus) bool {
	for _, s := range payTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is a known pay status.
func (s PayStatus) Valid() bool { _, ok := payTransitions[s]; return ok }

// PayStatuses lists every pay status, for validation and documentation.
func PayStatuses() []PayStatus {
	return []PayStatus{PayInitFeePending, PayNotPayed, PayApplied, PaySMSConfirmed, PaySucceed, PayFailed, PayCancelled}
}

// DeclareStatus is an order's declaration summary (payzero appendix A.2),
// derived from its declarations by DeriveDeclareStatus.
type DeclareStatus string

const (
	DeclareNone     DeclareStatus = "NOT_DECLARED"
	DeclarePending  DeclareStatus = "PENDING_DECLARE"
	DeclareRunning  DeclareStatus = "DECLARING"
	DeclareDone     DeclareStatus = "DECLARED"
	DeclareFailedSt DeclareStatus = "DECLARE_FAILED"
)

// Valid reports whether s is a known declare status.
func (s DeclareStatus) Valid() bool {
	switch s {
	case DeclareNone, DeclarePending, DeclareRunning, DeclareDone, DeclareFailedSt:
		return true
	}
	return false
}

// Channel names how an order is paid.
type Channel string

const (
	ChannelMock     Channel = "mock"     // virtual payment (payzero 6.1), succeeds at once
	ChannelAuto     Channel = "auto"     // the platform pays from the merchant's funding account
	ChannelExternal Channel = "external" // paid elsewhere; the request carries the payment no
	ChannelQR       Channel = "qr"       // payer scans a QR code (payzero §4)
	ChannelQuick    Channel = "quick"    // bank card quick pay with SMS (payzero §5)
)

// Valid reports whether c is a known channel (Channels).
func (c Channel) Valid() bool {
	for _, x := range Channels() {
		if c == x {
			return true
		}
	}
	return false
}

// Item is one line of an order.
type Item struct {
	Subject    string `json:"subject"`
	Link       string `json:"link,omitempty"`
	ArticleNo  string `json:"article_no,omitempty"`
	Quantity   int64  `json:"quantity,omitempty"`
	UnitAmount int64  `json:"unit_amount,omitempty"`
}

// Payer is the person the payment is declared for. IDNumber and Phone are
// personal data: sealed at rest, masked in logs and pages.
type Payer struct {
	Name     string
	IDType   string // IDTypeIDCard or IDTypeOther
	IDNumber string
	Phone    string
}

// Payment holds the facts of a successful (or failed) payment, including the
// raw channel exchange that customs' 179 data service asks for.
type Payment struct {
	No           string // baoguan's payment number (transaction id)
	PSP          string // payment company code, e.g. LYCHEEPAY
	PSPName      string // its customs registration name
	PSPCode      string // its customs registration code
	PaidAt       time.Time
	VerDept      string // 1 UnionPay, 2 NetsUnion, 3 other
	PayType      string // 1 APP, 2 PC, 3 scan, 4 other
	InitRequest  string
	InitResponse string
	FailReason   string
	// FailCode is the wallet's or bank's own code for a failed payment
	// (WeChat Pay's NOTENOUGH, Alipay's ACQ.BUYER_BALANCE_NOT_ENOUGH), for
	// protocols that pass it on; empty when none was given.
	FailCode string
	// PayerName and PayerID identify who really paid, as the channel reports
	// it; declarations compare the declared payer with them (SAME/DIFFERENT).
	PayerName string
	PayerID   string
	// ExchangeRate, CNYAmount and SettleRate are the currency facts of a
	// payment of an order in another currency than CNY, recorded once when
	// it succeeds (see money.go's Order.PaidCNY): the rate used (CNY per
	// unit), the CNY the payer paid (fen) and the wallet's settlement
	// rate. Zero for CNY orders.
	ExchangeRate Rate
	CNYAmount    int64
	SettleRate   Rate
}

// Order is a merchant's order, pushed through any front-end. The same order
// is visible through every view of the same merchant.
type Order struct {
	ID              int64
	MerchantID      int64
	MerchantOrderNo string
	Amount          int64 // fen
	Currency        string
	Subject         string
	Items           []Item
	Payer           Payer
	OrderedAt       time.Time
	BatchID         int64 // 0 when not in a batch
	NotifyURL       string
	NeedDeclare     bool
	Channel         Channel
	Sandbox         bool   // paid and declared through the sandbox channel and port
	Protocol        string // the front-end that created it; notifications use its format
	CapitalName     string // pushorder's funding party (资方)
	Extra           map[string]string

	PayStatus     PayStatus
	DeclareStatus DeclareStatus
	Payment       Payment
	PayAttempts   int   // payment rounds started (re-arranging starts a new one)
	Refunded      int64 // sum of successful refunds, fen
	// PayDueAt, when not zero, is when the order's payment is due to be
	// asked for: the order is then its own pay queue (core: a new order's
	// payment whose adapter is in-process), read by the job runner beside
	// its due jobs, instead of a pay job row. Zero: no payment queued on
	// the order (a pay job row may queue one).
	PayDueAt time.Time
	Version  int64 // optimistic concurrency; the store bumps it on update
	// Fingerprint is the SHA-256 (hex) of the content the order was
	// created with, as core fingerprints a push: the order's number is its
	// natural key, and a repeat of its creation is answered with the order
	// when it holds the same content, refused when it holds other content.
	// Written with the order and never changed (UpdateOrder leaves it).
	Fingerprint string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Paid reports whether the order's payment succeeded.
func (o *Order) Paid() bool { return o.PayStatus == PaySucceed }

// Declarable is the amount that may still be declared, in CNY (fen), since
// customs is told CNY: paid less refunded, the CNY the payment recorded
// less the refunds' CNY share for an order in another currency.
func (o *Order) Declarable() int64 {
	if !o.Paid() || o.Refunded >= o.Amount {
		return 0
	}
	_, paid := o.PaidCNY()
	return max(paid-o.RefundedCNY(), 0)
}

// MovePay changes the pay status, refusing illegal transitions.
func (o *Order) MovePay(to PayStatus) error {
	if o.PayStatus == to {
		return nil
	}
	if !o.PayStatus.CanMove(to) {
		return &Error{Code: ESTATE, Reason: "illegal_pay_transition",
			Message: "order " + o.MerchantOrderNo + " cannot move from " + string(o.PayStatus) + " to " + string(to)}
	}
	o.PayStatus = to
	return nil
}

// MaxOrderNoLen bounds merchant order numbers (customs allows 60).
const MaxOrderNoLen = 60

// CheckOrderNo validates a merchant order, refund or batch number: 1–60
// printable ASCII characters without spaces.
func CheckOrderNo(field, no string) error {
	if no == "" {
		return &Error{Code: EINVALID, Field: field, Reason: "missing", Message: field + " is required"}
	}
	if len(no) > MaxOrderNoLen {
		return &Error{Code: EINVALID, Field: field, Reason: "bad_order_no", Message: field + " is longer than 60 characters"}
	}
	for _, c := range no {
		if c <= ' ' || c > '~' {
			return &Error{Code: EINVALID, Field: field, Reason: "bad_order_no", Message: field + " may only hold printable ASCII without spaces"}
		}
	}
	return nil
}

// Validate checks an order as pushed: the rules every front-end shares.
// It does not check the customs target (see DeclarationSpec.Validate).
// Every amount is within MaxAmount and every stored text field passes
// CheckText. Errors are EINVALID naming the field.
func (o *Order) Validate() error {
	if err := CheckOrderNo("merchant_order_no", o.MerchantOrderNo); err != nil {
		return err
	}
	if err := CheckPositiveAmount("amount", o.Amount); err != nil {
		return err
	}
	if o.Currency == "" {
		o.Currency = "CNY"
	}
	if err := o.checkCurrency(); err != nil {
		return err
	}
	if strings.TrimSpace(o.Subject) == "" {
		return &Error{Code: EINVALID, Field: "subject", Reason: "missing", Message: "subject is required"}
	}
	if utf8.RuneCountInString(o.Subject) > 256 {
		return &Error{Code: EINVALID, Field: "subject", Reason: "too_long", Message: "subject is longer than 256 characters"}
	}
	for _, f := range []struct{ name, v string }{{"subject", o.Subject}, {"capital_name", o.CapitalName},
		{"payment_no", o.Payment.No}, {"psp", o.Payment.PSP}, {"psp_name", o.Payment.PSPName}, {"psp_customs_code", o.Payment.PSPCode}} {
		if err := CheckText(f.name, f.v); err != nil {
			return err
		}
	}
	for i, it := range o.Items {
		if strings.TrimSpace(it.Subject) != "" && it.validate("") == nil {
			continue // the field names are spelled out only for an error
		}
		field := "items[" + itoa(i) + "]."
		if strings.TrimSpace(it.Subject) == "" {
			return &Error{Code: EINVALID, Field: field + "subject", Reason: "missing", Message: "every item needs a subject"}
		}
		if err := it.validate(field); err != nil {
			return err
		}
	}
	for k, v := range o.Extra {
		if err := CheckText("extra", k); err != nil {
			return err
		}
		if err := CheckText("extra."+k, v); err != nil {
			return err
		}
	}
	if !o.Channel.Valid() {
		return &Error{Code: EINVALID, Field: "channel", Reason: "bad_channel", Message: "channel must be one of " + channelList()}
	}
	if o.Channel.Wallet() {
		if err := CheckWallet(o.Extra[ExtraWallet]); err != nil {
			return err
		}
	}
	if o.Channel == ChannelExternal && o.Payment.No == "" {
		return &Error{Code: EINVALID, Field: "payment_no", Reason: "missing", Message: "payment_no is required for an order paid elsewhere"}
	}
	if o.NeedDeclare {
		if err := o.Payer.Validate(); err != nil {
			return err
		}
	} else if err := o.Payer.checkText(); err != nil {
		// An order that is not declared may still carry a payer; what is
		// stored must be storable.
		return err
	}
	return nil
}

// validate checks an item's text fields and amount; field is its prefix,
// e.g. "items[2].".
func (it *Item) validate(field string) error {
	for _, f := range []struct{ name, v string }{{"subject", it.Subject}, {"link", it.Link}, {"article_no", it.ArticleNo}} {
		if err := CheckText(field+f.name, f.v); err != nil {
			return err
		}
	}
	if it.Quantity < 0 {
		return &Error{Code: EINVALID, Field: field + "quantity", Reason: "bad_quantity", Message: field + "quantity must not be negative"}
	}
	return CheckAmount(field+"unit_amount", it.UnitAmount)
}

// Validate checks the payer data a declaration needs at push time. Identity
// rules beyond the format (checksum, name match) are applied before the
// declaration is sent, so that a push is not refused for them. Every field
// passes CheckText. Errors are EINVALID naming the field.
func (p *Payer) Validate() error {
	if strings.TrimSpace(p.Name) == "" {
		return &Error{Code: EINVALID, Field: "payer.name", Reason: "missing_name", Message: "payer name is required for a declared order"}
	}
	if err := p.checkText(); err != nil {
		return err
	}
	if p.IDType == "" {
		p.IDType = IDTypeIDCard
	}
	if p.IDType != IDTypeIDCard && p.IDType != IDTypeOther {
		return &Error{Code: EINVALID, Field: "payer.id_type", Reason: "bad_id_type", Message: "payer id_type must be IDCARD or OTHER"}
	}
	if err := CheckIDFormat("payer.id_number", p.IDType, p.IDNumber); err != nil {
		return err
	}
	if strings.TrimSpace(p.Phone) == "" {
		return &Error{Code: EINVALID, Field: "payer.phone", Reason: "missing_phone", Message: "payer phone is required for a declared order"}
	}
	if !phoneOK(p.Phone) {
		return &Error{Code: EINVALID, Field: "payer.phone", Reason: "bad_phone", Message: "payer phone must be 5–20 digits (mainland mobiles have 11)"}
	}
	return nil
}

// checkText applies CheckText to every payer field.
func (p *Payer) checkText() error {
	for _, f := range []struct{ name, v string }{{"payer.name", p.Name}, {"payer.id_type", p.IDType},
		{"payer.id_number", p.IDNumber}, {"payer.phone", p.Phone}} {
		if err := CheckText(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

func phoneOK(p string) bool {
	p = strings.TrimPrefix(p, "+")
	if len(p) < 5 || len(p) > 20 {
		return false
	}
	for _, c := range p {
		if (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
