package baoguan

import (
	"math/big"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets below check the root parsers of outside input against
// independent statements of what they must do (math/big as the arithmetic
// oracle). Their seed corpora (f.Add and testdata/fuzz) run in every
// `go test`; fuzz one with
// `go test -run '^$' -fuzz '^FuzzParseYuan$' -fuzztime 10m -parallel 1 .`.

// plainDecimal is the grammar the amount and rate parsers accept, stated
// independently: optional spaces, an optional sign, digits with at most
// one point, not the point alone.
var plainDecimal = regexp.MustCompile(`^[ \t\n\v\f\r]*([+-]?)([0-9]*)(?:\.([0-9]+))?[ \t\n\v\f\r]*$`)

// decimalOracle returns s × 10^places exactly, or nil when s is not a plain
// decimal or is not a whole number of 10^-places.
func decimalOracle(s string, places int, signed bool) *big.Int {
	m := plainDecimal.FindStringSubmatch(s)
	if m == nil || m[2] == "" && m[3] == "" || (!signed && m[1] != "") {
		return nil
	}
	// strings.TrimSpace also trims Unicode spaces the regexp does not;
	// such inputs are outside the grammar either way.
	if strings.TrimSpace(s) != strings.Trim(s, " \t\n\v\f\r") {
		return nil
	}
	r, ok := new(big.Rat).SetString(m[1] + orZero(m[2]) + "." + orZero(m[3]))
	if !ok {
		return nil
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)))
	if !r.IsInt() {
		return nil
	}
	return r.Num()
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

var amountSeeds = []string{"100", "100.0", "35.02", "-0.5", "+3", ".5", "0.29", "1.13", "1000000000000", "1000000000000.01",
	"-1000000000000", "9223372036854775807", "99999999999999999999", "1e3", "0x10", "1,00", "1.", ".", "-", "", " 7.7 ",
	"1.005", "100.000", "١٢", "1\u00a0000", "00000000000000000000001.5", "+-1", "0.000000001", "6.8575", "0.860000"}

func FuzzParseYuan(f *testing.F) {
	for _, s := range amountSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseYuan("amount", s)
		checkParsedAmount(t, s, CNY, v, err)
	})
}

func FuzzParseAmount(f *testing.F) {
	for i, s := range amountSeeds {
		f.Add(s, uint8(i))
	}
	f.Fuzz(func(t *testing.T, s string, which uint8) {
		cur := currencies[int(which)%len(currencies)]
		v, err := ParseAmount("amount", cur, s)
		checkParsedAmount(t, s, cur, v, err)
	})
}

