package baoguan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// testIDCheckChar computes the GB 11643-1999 check character of a 17-digit
// body from the definition, not from the tables identity.go uses: the
// weight of the digit at 1-based position i is 2^(18-i) mod 11, and the
// check value c satisfies (sum + c) mod 11 == 1, with 10 written X.
func testIDCheckChar(t *testing.T, body string) string {
	t.Helper()
	if len(body) != 17 {
		t.Fatalf("body %q is not 17 digits", body)
	}
	sum := 0
	for i := 0; i < 17; i++ {
		w := 1
		for k := 0; k < 17-i; k++ { // 2^(18-(i+1))
			w = w * 2 % 11
		}
		sum += int(body[i]-'0') * w
	}
	c := (12 - sum%11) % 11
	if c == 10 {
		return "X"
	}
	return string(rune('0' + c))
}

func testValidID(t *testing.T, body string) string {
	t.Helper()
	return body + testIDCheckChar(t, body)
}

func TestTestIDCheckChar(t *testing.T) {
	// The example of GB 11643-1999 itself.
	if got := testValidID(t, "11010519491231002"); got != "11010519491231002X" {
		t.Fatalf("helper gives %s, want 11010519491231002X", got)
	}
}

func TestValidIDChecksum(t *testing.T) {
	valid := []string{
		"11010519491231002X",
		"11010519491231002x", // lower-case check character
		testValidID(t, "44030419900101123"),
		testValidID(t, "11010120000229001"), // 2000 is a leap year
		testValidID(t, "31011319801010123"), // payzero's sample body with its true check digit
		testValidID(t, "33082119880908521"), // WeChat v3's sample body
		testValidID(t, "65010219991231000"),
	}
	for _, id := range valid {
		if !ValidIDChecksum(id) {
			t.Errorf("ValidIDChecksum(%s) = false, want true", id)
		}
		if msg := PreDeclarationCheck("张三", IDTypeIDCard, id); msg != "" {
			t.Errorf("PreDeclarationCheck(%s) = %q", id, msg)
		}
	}

	invalid := []struct{ id, why string }{
		{"110105194912310021", "wrong check digit"},
		{"110105194912310020", "wrong check digit"},
		{testValidID(t, "44030419900101123")[:17] + "Y", "check character not digit or X"},
		{testValidID(t, "11010519900230001"), "February 30"},
		{testValidID(t, "11010519000229001"), "1900 is not a leap year"},
		{testValidID(t, "11010519901301001"), "month 13"},
		{testValidID(t, "11010519900100001"), "day 0"},
		{testValidID(t, "11010519900431001"), "April 31"},
		{"11010519491231002", "17 characters"},
		{"11010519491231002X0", "19 characters"},
		{"110105491231002", "15-digit legacy number"},
		{"1101051949123100AX", "letter in the body"},
		{"", "empty"},
	}
	for _, tt := range invalid {
		if ValidIDChecksum(tt.id) {
			t.Errorf("ValidIDChecksum(%q) = true, want false (%s)", tt.id, tt.why)
		}
	}
}

