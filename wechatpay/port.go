package wechatpay

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/upstream"
)

// DefaultPollAfter is how long the port asks to wait before the first
// receipt query: WeChat forwards a record to the electronic port within
// seconds to minutes, and customs answers later still.
const DefaultPollAfter = time.Minute

// Port is the baoguan.CustomsPort that declares through the merchant's
// WeChat Pay account. It uses the APIv3 family when the merchant has v3
// credentials and the v2 family otherwise. It never blocks waiting for
// customs: a record WeChat has accepted is answered PROCESSING with a
// RetryAfter, and Receipt asks WeChat again.
//
// A repeated Declare is safe. The first attempt of a declaration declares
// directly: WeChat keeps one record per payment, customs code and
// sub-order, so a repeat after a crash answers that record. A later
// attempt (an EXCEPT retried, a modify, a re-declaration) first queries
// WeChat and then does only what the record needs: nothing while it is in
// flight, a declare when WeChat has none, a modify when its data differs
// or it failed, a re-declare (push again) when it succeeded or met a
// customs exception.
type Port struct {
	Credentials CredentialSource
	V3          *V3Client
	V2          *V2Client
	PollAfter   time.Duration // default DefaultPollAfter
}

var _ baoguan.CustomsPort = (*Port)(nil)

// Name identifies the port in logs, metrics and stored declarations.
func (*Port) Name() string { return "wechatpay" }

func (p *Port) pollAfter() time.Duration {
	if p.PollAfter > 0 {
		return p.PollAfter
	}
	return DefaultPollAfter
}

// api is one of the two WeChat API families, bound to one merchant.
type api interface {
	declare(ctx context.Context, d *Declaration) (*Record, error)
	query(ctx context.Context, d *Declaration) (*Record, error)
	modify(ctx context.Context, d *Declaration) (*Record, error)
	redeclare(ctx context.Context, d *Declaration) (*Record, error)
}

type v3api struct {
	c  *V3Client
	cr *V3Credentials
}

func (a v3api) declare(ctx context.Context, d *Declaration) (*Record, error) {
	return a.c.Declare(ctx, a.cr, d)
}
func (a v3api) query(ctx context.Context, d *Declaration) (*Record, error) {
	return a.c.Query(ctx, a.cr, d)
}
func (a v3api) modify(ctx context.Context, d *Declaration) (*Record, error) {
	return a.c.Modify(ctx, a.cr, d)
}
func (a v3api) redeclare(ctx context.Context, d *Declaration) (*Record, error) {
	return a.c.Redeclare(ctx, a.cr, d)
}

type v2api struct {
	c  *V2Client
	cr *V2Credentials
}

func (a v2api) declare(ctx context.Context, d *Declaration) (*Record, error) {
	return a.c.Declare(ctx, a.cr, d)
}
func (a v2api) query(ctx context.Context, d *Declaration) (*Record, error) {
	return a.c.Query(ctx, a.cr, d)
}
func (a v2api) modify(ctx context.Context, d *Declaration) (*Record, error) {
	return a.c.Modify(ctx, a.cr, d)
}
func (a v2api) redeclare(ctx context.Context, d *Declaration) (*Record, error) {
	return a.c.Redeclare(ctx, a.cr, d)
}

// Declare hands one declaration to WeChat Pay. A business refusal by
// WeChat is a FAIL receipt with WeChat's code and message; a transient
// failure (timeout, 5xx, SYSTEMERROR, rate limit, maintenance) or an
// answer that cannot be trusted is an EXCEPT receipt, which the core
// retries on its schedule. It returns an error only when the credentials
// cannot be read (the job runner retries).
func (p *Port) Declare(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	ctx = upstream.ForRequest(ctx, r)
	a, d, rc, err := p.prepare(ctx, r)
	if err != nil || rc != nil {
		return deref(rc), err
	}
	var rec *Record
	if r.Declaration.Attempts <= 1 {
		rec, err = a.declare(ctx, d)
		// A first attempt that finds a record with other data (WeChat:
		// INVALID_REQUEST) reconciles with it, as a later attempt would.
		if ue := asUpstream(err); ue != nil && ue.Kind == upstream.Fail && ue.Code == "INVALID_REQUEST" {
			rec, err = p.reconcile(ctx, a, d)
		}
	} else {
		rec, err = p.reconcile(ctx, a, d)
	}
	if err != nil {
		return p.failed(err, false)
	}
	return p.receipt(rec), nil
}

