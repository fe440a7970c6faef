package core_test

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

// Amounts the core takes as given (funding balances, cards) or sums over
// stored rows (batches, cards, refunds, the refunded total) are bounded
// and summed without wrapping, whatever is stored: rows written before
// amounts had a maximum can hold anything, so these tests write such rows
// through the store and check that the core refuses instead of wrapping.

// TestFundingAmountsBounded tries every amount an operator or merchant
// gives the funding rules: a merchant's funding balance (create and
// update) and each funding card's balance, with values around the limits.
func TestFundingAmountsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	bad := []int64{-1, baoguan.MaxAmount + 1, math.MaxInt64, math.MinInt64}
	for _, v := range bad {
		name := strconv.FormatInt(v, 10)
		if _, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{Name: "m" + name, FundingBalance: v}); baoguan.ErrorField(err) != "funding_balance" || baoguan.ErrorCode(err) != baoguan.EINVALID {
			t.Errorf("CreateMerchant funding %s: %v, want EINVALID funding_balance", name, err)
		}
		if _, err := e.svc.UpdateMerchant(e.ctx, e.m.No, func(m *baoguan.Merchant) error { m.FundingBalance = v; return nil }); baoguan.ErrorField(err) != "funding_balance" {
			t.Errorf("UpdateMerchant funding %s: %v, want EINVALID funding_balance", name, err)
		}
		cards := []baoguan.FundingCard{
			{BankCode: baoguan.TestBankCode, AcctNo: "6222020202020202027", AcctName: "张三", Signed: true, Balance: 100},
			{BankCode: baoguan.TestBankCode, AcctNo: "6222020202020202027", AcctName: "张三", Signed: true, Balance: v},
		}
		if _, err := e.svc.ReplaceFundingCards(e.ctx, e.m, cards); baoguan.ErrorField(err) != "cards[1].balance" {
			t.Errorf("ReplaceFundingCards balance %s: %v, want EINVALID cards[1].balance", name, err)
		}
	}
	for _, v := range []int64{0, 1, baoguan.MaxAmount} {
		if _, err := e.svc.UpdateMerchant(e.ctx, e.m.No, func(m *baoguan.Merchant) error { m.FundingBalance = v; return nil }); err != nil {
			t.Errorf("UpdateMerchant funding %d: %v", v, err)
		}
	}
	many := make([]baoguan.FundingCard, core.MaxFundingCards+1)
	for i := range many {
		many[i] = baoguan.FundingCard{BankCode: baoguan.TestBankCode, AcctNo: "6222020202020202027", AcctName: "张三", Signed: true, Balance: baoguan.MaxAmount}
	}
	if _, err := e.svc.ReplaceFundingCards(e.ctx, e.m, many); baoguan.ErrorField(err) != "cards" {
		t.Errorf("%d cards: %v, want EINVALID cards", len(many), err)
	}
	if _, err := e.svc.ReplaceFundingCards(e.ctx, e.m, many[:core.MaxFundingCards]); err != nil {
		t.Errorf("%d cards of the maximum balance: %v", 100, err)
	}
}

// autoBatch stores a batch of n automatic-payment orders of 100 fen each
// and returns it.
func autoBatch(t *testing.T, e *env, prefix string, n int) *baoguan.Batch {
	t.Helper()
	var in core.BatchInput
	for i := range n {
		in.Orders = append(in.Orders, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: prefix + strconv.Itoa(i), Amount: 100, Subject: "s", Channel: baoguan.ChannelAuto,
			Payer: baoguan.Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
			Declarations: []baoguan.DeclarationSpec{{Customs: "HG016"}}})
	}
	b, _, err := e.svc.CreateBatch(e.ctx, e.m, in)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setAmounts overwrites stored order amounts the way a row written before