// Sample ID numbers in the seed documents, run through GB 11643-1999.
// None of them passes:
//
//	pushorder   32068119891142120001  20 digits (and 1989-11-42 is no date): fails; passes CheckIDFormat
//	payzero     310113198010101234    check digit should be 2: fails
//	payzero     310327198009270027    check digit should be X: fails
//	payzero     360104199010101234    check digit should be X: fails
//	payzero     610327198509271234    check digit should be 0: fails
//	payzero     110113198010101234    check digit should be 5: fails (7.1 real-name test number)
//	payzero     33068319870110XXXX    masked in the document: fails, and fails CheckIDFormat
//	wisecashier 510921199308772318    birth date 1993-08-77 is no date (check digit would be 7): fails
//	wechatv3    330821198809085211    check digit should be 2: fails
//
// The accp document carries no sample ID number.
func TestSeedSampleIDs(t *testing.T) {
	tests := []struct {
		source, id string
		format     bool   // passes CheckIDFormat
		check      string // the true check character of the first 17 characters, "" if not 18 digits
		dateOK     bool
	}{
		{"pushorder", "32068119891142120001", true, "", false},
		{"payzero", "310113198010101234", true, "2", true},
		{"payzero", "310327198009270027", true, "X", true},
		{"payzero", "360104199010101234", true, "X", true},
		{"payzero", "610327198509271234", true, "0", true},
		{"payzero", "110113198010101234", true, "5", true},
		{"payzero", "33068319870110XXXX", false, "", false},
		{"wisecashier", "510921199308772318", true, "7", false},
		{"wechatv3", "330821198809085211", true, "2", true},
	}
	for _, tt := range tests {
		err := CheckIDFormat("id", IDTypeIDCard, tt.id)
		if (err == nil) != tt.format {
			t.Errorf("%s %s: CheckIDFormat = %v, want ok=%v", tt.source, tt.id, err, tt.format)
		}
		if ValidIDChecksum(tt.id) {
			t.Errorf("%s %s: passes GB 11643, the documented list says it fails", tt.source, tt.id)
		}
		if PreDeclarationCheck("张三", IDTypeIDCard, tt.id) == "" {
			t.Errorf("%s %s: PreDeclarationCheck passes", tt.source, tt.id)
		}
		if tt.check == "" {
			continue
		}
		if got := testIDCheckChar(t, tt.id[:17]); got != tt.check {
			t.Errorf("%s %s: true check character %s, the table says %s", tt.source, tt.id, got, tt.check)
		}
		// With the true check character only a bad date still fails.
		if fixed := tt.id[:17] + tt.check; ValidIDChecksum(fixed) != tt.dateOK {
			t.Errorf("%s corrected to %s: ValidIDChecksum = %v, want %v", tt.source, fixed, !tt.dateOK, tt.dateOK)
		}
	}
}

func TestCheckIDFormat(t *testing.T) {
	tests := []struct {
		idType, id string
		reason     string // "" = accepted
	}{
		{IDTypeIDCard, "", "missing_id"},
		{IDTypeIDCard, "   ", "missing_id"},
		{IDTypeIDCard, "110105491231002", ""},                    // 15-digit legacy card
		{IDTypeIDCard, "11010519491231002X", ""},                 // 17 digits + X
		{IDTypeIDCard, "11010519491231002x", ""},                 // 17 digits + x
		{IDTypeIDCard, "110105194912310021", ""},                 // bad check digit: refused only before declaring
		{IDTypeIDCard, " 11010519491231002X ", ""},               // surrounding spaces ignored
		{IDTypeIDCard, "32068119891142120001", ""},               // pushorder's 20-digit sample
		{"", "11010519491231002X", ""},                           // no type means IDCARD
		{IDTypeIDCard, "11010549123100", "bad_id_format"},        // 14 digits
		{IDTypeIDCard, "320681198911421200011", "bad_id_format"}, // 21 digits
		{IDTypeIDCard, "1101051949123100X", "bad_id_format"},     // X after 16 digits
		{IDTypeIDCard, "1101051949123100XX", "bad_id_format"},    // X inside
		{IDTypeIDCard, "33068319870110XXXX", "bad_id_format"},    // payzero's masked sample
		{IDTypeIDCard, "11010519491231002X0", "bad_id_format"},   // X not last
		{IDTypeIDCard, "E12345678", "bad_id_format"},             // a passport as IDCARD
		{IDTypeIDCard, "１１０１０５４９１２３１００２", "bad_id_format"},       // full-width digits
		{IDTypeOther, "E12345678", ""},
		{IDTypeOther, "", "missing_id"},
		{IDTypeOther, "E1234\n5678", "bad_id_format"},
		{IDTypeOther, strings.Repeat("A", 65), "bad_id_format"},
		{"PASSPORT", "E12345678", "bad_id_type"},
		{"idcard", "11010519491231002X", "bad_id_type"},
	}
	for _, tt := range tests {
		err := CheckIDFormat("payer.id_number", tt.idType, tt.id)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("CheckIDFormat(%q, %q) = %v", tt.idType, tt.id, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckIDFormat(%q, %q) = nil, want %s", tt.idType, tt.id, tt.reason)
			continue
		}
		if ErrorCode(err) != EINVALID || ErrorField(err) != "payer.id_number" || ErrorReason(err) != tt.reason {
			t.Errorf("CheckIDFormat(%q, %q) = code %s field %s reason %s, want invalid payer.id_number %s",
				tt.idType, tt.id, ErrorCode(err), ErrorField(err), ErrorReason(err), tt.reason)
		}
	}
}

