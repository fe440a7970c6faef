package ceb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// PortName is the E-Port port's route name.
const PortName = "eport"

// Port is the E-Port customs port (baoguan.CustomsPort): Declare writes a
// declaration attempt's CEB411 into the outbox the operator's E-Port client
// sends from and answers PROCESSING; the receipts the client drops into the
// inbox are read by core's receipts job (ReadReceipts) and stored, and
// Receipt decides from the stored receipts what they mean (Decide). The
// guid of an attempt is known before the call (PlanRef), so core stores it
// first.
type Port struct {
	Config Config
	Outbox *Outbox
	Inbox  *Inbox
	Signer Signer
	// EBPCode and EBPName stand for the platform when a merchant has no
	// customs registration of its own (an installation that is itself the
	// platform); empty: such a declaration fails, naming what is missing.
	EBPCode, EBPName string
	// Registration returns the merchant's customs registration for a
	// customs code (number and name), when it has one. Nil: the merchant's
	// EBPCode/EBPName.
	Registration func(m *baoguan.Merchant, code string) (no, name string, ok bool)
	// PollEvery is the first wait between two looks at the stored
	// receipts of a declaration (default 10s); it grows to a tenth of the
	// time since the attempt, at most 10 minutes.
	PollEvery time.Duration
	// ReadEveryDur is the wait between two reads of the inbox (default 5s).
	ReadEveryDur time.Duration
	// ReceiptTimeout is how long an attempt may go without any receipt
	// before it counts as EXCEPT (and is retried as a change): the E-Port
	// client is down or lost it (default 24h).
	ReceiptTimeout time.Duration
	Log            *slog.Logger
}

var (
	_ baoguan.RefPlanner    = (*Port)(nil)
	_ baoguan.ReceiptReader = (*Port)(nil)
)

// Name is "eport".
func (p *Port) Name() string { return PortName }

// ReadEvery is the wait between two reads of the inbox.
func (p *Port) ReadEvery() time.Duration {
	if p.ReadEveryDur > 0 {
		return p.ReadEveryDur
	}
	return 5 * time.Second
}

// PlanRef is the guid of the attempt (see GUID).
func (p *Port) PlanRef(r baoguan.DeclareRequest) (string, error) {
	if len(p.Config.Secret) < MinSecretLen {
		return "", baoguan.Permanent(fieldErr("secret", "the E-Port guid secret is not set"))
	}
	return GUID(p.Config.Secret, r.Declaration.ID, r.Declaration.Attempts), nil
}

// Explanations Declare gives for declarations it does not hand over.
const (
	ExplainInvalid    = "申报数据不符合海关报文规范："
	ExplainSigner     = "报文加签失败："
	ExplainNoReceipt  = "电子口岸未回执"
	ExplainNoPlatform = "电商平台未在海关登记："
)

// Declare hands the attempt's CEB411 to the E-Port client and answers
// PROCESSING with the guid as Ref. An attempt already handed over (a job
// run again after a crash) is not written again. Data the message cannot
// carry (a payer with another document than an ID card, a field too long)
// is a FAIL naming the field, and nothing is written; a signing service
// that refuses for good is an EXCEPT (retried on the declare schedule: an
// operator can fix the signer meanwhile). I/O errors and signer outages
// are errors, retried by the job runner with the same attempt.
func (p *Port) Declare(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	d := r.Declaration
	if r.Record != nil && d != nil {
		ctx = baoguan.WithCallRecorder(ctx, func(c baoguan.UpstreamCall) {
			c.MerchantID, c.OrderID, c.DeclarationID, c.Attempt = d.MerchantID, d.OrderID, d.ID, d.Attempts
			r.Record(c)
		})
	}
	guid, err := p.PlanRef(r)
	if err != nil {
		return baoguan.Receipt{}, err
	}
	processing := baoguan.Receipt{State: baoguan.DeclProcessing, Ref: guid, RetryAfter: p.pollAfter(d, r.Now)}
	if _, sent, err := p.Outbox.Sent(guid); err != nil {
		return baoguan.Receipt{}, err
	} else if sent {
		return processing, nil
	}
	in := FromDeclaration(d, r.Order, r.Merchant, d.Attempts, NextAppType(p.earlier(d, r.Receipts)))
	in.EBPCode, in.EBPName = p.platform(r.Merchant, d.Customs)
	if in.EBPCode == "" {
		return baoguan.Receipt{State: baoguan.DeclFail, Ref: guid, Explanation: ExplainNoPlatform +
			"商户 " + r.Merchant.No + " 没有 " + d.Customs + " 的电商平台代码和名称"}, nil
	}
	msg, err := p.Config.Message(in)
	if err != nil {
		if baoguan.ErrorCode(err) == baoguan.EINVALID {
			return baoguan.Receipt{State: baoguan.DeclFail, Ref: guid, Explanation: ExplainInvalid + baoguan.ErrorMessage(err)}, nil
		}
		return baoguan.Receipt{}, err
	}
	signed, err := p.Signer.SignMessage(ctx, msg.XML)
	if err != nil {
		var perm *baoguan.PermanentError
		if errors.As(err, &perm) {
			return baoguan.Receipt{State: baoguan.DeclExcept, Ref: guid, Explanation: ExplainSigner + err.Error()}, nil
		}
		return baoguan.Receipt{}, err
	}
	start := time.Now()
	_, err = p.Outbox.Put(guid, signed)
	reportCall(ctx, callServiceEPort, "outbox", start, 0, "", err)
	if err != nil {
		return baoguan.Receipt{}, err
	}
	return processing, nil
}

