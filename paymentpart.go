package baoguan

import (
	"crypto/sha256"
	"encoding/hex"
)

// PartTransactionID is the payment transaction number declared for one
// part of a split payment: the first 32 lower-case hex digits of
// SHA-256(payment number + sub-order number). Customs wants a unique
// transaction number per payment record (CEB411 payTransactionId, "支付企业
// 唯一的支付流水号") and a split order is declared as one record per
// sub-order, so each part needs its own number, the same every time the
// part is declared. It is the rule LianLian ACCP split pushes document
// (accp.PayTransactionID gives the same value), so a merchant sees one
// number per part whichever protocol or port carried it.
func PartTransactionID(paymentNo, subOrderNo string) string {
	h := sha256.Sum256([]byte(paymentNo + subOrderNo))
	return hex.EncodeToString(h[:16])
}
