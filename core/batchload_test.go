package core_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// batchIn is a batch of n orders numbered prefix-000 …, of amount fen each.
func batchIn(no, prefix string, n int, amount int64) core.BatchInput {
	in := core.BatchInput{No: no}
	for i := 0; i < n; i++ {
		in.Orders = append(in.Orders, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: fmt.Sprintf("%s-%03d", prefix, i),
			Amount: amount, Subject: "s", Channel: baoguan.ChannelAuto,
			Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG016"}}})
	}
	return in
}

// crashAfter runs CreateBatch and stops its goroutine dead (as a crash
// would: no deferred clean-up of CreateBatch's runs) once `chunks` chunks
// have committed. It returns the batch as the last chunk left it.
func crashAfter(t *testing.T, e *env, in core.BatchInput, chunks int) *baoguan.Batch {
	t.Helper()
	var last baoguan.Batch
	n := 0
	core.SetAfterBatchChunk(e.svc, func(b *baoguan.Batch) {
		last = *b
		if n++; n == chunks {
			runtime.Goexit()
		}
	})
	defer core.SetAfterBatchChunk(e.svc, nil)
	done := make(chan error, 1)
	go func() {
		defer close(done)
		_, _, err := e.svc.CreateBatch(e.ctx, e.m, in)
		done <- err
	}()
	if err, returned := <-done; returned {
		t.Fatalf("CreateBatch returned (%v) instead of stopping after %d chunks", err, chunks)
	}
	if last.ID == 0 || !last.Loading() {
		t.Fatalf("after %d chunks the batch is %+v", chunks, last)
	}
	return &last
}

// visible counts the orders of the batch and of the whole merchant that
// reads and lists show.
func visible(t *testing.T, e *env, batchID int64) (inBatch, all int) {
	t.Helper()
	os, err := e.svc.Orders(e.ctx, e.m, baoguan.OrderFilter{BatchID: batchID, Page: baoguan.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	as, err := e.svc.Orders(e.ctx, e.m, baoguan.OrderFilter{Page: baoguan.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	return len(os), len(as)
}

// A batch upload whose server dies half way leaves a batch that nobody can
// see, pay or mistake for complete; the same upload sent again (with its
// batch number, or without one, the same orders) finishes it, once.
func TestBatchUploadCrashThenRetryFinishes(t *testing.T) {
	t.Parallel()
	for _, no := range []string{"BATCH-CRASH", ""} {
		t.Run("batch_no="+no, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 0)
			e.svc.BatchChunk = 3
			in := batchIn(no, "C", 10, 100)
			half := crashAfter(t, e, in, 2)
			if half.Loaded != 6 {
				t.Fatalf("after two chunks of 3, Loaded = %d", half.Loaded)
			}
			if n, all := visible(t, e, half.ID); n != 0 || all != 0 {
				t.Errorf("a half-loaded batch shows %d orders (%d in all)", n, all)
			}
			if _, err := e.svc.Order(e.ctx, e.m, "C-000"); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
				t.Errorf("an order of a half-loaded batch can be read: %v", err)
			}
			if _, _, err := e.svc.Batch(e.ctx, e.m, half.ID); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
				t.Errorf("a half-loaded batch can be read: %v", err)
			}
			if _, err := e.svc.PayBatch(e.ctx, e.m, half.ID); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
				t.Errorf("a half-loaded batch can be paid: %v", err)
			}
			// Pushing one of its orders alone, with the same content, is
			// refused rather than answered with an order that may vanish.
			if _, _, err := e.svc.CreateOrder(e.ctx, e.m, in.Orders[1]); baoguan.ErrorReason(err) != core.ReasonBatchLoading {
				t.Errorf("push of a loading batch's order: %v, want reason %s", err, core.ReasonBatchLoading)
			}

			// The loader's lease runs out; the upload comes again.
			e.clock.Add(time.Minute)
			chunks := 0
			core.SetAfterBatchChunk(e.svc, func(*baoguan.Batch) { chunks++ })
			b, created, err := e.svc.CreateBatch(e.ctx, e.m, in)
			if err != nil || !created || b.ID != half.ID {
				t.Fatalf("retry: %+v created=%v %v; want batch %d finished", b, created, err, half.ID)
			}
			if chunks != 2 {
				t.Errorf("the retry stored %d chunks, want the 2 left (orders 6-9)", chunks)
			}
			if n, all := visible(t, e, b.ID); n != 10 || all != 10 {
				t.Errorf("after the retry the batch has %d orders (%d in all), want 10", n, all)
			}
			_, sum, err := e.svc.Batch(e.ctx, e.m, b.ID)
			if err != nil || sum.Total != 10 || b.Total != 10 || b.Loading() {
				t.Errorf("batch after the retry: %+v %+v %v", b, sum, err)
			}
			if n, err := e.svc.PayBatch(e.ctx, e.m, b.ID); err != nil || n != 10 {
				t.Errorf("PayBatch: %d %v", n, err)
			}
			// And once more: answered as a repeat when it has a number;
			// without one it is a new batch, whose orders exist already.
			b2, created, err := e.svc.CreateBatch(e.ctx, e.m, in)
			if no != "" && (err != nil || created || b2.ID != b.ID) {
				t.Errorf("second retry: %+v created=%v %v; want batch %d as it is", b2, created, err, b.ID)
			}
			if n, all := visible(t, e, b.ID); n != 10 || all != 10 {
				t.Errorf("after the second retry the batch has %d orders (%d in all), want 10", n, all)
			}
		})
	}
}

