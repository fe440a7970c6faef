package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/baoguan/baoguan"
)

// BatchInput is a batch upload: up to MaxBatchOrders orders, checked as a
// whole before anything is written.
type BatchInput struct {
	No       string // the merchant's batch number, optional; unique per merchant
	Orders   []OrderInput
	Protocol string
	// Pay schedules the payment of every order in the transaction that
	// stores them (PayBatch's rules): either the batch is stored with its
	// pay jobs, or, when the payment is refused (funding short), nothing
	// is stored. Without it, orders wait unpaid until PayBatch.
	Pay bool
}

// CreateBatch stores a batch and its orders in one transaction, with their
// payment when in.Pay is set. A bad order refuses the whole batch with an
// error whose field is prefixed "orders[i].". Re-sending a batch number
// with the same orders returns the first batch (created=false) and pays
// nothing more. Errors: EINVALID, ETOOLARGE, ECONFLICT, EMERCHANT; with
// Pay, those of PayBatch (EINSUFFICIENT reason funding_short).
func (s *Service) CreateBatch(ctx context.Context, m *baoguan.Merchant, in BatchInput) (*baoguan.Batch, bool, error) {
	if len(in.Orders) == 0 {
		return nil, false, baoguan.FieldError("orders", "a batch needs at least one order")
	}
	if len(in.Orders) > baoguan.MaxBatchOrders {
		return nil, false, &baoguan.Error{Code: baoguan.ETOOLARGE, Field: "orders", Reason: "batch_too_large",
			Message: fmt.Sprintf("a batch holds at most %d orders, got %d", baoguan.MaxBatchOrders, len(in.Orders))}
	}
	if in.No != "" {
		if err := baoguan.CheckOrderNo("batch_no", in.No); err != nil {
			return nil, false, err
		}
	}
	seen := make(map[string]int, len(in.Orders))
	h := sha256.New()
	amounts := make([]int64, len(in.Orders))
	for i := range in.Orders {
		oi := &in.Orders[i]
		oi.Hold = true
		if oi.Order.Protocol == "" {
			oi.Order.Protocol = in.Protocol
		}
		if _, err := s.prepareOrder(m, oi); err != nil {
			return nil, false, prefixField(err, i)
		}
		if j, dup := seen[oi.Order.MerchantOrderNo]; dup {
			return nil, false, &baoguan.Error{Code: baoguan.EINVALID, Field: fmt.Sprintf("orders[%d].merchant_order_no", i), Reason: "duplicate_order_no",
				Message: fmt.Sprintf("order number %s appears twice in the batch (orders[%d] and orders[%d])", oi.Order.MerchantOrderNo, j, i)}
		}
		seen[oi.Order.MerchantOrderNo] = i
		amounts[i] = oi.Order.Amount
		h.Write([]byte(oi.fingerprint()))
	}
	fp := hex.EncodeToString(h.Sum(nil))
	// Every amount passed Order.Validate (≤ MaxAmount) and there are at
	// most MaxBatchOrders, so the total fits; it is still summed checked.
	total, ok := baoguan.SumAmounts(amounts...)
	if !ok {
		return nil, false, &baoguan.Error{Code: baoguan.EINVALID, Field: "orders", Reason: "bad_amount", Message: "the batch's total amount is too large"}
	}
	var out *baoguan.Batch
	created := false
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		if in.No != "" {
			if prev, err := readKey(tx, m.ID, batchKey(in.No)); err != nil {
				return err
			} else if prev != nil {
				if prev.RequestHash != fp {
					return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "batch_no", Reason: "duplicate_batch_no",
						Message: "batch " + in.No + " already exists with other orders"}
				}
				id, _ := strconv.ParseInt(string(prev.Body), 10, 64)
				var err error
				out, err = tx.Batch(m.ID, id)
				return err
			}
		}
		now := tx.Now()
		no := in.No
		if no == "" {
			no = now.In(ChinaTime).Format("20060102150405") + fmt.Sprintf("%03d", now.Nanosecond()/1e6) + strconv.FormatUint(s.seq.Add(1)%1000, 10)
		}
		b := &baoguan.Batch{MerchantID: m.ID, No: no, Total: len(in.Orders), Amount: total, Protocol: in.Protocol}
		if err := tx.CreateBatch(b); err != nil {
			return err
		}
		for i := range in.Orders {
			if _, _, _, err := s.createOrderTx(tx, q, m, &in.Orders[i], b.ID); err != nil {
				return prefixField(err, i)
			}
		}
		if in.Pay {
			// The batch and its payment commit together: a refusal here
			// rolls the batch back, so a retry creates and pays it anew.
			if _, err := s.payBatchTx(tx, q, m, b, false); err != nil {
				return err
			}
		}
		if in.No != "" {
			// The key was read (and, on PostgreSQL, locked) above; the
			// record names the batch a repeat is answered with.
			if _, err := takeKey(tx, m.ID, batchKey(in.No), fp, 0, []byte(strconv.FormatInt(b.ID, 10))); err != nil {
				return err
			}
		}
		out, created = b, true
		return nil
	})
	return out, created, err
}

func prefixField(err error, i int) error {
	e, ok := err.(*baoguan.Error)
	if !ok {
		return err
	}
	c := *e
	if c.Field != "" {
		c.Field = fmt.Sprintf("orders[%d].%s", i, c.Field)
	} else {
		c.Field = fmt.Sprintf("orders[%d]", i)
	}
	c.Message = fmt.Sprintf("orders[%d]: %s", i, c.Message)
	return &c
}

