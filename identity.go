package baoguan

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// IDType of a payer's certificate. Protocols that send no type mean IDCARD.
const (
	IDTypeIDCard = "IDCARD" // resident identity card (居民身份证)
	IDTypeOther  = "OTHER"  // any other certificate
)

// maxOtherIDLen caps a non-IDCARD certificate number, in characters.
const maxOtherIDLen = 64

// Identity rules come in two strengths. CheckIDFormat is what the vendors
// accept when an order is pushed: a malformed number is refused at once.
// PreDeclarationCheck is what customs checks: a push is not refused for it,
// the declaration fails later with the explanation it returns.

// CheckIDFormat is the push-time check of a payer's certificate number. The
// number must be non-empty; for IDCARD (or an empty type) it must be 15
// digits (the pre-1999 card), 17 digits followed by a digit, X or x, or up to
// 20 digits (pushorder's own sample, 32068119891142120001, has 20). For
// OTHER it must be at most 64 characters of valid UTF-8 without control or
// bidirectional characters (see CheckText).
// Surrounding spaces are ignored; callers should store the trimmed number.
// Errors are EINVALID on field with reason "missing_id", "bad_id_format",
// or "bad_id_type" when idType is neither IDCARD nor OTHER.
func CheckIDFormat(field, idType, id string) error {
	id = strings.TrimSpace(id)
	if id == "" {
		return FieldError(field, "%s is required", field).WithReason("missing_id")
	}
	switch idType {
	case IDTypeIDCard, "":
		if !idcardFormatOK(id) {
			return FieldError(field, "%s must be a resident ID number: 18 characters (17 digits and a digit or X) or 15 digits", field).
				WithReason("bad_id_format")
		}
	case IDTypeOther:
		if utf8.RuneCountInString(id) > maxOtherIDLen || !utf8.ValidString(id) ||
			strings.IndexFunc(id, func(r rune) bool { return unicode.IsControl(r) || forbiddenRune(r) }) >= 0 {
			return FieldError(field, "%s must be at most %d characters without control characters", field, maxOtherIDLen).
				WithReason("bad_id_format")
		}
	default:
		return FieldError(field, "unknown certificate type %q: use %s or %s", idType, IDTypeIDCard, IDTypeOther).
			WithReason("bad_id_type")
	}
	return nil
}

// idcardFormatOK is the lenient push-time shape of a resident ID number.
func idcardFormatOK(id string) bool {
	n := len(id)
	if n == 18 && idAllDigits(id[:17]) {
		c := id[17]
		return c >= '0' && c <= '9' || c == 'X' || c == 'x'
	}
	return n >= 15 && n <= 20 && idAllDigits(id)
}

func idAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// GB 11643-1999 check digit: ISO 7064 MOD 11-2 over the first 17 digits.
var (
	idcardWeights    = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idcardCheckChars = "10X98765432"
)

// idcardProblem explains why id is not a valid 18-character resident ID
// number, in the words customs uses, or returns "" when it is valid.
func idcardProblem(id string) string {
	if len(id) != 18 {
		return "订购人身份证号应为18位"
	}
	if !idAllDigits(id[:17]) {
		return "订购人身份证号格式不正确"
	}
	if !idcardDateOK(id[6:14]) {
		return "订购人身份证号出生日期不合法"
	}
	sum := 0
	for i, w := range idcardWeights {
		sum += int(id[i]-'0') * w
	}
	c := id[17]
	if c == 'x' {
		c = 'X'
	}
	if c != idcardCheckChars[sum%11] {
		return "订购人身份证号校验不通过"
	}
	return ""
}

// idcardDateOK reports whether yyyymmdd is a real calendar date.
func idcardDateOK(yyyymmdd string) bool {
	t, err := time.Parse("20060102", yyyymmdd)
	return err == nil && t.Format("20060102") == yyyymmdd
}

// ValidIDChecksum reports whether id is an 18-character resident ID number
// whose check digit is right under GB 11643-1999 (ISO 7064 MOD 11-2) and
// whose birth date (characters 7-14) is a real calendar date. A lower-case x
// check character is accepted as X.
func ValidIDChecksum(id string) bool {
	return idcardProblem(id) == ""
}

// PreDeclarationCheck applies the identity rules customs applies, before a
// declaration is sent: the name is 2-30 characters of Han characters or
// letters, optionally joined by a middle dot "·" (阿卜杜·热合曼); for IDCARD
// (or an empty type) the number passes ValidIDChecksum. It returns "" when
// the payer passes, else the explanation customs would give, in Chinese,
// e.g. "订购人身份证号校验不通过" or "订购人姓名不合法".
func PreDeclarationCheck(name, idType, id string) string {
	name = strings.TrimSpace(name)
	id = strings.TrimSpace(id)
	if name == "" {
		return "订购人姓名不能为空"
	}
	if !payerNameOK(name) {
		return "订购人姓名不合法"
	}
	switch idType {
	case IDTypeIDCard, "":
		if id == "" {
			return "订购人身份证号不能为空"
		}
		return idcardProblem(id)
	case IDTypeOther:
		if id == "" {
			return "订购人证件号不能为空"
		}
		return ""
	}
	return "订购人证件类型不合法"
}

