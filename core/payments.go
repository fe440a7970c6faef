package core

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/baoguan/baoguan"
)

// Payments: the one mechanism every payment mode shares. An order's
// Channel (its mode) decides by its Flow which adapter is asked
// (startPayment): PaymentChannel.Pay for modes that pay at once and for card
// payments, CollectChannel.Collect for collect modes. Whoever asks — the pay
// job, or a front-end that answers with the outcome (payNow) — records the
// answer the same way (recordStart, applyPayment), with the events it
// causes and the declarations it queues, in one transaction. A payment that
// ends in a second step (an SMS code, a payer acting on a code) ends
// through CompletingChannel.Complete or a channel's callback, and is
// recorded by completePayment, again through applyPayment.
//
// The capability files beside this one hold what is particular to a
// flow: payments_funding.go (automatic payment's funding cards),
// payments_collect.go (codes), payments_card.go (card agreements and SMS
// challenges).

// schedulePay queues the pay job of the order's current payment round.
// The dedupe key makes a second call for the same round a no-op, as does
// a payment queued on the order itself (below).
func (s *Service) schedulePay(q *queue, o *baoguan.Order, now time.Time) error {
	if !o.PayDueAt.IsZero() {
		return nil
	}
	return q.add(baoguan.JobPay, payKey(o), o.MerchantID, o.ID, now)
}

// The order as its own pay queue. A payment that an in-process
// adapter makes (the sandbox's) needs no pay job row to be inserted,
// claimed and finished: a new order's, and a batch's first payment, is
// queued on the order itself (Order.PayDueAt, written with its insert or
// by one statement for a batch, Tx.QueueOrderPays). The runner's batch
// takes due orders beside due jobs (Tx.DueOrderPays), runs the payment
// as a pay job of attempt 1 without a row (ID 0), and the order's one
// UPDATE at the batch's flush takes it off the queue. The claim lasts as
// long as the batch's transaction (on PostgreSQL the orders taken are
// locked until it ends), so it needs no lease: a process that dies
// mid-batch leaves the orders due, as they were. A payment that does not
// succeed in the batch — a retry, a dead one, one for the workers because
// its adapter turned out not to be in-process — goes on as a pay job row
// of its round (batch.endOrderPay), with the attempt counted, so retries,
// backoff, dead jobs, `baoguan jobs --dead` and the retry command work
// as before. Payments through remote adapters (wallets, live channels),
// a new round (re-arranged, an updated order) and a held order's payment
// keep their job row from the start.

// payOnOrder reports whether the order's payment is queued on the order:
// its adapter is in-process.
func (s *Service) payOnOrder(o *baoguan.Order) bool {
	return baoguan.IsInProcess(s.payAdapter(o))
}

// payOnOrders reports whether the payments of a batch's orders whose
// Sandbox is sandbox are queued on the orders: both adapters a payment
// may ask are in-process.
func (s *Service) payOnOrders(sandbox bool) bool {
	a := s.adapters(sandbox)
	return baoguan.IsInProcess(a.Channel) && baoguan.IsInProcess(a.Collect)
}

// queueBatchPays queues the payment of every NOT_PAYED order of a batch
// not queued yet: on the orders (Tx.QueueOrderPays) where the adapters
// are in-process, as pay job rows (Tx.EnqueuePayJobs) for the others.
func (s *Service) queueBatchPays(tx baoguan.Tx, merchantID, batchID int64) (int, error) {
	n := 0
	for _, sandbox := range []bool{true, false} {
		if !s.payOnOrders(sandbox) {
			continue
		}
		k, err := tx.QueueOrderPays(merchantID, batchID, sandbox)
		if err != nil {
			return 0, err
		}
		n += k
	}
	k, err := tx.EnqueuePayJobs(merchantID, batchID, len(s.Retries[baoguan.JobPay])+1)
	return n + k, err
}

