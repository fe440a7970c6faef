package core

import (
	"context"
	"strconv"

	"github.com/baoguan/baoguan"
)

// EventView is a notification with its delivery attempts.
type EventView struct {
	Event    baoguan.Event
	Attempts []baoguan.Attempt
}

// OrderActivity is everything that happened to one order: its payment,
// declarations (with receipts and failure reasons), refunds, and every
// notification with its attempts — what an operations page shows.
type OrderActivity struct {
	OrderView
	Events []EventView
}

// OrderActivity returns an order with its declarations, refunds and
// notifications, the notifications masked (maskEvent). ENOTFOUND, also for another merchant's order.
func (s *Service) OrderActivity(ctx context.Context, m *baoguan.Merchant, no string) (*OrderActivity, error) {
	a := &OrderActivity{}
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if a.Order, err = tx.OrderByNo(m.ID, no); err != nil {
			return err
		}
		if a.Declarations, err = tx.Declarations(m.ID, a.Order.ID); err != nil {
			return err
		}
		if a.Refunds, err = tx.Refunds(m.ID, a.Order.ID); err != nil {
			return err
		}
		f := baoguan.EventFilter{MerchantID: m.ID, OrderID: a.Order.ID, Page: baoguan.Page{Limit: 1000}}
		es, err := tx.ListEvents(f)
		if err != nil {
			return err
		}
		known := personalValues{}
		for _, e := range es {
			as, err := tx.Attempts(e.ID)
			if err != nil {
				return err
			}
			as = s.retained(&e, as, tx.Now())
			maskEvent(&e, as, known.of(tx, &e))
			a.Events = append(a.Events, EventView{Event: e, Attempts: as})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// FindOrder finds one of the merchant's orders by its order number or,
// failing that, its payment number. ENOTFOUND.
func (s *Service) FindOrder(ctx context.Context, m *baoguan.Merchant, number string) (*baoguan.Order, error) {
	var o *baoguan.Order
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if o, err = tx.OrderByNo(m.ID, number); baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
			o, err = tx.OrderByPaymentNo(m.ID, number)
		}
		return err
	})
	return o, err
}

// OrderByID returns one of the merchant's orders by id. ENOTFOUND.
func (s *Service) OrderByID(ctx context.Context, m *baoguan.Merchant, id int64) (*baoguan.Order, error) {
	var o *baoguan.Order
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		o, err = tx.Order(m.ID, id)
		return err
	})
	return o, err
}

// EventMerchant returns the merchant an event belongs to, for operators
// who name an event by its id alone. ENOTFOUND.
func (s *Service) EventMerchant(ctx context.Context, id int64) (*baoguan.Merchant, error) {
	var m *baoguan.Merchant
	err := s.view(ctx, func(tx baoguan.Tx) error {
		// A merchant id of 0 lists every merchant's events; the one after
		// id-1 is the event itself if it exists.
		es, err := tx.ListEvents(baoguan.EventFilter{Page: baoguan.Page{Cursor: id - 1, Limit: 1}})
		if err != nil {
			return err
		}
		if len(es) == 0 || es[0].ID != id {
			return &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no event " + strconv.FormatInt(id, 10)}
		}
		m, err = tx.Merchant(es[0].MerchantID)
		return err
	})
	return m, err
}

// CountOrders counts the merchant's orders a filter selects (its cursor
// and limit ignored), for an export's progress figure.
func (s *Service) CountOrders(ctx context.Context, m *baoguan.Merchant, f baoguan.OrderFilter) (int, error) {
	f.MerchantID, f.Cursor, f.Limit = m.ID, 0, 0
	n := 0
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		n, err = tx.CountOrders(f)
		return err
	})
	return n, err
}
