package core

import (
	"github.com/baoguan/baoguan"
)

// batchTx is a batch's transaction as its handlers see it: the store's Tx,
// with the rows the batch's jobs concern read once (preload, then on first
// use) and kept as they are written, so that a payment and the declaration
// it causes, run one after the other in the batch, read the order once.
// Jobs of an inline kind enqueued due now are kept in chain for the batch
// to run rather than written.
//
// The cache follows the transaction: a savepoint rolled back forgets
// every row written under it, and the jobs it chained. Rows are handed out
// as copies; the maps and slices inside them (an order's items and extras)
// are shared, and handlers replace rather than modify them.
type batchTx struct {
	baoguan.Tx
	orders    map[int64]*baoguan.Order
	decls     map[int64][]baoguan.Declaration // by order id: all of the order's declarations
	declOrder map[int64]int64                 // declaration id → order id, for cached orders
	merchants map[int64]*baoguan.Merchant
	chain     []baoguan.Job
	woke      bool // a job due now was written

	touched []touch // rows written since the outermost savepoint began
}

// touch is a cached row written in the current savepoint.
type touch struct {
	table byte // 'o' order (and its declarations), 'm' merchant
	id    int64
}

func newBatchTx(tx baoguan.Tx) *batchTx {
	return &batchTx{Tx: tx, orders: map[int64]*baoguan.Order{}, decls: map[int64][]baoguan.Declaration{},
		declOrder: map[int64]int64{}, merchants: map[int64]*baoguan.Merchant{}}
}

// preload reads the rows of a batch's jobs with one query per table: the
// orders of pay jobs, the declarations of declare and poll jobs, and for
// both the orders with all their declarations.
func (t *batchTx) preload(jobs []baoguan.Job) error {
	var orderIDs, declIDs []int64
	for _, j := range jobs {
		switch j.Kind {
		case baoguan.JobPay:
			orderIDs = append(orderIDs, j.RefID)
		case baoguan.JobDeclare, baoguan.JobPoll:
			declIDs = append(declIDs, j.RefID)
		}
	}
	if len(declIDs) > 0 {
		ds, err := t.Tx.DeclarationsByID(declIDs)
		if err != nil {
			return err
		}
		for _, d := range ds {
			orderIDs = append(orderIDs, d.OrderID)
		}
	}
	if len(orderIDs) == 0 {
		return nil
	}
	os, err := t.Tx.OrdersByID(orderIDs)
	if err != nil {
		return err
	}
	ds, err := t.Tx.DeclarationsOfOrders(orderIDs)
	if err != nil {
		return err
	}
	for i := range os {
		o := os[i]
		t.orders[o.ID] = &o
		t.decls[o.ID] = []baoguan.Declaration{}
	}
	for _, d := range ds {
		if _, ok := t.decls[d.OrderID]; ok {
			t.decls[d.OrderID] = append(t.decls[d.OrderID], d)
			t.declOrder[d.ID] = d.OrderID
		}
	}
	return nil
}

// savepoint runs fn in a savepoint of the store's transaction; when fn
// fails, the rows it wrote are forgotten and the jobs it chained dropped.
func (t *batchTx) savepoint(fn func() error) error {
	chained := len(t.chain)
	t.touched = t.touched[:0]
	err := t.Tx.Savepoint(fn)
	if err != nil {
		for _, k := range t.touched {
			t.forget(k)
		}
		t.chain = t.chain[:chained]
	}
	t.touched = t.touched[:0]
	return err
}

func (t *batchTx) forget(k touch) {
	switch k.table {
	case 'o':
		delete(t.orders, k.id)
		for _, d := range t.decls[k.id] {
			delete(t.declOrder, d.ID)
		}
		delete(t.decls, k.id)
	case 'm':
		delete(t.merchants, k.id)
	}
}

func notFound(what string) error {
	return &baoguan.Error{Code: baoguan.ENOTFOUND, Message: what + " not found"}
}

// Order returns a copy of the cached order, checking its merchant.
func (t *batchTx) Order(merchantID, id int64) (*baoguan.Order, error) {
	if o, ok := t.orders[id]; ok {
		if o.MerchantID != merchantID {
			return nil, notFound("order")
		}
		c := *o
		return &c, nil
	}
	o, err := t.Tx.Order(merchantID, id)
	if err != nil {
		return nil, err
	}
	c := *o
	t.orders[id] = &c
	return o, nil
}

