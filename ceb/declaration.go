package ceb

import (
	"time"

	"github.com/baoguan/baoguan"
)

// Config is what the installation (the operator, a licensed payment company
// or a platform running baoguan for one) registers with customs and the
// E-Port. docs/chinaport.md lists where each value comes from.
type Config struct {
	// PayCode and PayName are the installation's customs registration as a
	// payment company: the payCode/payName of every record whose payment
	// names no payment company of its own.
	PayCode, PayName string
	// Transfer is the BaseTransfer block: the company whose E-Port client
	// transmits, and its DXP user id.
	Transfer Transfer
	// SenderID goes into file names (CEB_CEB411_<SenderID>_EPORT_…); the
	// DXP id when empty, which is what E-Port clients expect.
	SenderID string
	// Secret keys the guids (see GUID); at least MinSecretLen bytes. It
	// must stay the same for the life of the installation: a changed secret
	// would give a rerun attempt a new guid.
	Secret []byte
}

// Sender returns the sender id used in file names.
func (c *Config) Sender() string {
	if c.SenderID != "" {
		return c.SenderID
	}
	return c.Transfer.DxpID
}

// Validate checks the configuration; errors are EINVALID naming the
// customs field (payCode, copName, dxpId, …), "sender_id" or "secret".
func (c *Config) Validate() error {
	if err := codeRule("payCode", c.PayCode, 18); err != nil {
		return err
	}
	if err := (textRule{"payName", 1, 100}).check(c.PayName); err != nil {
		return err
	}
	if err := c.Transfer.Validate(); err != nil {
		return err
	}
	if err := codeRule("sender_id", c.Sender(), 30); err != nil {
		return err
	}
	if len(c.Secret) < MinSecretLen {
		return fieldErr("secret", "the guid secret must have at least %d bytes", MinSecretLen)
	}
	return nil
}

// Declaration is what baoguan knows about one declaration attempt, in
// baoguan's terms; Config.Message turns it into a CEB411. Build it with
// FromDeclaration. Every value must come from data stored before the
// message is written (AppTime in particular), so that a rerun of the same
// attempt builds the same bytes.
type Declaration struct {
	ID      int64     // baoguan's declaration id
	Attempt int       // 1 for the first attempt; each retry or re-declaration adds one
	AppType AppType   // NextAppType of the earlier attempts
	AppTime time.Time // the attempt's time as stored (the declaration's SubmittedAt)

	OrderNo          string // the order number, or the sub-order number of a split declaration
	PayTransactionID string // the payment number, or PartTransactionID for a split
	PayCode, PayName string // the payment company; Config's when empty
	EBPCode, EBPName string // the merchant's (platform's) customs registration
	Payer            baoguan.Payer
	Amount           int64 // fen: the declaration's order_fee
	PaidAt           time.Time
	Note             string
}

// Message is a built CEB411: its guid and the bytes to hand over.
type Message struct {
	GUID string
	XML  []byte
}

// Message builds the CEB411 of one declaration attempt. Errors are those of
// Build (EINVALID naming the customs field), or EINVALID on "secret" or
// "attempt".
func (c *Config) Message(d Declaration) (Message, error) {
	if len(c.Secret) < MinSecretLen {
		return Message{}, fieldErr("secret", "the guid secret must have at least %d bytes", MinSecretLen)
	}
	if d.Attempt < 1 {
		return Message{}, fieldErr("attempt", "attempt must be 1 or more, not %d", d.Attempt)
	}
	p := Payment{
		GUID:             GUID(c.Secret, d.ID, d.Attempt),
		AppType:          d.AppType,
		AppTime:          d.AppTime,
		AppStatus:        AppStatusDeclared,
		PayCode:          d.PayCode,
		PayName:          d.PayName,
		PayTransactionID: d.PayTransactionID,
		OrderNo:          d.OrderNo,
		EBPCode:          d.EBPCode,
		EBPName:          d.EBPName,
		Payer:            d.Payer,
		Amount:           d.Amount,
		PayTime:          d.PaidAt,
		Note:             d.Note,
	}
	if p.PayCode == "" {
		p.PayCode, p.PayName = c.PayCode, c.PayName
	}
	xml, err := Build(p, c.Transfer)
	if err != nil {
		return Message{}, err
	}
	return Message{GUID: p.GUID, XML: xml}, nil
}

// FromDeclaration maps a baoguan declaration attempt onto a CEB411 input
// (the table in docs/chinaport.md):
//
//   - orderNo: the sub-order number of a split declaration, else the
//     merchant's order number. Customs matches the payment record to the
//     platform's order message (CEB311) by it, and a split order is one
//     CEB311 per sub-order, whose acturalPaid must equal the record's
//     amountPaid;
//   - payTransactionId: the payment number, or for a split declaration
//     baoguan.PartTransactionID(payment number, sub-order number), because
//     each record needs its own unique transaction number;
//   - payCode/payName: the payment company the order's payment names
//     (Payment.PSPCode/PSPName), else the installation's;
//   - ebpCode/ebpName: the merchant's customs registration;
//   - the payer: the declaration's (it may have been corrected since the
//     order was pushed), opened only for this;
//   - amountPaid: the declaration's order_fee (for a whole-order
//     declaration, the paid amount less refunds);
//   - payTime: when the payment succeeded; appTime: d.SubmittedAt, which the
//     caller must have stored for this attempt before writing.
//
// attempt is the attempt being made (d.Attempts after the caller counted
// it), appType what NextAppType says.
func FromDeclaration(d *baoguan.Declaration, o *baoguan.Order, m *baoguan.Merchant, attempt int, appType AppType) Declaration {
	out := Declaration{
		ID:               d.ID,
		Attempt:          attempt,
		AppType:          appType,
		AppTime:          d.SubmittedAt,
		OrderNo:          o.MerchantOrderNo,
		PayTransactionID: o.Payment.No,
		PayCode:          o.Payment.PSPCode,
		PayName:          o.Payment.PSPName,
		EBPCode:          m.EBPCode,
		EBPName:          m.EBPName,
		Payer:            d.Payer,
		Amount:           d.OrderFee,
		PaidAt:           o.Payment.PaidAt,
	}
	if d.SubOrderNo != "" {
		out.OrderNo = d.SubOrderNo
		out.PayTransactionID = baoguan.PartTransactionID(o.Payment.No, d.SubOrderNo)
	}
	if out.PayName == "" {
		out.PayCode = "" // a code without its registered name is not usable: fall back to the installation's
	}
	return out
}