// reconcile brings WeChat's record in line with d, doing only what the
// record needs (see Port).
func (p *Port) reconcile(ctx context.Context, a api, d *Declaration) (*Record, error) {
	cur, err := a.query(ctx, d)
	switch {
	case upstream.KindOf(err) == upstream.NotFound:
		return a.declare(ctx, d)
	case err != nil:
		return nil, err
	case cur.InFlight():
		return cur, nil
	}
	if d.SubOrderID == "" {
		d.SubOrderID = cur.SubOrderID
	}
	if cur.differs(d) || cur.State == StateFail {
		return a.modify(ctx, d)
	}
	return a.redeclare(ctx, d)
}

// Receipt asks WeChat for the record's state. A transient failure is
// returned as the error (the job runner asks again later); a record WeChat
// no longer has, or a query WeChat refuses for good, is an EXCEPT receipt,
// so that the declaration is declared again rather than polled forever.
func (p *Port) Receipt(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	ctx = upstream.ForRequest(ctx, r)
	a, d, rc, err := p.prepare(ctx, r)
	if err != nil || rc != nil {
		return deref(rc), err
	}
	rec, err := a.query(ctx, d)
	if err != nil {
		return p.failed(err, true)
	}
	return p.receipt(rec), nil
}

func deref(r *baoguan.Receipt) baoguan.Receipt {
	if r == nil {
		return baoguan.Receipt{}
	}
	return *r
}

func asUpstream(err error) *upstream.Error {
	var ue *upstream.Error
	if errors.As(err, &ue) {
		return ue
	}
	return nil
}

