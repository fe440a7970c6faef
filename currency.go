package baoguan

import (
	"math/bits"
	"strconv"
	"strings"
)

// Currency is a currency an order may be priced in. An amount is always an
// int64 count of the currency's minor unit: fen for CNY, cents for USD,
// whole yen for JPY (exponent 0).
//
// The set is WiseCashier's (seed 002, §11.3 货币编码). Codes and exponents
// are ISO 4217's; Customs is the currency code of the China customs code
// table (海关币制代码), the numeric code customs messages use: 142 for CNY,
// the only currency a CEB411 payment record may carry (its schema fixes
// currency to 142; ../shared/customs/xsd/import-202205.xsd), which is why
// what customs receives is always converted to CNY.
//
// Sources for the customs codes: the customs currency table as reproduced
// in public integrations of the E-Port interfaces (for example
// tp-common CustomsConstant.Currency and com.pay.eport
// CustomsCurrencyCodeEnum on GitHub: HKD 110, JPY 116, THB 136, CNY 142,
// EUR 300, GBP 303, CAD 501, USD 502, AUD 601, NZD 609). KRW is 133: in
// that table a currency carries the customs country code of its issuer,
// and the Republic of Korea is 133 in the customs country table.
type Currency struct {
	Code     string // ISO 4217 alphabetic code, e.g. "HKD"
	Numeric  string // ISO 4217 numeric code, e.g. "344"
	Exponent int    // digits of the minor unit: 2, or 0 for JPY and KRW
	Customs  string // China customs currency code (海关币制代码), e.g. "110"
	Name     string // Chinese name, as WiseCashier §11.3 prints it
}

// CNY is the renminbi, the currency of every existing protocol and the
// only one customs receives.
var CNY = Currency{Code: "CNY", Numeric: "156", Exponent: 2, Customs: "142", Name: "人民币"}

// currencies lists §11.3 in the document's order.
var currencies = []Currency{
	CNY,
	{Code: "GBP", Numeric: "826", Exponent: 2, Customs: "303", Name: "英镑"},
	{Code: "HKD", Numeric: "344", Exponent: 2, Customs: "110", Name: "港币"},
	{Code: "USD", Numeric: "840", Exponent: 2, Customs: "502", Name: "美元"},
	{Code: "JPY", Numeric: "392", Exponent: 0, Customs: "116", Name: "日元"},
	{Code: "CAD", Numeric: "124", Exponent: 2, Customs: "501", Name: "加拿大元"},
	{Code: "AUD", Numeric: "036", Exponent: 2, Customs: "601", Name: "澳元"},
	{Code: "EUR", Numeric: "978", Exponent: 2, Customs: "300", Name: "欧元"},
	{Code: "NZD", Numeric: "554", Exponent: 2, Customs: "609", Name: "新西兰元"},
	{Code: "KRW", Numeric: "410", Exponent: 0, Customs: "133", Name: "韩元"},
	{Code: "THB", Numeric: "764", Exponent: 2, Customs: "136", Name: "泰铢"},
}

// Currencies returns every currency baoguan accepts, CNY first.
func Currencies() []Currency {
	return append([]Currency(nil), currencies...)
}

// LookupCurrency returns the currency with ISO 4217 code code, which must
// be written in upper case as ISO prints it ("HKD", not "hkd"). Anything
// else is EINVALID on field "currency", reason "bad_currency".
func LookupCurrency(code string) (Currency, error) {
	for _, c := range currencies {
		if c.Code == code {
			return c, nil
		}
	}
	names := make([]string, len(currencies))
	for i, c := range currencies {
		names[i] = c.Code
	}
	return Currency{}, &Error{Code: EINVALID, Field: "currency", Reason: "bad_currency",
		Message: "currency " + strconvQuote(code) + " is not supported; use one of " + strings.Join(names, " ")}
}

// ParseAmount converts a decimal amount in cur's major unit ("100", "0.10",
// "-3.5") into minor units, exactly: the text is read digit by digit, never
// through a float. More decimals than cur.Exponent is an error unless the
// extra ones are zeros ("100.00" yen is 100; "100.5" yen is refused); so is
// a magnitude above MaxAmount, an exponent, a thousands separator or any
// other character. Surrounding ASCII white space is ignored (not other
// Unicode spaces). Errors are EINVALID naming field, reason "bad_amount".
func ParseAmount(field string, cur Currency, s string) (int64, error) {
	v, _, problem := parseDecimal(s, cur.Exponent, true, MaxAmount)
	if problem == "is too large" {
		return 0, amountTooLarge(field)
	}
	if problem != "" {
		return 0, &Error{Code: EINVALID, Field: field, Reason: "bad_amount", Message: field + " " + problem}
	}
	return v, nil
}

