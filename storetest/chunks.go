package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// testChunkInserts: CreateOrders and CreateDeclarations store many rows
// with one statement per table (a batch upload's chunk): every column
// round-trips as CreateOrder and CreateDeclaration write it (an order's
// fingerprint included), ids follow the rows' order, and a row that meets
// an existing number or target is ECONFLICT. 300
// rows make SQLite split the statement (128 + 128 + 32 + 8 + 4), binding
// the values the rows agree on once in all but one statement.
func testChunkInserts(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	const n = 300
	os := make([]baoguan.Order, n)
	for i := range os {
		os[i] = *sampleOrder(m, fmt.Sprintf("CH-%03d", i))
		os[i].Amount = int64(1000 + i)
		os[i].Payer.Phone = Phone(i)
		os[i].Payment = baoguan.Payment{} // as a new order has it
	}
	os[7].Extra, os[7].Items = nil, nil
	// Rows 256-287 go in one statement on SQLite, whose orders then do not
	// agree on every usually shared column: every value is bound there.
	os[260].Payment.No, os[260].PayAttempts = "P-260", 3
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateOrders(os) })
	for i := range os {
		if os[i].ID == 0 || os[i].Version != 1 || os[i].CreatedAt.IsZero() {
			t.Fatalf("order %d: id %d, version %d, created %v", i, os[i].ID, os[i].Version, os[i].CreatedAt)
		}
		if i > 0 && os[i].ID <= os[i-1].ID {
			t.Fatalf("order %d has id %d after %d: ids do not follow the rows", i, os[i].ID, os[i-1].ID)
		}
	}
	ds := make([]baoguan.Declaration, 0, 2*n)
	for i := range os {
		ds = append(ds, *sampleDeclaration(&os[i], "HG016", ""), *sampleDeclaration(&os[i], "HG014", fmt.Sprintf("S%d", i)))
		ds[len(ds)-1].Payer.IDNumber = IDNumber(i)
	}
	update(t, s, func(tx baoguan.Tx) error { return tx.CreateDeclarations(ds) })
	view(t, s, func(tx baoguan.Tx) error {
		for _, i := range []int{0, 7, 127, 128, 255, 256, 260, 287, 299} {
			got, err := tx.OrderByNo(m.ID, os[i].MerchantOrderNo)
			if err != nil {
				return err
			}
			same(t, "chunk order "+os[i].MerchantOrderNo, got, &os[i])
			gds, err := tx.Declarations(m.ID, os[i].ID)
			if err != nil {
				return err
			}
			same(t, "declarations of "+os[i].MerchantOrderNo, gds, ds[2*i:2*i+2])
		}
		k, err := tx.CountOrders(baoguan.OrderFilter{MerchantID: m.ID})
		if k != n {
			t.Errorf("%d orders stored, want %d", k, n)
		}
		return err
	})

	// One number taken among new ones: ECONFLICT naming it, and the
	// transaction rolled back keeps none of the others. Forty rows, so
	// that PostgreSQL tries COPY first, which fails on the taken number
	// and must leave the transaction as it was for the INSERT that tells
	// which number it is.
	var dup []baoguan.Order
	for i := range 40 {
		no := fmt.Sprintf("CH-NEW-%d", i)
		if i == 20 {
			no = "CH-150"
		}
		dup = append(dup, *sampleOrder(m, no))
	}
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateOrders(dup) })
	wantErr(t, "CreateOrders with a taken number", err, baoguan.ECONFLICT, "duplicate")
	if baoguan.ErrorField(err) != "merchant_order_no" {
		t.Errorf("CreateOrders with a taken number: field %q", baoguan.ErrorField(err))
	}
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.OrderByNo(m.ID, "CH-NEW-1")
		notFound(t, "an order of the refused chunk", err)
		return nil
	})
	err = s.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.CreateDeclarations([]baoguan.Declaration{*sampleDeclaration(&os[3], "HG016", "")})
	})
	wantErr(t, "CreateDeclarations of a declared target", err, baoguan.ECONFLICT, "duplicate")
	err = s.Update(context.Background(), func(tx baoguan.Tx) error {
		var ds []baoguan.Declaration
		for i := 100; i < 140; i++ {
			ds = append(ds, *sampleDeclaration(&os[i], "HG018", ""))
		}
		ds[30] = *sampleDeclaration(&os[130], "HG016", "")
		return tx.CreateDeclarations(ds)
	})
	wantErr(t, "CreateDeclarations of forty targets, one declared", err, baoguan.ECONFLICT, "duplicate")

	// Pushes stored together (core's combined writes): a few orders of two
	// merchants, one number used by both, their payments queued on them.
	m2 := newMerchant(t, s, "globex")
	both := []baoguan.Order{*sampleOrder(m, "CH-BOTH"), *sampleOrder(m2, "CH-BOTH"), *sampleOrder(m2, "CH-TWO")}
	update(t, s, func(tx baoguan.Tx) error {
		for i := range both {
			both[i].Payment, both[i].PayDueAt = baoguan.Payment{}, tx.Now()
		}
		return tx.CreateOrders(both)
	})
	view(t, s, func(tx baoguan.Tx) error {
		for i := range both {
			got, err := tx.OrderByNo(both[i].MerchantID, both[i].MerchantOrderNo)
			if err != nil {
				return err
			}
			same(t, "order of two merchants' "+both[i].MerchantOrderNo, got, &both[i])
		}
		return nil
	})
}

