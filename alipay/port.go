package alipay

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/upstream"
)

// DefaultPollAfter is how long the port asks to wait before the first
// receipt query: Alipay forwards a declaration to customs within minutes.
const DefaultPollAfter = time.Minute

// Port is the baoguan.CustomsPort that declares through the merchant's
// Alipay account. Each declaration has one out_request_no for its whole
// life (OutRequestNo), so every send of it — a first attempt, a repeat
// after a crash, an EXCEPT retried, a modify or a re-declaration — names
// the same Alipay declaration: Alipay pushes it again or updates it, and
// never holds two. A later attempt first queries Alipay and sends nothing
// while the declaration is still waiting to reach customs.
type Port struct {
	Credentials CredentialSource
	Client      *Client
	PollAfter   time.Duration // default DefaultPollAfter
}

var _ baoguan.CustomsPort = (*Port)(nil)

// Name identifies the port in logs, metrics and stored declarations.
func (*Port) Name() string { return "alipay" }

func (p *Port) pollAfter() time.Duration {
	if p.PollAfter > 0 {
		return p.PollAfter
	}
	return DefaultPollAfter
}

// Declare hands one declaration to Alipay. Alipay's acceptance is
// PROCESSING (customs answers later, Receipt asks); a refusal is a FAIL
// with Alipay's code; a transient failure or an answer that cannot be
// trusted is an EXCEPT, which the core retries on its schedule. It returns
// an error only when the credentials cannot be read.
func (p *Port) Declare(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	ctx = upstream.ForRequest(ctx, r)
	cr, d, rc, err := p.prepare(ctx, r)
	if err != nil || rc != nil {
		return deref(rc), err
	}
	if r.Declaration.Attempts > 1 {
		cur, err := p.Client.Query(ctx, cr, d)
		switch {
		case err == nil && cur.DeclState() == baoguan.DeclProcessing && sameData(cur, d):
			return p.recordReceipt(cur), nil
		case err != nil && upstream.KindOf(err) != upstream.NotFound:
			return p.failed(err, false)
		}
	}
	a, err := p.Client.Declare(ctx, cr, d)
	if err != nil {
		return p.failed(err, false)
	}
	out := baoguan.Receipt{State: baoguan.DeclProcessing, Ref: a.AlipayDeclareNo, RetryAfter: p.pollAfter()}
	if id := a.IdentityResult(); id != baoguan.CheckUnchecked {
		out.IdentityCheck = id
	}
	return out, nil
}

// sameData reports whether the record Alipay holds is what d would send.
func sameData(r *Record, d *Declaration) bool {
	fen, err := baoguan.ParseYuan("amount", r.Amount)
	return err == nil && fen == d.Amount && r.MerchantCustomsCode == d.MerchantCustomsCode &&
		(r.MerchantCustomsName == "" || r.MerchantCustomsName == d.MerchantCustomsName)
}

// Receipt asks Alipay for the declaration's state. A transient failure is
// returned as the error (the job runner asks again); a declaration Alipay
// does not know, or a query it refuses for good, is an EXCEPT receipt so
// that the declaration is sent again rather than polled forever.
func (p *Port) Receipt(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	ctx = upstream.ForRequest(ctx, r)
	cr, d, rc, err := p.prepare(ctx, r)
	if err != nil || rc != nil {
		return deref(rc), err
	}
	rec, err := p.Client.Query(ctx, cr, d)
	if err != nil {
		return p.failed(err, true)
	}
	return p.recordReceipt(rec), nil
}

func (p *Port) recordReceipt(rec *Record) baoguan.Receipt {
	out := baoguan.Receipt{State: rec.DeclState(), Ref: rec.AlipayDeclareNo, ReceiptCode: rec.CustomsResultCode}
	switch out.State {
	case baoguan.DeclProcessing:
		out.RetryAfter = p.pollAfter()
	case baoguan.DeclSuccess:
		// MAPI's query names no verification department; the declare
		// number is kept as the reference.
		out.Explanation = rec.CustomsResultInfo
	default:
		out.Explanation = rec.Explanation()
	}
	// Customs' reason may quote the payer's ID number; the explanation is
	// stored and shown, so it is masked like every text from upstream.
	out.Explanation = upstream.MaskPersonal(out.Explanation)
	return out
}

