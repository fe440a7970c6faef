package core

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/baoguan/baoguan"
)

// This file holds what the payzero services (payzero_*.go) share: where
// their state lives and the payzero vocabularies the rules check against.
//
// Interim storage. Bound bank cards, quick-pay agreements, SMS challenges,
// QR codes and real-name check results have no table yet, and the Store
// interface is not to change while the PostgreSQL store is being built
// against it. They are kept as JSON values in the installation's settings
// (Tx.Setting / Tx.PutSetting), which every store seals at rest, so card
// and ID numbers are encrypted like the payer data of orders. Keys always
// carry the merchant id, so one merchant never reaches another's values.
// Settings cannot be listed or deleted: a value that is no longer valid is
// overwritten with a state saying so (a used SMS challenge, a replaced QR
// code), never removed.

// payzeroKey builds a settings key: "payzero.<kind>.<merchantID>.<id>".
func payzeroKey(kind string, merchantID int64, id string) string {
	k := "payzero." + kind + "." + strconv.FormatInt(merchantID, 10)
	if id != "" {
		k += "." + id
	}
	return k
}

// getJSON reads a JSON setting into v, reporting whether it exists.
func getJSON(tx baoguan.Tx, key string, v any) (bool, error) {
	s, err := tx.Setting(key)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return false, fmt.Errorf("setting %s holds bad JSON: %w", key, err)
	}
	return true, nil
}

// putJSON stores v as a JSON setting, replacing any earlier value.
func putJSON(tx baoguan.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.PutSetting(key, string(b), false)
	return err
}

// randomHex returns n random bytes as hex: tokens that must not be guessed
// (QR page links) and identifiers that must not collide across instances.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// PayzeroBanks are the bank codes of payzero appendix A.5, with their
// names. 999 is NetsUnion's test bank, the only one the sandbox accepts.
var PayzeroBanks = map[string]string{
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

// PayzeroTestBank is the bank code payzero's test environment uses for
// quick-pay agreements with any card number (§5.1).
const PayzeroTestBank = "999"

// checkCardNo validates a bank card number: 12 to 19 digits once spaces
// and hyphens are dropped. It returns the digits.
func checkCardNo(field, no string) (string, error) {
	var digits []byte
	for i := 0; i < len(no); i++ {
		switch c := no[i]; {
		case c == ' ' || c == '-':
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		default:
			return "", &baoguan.Error{Code: baoguan.EINVALID, Field: field, Reason: "bad_card_no", Message: field + " must be a bank card number of 12 to 19 digits"}
		}
	}
	if len(digits) < 12 || len(digits) > 19 {
		return "", &baoguan.Error{Code: baoguan.EINVALID, Field: field, Reason: "bad_card_no", Message: field + " must be a bank card number of 12 to 19 digits"}
	}
	return string(digits), nil
}