// A half-loaded batch that is never sent again is discarded by the
// retention pass once its lease has run out: orders, their numbers and
// the batch number are free again.
func TestBatchUploadCrashDiscardedByPurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.BatchChunk = 4
	in := batchIn("BATCH-GONE", "G", 10, 100)
	half := crashAfter(t, e, in, 1)
	if p, err := e.svc.Purge(e.ctx); err != nil || p.Batches != 0 {
		t.Fatalf("purge while the lease runs: %+v %v", p, err)
	}
	e.clock.Add(time.Minute) // the lease (30 s) has run out, a repeat could take it over
	if p, err := e.svc.Purge(e.ctx); err != nil || p.Batches != 0 {
		t.Fatalf("purge right after the lease: %+v %v", p, err)
	}
	e.clock.Add(time.Minute) // and nobody came for as long again
	if p, err := e.svc.Purge(e.ctx); err != nil || p.Batches != 1 {
		t.Fatalf("purge after the lease: %+v %v", p, err)
	}
	if _, _, err := e.svc.Batch(e.ctx, e.m, half.ID); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Errorf("the discarded batch: %v", err)
	}
	// Other content under the same numbers is a new upload now.
	in2 := batchIn("BATCH-GONE", "G", 5, 200)
	b, created, err := e.svc.CreateBatch(e.ctx, e.m, in2)
	if err != nil || !created || b.Total != 5 || b.Amount != 1000 {
		t.Fatalf("new upload over the discarded one: %+v created=%v %v", b, created, err)
	}
	if n, all := visible(t, e, b.ID); n != 5 || all != 5 {
		t.Errorf("%d orders in the batch, %d in all; want 5", n, all)
	}
	o, err := e.svc.Order(e.ctx, e.m, "G-000")
	if err != nil || o.Amount != 200 || o.BatchID != b.ID {
		t.Errorf("G-000: %+v %v", o, err)
	}
}

// A batch refused in a later chunk (an order number taken with other
// content) keeps nothing of its earlier chunks.
func TestBatchUploadRefusedLate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.BatchChunk = 3
	taken := e.order(t, "R-007", "110105199001011232", baoguan.ChannelMock, 999)
	in := batchIn("BATCH-R", "R", 10, 100)
	_, _, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if baoguan.ErrorCode(err) != baoguan.ECONFLICT || baoguan.ErrorField(err) != "orders[7].merchant_order_no" ||
		baoguan.ErrorReason(err) != "duplicate_order_no" {
		t.Fatalf("batch with a taken number: %v (field %q)", err, baoguan.ErrorField(err))
	}
	// The chunks before it went in one statement per table; the chunk
	// holding the taken number was tried so, then again order by order,
	// which named the order.
	if n := core.SlowChunks(e.svc); n != 1 {
		t.Errorf("%d chunks stored one order at a time, want 1", n)
	}
	if _, all := visible(t, e, 0); all != 1 {
		t.Errorf("%d orders after the refusal, want only the one pushed before", all)
	}
	// The numbers of the discarded chunks are free for other content.
	other := batchIn("", "R", 1, 555).Orders[0]
	if o, created, err := e.svc.CreateOrder(e.ctx, e.m, other); err != nil || !created || o.Amount != 555 {
		t.Errorf("R-000 after the refusal: %+v created=%v %v", o, created, err)
	}
	// So is the batch number.
	in = batchIn("BATCH-R", "S", 4, 100)
	if b, created, err := e.svc.CreateBatch(e.ctx, e.m, in); err != nil || !created || b.Total != 4 {
		t.Errorf("BATCH-R again: %+v %v %v", b, created, err)
	}
	if o, _ := e.svc.Order(e.ctx, e.m, "R-007"); o == nil || o.ID != taken.ID {
		t.Errorf("the order pushed before changed: %+v", o)
	}
}