// receipt maps a record onto a baoguan receipt.
func (p *Port) receipt(rec *Record) baoguan.Receipt {
	out := baoguan.Receipt{State: rec.DeclState(), Ref: rec.SubOrderID,
		VerifyDepartment: rec.VerifyDepartment, VerifyDepartmentTradeID: rec.VerifyDepartmentTradeID}
	if rec.CertCheckResult == CertSame || rec.CertCheckResult == CertDifferent {
		out.IdentityCheck = rec.IdentityCheck()
	}
	if out.Ref == "" {
		out.Ref = rec.TransactionID
	}
	switch out.State {
	case baoguan.DeclProcessing:
		out.RetryAfter = p.pollAfter()
	case baoguan.DeclFail:
		out.Explanation = orDefault(rec.Explanation, "微信支付申报失败")
	case baoguan.DeclExcept:
		out.Explanation = orDefault(rec.Explanation, "海关接口异常")
	default:
		out.Explanation = rec.Explanation
	}
	// Customs' reason may quote the payer's ID number; the explanation is
	// stored and shown, so it is masked like every text from upstream.
	out.Explanation = upstream.MaskPersonal(out.Explanation)
	return out
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// failed maps a failed call onto a receipt (or, for a poll, an error).
func (p *Port) failed(err error, poll bool) (baoguan.Receipt, error) {
	ue := asUpstream(err)
	if ue == nil {
		return baoguan.Receipt{}, err
	}
	switch ue.Kind {
	case upstream.Fail:
		if poll {
			return baoguan.Receipt{State: baoguan.DeclExcept, RetryAfter: ue.RetryAfter,
				Explanation: "微信支付拒绝查询 " + ue.Code + ": " + ue.Message}, nil
		}
		return baoguan.Receipt{State: baoguan.DeclFail, ReceiptCode: ue.Code,
			Explanation: "微信支付拒绝申报 " + ue.Code + ": " + ue.Message}, nil
	case upstream.NotFound:
		return baoguan.Receipt{State: baoguan.DeclExcept,
			Explanation: "微信支付没有这笔申报记录: " + ue.Message}, nil
	}
	if poll {
		return baoguan.Receipt{}, ue
	}
	return baoguan.Receipt{State: baoguan.DeclExcept, RetryAfter: ue.RetryAfter,
		Explanation: "微信支付暂时无法受理 " + ue.Code + ": " + ue.Message}, nil
}

// prepare reads the merchant's credentials and builds what the clients
// send. A declaration that cannot be sent as it is (no credentials, no
// registration, not a WeChat customs code, no transaction id) gets a FAIL
// receipt naming what to configure.
func (p *Port) prepare(ctx context.Context, r baoguan.DeclareRequest) (api, *Declaration, *baoguan.Receipt, error) {
	bd, o, m := r.Declaration, r.Order, r.Merchant
	if bd == nil || o == nil || m == nil {
		return nil, nil, nil, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL, "wechatpay: declare request without a declaration, order or merchant"))
	}
	refuse := func(msg string) (api, *Declaration, *baoguan.Receipt, error) {
		return nil, nil, &baoguan.Receipt{State: baoguan.DeclFail, Explanation: msg}, nil
	}
	code, ok := CodeFor(bd.Customs)
	if !ok {
		return refuse("customs " + bd.Customs + " has no WeChat Pay customs code; declare it through another route")
	}
	if p.Credentials == nil {
		return refuse("no WeChat Pay credentials are configured for merchant " + m.No)
	}
	cr, err := p.Credentials(ctx, m)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND || err == nil && cr == nil {
		return refuse("merchant " + m.No + " has no WeChat Pay credentials: configure appid, mchid and the v3 certificate or the v2 API key")
	}
	if baoguan.ErrorCode(err) == baoguan.EINVALID {
		return refuse(baoguan.ErrorMessage(err))
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if o.Payment.No == "" {
		return refuse("order " + o.MerchantOrderNo + " has no WeChat Pay transaction_id to declare")
	}
	reg, ok := cr.Registrations[bd.Customs]
	if !ok {
		reg = cr.Registrations[code]
	}
	d := &Declaration{Ref: bd.SubOrderID, OutTradeNo: o.MerchantOrderNo, TransactionID: o.Payment.No,
		Customs: code, MerchantCustomsNo: bd.MerchantCustomsNo, Duty: bd.Duty, SubOrderNo: bd.SubOrderNo}
	if v := o.Extra["out_trade_no"]; v != "" {
		d.OutTradeNo = v // the shop's number at WeChat, when it differs from the merchant order no
	}
	if d.MerchantCustomsNo == "" {
		d.MerchantCustomsNo = reg.No
	}
	if d.MerchantCustomsNo == "" {
		return refuse("merchant " + m.No + " has no customs registration number for " + bd.Customs + ": configure it (mch_customs_no)")
	}
	if d.Split() {
		d.OrderFee, d.TransportFee, d.ProductFee = bd.OrderFee, bd.TransportFee, bd.ProductFee
		d.SubOrderID = bd.PortRef
	}
	if t := bd.Payer.IDType; t == "" || t == baoguan.IDTypeIDCard {
		d.PayerName, d.PayerID = strings.TrimSpace(bd.Payer.Name), strings.ToUpper(strings.TrimSpace(bd.Payer.IDNumber))
	}
	switch {
	case cr.V3 != nil && p.V3 != nil:
		return v3api{c: p.V3, cr: cr.V3}, d, nil, nil
	case cr.V2 != nil && p.V2 != nil:
		return v2api{c: p.V2, cr: cr.V2}, d, nil, nil
	}
	return refuse("merchant " + m.No + " has WeChat Pay credentials for an API this installation does not call")
}
