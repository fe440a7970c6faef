package sqlstore

import (
	"database/sql"

	"github.com/baoguan/baoguan"
)

// Calls to upstream services, recorded per declaration. Messages are
// masked before they get here; nothing is sealed.

const upstreamCallCols = `id, merchant_id, order_id, declaration_id, at, service, operation, http_status, latency_ms,
	code, message, attempt, outcome`

const (
	qInsertUpstreamCall = `INSERT INTO upstream_calls (merchant_id, order_id, declaration_id, at, service, operation,
	http_status, latency_ms, code, message, attempt, outcome)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
)

// AddUpstreamCalls stores call records.
func (t *Tx) AddUpstreamCalls(cs []baoguan.UpstreamCall) error {
	for i := range cs {
		c := &cs[i]
		var decl any
		if c.DeclarationID != 0 {
			decl = c.DeclarationID
		}
		id, _, err := t.insertID(qInsertUpstreamCall, []any{c.MerchantID, c.OrderID, decl, ms(c.At), c.Service, c.Operation,
			c.HTTPStatus, c.LatencyMS, c.Code, c.Message, c.Attempt, c.Outcome})
		if t.isForeignKey(err) {
			return notFound("declaration %d or order %d not found", c.DeclarationID, c.OrderID)
		}
		if err != nil {
			return err
		}
		c.ID = id
	}
	return nil
}

// UpstreamCalls lists recorded calls, newest first. The conditions are
// the filter's alone, not "(? = 0 OR order_id = ?)" for each one it may
// have: a plan made without the arguments' values (PostgreSQL's generic
// plans) could use no index for those, and would read every call.
func (t *Tx) UpstreamCalls(f baoguan.UpstreamCallFilter) ([]baoguan.UpstreamCall, error) {
	var w where
	if f.MerchantID != 0 {
		w.add("merchant_id = ?", f.MerchantID)
	}
	if f.OrderID != 0 {
		w.add("order_id = ?", f.OrderID)
	}
	if f.DeclarationID != 0 {
		w.add("declaration_id = ?", f.DeclarationID)
	}
	if f.Cursor != 0 {
		w.add("id < ?", f.Cursor)
	}
	out := []baoguan.UpstreamCall{}
	err := t.each(`SELECT `+upstreamCallCols+` FROM upstream_calls`+w.String()+` ORDER BY id DESC LIMIT `+itoa(int64(limit(f.Limit))),
		w.args,
		func(s Scanner) error {
			var c baoguan.UpstreamCall
			var decl sql.NullInt64
			var at int64
			if err := s.Scan(&c.ID, &c.MerchantID, &c.OrderID, &decl, &at, &c.Service, &c.Operation, &c.HTTPStatus,
				&c.LatencyMS, &c.Code, &c.Message, &c.Attempt, &c.Outcome); err != nil {
				return err
			}
			c.DeclarationID, c.At = decl.Int64, fromMS(at)
			out = append(out, c)
			return nil
		})
	return out, err
}