// Pushes are written between a batch's chunks: a push made while the batch
// loads commits before the batch's later orders, and is readable while the
// batch is not yet.
func TestBatchUploadInterleavesWithPushes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.BatchChunk = 5
	in := batchIn("BATCH-I", "I", 20, 100)
	var pushed []*baoguan.Order
	core.SetAfterBatchChunk(e.svc, func(b *baoguan.Batch) {
		if !b.Loading() {
			return
		}
		// The loader is between chunks: a push goes through now.
		o := e.order(t, fmt.Sprintf("P-%d", b.Loaded), "110105199001011232", baoguan.ChannelMock, 100)
		if _, err := e.svc.Order(e.ctx, e.m, o.MerchantOrderNo); err != nil {
			t.Errorf("push %s not readable while the batch loads: %v", o.MerchantOrderNo, err)
		}
		if _, _, err := e.svc.Batch(e.ctx, e.m, b.ID); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
			t.Errorf("the batch is readable before its last chunk: %v", err)
		}
		pushed = append(pushed, o)
	})
	b, created, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if err != nil || !created {
		t.Fatal(err)
	}
	if len(pushed) != 3 {
		t.Fatalf("%d pushes between chunks, want 3 (after orders 5, 10, 15)", len(pushed))
	}
	os, err := e.svc.Orders(e.ctx, e.m, baoguan.OrderFilter{BatchID: b.ID, Page: baoguan.Page{Limit: 100}})
	if err != nil || len(os) != 20 {
		t.Fatalf("batch orders: %d %v", len(os), err)
	}
	for k, p := range pushed {
		before, after := os[5*(k+1)-1], os[5*(k+1)]
		if !(before.ID < p.ID && p.ID < after.ID) {
			t.Errorf("push %s (id %d) not written between %s (%d) and %s (%d)", p.MerchantOrderNo, p.ID,
				before.MerchantOrderNo, before.ID, after.MerchantOrderNo, after.ID)
		}
	}
}

// TestBatchProgress: CreateBatch tells BatchInput.Progress how many orders
// are stored after each chunk, up to all of them.
func TestBatchProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.BatchChunk = 3
	in := batchIn("", "PG", 10, 100)
	var got []string
	in.Progress = func(n, total int) { got = append(got, fmt.Sprintf("%d/%d", n, total)) }
	if _, _, err := e.svc.CreateBatch(e.ctx, e.m, in); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[3/10 6/10 9/10 10/10]" {
		t.Errorf("progress %v", got)
	}
}

