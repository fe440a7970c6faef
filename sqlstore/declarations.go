package sqlstore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/baoguan/baoguan"
)

const declarationCols = `id, order_id, merchant_id, customs, port, route, extras, sub_order_no, sub_order_id,
	merchant_customs_no, order_fee, transport_fee, product_fee, duty, strategy, identity_check,
	payer_name, payer_id_type, payer_id_number, payer_phone, state, retrying, explanation,
	verify_department, verify_department_trade_id, receipt_code, port_ref, attempts, submitted_at,
	modified_at, created_at, version`

const (
	qInsertDeclaration = `INSERT INTO declarations (order_id, merchant_id, customs, sub_order_no, port, route, extras,
	sub_order_id, merchant_customs_no, order_fee, transport_fee, product_fee, duty, strategy, identity_check,
	payer_name, payer_id_type, payer_id_number, payer_phone, state, retrying, explanation,
	verify_department, verify_department_trade_id, receipt_code, port_ref, attempts, submitted_at,
	modified_at, created_at, version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
ON CONFLICT DO NOTHING
RETURNING id`

	qDeclaration       = `SELECT ` + declarationCols + ` FROM declarations WHERE id = ? AND merchant_id = ?`
	qDeclarations      = `SELECT ` + declarationCols + ` FROM declarations WHERE order_id = ? AND merchant_id = ? ORDER BY id`
	qDeclarationExists = `SELECT 1 FROM declarations WHERE id = ? AND merchant_id = ?`
)

// declarationTable is the declarations' mutable columns, in
// declarationArgs' order. The target (order, customs, sub-order) is the
// declaration's identity and never changes; everything else may.
var declarationTable = newTable("declarations", `port, route, extras, sub_order_id,
	merchant_customs_no, order_fee, transport_fee, product_fee, duty, strategy,
	identity_check, payer_name, payer_id_type, payer_id_number, payer_phone, state,
	retrying, explanation, verify_department, verify_department_trade_id, receipt_code,
	port_ref, attempts, submitted_at, modified_at`,
	[]string{"payer_id_number", "payer_phone"},
	"version = version + 1 WHERE id = ? AND merchant_id = ? AND version = ?")

// Indexes in declarationTable of the sealed columns, for remember.
const (
	dIDNumber = 13
	dPhone    = 14
)

// declarationArgs returns the mutable column values, port, route …
// modified_at, the sealed ones in plain text. The values equal to the
// row's image at d's version are the image's own (see boxer).
func (t *Tx) declarationArgs(d *baoguan.Declaration) ([]any, error) {
	prev := t.imageOrTemplate(declarationTable, d.ID, d.Version)
	return declarationValsLike(d, customsExtrasJSON(d.Extras), prev), nil
}

// declarationVals is declarationArgs with the JSON column given.
func declarationVals(d *baoguan.Declaration, extras string) []any {
	return declarationValsLike(d, extras, nil)
}

// declarationValsLike is declarationVals taking the values equal to
// prev's from prev.
func declarationValsLike(d *baoguan.Declaration, extras string, prev []any) []any {
	b := boxer{prev: prev, v: make([]any, 0, len(declarationTable.cols))}
	b.str(d.Port)
	b.str(d.Route)
	b.str(extras)
	b.str(d.SubOrderID)
	b.str(d.MerchantCustomsNo)
	b.i64(d.OrderFee)
	b.i64(d.TransportFee)
	b.i64(d.ProductFee)
	b.i64(d.Duty)
	b.str(d.Strategy)
	b.str(d.IdentityCheck)
	b.str(d.Payer.Name)
	b.str(d.Payer.IDType)
	b.str(d.Payer.IDNumber)
	b.str(d.Payer.Phone)
	b.str(string(d.State))
	b.bool(d.Retrying)
	b.str(d.Explanation)
	b.str(d.VerifyDepartment)
	b.str(d.VerifyDepartmentTradeID)
	b.str(d.ReceiptCode)
	b.str(d.PortRef)
	b.int(d.Attempts)
	b.i64(ms(d.SubmittedAt))
	b.i64(ms(d.ModifiedAt))
	return b.v
}

