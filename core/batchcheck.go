package core

import (
	"context"
	"fmt"
	"sort"

	"github.com/baoguan/baoguan"
)

// Problem is one thing wrong with one order of an upload: its index in
// the input, the field and the message the order validation gave.
type Problem struct {
	Index   int
	Field   string
	Code    string
	Reason  string
	Message string
}

// CheckBatch validates every order of an upload with the same rules
// CreateBatch applies, and reports every problem, not only the first, so
// that a spreadsheet can be fixed in one pass. It writes nothing. Order
// numbers that appear twice in the upload, or that the merchant already
// used, are problems too. An empty result means CreateBatch will accept
// the orders (unless they change meanwhile).
func (s *Service) CheckBatch(ctx context.Context, m *baoguan.Merchant, orders []OrderInput) ([]Problem, error) {
	var out []Problem
	add := func(i int, err error) {
		p := Problem{Index: i, Code: baoguan.ErrorCode(err), Message: err.Error()}
		if e, ok := err.(*baoguan.Error); ok {
			p.Field, p.Reason, p.Message = e.Field, e.Reason, e.Message
		}
		out = append(out, p)
	}
	if len(orders) > baoguan.MaxBatchOrders {
		add(baoguan.MaxBatchOrders, &baoguan.Error{Code: baoguan.ETOOLARGE, Field: "orders", Reason: "batch_too_large",
			Message: fmt.Sprintf("a batch holds at most %d orders, got %d", baoguan.MaxBatchOrders, len(orders))})
	}
	seen := make(map[string]int, len(orders))
	for i := range orders {
		in := orders[i] // prepareOrder fills defaults in; the caller's copy stays as given
		in.Hold = true
		if _, err := s.prepareOrder(m, &in); err != nil {
			add(i, err)
			continue
		}
		no := in.Order.MerchantOrderNo
		if j, dup := seen[no]; dup {
			add(i, &baoguan.Error{Code: baoguan.EINVALID, Field: "merchant_order_no", Reason: "duplicate_order_no",
				Message: fmt.Sprintf("order number %s appears twice in the upload (also at #%d)", no, j+1)})
			continue
		}
		seen[no] = i
	}
	err := s.view(ctx, func(tx baoguan.Tx) error {
		for i := range orders {
			no := orders[i].Order.MerchantOrderNo
			if j, ok := seen[no]; !ok || j != i {
				continue
			}
			// The order of a batch still loading holds its number too.
			_, _, err := tx.OrderFingerprint(m.ID, no)
			switch {
			case err == nil:
				add(i, &baoguan.Error{Code: baoguan.ECONFLICT, Field: "merchant_order_no", Reason: "duplicate_order_no",
					Message: "order " + no + " already exists"})
			case baoguan.ErrorCode(err) != baoguan.ENOTFOUND:
				return err
			}
		}
		return nil
	})
	sort.SliceStable(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out, err
}