// With pay, the last chunk schedules the payment of every order of the
// batch, the earlier chunks' included.
func TestBatchUploadChunksPaid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.BatchChunk = 3
	in := batchIn("BATCH-PAY", "Y", 7, 100)
	in.Pay = true
	b, created, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if err != nil || !created || b.PayCalls != 1 {
		t.Fatalf("CreateBatch with pay: %+v %v %v", b, created, err)
	}
	// One payment per order, queued on the order itself (the sandbox's
	// adapter is in-process), due now: no pay job row, and the same round
	// is not queued twice.
	queued := func() (int, int) {
		t.Helper()
		counts, err := e.svc.JobCounts(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		js, err := e.svc.Jobs(e.ctx, baoguan.JobFilter{Kind: baoguan.JobPay, Page: baoguan.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		return counts[baoguan.JobQueued][baoguan.JobPay], len(js)
	}
	if n, rows := queued(); n != 7 || rows != 0 {
		t.Fatalf("after the upload: %d payments queued, %d pay job rows; want 7 and 0", n, rows)
	}
	os, err := e.svc.Orders(e.ctx, e.m, baoguan.OrderFilter{BatchID: b.ID, Page: baoguan.Page{Limit: 100}})
	if err != nil || len(os) != 7 {
		t.Fatalf("batch orders: %d %v", len(os), err)
	}
	for i := range os {
		if !os[i].PayDueAt.Equal(e.clock.Now().Truncate(time.Millisecond)) {
			t.Errorf("order %s: payment due at %v, want now", os[i].MerchantOrderNo, os[i].PayDueAt)
		}
	}
	if _, err := e.svc.RearrangePay(e.ctx, e.m, os[0].MerchantOrderNo); err != nil {
		t.Fatal(err)
	}
	if n, rows := queued(); n != 7 || rows != 0 {
		t.Errorf("after arranging an order's round again: %d payments queued, %d pay job rows; want still 7 and 0", n, rows)
	}
	e.drain(t, time.Minute)
	if _, sum, err := e.svc.Batch(e.ctx, e.m, b.ID); err != nil || sum.Total != 7 || sum.PaySucceed != 7 {
		t.Errorf("after the pipeline: %+v %v, want 7 orders paid", sum, err)
	}
}

// A clean upload stores each chunk with one statement per table: every
// order, its declaration and its sealed payer read back as a push stores
// them, and a repeat of the upload is answered with the batch.
func TestBatchUploadChunksAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.BatchChunk = 4
	in := batchIn("BATCH-ONE", "O", 10, 100)
	in.Orders[5].Order.Payer.Phone = "13900139005"
	in.Orders[6].Declarations = append(in.Orders[6].Declarations, baoguan.DeclarationSpec{Customs: "HG014", SubOrderNo: "S6"})
	b, created, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if err != nil || !created || b.Total != 10 {
		t.Fatalf("CreateBatch: %+v %v %v", b, created, err)
	}
	if n := core.SlowChunks(e.svc); n != 0 {
		t.Errorf("%d chunks stored one order at a time, want none", n)
	}
	if n, all := visible(t, e, b.ID); n != 10 || all != 10 {
		t.Errorf("%d orders in the batch, %d in all; want 10", n, all)
	}
	for _, i := range []int{0, 5, 6, 9} {
		v, err := e.svc.OrderDetail(e.ctx, e.m, in.Orders[i].Order.MerchantOrderNo)
		if err != nil {
			t.Fatal(err)
		}
		o := v.Order
		if o.BatchID != b.ID || o.Amount != 100 || o.PayStatus != baoguan.PayNotPayed || o.DeclareStatus != baoguan.DeclarePending ||
			o.Payer != in.Orders[i].Order.Payer || o.Version != 1 {
			t.Errorf("order %d: %+v", i, o)
		}
		want := len(in.Orders[i].Declarations)
		if len(v.Declarations) != want {
			t.Fatalf("order %d has %d declarations, want %d", i, len(v.Declarations), want)
		}
		for _, d := range v.Declarations {
			if d.State != baoguan.DeclUndeclared || d.Payer != o.Payer || d.SubOrderID == "" || d.Route == "" {
				t.Errorf("order %d: declaration %+v", i, d)
			}
		}
	}
	again, created, err := e.svc.CreateBatch(e.ctx, e.m, batchIn("BATCH-ONE", "O", 10, 100))
	if err == nil {
		// batchIn's orders differ from in's in two orders: other content.
		t.Errorf("a repeat with other orders: %+v created=%v, want duplicate_batch_no", again, created)
	}
	again, created, err = e.svc.CreateBatch(e.ctx, e.m, in)
	if err != nil || created || again.ID != b.ID {
		t.Errorf("the same upload again: %+v created=%v %v; want batch %d", again, created, err, b.ID)
	}
}

// An order planning the same customs target twice is the one case a chunk
// cannot leave to one statement per table (the second plan updates the
// first): that chunk is stored order by order, with the same outcome.
func TestBatchUploadChunkTargetTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.BatchChunk = 4
	in := batchIn("", "T", 6, 100)
	in.Orders[1].Declarations = append(in.Orders[1].Declarations, baoguan.DeclarationSpec{Customs: "HG016"})
	b, created, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if err != nil || !created {
		t.Fatalf("CreateBatch: %+v %v %v", b, created, err)
	}
	if n := core.SlowChunks(e.svc); n != 1 {
		t.Errorf("%d chunks stored one order at a time, want 1", n)
	}
	v, err := e.svc.OrderDetail(e.ctx, e.m, "T-001")
	if err != nil || len(v.Declarations) != 1 {
		t.Fatalf("T-001: %+v %v", v, err)
	}
	if n, all := visible(t, e, b.ID); n != 6 || all != 6 {
		t.Errorf("%d orders in the batch, %d in all; want 6", n, all)
	}
}

// An upload's orders are checked on every processor at once; the answer
// is still the first problem in the orders' order, whichever check found
// it.
func TestBatchCheckNamesTheFirstProblem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	in := batchIn("", "F", 1200, 100)
	in.Orders[1100].Order.Subject = ""                                         // a bad field, late
	in.Orders[700].Order.MerchantOrderNo = in.Orders[20].Order.MerchantOrderNo // a number twice, earlier
	in.Orders[900].Order.Amount = -1                                           // a bad field, between
	_, _, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if baoguan.ErrorField(err) != "orders[700].merchant_order_no" || baoguan.ErrorReason(err) != "duplicate_order_no" {
		t.Fatalf("first problem: %v (field %q), want orders[700]'s number twice", err, baoguan.ErrorField(err))
	}
	in.Orders[700].Order.MerchantOrderNo = "F-700"
	_, _, err = e.svc.CreateBatch(e.ctx, e.m, in)
	if baoguan.ErrorField(err) != "orders[900].amount" {
		t.Fatalf("first problem: %v (field %q), want orders[900].amount", err, baoguan.ErrorField(err))
	}
	if _, all := visible(t, e, 0); all != 0 {
		t.Errorf("%d orders stored by refused uploads", all)
	}
}
