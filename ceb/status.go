package ceb

import (
	"strconv"
	"time"

	"github.com/baoguan/baoguan"
)

// returnStatus values of PaymentReturn (schema: "2电子口岸申报中/3发送海关成功/
// 4发送海关失败/100海关退单/120海关入库/399海关审结, 若小于0数字表示处理异常回执").
const (
	StatusSaved      = 1   // 电子口岸已暂存: only for appStatus 1, which baoguan never sends
	StatusDeclaring  = 2   // 电子口岸申报中: the E-Port accepted the message
	StatusSent       = 3   // 发送海关成功: forwarded to customs
	StatusSendFailed = 4   // 发送海关失败: the E-Port could not forward it
	StatusReturned   = 100 // 海关退单: customs refused the record, reason in returnInfo
	StatusStored     = 120 // 海关入库: customs stored the record
	StatusConcluded  = 399 // 海关审结: customs concluded it
)

// StateOf maps a returnStatus onto a declaration state:
//
//	1, 2, 3   PROCESSING (accepted, in progress)
//	4         EXCEPT: the E-Port could not reach customs; baoguan retries
//	100       FAIL: returned by customs, returnInfo says why
//	120, 399  SUCCESS: stored by customs; 399 (concluded) comes after 120
//	          and is the same outcome, so it is SUCCESS too, also when it
//	          arrives first or alone
//	< 0       FAIL: the E-Port refused the message (format, signature,
//	          business check), returnInfo says why
//
// Any other value is an EINVALID error (reason "unknown_return_status"):
// such a receipt moves nothing and is reported.
func StateOf(status int) (baoguan.DeclState, error) {
	switch {
	case status < 0, status == StatusReturned:
		return baoguan.DeclFail, nil
	case status == StatusSaved, status == StatusDeclaring, status == StatusSent:
		return baoguan.DeclProcessing, nil
	case status == StatusSendFailed:
		return baoguan.DeclExcept, nil
	case status == StatusStored, status == StatusConcluded:
		return baoguan.DeclSuccess, nil
	}
	return "", (&baoguan.Error{Code: baoguan.EINVALID, Field: "returnStatus", Reason: "unknown_return_status",
		Message: "unknown returnStatus " + strconv.Itoa(status)})
}

// Receipt turns a payment receipt into the port's answer about the
// declaration attempt named by its guid: the state (StateOf), the guid as
// Ref, the returnStatus as ReceiptCode and an explanation (returnInfo, or
// the status's meaning when customs gave none). The error is StateOf's.
func (r PaymentReturn) Receipt() (baoguan.Receipt, error) {
	st, err := StateOf(r.Status)
	if err != nil {
		return baoguan.Receipt{}, err
	}
	out := baoguan.Receipt{State: st, Ref: r.GUID, ReceiptCode: strconv.Itoa(r.Status), Explanation: r.Info}
	if out.Explanation == "" {
		out.Explanation = statusText(r.Status)
	}
	return out, nil
}

// statusText is the meaning of a status in customs' words.
func statusText(s int) string {
	switch s {
	case StatusSaved:
		return "电子口岸已暂存"
	case StatusDeclaring:
		return "电子口岸申报中"
	case StatusSent:
		return "发送海关成功"
	case StatusSendFailed:
		return "发送海关失败"
	case StatusReturned:
		return "海关退单"
	case StatusStored:
		return "海关入库"
	case StatusConcluded:
		return "海关审结"
	}
	if s < 0 {
		return "电子口岸处理异常（" + strconv.Itoa(s) + "）"
	}
	return ""
}

// rank orders statuses of one attempt: a later stage outranks an earlier
// one; 3 and 4 are alternatives of the same stage; every final status
// outranks every other, and 399 (concluded) outranks 120 (stored).
func rank(s int) int {
	switch {
	case s == StatusConcluded:
		return 11
	case s < 0, s == StatusReturned, s == StatusStored:
		return 10
	case s == StatusSendFailed:
		return StatusSent
	}
	return s // 0 (nothing yet), 1, 2, 3
}

// Current is what a declaration already holds from receipts of its
// current attempt.
type Current struct {
	State  baoguan.DeclState // the declaration's state
	GUID   string            // the guid of its current attempt (its PortRef)
	Status int               // the returnStatus last applied to that attempt; 0 = none yet
	Time   time.Time         // that receipt's returnTime (zero when unknown)
}

// Verdict is what Decide concluded.
type Verdict string

const (
	Apply        Verdict = "apply"          // record the receipt and move the declaration to To (which may be its state already)
	Duplicate    Verdict = "duplicate"      // the declaration already has this receipt
	Stale        Verdict = "stale"          // older than what the declaration has (a late, out-of-order receipt)
	Final        Verdict = "final"          // the declaration already has a final outcome; nothing moves back
	OtherAttempt Verdict = "other_attempt"  // about another attempt (an earlier one, or a guid this declaration never sent)
	Unknown      Verdict = "unknown_status" // a returnStatus this package does not know
)

// Decision is Decide's answer. Receipt is the port answer to apply (for
// Apply) or to keep for the record.
type Decision struct {
	Verdict Verdict
	To      baoguan.DeclState
	Receipt baoguan.Receipt
}

// Decide says whether receipt r may move a declaration that already holds
// cur. Receipts come late, twice and out of order; the rules make applying
// them in any order end in the same place:
//
//  1. a receipt about another attempt never moves the declaration (it is
//     kept for the record: a new attempt has its own guid);
//  2. an unknown returnStatus moves nothing;
//  3. nothing moves a declaration back from a final outcome (SUCCESS or
//     FAIL, i.e. after 100, 120, 399 or a negative status); the only change
//     allowed then is a later final status of the same outcome (399 after
//     120), which refines the receipt code without a state change;
//  4. a final receipt is applied whatever its time;
//  5. a non-final receipt (1–4) is applied when it is newer than the one the
//     declaration holds (by returnTime; by stage when either time is
//     unknown or both are equal), and is Stale otherwise;
//  6. the same status again is a Duplicate.
func Decide(cur Current, r PaymentReturn) Decision {
	rec, err := r.Receipt()
	if err != nil {
		return Decision{Verdict: Unknown, Receipt: baoguan.Receipt{Ref: r.GUID, ReceiptCode: strconv.Itoa(r.Status), Explanation: r.Info}}
	}
	d := Decision{To: rec.State, Receipt: rec}
	switch {
	case r.GUID != cur.GUID:
		d.Verdict = OtherAttempt
	case r.Status == cur.Status && (r.Time.Equal(cur.Time) || r.Time.IsZero() || rank(r.Status) >= 10):
		d.Verdict = Duplicate
	case cur.State == baoguan.DeclSuccess || cur.State == baoguan.DeclFail || rank(cur.Status) >= 10:
		d.Verdict = Final
		if rec.State == cur.State && rank(r.Status) > rank(cur.Status) {
			d.Verdict = Apply
		}
	case rank(r.Status) >= 10, cur.Status == 0:
		d.Verdict = Apply
	case !r.Time.IsZero() && !cur.Time.IsZero() && !r.Time.Equal(cur.Time):
		d.Verdict = Stale
		if r.Time.After(cur.Time) {
			d.Verdict = Apply
		}
	case rank(r.Status) > rank(cur.Status):
		d.Verdict = Apply
	default:
		d.Verdict = Stale
	}
	return d
}