func TestPreDeclarationCheck(t *testing.T) {
	ok := testValidID(t, "44030419900101123")
	tests := []struct {
		name, idType, id, want string
	}{
		{"张三", IDTypeIDCard, ok, ""},
		{" 张三 ", "", " " + ok + " ", ""},
		{"欧阳修", IDTypeIDCard, ok, ""},
		{"阿卜杜·热合曼", IDTypeIDCard, ok, ""},
		{"Lisa", IDTypeIDCard, ok, ""},
		{"张", IDTypeIDCard, ok, "订购人姓名不合法"},
		{"", IDTypeIDCard, ok, "订购人姓名不能为空"},
		{"张三1", IDTypeIDCard, ok, "订购人姓名不合法"},
		{"张 三", IDTypeIDCard, ok, "订购人姓名不合法"},
		{"·张三", IDTypeIDCard, ok, "订购人姓名不合法"},
		{"张三·", IDTypeIDCard, ok, "订购人姓名不合法"},
		{"阿卜杜··热合曼", IDTypeIDCard, ok, "订购人姓名不合法"},
		{strings.Repeat("张", 30), IDTypeIDCard, ok, ""},
		{strings.Repeat("张", 31), IDTypeIDCard, ok, "订购人姓名不合法"},
		{"张三", IDTypeIDCard, "", "订购人身份证号不能为空"},
		{"张三", IDTypeIDCard, ok[:17] + "9", "订购人身份证号校验不通过"},
		{"张三", IDTypeIDCard, "110105491231002", "订购人身份证号应为18位"}, // legacy: accepted at push only
		{"张三", IDTypeIDCard, "32068119891142120001", "订购人身份证号应为18位"},
		{"张三", IDTypeIDCard, testValidID(t, "11010519900230001"), "订购人身份证号出生日期不合法"},
		{"张三", IDTypeIDCard, "1101051949123100AX", "订购人身份证号格式不正确"},
		{"张三", IDTypeOther, "E12345678", ""},
		{"张三", IDTypeOther, "", "订购人证件号不能为空"},
		{"张三", "PASSPORT", "E12345678", "订购人证件类型不合法"},
	}
	for _, tt := range tests {
		if got := PreDeclarationCheck(tt.name, tt.idType, tt.id); got != tt.want {
			t.Errorf("PreDeclarationCheck(%q, %q, %q) = %q, want %q", tt.name, tt.idType, tt.id, got, tt.want)
		}
	}
	// The legacy 15-digit number passes the push-time check.
	if err := CheckIDFormat("id", IDTypeIDCard, "110105491231002"); err != nil {
		t.Errorf("15-digit number refused at push: %v", err)
	}
}

