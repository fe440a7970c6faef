package baoguan

import (
	"strconv"
	"strings"
)

// ParseYuan converts a decimal yuan amount such as "100", "100.0", "35.02"
// or "-0.5" into fen, exactly: the digits are read as text, never through a
// float. More than two decimals is an error, as is anything that is not a
// plain decimal number. field names the request field in the error.
func ParseYuan(field, s string) (int64, error) {
	s = strings.TrimSpace(s)
	bad := func(msg string) error {
		return &Error{Code: EINVALID, Field: field, Reason: "bad_amount", Message: field + " " + msg}
	}
	if s == "" {
		return 0, bad("is empty")
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, bad("is not a number")
	}
	if hasDot && frac == "" {
		return 0, bad("has a trailing decimal point")
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, bad("is not a plain decimal yuan amount: " + strconvQuote(s))
			}
		}
	}
	// Trailing zeros beyond two places carry no value ("100.000" is fine);
	// a non-zero third decimal is a fraction of a fen.
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > 2 {
		return 0, bad("has more than 2 decimals")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if whole == "" {
		whole = "0"
	}
	if len(whole) > 15 {
		return 0, bad("is too large")
	}
	y, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, bad("is too large")
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	v := y*100 + f
	if neg {
		v = -v
	}
	return v, nil
}

// FormatYuan renders fen as a yuan string with two decimals: 4023 → "40.23".
func FormatYuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign = "-"
		fen = -fen
	}
	frac := strconv.FormatInt(fen%100, 10)
	if len(frac) < 2 {
		frac = "0" + frac
	}
	return sign + strconv.FormatInt(fen/100, 10) + "." + frac
}

func strconvQuote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}
