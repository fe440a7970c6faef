package sqlstore

import (
	"slices"

	"github.com/baoguan/baoguan"
)

const orderCols = `id, merchant_id, merchant_order_no, amount, currency, subject, items,
	payer_name, payer_id_type, payer_id_number, payer_phone, ordered_at, batch_id, notify_url,
	need_declare, channel, sandbox, protocol, capital_name, extra, pay_status, declare_status,
	payment_no, psp, psp_name, psp_code, paid_at, ver_dept, pay_type, init_request, init_response,
	fail_reason, fail_code, paid_by_name, paid_by_id, exchange_rate, pay_cny, settle_rate, pay_attempts, refunded,
	pay_due_at, version, created_at, updated_at, fingerprint`

const (
	qInsertOrder = `INSERT INTO orders (merchant_id, merchant_order_no, amount, currency, subject, items,
	payer_name, payer_id_type, payer_id_number, payer_phone, ordered_at, batch_id, notify_url,
	need_declare, channel, sandbox, protocol, capital_name, extra, pay_status, declare_status,
	payment_no, psp, psp_name, psp_code, paid_at, ver_dept, pay_type, init_request, init_response,
	fail_reason, fail_code, paid_by_name, paid_by_id, exchange_rate, pay_cny, settle_rate, pay_attempts, refunded,
	pay_due_at, version, created_at, updated_at, fingerprint)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id`

	qOrder            = `SELECT ` + orderCols + ` FROM orders WHERE id = ? AND merchant_id = ?`
	qOrderByNo        = `SELECT ` + orderCols + ` FROM orders WHERE merchant_id = ? AND merchant_order_no = ? AND ` + notLoading
	qOrderByPaymentNo = `SELECT ` + orderCols + ` FROM orders WHERE merchant_id = ? AND payment_no = ? AND payment_no <> '' ORDER BY id LIMIT 1`
	qOrderExists      = `SELECT 1 FROM orders WHERE id = ? AND merchant_id = ?`
	qOrderFingerprint = `SELECT fingerprint, ` + notLoading + ` FROM orders WHERE merchant_id = ? AND merchant_order_no = ?`
	qListOrders       = `SELECT ` + orderCols + ` FROM orders`
	qCountOrders      = `SELECT COUNT(*) FROM orders`
)

// notLoading leaves out the orders of a batch still loading (see
// baoguan.Batch): they are hidden until the batch's last chunk commits.
// Orders outside batches (batch_id 0) skip the lookup of their batch.
const notLoading = `(batch_id = 0 OR NOT EXISTS (SELECT 1 FROM batches lb WHERE lb.id = orders.batch_id AND lb.loading_until > 0))`

// orderTable is the orders' mutable columns, in orderArgs' order.
// merchant_order_no, fingerprint and created_at never change: the first is
// the natural key front-ends look orders up by, the second what a repeat
// of the order's creation is compared with.
var orderTable = newTable("orders", `amount, currency, subject, items,
	payer_name, payer_id_type, payer_id_number, payer_phone, ordered_at, batch_id,
	notify_url, need_declare, channel, sandbox, protocol, capital_name, extra,
	pay_status, declare_status, payment_no, psp, psp_name, psp_code, paid_at,
	ver_dept, pay_type, init_request, init_response, fail_reason, fail_code, paid_by_name,
	paid_by_id, exchange_rate, pay_cny, settle_rate, pay_attempts, refunded, pay_due_at`,
	[]string{"payer_id_number", "payer_phone", "init_request", "init_response", "paid_by_id"},
	"version = version + 1, updated_at = ? WHERE id = ? AND merchant_id = ? AND version = ?")

// Indexes in orderTable of the sealed columns, for remember.
const (
	oIDNumber     = 6
	oPhone        = 7
	oInitRequest  = 26
	oInitResponse = 27
	oPaidByID     = 31
)

