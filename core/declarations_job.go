package core

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// declareJob hands a PENDING declaration to its port, then records the answer.
//
// A port that knows the attempt's reference before the call (a
// baoguan.RefPlanner: the E-Port port writes a file named by it) gets the
// attempt stored first, as SUBMITTED with its number, time and reference;
// a run that finds the declaration SUBMITTED makes that same attempt again,
// which the port answers as it answered the first time.
func (s *Service) declareJob(ctx context.Context, w *work) error {
	var c *declCtx
	err := w.view(ctx, s, func(tx baoguan.Tx) error {
		var err error
		c, err = loadDecl(tx, w.job.MerchantID, w.job.RefID)
		return err
	})
	if err != nil {
		return err
	}
	d, o, m := c.d, c.o, c.m
	port, err := s.portFor(d, o)
	if err != nil {
		return err
	}
	if err := w.callable(port); err != nil {
		return err
	}
	planner, plans := port.(baoguan.RefPlanner)
	if plans && w.b != nil {
		return errRemote // the attempt is written before the call, in a transaction of its own
	}
	resume := plans && d.State == baoguan.DeclSubmitted
	if d.State != baoguan.DeclPending && !(d.State == baoguan.DeclExcept && d.Retrying) && !resume {
		return nil // already handled by an earlier run of this job
	}
	if wait, err := s.throttle(ctx, d, m); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		return Later(wait)
	}
	sent := *d
	if !resume {
		sent.Attempts++
		sent.SubmittedAt = s.Now()
		// Checks customs would make anyway are made first, so an obviously bad
		// declaration fails with a clear reason instead of a round trip.
		if why := s.preCheck(o, &sent); why != "" {
			return s.finishDeclaration(ctx, w, d.ID, d.MerchantID, c, func(d *baoguan.Declaration) error {
				d.Attempts = sent.Attempts
				d.IdentityCheck = sent.IdentityCheck
				d.Explanation = why
				return d.Move(baoguan.DeclFail)
			})
		}
	}
	req := baoguan.DeclareRequest{Declaration: &sent, Order: o, Merchant: m, Now: sent.SubmittedAt, Record: w.record}
	if err := s.portReceipts(ctx, port, &req); err != nil {
		return err
	}
	if plans && !resume {
		ref, err := planner.PlanRef(req)
		if err != nil {
			return err
		}
		sent.PortRef = ref
		err = s.finishDeclaration(ctx, nil, d.ID, d.MerchantID, c, func(d *baoguan.Declaration) error {
			if d.State == baoguan.DeclExcept {
				if err := d.Move(baoguan.DeclPending); err != nil {
					return err
				}
			}
			d.Attempts, d.SubmittedAt, d.IdentityCheck, d.PortRef = sent.Attempts, sent.SubmittedAt, sent.IdentityCheck, ref
			return d.Move(baoguan.DeclSubmitted)
		})
		if err != nil {
			return err
		}
		c = nil // written: the answer is recorded on a fresh read
	}
	r, err := port.Declare(ctx, req)
	s.Metrics.PortCalls.WithLabelValues("declare").Inc()
	if err != nil {
		return err
	}
	return s.finishDeclaration(ctx, w, d.ID, d.MerchantID, c, func(d *baoguan.Declaration) error {
		if plans {
			if d.State != baoguan.DeclSubmitted || d.Attempts != sent.Attempts {
				return nil // a receipt already settled this attempt
			}
			return s.applyReceipt(d, r)
		}
		if d.State == baoguan.DeclExcept {
			if err := d.Move(baoguan.DeclPending); err != nil {
				return err
			}
		}
		d.Attempts, d.SubmittedAt, d.IdentityCheck = sent.Attempts, sent.SubmittedAt, sent.IdentityCheck
		if err := d.Move(baoguan.DeclSubmitted); err != nil {
			return err
		}
		return s.applyReceipt(d, r)
	})
}