// ordersWith is a Tx that inserts new orders with their declarations
// (sqlstore.Tx.CreateOrdersWith: pushes stored together).
type ordersWith interface {
	CreateOrdersWith(os []baoguan.Order, ds [][]baoguan.Declaration) error
}

// testOrdersWith: CreateOrdersWith stores orders of two merchants (one
// number used by both) with none, one and two declarations each, every
// column as CreateOrder and CreateDeclaration write it, ids in the rows'
// order; a number taken is ECONFLICT on merchant_order_no, a target twice
// ECONFLICT on customs, a merchant missing ENOTFOUND, each with nothing
// kept once rolled back.
func testOrdersWith(t *testing.T, s baoguan.Store) {
	ctx := context.Background()
	var w bool
	_ = s.Update(ctx, func(tx baoguan.Tx) error { _, w = tx.(ordersWith); return nil })
	if !w {
		t.Skip("the store's Tx has no CreateOrdersWith")
	}
	m, m2 := newMerchant(t, s, "acme"), newMerchant(t, s, "globex")
	orders := func(no string, ms ...*baoguan.Merchant) ([]baoguan.Order, [][]baoguan.Declaration) {
		var os []baoguan.Order
		var ds [][]baoguan.Declaration
		for i, mm := range ms {
			o := *sampleOrder(mm, fmt.Sprintf("%s-%d", no, i))
			if i == 1 && mm != ms[0] {
				o.MerchantOrderNo = no + "-0" // merchant 2's number is merchant 1's
			}
			o.Payment, o.Amount = baoguan.Payment{}, int64(1000+i)
			os = append(os, o)
			var od []baoguan.Declaration
			for k := range i % 3 {
				od = append(od, *sampleDeclaration(&o, []string{"HG014", "HG016"}[k], fmt.Sprintf("S%d", k)))
			}
			ds = append(ds, od)
		}
		return os, ds
	}
	os, ds := orders("OW", m, m2, m, m2, m)
	update(t, s, func(tx baoguan.Tx) error {
		for i := range os {
			os[i].PayDueAt = tx.Now()
		}
		return tx.(ordersWith).CreateOrdersWith(os, ds)
	})
	var prev int64
	for i := range os {
		if os[i].ID <= prev || os[i].Version != 1 || os[i].CreatedAt.IsZero() {
			t.Fatalf("order %d: id %d (after %d), version %d", i, os[i].ID, prev, os[i].Version)
		}
		prev = os[i].ID
	}
	view(t, s, func(tx baoguan.Tx) error {
		for i := range os {
			got, err := tx.OrderByNo(os[i].MerchantID, os[i].MerchantOrderNo)
			if err != nil {
				return err
			}
			same(t, "order "+os[i].MerchantOrderNo, got, &os[i])
			gds, err := tx.Declarations(os[i].MerchantID, os[i].ID)
			if err != nil {
				return err
			}
			if len(ds[i]) == 0 {
				ds[i] = []baoguan.Declaration{}
			}
			for k := range ds[i] {
				if ds[i][k].OrderID != os[i].ID || ds[i][k].ID == 0 {
					t.Errorf("order %d's declaration %d: order %d, id %d", i, k, ds[i][k].OrderID, ds[i][k].ID)
				}
			}
			same(t, "declarations of order "+fmt.Sprint(i), gds, ds[i])
		}
		return nil
	})

	// A number taken, a target twice, a merchant missing: refused, and
	// nothing of the call kept.
	taken, tds := orders("OW2", m, m)
	taken[1].MerchantOrderNo = "OW-0"
	twice, wds := orders("OW3", m, m, m)
	wds[2][1].Customs = wds[2][0].Customs
	wds[2][1].SubOrderNo = wds[2][0].SubOrderNo
	ghost, gds := orders("OW4", m, &baoguan.Merchant{ID: m.ID + m2.ID + 100})
	for _, c := range []struct {
		what  string
		os    []baoguan.Order
		ds    [][]baoguan.Declaration
		code  string
		field string
	}{
		{"a number taken", taken, tds, baoguan.ECONFLICT, "merchant_order_no"},
		{"a target twice", twice, wds, baoguan.ECONFLICT, "customs"},
		{"a merchant missing", ghost, gds, baoguan.ENOTFOUND, ""},
	} {
		err := s.Update(ctx, func(tx baoguan.Tx) error { return tx.(ordersWith).CreateOrdersWith(c.os, c.ds) })
		if baoguan.ErrorCode(err) != c.code || baoguan.ErrorField(err) != c.field {
			t.Errorf("%s: %v; want %s on %q", c.what, err, c.code, c.field)
		}
		view(t, s, func(tx baoguan.Tx) error {
			_, err := tx.OrderByNo(m.ID, c.os[0].MerchantOrderNo)
			notFound(t, c.what+": the first order", err)
			return nil
		})
	}
}