// CreateDeclaration inserts d. A second declaration of the same order,
// customs code and sub-order is ECONFLICT reason duplicate; a missing order
// is ENOTFOUND.
func (t *Tx) CreateDeclaration(d *baoguan.Declaration) error {
	buf := rowLists.Get().(*[]any)
	args, plain, err := t.declarationRowInto(*buf, d, 1)
	defer func() { putRowList(buf, args) }()
	if err != nil {
		return err
	}
	args = append(args, ms(t.now))
	q := qInsertDeclaration
	if t.d.CheckedRefs {
		var ok bool
		if q, ok = declarationChecked(args); !ok {
			return fmt.Errorf("%s: insert declaration: a value without a cast", t.d.Name)
		}
	}
	id, inserted, err := t.insertID(q, args)
	switch {
	case t.isForeignKey(err):
		return notFound("order %d not found", d.OrderID)
	case err != nil:
		return err
	case !inserted && t.d.CheckedRefs && !t.ordersExist([]int64{d.OrderID}, &err):
		if err != nil {
			return err
		}
		return notFound("order %d not found", d.OrderID)
	case !inserted: // the only unique key is the target (order, customs, sub-order)
		if d.SubOrderNo != "" {
			return duplicate("sub_order_no", "sub-order %s of order %d is already declared to %s", quote(d.SubOrderNo), d.OrderID, d.Customs)
		}
		return duplicate("customs", "order %d is already declared to %s", d.OrderID, d.Customs)
	}
	d.ID, d.Version, d.CreatedAt = id, 1, t.now
	t.remember(declarationTable, d.ID, d.Version, plain, nil)
	declarationTable.inserted(plain)
	return nil
}

// declarationRow returns what an insert of d writes up to its mutable
// columns (order_id, merchant_id, customs, sub_order_no, port … modified_at,
// the sealed ones sealed), with room for extra more, and those mutable
// values in plain text, the row's image once inserted.
func (t *Tx) declarationRow(d *baoguan.Declaration, extra int) (row, plain []any, err error) {
	return t.declarationRowInto(nil, d, extra)
}

// declarationRowInto is declarationRow writing the row into buf's array
// when it is large enough.
func (t *Tx) declarationRowInto(buf []any, d *baoguan.Declaration, extra int) (row, plain []any, err error) {
	plain, err = t.declarationArgs(d)
	if err != nil {
		return nil, nil, err
	}
	row = slices.Grow(buf[:0], 4+len(plain)+extra)
	row = append(row, d.OrderID, d.MerchantID, d.Customs, d.SubOrderNo)
	row = append(row, plain...)
	return row, plain, t.sealAll(declarationTable, row[4:])
}

// UpdateDeclaration writes d if its Version is current and bumps it:
// ECONFLICT reason stale otherwise, ENOTFOUND if there is no such row.
// Only the columns that differ from the row's image are written (see
// images.go).
func (t *Tx) UpdateDeclaration(d *baoguan.Declaration) error {
	vals, err := t.declarationArgs(d)
	if err != nil {
		return err
	}
	mask := t.changed(declarationTable, d.ID, d.Version, vals)
	args, err := t.updateArgs(declarationTable, mask, vals, d.ID, d.MerchantID, d.Version)
	if err != nil {
		return err
	}
	n, err := t.exec(declarationTable.update(mask), args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return t.declarationNotUpdated(d)
	}
	d.Version++
	t.remember(declarationTable, d.ID, d.Version, vals, nil)
	return nil
}

// declarationNotUpdated tells why a declaration's UPDATE changed no row:
// ENOTFOUND, or ECONFLICT reason stale.
func (t *Tx) declarationNotUpdated(d *baoguan.Declaration) error {
	ok, err := t.exists(qDeclarationExists, d.ID, d.MerchantID)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("declaration %d not found", d.ID)
	}
	return stale("declaration %d", d.ID)
}

// UpdateDeclarations writes declarations as UpdateDeclaration does, the
// statements sent together (one round trip on PostgreSQL). The first that
// fails is the error; the caller must then not commit.
func (t *Tx) UpdateDeclarations(ds []baoguan.Declaration) error {
	rows := make([]rowWrite, len(ds))
	tails := make([]any, 3*len(ds)) // every row's tail in one array
	for i := range ds {
		d := &ds[i]
		v, err := t.declarationArgs(d)
		if err != nil {
			return err
		}
		tail := tails[3*i : 3*i+3 : 3*i+3]
		tail[0], tail[1], tail[2] = d.ID, d.MerchantID, d.Version
		rows[i] = rowWrite{id: d.ID, merchant: d.MerchantID, version: d.Version, vals: v, tail: tail}
	}
	written, err := t.writeRows(declarationTable, rows)
	if err != nil {
		return err
	}
	for i := range ds {
		if !written[i] {
			return t.declarationNotUpdated(&ds[i])
		}
	}
	for i := range ds {
		d := &ds[i]
		d.Version++
		t.remember(declarationTable, d.ID, d.Version, rows[i].vals, nil)
	}
	return nil
}