// UpdateOrder writes o and keeps what was written.
func (t *batchTx) UpdateOrder(o *baoguan.Order) error {
	t.touched = append(t.touched, touch{'o', o.ID})
	if err := t.Tx.UpdateOrder(o); err != nil {
		t.forget(touch{'o', o.ID})
		return err
	}
	if _, ok := t.orders[o.ID]; ok {
		c := *o
		t.orders[o.ID] = &c
	}
	return nil
}

// Declarations returns a copy of the order's cached declarations.
func (t *batchTx) Declarations(merchantID, orderID int64) ([]baoguan.Declaration, error) {
	if ds, ok := t.decls[orderID]; ok {
		if o := t.orders[orderID]; o == nil || o.MerchantID != merchantID {
			return t.Tx.Declarations(merchantID, orderID)
		}
		return append([]baoguan.Declaration{}, ds...), nil
	}
	ds, err := t.Tx.Declarations(merchantID, orderID)
	if err != nil {
		return nil, err
	}
	if o := t.orders[orderID]; o != nil && o.MerchantID == merchantID {
		t.decls[orderID] = append([]baoguan.Declaration{}, ds...)
		for _, d := range ds {
			t.declOrder[d.ID] = orderID
		}
	}
	return ds, nil
}

// Declaration returns a copy of a cached declaration, checking its
// merchant.
func (t *batchTx) Declaration(merchantID, id int64) (*baoguan.Declaration, error) {
	if oid, ok := t.declOrder[id]; ok {
		for _, d := range t.decls[oid] {
			if d.ID == id {
				if d.MerchantID != merchantID {
					return nil, notFound("declaration")
				}
				return &d, nil
			}
		}
	}
	return t.Tx.Declaration(merchantID, id)
}

// UpdateDeclaration writes d and keeps what was written.
func (t *batchTx) UpdateDeclaration(d *baoguan.Declaration) error {
	t.touched = append(t.touched, touch{'o', d.OrderID})
	if err := t.Tx.UpdateDeclaration(d); err != nil {
		t.forget(touch{'o', d.OrderID})
		return err
	}
	for i, c := range t.decls[d.OrderID] {
		if c.ID == d.ID {
			t.decls[d.OrderID][i] = *d
		}
	}
	return nil
}

// CreateDeclaration writes d; the order's cached list is read again when
// next asked for.
func (t *batchTx) CreateDeclaration(d *baoguan.Declaration) error {
	t.forget(touch{'o', d.OrderID})
	return t.Tx.CreateDeclaration(d)
}

// Merchant returns a copy of the merchant, read once per batch.
func (t *batchTx) Merchant(id int64) (*baoguan.Merchant, error) {
	if m, ok := t.merchants[id]; ok {
		c := *m
		return &c, nil
	}
	m, err := t.Tx.Merchant(id)
	if err != nil {
		return nil, err
	}
	c := *m
	t.merchants[id] = &c
	return m, nil
}

// UpdateMerchant and DebitFunding change the merchant: it is read again
// when next asked for.
func (t *batchTx) UpdateMerchant(m *baoguan.Merchant) error {
	t.forget(touch{'m', m.ID})
	return t.Tx.UpdateMerchant(m)
}

func (t *batchTx) DebitFunding(merchantID, amount int64) (bool, error) {
	t.forget(touch{'m', merchantID})
	return t.Tx.DebitFunding(merchantID, amount)
}

// Enqueue keeps a job of an inline kind due now for the batch to run;
// other jobs are written.
func (t *batchTx) Enqueue(j *baoguan.Job) (bool, error) {
	now := t.Now()
	if j.RunAt.IsZero() {
		j.RunAt = now
	}
	if j.State == "" {
		j.State = baoguan.JobQueued
	}
	if inlineKinds[j.Kind] && j.State == baoguan.JobQueued && !j.RunAt.After(now) {
		t.chain = append(t.chain, *j)
		return true, nil
	}
	ok, err := t.Tx.Enqueue(j)
	if ok && !j.RunAt.After(now) {
		t.woke = true
	}
	return ok, err
}