// applyReceipt moves a SUBMITTED/PROCESSING declaration by a port answer.
// Final outcomes are completed by finishDeclaration (events, status).
func (s *Service) applyReceipt(d *baoguan.Declaration, r baoguan.Receipt) error {
	if r.Ref != "" {
		d.PortRef = r.Ref
	}
	if r.IdentityCheck == baoguan.CheckSame || r.IdentityCheck == baoguan.CheckDifferent {
		d.IdentityCheck = r.IdentityCheck
	}
	// Customs' text may quote the declaration (the payer's ID number); it
	// is kept and shown masked.
	r.Explanation = baoguan.MaskPersonal(r.Explanation)
	switch r.State {
	case baoguan.DeclProcessing, baoguan.DeclSubmitted:
		return d.Move(baoguan.DeclProcessing)
	case baoguan.DeclSuccess:
		d.VerifyDepartment, d.VerifyDepartmentTradeID = r.VerifyDepartment, r.VerifyDepartmentTradeID
		d.ReceiptCode, d.Explanation = r.ReceiptCode, r.Explanation
		return d.Move(baoguan.DeclSuccess)
	case baoguan.DeclFail:
		d.ReceiptCode, d.Explanation = r.ReceiptCode, r.Explanation
		return d.Move(baoguan.DeclFail)
	case baoguan.DeclExcept:
		d.Explanation = r.Explanation
		if err := d.Move(baoguan.DeclExcept); err != nil {
			return err
		}
		_, d.Retrying = s.Retries[baoguan.JobDeclare].Next(d.Attempts)
		return nil
	}
	return &baoguan.Error{Code: baoguan.EINTERNAL, Message: "customs port answered an unknown state " + string(r.State)}
}

// finishDeclaration applies change to the declaration in one transaction
// together with what follows from its new state: a poll or retry job, the
// order's declare status, the notification, and the end of this job.
//
// pre, when not nil, is what the caller has just read; it serves the first
// attempt, and a stale write reads afresh.
func (s *Service) finishDeclaration(ctx context.Context, w *work, id, merchantID int64, pre *declCtx, change func(*baoguan.Declaration) error) error {
	// What the closures below share is one struct (declCtx): each
	// variable they captured would be an allocation of its own.
	var v declCtx
	if pre != nil {
		v = *pre
	}
	optimistic := s.optimistic
	if w != nil {
		optimistic = func(ctx context.Context, preloaded bool, read func(tx baoguan.Tx) error, write func(tx baoguan.Tx, q *queue) error) error {
			return w.optimistic(ctx, s, preloaded, read, write)
		}
	}
	err := optimistic(ctx, pre != nil, func(tx baoguan.Tx) error {
		c, err := loadDecl(tx, merchantID, id)
		if err != nil {
			return err
		}
		v.o, v.m, v.ds = c.o, c.m, c.ds
		return nil
	}, func(tx baoguan.Tx, q *queue) error {
		q.m = v.m
		ds, o := v.ds, v.o
		if !w.ownsReads() {
			ds = append([]baoguan.Declaration(nil), ds...)
			c := *o
			o = &c
		}
		var d *baoguan.Declaration
		for i := range ds {
			if ds[i].ID == id {
				d = &ds[i]
			}
		}
		if d == nil {
			return &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "declaration not found"}
		}
		before, wasFinal, ref := d.State, d.Final(), d.PortRef
		if err := change(d); err != nil {
			return err
		}
		d.ModifiedAt = tx.Now()
		if err := tx.UpdateDeclaration(d); err != nil {
			return err
		}
		// Ports whose receipts arrive on their own find the declaration by
		// the reference of any of its attempts.
		port, _ := s.portFor(d, o)
		if rr, ok := port.(baoguan.ReceiptReader); ok && d.PortRef != "" && d.PortRef != ref {
			if err := tx.AddDeclarationRef(rr.Name(), d.PortRef, d.MerchantID, d.ID, d.Attempts); err != nil {
				return err
			}
		}
		switch {
		case d.State == baoguan.DeclProcessing:
			after := time.Second
			if w != nil && w.receipt.RetryAfter > 0 {
				after = w.receipt.RetryAfter
			}
			if err := q.add(baoguan.JobPoll, "poll:"+strconv.FormatInt(d.ID, 10)+":"+strconv.Itoa(d.Attempts), d.MerchantID, d.ID, tx.Now().Add(after)); err != nil {
				return err
			}
		case d.State == baoguan.DeclExcept && d.Retrying:
			wait, _ := s.Retries[baoguan.JobDeclare].Next(d.Attempts)
			if err := q.add(baoguan.JobDeclare, declareKey(d), d.MerchantID, d.ID, tx.Now().Add(wait)); err != nil {
				return err
			}
		}
		// An EXCEPT whose last retry failed ends too, though its state
		// stays EXCEPT.
		ended := d.Final() && (!wasFinal || before != d.State)
		if ended {
			typ := baoguan.EventDeclSucceeded
			if d.State != baoguan.DeclSuccess {
				typ = baoguan.EventDeclFailed
			}
			s.Metrics.Declarations.WithLabelValues(string(d.State)).Inc()
			if err := s.emit(tx, q, typ, o, d, nil); err != nil {
				return err
			}
		}
		// The order is written (version-checked) whenever its status changes
		// and whenever a declaration ends: two declarations of one order
		// ending at once then cannot both miss that the order is done.
		st := baoguan.DeriveDeclareStatus(ds)
		if st != o.DeclareStatus || ended {
			o.DeclareStatus = st
			if err := tx.UpdateOrder(o); err != nil {
				return err
			}
		}
		if ended {
			if err := s.emitOrderDone(tx, q, o, ds); err != nil {
				return err
			}
		}
		if err := s.storeCalls(tx, w); err != nil {
			return err
		}
		if w != nil {
			return w.done(tx)
		}
		return nil
	})
	if err == nil {
		s.committed(w)
	}
	return err
}