// checkParsedAmount: the parser agrees with the oracle, stays within
// MaxAmount, names the field, and what it accepts formats back to itself.
func checkParsedAmount(t *testing.T, s string, cur Currency, v int64, err error) {
	t.Helper()
	want := decimalOracle(s, cur.Exponent, true)
	max := big.NewInt(MaxAmount)
	if want != nil && new(big.Int).Abs(want).Cmp(max) <= 0 {
		if err != nil || v != want.Int64() {
			t.Fatalf("Parse %s %q = %d, %v; want %s", cur.Code, s, v, err, want)
		}
		back, err := ParseAmount("amount", cur, FormatAmount(cur, v))
		if err != nil || back != v {
			t.Fatalf("%s %q → %d → %q → %d, %v", cur.Code, s, v, FormatAmount(cur, v), back, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Parse %s %q = %d, want an error (oracle %v)", cur.Code, s, v, want)
	}
	if ErrorCode(err) != EINVALID || ErrorField(err) != "amount" || !utf8.ValidString(ErrorMessage(err)) {
		t.Fatalf("Parse %s %q: error %v does not name the field", cur.Code, s, err)
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range amountSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate("exchange_rate", s)
		want := decimalOracle(s, RatePlaces, false)
		ok := want != nil && want.Sign() > 0 && want.Cmp(big.NewInt(MaxRate*100000000)) <= 0
		if !ok {
			if err == nil {
				t.Fatalf("ParseRate(%q) = %v, want an error", s, r)
			}
			if ErrorCode(err) != EINVALID || ErrorField(err) != "exchange_rate" {
				t.Fatalf("ParseRate(%q): %v", s, err)
			}
			return
		}
		if err != nil || r.units != want.Int64() {
			t.Fatalf("ParseRate(%q) = %d, %v; want %s", s, r.units, err, want)
		}
		back, err := ParseRate("x", r.String())
		if err != nil || back != r {
			t.Fatalf("%q → %v (%q) → %v, %v", s, r, r.String(), back, err)
		}
	})
}

func FuzzToCNY(f *testing.F) {
	f.Add(int64(100), int64(685750000), uint8(3))
	f.Add(int64(1), int64(4500000), uint8(4))
	f.Add(MaxAmount, int64(MaxRate*100000000), uint8(9))
	f.Add(int64(-150), int64(880000000), uint8(1))
	f.Add(int64(-9223372036854775808), int64(1), uint8(2))
	f.Fuzz(func(t *testing.T, amount, units int64, which uint8) {
		cur := currencies[int(which)%len(currencies)]
		if units <= 0 || units > MaxRate*100000000 {
			return // not a Rate ParseRate can make
		}
		rate := Rate{units: units, places: RatePlaces}
		got, err := ToCNY("amount", amount, cur, rate)
		if amount > MaxAmount || amount < -MaxAmount {
			if ErrorField(err) != "amount" {
				t.Fatalf("ToCNY(%d) = %d, %v; want refused", amount, got, err)
			}
			return
		}
		if cur.Code == "CNY" && units != 100000000 {
			if ErrorField(err) != "exchange_rate" {
				t.Fatalf("CNY at %s: %d, %v", rate, got, err)
			}
			return
		}
		want := exactToCNY(amount, cur, rate.String())
		if new(big.Int).Abs(want).Cmp(big.NewInt(MaxAmount)) > 0 {
			if ErrorCode(err) != EINVALID || ErrorField(err) != "amount" {
				t.Fatalf("ToCNY(%d %s @ %s) = %d, %v; exact %s is above MaxAmount", amount, cur.Code, rate, got, err, want)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("ToCNY(%d %s @ %s) = %d, %v; want %s", amount, cur.Code, rate, got, err, want)
		}
	})
}

var idSeeds = []string{"110105199001011232", "11010519900101123X", "11010519900101123x", "110105900101123", "32068119891142120001",
	"", " ", "abc", "1101051990010112321", "110105199002301234", "11010519900101123\u202e", "１１０１０５１９９００１０１１２３２",
	"E12345678", "\x00", "110105199001011232\n", strings.Repeat("9", 64), strings.Repeat("9", 65)}

func FuzzCheckIDFormat(f *testing.F) {
	for _, s := range idSeeds {
		for _, ty := range []string{IDTypeIDCard, IDTypeOther, "", "PASSPORT"} {
			f.Add(ty, s)
		}
	}
	f.Fuzz(func(t *testing.T, idType, id string) {
		err := CheckIDFormat("payer.id_number", idType, id)
		if err != nil {
			if ErrorCode(err) != EINVALID || ErrorField(err) != "payer.id_number" {
				t.Fatalf("CheckIDFormat(%q, %q): %v", idType, id, err)
			}
			return
		}
		trimmed := strings.TrimSpace(id)
		switch idType {
		case IDTypeIDCard, "":
			digits := strings.TrimRight(trimmed, "0123456789")
			ok := digits == "" && len(trimmed) >= 15 && len(trimmed) <= 20 ||
				len(trimmed) == 18 && strings.Trim(trimmed[:17], "0123456789") == "" && strings.ContainsAny(trimmed[17:], "0123456789Xx")
			if !ok {
				t.Fatalf("CheckIDFormat(IDCARD, %q) accepted a number of the wrong shape", id)
			}
		case IDTypeOther:
			if trimmed == "" || utf8.RuneCountInString(trimmed) > 64 || CheckText("x", trimmed) != nil {
				t.Fatalf("CheckIDFormat(OTHER, %q) accepted it", id)
			}
		default:
			t.Fatalf("CheckIDFormat(%q, %q) accepted an unknown type", idType, id)
		}
	})
}

func FuzzPreDeclarationCheck(f *testing.F) {
	for _, s := range idSeeds {
		f.Add("张三", IDTypeIDCard, s)
		f.Add("阿卜杜·热合曼", "", s)
	}
	for _, n := range []string{"", "张", "·张三", "张三·", "张··三", "Zhang San", "张3", strings.Repeat("张", 31), "\u202e张三"} {
		f.Add(n, IDTypeIDCard, "110105199001011232")
	}
	f.Fuzz(func(t *testing.T, name, idType, id string) {
		why := PreDeclarationCheck(name, idType, id)
		if why != "" {
			if !utf8.ValidString(why) || !strings.HasPrefix(why, "订购人") {
				t.Fatalf("PreDeclarationCheck(%q, %q, %q) = %q", name, idType, id, why)
			}
			return
		}
		n := strings.TrimSpace(name)
		if !payerNameOK(n) || CheckText("name", n) != nil {
			t.Fatalf("PreDeclarationCheck accepted the name %q", name)
		}
		switch idType {
		case IDTypeIDCard, "":
			if !ValidIDChecksum(strings.TrimSpace(id)) {
				t.Fatalf("PreDeclarationCheck accepted the ID %q", id)
			}
		case IDTypeOther:
			if strings.TrimSpace(id) == "" {
				t.Fatal("PreDeclarationCheck accepted an empty OTHER id")
			}
		default:
			t.Fatalf("PreDeclarationCheck accepted type %q", idType)
		}
	})
}

func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"", "口红", "a\x00b", "\u202e", "\xff", "\u2028", "ok 💄", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckText("f", s)
		bad := !utf8.ValidString(s)
		for _, r := range s {
			bad = bad || forbiddenRune(r)
		}
		if (err != nil) != bad {
			t.Fatalf("CheckText(%q) = %v, want refused=%v", s, err, bad)
		}
	})
}

