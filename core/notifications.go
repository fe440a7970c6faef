package core

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// EventOrderCompleted is an internal event: the order's payment and
// declarations have all reached an outcome. pushorder's callback is sent
// on it; the native API does not publish it.
const EventOrderCompleted = "order.completed"

// Notice is what happened, handed to a Format to render.
type Notice struct {
	Type        string
	PublicID    string
	At          time.Time
	Merchant    *baoguan.Merchant
	Order       *baoguan.Order
	Declaration *baoguan.Declaration
	Refund      *baoguan.Refund
	// Declarations are all of the order's declarations, for
	// order.completed, so a format can say why the order failed.
	Declarations []baoguan.Declaration
}

// Delivery is the outcome of one delivery attempt.
type Delivery struct {
	Status   int    // HTTP status, 0 when there was no response
	Response string // first bytes of the response body
	Acked    bool   // the receiver acknowledged in the protocol's terms
	Err      error  // transport error, if any
}

// Format is one protocol's notifications: how an event is rendered, how it
// is signed and sent, what counts as acknowledged, and when to retry.
type Format interface {
	// Render returns the body for a notice, or ok=false when this protocol
	// does not notify this kind of event.
	Render(n Notice) (body []byte, contentType string, ok bool, err error)
	// Deliver sends an event once. Signatures that include the send time
	// are made here.
	Deliver(ctx context.Context, c *http.Client, m *baoguan.Merchant, e *baoguan.Event) Delivery
	// Schedule is the wait after each failed attempt; its length + 1 is the
	// number of attempts.
	Schedule() baoguan.Retry
	// URL picks the address for an order's notices ("" = none configured).
	URL(m *baoguan.Merchant, o *baoguan.Order) string
}

// Notifier is optionally implemented by a Format that can say, without
// rendering, which event types it sends; emit then skips the others cheaply.
type Notifier interface {
	Notifies(eventType string) bool
}

// Formats maps protocol names to their notification formats.
type Formats struct {
	mu sync.RWMutex
	m  map[string]Format
}

// NewFormats returns an empty registry.
func NewFormats() *Formats { return &Formats{m: map[string]Format{}} }

// Register adds a protocol's format. Front-ends call it when wired.
func (f *Formats) Register(protocol string, fm Format) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[protocol] = fm
}

// Get returns a protocol's format, or nil.
func (f *Formats) Get(protocol string) Format {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.m[protocol]
}

// emit renders the notice in the order's protocol and stores it as an
// event, with its delivery job, in the caller's transaction.
func (s *Service) emit(tx baoguan.Tx, q *queue, typ string, o *baoguan.Order, d *baoguan.Declaration, r *baoguan.Refund) error {
	return s.emitNotice(tx, q, Notice{Type: typ, Order: o, Declaration: d, Refund: r})
}

// emitNotice is emit for a notice carrying more than one object.
func (s *Service) emitNotice(tx baoguan.Tx, q *queue, n Notice) error {
	typ, o := n.Type, n.Order
	f := s.Formats.Get(o.Protocol)
	if f == nil {
		return nil
	}
	if n, ok := f.(Notifier); ok && !n.Notifies(typ) {
		return nil
	}
	m, err := q.merchant(o.MerchantID)
	if err != nil {
		return err
	}
	n.PublicID, n.At, n.Merchant = s.newID("evt_"), tx.Now(), m
	body, ct, ok, err := f.Render(n)
	if err != nil || !ok {
		return err
	}
	e := &baoguan.Event{PublicID: n.PublicID, MerchantID: o.MerchantID, OrderID: o.ID, Type: typ, Protocol: o.Protocol,
		URL: f.URL(m, o), ContentType: ct, Body: body, Status: baoguan.EventPending}
	if e.URL == "" {
		e.Status = baoguan.EventSkipped
	}
	if err := tx.CreateEvent(e); err != nil {
		return err
	}
	if e.Status == baoguan.EventSkipped {
		return nil
	}
	return q.add(baoguan.JobNotify, "notify:"+strconv.FormatInt(e.ID, 10)+":0", e.MerchantID, e.ID, tx.Now())
}

// emitOrderDone emits order.completed when the order's payment failed, or
// it is paid and every declaration reached an outcome. ds are the order's
// declarations as they now stand.
func (s *Service) emitOrderDone(tx baoguan.Tx, q *queue, o *baoguan.Order, ds []baoguan.Declaration) error {
	switch {
	case o.PayStatus == baoguan.PayFailed || o.PayStatus == baoguan.PayCancelled:
	case o.Paid() && (o.DeclareStatus == baoguan.DeclareDone || o.DeclareStatus == baoguan.DeclareFailedSt || o.DeclareStatus == baoguan.DeclareNone):
	default:
		return nil
	}
	return s.emitNotice(tx, q, Notice{Type: EventOrderCompleted, Order: o, Declarations: ds})
}

