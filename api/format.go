package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/webhook"
)

// The Standard Webhooks headers as net/http keeps them (canonical form),
// computed once rather than at every delivery.
var (
	hdrID        = http.CanonicalHeaderKey(webhook.HeaderID)
	hdrTimestamp = http.CanonicalHeaderKey(webhook.HeaderTimestamp)
	hdrSignature = http.CanonicalHeaderKey(webhook.HeaderSignature)
)

// nativeFormat is the native API's notification format: Standard Webhooks.
type nativeFormat struct {
	signers *signers // nil: each signature decodes its secret (webhook.Sign)
}

// NewFormat returns the native notification format, to be registered with
// the core under Protocol.
func NewFormat() core.Format { return nativeFormat{signers: &signers{m: map[string]*webhook.Signer{}}} }

// signers keeps a webhook.Signer for each secret notifications were signed
// with: a gateway signs every notification of a merchant with its secret
// (two while one is reissued), and webhook.Sign decoded it and keyed a new
// HMAC each time. Past maxSigners secrets it starts again empty.
type signers struct {
	mu sync.Mutex
	m  map[string]*webhook.Signer
}

const maxSigners = 1024

// sign is webhook.Sign, with the secret's Signer.
func (ss *signers) sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	if ss == nil {
		return webhook.Sign(secret, msgID, ts, body)
	}
	ss.mu.Lock()
	s := ss.m[secret]
	ss.mu.Unlock()
	if s == nil {
		var err error
		if s, err = webhook.NewSigner(secret); err != nil {
			return "", err
		}
		ss.mu.Lock()
		if len(ss.m) >= maxSigners {
			clear(ss.m)
		}
		ss.m[secret] = s
		ss.mu.Unlock()
	}
	return s.Sign(msgID, ts, body)
}

// Schedule is the Standard Webhooks retry schedule.
func (nativeFormat) Schedule() baoguan.Retry { return nativeSchedule }

// nativeSchedule is Schedule's answer, made once (the deliverer asks it at
// every failed attempt and only reads it).
var nativeSchedule = baoguan.Retry{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

func (nativeFormat) URL(m *baoguan.Merchant, o *baoguan.Order) string {
	return core.NotifyURL(m, o, "")
}

// Notifies reports the event types the native API publishes.
func (nativeFormat) Notifies(t string) bool { return t != core.EventOrderCompleted }

// webhookBody is a notification's body: Standard Webhooks' envelope
// around the event's data. appendWebhookBody writes it; encoding/json
// writes it where that cannot (wirejson.go).
type webhookBody struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

func (nativeFormat) Render(n core.Notice) ([]byte, string, bool, error) {
	switch n.Type {
	case baoguan.EventOrderPaid, baoguan.EventOrderPaymentFailed:
		return renderBody(n, orderOut(n.Order, nil, nil))
	case baoguan.EventDeclSucceeded, baoguan.EventDeclFailed:
		return renderBody(n, declarationNotice{n.Order.MerchantOrderNo, n.Order.Payment.No, declarationOut(n.Declaration)})
	case baoguan.EventRefundSucceeded, baoguan.EventRefundFailed:
		return renderBody(n, refundOut(n.Refund))
	}
	return nil, "", false, nil
}

// renderBody is Render's body around data: written by hand, or by
// encoding/json where that cannot be (wirejson.go).
func renderBody[T jsonAppender](n core.Notice, data T) ([]byte, string, bool, error) {
	at := n.At.UTC()
	var body []byte
	withJSONBuffer(func(b []byte) []byte {
		var ok bool
		if b, ok = appendWebhookBody(b, n.PublicID, n.Type, at, data); ok {
			body = bytes.Clone(b) // the event keeps it
		}
		return b
	})
	if body != nil {
		return body, "application/json", true, nil
	}
	b, err := json.Marshal(webhookBody{ID: n.PublicID, Type: n.Type, Timestamp: at, Data: data})
	return b, "application/json", err == nil, err
}

// Deliver signs at send time (webhook-timestamp is the send time) and
// counts only a 2xx as delivered; redirects are not followed by the client.
func (f nativeFormat) Deliver(ctx context.Context, c *http.Client, m *baoguan.Merchant, e *baoguan.Event) core.Delivery {
	now := time.Now()
	sig, err := f.signers.sign(m.WebhookSecret, e.PublicID, now, e.Body)
	if err != nil {
		return core.Delivery{Err: err}
	}
	// A reissued secret's predecessor signs too while in its grace period,
	// so receivers still holding it verify (signatures are space-separated).
	for _, old := range m.PreviousWebhookSecrets {
		if s, err := f.signers.sign(old, e.PublicID, now, e.Body); err == nil {
			sig += " " + s
		}
	}
	h := make(http.Header, 5) // Post adds Content-Type and User-Agent
	vs := []string{e.PublicID, strconv.FormatInt(now.Unix(), 10), sig}
	h[hdrID], h[hdrTimestamp], h[hdrSignature] = vs[0:1:1], vs[1:2:2], vs[2:3:3]
	d := core.Post(ctx, c, e.URL, "application/json", e.Body, h)
	d.Acked = d.Err == nil && d.Status >= 200 && d.Status < 300
	return d
}