// orderArgs returns the mutable column values of o, amount … pay_due_at, in
// the order of orderTable and of qInsertOrder (after merchant_id,
// merchant_order_no), the sealed ones in plain text. The values equal to
// the row's image at o's version are the image's own (see boxer).
func (t *Tx) orderArgs(o *baoguan.Order) ([]any, error) {
	prev := t.imageOrTemplate(orderTable, o.ID, o.Version)
	return orderValsLike(o, itemsJSON(o.Items), stringMapJSON(o.Extra), prev), nil
}

// orderVals is orderArgs with the JSON columns given.
func orderVals(o *baoguan.Order, items, extra string) []any {
	return orderValsLike(o, items, extra, nil)
}

// orderValsLike is orderVals taking the values equal to prev's from prev.
func orderValsLike(o *baoguan.Order, items, extra string, prev []any) []any {
	p := &o.Payment
	b := boxer{prev: prev, v: make([]any, 0, len(orderTable.cols))}
	b.i64(o.Amount)
	b.str(o.Currency)
	b.str(o.Subject)
	b.str(items)
	b.str(o.Payer.Name)
	b.str(o.Payer.IDType)
	b.str(o.Payer.IDNumber)
	b.str(o.Payer.Phone)
	b.i64(ms(o.OrderedAt))
	b.i64(o.BatchID)
	b.str(o.NotifyURL)
	b.bool(o.NeedDeclare)
	b.str(string(o.Channel))
	b.bool(o.Sandbox)
	b.str(o.Protocol)
	b.str(o.CapitalName)
	b.str(extra)
	b.str(string(o.PayStatus))
	b.str(string(o.DeclareStatus))
	b.str(p.No)
	b.str(p.PSP)
	b.str(p.PSPName)
	b.str(p.PSPCode)
	b.i64(ms(p.PaidAt))
	b.str(p.VerDept)
	b.str(p.PayType)
	b.str(p.InitRequest)
	b.str(p.InitResponse)
	b.str(p.FailReason)
	b.str(p.FailCode)
	b.str(p.PayerName)
	b.str(p.PayerID)
	b.str(p.ExchangeRate.String())
	b.i64(p.CNYAmount)
	b.str(p.SettleRate.String())
	b.int(o.PayAttempts)
	b.i64(o.Refunded)
	b.i64(ms(o.PayDueAt))
	return b.v
}

// CreateOrder inserts o at version 1. A number the merchant already used
// is ECONFLICT reason duplicate; a missing merchant is ENOTFOUND. The
// insert skips a taken number (ON CONFLICT DO NOTHING) rather than
// failing: on PostgreSQL it waits on the unique index for a transaction
// that inserted the number to end, so the first writer wins and the
// caller's transaction goes on to answer the repeat.
func (t *Tx) CreateOrder(o *baoguan.Order) error {
	buf := rowLists.Get().(*[]any)
	args, plain, err := t.orderRowInto(*buf, o, 3)
	defer func() { putRowList(buf, args) }()
	if err != nil {
		return err
	}
	args = append(args, ms(t.now), ms(t.now), o.Fingerprint)
	var id int64
	var inserted bool
	if t.d.CheckedRefs {
		id, inserted, err = t.insertOrderChecked(append(args, o.MerchantID))
	} else {
		id, inserted, err = t.insertID(qInsertOrder, args)
	}
	switch {
	case t.isForeignKey(err):
		return notFound("merchant %d not found", o.MerchantID)
	case err != nil:
		return err
	case !inserted: // the only unique key is (merchant, merchant_order_no)
		return duplicate("merchant_order_no", "order %s already exists", quote(o.MerchantOrderNo))
	}
	o.ID, o.Version, o.CreatedAt, o.UpdatedAt = id, 1, t.now, t.now
	t.remember(orderTable, o.ID, o.Version, plain, nil)
	orderTable.inserted(plain)
	if !o.PayDueAt.IsZero() && !o.PayDueAt.After(t.now) {
		t.enqueued++ // a payment due now, queued on the order: announced like a job
	}
	return nil
}

