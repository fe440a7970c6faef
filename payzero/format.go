package payzero

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Notification message types (payzero 3.4, 3.5).
const (
	MsgPayStatus     = "PAY_STATUS_NOTIFY"
	MsgDeclareStatus = "DECLARE_STATUS_NOTIFY"
)

// DefaultSchedule is payzero 3.3: five resends, at 1 m, 5 m, 10 m, 1 h and
// 6 h after the first send. The document counts each from the first send,
// so the waits between attempts are 1 m, 4 m, 5 m, 50 m and 5 h.
var DefaultSchedule = baoguan.Retry{time.Minute, 4 * time.Minute, 5 * time.Minute, 50 * time.Minute, 5 * time.Hour}

// DeliveryTimeout is how long a receiver has to answer (payzero 3.1: 5 s).
const DeliveryTimeout = 5 * time.Second

// FormatOptions tune the notification format.
type FormatOptions struct {
	// Now is the clock for the timestamp signed into each send (time.Now
	// when nil); tests inject the core's clock.
	Now func() time.Time
	// Schedule replaces DefaultSchedule when set.
	Schedule baoguan.Retry
}

// format is payzero's notification: a JSON POST {timestamp, msgType,
// msgBody, sign} where msgBody is an orderResultDto as a JSON string,
// acknowledged by a body of OK.
type format struct {
	now      func() time.Time
	schedule baoguan.Retry
}

// NewFormat returns the notification format, to be registered with the
// core as svc.Formats.Register(Protocol, NewFormat(FormatOptions{})).
func NewFormat(o FormatOptions) core.Format {
	f := format{now: o.Now, schedule: o.Schedule}
	if f.now == nil {
		f.now = time.Now
	}
	if f.schedule == nil {
		f.schedule = DefaultSchedule
	}
	return f
}

// Schedule implements core.Format.
func (f format) Schedule() baoguan.Retry { return f.schedule }

// URL is the order's notifyUrl if it gave one, else the merchant-level URL
// of payzero 3.1 (setting payzero.notify-url), else the merchant's notify
// URL. All are signed with the merchant's sign token.
func (format) URL(m *baoguan.Merchant, o *baoguan.Order) string {
	return core.NotifyURL(m, o, SettingNotifyURL)
}

// Notifies implements core.Notifier: payment outcomes and declaration
// outcomes. Refunds have no notification in the document.
func (format) Notifies(t string) bool { return msgType(t) != "" }

func msgType(eventType string) string {
	switch eventType {
	case baoguan.EventOrderPaid, baoguan.EventOrderPaymentFailed:
		return MsgPayStatus
	case baoguan.EventDeclSucceeded, baoguan.EventDeclFailed:
		return MsgDeclareStatus
	}
	return ""
}

// Render implements core.Format. The event body is the msgBody exactly as
// it will be signed; the envelope with timestamp and sign is made at each
// send. A declaration notice reports that declaration's outcome: the
// order's own declare status is only derived after the notice is made.
func (format) Render(n core.Notice) ([]byte, string, bool, error) {
	var dto orderResult
	switch msgType(n.Type) {
	case MsgPayStatus:
		dto = resultOf(n.Order, nil)
	case MsgDeclareStatus:
		dto = resultOf(n.Order, nil)
		d := n.Declaration
		if d != nil {
			dto.PayerName, dto.PayerNumber, dto.PayerPhone = opt(d.Payer.Name), opt(d.Payer.IDNumber), opt(d.Payer.Phone)
			if d.State == baoguan.DeclSuccess {
				dto.DeclareStatus, dto.DeclareFailReason = string(baoguan.DeclareDone), nil
			} else {
				dto.DeclareStatus, dto.DeclareFailReason = string(baoguan.DeclareFailedSt), opt(d.Explanation)
			}
		}
	default:
		return nil, "", false, nil
	}
	b, err := marshal(dto)
	return b, "application/json", err == nil, err
}

// marshal writes JSON without escaping <, > and &, as Jackson does.
func marshal(v any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}

// notification is what is POSTed (payzero 3.1).
type notification struct {
	Timestamp int64  `json:"timestamp"`
	MsgType   string `json:"msgType"`
	MsgBody   string `json:"msgBody"`
	Sign      string `json:"sign"`
}

// Sign is payzero 3.2: the timestamp, the msgBody and the merchant's sign
// token, sorted in dictionary order and concatenated, hashed with SHA-1,
// in lower-case hex.
func Sign(timestamp, msgBody, signToken string) string {
	parts := []string{timestamp, msgBody, signToken}
	sort.Strings(parts)
	h := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(h[:])
}

// Deliver implements core.Format: one POST with a 5-second timeout, signed
// at send time. Only a 2xx answer whose body is OK (ignoring case,
// surrounding space and the quotes of a JSON string) acknowledges it.
func (f format) Deliver(ctx context.Context, c *http.Client, m *baoguan.Merchant, e *baoguan.Event) core.Delivery {
	ts := strconv.FormatInt(f.now().UnixMilli(), 10)
	n := notification{MsgType: msgType(e.Type), MsgBody: string(e.Body), Sign: Sign(ts, string(e.Body), m.SignToken)}
	n.Timestamp, _ = strconv.ParseInt(ts, 10, 64)
	body, err := marshal(n)
	if err != nil {
		return core.Delivery{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	d := core.Post(ctx, c, e.URL, "application/json;charset=UTF-8", body, nil)
	d.Acked = d.Err == nil && d.Status >= 200 && d.Status < 300 && acknowledged(d.Response)
	return d
}

func acknowledged(body string) bool {
	b := strings.TrimSpace(body)
	b = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(b, `"`), `"`))
	return strings.EqualFold(b, "OK")
}
