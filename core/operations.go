package core

import (
	"context"
	"time"

	"github.com/baoguan/baoguan"
)

// RetryJob puts a dead job back in the queue now with a fresh retry
// schedule, after an operator fixed what killed it. Its handler checks the
// state of the object first, so a job whose work was meanwhile done does
// nothing. Errors: ENOTFOUND; ESTATE reason job_not_dead.
func (s *Service) RetryJob(ctx context.Context, id int64) (*baoguan.Job, error) {
	var j *baoguan.Job
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		var err error
		if j, err = tx.RetryJob(id); err == nil {
			q.n++ // wake the runner
		}
		return err
	})
	return j, err
}

// UpstreamCall is one call baoguan made to an upstream system — a wallet's
// customs API or the China E-Port — on behalf of a declaration, as an
// operator reads it when a declaration fails for a reason customs gave.
type UpstreamCall struct {
	At            time.Time
	MerchantID    int64
	OrderNo       string
	DeclarationID int64
	Upstream      string // e.g. "wechatpay", "alipay", "ceb"
	Operation     string // e.g. "declare", "query"
	Status        string // the upstream's answer code, or the transport error
	LatencyMS     int64
	Request       string // as sent, personal data masked
	Response      string // as received, personal data masked
}

// UpstreamFilter narrows the upstream call log.
type UpstreamFilter struct {
	MerchantID int64 // 0: every merchant
	OrderNo    string
	Upstream   string
	Limit      int
}

// UpstreamLog is where the record of upstream calls is read from. The
// console shows it to operators; until the adapters record their calls
// there is none, and the console says so.
type UpstreamLog interface {
	UpstreamCalls(ctx context.Context, f UpstreamFilter) ([]UpstreamCall, error)
}