// FormatAmount renders minor units of cur in its major unit with exactly
// cur.Exponent decimals: 4023 CNY → "40.23", 100 JPY → "100".
func FormatAmount(cur Currency, minor int64) string {
	return formatScaled(minor, cur.Exponent)
}

// RatePlaces is how many decimals a Rate keeps. Rates in the field have
// four to six ("6.8575", "0.804740"); eight leave room for the smallest
// rates to CNY (KRW is about 0.0053) without losing a digit.
const RatePlaces = 8

// MaxRate bounds a rate: no currency is worth 100,000 yuan a unit, and the
// bound keeps amount × rate inside 128 bits with room to spare.
const MaxRate = 100_000

// Rate is an exchange rate to CNY, exact: how many yuan one unit of the
// foreign currency is worth (WiseCashier's exchange_rate: "一个外币 = 多少
// 个人民币"). It is kept as an integer count of 10^-8 yuan, not a float, so
// "6.8575" is 6.8575 exactly and converting with it is exact decimal
// arithmetic; the number of decimals it was written with is kept too, so
// "0.860000" prints back as "0.860000". The zero Rate means "no rate".
type Rate struct {
	units  int64 // value × 10^RatePlaces
	places int8  // decimals to print (0 … RatePlaces)
}

// ParseRate reads an exchange rate: a plain positive decimal of at most
// RatePlaces decimals (zeros beyond are accepted), at most MaxRate, no sign,
// no exponent. Surrounding ASCII white space is ignored. Errors are
// EINVALID naming field, reason "bad_rate".
func ParseRate(field, s string) (Rate, error) {
	units, given, problem := parseDecimal(s, RatePlaces, false, MaxRate*pow10(RatePlaces))
	if problem == "" && units == 0 {
		problem = "must be above zero"
	}
	if problem == "is too large" {
		problem = "is above the maximum rate " + strconv.Itoa(MaxRate)
	}
	if problem != "" {
		return Rate{}, &Error{Code: EINVALID, Field: field, Reason: "bad_rate", Message: field + " " + problem}
	}
	return Rate{units: units, places: int8(given)}, nil
}

// MustRate is ParseRate for constants in code and tests; it panics on a
// malformed rate.
func MustRate(s string) Rate {
	r, err := ParseRate("rate", s)
	if err != nil {
		panic(err)
	}
	return r
}

// IsZero reports whether r is the zero Rate (no rate).
func (r Rate) IsZero() bool { return r.units == 0 }

// Equal reports whether r and o are the same number, however written:
// "0.86" equals "0.860000".
func (r Rate) Equal(o Rate) bool { return r.units == o.units }

// String renders r with the decimals it was written with: "6.8575",
// "0.860000", "1". The zero Rate is "".
func (r Rate) String() string {
	if r.units == 0 {
		return ""
	}
	full := formatScaled(r.units, RatePlaces)
	// Drop the decimals beyond those given; they are zeros by construction.
	cut := RatePlaces - int(r.places)
	full = full[:len(full)-cut]
	return strings.TrimSuffix(full, ".")
}

