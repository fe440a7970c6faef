package baoguan

import (
	"strconv"
	"unicode/utf8"
)

// CheckText refuses what a stored name, number or free-text field cannot
// hold faithfully or safely: bytes that are not UTF-8 (they would be stored
// as U+FFFD), NUL and every other C0 and C1 control (U+0000–U+001F, U+007F,
// U+0080–U+009F; newlines and tabs included, since every such field is
// shown on one line of a page, a log or a customs message), and the
// invisible characters that change how text around them reads: the
// bidirectional controls U+202A–U+202E, U+2066–U+2069, U+200E, U+200F and
// U+061C (a "Trojan Source" order number or payer name displays other than
// it compares) and the line and paragraph separators U+2028 and U+2029.
//
// It returns EINVALID naming field, reason "bad_text", with the position
// and code point of the first offending character, or nil.
func CheckText(field, s string) error {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return &Error{Code: EINVALID, Field: field, Reason: "bad_text",
					Message: field + " is not valid UTF-8 (byte " + strconv.Itoa(i) + ")"}
			}
		}
		if forbiddenRune(r) {
			return &Error{Code: EINVALID, Field: field, Reason: "bad_text",
				Message: field + " holds the control character U+" + hex4(r) + " at byte " + strconv.Itoa(i) + "; remove it"}
		}
	}
	return nil
}

// forbiddenRune reports whether r is a control or invisible direction
// character CheckText refuses.
func forbiddenRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// hex4 writes r as at least four upper-case hex digits.
func hex4(r rune) string {
	h := strconv.FormatInt(int64(r), 16)
	for len(h) < 4 {
		h = "0" + h
	}
	b := []byte(h)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