// Batch returns one of the merchant's batches. ENOTFOUND.
func (s *Service) Batch(ctx context.Context, m *baoguan.Merchant, id int64) (*baoguan.Batch, baoguan.BatchSummary, error) {
	var b *baoguan.Batch
	var sum baoguan.BatchSummary
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if b, err = tx.Batch(m.ID, id); err != nil {
			return err
		}
		sum, err = tx.BatchSummary(m.ID, id)
		return err
	})
	return b, sum, err
}

// PayBatch queues payment of every order of the batch that is unpaid or
// whose payment failed (payzero 2.2: a second call pays only the failures).
// Errors: ENOTFOUND; ESTATE reason nothing_to_pay (payzero 50054);
// EINSUFFICIENT when "auto" orders exceed the funding balance (50056).
func (s *Service) PayBatch(ctx context.Context, m *baoguan.Merchant, id int64) (int, error) {
	n := 0
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		b, err := tx.Batch(m.ID, id)
		if err != nil {
			return err
		}
		n, err = s.payBatchTx(tx, q, m, b, false)
		return err
	})
	return n, err
}

// payBatchTx schedules the payment of the batch's unpaid and failed orders
// in tx. With cards, the merchant's funding cards are checked first
// (PayBatchFromCards), in the same transaction as the scheduling, so that a
// card list replaced meanwhile cannot be paid against.
func (s *Service) payBatchTx(tx baoguan.Tx, q *queue, m *baoguan.Merchant, b *baoguan.Batch, cards bool) (int, error) {
	mm, err := tx.Merchant(m.ID)
	if err != nil {
		return 0, err
	}
	var todo []baoguan.Order
	// need is what the batch's automatic payments take from the funding
	// account; orders stored before amounts were bounded could make the
	// sum wrap, so it is added checked and an overflow is "short".
	var need int64
	overflow := false
	page := baoguan.OrderFilter{MerchantID: m.ID, BatchID: b.ID, Page: baoguan.Page{Limit: 1000}}
	for {
		os, err := tx.ListOrders(page)
		if err != nil {
			return 0, err
		}
		for _, o := range os {
			if o.PayStatus == baoguan.PayNotPayed || o.PayStatus == baoguan.PayFailed {
				todo = append(todo, o)
				if o.Channel == baoguan.ChannelAuto && !overflow {
					if sum, ok := baoguan.AddAmounts(need, o.Amount); ok && o.Amount >= 0 {
						need = sum
					} else {
						overflow = true
					}
				}
			}
		}
		if len(os) < page.Limit {
			break
		}
		page.Cursor = os[len(os)-1].ID
	}
	if cards {
		f, err := fundingCardsTx(tx, m.ID)
		if err != nil {
			return 0, err
		}
		if err := checkFunding(f, 0, false); err != nil {
			return 0, err
		}
		if len(todo) > 0 {
			if err := checkFunding(f, need, overflow); err != nil {
				return 0, err
			}
		}
	}
	if len(todo) == 0 {
		msg := "batch has no order waiting for payment"
		if cards {
			msg = "没有需要被分配执行的订单" // payzero's own text for 50054
		}
		return 0, &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonNothingToPay, Message: msg}
	}
	if mm.Mode == baoguan.ModeSandbox && (overflow || need > mm.FundingBalance) {
		return 0, &baoguan.Error{Code: baoguan.EINSUFFICIENT, Reason: ReasonFundingShort,
			Message: "the funding account balance " + baoguan.FormatYuan(mm.FundingBalance) + " cannot pay this batch (" + amountText(need, overflow) + ")"}
	}
	for i := range todo {
		if err := s.rearrangeTx(tx, q, &todo[i]); err != nil {
			return 0, err
		}
	}
	b.PayCalls++
	return len(todo), tx.UpdateBatch(b)
}

// amountText renders a sum for a message: yuan, or "more than the maximum
// amount" when it overflowed.
func amountText(v int64, overflow bool) string {
	if overflow {
		return "more than " + baoguan.FormatYuan(baoguan.MaxAmount)
	}
	return baoguan.FormatYuan(v)
}

// MaxBatchPageSize is the largest page of a batch's orders (payzero 2.5).
const MaxBatchPageSize = 100

// BatchOrderPage returns one page of a batch's orders, newest first, each
// with its declarations, and the batch's order count (payzero 2.5). page
// counts from 1. Errors: ENOTFOUND; EINVALID field page or pagesize.
func (s *Service) BatchOrderPage(ctx context.Context, m *baoguan.Merchant, batchID int64, page, size int) ([]OrderView, int, error) {
	if page < 1 {
		return nil, 0, baoguan.FieldError("page", "page counts from 1")
	}
	if size < 1 || size > MaxBatchPageSize {
		return nil, 0, baoguan.FieldError("pagesize", "pagesize must be from 1 to %d", MaxBatchPageSize)
	}
	var out []OrderView
	total := 0
	err := s.view(ctx, func(tx baoguan.Tx) error {
		if _, err := tx.Batch(m.ID, batchID); err != nil {
			return err
		}
		var err error
		f := baoguan.OrderFilter{MerchantID: m.ID, BatchID: batchID}
		if total, err = tx.CountOrders(f); err != nil {
			return err
		}
		skip := (page - 1) * size
		if skip >= total {
			return nil
		}
		f.Newest = true
		for skip > 0 {
			f.Limit = min(skip, 1000)
			os, err := tx.ListOrders(f)
			if err != nil || len(os) == 0 {
				return err
			}
			skip -= len(os)
			f.Cursor = os[len(os)-1].ID
		}
		f.Limit = size
		os, err := tx.ListOrders(f)
		if err != nil {
			return err
		}
		for i := range os {
			v := OrderView{Order: &os[i]}
			if v.Declarations, err = tx.Declarations(m.ID, os[i].ID); err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, total, err
}