// MarshalText writes r as String does, so a Rate stored as JSON or text
// keeps its exact value and its written form.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads what MarshalText wrote; "" is the zero Rate.
func (r *Rate) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = Rate{}
		return nil
	}
	v, err := ParseRate("rate", string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ToCNY converts amount minor units of cur into CNY fen at rate (yuan per
// unit of cur), rounding half up to the fen: the exact product is computed
// in 128 bits, and a remainder of half a fen or more rounds away from
// zero. Half-up (四舍五入) is the rounding Chinese commercial and customs
// practice applies to money, what payers and wallets expect to see, and it
// is symmetric for refunds (see ForeignPayment.RefundedCNY, which keeps a
// sum of rounded refunds from ever passing the rounded payment). For CNY
// itself the rate must be exactly 1 and the amount is returned unchanged.
//
// Errors: EINVALID naming field (reason "bad_amount") when amount is out of
// ±MaxAmount or the result would be above MaxAmount; EINVALID on
// "exchange_rate" (reason "bad_rate") for a zero rate or a CNY rate other
// than 1.
func ToCNY(field string, amount int64, cur Currency, rate Rate) (int64, error) {
	if amount > MaxAmount || amount < -MaxAmount {
		return 0, amountTooLarge(field)
	}
	if rate.units <= 0 {
		return 0, &Error{Code: EINVALID, Field: "exchange_rate", Reason: "bad_rate", Message: "exchange_rate is required to convert " + cur.Code + " to CNY"}
	}
	if cur.Code == CNY.Code {
		if rate.units != pow10(RatePlaces) {
			return 0, &Error{Code: EINVALID, Field: "exchange_rate", Reason: "bad_rate", Message: "exchange_rate of CNY to CNY must be 1, not " + rate.String()}
		}
		return amount, nil
	}
	neg := amount < 0
	a := uint64(amount)
	if neg {
		a = uint64(-amount)
	}
	// fen = amount / 10^exp × units / 10^8 × 100 = amount × units / 10^(exp+6).
	// The exponent is 0 or 2 (3 would also fit: 10^9), so the divisor fits.
	d := uint64(pow10(cur.Exponent + RatePlaces - CNY.Exponent))
	hi, lo := bits.Mul64(a, uint64(rate.units))
	if hi >= d { // the quotient would not fit 64 bits, let alone MaxAmount
		return 0, amountTooLarge(field)
	}
	q, rem := bits.Div64(hi, lo, d)
	if rem >= d-rem { // rem ≥ d/2 without overflow: half a fen or more
		q++
	}
	if q > uint64(MaxAmount) {
		return 0, amountTooLarge(field)
	}
	if neg {
		return -int64(q), nil
	}
	return int64(q), nil
}

// ForeignPayment is what a payment made in a currency other than CNY fixes
// once, when it succeeds, so that what customs is told never drifts with
// later rates: the order's currency and amount, the rate the payment used,
// the CNY the payer paid, and the settlement rate the wallet reported.
// Refunds in the order's currency are converted at the payment's Rate (see
// RefundedCNY); what customs sees is PaidCNY − RefundedCNY(refunded).
type ForeignPayment struct {
	Currency   string // ISO 4217 code of the order (and of Amount)
	Amount     int64  // paid, minor units of Currency
	Rate       Rate   // exchange_rate: CNY per unit of Currency, as used
	PaidCNY    int64  // pay_amount: fen the payer paid (pay_currency CNY)
	SettleRate Rate   // settle_rate as the wallet reported it; zero if none
}

// NewForeignPayment records a payment of amount minor units of cur at rate,
// computing the CNY paid with ToCNY. Wallets that report the CNY they
// charged should set PaidCNY from their answer instead, and check the
// result with Validate.
func NewForeignPayment(cur Currency, amount int64, rate, settle Rate) (ForeignPayment, error) {
	if err := CheckPositiveAmount("amount", amount); err != nil {
		return ForeignPayment{}, err
	}
	cny, err := ToCNY("pay_amount", amount, cur, rate)
	if err != nil {
		return ForeignPayment{}, err
	}
	return ForeignPayment{Currency: cur.Code, Amount: amount, Rate: rate, PaidCNY: cny, SettleRate: settle}, nil
}

// Validate checks a recorded foreign payment: a known currency, positive
// amounts within MaxAmount, and a rate. EINVALID naming the field.
func (p ForeignPayment) Validate() error {
	if _, err := LookupCurrency(p.Currency); err != nil {
		return err
	}
	if err := CheckPositiveAmount("amount", p.Amount); err != nil {
		return err
	}
	if p.Rate.IsZero() {
		return &Error{Code: EINVALID, Field: "exchange_rate", Reason: "bad_rate", Message: "exchange_rate is required"}
	}
	return CheckPositiveAmount("pay_amount", p.PaidCNY)
}

// RefundedCNY returns the CNY (fen) share of refunded, the total refunded
// so far in the order's currency. It converts the total, not each refund,
// at the payment's rate and caps it at PaidCNY, and a refund of the whole
// amount is exactly PaidCNY: so the declarable PaidCNY − RefundedCNY never
// goes below zero, whatever the number and sizes of partial refunds, and a
// refund's own CNY share is RefundedCNY(after) − RefundedCNY(before).
// Errors: EINVALID on "refunded" for a negative total or one above Amount.
func (p ForeignPayment) RefundedCNY(refunded int64) (int64, error) {
	if refunded < 0 || refunded > p.Amount {
		return 0, &Error{Code: EINVALID, Field: "refunded", Reason: "bad_amount",
			Message: "refunded " + strconv.FormatInt(refunded, 10) + " is outside 0 … the paid amount " + strconv.FormatInt(p.Amount, 10)}
	}
	if refunded == p.Amount {
		return p.PaidCNY, nil
	}
	cur, err := LookupCurrency(p.Currency)
	if err != nil {
		return 0, err
	}
	v, err := ToCNY("refunded", refunded, cur, p.Rate)
	if err != nil {
		return 0, err
	}
	return min(v, p.PaidCNY), nil
}