// notifyJob delivers an event once and records the attempt. It reschedules
// itself on the protocol's schedule until acknowledged or exhausted.
func (s *Service) notifyJob(ctx context.Context, w *work) error {
	var e *baoguan.Event
	var m *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if e, err = tx.Event(w.job.MerchantID, w.job.RefID); err != nil {
			return err
		}
		if m, err = tx.Merchant(e.MerchantID); err != nil {
			return err
		}
		return s.retiredWebhookSecrets(tx, m)
	})
	if err != nil {
		return err
	}
	if e.Status != baoguan.EventPending {
		return nil
	}
	f := s.Formats.Get(e.Protocol)
	if f == nil {
		return baoguan.Permanent(&baoguan.Error{Code: baoguan.EINTERNAL, Message: "no notification format for protocol " + e.Protocol})
	}
	start := time.Now()
	d := f.Deliver(ctx, s.HTTP, m, e)
	latency := time.Since(start)
	s.Metrics.Deliveries.WithLabelValues(e.Protocol, strconv.FormatBool(d.Acked)).Inc()
	var wait time.Duration
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		e, err := tx.Event(w.job.MerchantID, w.job.RefID)
		if err != nil {
			return err
		}
		if e.Status != baoguan.EventPending {
			return w.done(tx)
		}
		a := &baoguan.Attempt{EventID: e.ID, At: start, Status: d.Status, LatencyMS: latency.Milliseconds(), Response: d.Response}
		if d.Err != nil {
			a.Error = d.Err.Error()
		} else if !d.Acked {
			a.Error = "not acknowledged"
		}
		if err := tx.AddAttempt(a); err != nil {
			return err
		}
		e.Attempts++
		var more bool
		wait, more = f.Schedule().Next(e.Attempts)
		switch {
		case d.Acked:
			e.Status, e.DeliveredAt = baoguan.EventDelivered, tx.Now()
		case !more:
			e.Status = baoguan.EventFailed
		}
		if err := tx.UpdateEvent(e); err != nil {
			return err
		}
		if e.Status != baoguan.EventPending {
			wait = 0
			return w.done(tx)
		}
		return nil
	})
	if err == nil && wait > 0 {
		return Later(wait)
	}
	return err
}

// Events lists the merchant's events.
func (s *Service) Events(ctx context.Context, m *baoguan.Merchant, f baoguan.EventFilter) ([]baoguan.Event, error) {
	f.MerchantID = m.ID
	var out []baoguan.Event
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.ListEvents(f)
		return err
	})
	return out, err
}

// Event returns an event with its attempts. ENOTFOUND.
func (s *Service) Event(ctx context.Context, m *baoguan.Merchant, id int64) (*baoguan.Event, []baoguan.Attempt, error) {
	var e *baoguan.Event
	var as []baoguan.Attempt
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if e, err = tx.Event(m.ID, id); err != nil {
			return err
		}
		as, err = tx.Attempts(e.ID)
		return err
	})
	return e, as, err
}

// Redeliver sends an event again now, whatever its state, with a fresh
// schedule. The URL is the current one for the order. ENOTFOUND.
func (s *Service) Redeliver(ctx context.Context, m *baoguan.Merchant, id int64) (*baoguan.Event, error) {
	var out *baoguan.Event
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		e, err := tx.Event(m.ID, id)
		if err != nil {
			return err
		}
		mm, err := tx.Merchant(m.ID)
		if err != nil {
			return err
		}
		o, err := tx.Order(m.ID, e.OrderID)
		if err != nil {
			return err
		}
		if f := s.Formats.Get(e.Protocol); f != nil {
			if u := f.URL(mm, o); u != "" {
				e.URL = u
			}
		}
		if e.URL == "" {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_notify_url", Message: "no notify URL is configured for this merchant or order"}
		}
		e.Status = baoguan.EventPending
		replay := e.Attempts
		e.Attempts = 0
		if err := tx.UpdateEvent(e); err != nil {
			return err
		}
		out = e
		return q.add(baoguan.JobNotify, "notify:"+strconv.FormatInt(e.ID, 10)+":r"+strconv.Itoa(replay)+":"+strconv.FormatInt(tx.Now().UnixMilli(), 10), e.MerchantID, e.ID, tx.Now())
	})
	return out, err
}

// Post sends one notification request and reads at most 4 KiB of the
// answer. Formats use it so that every protocol records attempts alike.
func Post(ctx context.Context, c *http.Client, url, contentType string, body []byte, header http.Header) Delivery {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Delivery{Err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "baoguan-notify/1")
	resp, err := c.Do(req)
	if err != nil {
		return Delivery{Err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return Delivery{Status: resp.StatusCode, Response: string(b)}
}