// orderRow returns what an insert of o writes up to its mutable columns
// (merchant_id, merchant_order_no, amount … refunded, the sealed ones
// sealed), with room for extra more, and those mutable values in plain
// text, the row's image once inserted.
func (t *Tx) orderRow(o *baoguan.Order, extra int) (row, plain []any, err error) {
	return t.orderRowInto(nil, o, extra)
}

// orderRowInto is orderRow writing the row into buf's array when it is
// large enough.
func (t *Tx) orderRowInto(buf []any, o *baoguan.Order, extra int) (row, plain []any, err error) {
	plain, err = t.orderArgs(o)
	if err != nil {
		return nil, nil, err
	}
	row = slices.Grow(buf[:0], 2+len(plain)+extra)
	row = append(row, o.MerchantID, o.MerchantOrderNo)
	row = append(row, plain...)
	return row, plain, t.sealAll(orderTable, row[2:])
}

// UpdateOrder writes o if its Version is current and bumps it: ECONFLICT
// reason stale otherwise, ENOTFOUND if there is no such row.
// Only the columns that differ from the row's image are written (see
// images.go).
func (t *Tx) UpdateOrder(o *baoguan.Order) error {
	vals, err := t.orderArgs(o)
	if err != nil {
		return err
	}
	mask := t.changed(orderTable, o.ID, o.Version, vals)
	args, err := t.updateArgs(orderTable, mask, vals, ms(t.now), o.ID, o.MerchantID, o.Version)
	if err != nil {
		return err
	}
	n, err := t.exec(orderTable.update(mask), args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return t.orderNotUpdated(o)
	}
	o.Version++
	o.UpdatedAt = t.now
	t.remember(orderTable, o.ID, o.Version, vals, nil)
	return nil
}

// orderNotUpdated tells why an order's UPDATE changed no row: ENOTFOUND,
// or ECONFLICT reason stale.
func (t *Tx) orderNotUpdated(o *baoguan.Order) error {
	ok, err := t.exists(qOrderExists, o.ID, o.MerchantID)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("order %d not found", o.ID)
	}
	return stale("order %s", quote(o.MerchantOrderNo))
}

// UpdateOrders writes orders as UpdateOrder does, each checked against its
// version, the statements sent together (one round trip on PostgreSQL).
// The first that fails is the error; the caller must then not commit.
func (t *Tx) UpdateOrders(os []baoguan.Order) error {
	rows := make([]rowWrite, len(os))
	now := any(ms(t.now)) // updated_at, boxed once for every row
	setTail := []any{now}
	tails := make([]any, 4*len(os)) // every row's tail in one array
	for i := range os {
		o := &os[i]
		v, err := t.orderArgs(o)
		if err != nil {
			return err
		}
		tail := tails[4*i : 4*i+4 : 4*i+4]
		tail[0], tail[1], tail[2], tail[3] = now, o.ID, o.MerchantID, o.Version
		rows[i] = rowWrite{id: o.ID, merchant: o.MerchantID, version: o.Version, vals: v, tail: tail, setTail: setTail}
	}
	written, err := t.writeRows(orderTable, rows)
	if err != nil {
		return err
	}
	for i := range os {
		if !written[i] {
			return t.orderNotUpdated(&os[i])
		}
	}
	for i := range os {
		o := &os[i]
		o.Version++
		o.UpdatedAt = t.now
		t.remember(orderTable, o.ID, o.Version, rows[i].vals, nil)
	}
	return nil
}

