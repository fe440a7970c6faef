package sandbox

import (
	"context"
	"strconv"
	"time"

	"github.com/baoguan/baoguan"
)

// Card agreements in the sandbox follow payzero's test environment (§5.1,
// §5.2): bank code 999 (NetsUnion's test bank) with any card number, and
// any 6 characters as the SMS code. No SMS is sent.

var _ baoguan.CardChannel = (*Channel)(nil)

// cst is China Standard Time, in which agreement numbers are dated.
var cst = time.FixedZone("CST", 8*3600)

// ApplyAgreement accepts an application for bank code 999 only (EINVALID
// field bank_code, reason sandbox_bank, for any other) and names ALLINPAY,
// as payzero's quick-pay examples answer.
func (c *Channel) ApplyAgreement(ctx context.Context, r baoguan.AgreementRequest) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if r.Agreement.BankCode != baoguan.TestBankCode {
		return "", &baoguan.Error{Code: baoguan.EINVALID, Field: "bank_code", Reason: "sandbox_bank",
			Message: "沙箱环境请使用银行代码 999（网联测试专用银行）配合任意卡号"}
	}
	return PSPFor(baoguan.ChannelQuick), nil
}

// ConfirmAgreement refuses a code that is not 6 characters without spaces
// (ESTATE reason sms_wrong) and otherwise issues the agreement number: the
// confirmation time in China (yyyyMMddHHmmss) and 4 digits derived from the
// merchant and request id, 18 digits like payzero's 201905041150567656, the
// same whenever the same confirmation is asked again.
func (c *Channel) ConfirmAgreement(ctx context.Context, r baoguan.AgreementRequest, code string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if !smsCodeOK(code) {
		return "", errSMSWrong
	}
	a := r.Agreement
	return r.Now.In(cst).Format("20060102150405") + digits(4, "agree", strconv.FormatInt(a.MerchantID, 10), a.RequestID), nil
}
