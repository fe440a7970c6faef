package ceb

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/upstream"
)

// Services and operations of the calls the E-Port side reports (stored in
// upstream_calls with the declaration or the 179 request they served).
const (
	callServiceSigner = "signer" // the signing service
	callServiceEPort  = "eport"  // the hand-over to the E-Port client's outbox
	callService179    = "179"    // customs' 179 data upload
)

// reportCall reports one call made for the request ctx serves: when it
// started, how it ended. status is the HTTP status (0: none, or not HTTP);
// code the far side's code, or derived from status and err.
func reportCall(ctx context.Context, service, op string, start time.Time, status int, code string, err error) {
	c := baoguan.UpstreamCall{At: start, Service: service, Operation: op, HTTPStatus: status,
		LatencyMS: time.Since(start).Milliseconds(), Code: code, Outcome: upstream.OutcomeOK}
	if err != nil {
		c.Outcome = upstream.OutcomeRetry
		var perm *baoguan.PermanentError
		if errors.As(err, &perm) {
			c.Outcome = upstream.OutcomeFail
		}
		c.Message = upstream.NewScrubber().Scrub(upstream.Clip(err.Error(), 300))
		if c.Code == "" {
			switch {
			case status != 0:
				c.Code = "HTTP_" + strconv.Itoa(status)
			case errors.Is(err, context.DeadlineExceeded):
				c.Code = "TIMEOUT"
			default:
				c.Code = "ERROR"
			}
		}
	} else if c.Code == "" {
		c.Code = "OK"
	}
	baoguan.ReportCall(ctx, c)
}
