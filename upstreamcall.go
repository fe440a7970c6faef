package baoguan

import (
	"context"
	"time"
)

// UpstreamCall is the record of one call baoguan made to a service on a
// merchant's behalf — a wallet's customs API, a signing service, an E-Port
// upload — kept per declaration and shown to operators and merchants. It
// never holds secrets, request bodies or clear personal data: Message is
// the far side's message with ID numbers and phone numbers masked.
type UpstreamCall struct {
	ID            int64
	MerchantID    int64
	OrderID       int64
	DeclarationID int64 // 0 when the call concerned no one declaration
	At            time.Time
	Service       string // "wechatpay.v3", "wechatpay.v2", "alipay", "eport", …
	Operation     string // "declare", "query", "modify", "redeclare", …
	HTTPStatus    int    // 0 when no answer arrived
	LatencyMS     int64
	Code          string // the far side's code, or TIMEOUT / NETWORK / BAD_SIGNATURE …
	Message       string // masked
	Attempt       int    // the declaration attempt the call belonged to
	Outcome       string // "ok", "retry" or "fail"
}

// UpstreamCallFilter selects recorded calls: by merchant, order or
// declaration (0: any), newest first, a page at a time.
type UpstreamCallFilter struct {
	MerchantID    int64
	OrderID       int64
	DeclarationID int64
	Page
}

type callRecorderKey struct{}

// WithCallRecorder returns ctx carrying rec: an adapter serving ctx hands
// each call it makes upstream to ReportCall, which passes it to rec. Core
// sets it (filling in the merchant, order and declaration) around adapter
// calls whose records it stores; an adapter that makes no upstream call, or
// runs without it, reports nothing.
func WithCallRecorder(ctx context.Context, rec func(UpstreamCall)) context.Context {
	return context.WithValue(ctx, callRecorderKey{}, rec)
}

// ReportCall hands c to the recorder ctx carries, if any. c's Message must
// already be masked.
func ReportCall(ctx context.Context, c UpstreamCall) {
	if rec, ok := ctx.Value(callRecorderKey{}).(func(UpstreamCall)); ok && rec != nil {
		rec(c)
	}
}