// FuzzReadIDCard: whatever the text, ReadIDCard gives a real birth date
// (yyyyMMdd) or "", 男, 女 or "", and for a number of 15 or 18 characters
// after NormalizeID, the date and sex its digits state.
func FuzzReadIDCard(f *testing.F) {
	for _, s := range idSeeds {
		f.Add(s)
	}
	f.Add("110105900229123") // 1990-02-29 is not a date
	f.Add("11010519000229123X")
	f.Add("ｘ１１０１０５１９９００１０１１２３")
	f.Fuzz(func(t *testing.T, id string) {
		birth, sex, region := ReadIDCard(id)
		if !utf8.ValidString(region) || sex != "" && sex != "男" && sex != "女" {
			t.Fatalf("ReadIDCard(%q) = %q, %q, %q", id, birth, sex, region)
		}
		n := NormalizeID(id)
		if birth != "" {
			var want string
			switch len(n) {
			case 18:
				want = n[6:14]
			case 15:
				want = "19" + n[6:12]
			}
			if birth != want || !regexp.MustCompile(`^[0-9]{8}$`).MatchString(birth) {
				t.Fatalf("ReadIDCard(%q): birth %q", id, birth)
			}
		}
		if len(n) == 18 || len(n) == 15 {
			at := 16
			if len(n) == 15 {
				at = 14
			}
			if d := n[at]; (sex != "") != (d >= '0' && d <= '9') || sex == "男" && (d-'0')%2 != 1 {
				t.Fatalf("ReadIDCard(%q): sex %q from %q", id, sex, d)
			}
		}
		if len(n) != 18 && len(n) != 15 && (birth != "" || sex != "" || region != "") {
			t.Fatalf("ReadIDCard(%q) read a number of %d characters", id, len(n))
		}
	})
}

// FuzzDestination: the destination of any URL is what url.Parse makes of
// it, whether or not the URL is read without parsing (plainOrigin); the
// seeds are each of the two kinds and the edges between them.
func FuzzDestination(f *testing.F) {
	for _, u := range []string{"http://127.0.0.1:39421/hook", "https://m.example.com/notify?x=1&y=%41", "HTTP://M.Example.com/x",
		"http://m.example.com#f", "http://host:/x", "http://user:pw@host/x", "http://[::1]:8080/x", "http://h/a b", "http://h/%zz",
		"http://h/\x01", "ftp://h/x", "http://h_x/", "http://h:8o/", "http://h?q#f", "https://h", "http://h:0443", "http://-/",
		"http://é.com/", "http:///x", "http://", "https://h/é", "https://h/#%zz", "https://h/?%zz", "http://h/a\\b", ""} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if got, want := Destination(u), parsedOrigin(u); got != want {
			t.Errorf("Destination(%q) = %q, url.Parse makes %q", u, got, want)
		}
	})
}
