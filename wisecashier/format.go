package wisecashier

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/platform"
)

// Payment notifications (§10). When an order is paid, baoguan POSTs the
// §10.2 fields as a form to the order's notify_url (else the merchant's
// notification URL), with the headers Signature and Timestamp: RSA-SHA256
// with the wisecashier platform key, base64, over the form fields sorted
// by name as name=value (values as they are, not URL-encoded) joined by
// "&", then "," and the Timestamp header (§10.3). Only PAID is notified
// ("通知时此状态只会是PAID").
//
// §10.1 is empty; baoguan's rule: a notification is acknowledged by an
// answer with a 2xx status whose body is "success" (any case, surrounding
// white space and quotes ignored) — WeChat Pay's and Alipay's own
// acknowledgement word. Anything else is retried on WeChat Pay's schedule
// (Schedule), each attempt recorded.

// Schedule is WeChat Pay's notification schedule: retries 15 s, 15 s,
// 30 s, 3 m, 10 m, 20 m, 30 m, 30 m, 30 m, 60 m, 3 h, 3 h, 3 h, 6 h and
// 6 h after the attempt before, 16 attempts over about 24 hours.
var Schedule = baoguan.Retry{15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 3 * time.Hour,
	3 * time.Hour, 6 * time.Hour, 6 * time.Hour}

// DeliveryTimeout is how long a receiver has to answer.
const DeliveryTimeout = 10 * time.Second

// SettingNotifyURL is the merchant-level notification URL, set with
// `baoguan merchant key --protocol wisecashier --notify-url URL`; the
// merchant's general notify URL is used when it is unset.
const SettingNotifyURL = Protocol + ".notify-url"

// NotifyFields are the §10.2 fields a notification carries.
var NotifyFields = []string{"status", "openid", "trade_type", "exchange_rate", "no", "currency", "amount", "trade_time",
	"pay_currency", "pay_amount", "agent_order_id"}

// FormatOptions tune the notification format.
type FormatOptions struct {
	// Now is the clock of the Timestamp header (time.Now when nil).
	Now func() time.Time
	// Schedule replaces Schedule when set.
	Schedule baoguan.Retry
}

type format struct {
	key      *platform.Key
	now      func() time.Time
	schedule baoguan.Retry
}

// NewFormat returns the notification format, signing with key (Server.Key),
// to be registered with the core under Protocol.
func NewFormat(key *platform.Key, o FormatOptions) core.Format {
	f := format{key: key, now: o.Now, schedule: o.Schedule}
	if f.now == nil {
		f.now = time.Now
	}
	if f.schedule == nil {
		f.schedule = Schedule
	}
	return f
}

// Schedule implements core.Format.
func (f format) Schedule() baoguan.Retry { return f.schedule }

// URL implements core.Format: the order's notify_url, else the merchant's
// wisecashier notification URL, else its general one.
func (format) URL(m *baoguan.Merchant, o *baoguan.Order) string {
	return core.NotifyURL(m, o, SettingNotifyURL)
}

// Notifies implements core.Notifier: payments only.
func (format) Notifies(t string) bool { return t == baoguan.EventOrderPaid }

// NotifyValues are the §10.2 fields of a paid order.
func NotifyValues(o *baoguan.Order) url.Values {
	cur, err := baoguan.LookupCurrency(o.Currency)
	if err != nil {
		cur = baoguan.CNY
	}
	rate, cny := o.PaidCNY()
	v := url.Values{}
	v.Set("status", status(o))
	v.Set("openid", o.Extra[baoguan.ExtraOpenID])
	v.Set("trade_type", tradeType(o))
	v.Set("exchange_rate", rate.String())
	v.Set("no", orderNo(o))
	v.Set("currency", o.Currency)
	v.Set("amount", baoguan.FormatAmount(cur, o.Amount))
	v.Set("trade_time", tradeTime(o))
	v.Set("pay_currency", baoguan.CNY.Code)
	v.Set("pay_amount", baoguan.FormatYuan(cny))
	v.Set("agent_order_id", agentOrderID(o))
	return v
}

// Render implements core.Format: the form of a paid order.
func (format) Render(n core.Notice) ([]byte, string, bool, error) {
	if n.Type != baoguan.EventOrderPaid {
		return nil, "", false, nil
	}
	return []byte(NotifyValues(n.Order).Encode()), "application/x-www-form-urlencoded", true, nil
}

// NotifySigningString is what a notification's Signature covers (§10.3):
// the form fields sorted by name, name=value with values as they are,
// joined by "&", then "," and the Timestamp.
func NotifySigningString(form url.Values, timestamp string) string {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + form.Get(k)
	}
	return strings.Join(parts, "&") + "," + timestamp
}

// Deliver implements core.Format: one signed POST.
func (f format) Deliver(ctx context.Context, c *http.Client, m *baoguan.Merchant, e *baoguan.Event) core.Delivery {
	form, err := url.ParseQuery(string(e.Body))
	if err != nil {
		return core.Delivery{Err: err}
	}
	ts := strconv.FormatInt(f.now().Unix(), 10)
	sum := sha256.Sum256([]byte(NotifySigningString(form, ts)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key.Private, crypto.SHA256, sum[:])
	if err != nil {
		return core.Delivery{Err: err}
	}
	h := http.Header{}
	h.Set("Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Timestamp", ts)
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	d := core.Post(ctx, c, e.URL, "application/x-www-form-urlencoded", e.Body, h)
	d.Acked = d.Err == nil && d.Status >= 200 && d.Status < 300 && Acknowledged(d.Response)
	return d
}

// Acknowledged reports whether a receiver's answer body acknowledges a
// notification: "success", in any case, surrounding white space and
// quotes ignored.
func Acknowledged(body string) bool {
	b := strings.TrimSpace(body)
	b = strings.TrimSpace(strings.Trim(b, `"'`))
	return strings.EqualFold(b, "success")
}
