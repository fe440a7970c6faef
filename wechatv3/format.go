package wechatv3

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// format is this front-end's notification format. WeChat Pay's customs
// API has no callback: merchants learn a declaration's outcome by querying
// it. So nothing is rendered, and orders declared through this front-end
// keep notifying in the format of the front-end that created them.
type format struct{}

// NewFormat returns the wechatv3 notification format, to be registered
// with the core under Protocol. It renders no notice (see format).
func NewFormat() core.Format { return format{} }

// Render declines every notice: WeChat's customs family sends none.
func (format) Render(core.Notice) ([]byte, string, bool, error) { return nil, "", false, nil }

// Deliver is never reached, since Render declines; it refuses rather than
// post something no WeChat client would expect.
func (format) Deliver(context.Context, *http.Client, *baoguan.Merchant, *baoguan.Event) core.Delivery {
	return core.Delivery{Err: errors.New("wechatv3 sends no notifications")}
}

// Schedule is WeChat Pay's notification retry schedule, kept for a format
// that may one day render something.
func (format) Schedule() baoguan.Retry {
	return baoguan.Retry{15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
		20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 3 * time.Hour,
		3 * time.Hour, 6 * time.Hour, 6 * time.Hour}
}

// URL is empty: there is nothing to send.
func (format) URL(*baoguan.Merchant, *baoguan.Order) string { return "" }
