package sqlstore

import (
	"strings"

	"github.com/baoguan/baoguan"
)

// OrderWithDeclarationsAtOnce reports whether CreateOrderWith inserts an
// order and its declarations in one statement (PostgreSQL), so that a
// caller plans the declarations before the order's insert.
func (t *Tx) OrderWithDeclarationsAtOnce() bool { return t.d.WritableWith }

// CreateOrderWith inserts o as CreateOrder does and, if it was inserted,
// its new declarations as CreateDeclaration does, their OrderID set to
// o's id. A number the merchant already used is CreateOrder's ECONFLICT
// (reason duplicate, field merchant_order_no), and then no declaration is
// written. On PostgreSQL it is one statement — the order's insert in a
// WITH, the declarations inserted from its RETURNING — and so one round
// trip where the declarations' insert had to wait for the order's id: a
// pushed order costs one round trip (with its savepoint) instead of two.
// Elsewhere, and without declarations, it is CreateOrder then
// CreateDeclaration.
func (t *Tx) CreateOrderWith(o *baoguan.Order, ds []baoguan.Declaration) error {
	if !t.d.WritableWith || len(ds) == 0 || t.plans != nil || t.done {
		return t.createOrderThenDeclarations(o, ds)
	}
	args, plainO, err := t.orderRow(o, 3)
	if err != nil {
		return err
	}
	args = append(args, ms(t.now), ms(t.now), o.Fingerprint)
	plainD := make([][]any, len(ds))
	var values strings.Builder
	for i := range ds {
		row, plain, err := t.declarationRow(&ds[i], 1)
		if err != nil {
			return err
		}
		row = append(row, ms(t.now))
		plainD[i] = plain
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(")
		// The order's id comes from the WITH: the row's first value
		// (order_id) is left out.
		for j, v := range row[1:] {
			ty := setSQLType(v)
			if ty == "" { // a value an explicit cast does not name: one statement each
				return t.createOrderThenDeclarations(o, ds)
			}
			if j > 0 {
				values.WriteString(", ")
			}
			values.WriteString("?::" + ty)
		}
		values.WriteString(")")
		args = append(args, row[1:]...)
	}
	cols := strings.Join(strings.Fields(declarationInsertCols), " ")
	rest := strings.TrimSuffix(strings.TrimPrefix(cols, "order_id, "), ", version")
	q := "WITH o AS (" + qInsertOrder + "),\nd AS (INSERT INTO declarations (" + cols + ")\n" +
		"SELECT o.id, v.*, 1 FROM o, (VALUES " + values.String() + ") AS v(" + rest + ")\n" +
		"ON CONFLICT DO NOTHING\nRETURNING id, customs, sub_order_no)\n" +
		"SELECT id, TRUE, '', '' FROM o UNION ALL SELECT id, FALSE, customs, sub_order_no FROM d"
	if t.d.CheckedRefs {
		// Orders name their merchant without a foreign key: a row of id 0
		// says the merchant does not exist (read without a lock).
		q += "\nUNION ALL SELECT 0, TRUE, '', '' WHERE NOT EXISTS (SELECT 1 FROM merchants WHERE id = ?)"
		args = append(args, o.MerchantID)
	}
	missing := false
	var orderID int64
	got := map[[2]string]int64{}
	err = t.each(q, args, func(s Scanner) error {
		var id int64
		var isOrder bool
		var customs, sub string
		if err := s.Scan(&id, &isOrder, &customs, &sub); err != nil {
			return err
		}
		if isOrder && id == 0 {
			missing = true
		} else if isOrder {
			orderID = id
		} else {
			got[[2]string{customs, sub}] = id
		}
		return nil
	})
	switch {
	case t.isForeignKey(err), err == nil && missing:
		return notFound("merchant %d not found", o.MerchantID)
	case err != nil:
		return err
	case orderID == 0: // the only unique key is (merchant, merchant_order_no)
		return duplicate("merchant_order_no", "order %s already exists", quote(o.MerchantOrderNo))
	}
	o.ID, o.Version, o.CreatedAt, o.UpdatedAt = orderID, 1, t.now, t.now
	t.remember(orderTable, o.ID, o.Version, plainO, nil)
	if !o.PayDueAt.IsZero() && !o.PayDueAt.After(t.now) {
		t.enqueued++ // a payment due now, queued on the order: announced like a job
	}
	for i := range ds {
		d := &ds[i]
		id, ok := got[[2]string{d.Customs, d.SubOrderNo}]
		if !ok {
			// A new order's targets are taken by nothing but a target
			// twice in ds, which the caller must not pass.
			return duplicate("customs", "order %d is declared to %s twice", orderID, d.Customs)
		}
		d.OrderID, d.ID, d.Version, d.CreatedAt = orderID, id, 1, t.now
		t.remember(declarationTable, d.ID, d.Version, plainD[i], nil)
	}
	return nil
}

// createOrderThenDeclarations is CreateOrderWith one statement after the
// other.
func (t *Tx) createOrderThenDeclarations(o *baoguan.Order, ds []baoguan.Declaration) error {
	if err := t.CreateOrder(o); err != nil {
		return err
	}
	for i := range ds {
		ds[i].OrderID = o.ID
		if err := t.CreateDeclaration(&ds[i]); err != nil {
			return err
		}
	}
	return nil
}
