package core

import (
	"context"
	"time"

	"github.com/baoguan/baoguan"
)

// Bills: the money that moved for a merchant in a period, for statements
// (WiseCashier's download_bill): the paid orders created in it and the
// successful refunds created in it.

// Transactions are a merchant's paid orders and successful refunds of a
// period.
type Transactions struct {
	Orders  []baoguan.Order
	Refunds []RefundLine
}

// RefundLine is a successful refund with its order and its CNY share (the
// refund converted at the payment's recorded rate).
type RefundLine struct {
	Refund baoguan.Refund
	Order  *baoguan.Order
	CNY    int64
}

// billPage is how many rows one read takes.
const billPage = 500

// Transactions returns the merchant's orders created in [from, to) that are
// paid, and its refunds created in [from, to) that succeeded, each oldest
// first.
func (s *Service) Transactions(ctx context.Context, m *baoguan.Merchant, from, to time.Time) (*Transactions, error) {
	out := &Transactions{}
	err := s.view(ctx, func(tx baoguan.Tx) error {
		f := baoguan.OrderFilter{MerchantID: m.ID, PayStatus: baoguan.PaySucceed, From: from, To: to, Page: baoguan.Page{Limit: billPage}}
		for {
			os, err := tx.ListOrders(f)
			if err != nil {
				return err
			}
			out.Orders = append(out.Orders, os...)
			if len(os) < f.Limit {
				break
			}
			f.Cursor = os[len(os)-1].ID
		}
		orders := map[int64]*baoguan.Order{}
		rf := baoguan.RefundFilter{MerchantID: m.ID, Status: baoguan.RefundSucceed, From: from, To: to, Page: baoguan.Page{Limit: billPage}}
		for {
			rs, err := tx.ListRefunds(rf)
			if err != nil {
				return err
			}
			for _, r := range rs {
				o := orders[r.OrderID]
				if o == nil {
					if o, err = tx.Order(m.ID, r.OrderID); err != nil {
						return err
					}
					orders[r.OrderID] = o
				}
				out.Refunds = append(out.Refunds, RefundLine{Refund: r, Order: o, CNY: r.CNYAmount})
			}
			if len(rs) < rf.Limit {
				return nil
			}
			rf.Cursor = rs[len(rs)-1].ID
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
