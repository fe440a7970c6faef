package sqlstore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

const eventCols = `id, public_id, merchant_id, order_id, type, protocol, url, content_type, body, status,
	attempts, created_at, delivered_at, updated_at, next_at, lease_until`

// eventColsApart are eventCols where an event's body is its row of
// event_bodies (Dialect.BodiesApart). The subquery names the table, not
// an alias, so that it also serves in an UPDATE's RETURNING.
const eventColsApart = `id, public_id, merchant_id, order_id, type, protocol, url, content_type,
	(SELECT b.body FROM event_bodies AS b WHERE b.id = events.id), status,
	attempts, created_at, delivered_at, updated_at, next_at, lease_until`

// eventColumns returns the columns scanEvent reads, for the dialect.
func (t *Tx) eventColumns() string {
	if t.d.BodiesApart {
		return eventColsApart
	}
	return eventCols
}

// eventInsertCols are the columns qInsertEvent and CreateEvents write.
const eventInsertCols = `public_id, merchant_id, order_id, type, protocol, url, content_type, body,
	status, attempts, created_at, delivered_at, updated_at, next_at, lease_until, dest`

// eventInsertWidth is the count of eventInsertCols.
const eventInsertWidth = 16

// eventRowCols are eventInsertCols without the body, which
// Dialect.BodiesApart writes to event_bodies (qInsertBody).
const eventRowCols = `public_id, merchant_id, order_id, type, protocol, url, content_type,
	status, attempts, created_at, delivered_at, updated_at, next_at, lease_until, dest`

