package upstream

import (
	"context"

	"github.com/baoguan/baoguan"
)

// ForRequest returns ctx carrying a recorder that turns each call record
// into a baoguan.UpstreamCall of the declaration r names and hands it to
// r.Record. Without r.Record, ctx is returned as it is.
func ForRequest(ctx context.Context, r baoguan.DeclareRequest) context.Context {
	if r.Record == nil || r.Declaration == nil {
		return ctx
	}
	d := r.Declaration
	return WithRecorder(ctx, func(_ context.Context, c Call) {
		r.Record(baoguan.UpstreamCall{MerchantID: d.MerchantID, OrderID: d.OrderID, DeclarationID: d.ID, At: c.Time,
			Service: c.Service, Operation: c.Operation, HTTPStatus: c.HTTPStatus, LatencyMS: c.Latency.Milliseconds(),
			Code: c.Code, Message: c.Message, Attempt: d.Attempts, Outcome: c.Outcome})
	})
}