// scheduleNewPay queues the pay job of an order created in this
// transaction, whose key cannot exist yet, without waiting to learn that
// it was inserted (queue.addNew).
func (s *Service) scheduleNewPay(q *queue, o *baoguan.Order, now time.Time) error {
	return q.addNew(baoguan.JobPay, payKey(o), o.MerchantID, o.ID, now)
}

// payKey is the dedupe key of the order's current payment round.
func payKey(o *baoguan.Order) string {
	return "pay:" + strconv.FormatInt(o.ID, 10) + ":" + strconv.Itoa(o.PayAttempts)
}

// RearrangePay starts a new payment round for an order whose payment failed
// (payzero 2.7). ESTATE when the order is paid, cancelled or still paying.
func (s *Service) RearrangePay(ctx context.Context, m *baoguan.Merchant, no string) (*baoguan.Order, error) {
	var out *baoguan.Order
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		o, err := tx.OrderByNo(m.ID, no)
		if err != nil {
			return err
		}
		if o.PayStatus != baoguan.PayFailed && !(o.PayStatus == baoguan.PayNotPayed && o.BatchID != 0) {
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_rearrangeable",
				Message: "order " + no + " is " + string(o.PayStatus) + "; only a failed payment can be arranged again"}
		}
		if err := s.rearrangeTx(tx, q, o); err != nil {
			return err
		}
		out = o
		return nil
	})
	return out, err
}

func (s *Service) rearrangeTx(tx baoguan.Tx, q *queue, o *baoguan.Order) error {
	if o.PayStatus == baoguan.PayFailed {
		if err := o.MovePay(baoguan.PayNotPayed); err != nil {
			return err
		}
		o.PayAttempts++
		o.Payment.FailReason, o.Payment.FailCode = "", ""
	}
	if err := s.schedulePay(q, o, tx.Now()); err != nil {
		return err
	}
	return tx.UpdateOrder(o)
}

// payJob asks the order's adapter for its payment, then records the
// outcome with its follow-ups (declarations queued, event) in one
// transaction. A micro payment the wallet answered "user paying" is asked
// about again every MicroPoll until it has an outcome, and closed unpaid
// once MicroWindow has passed since the order was created.
func (s *Service) payJob(ctx context.Context, w *work) error {
	// What the closures below share is one struct: each variable they
	// captured would be an allocation of its own.
	var v struct {
		o     *baoguan.Order
		m     *baoguan.Merchant
		ds    []baoguan.Declaration
		st    paymentStart
		again bool
	}
	err := w.view(ctx, s, func(tx baoguan.Tx) error {
		var err error
		if v.o, err = tx.Order(w.job.MerchantID, w.job.RefID); err != nil {
			return err
		}
		if v.ds, err = tx.Declarations(v.o.MerchantID, v.o.ID); err != nil {
			return err
		}
		v.m, err = tx.Merchant(v.o.MerchantID)
		return err
	})
	if err != nil {
		return err
	}
	if v.o.PayStatus != baoguan.PayNotPayed && !userPaying(v.o) {
		return nil // paid, failed or cancelled by an earlier run or another path
	}
	if userPaying(v.o) && !s.Now().Before(v.o.CreatedAt.Add(baoguan.MicroWindow)) {
		v.st.r = baoguan.PayResult{Status: baoguan.PayCancelled, Payment: baoguan.Payment{
			FailReason: "付款人未在 " + baoguan.MicroWindow.String() + " 内确认支付，订单已关闭"}}
	} else if err = w.callable(s.payAdapter(v.o)); err != nil {
		return err
	} else if v.st, err = s.startPayment(ctx, v.o, v.m, w.job.Attempts); err != nil {
		return err
	}
	round := v.o.PayAttempts
	err = w.optimistic(ctx, s, true, func(tx baoguan.Tx) error {
		var err error
		if v.o, err = tx.Order(w.job.MerchantID, w.job.RefID); err != nil {
			return err
		}
		v.ds, err = tx.Declarations(v.o.MerchantID, v.o.ID)
		return err
	}, func(tx baoguan.Tx, q *queue) error {
		v.again = false
		if (v.o.PayStatus != baoguan.PayNotPayed && !userPaying(v.o)) || v.o.PayAttempts != round {
			return w.done(tx)
		}
		if v.st.r.Status == baoguan.PayApplied && v.o.Channel.Flow() == baoguan.FlowAtOnce {
			// The payer is still confirming: ask again later.
			v.again = true
			if userPaying(v.o) {
				return nil // already recorded
			}
		}
		q.m = v.m
		c := v.o
		if !w.ownsReads() {
			c = new(baoguan.Order)
			*c = *v.o
		}
		if _, err := s.recordStart(tx, q, c, v.st, v.ds); err != nil {
			return err
		}
		if v.again {
			return nil
		}
		return w.done(tx)
	})
	if err == nil && v.again {
		return Later(baoguan.MicroPoll)
	}
	return err
}

