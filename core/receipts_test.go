package core_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// filePort is a customs port like the E-Port one: it knows an attempt's
// reference before writing, answers PROCESSING, and its receipts arrive
// on their own (an in-memory inbox here).
type filePort struct {
	mu       sync.Mutex
	svc      *core.Service
	m        *baoguan.Merchant
	failNext int                      // Declare calls to fail after "writing" (a crash before recording)
	calls    []baoguan.DeclareRequest // Declare requests, as made
	stored   []*core.OrderView        // what the store held at each Declare
	inbox    []baoguan.CustomsReceipt
	seen     [][]baoguan.CustomsReceipt // Receipts handed to Receipt calls
}

func (p *filePort) Name() string             { return "file" }
func (p *filePort) ReadEvery() time.Duration { return 5 * time.Second }
func (p *filePort) ref(d *baoguan.Declaration) string {
	return "REF-" + strconv.FormatInt(d.ID, 10) + "-" + strconv.Itoa(d.Attempts)
}

func (p *filePort) PlanRef(r baoguan.DeclareRequest) (string, error) {
	return p.ref(r.Declaration), nil
}

func (p *filePort) Declare(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	v, err := p.svc.OrderDetail(ctx, p.m, r.Order.MerchantOrderNo)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		return baoguan.Receipt{}, err
	}
	p.calls = append(p.calls, r)
	p.stored = append(p.stored, v)
	if p.failNext > 0 {
		p.failNext--
		return baoguan.Receipt{}, errors.New("process died after writing the file")
	}
	return baoguan.Receipt{State: baoguan.DeclProcessing, Ref: p.ref(r.Declaration), RetryAfter: time.Minute}, nil
}

// Receipt folds the stored receipts of the current attempt.
func (p *filePort) Receipt(_ context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	p.mu.Lock()
	p.seen = append(p.seen, r.Receipts)
	p.mu.Unlock()
	out := baoguan.Receipt{State: baoguan.DeclProcessing, Ref: r.Declaration.PortRef, RetryAfter: time.Minute}
	for _, rc := range r.Receipts {
		if rc.Ref != r.Declaration.PortRef {
			continue
		}
		switch rc.Status {
		case "120":
			out = baoguan.Receipt{State: baoguan.DeclSuccess, Ref: rc.Ref, ReceiptCode: rc.Status, Explanation: rc.Info}
		case "100":
			out = baoguan.Receipt{State: baoguan.DeclFail, Ref: rc.Ref, ReceiptCode: rc.Status, Explanation: rc.Info}
		}
	}
	return out, nil
}

func (p *filePort) ReadReceipts(ctx context.Context, store func(context.Context, []baoguan.CustomsReceipt) error) error {
	p.mu.Lock()
	batch := p.inbox
	p.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := store(ctx, batch); err != nil {
		return err
	}
	p.mu.Lock()
	p.inbox = p.inbox[len(batch):]
	p.mu.Unlock()
	return nil
}

func (p *filePort) drop(rs ...baoguan.CustomsReceipt) {
	p.mu.Lock()
	p.inbox = append(p.inbox, rs...)
	p.mu.Unlock()
}

// A port that plans its references gets the attempt stored before it is
// called; a crash after the call made the same attempt again; receipts
// arriving on their own are stored once, reach the declaration through its
// poll, and those for unknown references are kept.
func TestPlannedAttemptsAndStoredReceipts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	port := &filePort{svc: e.svc, m: e.m, failNext: 1}
	e.svc.Sandbox.Port = port
	if err := e.svc.StartReceiptJobs(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.order(t, "F1", "110105199001011232", baoguan.ChannelMock, 1000)
	e.drain(t, 10*time.Second) // pay, declare (fails once), declare again after 5 s

	port.mu.Lock()
	calls, stored := port.calls, port.stored
	port.mu.Unlock()
	if len(calls) != 2 {
		t.Fatalf("Declare called %d times, want 2 (one failed)", len(calls))
	}
	d0, d1 := calls[0].Declaration, calls[1].Declaration
	if d0.Attempts != 1 || d1.Attempts != 1 || !d0.SubmittedAt.Equal(d1.SubmittedAt) || !calls[0].Now.Equal(calls[1].Now) || d0.PortRef != d1.PortRef {
		t.Errorf("the repeated call is not the same attempt: %+v / %+v", d0, d1)
	}
	for i, v := range stored {
		sd := v.Declarations[0]
		if sd.State != baoguan.DeclSubmitted || sd.Attempts != 1 || sd.PortRef != port.ref(d0) || !sd.SubmittedAt.Equal(d0.SubmittedAt) {
			t.Errorf("at call %d the store held %s attempt %d ref %q, want SUBMITTED 1 %q", i, sd.State, sd.Attempts, sd.PortRef, port.ref(d0))
		}
	}
	ref := port.ref(d0)
	if st := e.detail(t, "F1").Declarations[0].State; st != baoguan.DeclProcessing {
		t.Fatalf("after the declare: %s", st)
	}

	port.drop(baoguan.CustomsReceipt{Ref: ref, Status: "2", Info: "申报中", Source: "a.xml"},
		baoguan.CustomsReceipt{Ref: "NOT-OURS", Status: "120", Source: "a.xml"})
	e.drain(t, 10*time.Second)
	if st := e.detail(t, "F1").Declarations[0].State; st != baoguan.DeclProcessing {
		t.Fatalf("after receipt 2: %s", st)
	}
	// The final receipt settles the declaration at once (the poll is
	// nudged), not after the poll's minute.
	port.drop(baoguan.CustomsReceipt{Ref: ref, Status: "120", Info: "入库", Source: "b.xml"},
		baoguan.CustomsReceipt{Ref: ref, Status: "2", Info: "申报中", Source: "a.xml"}) // a file read twice
	e.drain(t, 6*time.Second)
	v := e.detail(t, "F1")
	if d := v.Declarations[0]; d.State != baoguan.DeclSuccess || d.ReceiptCode != "120" || d.Explanation != "入库" {
		t.Fatalf("after receipt 120: %+v", d)
	}
	rs, err := e.svc.DeclarationReceipts(e.ctx, e.m, v.Declarations[0].ID)
	if err != nil || len(rs) != 2 || rs[0].Status != "2" || rs[1].Status != "120" || rs[0].Port != "file" {
		t.Errorf("declaration receipts: %+v %v", rs, err)
	}
	un, err := e.svc.UnmatchedReceipts(e.ctx, "", baoguan.Page{})
	if err != nil || len(un) != 1 || un[0].Ref != "NOT-OURS" {
		t.Errorf("unmatched: %+v %v", un, err)
	}
	// Nothing more runs for a settled declaration but the receipts job.
	e.drain(t, 5*time.Minute)
	port.mu.Lock()
	n := len(port.calls)
	port.mu.Unlock()
	if n != 2 {
		t.Errorf("Declare called %d times after settling", n)
	}
	jobs, _ := e.svc.Jobs(e.ctx, baoguan.JobFilter{State: baoguan.JobQueued})
	for _, j := range jobs {
		if j.Kind != baoguan.JobReceipts {
			t.Errorf("job still queued: %+v", j)
		}
	}
}