// testEnqueuePayJobs: one statement queues the pay job of every NOT_PAYED
// order of a batch, keyed by its payment round, due now; orders paid or
// failed, other batches' orders and a round already queued are left
// alone. UnpaidBatchOrders lists the unpaid and the failed.
func testEnqueuePayJobs(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	b := &baoguan.Batch{MerchantID: m.ID, No: "B-PAY", Total: 4, Amount: 400}
	other := &baoguan.Batch{MerchantID: m.ID, No: "B-OTHER", Total: 1, Amount: 100}
	var os []*baoguan.Order
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateBatch(b); err != nil {
			return err
		}
		if err := tx.CreateBatch(other); err != nil {
			return err
		}
		for i, st := range []baoguan.PayStatus{baoguan.PayNotPayed, baoguan.PayNotPayed, baoguan.PaySucceed, baoguan.PayNotPayed, baoguan.PayFailed} {
			o := sampleOrder(m, fmt.Sprintf("EP-%d", i))
			o.BatchID, o.PayStatus, o.PayAttempts = b.ID, st, 1
			if i == 1 {
				o.PayAttempts = 2
			}
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
			os = append(os, o)
		}
		o := sampleOrder(m, "EP-other")
		o.BatchID = other.ID
		if err := tx.CreateOrder(o); err != nil {
			return err
		}
		// Order 3's round is queued already.
		_, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: fmt.Sprintf("pay:%d:1", os[3].ID), MerchantID: m.ID, RefID: os[3].ID, MaxAttempts: 9})
		return err
	})
	// What paying the batch reads of it: the unpaid and the failed.
	view(t, s, func(tx baoguan.Tx) error {
		us, err := tx.UnpaidBatchOrders(m.ID, b.ID)
		if err != nil {
			return err
		}
		var want []baoguan.UnpaidOrder
		for _, i := range []int{0, 1, 3, 4} {
			want = append(want, baoguan.UnpaidOrder{ID: os[i].ID, Amount: os[i].Amount, Channel: os[i].Channel, PayStatus: os[i].PayStatus})
		}
		same(t, "UnpaidBatchOrders", us, want)
		return nil
	})
	advance(t, s, time.Second)
	var n int
	var now time.Time
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		now = tx.Now()
		n, err = tx.EnqueuePayJobs(m.ID, b.ID, 5)
		return err
	})
	if n != 2 {
		t.Errorf("EnqueuePayJobs queued %d, want 2 (EP-0, EP-1)", n)
	}
	view(t, s, func(tx baoguan.Tx) error {
		js, err := tx.ListJobs(baoguan.JobFilter{Kind: baoguan.JobPay, Page: baoguan.Page{Limit: 10}})
		if err != nil {
			return err
		}
		got := map[string]baoguan.Job{}
		for _, j := range js {
			got[j.DedupeKey] = j
		}
		if len(js) != 3 {
			t.Errorf("%d pay jobs, want 3: %+v", len(js), js)
		}
		for i, key := range map[int]string{0: fmt.Sprintf("pay:%d:1", os[0].ID), 1: fmt.Sprintf("pay:%d:2", os[1].ID)} {
			j, ok := got[key]
			if !ok || j.RefID != os[i].ID || j.MerchantID != m.ID || j.State != baoguan.JobQueued || j.Attempts != 0 ||
				j.MaxAttempts != 5 || !j.RunAt.Equal(now) || !j.CreatedAt.Equal(now) {
				t.Errorf("job %s: %+v (found %v)", key, j, ok)
			}
		}
		if j := got[fmt.Sprintf("pay:%d:1", os[3].ID)]; j.MaxAttempts != 9 {
			t.Errorf("the round already queued was replaced: %+v", j)
		}
		return nil
	})
}