func TestMasks(t *testing.T) {
	tests := []struct {
		fn       func(string) string
		name     string
		in, want string
	}{
		{MaskID, "MaskID", "310113198010101234", "310***********1234"},
		{MaskID, "MaskID", "11010519491231002X", "110***********002X"},
		{MaskID, "MaskID", "110105491231002", "110********1002"},
		{MaskID, "MaskID", "12345678", "123*5678"},
		{MaskID, "MaskID", "1234567", "*******"},
		{MaskID, "MaskID", "", ""},
		{MaskPhone, "MaskPhone", "13800138000", "138****8000"},
		{MaskPhone, "MaskPhone", "13817494910", "138****4910"},
		{MaskPhone, "MaskPhone", "1234", "****"},
		{MaskCard, "MaskCard", "6217920151050000", "6217 **** **** 0000"},
		{MaskCard, "MaskCard", "6222 0212 3456 1234", "6222 **** **** 1234"},
		{MaskCard, "MaskCard", "6222-0212-3456-1234", "6222 **** **** 1234"},
		{MaskCard, "MaskCard", "6222021234567891234", "6222 **** **** ***1 234"},
		{MaskCard, "MaskCard", "12345678", "**** ****"},
		{MaskCard, "MaskCard", "", ""},
		{MaskName, "MaskName", "张三", "张*"},
		{MaskName, "MaskName", "李太白", "李*白"},
		{MaskName, "MaskName", "欧阳小锋", "欧**锋"},
		{MaskName, "MaskName", "张", "*"},
		{MaskName, "MaskName", "Lisa", "L**a"},
		{MaskName, "MaskName", "", ""},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestMaskKeepEndsAsRunes: maskKeepEnds, which walks the string once,
// masks as the conversion to []rune it replaced did (rune counts, ends
// kept, a byte that is not UTF-8 one rune shown as U+FFFD), over random
// strings of ASCII, Chinese, emoji and broken bytes.
func TestMaskKeepEndsAsRunes(t *testing.T) {
	ref := func(s string, head, tail int) string {
		rs := []rune(s)
		if len(rs) <= head+tail {
			return strings.Repeat("*", len(rs))
		}
		for i := head; i < len(rs)-tail; i++ {
			rs[i] = '*'
		}
		return string(rs)
	}
	parts := []string{"1", "X", "张", "😀", "\xff", "\xe2\x80", "\uFFFD", " ", "\x00"}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 5000; i++ {
		var b strings.Builder
		for n := r.IntN(12); n > 0; n-- {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		s, head, tail := b.String(), r.IntN(5), r.IntN(5)
		if got, want := maskKeepEnds(s, head, tail), ref(s, head, tail); got != want {
			t.Fatalf("maskKeepEnds(%q, %d, %d) = %q, want %q", s, head, tail, got, want)
		}
	}
}

// TestMaskPersonal masks known values and ID- and phone-shaped numbers in
// the formats notifications and answers come in, and leaves other numbers
// (order and transaction numbers, amounts) readable.
func TestMaskPersonal(t *testing.T) {
	const id, phone, card = "11010519491231002X", "13912345678", "6217000011112222333"
	cases := []struct {
		name, in string
		known    []string
		want     string
	}{
		{"payzero JSON", `{"payerIdNumber":"` + id + `","payerPhone":"` + phone + `"}`, nil,
			`{"payerIdNumber":"110***********002X","payerPhone":"139****5678"}`},
		{"form", "id_no=" + id + "&mobile=" + phone + "&amount=100", nil, "id_no=110***********002X&mobile=139****5678&amount=100"},
		{"XML", "<IdNo>" + strings.ToLower(id) + "</IdNo>", nil, "<IdNo>110***********002x</IdNo>"},
		{"known card", `{"acct_no":"` + card + `"}`, []string{card}, `{"acct_no":"6217***********2333"}`},
		{"known other-document number", "passport E12345678 used", []string{"E12345678"}, "passport E12**5678 used"},
		{"short known values ignored", "amount 100", []string{"100"}, "amount 100"},
		{"18 digits failing the checksum stay", `"no":"202401011234567890"`, nil, `"no":"202401011234567890"`},
		{"phone shape inside a longer number stays", "txn 4200001234138123456789", nil, "txn 4200001234138123456789"},
		{"several", id + "," + id + "," + phone, nil, "110***********002X,110***********002X,139****5678"},
	}
	for _, c := range cases {
		if got := MaskPersonal(c.in, c.known...); got != c.want {
			t.Errorf("%s: MaskPersonal(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}
