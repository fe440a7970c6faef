package core

import (
	"context"

	"github.com/baoguan/baoguan"
)

// Rates: the rate of a currency to CNY. An operator's rate (`baoguan rate
// set`, kept in the store so every instance uses it) wins; otherwise the
// rate source of the adapters of the merchant's mode (the sandbox's fixed
// table). A payment records the rate it was made at once and for good
// (Payment.ExchangeRate), so what customs is told never drifts with later
// rates.

// Rate returns the current rate of cur to CNY for a merchant (nil: the
// sandbox's). CNY is 1. Errors: ESTATE reason no_rate_source when neither
// the operator nor the adapters give one; the rate source's errors.
func (s *Service) Rate(ctx context.Context, m *baoguan.Merchant, cur baoguan.Currency) (baoguan.Rate, error) {
	if cur.Code == baoguan.CNY.Code {
		return baoguan.MustRate("1"), nil
	}
	var rs []baoguan.ExchangeRate
	if err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		rs, err = tx.Rates()
		return err
	}); err != nil {
		return baoguan.Rate{}, err
	}
	for _, r := range rs {
		if r.Currency == cur.Code {
			return r.Rate, nil
		}
	}
	sandbox := m == nil || m.Mode == baoguan.ModeSandbox
	src := s.adapters(sandbox).Rates
	if src == nil {
		return baoguan.Rate{}, &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_rate_source",
			Message: "no rate of " + cur.Code + " to CNY: set one with baoguan rate set " + cur.Code + " RATE"}
	}
	return src.Rate(ctx, baoguan.RateRequest{Currency: cur, Merchant: m, Now: s.Now()})
}

// SetRate sets the operator's rate of a currency to CNY. Errors: EINVALID
// (currency, rate; CNY's is always 1).
func (s *Service) SetRate(ctx context.Context, code string, rate baoguan.Rate) (*baoguan.ExchangeRate, error) {
	cur, err := baoguan.LookupCurrency(code)
	if err != nil {
		return nil, err
	}
	if cur.Code == baoguan.CNY.Code {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "currency", Reason: "bad_currency", Message: "the rate of CNY to CNY is always 1"}
	}
	if rate.IsZero() {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "rate", Reason: "bad_rate", Message: "rate is required"}
	}
	r := &baoguan.ExchangeRate{Currency: cur.Code, Rate: rate}
	return r, s.update(ctx, func(tx baoguan.Tx, q *queue) error { return tx.PutRate(r) })
}

// DeleteRate removes the operator's rate of a currency, reporting whether
// there was one. EINVALID for an unknown currency.
func (s *Service) DeleteRate(ctx context.Context, code string) (bool, error) {
	cur, err := baoguan.LookupCurrency(code)
	if err != nil {
		return false, err
	}
	var gone bool
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		var err error
		gone, err = tx.DeleteRate(cur.Code)
		return err
	})
	return gone, err
}

// Rates lists the operator's rates.
func (s *Service) Rates(ctx context.Context) ([]baoguan.ExchangeRate, error) {
	var out []baoguan.ExchangeRate
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.Rates()
		return err
	})
	return out, err
}

// Quote is what an order is worth in CNY: the rate, the CNY amount and the
// settlement rate. Recorded says they are the payment's, fixed; otherwise
// they are the current rate's.
type Quote struct {
	Rate       baoguan.Rate
	CNY        int64
	SettleRate baoguan.Rate
	Recorded   bool
}

// QuoteOrder returns an order's CNY worth: the payment's recorded facts
// once it is paid, the current rate before. A CNY order is its amount at 1.
// Errors: those of Rate (the quote then holds what could be known).
func (s *Service) QuoteOrder(ctx context.Context, m *baoguan.Merchant, o *baoguan.Order) (Quote, error) {
	if rate, cny := o.PaidCNY(); !rate.IsZero() {
		q := Quote{Rate: rate, CNY: cny, SettleRate: o.Payment.SettleRate, Recorded: true}
		if o.Currency == "" || o.Currency == baoguan.CNY.Code {
			q.SettleRate, q.Recorded = rate, o.Paid()
		}
		return q, nil
	}
	cur, err := baoguan.LookupCurrency(o.Currency)
	if err != nil {
		return Quote{}, err
	}
	rate, err := s.Rate(ctx, m, cur)
	if err != nil {
		return Quote{}, err
	}
	cny, err := baoguan.ToCNY("amount", o.Amount, cur, rate)
	if err != nil {
		return Quote{Rate: rate}, err
	}
	return Quote{Rate: rate, CNY: cny}, nil
}

// payRate is the rate a payment of o is asked at: the current rate for an
// order in another currency, zero for CNY.
func (s *Service) payRate(ctx context.Context, o *baoguan.Order, m *baoguan.Merchant) (baoguan.Rate, error) {
	if o.Currency == "" || o.Currency == baoguan.CNY.Code {
		return baoguan.Rate{}, nil
	}
	cur, err := baoguan.LookupCurrency(o.Currency)
	if err != nil {
		return baoguan.Rate{}, baoguan.Permanent(err)
	}
	return s.Rate(ctx, m, cur)
}

// recordCurrency completes the currency facts of a successful payment of
// an order in another currency: the rate the channel reported, else the
// rate it was asked at; the CNY paid at that rate, rounded half up, unless
// the channel reported it. Other answers and CNY orders are left as they
// are.
func recordCurrency(o *baoguan.Order, r *baoguan.PayResult, asked baoguan.Rate) error {
	if r.Status != baoguan.PaySucceed || o.Currency == "" || o.Currency == baoguan.CNY.Code {
		return nil
	}
	p := &r.Payment
	if p.ExchangeRate.IsZero() {
		p.ExchangeRate = asked
	}
	if p.ExchangeRate.IsZero() {
		return baoguan.Permanent(&baoguan.Error{Code: baoguan.EINTERNAL, Message: "a " + o.Currency + " payment was recorded without a rate"})
	}
	if p.CNYAmount == 0 {
		cur, err := baoguan.LookupCurrency(o.Currency)
		if err != nil {
			return baoguan.Permanent(err)
		}
		fp, err := baoguan.NewForeignPayment(cur, o.Amount, p.ExchangeRate, p.SettleRate)
		if err != nil {
			return baoguan.Permanent(err)
		}
		p.CNYAmount = fp.PaidCNY
	}
	return nil
}