func (t *Tx) scanDeclaration(sc Scanner, d *baoguan.Declaration) error {
	// One struct for the locals Scan fills, as in scanOrder: one
	// allocation, not one a local.
	var c struct {
		extras, idNumber, phone, state string
		submitted, modified, created   int64
	}
	if err := sc.Scan(&d.ID, &d.OrderID, &d.MerchantID, &d.Customs, &d.Port, &d.Route, &c.extras, &d.SubOrderNo, &d.SubOrderID,
		&d.MerchantCustomsNo, &d.OrderFee, &d.TransportFee, &d.ProductFee, &d.Duty, &d.Strategy, &d.IdentityCheck,
		&d.Payer.Name, &d.Payer.IDType, &c.idNumber, &c.phone, &c.state, &d.Retrying, &d.Explanation,
		&d.VerifyDepartment, &d.VerifyDepartmentTradeID, &d.ReceiptCode, &d.PortRef, &d.Attempts, &c.submitted,
		&c.modified, &c.created, &d.Version); err != nil {
		return err
	}
	d.State = baoguan.DeclState(c.state)
	d.SubmittedAt, d.ModifiedAt, d.CreatedAt = fromMS(c.submitted), fromMS(c.modified), fromMS(c.created)
	s := t.sealer()
	d.Payer.IDNumber, d.Payer.Phone = s.open(c.idNumber), s.open(c.phone)
	if s.err != nil {
		return s.err
	}
	if err := t.customsExtrasFromJSON(c.extras, &d.Extras); err != nil {
		return err
	}
	if t.write {
		t.remember(declarationTable, d.ID, d.Version, declarationVals(d, c.extras), map[int]string{dIDNumber: c.idNumber, dPhone: c.phone})
	}
	return nil
}

// Declaration reads one of the merchant's declarations; ENOTFOUND.
func (t *Tx) Declaration(merchantID, id int64) (*baoguan.Declaration, error) {
	d := new(baoguan.Declaration)
	found, err := t.one(qDeclaration, []any{id, merchantID}, func(s Scanner) error { return t.scanDeclaration(s, d) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("declaration %d not found", id)
	}
	return d, nil
}

// Declarations returns the order's declarations, oldest first; none is an
// empty list, not an error, since an order need not be declared.
func (t *Tx) Declarations(merchantID, orderID int64) ([]baoguan.Declaration, error) {
	out := []baoguan.Declaration{}
	err := t.each(qDeclarations, []any{orderID, merchantID}, func(s Scanner) error {
		out = append(out, baoguan.Declaration{})
		return t.scanDeclaration(s, &out[len(out)-1])
	})
	return out, err
}

// declarationChecked is qInsertDeclaration for args where
// declarations.order_id has no foreign key (Dialect.CheckedRefs): the row
// goes in only when its order exists, locked as the key's check locked it
// (FOR KEY SHARE), so that DeleteOrders, which locks the orders it deletes
// first, either waits for the declaration and deletes it too or deletes
// the order before the check, which then finds none. ok is false when a
// value has no cast.
func declarationChecked(args []any) (q string, ok bool) {
	var b strings.Builder
	b.WriteString("INSERT INTO declarations (" + declarationInsertCols + ")\nSELECT * FROM (VALUES (")
	for i, v := range args {
		ty := setSQLType(v)
		if ty == "" {
			return "", false
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("?::" + ty)
	}
	b.WriteString(", 1)) AS v(" + declarationInsertCols + ")\nWHERE (SELECT true FROM orders AS o WHERE o.id = v.order_id FOR KEY SHARE)\nON CONFLICT DO NOTHING\nRETURNING id")
	return b.String(), true
}

// ordersExist reports whether every order of ids exists, locking them as
// declarationChecked does, where declarations name their order without a
// foreign key (Dialect.CheckedRefs); *err is set when the read fails.
func (t *Tx) ordersExist(ids []int64, err *error) bool {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var n int64
	e := t.each(`SELECT id FROM orders WHERE id = ANY(?::bigint[]) FOR KEY SHARE`, []any{ids}, func(Scanner) error { n++; return nil })
	if e != nil {
		*err = e
		return false
	}
	return n == int64(len(ids))
}
