package pushorder

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// DefaultSchedule is the callback retry schedule: quick retries for a
// receiver that restarts, then sparser ones for a day. The document gives
// none; nine attempts over about 24 hours match what payzero-style
// gateways do.
var DefaultSchedule = baoguan.Retry{10 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour}

// FormatOptions tune the callback format.
type FormatOptions struct {
	// Schedule is the wait after each unacknowledged attempt (DefaultSchedule
	// when nil); its length + 1 is the number of attempts.
	Schedule baoguan.Retry
}

// format is the pushorder callback: one form POST per finished order,
// data={"order_no","payment_no","result","result_msg"}, acknowledged by a
// body of "ok".
type format struct {
	schedule baoguan.Retry
}

// NewFormat returns the callback format, to be registered with the core as
// svc.Formats.Register(Protocol, NewFormat(FormatOptions{})).
func NewFormat(o FormatOptions) core.Format {
	f := format{schedule: o.Schedule}
	if f.schedule == nil {
		f.schedule = DefaultSchedule
	}
	return f
}

// Schedule implements core.Format.
func (f format) Schedule() baoguan.Retry { return f.schedule }

// URL is the order's own notify URL if it has one (pushorder orders do
// not), else the merchant's pushorder callback-url setting, else the
// merchant's notify URL.
func (format) URL(m *baoguan.Merchant, o *baoguan.Order) string {
	return core.NotifyURL(m, o, SettingCallbackURL)
}

// callback is the document's callback object, keys in its order.
type callback struct {
	OrderNo   string `json:"order_no"`
	PaymentNo string `json:"payment_no"`
	Result    string `json:"result"`
	ResultMsg string `json:"result_msg"`
}

// Render implements core.Format. The callback says that payment and
// declaration are over, either way, so it is rendered from the core's
// order.completed notice, which carries the order's declarations: T
// "已支付+已报关" when paid and declared, F with GetOrder's CustomsMsg (the
// payment failure, or each failed declaration's appendix code and customs
// explanation) otherwise. Everything else (paid, refunds, a declaration
// succeeded while another is still out) is not notified.
func (format) Render(n core.Notice) ([]byte, string, bool, error) {
	o := n.Order
	if n.Type != core.EventOrderCompleted {
		return nil, "", false, nil
	}
	cb := callback{OrderNo: o.MerchantOrderNo, PaymentNo: o.Payment.No, Result: "F"}
	switch {
	case o.Paid() && o.DeclareStatus == baoguan.DeclareDone:
		cb.Result, cb.ResultMsg = "T", MsgDone
	case o.Paid() && o.DeclareStatus == baoguan.DeclareNone:
		cb.ResultMsg = "已支付+未报关"
	default:
		cb.ResultMsg = customsMsg(o, n.Declarations)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cb); err != nil {
		return nil, "", false, err
	}
	// A form is URL-encoded, so "已支付+已报关" reaches a receiver that reads
	// the form field data with its '+' intact.
	body := url.Values{"data": {strings.TrimSuffix(buf.String(), "\n")}}.Encode()
	return []byte(body), "application/x-www-form-urlencoded", true, nil
}

// Deliver implements core.Format: one POST, acknowledged when the receiver
// answers 2xx with the body "ok", in any case and with surrounding spaces
// or quotes (an ASP.NET Web API action returning "ok" writes "\"ok\"").
func (format) Deliver(ctx context.Context, c *http.Client, _ *baoguan.Merchant, e *baoguan.Event) core.Delivery {
	d := core.Post(ctx, c, e.URL, e.ContentType, e.Body, nil)
	d.Acked = d.Err == nil && d.Status >= 200 && d.Status < 300 && isOK(d.Response)
	return d
}

func isOK(body string) bool {
	s := strings.TrimSpace(strings.TrimPrefix(body, "\ufeff"))
	s = strings.TrimSpace(strings.Trim(s, `"`))
	return strings.EqualFold(s, "ok")
}

// Notifies implements core.Notifier, so the core skips rendering the
// events this format never sends.
func (format) Notifies(eventType string) bool {
	return eventType == core.EventOrderCompleted
}
