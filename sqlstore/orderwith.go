package sqlstore

import (
	"fmt"
	"slices"
	"strconv"
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

// CreateOrdersWith inserts new orders as CreateOrders does and, when all
// were inserted, ds[i], the new declarations of os[i], as
// CreateDeclarations does, their OrderID set (pushes stored together:
// core/combine.go). An order number taken is CreateOrders' ECONFLICT
// (field merchant_order_no), a target twice in ds CreateDeclarations'
// (field customs), a missing merchant ENOTFOUND; after an error the
// caller must not commit. On PostgreSQL it is one statement whatever the
// rows — the orders' insert from arrays (unnest) in a WITH, the
// declarations inserted from its RETURNING, joined to their orders by
// merchant and number, the merchants' existence read beside them — and
// so one round trip where CreateOrders and CreateDeclarations, each with
// its read of the rows they name, were four (and a COPY's more from 32
// rows). Elsewhere it is CreateOrders then CreateDeclarations.
func (t *Tx) CreateOrdersWith(os []baoguan.Order, ds [][]baoguan.Declaration) error {
	if !t.d.WritableWith || !t.d.Numbered || t.plans != nil || t.done || len(os) == 0 {
		return baoguan.CreateOrdersThenDeclarations(t, os, ds)
	}
	type target struct {
		order             int64
		customs, subOrder string
	}
	orows, index, err := t.newOrderRows(os)
	if err != nil {
		return err
	}
	var merchants []int64
	for i := range os {
		if !slices.Contains(merchants, os[i].MerchantID) {
			merchants = append(merchants, os[i].MerchantID)
		}
	}
	var drows [][]any
	for i := range ds {
		for j := range ds[i] {
			r, _, err := t.declarationRow(&ds[i][j], 2)
			if err != nil {
				return err
			}
			// The order's id comes from the WITH: in place of order_id,
			// the order's number, which joins the row to it (with the
			// merchant, the row's next column).
			r[0] = os[i].MerchantOrderNo
			drows = append(drows, append(r, ms(t.now), int64(1)))
		}
	}
	args, casts, err := unnestArrays("orders", orows)
	if err != nil {
		return err
	}
	var q strings.Builder
	q.WriteString("WITH o AS (INSERT INTO orders (" + orderInsertCols + ")\nSELECT * FROM unnest(")
	writeCasts(&q, casts)
	q.WriteString(")\nRETURNING id, merchant_id, merchant_order_no)")
	if len(drows) > 0 {
		dargs, dcasts, err := unnestArrays("declarations", drows)
		if err != nil {
			return err
		}
		args = append(args, dargs...)
		names := make([]string, len(dcasts))
		for c := range names {
			names[c] = "c" + strconv.Itoa(c)
		}
		q.WriteString(",\nd AS (INSERT INTO declarations (" + declarationInsertCols + ")\nSELECT o.id, v." +
			strings.Join(names[1:], ", v.") + "\nFROM o, unnest(")
		writeCasts(&q, dcasts)
		// In the rows' order, so that their ids follow it, as each
		// order's declarations inserted one by one.
		q.WriteString(") WITH ORDINALITY AS v(" + strings.Join(names, ", ") + ", n)\n" +
			"WHERE o.merchant_id = v.c1 AND o.merchant_order_no = v.c0 ORDER BY v.n\n" +
			"RETURNING id, order_id, customs, sub_order_no)")
	}
	q.WriteString("\nSELECT 0, id, merchant_id, merchant_order_no, '' FROM o")
	if len(drows) > 0 {
		q.WriteString("\nUNION ALL SELECT 1, id, order_id, customs, sub_order_no FROM d")
	}
	if t.d.CheckedRefs {
		// Orders name their merchant without a foreign key: a row of kind
		// 2 names a merchant that does not exist (read without a lock).
		q.WriteString("\nUNION ALL SELECT 2, m, m, '', '' FROM unnest(?::bigint[]) AS m WHERE NOT EXISTS (SELECT 1 FROM merchants WHERE id = m)")
		args = append(args, merchants)
	}
	for i := range os {
		os[i].ID = 0 // set below for each order inserted
	}
	missing := int64(0)
	got := make(map[target]int64, len(drows))
	err = t.each(q.String(), args, func(s Scanner) error {
		var kind int
		var id, ref int64
		var a, b string
		if err := s.Scan(&kind, &id, &ref, &a, &b); err != nil {
			return err
		}
		switch kind {
		case 0:
			i, ok := index[orderNumber{ref, a}]
			if !ok {
				return fmt.Errorf("%s: insert orders: returned order %s was not inserted", t.d.Name, quote(a))
			}
			os[i].ID, os[i].Version, os[i].CreatedAt, os[i].UpdatedAt = id, 1, t.now, t.now
		case 1:
			got[target{ref, a, b}] = id
		default:
			missing = ref
		}
		return nil
	})
	if what, ok := t.d.UniqueViolation(err); ok {
		return ordersWithDup(what, os)
	}
	switch {
	case t.isForeignKey(err):
		return notFound("merchant %d not found", os[0].MerchantID)
	case err != nil:
		return err
	case missing != 0:
		return notFound("merchant %d not found", missing)
	}
	for i := range ds {
		for j := range ds[i] {
			d := &ds[i][j]
			d.OrderID, d.ID, d.Version, d.CreatedAt = os[i].ID, got[target{os[i].ID, d.Customs, d.SubOrderNo}], 1, t.now
		}
	}
	t.announcePays(os)
	return nil
}

// ordersWithDup is CreateOrdersWith's error for the unique key what (the
// dialect's UniqueViolation: the index's name first) its statement met: a number taken, or a
// target twice in ds, which the caller must not pass (a new order's
// targets are taken by nothing else). The statement has no ON CONFLICT:
// a row that meets a key fails it, and the caller must not commit anyway,
// where a speculative insertion checked every unique index before each
// row.
func ordersWithDup(what string, os []baoguan.Order) error {
	if strings.HasPrefix(what, "declarations") {
		return duplicate("customs", "an order is declared to the same customs twice (%s)", what)
	}
	for i := range os {
		if strings.Contains(what, ", "+os[i].MerchantOrderNo+")") {
			return duplicate("merchant_order_no", "order %s already exists", quote(os[i].MerchantOrderNo))
		}
	}
	return duplicate("merchant_order_no", "an order number is taken (%s)", what)
}