// userPaying reports whether an order paid at once waits for the payer to
// confirm in their wallet (a micro payment answered "user paying").
func userPaying(o *baoguan.Order) bool {
	return o.PayStatus == baoguan.PayApplied && o.Channel.Flow() == baoguan.FlowAtOnce
}

// paymentStart is an adapter's first answer about a payment.
type paymentStart struct {
	r    baoguan.PayResult
	code *baoguan.CollectCode // collect modes: the code issued
}

// payAdapter is the adapter startPayment asks for the order's payment (nil
// when none is configured).
func (s *Service) payAdapter(o *baoguan.Order) any {
	a := s.adapters(o.Sandbox)
	if o.Channel.Flow() == baoguan.FlowCollect {
		return a.Collect
	}
	return a.Channel
}

// startPayment asks the adapter the order's mode uses for its payment:
// CollectChannel.Collect for collect modes, PaymentChannel.Pay for the
// others. A missing adapter is a permanent ESTATE reason no_channel.
func (s *Service) startPayment(ctx context.Context, o *baoguan.Order, m *baoguan.Merchant, attempt int) (paymentStart, error) {
	a := s.adapters(o.Sandbox)
	now := s.Now()
	// Made when needed: every payment asked here would build it.
	noChannel := func() error {
		return baoguan.Permanent(&baoguan.Error{Code: baoguan.ESTATE, Reason: "no_channel",
			Message: "no payment channel is configured for " + string(o.Channel) + " payments of this order"})
	}
	if o.Channel.Flow() == baoguan.FlowCollect {
		if a.Collect == nil {
			return paymentStart{}, noChannel()
		}
		code, err := a.Collect.Collect(ctx, baoguan.CollectRequest{Order: o, Merchant: m, Kind: o.Extra[ExtraQRType],
			Wallet: o.Extra[baoguan.ExtraWallet], Now: now})
		s.Metrics.ChannelCalls.WithLabelValues("collect").Inc()
		if err != nil {
			return paymentStart{}, err
		}
		return paymentStart{r: baoguan.PayResult{Status: baoguan.PayApplied, Payment: baoguan.Payment{PSP: code.PSP}}, code: &code}, nil
	}
	if a.Channel == nil {
		return paymentStart{}, noChannel()
	}
	rate, err := s.payRate(ctx, o, m)
	if err != nil {
		return paymentStart{}, err
	}
	r, err := a.Channel.Pay(ctx, baoguan.PayRequest{Order: o, Merchant: m, Attempt: attempt, Now: now, Rate: rate})
	s.Metrics.ChannelCalls.WithLabelValues("pay").Inc()
	if err == nil {
		err = recordCurrency(o, &r, rate)
	}
	return paymentStart{r: r}, err
}

