package sqlstore

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/baoguan/baoguan"
)

const eventCols = `id, public_id, merchant_id, order_id, type, protocol, url, content_type, body, status,
	attempts, created_at, delivered_at, updated_at`

const (
	qInsertEvent = `INSERT INTO events (public_id, merchant_id, order_id, type, protocol, url, content_type, body,
	status, attempts, created_at, delivered_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id`

	// The body is rendered once when the event is created, but a replay by
	// an operator may re-render it, so it stays updatable.
	qUpdateEvent = `UPDATE events SET url = ?, content_type = ?, body = ?, status = ?, attempts = ?,
	delivered_at = ?, updated_at = ?
WHERE id = ? AND merchant_id = ?`

	qEvent      = `SELECT ` + eventCols + ` FROM events WHERE id = ? AND merchant_id = ?`
	qListEvents = `SELECT ` + eventCols + ` FROM events`

	qInsertAttempt = `INSERT INTO attempts (event_id, at, status, latency_ms, error, response)
VALUES (?, ?, ?, ?, ?, ?)
RETURNING id`
	qAttempts = `SELECT id, event_id, at, status, latency_ms, error, response FROM attempts WHERE event_id = ? ORDER BY id`
)

// newPublicID makes an "evt_…" id for an event created without one, so
// the unique index never sees two empty ids.
func newPublicID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return "evt_" + hex.EncodeToString(b[:])
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{} // NOT NULL columns: a nil slice would bind as NULL
	}
	return b
}

// CreateEvent inserts e, giving it a public id if it has none. A taken
// public id is ECONFLICT reason duplicate; a missing merchant ENOTFOUND.
func (t *Tx) CreateEvent(e *baoguan.Event) error {
	if e.PublicID == "" {
		e.PublicID = newPublicID()
	}
	id, inserted, err := t.insertID(qInsertEvent, []any{e.PublicID, e.MerchantID, e.OrderID, e.Type, e.Protocol, e.URL,
		e.ContentType, nonNil(e.Body), string(e.Status), e.Attempts, ms(t.now), ms(e.DeliveredAt), ms(t.now)})
	switch {
	case t.isForeignKey(err):
		return notFound("merchant %d not found", e.MerchantID)
	case err != nil:
		return err
	case !inserted: // the only unique key is the public id
		return duplicate("public_id", "event %s already exists", e.PublicID)
	}
	e.ID, e.CreatedAt, e.UpdatedAt = id, t.now, t.now
	return nil
}

// UpdateEvent writes e's delivery state; ENOTFOUND unless it is the
// merchant's.
func (t *Tx) UpdateEvent(e *baoguan.Event) error {
	n, err := t.exec(qUpdateEvent, e.URL, e.ContentType, nonNil(e.Body), string(e.Status), e.Attempts,
		ms(e.DeliveredAt), ms(t.now), e.ID, e.MerchantID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("event %d not found", e.ID)
	}
	e.UpdatedAt = t.now
	return nil
}

func scanEvent(sc Scanner, e *baoguan.Event) error {
	var status string
	var created, delivered, updated int64
	if err := sc.Scan(&e.ID, &e.PublicID, &e.MerchantID, &e.OrderID, &e.Type, &e.Protocol, &e.URL, &e.ContentType,
		&e.Body, &status, &e.Attempts, &created, &delivered, &updated); err != nil {
		return err
	}
	e.Status = baoguan.EventStatus(status)
	e.CreatedAt, e.DeliveredAt, e.UpdatedAt = fromMS(created), fromMS(delivered), fromMS(updated)
	return nil
}

// Event reads one of the merchant's events; ENOTFOUND.
func (t *Tx) Event(merchantID, id int64) (*baoguan.Event, error) {
	e := new(baoguan.Event)
	found, err := t.one(qEvent, []any{id, merchantID}, func(s Scanner) error { return scanEvent(s, e) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("event %d not found", id)
	}
	return e, nil
}

// ListEvents pages by id, oldest first. A zero MerchantID lists every
// merchant's events, for operators.
func (t *Tx) ListEvents(f baoguan.EventFilter) ([]baoguan.Event, error) {
	w := new(where)
	if f.MerchantID != 0 {
		w.add("merchant_id = ?", f.MerchantID)
	}
	if f.OrderID != 0 {
		w.add("order_id = ?", f.OrderID)
	}
	if f.Type != "" {
		w.add("type = ?", f.Type)
	}
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	if f.Cursor != 0 {
		w.add("id > ?", f.Cursor)
	}
	out := []baoguan.Event{}
	err := t.each(qListEvents+w.String()+" ORDER BY id LIMIT ?", append(w.args, limit(f.Limit)), func(s Scanner) error {
		out = append(out, baoguan.Event{})
		return scanEvent(s, &out[len(out)-1])
	})
	return out, err
}

// AddAttempt records one delivery attempt; a missing event is ENOTFOUND.
func (t *Tx) AddAttempt(a *baoguan.Attempt) error {
	if a.At.IsZero() {
		a.At = t.now
	}
	id, inserted, err := t.insertID(qInsertAttempt, []any{a.EventID, ms(a.At), a.Status, a.LatencyMS, a.Error, a.Response})
	switch {
	case t.isForeignKey(err):
		return notFound("event %d not found", a.EventID)
	case err != nil:
		return err
	case !inserted:
		return errNoRow
	}
	a.ID = id
	return nil
}

// Attempts returns an event's delivery attempts, oldest first.
func (t *Tx) Attempts(eventID int64) ([]baoguan.Attempt, error) {
	out := []baoguan.Attempt{}
	err := t.each(qAttempts, []any{eventID}, func(s Scanner) error {
		var a baoguan.Attempt
		var at int64
		if err := s.Scan(&a.ID, &a.EventID, &at, &a.Status, &a.LatencyMS, &a.Error, &a.Response); err != nil {
			return err
		}
		a.At = fromMS(at)
		out = append(out, a)
		return nil
	})
	return out, err
}