// optimistic reads on the read pool, then writes in the single writer,
// and repeats both when the write meets a row changed since the read
// (a stale version). The reads that decide a change thus stay out of the
// writer, which only checks versions.
//
// With preloaded, the caller has just read what write needs, and the first
// attempt skips the read.
func (s *Service) optimistic(ctx context.Context, preloaded bool, read func(tx baoguan.Tx) error, write func(tx baoguan.Tx, q *queue) error) error {
	for attempt := 1; ; attempt++ {
		if !preloaded || attempt > 1 {
			if err := s.view(ctx, read); err != nil {
				return err
			}
		}
		err := s.update(ctx, write)
		if baoguan.ErrorReason(err) != "stale" || attempt == 5 {
			return err
		}
	}
}

// pollJob asks the port for the receipt of a PROCESSING declaration.
func (s *Service) pollJob(ctx context.Context, w *work) error {
	var c *declCtx
	err := w.view(ctx, s, func(tx baoguan.Tx) error {
		var err error
		c, err = loadDecl(tx, w.job.MerchantID, w.job.RefID)
		return err
	})
	if err != nil {
		return err
	}
	d, o, m := c.d, c.o, c.m
	if d.State != baoguan.DeclProcessing && d.State != baoguan.DeclSubmitted {
		return nil
	}
	port, err := s.portFor(d, o)
	if err != nil {
		return err
	}
	if err := w.callable(port); err != nil {
		return err
	}
	if wait, err := s.throttle(ctx, d, m); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		return Later(wait)
	}
	req := baoguan.DeclareRequest{Declaration: d, Order: o, Merchant: m, Now: s.Now(), Record: w.record}
	if err := s.portReceipts(ctx, port, &req); err != nil {
		return err
	}
	r, err := port.Receipt(ctx, req)
	s.Metrics.PortCalls.WithLabelValues("receipt").Inc()
	// A port that could not ask (its service timed out, is rate limiting
	// or down for maintenance) says how long to wait: the declaration
	// stays PROCESSING and is asked about again then, however long the
	// outage, rather than the poll job dying after its schedule.
	var rw interface{ RetryWait() time.Duration }
	if errors.As(err, &rw) && rw.RetryWait() > 0 {
		s.Log.Warn("receipt not read; asking again later", "declaration", d.ID, "after", rw.RetryWait(), "err", err)
		return Later(rw.RetryWait())
	}
	if err != nil {
		return err
	}
	if r.State == baoguan.DeclProcessing || r.State == baoguan.DeclSubmitted {
		if strings.Contains(w.job.DedupeKey, ":receipt:") {
			return nil // a nudge after a receipt came; the regular poll goes on
		}
		after := r.RetryAfter
		if after <= 0 {
			after = time.Second
		}
		return Later(after)
	}
	w.receipt = r
	return s.finishDeclaration(ctx, w, d.ID, d.MerchantID, c, func(d *baoguan.Declaration) error {
		if d.State != baoguan.DeclProcessing && d.State != baoguan.DeclSubmitted {
			return nil
		}
		return s.applyReceipt(d, r)
	})
}

// declCtx is a declaration with what its handlers need, read together.
type declCtx struct {
	d  *baoguan.Declaration
	o  *baoguan.Order
	m  *baoguan.Merchant
	ds []baoguan.Declaration // all of the order's declarations, d included
}

func loadDecl(tx baoguan.Tx, merchantID, id int64) (*declCtx, error) {
	d, err := tx.Declaration(merchantID, id)
	if err != nil {
		return nil, err
	}
	c := &declCtx{d: d}
	if c.o, err = tx.Order(d.MerchantID, d.OrderID); err != nil {
		return nil, err
	}
	if c.ds, err = tx.Declarations(d.MerchantID, d.OrderID); err != nil {
		return nil, err
	}
	c.m, err = tx.Merchant(d.MerchantID)
	return c, err
}