// payerNameOK: 2-30 runes, letters (Han included) and middle dots, a dot
// neither first, last nor doubled.
func payerNameOK(name string) bool {
	n := utf8.RuneCountInString(name)
	if n < 2 || n > 30 {
		return false
	}
	prevDot := true // a leading dot is refused like a doubled one
	for _, r := range name {
		switch {
		case r == '·':
			if prevDot {
				return false
			}
			prevDot = true
		case unicode.IsLetter(r):
			prevDot = false
		default:
			return false
		}
	}
	return !prevDot
}

// MaskID masks a certificate number for logs and pages, keeping the first 3
// and last 4 characters: "310***********1234". Input of 7 characters or
// fewer is all '*'.
func MaskID(id string) string { return maskKeepEnds(id, 3, 4) }

// MaskPhone masks a phone number, keeping the first 3 and last 4
// characters: "138****8000". Input of 7 characters or fewer is all '*'.
func MaskPhone(p string) string { return maskKeepEnds(p, 3, 4) }

// MaskName masks a person's name, keeping the first rune and, for names of
// 3 runes or more, the last: "张*", "李*白", "欧**锋". A one-rune name is "*".
func MaskName(n string) string {
	if utf8.RuneCountInString(n) < 3 {
		return maskKeepEnds(n, 1, 0)
	}
	return maskKeepEnds(n, 1, 1)
}

// MaskCard masks a bank card number, keeping its first 4 and last 4 digits
// and printing groups of 4: "6217 **** **** 0000". Spaces and hyphens in the
// input are dropped; a number of 8 digits or fewer is all '*'.
func MaskCard(c string) string {
	var digits []rune
	for _, r := range c {
		if r != ' ' && r != '-' {
			digits = append(digits, r)
		}
	}
	masked := []rune(maskKeepEnds(string(digits), 4, 4))
	var b strings.Builder
	for i, r := range masked {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// MaskPersonal masks the personal data in a text baoguan shows but did not
// write itself for display: a rendered notification, a receiver's answer,
// a customs receipt. Every occurrence of a known value (the order's payer
// ID number, phone, card numbers; values shorter than 6 characters are
// ignored) is masked, and so is every standalone number shaped like a
// resident ID number (18 characters whose check digit and birth date hold,
// so that an 18-digit order number stays readable) or a mainland mobile
// number (11 digits, 1[3-9]…). Standalone: not inside a longer run of
// digits and X, such as a transaction number. The text's format (JSON,
// XML, a form) is kept: only characters of the values become '*'.
func MaskPersonal(text string, known ...string) string {
	for _, v := range known {
		if len(v) >= 6 && strings.Contains(text, v) {
			keep := 3
			if len(v) >= 12 && idAllDigits(v) {
				keep = 4 // a card number: MaskCard's ends, without its spaces
			}
			text = strings.ReplaceAll(text, v, maskKeepEnds(v, keep, 4))
		}
	}
	var b []byte // a copy, made at the first number masked
	for i := 0; i < len(text); {
		if !isIDChar(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isIDChar(text[j]) {
			j++
		}
		run := text[i:j]
		var masked string
		switch {
		case len(run) == 18 && ValidIDChecksum(run):
			masked = MaskID(run)
		case len(run) == 11 && run[0] == '1' && run[1] >= '3' && run[1] <= '9' && idAllDigits(run):
			masked = MaskPhone(run)
		}
		if masked != "" {
			if b == nil {
				b = []byte(text)
			}
			copy(b[i:j], masked)
		}
		i = j
	}
	if b == nil {
		return text
	}
	return string(b)
}

func isIDChar(c byte) bool { return c >= '0' && c <= '9' || c == 'X' || c == 'x' }

// maskKeepEnds replaces every rune of s but the first head and last tail
// with '*'. When s is not longer than head+tail, every rune is masked, so
// that short input never shows through whole. A byte that is not UTF-8
// counts as one rune and, kept, becomes U+FFFD, as through []rune(s); the
// result is built in one allocation (every push's answer masks its payer).
func maskKeepEnds(s string, head, tail int) string {
	n := utf8.RuneCountInString(s)
	if n <= head+tail {
		return strings.Repeat("*", n)
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for k := 0; k < n; k++ {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case k >= head && k < n-tail:
			b.WriteByte('*')
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