// recordStart records an adapter's first answer on the order. PAY_APPLIED
// keeps the payment company and what the payer is to act on: a collect
// mode's code (returned) or a card payment's SMS challenge. Any other
// answer is an outcome, recorded by applyPayment.
func (s *Service) recordStart(tx baoguan.Tx, q *queue, o *baoguan.Order, st paymentStart, ds []baoguan.Declaration) (*baoguan.Collection, error) {
	if st.r.Status != baoguan.PayApplied {
		return nil, s.applyPayment(tx, q, o, st.r, ds)
	}
	if err := o.MovePay(baoguan.PayApplied); err != nil {
		return nil, err
	}
	if st.r.Payment.PSP != "" {
		o.Payment.PSP = st.r.Payment.PSP
	}
	if err := tx.UpdateOrder(o); err != nil {
		return nil, err
	}
	switch {
	case st.code != nil:
		return s.issueCollection(tx, o, st.code)
	case o.Channel.Flow() == baoguan.FlowCard:
		return nil, s.sendSMSChallenge(tx, o)
	}
	return nil, nil
}

// applyPayment records a channel's answer on an order. It is shared by the
// pay job and by channels whose answer arrives later (QR, SMS confirm).
// ds are the order's declarations as read with o (nil: read them here);
// every row written is version-checked, so a stale read fails the write.
func (s *Service) applyPayment(tx baoguan.Tx, q *queue, o *baoguan.Order, r baoguan.PayResult, ds []baoguan.Declaration) error {
	switch r.Status {
	case baoguan.PayApplied, baoguan.PaySMSConfirmed:
		if err := o.MovePay(r.Status); err != nil {
			return err
		}
		return tx.UpdateOrder(o)
	case baoguan.PaySucceed:
		// The debit is the channel's figure: an amount outside 0…MaxAmount
		// would credit the funding account or overflow it. The job stops
		// (dead) for an operator rather than record it.
		if err := baoguan.CheckAmount("debit", r.Debit); err != nil {
			return baoguan.Permanent(fmt.Errorf("order %s: the channel answered a debit of %d: %w", o.MerchantOrderNo, r.Debit, err))
		}
		if r.Debit > 0 {
			ok, err := tx.DebitFunding(o.MerchantID, r.Debit)
			if err != nil {
				return err
			}
			if !ok {
				r.Status = baoguan.PayFailed
				r.Payment.FailReason = "商户垫资账户余额不足"
				return s.applyPayment(tx, q, o, r, ds)
			}
		}
		if err := o.MovePay(baoguan.PaySucceed); err != nil {
			return err
		}
		keepNo := o.Payment.No
		o.Payment = r.Payment
		if o.Payment.No == "" {
			o.Payment.No = keepNo
		}
		if o.Payment.PaidAt.IsZero() {
			o.Payment.PaidAt = tx.Now()
		}
		s.Metrics.Payments.WithLabelValues(string(baoguan.PaySucceed)).Inc()
		// Declarations waiting for the payment are queued now; the order
		// is written once, with its new declare status.
		if ds == nil {
			var err error
			if ds, err = tx.Declarations(o.MerchantID, o.ID); err != nil {
				return err
			}
		}
		// The write may run twice (a stale read, the group commit's
		// replay) and ds may be the caller's: change a copy, whichever Tx
		// runs it.
		ds = append([]baoguan.Declaration(nil), ds...)
		for i := range ds {
			d := &ds[i]
			if d.State != baoguan.DeclUndeclared {
				continue
			}
			// A declaration made before the payment without fees declares
			// what the payment made declarable.
			d.SetFees(o, d.SubOrderNo != "" || d.OrderFee != 0)
			if err := s.queueDeclare(tx, d); err != nil {
				return err
			}
		}
		o.DeclareStatus = baoguan.DeriveDeclareStatus(ds)
		if err := tx.UpdateOrder(o); err != nil {
			return err
		}
		if err := s.emit(tx, q, baoguan.EventOrderPaid, o, nil, nil); err != nil {
			return err
		}
		if len(ds) == 0 {
			return s.emitOrderDone(tx, q, o, nil)
		}
		return nil
	case baoguan.PayFailed, baoguan.PayCancelled:
		if err := o.MovePay(r.Status); err != nil {
			return err
		}
		// A channel's reason may quote the payer: kept and shown masked.
		o.Payment.FailReason, o.Payment.FailCode = baoguan.MaskPersonal(r.Payment.FailReason), r.Payment.FailCode
		s.Metrics.Payments.WithLabelValues(string(r.Status)).Inc()
		if err := tx.UpdateOrder(o); err != nil {
			return err
		}
		if err := s.emit(tx, q, baoguan.EventOrderPaymentFailed, o, nil, nil); err != nil {
			return err
		}
		return s.emitOrderDone(tx, q, o, ds)
	}
	return &baoguan.Error{Code: baoguan.EINTERNAL, Message: "payment channel answered an unknown status " + string(r.Status)}
}