func (t *Tx) scanOrder(sc Scanner, o *baoguan.Order) error {
	// The columns scanned into locals are one struct: each local whose
	// address Scan takes would be an allocation of its own.
	var c struct {
		items, idNumber, phone, channel, extra, payStatus, declareStatus, paidByID, rate, settle string
		orderedAt, paidAt, payDue, created, updated                                              int64
	}
	p := &o.Payment
	if err := sc.Scan(&o.ID, &o.MerchantID, &o.MerchantOrderNo, &o.Amount, &o.Currency, &o.Subject, &c.items,
		&o.Payer.Name, &o.Payer.IDType, &c.idNumber, &c.phone, &c.orderedAt, &o.BatchID, &o.NotifyURL,
		&o.NeedDeclare, &c.channel, &o.Sandbox, &o.Protocol, &o.CapitalName, &c.extra, &c.payStatus, &c.declareStatus,
		&p.No, &p.PSP, &p.PSPName, &p.PSPCode, &c.paidAt, &p.VerDept, &p.PayType, &p.InitRequest, &p.InitResponse,
		&p.FailReason, &p.FailCode, &p.PayerName, &c.paidByID, &c.rate, &p.CNYAmount, &c.settle, &o.PayAttempts, &o.Refunded, &c.payDue, &o.Version, &c.created, &c.updated, &o.Fingerprint); err != nil {
		return err
	}
	o.Channel, o.PayStatus, o.DeclareStatus = baoguan.Channel(c.channel), baoguan.PayStatus(c.payStatus), baoguan.DeclareStatus(c.declareStatus)
	if err := p.ExchangeRate.UnmarshalText([]byte(c.rate)); err != nil {
		return err
	}
	if err := p.SettleRate.UnmarshalText([]byte(c.settle)); err != nil {
		return err
	}
	o.OrderedAt, p.PaidAt, o.CreatedAt, o.UpdatedAt = fromMS(c.orderedAt), fromMS(c.paidAt), fromMS(c.created), fromMS(c.updated)
	o.PayDueAt = fromMS(c.payDue)
	s := t.sealer()
	o.Payer.IDNumber, o.Payer.Phone, p.PayerID = s.open(c.idNumber), s.open(c.phone), s.open(c.paidByID)
	// The raw channel exchange (kept for customs' 179 data) may carry the
	// payer's data: sealed too, since the customs receipts release.
	rawRequest, rawResponse := p.InitRequest, p.InitResponse
	p.InitRequest, p.InitResponse = s.openOrPlain(p.InitRequest), s.openOrPlain(p.InitResponse)
	if s.err != nil {
		return s.err
	}
	if err := t.itemsFromJSON(c.items, &o.Items); err != nil {
		return err
	}
	if err := t.stringMapFromJSON(c.extra, &o.Extra); err != nil {
		return err
	}
	if t.write {
		t.remember(orderTable, o.ID, o.Version, orderVals(o, c.items, c.extra), map[int]string{oIDNumber: c.idNumber, oPhone: c.phone,
			oInitRequest: rawRequest, oInitResponse: rawResponse, oPaidByID: c.paidByID})
	}
	return nil
}

