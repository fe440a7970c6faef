package baoguan

import "time"

// An order in several currencies: its amount is minor units of its
// currency; a payment in another currency than CNY records its rate and the
// CNY paid once (Payment.ExchangeRate, CNYAmount, SettleRate); everything
// customs sees is CNY.

// checkCurrency applies the currency rules of an order: a currency of the
// table (Currencies), and another than CNY only for a wallet mode, since a
// wallet is what converts the payer's yuan (the other channels — mock,
// auto, external, qr, quick — pay in CNY). EINVALID field currency, reason
// bad_currency.
func (o *Order) checkCurrency() error {
	cur, err := LookupCurrency(o.Currency)
	if err != nil {
		return err
	}
	if cur.Code != CNY.Code && !o.Channel.Wallet() {
		return &Error{Code: EINVALID, Field: "currency", Reason: "bad_currency",
			Message: "currency must be CNY: only a wallet payment (micro, native, jsapi, miniprogram, app, wap, desk) converts another currency"}
	}
	return nil
}

// Foreign returns the foreign payment an order's recorded payment is, and
// whether it is one: a paid order in another currency than CNY whose rate
// was recorded.
func (o *Order) Foreign() (ForeignPayment, bool) {
	if o.Currency == "" || o.Currency == CNY.Code || o.Payment.ExchangeRate.IsZero() {
		return ForeignPayment{}, false
	}
	return ForeignPayment{Currency: o.Currency, Amount: o.Amount, Rate: o.Payment.ExchangeRate,
		PaidCNY: o.Payment.CNYAmount, SettleRate: o.Payment.SettleRate}, true
}

// one is the rate of CNY to itself.
var one = MustRate("1")

// PaidCNY is the rate of the order's payment and the CNY (fen) it is worth:
// the recorded rate and CNY paid of a foreign payment, rate 1 and the
// amount for a CNY order. An unpaid foreign order has none yet (zero).
func (o *Order) PaidCNY() (Rate, int64) {
	if o.Currency == "" || o.Currency == CNY.Code {
		return one, o.Amount
	}
	if p, ok := o.Foreign(); ok {
		return p.Rate, p.PaidCNY
	}
	return Rate{}, 0
}

// RefundedCNY is the CNY share of what was refunded (o.Refunded, in the
// order's currency), at the payment's recorded rate: the refunded total is
// converted once (so shares of partial refunds never add up past the
// payment) and a full refund is exactly the CNY paid.
func (o *Order) RefundedCNY() int64 {
	return o.refundedCNY(o.Refunded)
}

func (o *Order) refundedCNY(refunded int64) int64 {
	refunded = min(max(refunded, 0), o.Amount)
	if p, ok := o.Foreign(); ok {
		v, err := p.RefundedCNY(refunded)
		if err != nil {
			return 0
		}
		return v
	}
	if o.Currency == "" || o.Currency == CNY.Code {
		return refunded
	}
	return 0
}

// RefundCNY is the CNY share of a refund of amount (order currency) made
// after refunded was already refunded: RefundedCNY after it less
// RefundedCNY before.
func (o *Order) RefundCNY(refunded, amount int64) int64 {
	return o.refundedCNY(refunded+amount) - o.refundedCNY(refunded)
}

// ExchangeRate is an operator's rate of a currency to CNY (`baoguan rate
// set`), which wins over the rate source of the adapters.
type ExchangeRate struct {
	Currency  string
	Rate      Rate
	UpdatedAt time.Time
}