// CompletePayment records the outcome of a payment whose result arrives
// after the channel's first answer (a QR code scanned, an SMS code
// confirmed, a channel's callback). r is applied as the pay job applies a
// channel's answer, in one transaction with the declarations it queues and
// the notification it causes. A repeat of the outcome already recorded
// returns the order unchanged.
// Errors: ENOTFOUND; ESTATE (reason payment_finished) when the order's
// payment already ended otherwise.
func (s *Service) CompletePayment(ctx context.Context, m *baoguan.Merchant, no string, r baoguan.PayResult) (*baoguan.Order, error) {
	return s.completePayment(ctx, m, no, r, nil)
}

// completePayment is CompletePayment with more to write in the same
// transaction (a used SMS challenge or QR code).
func (s *Service) completePayment(ctx context.Context, m *baoguan.Merchant, no string, r baoguan.PayResult, also func(tx baoguan.Tx, o *baoguan.Order) error) (*baoguan.Order, error) {
	var o *baoguan.Order
	var ds []baoguan.Declaration
	var out *baoguan.Order
	err := s.optimistic(ctx, false, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		ds, err = tx.Declarations(m.ID, o.ID)
		return err
	}, func(tx baoguan.Tx, q *queue) error {
		c := *o
		out = &c
		switch c.PayStatus {
		case baoguan.PayNotPayed, baoguan.PayApplied, baoguan.PaySMSConfirmed:
		case r.Status:
			return nil // the same outcome, told twice
		default:
			return &baoguan.Error{Code: baoguan.ESTATE, Reason: "payment_finished",
				Message: "order " + no + " is already " + string(c.PayStatus)}
		}
		if err := s.applyPayment(tx, q, &c, r, ds); err != nil {
			return err
		}
		if also != nil {
			return also(tx, &c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// payNow asks the order's adapter for its payment in the request, instead
// of waiting for the pay job, for front-ends that answer with the outcome,
// the code or the SMS prompt at once. The adapter is asked when the order is
// NOT_PAYED, or PAY_APPLIED in a two-step flow (asking again issues a new
// code or sends a new SMS code); its answer is recorded as the pay job
// records one (recordStart). An error from the adapter is returned with the
// order as it stands; a pay job, if one is queued, retries on its own
// schedule. It returns the order as recorded and the code issued, if any.
func (s *Service) payNow(ctx context.Context, m *baoguan.Merchant, no string) (*baoguan.Order, *baoguan.Collection, error) {
	var o *baoguan.Order
	var mm *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		mm, err = tx.Merchant(m.ID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	twoStep := o.Channel.Flow() != baoguan.FlowAtOnce
	var st paymentStart
	if o.PayStatus == baoguan.PayNotPayed || (twoStep && o.PayStatus == baoguan.PayApplied) {
		if st, err = s.startPayment(ctx, o, mm, 1); err != nil {
			return o, nil, err
		}
	}
	round, channel := o.PayAttempts, o.Channel
	var ds []baoguan.Declaration
	var out *baoguan.Order
	var col *baoguan.Collection
	err = s.optimistic(ctx, false, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		ds, err = tx.Declarations(m.ID, o.ID)
		return err
	}, func(tx baoguan.Tx, q *queue) error {
		c := *o
		out, col = &c, nil
		if st.r.Status == "" || c.PayAttempts != round || c.Channel != channel {
			return nil // not asked, or the order moved on meanwhile
		}
		if c.PayStatus == baoguan.PayNotPayed || (st.r.Status == baoguan.PayApplied && c.PayStatus == baoguan.PayApplied) {
			var err error
			col, err = s.recordStart(tx, q, &c, st, ds)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, col, nil
}

// newRound starts a new payment round for an order whose payment failed,
// without a pay job: the caller applies for the payment itself.
func newRound(o *baoguan.Order) error {
	if o.PayStatus != baoguan.PayFailed {
		return nil
	}
	if err := o.MovePay(baoguan.PayNotPayed); err != nil {
		return err
	}
	o.PayAttempts++
	o.Payment.FailReason, o.Payment.FailCode = "", ""
	return nil
}

// unpaidForSwitch refuses to change how an order is paid once its payment
// succeeded or was cancelled.
func unpaidForSwitch(o *baoguan.Order) error {
	switch o.PayStatus {
	case baoguan.PayNotPayed, baoguan.PayApplied, baoguan.PayFailed:
		return nil
	case baoguan.PaySucceed:
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: "already_paid", Message: "订单 " + o.MerchantOrderNo + " 已支付成功"}
	}
	return &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable",
		Message: "订单 " + o.MerchantOrderNo + " 当前状态 " + string(o.PayStatus) + " 不能再支付"}
}

// CreateAndPayNow creates an order paid in a mode that answers at once
// (mock: virtual payment, payzero 6.1) and pays it in the request, so the
// answer can carry the outcome. The order also has its pay job, which
// finishes the payment if the immediate attempt met a transient channel
// error. Errors: those of CreateOrder.
func (s *Service) CreateAndPayNow(ctx context.Context, m *baoguan.Merchant, in OrderInput) (*baoguan.Order, bool, error) {
	o, created, err := s.CreateOrder(ctx, m, in)
	if err != nil {
		return nil, false, err
	}
	if o.PayStatus != baoguan.PayNotPayed {
		return o, created, nil
	}
	return s.payNowOrLater(ctx, m, o, created)
}

// payNowOrLater pays at once, or leaves the payment to its pay job when the
// channel failed for now.
func (s *Service) payNowOrLater(ctx context.Context, m *baoguan.Merchant, o *baoguan.Order, created bool) (*baoguan.Order, bool, error) {
	paid, _, err := s.payNow(ctx, m, o.MerchantOrderNo)
	if err != nil {
		// The order and its pay job are stored: the job finishes what the
		// immediate attempt could not, and the answer shows NOT_PAYED.
		s.Log.Warn("immediate payment failed; the pay job retries", "order", o.MerchantOrderNo, "err", err)
		return o, created, nil
	}
	return paid, created, nil
}

// RepayNow pays again, in the request, an order of a mode that answers at
// once after its payment failed (payzero 6.2 for mock), starting a new
// payment round. A paid order is returned as it is.
// Errors: ENOTFOUND; ESTATE reason "not_"+mode when the order is paid
// another way, not_payable when it is cancelled.
func (s *Service) RepayNow(ctx context.Context, m *baoguan.Merchant, no string, mode baoguan.Channel) (*baoguan.Order, error) {
	o, err := s.Order(ctx, m, no)
	if err != nil {
		return nil, err
	}
	if o.Channel != mode {
		msg := "订单 " + no + " 不是 " + string(mode) + " 支付方式的订单，不能以该方式重新支付"
		if mode == baoguan.ChannelMock {
			msg = "订单 " + no + " 不是无支付推单（虚拟支付）订单，不能重新进行虚拟支付"
		}
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_" + string(mode), Message: msg}
	}
	switch o.PayStatus {
	case baoguan.PaySucceed:
		return o, nil
	case baoguan.PayFailed:
		if o, err = s.RearrangePay(ctx, m, no); err != nil {
			return nil, err
		}
	case baoguan.PayNotPayed:
	default:
		return nil, unpaidForSwitch(o)
	}
	o, _, err = s.payNowOrLater(ctx, m, o, false)
	return o, err
}