func (t *Tx) orderBy(q string, args []any, what string) (*baoguan.Order, error) {
	o := new(baoguan.Order)
	found, err := t.one(q, args, func(s Scanner) error { return t.scanOrder(s, o) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("order %s not found", what)
	}
	return o, nil
}

// Order reads one of the merchant's orders by id; ENOTFOUND.
func (t *Tx) Order(merchantID, id int64) (*baoguan.Order, error) {
	return t.orderBy(qOrder, []any{id, merchantID}, itoa(id))
}

// OrderByNo reads one of the merchant's orders by its number; ENOTFOUND.
func (t *Tx) OrderByNo(merchantID int64, no string) (*baoguan.Order, error) {
	return t.orderBy(qOrderByNo, []any{merchantID, no}, quote(no))
}

// OrderFingerprint reads the fingerprint an order number holds and
// whether its order's batch is still loading; ENOTFOUND.
func (t *Tx) OrderFingerprint(merchantID int64, no string) (string, bool, error) {
	var fp string
	var visible bool
	found, err := t.one(qOrderFingerprint, []any{merchantID, no}, func(s Scanner) error { return s.Scan(&fp, &visible) })
	if err != nil {
		return "", false, err
	}
	if !found {
		return "", false, notFound("order %s not found", quote(no))
	}
	return fp, !visible, nil
}

// OrderByPaymentNo reads the merchant's order with a payment number;
// ENOTFOUND, also for an empty number.
func (t *Tx) OrderByPaymentNo(merchantID int64, paymentNo string) (*baoguan.Order, error) {
	if paymentNo == "" {
		// Unpaid orders all have an empty payment number; none is "the" one
		// (and on PostgreSQL the payment number's index holds no empty one).
		return nil, notFound("order with an empty payment number not found")
	}
	return t.orderBy(qOrderByPaymentNo, []any{merchantID, paymentNo}, "with payment number "+quote(paymentNo))
}

// orderWhere builds the filter shared by ListOrders and CountOrders. A zero
// MerchantID lists every merchant's orders, for operators.
func orderWhere(f baoguan.OrderFilter) *where {
	w := new(where)
	w.add(notLoading)
	if f.MerchantID != 0 {
		w.add("merchant_id = ?", f.MerchantID)
	}
	if f.BatchID != 0 {
		// batch_id <> 0: the partial index orders_merchant_batch.
		w.add("batch_id = ? AND batch_id <> 0", f.BatchID)
	}
	if f.PayStatus != "" {
		w.add("pay_status = ?", string(f.PayStatus))
	}
	if f.DeclareStatus != "" {
		w.add("declare_status = ?", string(f.DeclareStatus))
	}
	if !f.From.IsZero() {
		w.add("created_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		w.add("created_at < ?", ms(f.To))
	}
	return w
}

// ListOrders pages through orders by id, oldest first or, with Newest,
// newest first.
func (t *Tx) ListOrders(f baoguan.OrderFilter) ([]baoguan.Order, error) {
	w := orderWhere(f)
	order := " ORDER BY id"
	switch {
	case f.Newest:
		if f.Cursor != 0 {
			w.add("id < ?", f.Cursor)
		}
		order = " ORDER BY id DESC"
	case f.Cursor != 0:
		w.add("id > ?", f.Cursor)
	}
	args := append(w.args, limit(f.Limit))
	out := []baoguan.Order{}
	err := t.each(qListOrders+w.String()+order+" LIMIT ?", args, func(s Scanner) error {
		out = append(out, baoguan.Order{})
		return t.scanOrder(s, &out[len(out)-1])
	})
	return out, err
}

// CountOrders counts the orders ListOrders would list, without paging.
func (t *Tx) CountOrders(f baoguan.OrderFilter) (int, error) {
	w := orderWhere(f)
	var n int
	_, err := t.one(qCountOrders+w.String(), w.args, func(s Scanner) error { return s.Scan(&n) })
	return n, err
}

// qInsertOrderChecked is qInsertOrder where orders name their merchant
// without a foreign key (Dialect.CheckedRefs), with the merchant's id as
// its last argument: besides the order's id, a row of id 0 when the
// merchant does not exist (read without a lock; merchants are never
// deleted).
const qInsertOrderChecked = `WITH o AS (` + qInsertOrder + `)
SELECT id FROM o UNION ALL SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM merchants WHERE id = ?)`

// insertOrderChecked runs qInsertOrderChecked: a missing merchant is
// ENOTFOUND (and the order, if inserted, is the failed call's, not to be
// committed).
func (t *Tx) insertOrderChecked(args []any) (id int64, inserted bool, err error) {
	missing := false
	err = t.each(qInsertOrderChecked, args, func(s Scanner) error {
		var v int64
		if err := s.Scan(&v); err != nil {
			return err
		}
		if v == 0 {
			missing = true
		} else {
			id, inserted = v, true
		}
		return nil
	})
	if err == nil && missing {
		err = notFound("merchant %d not found", args[0])
	}
	return id, inserted, err
}
