package sandbox

import (
	"context"
	"strconv"
	"time"

	"github.com/baoguan/baoguan"
)

// Explanations the sandbox port gives, in the words customs uses, so that
// merchants see in the sandbox the texts they will meet in production.
const (
	ExplainBadChecksum      = "订购人身份证号校验不通过（GB 11643 校验码错误）"
	ExplainNameMismatch     = "支付人姓名和证件号不匹配"
	ExplainPaymentInvalid   = "支付单验证失败"
	ExplainCustomsException = "海关接口异常"
)

// Sequence codes (characters 15–17 of an 18-character ID number) that steer
// the sandbox port. The sequence code was chosen because it is free for the
// tester to pick without touching the region or birth date, and changing it
// only moves the check digit.
const (
	SeqNameMismatch   = "999" // FAIL 支付人姓名和证件号不匹配
	SeqPaymentInvalid = "996" // FAIL 支付单验证失败
	SeqExceptOnce     = "998" // EXCEPT on attempt 1, SUCCESS from attempt 2
	SeqExceptAlways   = "997" // EXCEPT on every attempt
)

// Receipt codes: customs answers a successful new declaration with "2"
// (新增申报成功) and a refusal with a negative code; an interface exception
// has no customs receipt at all.
const (
	ReceiptCodeSuccess = "2"
	ReceiptCodeFail    = "-1"
)

// verifyDepartment is UnionPay because the sandbox's auto channel poses as
// Allinpay, a UnionPay-verified PSP; the trade id prefix 4208 mimics the
// shape of the ids UnionPay hands out.
const (
	verifyDepartment = "UNIONPAY"
	tradeIDPrefix    = "4208"
)

// Port is the sandbox baoguan.CustomsPort. Delay is how long customs takes
// to answer after a declaration is submitted (`--sandbox-delay`, 1s by
// default); 0 answers at once, which is what `baoguan bench` uses. Port
// holds no other state, so restarting the process changes nothing.
type Port struct{ Delay time.Duration }

var _ baoguan.CustomsPort = (*Port)(nil)

// NewPort returns a sandbox customs port answering after delay. A negative
// delay is taken as 0.
func NewPort(delay time.Duration) *Port {
	return &Port{Delay: max(delay, 0)}
}

// Name identifies the port in logs, metrics and stored declarations.
func (*Port) Name() string { return "sandbox" }

// InProcess says the port answers at once from within the process
// (baoguan.InProcess): with a delay it answers PROCESSING and is polled
// later, it never waits.
func (*Port) InProcess() bool { return true }

func (p *Port) delay() time.Duration {
	if p == nil || p.Delay < 0 {
		return 0
	}
	return p.Delay
}

// Declare accepts a declaration. With a delay it answers PROCESSING and asks
// to be polled after the delay; with none it answers the outcome at once, so
// that bench runs need no polling round. It validates nothing: the core has
// already applied the push-time and pre-declaration checks, and the sandbox
// must not refuse what production would accept.
func (p *Port) Declare(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return baoguan.Receipt{}, err
	}
	d := r.Declaration
	if d == nil {
		return baoguan.Receipt{}, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL, "sandbox: declare request without a declaration"))
	}
	if p.delay() == 0 {
		return outcome(d), nil
	}
	return baoguan.Receipt{State: baoguan.DeclProcessing, Ref: portRef(d), RetryAfter: p.delay()}, nil
}

// Receipt answers a poll: PROCESSING until Delay has passed since the
// declaration's SubmittedAt (measured against the injected r.Now, never the
// wall clock, so tests need no sleeping), then the outcome. A declaration
// without SubmittedAt is treated as submitted long ago: answering beats
// polling forever on data the port cannot fix.
func (p *Port) Receipt(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return baoguan.Receipt{}, err
	}
	d := r.Declaration
	if d == nil {
		return baoguan.Receipt{}, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL, "sandbox: receipt request without a declaration"))
	}
	if delay := p.delay(); delay > 0 && !d.SubmittedAt.IsZero() {
		if ready := d.SubmittedAt.Add(delay); r.Now.Before(ready) {
			return baoguan.Receipt{State: baoguan.DeclProcessing, Ref: portRef(d), RetryAfter: ready.Sub(r.Now)}, nil
		}
	}
	return outcome(d), nil
}

// outcome applies the sandbox rules, in order, to the declared payer (not
// the order's payer: a re-declaration with corrected data must be able to
// turn a FAIL into a SUCCESS).
func outcome(d *baoguan.Declaration) baoguan.Receipt {
	id := baoguan.NormalizeID(d.Payer.IDNumber)

	// 1. Document examples answer as their documents show. This comes first
	// because most of them would fail the checksum rule below.
	if s, ok := lookupSample(id); ok {
		switch s.State {
		case baoguan.DeclFail:
			return fail(d, s.Explanation)
		case baoguan.DeclExcept:
			return except(d, s.Explanation)
		}
		return success(d)
	}

	idType := d.Payer.IDType
	if idType == "" {
		idType = baoguan.IDTypeIDCard // protocols that send no type mean IDCARD
	}
	if idType == baoguan.IDTypeIDCard {
		// 2. Customs verifies the check digit; so does the sandbox, so that
		// a typo is caught here rather than in production.
		if !baoguan.ValidIDChecksum(id) {
			return fail(d, ExplainBadChecksum)
		}
		// 3. The sequence code selects a scripted outcome.
		if len(id) == 18 {
			switch id[14:17] {
			case SeqNameMismatch:
				return fail(d, ExplainNameMismatch)
			case SeqPaymentInvalid:
				return fail(d, ExplainPaymentInvalid)
			case SeqExceptOnce:
				if d.Attempts <= 1 {
					return except(d, ExplainCustomsException)
				}
			case SeqExceptAlways:
				return except(d, ExplainCustomsException)
			}
		}
	}
	// 4. Everything else succeeds.
	return success(d)
}

func success(d *baoguan.Declaration) baoguan.Receipt {
	return baoguan.Receipt{
		State:                   baoguan.DeclSuccess,
		Ref:                     portRef(d),
		VerifyDepartment:        verifyDepartment,
		VerifyDepartmentTradeID: tradeIDPrefix + digits(16, "trade", declKey(d), strconv.Itoa(d.Attempts)),
		ReceiptCode:             ReceiptCodeSuccess,
	}
}

func fail(d *baoguan.Declaration, why string) baoguan.Receipt {
	return baoguan.Receipt{State: baoguan.DeclFail, Ref: portRef(d), Explanation: why, ReceiptCode: ReceiptCodeFail}
}

func except(d *baoguan.Declaration, why string) baoguan.Receipt {
	return baoguan.Receipt{State: baoguan.DeclExcept, Ref: portRef(d), Explanation: why}
}

// portRef is the port's reference for one declaration attempt. It is derived
// rather than issued so that a Declare replayed after a crash returns the
// reference the core may already have stored.
func portRef(d *baoguan.Declaration) string {
	return "SBX" + digits(17, "ref", declKey(d), strconv.Itoa(d.Attempts))
}

// declKey names a declaration for hashing: its SubOrderID when it has one,
// else its row id. Merchant and customs code are included because the same
// sub-order may be declared to several customs targets, and each needs its
// own reference and trade id.
func declKey(d *baoguan.Declaration) string {
	k := d.SubOrderID
	if k == "" {
		k = "#" + i64(d.ID)
	}
	return i64(d.MerchantID) + "\x00" + d.Customs + "\x00" + k
}
