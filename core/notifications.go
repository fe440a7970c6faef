package core

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
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

// NotifyURL is where a protocol's notifications of an order go: the URL
// the order gave, else the merchant's setting for that protocol (empty
// setting: none), else the merchant's general notify URL.
func NotifyURL(m *baoguan.Merchant, o *baoguan.Order, setting string) string {
	if o.NotifyURL != "" {
		return o.NotifyURL
	}
	if setting != "" {
		if u := strings.TrimSpace(m.Settings[setting]); u != "" {
			return u
		}
	}
	return m.NotifyURL
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
// event in the caller's transaction: pending and due at once, it is its own
// delivery (the events table is the deliverer's queue, delivery.go), so the
// state change and its notification commit together or not at all.
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
	// e stays on the stack: a batch keeps a copy (renderLater), and the
	// store is given one of its own below.
	e := baoguan.Event{PublicID: n.PublicID, MerchantID: o.MerchantID, OrderID: o.ID, Type: typ, Protocol: o.Protocol,
		URL: f.URL(m, o), Status: baoguan.EventPending}
	if e.URL == "" {
		e.Status = baoguan.EventSkipped
	}
	if e.Status == baoguan.EventPending {
		e.NextAt = tx.Now() // the events table is the delivery queue (delivery.go)
	}
	if bt, ok := tx.(*batchTx); ok && bt.deferred {
		// A batch's notifications are rendered beside the batch, or at
		// once while the renderer lags (batchTx.renderLater), and kept
		// for its flush; one the format does not render is dropped there.
		// The deliverer may be woken for nothing then.
		bt.renderLater(f, n, &e)
	} else {
		body, ct, ok, err := f.Render(n)
		if err != nil || !ok {
			return err
		}
		e.Body, e.ContentType = body, ct
		stored := e
		if err := tx.CreateEvent(&stored); err != nil {
			return err
		}
		e = stored
	}
	if e.Status == baoguan.EventPending {
		q.n++ // wakes the deliverer once committed
	}
	return nil
}

// detached is n with copies of the rows it points to, so that it renders
// the same however they change after it (a batch renders its notices at
// its flush). The rows' slices and maps are shared, but for the order's
// extras, which a few paths change in place: a batch's handlers replace
// the others rather than modify them (batchTx).
func (n Notice) detached() Notice {
	if n.Order != nil {
		o := *n.Order
		o.Extra = maps.Clone(o.Extra)
		n.Order = &o
	}
	if n.Declaration != nil {
		d := *n.Declaration
		n.Declaration = &d
	}
	if n.Refund != nil {
		r := *n.Refund
		n.Refund = &r
	}
	if n.Merchant != nil {
		m := *n.Merchant
		n.Merchant = &m
	}
	n.Declarations = slices.Clone(n.Declarations)
	return n
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

// notifyJob handles a notify job written by an earlier version, when each
// event had one: the event is made due now, and the deliverer sends it
// (delivery.go). No notify job is written any more.
func (s *Service) notifyJob(ctx context.Context, w *work) error {
	return s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		e, err := tx.Event(w.job.MerchantID, w.job.RefID)
		if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
			return w.done(tx)
		}
		if err != nil {
			return err
		}
		if e.Status == baoguan.EventPending && e.NextAt.After(tx.Now()) {
			e.NextAt = tx.Now()
			if err := tx.UpdateEvent(e); err != nil {
				return err
			}
			q.n++
		}
		return w.done(tx)
	})
}

// Events lists the merchant's events, masked for display (maskEvent).
func (s *Service) Events(ctx context.Context, m *baoguan.Merchant, f baoguan.EventFilter) ([]baoguan.Event, error) {
	f.MerchantID = m.ID
	var out []baoguan.Event
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if out, err = tx.ListEvents(f); err != nil {
			return err
		}
		known := personalValues{}
		for i := range out {
			maskEvent(&out[i], nil, known.of(tx, &out[i]))
		}
		return nil
	})
	return out, err
}

