package baoguan

import (
	"strconv"
	"strings"
)

// MaxAmount is the largest value one amount field may hold, in minor units
// of its currency: 10^14, that is 1,000,000,000,000.00 yuan for CNY (one
// trillion yuan), 10^14 yen for JPY. A larger amount is EINVALID naming
// the field, wherever it comes from (a parsed decimal, a JSON integer, a
// currency conversion).
//
// The figure is chosen so that no sum baoguan forms can overflow int64
// (9.22·10^18) even before it is checked: 92,233 amounts of MaxAmount fit.
// The largest sums are a batch's total (MaxBatchOrders = 10,000 orders:
// at most 10^18), the refunds of one order (every refund is at most the
// paid amount, so the open total plus a new refund is at most 2·MaxAmount),
// split fees (transport_fee + product_fee + duty ≤ 3·MaxAmount) and the
// declared total of an order's declarations to one customs code (at most
// the paid amount plus one new fee). Sums whose number of terms is not
// bounded by the domain (a merchant's funding cards, rows written before
// this limit existed) go through AddAmounts / SumAmounts / SumExceeds,
// which report overflow instead of wrapping.
//
// No real order comes near the limit: customs caps one cross-border
// e-commerce import at 5,000 yuan, and the largest B2B payment records
// are many orders of magnitude below a trillion yuan.
const MaxAmount int64 = 100_000_000_000_000

// AddAmounts returns a+b and true, or 0 and false when the sum does not
// fit in an int64. Amounts are never added with a bare + where either side
// could come from outside.
func AddAmounts(a, b int64) (int64, bool) {
	s := a + b
	// Overflow happened iff a and b have the same sign and s has the other.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, false
	}
	return s, true
}

// SumAmounts adds vs, reporting false when any partial sum overflows int64.
func SumAmounts(vs ...int64) (int64, bool) {
	var s int64
	for _, v := range vs {
		var ok bool
		if s, ok = AddAmounts(s, v); !ok {
			return 0, false
		}
	}
	return s, true
}

// SumExceeds reports whether the sum of vs is above limit, without forming
// a sum that could wrap: a sum too large for int64 exceeds every limit. It
// is the comparison behind "refunds ≤ paid" and "declared ≤ declarable".
// A negative value is treated as exceeding (amounts summed this way are
// never negative; a negative one is a bug or an attack, not a credit).
func SumExceeds(limit int64, vs ...int64) bool {
	if limit < 0 {
		return true
	}
	left := limit // what the values may still add up to
	for _, v := range vs {
		if v < 0 || v > left {
			return true
		}
		left -= v
	}
	return false
}

// CheckAmount checks one amount field: 0 ≤ v ≤ MaxAmount. It returns
// EINVALID naming field, reason "bad_amount", so every front-end answers
// it as its own bad-parameter code (400 in the native API).
func CheckAmount(field string, v int64) error {
	if v < 0 {
		return &Error{Code: EINVALID, Field: field, Reason: "bad_amount", Message: field + " must not be negative"}
	}
	if v > MaxAmount {
		return amountTooLarge(field)
	}
	return nil
}

// CheckPositiveAmount is CheckAmount for fields that must be above zero
// (an order's amount, a refund's amount).
func CheckPositiveAmount(field string, v int64) error {
	if v <= 0 {
		return &Error{Code: EINVALID, Field: field, Reason: "bad_amount", Message: field + " must be a positive number of minor units (fen for CNY)"}
	}
	return CheckAmount(field, v)
}

func amountTooLarge(field string) *Error {
	return &Error{Code: EINVALID, Field: field, Reason: "bad_amount",
		Message: field + " is above the maximum amount " + strconv.FormatInt(MaxAmount, 10) + " minor units (" + FormatYuan(MaxAmount) + " yuan)"}
}

// ParseYuan converts a decimal yuan amount such as "100", "100.0", "35.02"
// or "-0.5" into fen, exactly: the digits are read as text, never through a
// float. More than two decimals is an error, as is anything that is not a
// plain decimal number or whose magnitude is above MaxAmount. field names
// the request field in the error (EINVALID, reason "bad_amount"). It is
// ParseAmount for CNY; surrounding ASCII white space is ignored.
func ParseYuan(field, s string) (int64, error) {
	return ParseAmount(field, CNY, s)
}

// FormatYuan renders fen as a yuan string with two decimals: 4023 → "40.23".
func FormatYuan(fen int64) string {
	return FormatAmount(CNY, fen)
}

// parseDecimal reads an optionally signed plain decimal ("12", "12.5",
// ".5", "-3.10") as an integer scaled by 10^places: "12.5" with places 2
// is 1250. Trailing zeros beyond places carry no value and are accepted;
// a non-zero digit beyond places is an error, as is a value above max or
// anything else (exponents, separators, spaces inside). The returned
// problem is "" on success, else the end of a message after the field name.
// given is the number of decimals written (capped at places).
func parseDecimal(s string, places int, signed bool, max int64) (v int64, given int, problem string) {
	// ASCII white space only: a form value may carry a stray space or
	// newline, but a no-break or ideographic space is not a number's.
	s = strings.Trim(s, asciiSpace)
	if s == "" {
		return 0, 0, "is empty"
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		if !signed {
			return 0, 0, "must not have a sign"
		}
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, 0, "is not a number"
	}
	if hasDot && frac == "" {
		return 0, 0, "has a trailing decimal point"
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if c := part[i]; c < '0' || c > '9' {
				return 0, 0, "is not a plain decimal number: " + strconvQuote(s)
			}
		}
	}
	for len(frac) > places && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > places {
		if places == 0 {
			return 0, 0, "must be a whole number (this currency has no minor unit)"
		}
		return 0, 0, "has more than " + strconv.Itoa(places) + " decimals"
	}
	given = len(frac)
	whole = strings.TrimLeft(whole, "0")
	// max ≤ 10^18 fits 19 digits; anything longer is too large without
	// parsing (and could overflow the parse).
	if len(whole) > 18 {
		return 0, 0, "is too large"
	}
	var w int64
	for i := 0; i < len(whole); i++ {
		w = w*10 + int64(whole[i]-'0')
	}
	var f int64
	for i := 0; i < places; i++ {
		f *= 10
		if i < len(frac) {
			f += int64(frac[i] - '0')
		}
	}
	scale := pow10(places)
	if w > (max-f)/scale {
		return 0, 0, "is too large"
	}
	v = w*scale + f
	if neg {
		v = -v
	}
	return v, given, ""
}

// asciiSpace is the white space parseDecimal ignores around a number.
const asciiSpace = " \t\n\v\f\r"

// pow10 returns 10^n for 0 ≤ n ≤ 18.
func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// formatScaled renders v/10^places with exactly places decimals.
func formatScaled(v int64, places int) string {
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign = "-"
		u = -u // two's complement: right for math.MinInt64 too
	}
	digits := strconv.FormatUint(u, 10)
	if places == 0 {
		return sign + digits
	}
	for len(digits) <= places {
		digits = "0" + digits
	}
	return sign + digits[:len(digits)-places] + "." + digits[len(digits)-places:]
}

func strconvQuote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}