// platform is the e-commerce platform a declaration names: the merchant's
// registration for the customs code, else its own codes, else the
// installation's.
func (p *Port) platform(m *baoguan.Merchant, code string) (string, string) {
	if p.Registration != nil {
		if no, name, ok := p.Registration(m, code); ok && no != "" && name != "" {
			return no, name
		}
	}
	if m.EBPCode != "" && m.EBPName != "" {
		return m.EBPCode, m.EBPName
	}
	return p.EBPCode, p.EBPName
}

// earlier returns, for each earlier attempt that was handed over, the last
// status its receipts gave (0 for none), for NextAppType.
func (p *Port) earlier(d *baoguan.Declaration, rs []baoguan.CustomsReceipt) []int {
	var out []int
	for k := 1; k < d.Attempts; k++ {
		g := GUID(p.Config.Secret, d.ID, k)
		if _, sent, _ := p.Outbox.Sent(g); !sent {
			continue
		}
		cur, _ := fold(g, rs)
		out = append(out, cur.Status)
	}
	return out
}

// fold applies the stored receipts of one guid with Decide, oldest first
// (the order does not change the result; it keeps logs readable).
func fold(guid string, rs []baoguan.CustomsReceipt) (cur Current, info string) {
	cur = Current{State: baoguan.DeclSubmitted, GUID: guid}
	var mine []baoguan.CustomsReceipt
	for _, r := range rs {
		if r.Ref == guid {
			mine = append(mine, r)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool { return mine[i].ReturnTime.Before(mine[j].ReturnTime) })
	for _, r := range mine {
		st, err := strconv.Atoi(r.Status)
		if err != nil {
			continue
		}
		pr := PaymentReturn{GUID: guid, Status: st, Time: r.ReturnTime, Info: r.Info}
		if dec := Decide(cur, pr); dec.Verdict == Apply {
			cur.State, cur.Status, cur.Time, info = dec.To, st, r.ReturnTime, pr.Info
		}
	}
	return cur, info
}

// Receipt says what the stored receipts of the declaration's current
// attempt (its PortRef) mean: SUCCESS (120, 399), FAIL (100, negative),
// EXCEPT (4), or PROCESSING with the time to look again. An attempt
// without any receipt for ReceiptTimeout is EXCEPT.
func (p *Port) Receipt(_ context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	d := r.Declaration
	cur, info := fold(d.PortRef, r.Receipts)
	if cur.Status == 0 {
		timeout := p.ReceiptTimeout
		if timeout <= 0 {
			timeout = 24 * time.Hour
		}
		if !d.SubmittedAt.IsZero() && r.Now.Sub(d.SubmittedAt) >= timeout {
			return baoguan.Receipt{State: baoguan.DeclExcept, Ref: d.PortRef,
				Explanation: fmt.Sprintf("%s（%s 内无回执，请检查电子口岸客户端）", ExplainNoReceipt, timeout)}, nil
		}
		return baoguan.Receipt{State: baoguan.DeclProcessing, Ref: d.PortRef, RetryAfter: p.pollAfter(d, r.Now)}, nil
	}
	rec, _ := PaymentReturn{GUID: d.PortRef, Status: cur.Status, Time: cur.Time, Info: info}.Receipt()
	if rec.State == baoguan.DeclProcessing {
		rec.RetryAfter = p.pollAfter(d, r.Now)
	}
	return rec, nil
}

// pollAfter is the wait before looking at a declaration's receipts again:
// PollEvery at first, a tenth of the time since the attempt later, at most
// 10 minutes (customs answers in minutes, sometimes hours).
func (p *Port) pollAfter(d *baoguan.Declaration, now time.Time) time.Duration {
	every := p.PollEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	if !d.SubmittedAt.IsZero() {
		every = max(every, now.Sub(d.SubmittedAt)/10)
	}
	return min(every, 10*time.Minute)
}

// ReadReceipts scans the inbox and hands each file's receipts to store;
// a file is archived only after store returned nil. Files that are not
// receipts go to the reject folder and are logged.
func (p *Port) ReadReceipts(ctx context.Context, store func(context.Context, []baoguan.CustomsReceipt) error) error {
	rep, err := p.Inbox.Scan(ctx, func(ctx context.Context, f ReceiptFile) error {
		rs := make([]baoguan.CustomsReceipt, 0, len(f.Returns))
		for _, pr := range f.Returns {
			rs = append(rs, baoguan.CustomsReceipt{Port: PortName, Ref: pr.GUID, Status: strconv.Itoa(pr.Status),
				Info: pr.Info, ReturnTime: pr.Time, Raw: pr.raw(), Source: f.File})
		}
		return store(ctx, rs)
	})
	if p.Log != nil {
		for _, rj := range rep.Rejected {
			p.Log.Warn("E-Port receipt file rejected", "file", rj.Name, "moved_to", rj.Path, "reason", rj.Reason)
		}
		if n := len(rep.Archived); n > 0 {
			p.Log.Info("E-Port receipt files read", "files", n)
		}
	}
	return err
}

// raw is the receipt as received, one field a line: what the CEB412 entry
// (or the CEB900 about a CEB411) said, without the quoted original
// message, so without personal data.
func (pr PaymentReturn) raw() string {
	return strings.Join([]string{
		pr.Kind, "guid=" + pr.GUID, "payCode=" + pr.PayCode, "payTransactionId=" + pr.PayTransactionID,
		"returnStatus=" + strconv.Itoa(pr.Status), "returnTime=" + pr.TimeRaw, "returnInfo=" + pr.Info,
	}, "\n")
}