// Event returns an event with its attempts, masked for display
// (maskEvent). ENOTFOUND.
func (s *Service) Event(ctx context.Context, m *baoguan.Merchant, id int64) (*baoguan.Event, []baoguan.Attempt, error) {
	var e *baoguan.Event
	var as []baoguan.Attempt
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if e, err = tx.Event(m.ID, id); err != nil {
			return err
		}
		if as, err = tx.Attempts(e.ID); err != nil {
			return err
		}
		as = s.retained(e, as, tx.Now())
		maskEvent(e, as, personalValues{}.of(tx, e))
		return nil
	})
	return e, as, err
}

// retained is as, the attempts of e, less those the retention policy lets
// go (Retention.Attempts: the attempts of an event delivered before then,
// made before then), whether or not a purge has deleted them yet. The
// attempt that delivered an event is no row a purge deletes where the
// event's row keeps it (the SQLite store), and would otherwise be shown
// for good.
func (s *Service) retained(e *baoguan.Event, as []baoguan.Attempt, now time.Time) []baoguan.Attempt {
	keep := s.Retention.Attempts
	if keep <= 0 || e.Status != baoguan.EventDelivered {
		return as
	}
	before := now.Add(-keep)
	if !e.DeliveredAt.Before(before) {
		return as
	}
	return slices.DeleteFunc(as, func(a baoguan.Attempt) bool { return a.At.Before(before) })
}

// personalValues caches, per order, the personal values a notification
// about it may carry: the payer's ID number and phone as ordered, as paid
// and as declared.
type personalValues map[int64][]string

func (p personalValues) of(tx baoguan.Tx, e *baoguan.Event) []string {
	if v, ok := p[e.OrderID]; ok {
		return v
	}
	var out []string
	if o, err := tx.Order(e.MerchantID, e.OrderID); err == nil {
		out = append(out, o.Payer.IDNumber, o.Payer.Phone, o.Payment.PayerID)
		if ds, err := tx.Declarations(e.MerchantID, o.ID); err == nil {
			for _, d := range ds {
				out = append(out, d.Payer.IDNumber, d.Payer.Phone)
			}
		}
	}
	p[e.OrderID] = out
	return out
}

// maskEvent masks the personal data in what a native answer (the API, the
// console, the CLI) shows of an event: its rendered body, which is a
// protocol's notification and may carry the payer's ID number and phone
// in full (payzero's does), and its attempts' answers and errors, which a
// receiver may echo. The delivered notification itself is unchanged.
func maskEvent(e *baoguan.Event, as []baoguan.Attempt, known []string) {
	e.Body = []byte(baoguan.MaskPersonal(string(e.Body), known...))
	for i := range as {
		as[i].Response = baoguan.MaskPersonal(as[i].Response, known...)
		as[i].Error = baoguan.MaskPersonal(as[i].Error, known...)
	}
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
		// One event is one delivery chain: a pending event's schedule
		// starts again now rather than a second chain beside it, and a
		// delivery in flight records nothing (its lease ends here).
		e.Status, e.Attempts, e.NextAt = baoguan.EventPending, 0, tx.Now()
		if err := tx.UpdateEvent(e); err != nil {
			return err
		}
		q.n++
		c := *e // the answer is masked; the event was written as it is
		maskEvent(&c, nil, personalValues{}.of(tx, &c))
		out = &c
		return nil
	})
	return out, err
}

// Post sends one notification request and reads at most 4 KiB of the
// answer. Formats use it so that every protocol records attempts alike.
// header (nil for none) becomes the request's: Post owns it from then on.
func Post(ctx context.Context, c *http.Client, url, contentType string, body []byte, header http.Header) Delivery {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Delivery{Err: err}
	}
	if header != nil {
		req.Header = header
	}
	// As Header.Set, with one allocation for both values.
	vs := []string{contentType, "baoguan-notify/1"}
	req.Header["Content-Type"], req.Header["User-Agent"] = vs[0:1:1], vs[1:2:2]
	resp, err := c.Do(req)
	if err != nil {
		return Delivery{Err: err}
	}
	defer resp.Body.Close()
	if resp.ContentLength == 0 {
		// No body (a 204, mostly): nothing to read, nor the buffer
		// io.ReadAll would take for it.
		return Delivery{Status: resp.StatusCode}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return Delivery{Status: resp.StatusCode, Response: string(b)}
}
