package ceb

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
)

// MinSecretLen is the shortest installation secret GUID accepts.
const MinSecretLen = 16

// GUID is the customs guid of one declaration attempt: a UUID-shaped,
// upper-case rendering of HMAC-SHA256(secret, "CEB411", declaration id,
// attempt). It is derived, not drawn, so that the same attempt always has
// the same guid: a declare job that runs again after a crash rebuilds the
// very message it may already have handed over, and the Outbox recognises it
// by this guid. The secret (the installation's, kept sealed) stops anyone
// who knows declaration ids from predicting guids; the version nibble is 8
// (RFC 9562 custom UUID) so the value reads as a well-formed UUID.
//
// Each new attempt (a retry after EXCEPT, a modification, a re-declaration)
// has its own guid, as customs requires of a change (appType 2).
func GUID(secret []byte, declarationID int64, attempt int) string {
	return derivedGUID(secret, "CEB411", strconv.FormatInt(declarationID, 10), strconv.Itoa(attempt))
}

// derivedGUID hashes length-prefixed parts, so ("1","23") and ("12","3")
// never collide, and renders 16 bytes as an upper-case 8-4-4-4-12 UUID.
func derivedGUID(secret []byte, parts ...string) string {
	h := hmac.New(sha256.New, secret)
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	s := strings.ToUpper(hex.EncodeToString(u))
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// NextAppType says which appType a declaration attempt must carry, given
// the last returnStatus of each earlier attempt of the same payment record
// that was handed to the E-Port (0 for one with no receipt yet). The E-Port
// holds a record once it accepted a message, whatever customs said later;
// a new message for a record it holds must be a change (2), and a new one
// for a record it does not hold must be new (1): otherwise it answers
// -401007 (已存在相同编号的支付单) or -401006 (未找到对应操作的支付单).
// Only a negative receipt (the E-Port refused the message) leaves no record.
func NextAppType(earlier []int) AppType {
	for _, s := range earlier {
		if s >= 0 {
			return AppChange
		}
	}
	return AppNew
}