func deref(r *baoguan.Receipt) baoguan.Receipt {
	if r == nil {
		return baoguan.Receipt{}
	}
	return *r
}

func (p *Port) failed(err error, poll bool) (baoguan.Receipt, error) {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return baoguan.Receipt{}, err
	}
	switch ue.Kind {
	case upstream.Fail:
		if poll {
			return baoguan.Receipt{State: baoguan.DeclExcept, Explanation: "支付宝拒绝查询 " + ue.Code + ": " + ue.Message}, nil
		}
		return baoguan.Receipt{State: baoguan.DeclFail, ReceiptCode: ue.Code, Explanation: "支付宝拒绝申报 " + ue.Code + ": " + ue.Message}, nil
	case upstream.NotFound:
		return baoguan.Receipt{State: baoguan.DeclExcept, Explanation: "支付宝没有这笔报关记录: " + ue.Message}, nil
	}
	if poll {
		return baoguan.Receipt{}, ue
	}
	return baoguan.Receipt{State: baoguan.DeclExcept, RetryAfter: ue.RetryAfter,
		Explanation: "支付宝暂时无法受理 " + ue.Code + ": " + ue.Message}, nil
}

// prepare reads the merchant's credentials and builds what the client
// sends. What cannot be sent (no credentials, no registration, not an
// Alipay customs code, no trade number) is a FAIL naming what to configure.
func (p *Port) prepare(ctx context.Context, r baoguan.DeclareRequest) (*Credentials, *Declaration, *baoguan.Receipt, error) {
	bd, o, m := r.Declaration, r.Order, r.Merchant
	if bd == nil || o == nil || m == nil {
		return nil, nil, nil, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL, "alipay: declare request without a declaration, order or merchant"))
	}
	refuse := func(msg string) (*Credentials, *Declaration, *baoguan.Receipt, error) {
		return nil, nil, &baoguan.Receipt{State: baoguan.DeclFail, Explanation: msg}, nil
	}
	code, ok := CodeFor(bd.Customs)
	if !ok {
		return refuse("customs " + bd.Customs + " has no Alipay customs code declared in one push; declare it with Alipay's own code or through another route")
	}
	if p.Credentials == nil || p.Client == nil {
		return refuse("no Alipay credentials are configured for merchant " + m.No)
	}
	cr, err := p.Credentials(ctx, m)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND || err == nil && cr == nil {
		return refuse("merchant " + m.No + " has no Alipay credentials: configure the partner id, sign type and key")
	}
	if baoguan.ErrorCode(err) == baoguan.EINVALID {
		return refuse(baoguan.ErrorMessage(err))
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if o.Payment.No == "" {
		return refuse("order " + o.MerchantOrderNo + " has no Alipay trade_no to declare")
	}
	reg, ok := cr.Registrations[bd.Customs]
	if !ok {
		reg = cr.Registrations[code]
	}
	d := &Declaration{Ref: bd.SubOrderID, OutRequestNo: OutRequestNo(bd), TradeNo: o.Payment.No, Amount: bd.OrderFee,
		CustomsPlace: code, MerchantCustomsCode: bd.MerchantCustomsNo, MerchantCustomsName: reg.Name, SubOutBizNo: bd.SubOrderNo}
	if d.MerchantCustomsCode == "" {
		d.MerchantCustomsCode = reg.No
	}
	if d.MerchantCustomsCode == "" || d.MerchantCustomsName == "" {
		return refuse("merchant " + m.No + " has no customs registration (merchant_customs_code and merchant_customs_name) for " + bd.Customs + ": configure it")
	}
	if d.Amount <= 0 {
		return refuse("the declared amount of order " + o.MerchantOrderNo + " is not positive")
	}
	if t := bd.Payer.IDType; t == "" || t == baoguan.IDTypeIDCard {
		d.BuyerName, d.BuyerIDNo = strings.TrimSpace(bd.Payer.Name), strings.ToUpper(strings.TrimSpace(bd.Payer.IDNumber))
	}
	return cr, d, nil, nil
}
