package sandbox

import (
	"context"

	"github.com/baoguan/baoguan"
)

// Rates is the sandbox's rate table, CNY per unit of each currency of
// baoguan.Currencies: fixed figures, not market rates, the WiseCashier
// document's where it gives one (HKD §4.2, USD §4.11). An operator's rate
// (`baoguan rate set`) wins over it. docs/sandbox.md lists it.
var Rates = map[string]baoguan.Rate{
	"CNY": baoguan.MustRate("1"),
	"GBP": baoguan.MustRate("8.9327"),
	"HKD": baoguan.MustRate("0.8789"),
	"USD": baoguan.MustRate("6.8575"),
	"JPY": baoguan.MustRate("0.061853"),
	"CAD": baoguan.MustRate("5.2471"),
	"AUD": baoguan.MustRate("4.9532"),
	"EUR": baoguan.MustRate("7.8563"),
	"NZD": baoguan.MustRate("4.6812"),
	"KRW": baoguan.MustRate("0.006072"),
	"THB": baoguan.MustRate("0.2053"),
}

// Rate answers the table's rate; a currency outside it is EINVALID.
func (*Channel) Rate(ctx context.Context, r baoguan.RateRequest) (baoguan.Rate, error) {
	if err := ctx.Err(); err != nil {
		return baoguan.Rate{}, err
	}
	rate, ok := Rates[r.Currency.Code]
	if !ok {
		return baoguan.Rate{}, &baoguan.Error{Code: baoguan.EINVALID, Field: "currency", Reason: "bad_currency", Message: "the sandbox has no rate for " + r.Currency.Code}
	}
	return rate, nil
}