const (
	qInsertEvent = `INSERT INTO events (public_id, merchant_id, order_id, type, protocol, url, content_type, body,
	status, attempts, created_at, delivered_at, updated_at, next_at, lease_until, dest)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id`
	qInsertEventApart = `INSERT INTO events (` + eventRowCols + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id`
	// qInsertBody writes an event's body (Dialect.BodiesApart) after its
	// event's row, and again when the event is written (UpdateEvent).
	qInsertBody = `INSERT INTO event_bodies (id, body) VALUES (?, ?)
ON CONFLICT (id) DO UPDATE SET body = excluded.body`

	// The body is rendered once when the event is created, but a replay by
	// an operator may re-render it, so it stays updatable.
	// Writing an event ends any lease on it: a delivery in flight then
	// records nothing (RecordAttempt), and the event is due at NextAt.
	// lease_until, which is the token of whoever holds the event, becomes
	// a value no claim holds: a lease's is its end, in the future; a claim
	// held in memory (PendingEvents) holds the value it read, zero or
	// below, which every write lowers by one.
	qUpdateEvent = `UPDATE events SET url = ?, content_type = ?, body = ?, status = ?, attempts = ?,
	delivered_at = ?, updated_at = ?, next_at = ?, lease_until = CASE WHEN lease_until < 0 THEN lease_until - 1 ELSE -1 END, dest = ?
WHERE id = ? AND merchant_id = ?`

	// qInsertEventChecked is qInsertEvent where events.merchant_id has no
	// foreign key (Dialect.CheckedRefs): the row goes in only when its
	// merchant exists, read without a lock.
	qInsertEventChecked = `INSERT INTO events (` + eventInsertCols + `)
SELECT * FROM (VALUES (?::text, ?::bigint, ?::bigint, ?::text, ?::text, ?::text, ?::text, ?::bytea,
	?::text, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?::text))
	AS v(` + eventInsertCols + `)
WHERE (SELECT true FROM merchants AS m WHERE m.id = v.merchant_id)
ON CONFLICT DO NOTHING
RETURNING id`

	// eventsChecked ends CreateEvents' INSERT … SELECT * FROM unnest(…)
	// where events.merchant_id has no foreign key, as qInsertEventChecked.
	// The check is a scalar subquery, which PostgreSQL runs for each row
	// in turn: as EXISTS it became a semi-join, which may return the rows
	// in another order than given, and the events' ids would not follow
	// the order of their creation.
	eventsChecked = `AS v(` + eventInsertCols + `)
WHERE (SELECT true FROM merchants AS m WHERE m.id = v.merchant_id)
`

	qEvent           = `SELECT ` + eventCols + ` FROM events WHERE id = ? AND merchant_id = ?`
	qEventApart      = `SELECT ` + eventColsApart + ` FROM events WHERE id = ? AND merchant_id = ?`
	qListEvents      = `SELECT ` + eventCols + ` FROM events`
	qListEventsApart = `SELECT ` + eventColsApart + ` FROM events`

	qInsertAttempt = `INSERT INTO attempts (event_id, at, status, latency_ms, error, response)
VALUES (?, ?, ?, ?, ?, ?)
RETURNING id`
	// qInsertAttemptChecked is qInsertAttempt where attempts.event_id has
	// no foreign key (Dialect.CheckedRefs): nothing goes in when the event
	// is missing.
	qInsertAttemptChecked = `INSERT INTO attempts (event_id, at, status, latency_ms, error, response)
SELECT id, ?::bigint, ?::bigint, ?::bigint, ?::text, ?::text FROM events WHERE id = ?
RETURNING id`
	qAttempts = `SELECT id, event_id, at, status, latency_ms, error, response FROM attempts WHERE event_id = ? ORDER BY id`

	// Where the event's row keeps the attempt a receiver acknowledged
	// (Dialect.AckedInRow): Attempts reads it after the attempts rows, and
	// a write of the event (a redelivery) first moves it to a row of
	// attempts, which its next chain's follow, and clears it.
	qAckedAttempt     = `SELECT ack_at, ack_status, ack_latency_ms, ack_response FROM events WHERE id = ? AND ack_at <> 0`
	qMoveAckedAttempt = `INSERT INTO attempts (event_id, at, status, latency_ms, error, response)
SELECT id, ack_at, ack_status, ack_latency_ms, '', ack_response FROM events WHERE id = ? AND merchant_id = ? AND ack_at <> 0`
	qUpdateEventAcked = `UPDATE events SET url = ?, content_type = ?, body = ?, status = ?, attempts = ?,
	delivered_at = ?, updated_at = ?, next_at = ?, lease_until = CASE WHEN lease_until < 0 THEN lease_until - 1 ELSE -1 END, dest = ?,
	ack_at = 0, ack_status = 0, ack_latency_ms = 0, ack_response = ''
WHERE id = ? AND merchant_id = ?`
)

// qUpdateEvent and qUpdateEventAcked where the body is written apart
// (Dialect.BodiesApart): the same without the body's column, which
// qInsertBody writes after them.
var (
	qUpdateEventApart      = strings.Replace(qUpdateEvent, "body = ?, ", "", 1)
	qUpdateEventAckedApart = strings.Replace(qUpdateEventAcked, "body = ?, ", "", 1)
)

// newPublicID makes an "evt_…" id for an event created without one, so
// the unique index never sees two empty ids.
func newPublicID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return "evt_" + hex.EncodeToString(b[:])
}

// CreateEvent inserts e, giving it a public id if it has none. A pending
// event is due at e.NextAt (now when zero). A taken public id is
// ECONFLICT reason duplicate; a missing merchant ENOTFOUND.
func (t *Tx) CreateEvent(e *baoguan.Event) error {
	if e.PublicID == "" {
		e.PublicID = newPublicID()
	}
	if e.Status == baoguan.EventPending && e.NextAt.IsZero() {
		e.NextAt = t.now
	}
	sl := t.sealer()
	body := sl.sealBytes(e.Body)
	if sl.err != nil {
		return sl.err
	}
	q := qInsertEvent
	if t.d.CheckedRefs {
		q = qInsertEventChecked
	}
	args := []any{e.PublicID, e.MerchantID, e.OrderID, e.Type, e.Protocol, e.URL,
		e.ContentType, body, string(e.Status), int64(e.Attempts), ms(t.now), ms(e.DeliveredAt), ms(t.now), t.nextAtOf(e),
		t.leaseOf(e), baoguan.Destination(e.URL)}
	if t.d.BodiesApart {
		q, args = qInsertEventApart, slices.Delete(args, 7, 8)
	}
	id, inserted, err := t.insertID(q, args)
	switch {
	case t.isForeignKey(err):
		return notFound("merchant %d not found", e.MerchantID)
	case err != nil:
		return err
	case !inserted: // the only unique key is the public id, or (CheckedRefs) no merchant
		if err := t.merchantExists(e.MerchantID); err != nil {
			return err
		}
		return duplicate("public_id", "event %s already exists", e.PublicID)
	}
	if t.d.BodiesApart {
		if _, err := t.exec(qInsertBody, id, body); err != nil {
			return err
		}
	}
	t.inserted(e, id)
	return nil
}

// inserted completes e, inserted as row id: its id and times; an event
// due now is announced like a job (and kept for the hand-off).
func (t *Tx) inserted(e *baoguan.Event, id int64) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, t.now, t.now
	if e.Status == baoguan.EventPending && !e.NextAt.After(t.now) {
		t.enqueued++
		t.keepCreated(e)
	}
}

// CreateEvents inserts new events as CreateEvent does and sets their ids,
// with one statement for many of them (a job batch's notifications): on
// PostgreSQL one for all, returning the ids; on SQLite multi-row INSERTs
// without RETURNING (insertRowIDs), the ids told by the rowids. A taken
// public id is ECONFLICT reason duplicate; the caller must then not commit
// (the other events were inserted).
func (t *Tx) CreateEvents(es []baoguan.Event) error { return t.CreateSealedEvents(es, nil) }

// EventBodySealer returns a function that seals an event's body as the
// store keeps it, for CreateSealedEvents, appending it to dst (the
// caller's buffer, which the store keeps nothing of once the insert has
// run): it may run on another goroutine while the transaction goes on (a
// job batch seals its notifications beside its writes).
func (t *Tx) EventBodySealer() func(dst, body []byte) ([]byte, error) {
	keys, name, binary := t.keys, t.d.Name, t.d.BinaryBodies
	return func(dst, body []byte) ([]byte, error) {
		var out []byte
		var err error
		switch {
		case len(body) == 0:
			return dst, nil
		case binary:
			out, err = keys.SealBinaryTo(dst, body)
		default:
			out, err = keys.SealBytes(body)
			out = append(dst, out...)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: seal: %w", name, err)
		}
		return out, nil
	}
}

// CreateSealedEvents is CreateEvents with the bodies sealed already where
// sealed has them: sealed[i], when not nil, is es[i].Body sealed by
// EventBodySealer's function (es[i].Body stays the plain body, as the
// events are handed off). sealed may be nil.
func (t *Tx) CreateSealedEvents(es []baoguan.Event, sealed [][]byte) error {
	ri, rowIDs := t.c.(RowsInserter)
	if len(es) < 2 || !t.d.Numbered && (!rowIDs || t.plans != nil) {
		for i := range es {
			if err := t.CreateEvent(&es[i]); err != nil {
				return err
			}
		}
		return nil
	}
	sl := t.sealer()
	// The rows' values in one array, each row's boxes taken from the row
	// before it where they agree (boxer): the events of a batch share
	// their merchant, URL, protocol, status and times, and an event's 16
	// values were 16 allocations (a row's slice, a box each) in the
	// writer.
	width := eventInsertWidth
	var bodies [][]byte // Dialect.BodiesApart: the sealed bodies, apart from the rows
	if t.d.BodiesApart {
		width--
		bodies = make([][]byte, len(es))
	}
	rows := make([][]any, len(es))
	vals := make([]any, len(es)*width)
	var index map[string]int // the rows RETURNING names (PostgreSQL)
	if t.d.Numbered {
		index = make(map[string]int, len(es))
	}
	for i := range es {
		e := &es[i]
		if e.PublicID == "" {
			e.PublicID = newPublicID()
		}
		if e.Status == baoguan.EventPending && e.NextAt.IsZero() {
			e.NextAt = t.now
		}
		var body []byte
		if i < len(sealed) && sealed[i] != nil {
			body = sealed[i]
		} else {
			body = sl.sealBytes(e.Body)
		}
		// Not capped at the row: multiRowArgs binds adjacent rows as
		// they lie (adjacent), and nothing appends to a row.
		b := boxer{v: vals[i*width : i*width]}
		if i > 0 {
			b.prev = rows[i-1]
		}
		b.str(e.PublicID)
		b.i64(e.MerchantID)
		b.i64(e.OrderID)
		b.str(e.Type)
		b.str(e.Protocol)
		b.str(e.URL)
		b.str(e.ContentType)
		if bodies != nil {
			bodies[i] = body
		} else {
			b.v = append(b.v, body)
		}
		b.str(string(e.Status))
		b.i64(int64(e.Attempts))
		b.i64(ms(t.now))
		b.i64(ms(e.DeliveredAt))
		b.i64(ms(t.now))
		b.i64(t.nextAtOf(e))
		b.i64(t.leaseOf(e))
		b.str(baoguan.Destination(e.URL))
		if len(b.v) != width {
			return fmt.Errorf("%s: insert events: %d values a row, not %d", t.d.Name, len(b.v), width)
		}
		rows[i] = b.v
		if index != nil {
			index[e.PublicID] = i
		}
	}
	if sl.err != nil {
		return sl.err
	}
	if !t.d.Numbered {
		return t.createEventRows(ri, es, rows, bodies)
	}
	// No ON CONFLICT here (PostgreSQL): a taken public id fails the
	// statement, and the caller must not commit anyway. A speculative
	// insertion checked every unique index before each row and confirmed
	// the row after it — about a seventh of the insert's work.
	got := 0
	suffix := "RETURNING id, public_id"
	if t.d.CheckedRefs {
		suffix = eventsChecked + suffix
	}
	err := t.insertRows("events", eventInsertCols, suffix, rows, nil, func(s Scanner) error {
		var id int64
		var pub string
		if err := s.Scan(&id, &pub); err != nil {
			return err
		}
		i, ok := index[pub]
		if !ok {
			return fmt.Errorf("%s: insert events: returned event %s was not inserted", t.d.Name, pub)
		}
		es[i].ID = id
		got++
		return nil
	})
	if what, ok := t.d.UniqueViolation(err); ok {
		for i := range es {
			if strings.Contains(what, "("+es[i].PublicID+")") {
				return duplicate("public_id", "event %s already exists", es[i].PublicID)
			}
		}
		return duplicate("public_id", "an event's public id is taken (%s)", what)
	}
	if err != nil {
		return t.eventsInsertErr(err, es)
	}
	for i := range es {
		e := &es[i]
		if e.ID == 0 { // CheckedRefs: its merchant does not exist
			return notFound("merchant %d not found", e.MerchantID)
		}
		t.inserted(e, e.ID)
	}
	return nil
}

// merchantExists is ENOTFOUND when the merchant does not exist, where an
// event's insert checked it itself (Dialect.CheckedRefs) and left out a
// row: the row is missing for its merchant, or else for its public id.
func (t *Tx) merchantExists(id int64) error {
	if !t.d.CheckedRefs {
		return nil
	}
	found, err := t.one(qMerchantExists, []any{id}, func(s Scanner) error { var x int64; return s.Scan(&x) })
	switch {
	case err != nil:
		return err
	case !found:
		return notFound("merchant %d not found", id)
	}
	return nil
}

// eventsInsertErr is the error of a failed multi-row insert of es: a
// merchant that does not exist is ENOTFOUND, naming the first event's (the
// statement does not say which row failed).
func (t *Tx) eventsInsertErr(err error, es []baoguan.Event) error {
	if t.isForeignKey(err) {
		return notFound("merchant %d not found", es[0].MerchantID)
	}
	return err
}

// createEventRows is CreateEvents on SQLite: the rows in multi-row
// INSERTs (insertRowIDs), each event's id its row's rowid. Where bodies
// is not nil (Dialect.BodiesApart) the rows hold no body, and the bodies
// (bodies[i] es[i]'s, sealed) follow in multi-row INSERTs of their own.
func (t *Tx) createEventRows(ri RowsInserter, es []baoguan.Event, rows [][]any, bodies [][]byte) error {
	cols := eventInsertCols
	if bodies != nil {
		cols = eventRowCols
	}
	ids, from, err := t.insertRowIDs(ri, "events", cols, "ON CONFLICT DO NOTHING", rows, nil)
	if err != nil {
		return t.eventsInsertErr(err, es)
	}
	for i := range es {
		if ids[i] == 0 {
			return t.takenPublicID(es[i:], from)
		}
	}
	if bodies != nil {
		// rows, which the events' insert is done with, takes the bodies'
		// rows. Each names its id (the event's), so the ids insertRowIDs
		// reads back from the rowids are the same and not needed.
		bv := make([]any, 2*len(es))
		for i := range es {
			bv[2*i], bv[2*i+1] = ids[i], bodies[i]
			rows[i] = bv[2*i : 2*i+2 : 2*i+2]
		}
		if _, _, err := t.insertRowIDs(ri, "event_bodies", "id, body", "", rows, nil); err != nil {
			return err
		}
	}
	if t.collect {
		t.created = slices.Grow(t.created, len(es)) // grown once, not by doubling
	}
	for i := range es {
		t.inserted(&es[i], ids[i])
	}
	return nil
}

// takenPublicID is the duplicate error of a multi-row insert of es that
// skipped rows, naming the first event whose public id was taken: by a
// row older than the insert (an id below from) or by an event before it.
func (t *Tx) takenPublicID(es []baoguan.Event, from int64) error {
	seen := map[string]bool{}
	for _, e := range es {
		if seen[e.PublicID] {
			return duplicate("public_id", "event %s already exists", e.PublicID)
		}
		seen[e.PublicID] = true
		var id int64
		found, err := t.one(`SELECT id FROM events WHERE public_id = ?`, []any{e.PublicID}, func(s Scanner) error { return s.Scan(&id) })
		if err != nil {
			return err
		}
		if found && id < from {
			return duplicate("public_id", "event %s already exists", e.PublicID)
		}
	}
	return duplicate("public_id", "an event's public id already exists")
}

// UpdateEvent writes e's delivery state and ends any lease on it;
// ENOTFOUND unless it is the merchant's. Where the event's row keeps the
// attempt that delivered it (Dialect.AckedInRow), that attempt becomes a
// row of attempts first.
func (t *Tx) UpdateEvent(e *baoguan.Event) error {
	sl := t.sealer()
	body := sl.sealBytes(e.Body)
	if sl.err != nil {
		return sl.err
	}
	q := qUpdateEvent
	if t.d.AckedInRow {
		if _, err := t.exec(qMoveAckedAttempt, e.ID, e.MerchantID); err != nil {
			return err
		}
		q = qUpdateEventAcked
	}
	args := []any{e.URL, e.ContentType, body, string(e.Status), e.Attempts,
		ms(e.DeliveredAt), ms(t.now), ms(e.NextAt), baoguan.Destination(e.URL), e.ID, e.MerchantID}
	if t.d.BodiesApart {
		q, args = qUpdateEventApart, slices.Delete(args, 2, 3)
		if t.d.AckedInRow {
			q = qUpdateEventAckedApart
		}
	}
	n, err := t.exec(q, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("event %d not found", e.ID)
	}
	if t.d.BodiesApart {
		if _, err := t.exec(qInsertBody, e.ID, body); err != nil {
			return err
		}
	}
	// The new token is not read back: a claim reads it with the event.
	e.UpdatedAt, e.LeaseUntil = t.now, time.Time{}
	if e.Status == baoguan.EventPending && !e.NextAt.After(t.now) {
		t.enqueued++
		t.dueOther = true
	}
	return nil
}

// scanEvent reads one row of eventColumns, opening the sealed body. A
// lease_until below zero (written events, see qUpdateEvent) reads as no
// lease.
func (t *Tx) scanEvent(sc Scanner, e *baoguan.Event) error {
	return t.scanEventToken(sc, e, false)
}

// scanEventToken is scanEvent; with token, LeaseUntil is lease_until as
// it is, the token of a claim held in memory (PendingEvents).
func (t *Tx) scanEventToken(sc Scanner, e *baoguan.Event, token bool) error {
	var status string
	var created, delivered, updated, next, lease int64
	var body []byte
	if err := sc.Scan(&e.ID, &e.PublicID, &e.MerchantID, &e.OrderID, &e.Type, &e.Protocol, &e.URL, &e.ContentType,
		&body, &status, &e.Attempts, &created, &delivered, &updated, &next, &lease); err != nil {
		return err
	}
	sl := t.sealer()
	if e.Body = sl.openBytes(body); sl.err != nil {
		return sl.err
	}
	e.Status = baoguan.EventStatus(status)
	e.CreatedAt, e.DeliveredAt, e.UpdatedAt = fromMS(created), fromMS(delivered), fromMS(updated)
	if lease < 0 && !token {
		lease = 0
	}
	e.NextAt, e.LeaseUntil = fromMS(next), fromMS(lease)
	return nil
}

// Event reads one of the merchant's events; ENOTFOUND.
func (t *Tx) Event(merchantID, id int64) (*baoguan.Event, error) {
	e := new(baoguan.Event)
	q := qEvent
	if t.d.BodiesApart {
		q = qEventApart
	}
	found, err := t.one(q, []any{id, merchantID}, func(s Scanner) error { return t.scanEvent(s, e) })
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
	from := qListEvents
	if t.d.BodiesApart {
		from = qListEventsApart
	}
	switch {
	case f.Status == "":
	case f.Status == baoguan.EventPending && t.d.PendingApart:
		// The events in flight, every one of them in the delivery
		// queue's partial index (named: the planner would rather read a
		// merchant's every event in id order), read whole and sorted;
		// an order's, by its index.
		if f.OrderID == 0 {
			from += t.hint("events_due")
		}
		w.add("status = 'pending'")
	case f.Status == baoguan.EventPending && f.MerchantID == 0:
		// Literally, so that the partial index events_pending may serve
		// the pending events of every merchant (on PostgreSQL, a generic
		// plan can use it only so). A merchant's pending events are read
		// through events_merchant_status, by the parameter below: a
		// literal would let a planner without statistics read every
		// merchant's pending events through events_pending and filter
		// them.
		w.add("status = 'pending'")
	case t.d.PendingApart:
		// The index by status holds no pending event: this says so, so
		// that SQLite may use it.
		w.add("status = ?", string(f.Status))
		w.add("status <> 'pending'")
	default:
		w.add("status = ?", string(f.Status))
	}
	if f.Cursor != 0 {
		w.add("id > ?", f.Cursor)
	}
	out := []baoguan.Event{}
	err := t.each(from+w.String()+" ORDER BY id LIMIT ?", append(w.args, limit(f.Limit)), func(s Scanner) error {
		out = append(out, baoguan.Event{})
		return t.scanEvent(s, &out[len(out)-1])
	})
	return out, err
}

// AddAttempt records one delivery attempt; a missing event is ENOTFOUND.
func (t *Tx) AddAttempt(a *baoguan.Attempt) error {
	errText, resp, err := t.attemptArgs(a)
	if err != nil {
		return err
	}
	q, args := qInsertAttempt, []any{a.EventID, ms(a.At), a.Status, a.LatencyMS, errText, resp}
	if t.d.CheckedRefs {
		q, args = qInsertAttemptChecked, []any{ms(a.At), int64(a.Status), a.LatencyMS, errText, resp, a.EventID}
	}
	id, inserted, err := t.insertID(q, args)
	switch {
	case t.isForeignKey(err):
		return notFound("event %d not found", a.EventID)
	case err != nil:
		return err
	case !inserted && t.d.CheckedRefs:
		return notFound("event %d not found", a.EventID)
	case !inserted:
		return errNoRow
	}
	a.ID = id
	return nil
}

// attemptArgs dates a (now, unless set) and returns its error text and
// response sealed: the receiver's answer and the error may echo what was
// sent.
func (t *Tx) attemptArgs(a *baoguan.Attempt) (errText, resp string, err error) {
	if a.At.IsZero() {
		a.At = t.now
	}
	sl := t.sealer()
	errText, resp = sl.seal(a.Error), sl.seal(a.Response)
	return errText, resp, sl.err
}

// Attempts returns an event's delivery attempts, oldest first. The one a
// receiver acknowledged, where the event's row keeps it
// (Dialect.AckedInRow), is the last, with a zero ID.
func (t *Tx) Attempts(eventID int64) ([]baoguan.Attempt, error) {
	out := []baoguan.Attempt{}
	err := t.each(qAttempts, []any{eventID}, func(s Scanner) error {
		var a baoguan.Attempt
		var at int64
		if err := s.Scan(&a.ID, &a.EventID, &at, &a.Status, &a.LatencyMS, &a.Error, &a.Response); err != nil {
			return err
		}
		sl := t.sealer()
		if a.Error, a.Response = sl.openOrPlain(a.Error), sl.openOrPlain(a.Response); sl.err != nil {
			return sl.err
		}
		a.At = fromMS(at)
		out = append(out, a)
		return nil
	})
	if err != nil || !t.d.AckedInRow {
		return out, err
	}
	_, err = t.one(qAckedAttempt, []any{eventID}, func(s Scanner) error {
		a := baoguan.Attempt{EventID: eventID}
		var at int64
		if err := s.Scan(&at, &a.Status, &a.LatencyMS, &a.Response); err != nil {
			return err
		}
		sl := t.sealer()
		if a.Response = sl.openOrPlain(a.Response); sl.err != nil {
			return sl.err
		}
		a.At = fromMS(at)
		out = append(out, a)
		return nil
	})
	return out, err
}

// The delivery queue. Pending events are due at next_at; a lease
// (lease_until in the future) says a deliverer holds one. Index events_due
// keeps the pending ones in (next_at, id) order.
const (
	// qDueWhere is the condition of the due ones.
	qDueWhere = `
WHERE status = 'pending' AND next_at <= ? AND lease_until <= ?`
	// A lease writes lease_until alone, a column no index holds, so that
	// on PostgreSQL its UPDATE can be HOT (no index entry written) where
	// the page has room. A leased event keeps its place in events_due
	// (the due query steps over it: lease_until <= now), and is due again
	// as soon as its lease ends unrecorded.
	qLeaseEvents = `UPDATE events SET lease_until = ? WHERE status = 'pending' AND `
	// qEndLeases ends leases (LeaseEvents with a zero until): an event
	// inserted leased (nextAtOf) has its next_at at the lease's end, and
	// is due again from its creation, as it was before it was leased;
	// one leased by a claim keeps the next_at it was due at.
	qEndLeases = `UPDATE events SET next_at = CASE WHEN lease_until > 0 AND next_at = lease_until THEN created_at ELSE next_at END,
	lease_until = ? WHERE status = 'pending' AND `
	// RecordAttempt's write: only while the lease it names is held.
	qRecordEvent = `UPDATE events SET status = ?, attempts = ?, delivered_at = ?, next_at = ?, lease_until = 0, updated_at = ?
WHERE id = ? AND status = 'pending' AND lease_until = ?`
	// qRecordAcked is qRecordEvent for an attempt acknowledged where the
	// event's row keeps it (Dialect.AckedInRow): no row of attempts. Its
	// strings are literals where they can be (the status; the answer,
	// mostly empty: qRecordAckedNoAnswer), which SQLite's driver would
	// otherwise copy (see sqlite.txn.Insert).
	qRecordAcked = `UPDATE events SET status = 'delivered', attempts = ?, delivered_at = ?, next_at = ?, lease_until = 0, updated_at = ?,
	ack_at = ?, ack_status = ?, ack_latency_ms = ?, ack_response = ?
WHERE id = ? AND status = 'pending' AND lease_until = ?`
	qRecordAckedNoAnswer = `UPDATE events SET status = 'delivered', attempts = ?, delivered_at = ?, next_at = ?, lease_until = 0, updated_at = ?,
	ack_at = ?, ack_status = ?, ack_latency_ms = ?, ack_response = ''
WHERE id = ? AND status = 'pending' AND lease_until = ?`
)

// DueEventsOf lists the pending events of orders that are due and not
// leased, oldest first, by the orders' index (a deliverer asks for the few
// orders whose newer events it holds past the window of DueEvents).
func (t *Tx) DueEventsOf(orders []int64) ([]baoguan.DueEvent, error) {
	if len(orders) == 0 {
		return nil, nil
	}
	now := ms(t.now)
	cond, arg := t.inIDs("order_id", orders)
	q := "SELECT id, merchant_id, order_id, dest, next_at FROM events" + t.hint("events_order") + qDueWhere +
		" AND " + cond + " ORDER BY next_at, id"
	return t.dueEvents(q, []any{now, now, arg})
}

// dueEvents reads the due events q lists.
func (t *Tx) dueEvents(q string, args []any) ([]baoguan.DueEvent, error) {
	var out []baoguan.DueEvent
	var next int64 // one for every row: what Scan fills escapes
	err := t.each(q, args, func(s Scanner) error {
		out = append(out, baoguan.DueEvent{})
		d := &out[len(out)-1]
		if err := s.Scan(&d.ID, &d.MerchantID, &d.OrderID, &d.Dest, &next); err != nil {
			out = out[:len(out)-1]
			return err
		}
		d.NextAt = fromMS(next)
		return nil
	})
	return out, err
}

// dueWindow bounds how many due events a query that leaves destinations
// out looks at, so that one destination's backlog of thousands is not read
// through at every claim.
const dueWindow = 1000

// DueEvents lists up to n pending events that are due and not leased,
// oldest first (by next_at, then id), and only those after after in that
// order when it is not nil. With skip, it leaves out those destinations
// among the dueWindow oldest due events. Nothing is locked: of the events
// listed, a deliverer leases the few it picks (LeaseEvents), and the lease
// is what keeps two instances from sending the same event.
func (t *Tx) DueEvents(n int, skip []string, after *baoguan.DueEvent) ([]baoguan.DueEvent, error) {
	if n <= 0 {
		return nil, nil
	}
	now := ms(t.now)
	// SQLite, without statistics, preferred the list index on status
	// (events_status; events_pending from migration 0023 to 0024) and
	// then sorted every pending event; named, events_due reads the oldest
	// due ones in order and stops at the limit.
	from := "FROM events" + t.hint("events_due") + qDueWhere
	args := []any{now, now}
	if after != nil {
		// A row value: the index's range starts after it.
		from += " AND (next_at, id) > (?, ?)"
		args = append(args, ms(after.NextAt), after.ID)
	}
	q := "SELECT id, merchant_id, order_id, dest, next_at " + from
	if len(skip) > 0 {
		q = `SELECT id, merchant_id, order_id, dest, next_at FROM events WHERE id IN (SELECT id ` + from +
			` ORDER BY next_at, id LIMIT ` + itoa(dueWindow) + `)`
		if !t.d.Concurrent {
			// The window read from the index alone (SQLite's events_due
			// holds every column read), not row by row by id.
			q = `SELECT id, merchant_id, order_id, dest, next_at FROM (SELECT id, merchant_id, order_id, dest, next_at ` + from +
				` ORDER BY next_at, id LIMIT ` + itoa(dueWindow) + `) AS w WHERE true`
		}
		if t.d.Numbered {
			q += " AND NOT (dest = ANY(?))"
			args = append(args, skip)
		} else {
			b, err := t.toJSON(skip)
			if err != nil {
				return nil, err
			}
			q += " AND dest NOT IN (SELECT value FROM json_each(?))"
			args = append(args, b)
		}
	}
	q += " ORDER BY next_at, id LIMIT ?"
	args = append(args, n)
	return t.dueEvents(q, args)
}

// LeaseEvents leases the pending events among ids that no one holds
// (their lease, if any, has ended) until until, when they are due again
// should the lease end unrecorded, and returns them as leased. A zero
// until ends the leases of the pending events among ids: they are due.
func (t *Tx) LeaseEvents(ids []int64, until time.Time) ([]baoguan.Event, error) {
	out := make([]baoguan.Event, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if until.IsZero() {
		t.dueOther = true // the leases end: due again
	}
	in, arg := t.inIDs("id", ids)
	cond, args := in, []any{ms(until), arg}
	if !until.IsZero() {
		cond += " AND lease_until <= ?"
		args = append(args, ms(t.now))
	}
	scan := func(s Scanner) error {
		out = append(out, baoguan.Event{})
		return t.scanEvent(s, &out[len(out)-1])
	}
	update := qLeaseEvents
	if until.IsZero() {
		update = qEndLeases
	}
	if !t.d.Concurrent {
		// One writer: the rows the UPDATE leased are the pending ones
		// among ids that hold the new lease (or none, when it ends
		// leases), read back by id (cheaper than RETURNING on SQLite, see
		// Inserter).
		if _, err := t.exec(update+cond, args...); err != nil {
			return nil, err
		}
		return out, t.each(`SELECT `+t.eventColumns()+` FROM events WHERE status = 'pending' AND lease_until = ? AND `+in, args[:2], scan)
	}
	if !until.IsZero() {
		// Only the rows leased are locked (DueEvents locks none); one
		// another instance is leasing is skipped, not waited for.
		q := `UPDATE events SET lease_until = ? WHERE id = ANY(ARRAY(SELECT id FROM events WHERE status = 'pending' AND ` + cond +
			` FOR UPDATE SKIP LOCKED)) RETURNING ` + t.eventColumns()
		return out, t.each(q, args, scan)
	}
	return out, t.each(update+cond+" RETURNING "+t.eventColumns(), args, scan)
}

// PendingEvents reads the pending events among ids without leasing them:
// the claims of a deliverer that is alone on its database are held in its
// memory, and cost no write. Each event's LeaseUntil is then the token
// RecordAttempt checks: the lease_until it read (not in the future: zero,
// a lease's past end, or the count of writes that ended leases, below
// zero), which any write of the event (UpdateEvent) changes.
func (t *Tx) PendingEvents(ids []int64) ([]baoguan.Event, error) {
	out := make([]baoguan.Event, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cond, arg := t.inIDs("id", ids)
	pending := "status = 'pending'"
	if !t.d.Numbered {
		// SQLite: each id by the primary key alone, its status checked on
		// the row; with the bare column the planner went through a
		// partial index of the pending events (events_pending until
		// migration 0024) and then to the table, two searches an event
		// (benchmarks.md, change 54).
		pending = "+status = 'pending'"
	}
	err := t.each(`SELECT `+t.eventColumns()+` FROM events WHERE `+pending+` AND `+cond, []any{arg}, func(s Scanner) error {
		out = append(out, baoguan.Event{})
		return t.scanEventToken(s, &out[len(out)-1], true)
	})
	return out, err
}

// RecordAttempt writes a delivery's outcome while the lease lease is
// held: the event's status, attempts, next due time and delivery time, and
// the attempt. ECONFLICT reason lease_lost when the event was redelivered,
// written or taken over meanwhile.
func (t *Tx) RecordAttempt(e *baoguan.Event, a *baoguan.Attempt, lease time.Time) error {
	if t.d.WritableWith {
		return t.recordAttemptWith(e, a, lease)
	}
	acked := t.ackedInRow(e, a)
	var n int64
	var err error
	if acked {
		n, err = t.recordAcked(e, a, lease, nil)
	} else {
		n, err = t.exec(qRecordEvent, string(e.Status), e.Attempts, ms(e.DeliveredAt), ms(e.NextAt), ms(t.now), e.ID, ms(lease))
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return leaseLost(e.ID)
	}
	e.UpdatedAt, e.LeaseUntil = t.now, time.Time{}
	a.EventID = e.ID
	if acked {
		a.ID = 0
		return nil
	}
	return t.AddAttempt(a)
}

// ackedInRow says whether a, an attempt of e as its outcome leaves it,
// is kept in the event's row (Dialect.AckedInRow): the attempt that
// delivered it, without an error.
func (t *Tx) ackedInRow(e *baoguan.Event, a *baoguan.Attempt) bool {
	return t.d.AckedInRow && e.Status == baoguan.EventDelivered && a.Error == ""
}

// recordAcked writes e's outcome with the attempt a that delivered it
// (qRecordAcked) while the lease lease is held, and returns how many rows
// it changed (0: the lease was lost).
// b, when not nil, is reused for the statement's arguments over a
// transaction's outcomes (recordAttemptRows).
func (t *Tx) recordAcked(e *baoguan.Event, a *baoguan.Attempt, lease time.Time, b *ackArgs) (int64, error) {
	_, resp, err := t.attemptArgs(a)
	if err != nil {
		return 0, err
	}
	if b == nil {
		b = new(ackArgs)
	}
	if b.now == nil {
		b.now, b.args = ms(t.now), make([]any, 0, 10)
	}
	q := qRecordAckedNoAnswer
	args := append(b.args[:0], e.Attempts, ms(e.DeliveredAt), ms(e.NextAt), b.now, ms(a.At), int64(a.Status), a.LatencyMS)
	if resp != "" {
		q, args = qRecordAcked, append(args, resp)
	}
	args = append(args, e.ID, ms(lease))
	n, err := t.exec(q, args...)
	clear(args) // the statement is done with them: keep no answer alive
	b.args = args
	return n, err
}

// ackArgs is what recordAcked reuses from one outcome to the next: the
// statement's arguments (an Exec is done with them when it returns) and
// the transaction's time, boxed once.
type ackArgs struct {
	args []any
	now  any
}

// recordAttemptRows is RecordAttempts on SQLite: each event's update
// (an event named twice finds, at its second outcome, the lease the first
// one ended), then the attempts of those still leased in multi-row
// INSERTs (insertRowIDs), but for the acknowledged ones, which the
// event's update writes into its row (Dialect.AckedInRow).
func (t *Tx) recordAttemptRows(ri RowsInserter, os []baoguan.Outcome) ([]bool, error) {
	recorded := make([]bool, len(os))
	var rows [][]any // made at the first: most outcomes have no row
	var rowOf []int  // the outcome of each of rows
	var acked ackArgs
	for i := range os {
		e, a := &os[i].Event, &os[i].Attempt
		if t.ackedInRow(e, a) {
			n, err := t.recordAcked(e, a, os[i].Lease, &acked)
			if err != nil {
				return nil, err
			}
			if recorded[i] = n > 0; recorded[i] {
				e.UpdatedAt, e.LeaseUntil = t.now, time.Time{}
				a.EventID, a.ID = e.ID, 0
			}
			continue
		}
		n, err := t.exec(qRecordEvent, string(e.Status), e.Attempts, ms(e.DeliveredAt), ms(e.NextAt), ms(t.now), e.ID, ms(os[i].Lease))
		if err != nil {
			return nil, err
		}
		if n == 0 {
			continue // lease lost
		}
		errText, resp, err := t.attemptArgs(a)
		if err != nil {
			return nil, err
		}
		recorded[i] = true
		if rows == nil {
			rows, rowOf = make([][]any, 0, len(os)-i), make([]int, 0, len(os)-i)
		}
		rows = append(rows, []any{e.ID, ms(a.At), int64(a.Status), a.LatencyMS, errText, resp})
		rowOf = append(rowOf, i)
	}
	if len(rows) == 0 {
		return recorded, nil
	}
	ids, _, err := t.insertRowIDs(ri, "attempts", attemptInsertCols, "", rows, nil)
	if err != nil {
		return nil, err
	}
	for k, i := range rowOf {
		if ids[k] == 0 {
			return nil, errNoRow
		}
		o := &os[i]
		o.Event.UpdatedAt, o.Event.LeaseUntil = t.now, time.Time{}
		o.Attempt.EventID, o.Attempt.ID = o.Event.ID, ids[k]
	}
	return recorded, nil
}

// attemptInsertCols are the columns recordAttemptRows writes.
const attemptInsertCols = `event_id, at, status, latency_ms, error, response`

// leaseLost is RecordAttempt's ECONFLICT when the lease was lost.
func leaseLost(id int64) error {
	return &baoguan.Error{Code: baoguan.ECONFLICT, Reason: "lease_lost",
		Message: "event " + itoa(id) + " was written or leased again while it was being delivered; this attempt is not recorded"}
}

// RecordAttempts records outcomes as RecordAttempt does: on PostgreSQL in
// one statement for all of them (qRecordAttempts), elsewhere one after
// the other.
func (t *Tx) RecordAttempts(os []baoguan.Outcome) ([]bool, error) {
	if ri, ok := t.c.(RowsInserter); ok && !t.d.Numbered && len(os) > 1 && t.plans == nil {
		return t.recordAttemptRows(ri, os)
	}
	recorded := make([]bool, len(os))
	ids := make(map[int64]bool, len(os))
	for i := range os {
		ids[os[i].Event.ID] = true
	}
	if !t.d.WritableWith || !t.d.Numbered || len(os) < 2 || len(ids) < len(os) {
		// One at a time; so too an event named twice, whose second
		// outcome finds the lease the first one ended.
		for i := range os {
			o := &os[i]
			err := t.RecordAttempt(&o.Event, &o.Attempt, o.Lease)
			if baoguan.ErrorReason(err) == "lease_lost" {
				continue
			}
			if err != nil {
				return nil, err
			}
			recorded[i] = true
		}
		return recorded, nil
	}
	var (
		id, attempts, delivered, next, lease, at, status, latency = make([]int64, len(os)), make([]int64, len(os)),
			make([]int64, len(os)), make([]int64, len(os)), make([]int64, len(os)), make([]int64, len(os)),
			make([]int64, len(os)), make([]int64, len(os))
		state, errs, resps = make([]string, len(os)), make([]string, len(os)), make([]string, len(os))
	)
	index := make(map[int64]int, len(os))
	for i := range os {
		o := &os[i]
		errText, resp, err := t.attemptArgs(&o.Attempt)
		if err != nil {
			return nil, err
		}
		e := &o.Event
		id[i], state[i], attempts[i], delivered[i], next[i], lease[i] = e.ID, string(e.Status), int64(e.Attempts),
			ms(e.DeliveredAt), ms(e.NextAt), ms(o.Lease)
		at[i], status[i], latency[i], errs[i], resps[i] = ms(o.Attempt.At), int64(o.Attempt.Status), o.Attempt.LatencyMS, errText, resp
		index[e.ID] = i
	}
	err := t.each(qRecordAttempts, []any{id, state, attempts, delivered, next, lease, at, status, latency, errs, resps, ms(t.now)},
		func(s Scanner) error {
			var aid, eid int64
			if err := s.Scan(&aid, &eid); err != nil {
				return err
			}
			i, ok := index[eid]
			if !ok {
				return fmt.Errorf("%s: record attempts: an attempt of event %d, which was not asked for", t.d.Name, eid)
			}
			o := &os[i]
			o.Event.UpdatedAt, o.Event.LeaseUntil = t.now, time.Time{}
			o.Attempt.EventID, o.Attempt.ID = eid, aid
			recorded[i] = true
			return nil
		})
	if err != nil {
		return nil, err
	}
	return recorded, nil
}

// qRecordAttempts is RecordAttempts on PostgreSQL: the outcomes as arrays
// (one per column), the events still leased with the token each was sent
// under updated, and their attempts inserted. (Only the deliverer holding
// an event's lease writes its outcome, so two such statements never wait
// for each other's rows.)
const qRecordAttempts = `WITH v AS (
	SELECT * FROM unnest(?::bigint[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[],
		?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::text[])
		AS v(id, status, attempts, delivered_at, next_at, lease, at, code, latency_ms, error, response)
), e AS (
	UPDATE events SET status = v.status, attempts = v.attempts, delivered_at = v.delivered_at, next_at = v.next_at,
		lease_until = 0, updated_at = ?
	FROM v WHERE events.id = v.id AND events.status = 'pending' AND events.lease_until = v.lease
	RETURNING events.id
)
INSERT INTO attempts (event_id, at, status, latency_ms, error, response)
SELECT v.id, v.at, v.code, v.latency_ms, v.error, v.response FROM v JOIN e ON e.id = v.id
RETURNING id, event_id`

// qRecordAttemptWith is RecordAttempt in one statement: the attempt is
// inserted only when the event's update found it still leased.
const qRecordAttemptWith = `WITH e AS (` + qRecordEvent + `
RETURNING id)
INSERT INTO attempts (event_id, at, status, latency_ms, error, response)
SELECT id, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT) FROM e
RETURNING id`

// recordAttemptWith is RecordAttempt where the dialect has data-modifying
// WITH (PostgreSQL): one round trip per delivery instead of two.
func (t *Tx) recordAttemptWith(e *baoguan.Event, a *baoguan.Attempt, lease time.Time) error {
	errText, resp, err := t.attemptArgs(a)
	if err != nil {
		return err
	}
	id, inserted, err := t.insertID(qRecordAttemptWith, []any{string(e.Status), e.Attempts, ms(e.DeliveredAt), ms(e.NextAt), ms(t.now), e.ID, ms(lease),
		ms(a.At), a.Status, a.LatencyMS, errText, resp})
	if err != nil {
		return err
	}
	if !inserted {
		return leaseLost(e.ID)
	}
	e.UpdatedAt, e.LeaseUntil = t.now, time.Time{}
	a.EventID, a.ID = e.ID, id
	return nil
}