// testEnqueueLater: a job enqueued without asking whether it was inserted
// (on PostgreSQL sent with the function's next statement, or at its end)
// is inserted as Enqueue inserts it, whether a statement follows or not;
// an existing key is left alone; a function that fails keeps none of its
// jobs. Pushed at once (grouped on both stores), each call's jobs commit
// or go with that call alone.
func testEnqueueLater(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	job := func(key string) *baoguan.Job {
		return &baoguan.Job{Kind: baoguan.JobPay, DedupeKey: key, MerchantID: m.ID, RefID: 1, MaxAttempts: 5}
	}
	update(t, s, func(tx baoguan.Tx) error { return tx.EnqueueLater(job("last")) })
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.EnqueueLater(job("before-an-insert")); err != nil {
			return err
		}
		return tx.CreateOrder(sampleOrder(m, "EL-1"))
	})
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.EnqueueLater(job("before-a-read")); err != nil {
			return err
		}
		_, err := tx.OrderByNo(m.ID, "EL-1")
		return err
	})
	// A key that exists: nothing happens, no error.
	update(t, s, func(tx baoguan.Tx) error {
		j := job("last")
		j.MaxAttempts = 99
		return tx.EnqueueLater(j)
	})
	errFail := errors.New("fails")
	if err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		if err := tx.EnqueueLater(job("failed")); err != nil {
			return err
		}
		return errFail
	}); err != errFail {
		t.Fatalf("a failing function's Update = %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Update(context.Background(), func(tx baoguan.Tx) error {
				if err := tx.EnqueueLater(job(fmt.Sprintf("at-once-%02d", i))); err != nil {
					return err
				}
				if i%2 == 1 {
					return errFail
				}
				return nil
			})
		})
	}
	wg.Wait()
	want := []string{"before-a-read", "before-an-insert", "last"}
	for i, err := range errs {
		if i%2 == 1 {
			if err != errFail {
				t.Errorf("call %d at once: %v, want its own error", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("call %d at once: %v", i, err)
		}
		want = append(want, fmt.Sprintf("at-once-%02d", i))
	}
	slices.Sort(want)
	view(t, s, func(tx baoguan.Tx) error {
		js, err := tx.ListJobs(baoguan.JobFilter{Kind: baoguan.JobPay, Page: baoguan.Page{Limit: 100}})
		if err != nil {
			return err
		}
		var got []string
		for _, j := range js {
			got = append(got, j.DedupeKey)
			if j.DedupeKey == "last" && j.MaxAttempts != 5 {
				t.Errorf("the existing job was changed: %+v", j)
			}
			if j.State != baoguan.JobQueued || j.RunAt.IsZero() || j.CreatedAt.IsZero() {
				t.Errorf("job %s: %+v", j.DedupeKey, j)
			}
		}
		slices.Sort(got)
		same(t, "jobs enqueued later", got, want)
		return nil
	})
}