// the maximum existed could hold them.
func setAmounts(t *testing.T, e *env, amounts map[string]int64) {
	t.Helper()
	err := e.svc.Store.Update(e.ctx, func(tx baoguan.Tx) error {
		for no, v := range amounts {
			o, err := tx.OrderByNo(e.m.ID, no)
			if err != nil {
				return err
			}
			o.Amount = v
			if err := tx.UpdateOrder(o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStoredAmountsCannotWrap sums stored rows whose sum does not fit in
// an int64: the batch's automatic payments against the sandbox funding
// account and against funding cards, recorded card balances, open
// refunds and the refunded total. Each sum once wrapped to a small or
// negative number and let the payment through (or refused a payment the
// cards covered); now an overflowing need is short and an overflowing
// balance covers any need.
func TestStoredAmountsCannotWrap(t *testing.T) {
	t.Parallel()
	half := int64(math.MaxInt64/2 + 1) // two of these wrap to math.MinInt64

	t.Run("batch against the funding account", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 0)
		autoBatch(t, e, "W", 3)
		b := autoBatch(t, e, "X", 2)
		setAmounts(t, e, map[string]int64{"X0": half, "X1": half})
		if _, err := e.svc.PayBatch(e.ctx, e.m, b.ID); baoguan.ErrorReason(err) != core.ReasonFundingShort {
			t.Fatalf("PayBatch of orders summing past int64: %v, want funding_short", err)
		}
		if got, _, err := e.svc.Batch(e.ctx, e.m, b.ID); err != nil || got.PayCalls != 0 {
			t.Errorf("the refused batch was scheduled: %+v %v", got, err)
		}
	})

	t.Run("batch against funding cards", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 0)
		card := func(balance int64) baoguan.FundingCard {
			return baoguan.FundingCard{BankCode: baoguan.TestBankCode, AcctNo: "6222020202020202027", AcctName: "张三", Signed: true, Balance: balance}
		}
		// Cards recorded before balances were bounded: their sum wraps
		// negative, which refused every payment.
		if err := e.svc.Store.Update(e.ctx, func(tx baoguan.Tx) error {
			return tx.ReplaceFundingCards(e.m.ID, []baoguan.FundingCard{card(half), card(half)})
		}); err != nil {
			t.Fatal(err)
		}
		ok := autoBatch(t, e, "C", 2)
		if n, err := e.svc.PayBatchFromCards(e.ctx, e.m, ok.ID); err != nil || n != 2 {
			t.Errorf("PayBatchFromCards with card balances summing past int64: %d %v, want 2 scheduled", n, err)
		}
		// Orders whose sum wraps negative passed any balance.
		if _, err := e.svc.ReplaceFundingCards(e.ctx, e.m, []baoguan.FundingCard{card(baoguan.MaxAmount)}); err != nil {
			t.Fatal(err)
		}
		b := autoBatch(t, e, "Y", 2)
		setAmounts(t, e, map[string]int64{"Y0": half, "Y1": half})
		if _, err := e.svc.PayBatchFromCards(e.ctx, e.m, b.ID); baoguan.ErrorReason(err) != core.ReasonCardBalanceShort {
			t.Fatalf("PayBatchFromCards of orders summing past int64: %v, want card_balance_short", err)
		}
	})

	t.Run("refunds", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 0)
		e.order(t, "R1", "110105199001011232", baoguan.ChannelMock, 1000)
		e.order(t, "R2", "110105199001011232", baoguan.ChannelMock, 1000)
		e.drain(t, time.Minute)
		// Open refunds stored before amounts were bounded.
		if err := e.svc.Store.Update(e.ctx, func(tx baoguan.Tx) error {
			o, err := tx.OrderByNo(e.m.ID, "R1")
			if err != nil {
				return err
			}
			for i, v := range []int64{half, half} {
				r := &baoguan.Refund{MerchantID: e.m.ID, OrderID: o.ID, MerchantOrderNo: o.MerchantOrderNo, MerchantRefundNo: "OLD" + strconv.Itoa(i),
					Amount: v, Status: baoguan.RefundRequested, Protocol: "native"}
				if err := tx.CreateRefund(r); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, in := range []core.RefundInput{
			{RefundNo: "N1", OrderNo: "R1", Amount: 1},
			{RefundNo: "N2", OrderNo: "R1", Rest: true},
		} {
			if _, _, err := e.svc.CreateRefund(e.ctx, e.m, in); baoguan.ErrorCode(err) != baoguan.ELIMIT {
				t.Errorf("refund %+v after open refunds summing past int64: %v, want ELIMIT", in, err)
			}
		}
		// A refunded total stored above the payment: the refund job stops
		// for an operator instead of adding into a wrapped total.
		rf, _, err := e.svc.CreateRefund(e.ctx, e.m, core.RefundInput{RefundNo: "N3", OrderNo: "R2", Amount: 10})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Store.Update(e.ctx, func(tx baoguan.Tx) error {
			o, err := tx.OrderByNo(e.m.ID, "R2")
			if err != nil {
				return err
			}
			o.Refunded = math.MaxInt64 - 5
			return tx.UpdateOrder(o)
		}); err != nil {
			t.Fatal(err)
		}
		e.drain(t, 10*time.Minute)
		if o := e.detail(t, "R2").Order; o.Refunded != math.MaxInt64-5 {
			t.Errorf("refunded total after a refund that overflows it: %d", o.Refunded)
		}
		dead, err := e.svc.Jobs(e.ctx, baoguan.JobFilter{State: baoguan.JobDead})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, j := range dead {
			found = found || j.Kind == baoguan.JobRefund && j.RefID == rf.ID
		}
		if !found {
			t.Errorf("the refund job whose total overflows is not dead: %+v", dead)
		}
	})
}

// debitChannel pays as the sandbox does but reports its own debit.
type debitChannel struct {
	*sandbox.Channel
	debit int64
}

func (c debitChannel) Pay(ctx context.Context, r baoguan.PayRequest) (baoguan.PayResult, error) {
	res, err := c.Channel.Pay(ctx, r)
	if res.Status == baoguan.PaySucceed {
		res.Debit = c.debit
	}
	return res, err
}

// TestChannelDebitBounded: a channel's debit outside 0…MaxAmount is not
// applied to the funding account (a negative one would credit it); the
// pay job stops for an operator and the order stays unpaid.
func TestChannelDebitBounded(t *testing.T) {
	t.Parallel()
	for _, debit := range []int64{-100, baoguan.MaxAmount + 1, math.MinInt64} {
		t.Run(strconv.FormatInt(debit, 10), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 0)
			e.svc.Sandbox.Channel = debitChannel{Channel: sandbox.NewChannel(), debit: debit}
			before := e.m.FundingBalance
			e.order(t, "D1", "110105199001011232", baoguan.ChannelAuto, 100)
			e.drain(t, 10*time.Minute)
			if o := e.detail(t, "D1").Order; o.PayStatus == baoguan.PaySucceed {
				t.Errorf("order paid with a debit of %d", debit)
			}
			m, err := e.svc.MerchantByNo(e.ctx, e.m.No)
			if err != nil || m.FundingBalance != before {
				t.Errorf("funding balance %d after a debit of %d, want %d (%v)", m.FundingBalance, debit, before, err)
			}
			if err := e.svc.Store.Update(e.ctx, func(tx baoguan.Tx) error {
				_, err := tx.DebitFunding(e.m.ID, debit)
				return err
			}); baoguan.ErrorCode(err) != baoguan.EINVALID {
				t.Errorf("store debit of %d: %v, want EINVALID", debit, err)
			}
		})
	}
}
