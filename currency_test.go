package baoguan

import (
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func mustCurrency(t *testing.T, code string) Currency {
	t.Helper()
	c, err := LookupCurrency(code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCurrencyTable checks §11.3 against ISO 4217 and the customs table.
func TestCurrencyTable(t *testing.T) {
	t.Parallel()
	want := map[string]Currency{
		"CNY": {"CNY", "156", 2, "142", "人民币"}, "GBP": {"GBP", "826", 2, "303", "英镑"},
		"HKD": {"HKD", "344", 2, "110", "港币"}, "USD": {"USD", "840", 2, "502", "美元"},
		"JPY": {"JPY", "392", 0, "116", "日元"}, "CAD": {"CAD", "124", 2, "501", "加拿大元"},
		"AUD": {"AUD", "036", 2, "601", "澳元"}, "EUR": {"EUR", "978", 2, "300", "欧元"},
		"NZD": {"NZD", "554", 2, "609", "新西兰元"}, "KRW": {"KRW", "410", 0, "133", "韩元"},
		"THB": {"THB", "764", 2, "136", "泰铢"},
	}
	all := Currencies()
	if len(all) != len(want) || all[0] != CNY {
		t.Fatalf("Currencies() = %v, want the 11 of §11.3, CNY first", all)
	}
	for _, c := range all {
		if c != want[c.Code] {
			t.Errorf("%s = %+v, want %+v", c.Code, c, want[c.Code])
		}
		if got := mustCurrency(t, c.Code); got != c {
			t.Errorf("LookupCurrency(%s) = %+v", c.Code, got)
		}
	}
	all[0].Code = "XXX"
	if Currencies()[0] != CNY {
		t.Error("Currencies returned the table itself")
	}
	for _, bad := range []string{"", "hkd", "Hkd", " HKD", "HKD ", "RMB", "XAU", "CNH", "HK$"} {
		_, err := LookupCurrency(bad)
		if ErrorCode(err) != EINVALID || ErrorField(err) != "currency" || ErrorReason(err) != "bad_currency" {
			t.Errorf("LookupCurrency(%q) = %v, want EINVALID on currency", bad, err)
		}
	}
}

func TestParseAmount(t *testing.T) {
	t.Parallel()
	good := []struct {
		cur, in string
		want    int64
	}{
		{"HKD", "100", 10000}, {"HKD", "0.10", 10}, {"HKD", "0.1", 10}, {"USD", "19.99", 1999},
		{"JPY", "100", 100}, {"JPY", "100.00", 100}, {"JPY", "0", 0}, {"KRW", "15000", 15000},
		{"KRW", "100000000000000", MaxAmount}, {"EUR", "-3.5", -350}, {"THB", ".25", 25},
		{"GBP", "1000000000000", MaxAmount}, {"CNY", "4.35", 435},
	}
	for _, c := range good {
		got, err := ParseAmount("amount", mustCurrency(t, c.cur), c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseAmount(%s %q) = %d, %v; want %d", c.cur, c.in, got, err, c.want)
		}
	}
	bad := []struct{ cur, in string }{
		{"JPY", "100.5"}, {"KRW", "0.1"}, {"JPY", "1e3"}, {"HKD", "0.001"}, {"HKD", "1,000"},
		{"KRW", "100000000000001"}, {"USD", "1000000000000.01"}, {"USD", ""}, {"USD", "."}, {"USD", "NaN"},
		{"USD", "Infinity"}, {"USD", "0x1p4"}, {"USD", "1.2.3"}, {"JPY", "9223372036854775808"},
	}
	for _, c := range bad {
		_, err := ParseAmount("amount", mustCurrency(t, c.cur), c.in)
		if ErrorCode(err) != EINVALID || ErrorField(err) != "amount" {
			t.Errorf("ParseAmount(%s %q) = %v, want EINVALID on amount", c.cur, c.in, err)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cur   string
		minor int64
		want  string
	}{
		{"HKD", 10, "0.10"}, {"HKD", 0, "0.00"}, {"USD", -5, "-0.05"}, {"JPY", 100, "100"}, {"KRW", -7, "-7"},
		{"CNY", MaxAmount, "1000000000000.00"}, {"JPY", math.MinInt64, "-9223372036854775808"},
	}
	for _, c := range cases {
		cur := mustCurrency(t, c.cur)
		if got := FormatAmount(cur, c.minor); got != c.want {
			t.Errorf("FormatAmount(%s, %d) = %q, want %q", c.cur, c.minor, got, c.want)
		}
		if c.minor >= -MaxAmount && c.minor <= MaxAmount {
			if back, err := ParseAmount("x", cur, c.want); err != nil || back != c.minor {
				t.Errorf("round trip %s %q = %d, %v", c.cur, c.want, back, err)
			}
		}
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	good := []struct {
		in, str string
		units   int64
	}{
		{"6.8575", "6.8575", 685750000}, {"0.860000", "0.860000", 86000000}, {"0.804740", "0.804740", 80474000},
		{"1", "1", 100000000}, {"0.00530000", "0.00530000", 530000}, {"0.00000001", "0.00000001", 1},
		{"100000", "100000", MaxRate * 100000000}, {" 0.8789 ", "0.8789", 87890000},
		{"0.123456780000", "0.12345678", 12345678}, {"007.5", "7.5", 750000000},
	}
	for _, c := range good {
		r, err := ParseRate("exchange_rate", c.in)
		if err != nil || r.units != c.units || r.String() != c.str {
			t.Errorf("ParseRate(%q) = %v (%d), %v; want %s (%d)", c.in, r, r.units, err, c.str, c.units)
		}
		b, _ := json.Marshal(struct{ R Rate }{r})
		var back struct{ R Rate }
		if err := json.Unmarshal(b, &back); err != nil || back.R != r {
			t.Errorf("JSON round trip of %s: %s → %v, %v", c.in, b, back.R, err)
		}
	}
	if !MustRate("0.86").Equal(MustRate("0.860000")) || MustRate("0.86") == MustRate("0.860000") {
		t.Error("Equal compares values; == also compares the written form")
	}
	for _, bad := range []string{"", "0", "0.00", "-1", "+1", "1e2", "0.000000001", "100000.00000001", "1,5", "abc", ".", "NaN", "6.8575.1"} {
		_, err := ParseRate("exchange_rate", bad)
		if ErrorCode(err) != EINVALID || ErrorField(err) != "exchange_rate" || ErrorReason(err) != "bad_rate" {
			t.Errorf("ParseRate(%q) = %v, want EINVALID bad_rate on exchange_rate", bad, err)
		}
	}
	var z Rate
	if !z.IsZero() || z.String() != "" {
		t.Errorf("zero Rate: IsZero %v, String %q", z.IsZero(), z.String())
	}
	if err := z.UnmarshalText(nil); err != nil || !z.IsZero() {
		t.Errorf("empty text: %v, %v", z, err)
	}
}

// exactToCNY is the oracle: amount / 10^exp × rate × 100, rounded half away
// from zero, with big.Rat.
func exactToCNY(amount int64, cur Currency, rate string) *big.Int {
	r, _ := new(big.Rat).SetString(rate)
	v := new(big.Rat).SetFrac(big.NewInt(amount), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(cur.Exponent)), nil))
	v.Mul(v, r)
	v.Mul(v, big.NewRat(100, 1))
	neg := v.Sign() < 0
	v.Abs(v)
	// floor(v + 1/2)
	v.Add(v, big.NewRat(1, 2))
	q := new(big.Int).Quo(v.Num(), v.Denom())
	if neg {
		q.Neg(q)
	}
	return q
}

func TestToCNY(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cur    string
		amount int64
		rate   string
		want   int64
	}{
		{"HKD", 10, "0.804740", 8},     // seed §6: 0.10 HKD at 0.804740 is 0.08 CNY
		{"HKD", 10000, "0.8789", 8789}, // 100 HKD
		{"HKD", 100, "0.8777", 88},     // 1 HKD: 0.8777 rounds half up to 0.88
		{"USD", 100, "6.8575", 686},    // 1 USD: 6.8575 → 6.86
		{"USD", 1, "6.8575", 7},        // 0.01 USD: 0.068575 → 0.07
		{"JPY", 1, "0.045", 5},         // exactly half a fen rounds up
		{"JPY", 1, "0.04499999", 4},    // just below half
		{"JPY", 1, "0.04500001", 5},    // just above
		{"JPY", 100, "0.0482", 482},    // 100 yen
		{"KRW", 15000, "0.00530000", 7950},
		{"KRW", 1, "0.0053", 1}, // 0.53 fen
		{"KRW", 1, "0.0049", 0}, // 0.49 fen
		{"KRW", 1, "0.00000001", 0},
		{"EUR", 3, "0.05", 0},       // 0.03 EUR × 0.05 = 0.15 fen
		{"EUR", 10, "0.05", 1},      // 0.5 fen → 1
		{"GBP", -150, "8.8", -1320}, // negative (a reversal) rounds symmetrically
		{"GBP", -1, "0.5", -1},      // -0.5 fen → -1 (half away from zero)
		{"CNY", 4023, "1", 4023},
		{"CNY", 4023, "1.00000000", 4023},
		{"THB", MaxAmount, "0.19", MaxAmount / 100 * 19},
		{"USD", MaxAmount / 7, "7", MaxAmount / 7 * 7},
	}
	for _, c := range cases {
		cur := mustCurrency(t, c.cur)
		got, err := ToCNY("amount", c.amount, cur, MustRate(c.rate))
		if err != nil || got != c.want {
			t.Errorf("ToCNY(%d %s @ %s) = %d, %v; want %d", c.amount, c.cur, c.rate, got, err, c.want)
		}
		if o := exactToCNY(c.amount, cur, c.rate); o.Int64() != c.want {
			t.Errorf("table row %d %s @ %s disagrees with the oracle %s", c.amount, c.cur, c.rate, o)
		}
	}

	// Random amounts and rates in every currency against big.Rat.
	r := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		cur := currencies[r.IntN(len(currencies))]
		amount := r.Int64N(MaxAmount + 1)
		if r.IntN(2) == 0 {
			amount = r.Int64N(100000)
		}
		units := 1 + r.Int64N(MaxRate*100000000)
		if r.IntN(2) == 0 {
			units = 1 + r.Int64N(2000000000) // rates up to 20, the realistic range
		}
		rate := Rate{units: units, places: RatePlaces}
		if cur.Code == "CNY" {
			rate = MustRate("1")
		}
		want := exactToCNY(amount, cur, rate.String())
		got, err := ToCNY("amount", amount, cur, rate)
		if want.Cmp(big.NewInt(MaxAmount)) > 0 {
			if ErrorCode(err) != EINVALID || ErrorField(err) != "amount" {
				t.Fatalf("ToCNY(%d %s @ %s) = %d, %v; exact %s is above MaxAmount", amount, cur.Code, rate, got, err, want)
			}
			continue
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("ToCNY(%d %s @ %s) = %d, %v; want %s", amount, cur.Code, rate, got, err, want)
		}
	}
}

func TestToCNYRefuses(t *testing.T) {
	t.Parallel()
	usd, krw := mustCurrency(t, "USD"), mustCurrency(t, "KRW")
	cases := []struct {
		name   string
		amount int64
		cur    Currency
		rate   Rate
		field  string
	}{
		{"result above MaxAmount", MaxAmount, usd, MustRate("6.8575"), "amount"},
		{"largest rate and amount", MaxAmount, krw, MustRate("100000"), "amount"},
		{"amount above MaxAmount", MaxAmount + 1, usd, MustRate("0.1"), "amount"},
		{"MaxInt64", math.MaxInt64, usd, MustRate("1"), "amount"},
		{"MinInt64", math.MinInt64, usd, MustRate("1"), "amount"},
		{"no rate", 100, usd, Rate{}, "exchange_rate"},
		{"CNY at another rate", 100, CNY, MustRate("1.0001"), "exchange_rate"},
	}
	for _, c := range cases {
		got, err := ToCNY("amount", c.amount, c.cur, c.rate)
		if ErrorCode(err) != EINVALID || ErrorField(err) != c.field {
			t.Errorf("%s: ToCNY = %d, %v; want EINVALID on %s", c.name, got, err, c.field)
		}
	}
}

// TestForeignPaymentRefunds: however a payment is refunded in parts, the
// CNY shares add up to exactly the CNY of the total refunded, never more
// than what was paid, and a full refund returns exactly PaidCNY.
func TestForeignPaymentRefunds(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 3000 {
		cur := currencies[1+r.IntN(len(currencies)-1)]
		amount := 1 + r.Int64N(1000000)
		rate := Rate{units: 1 + r.Int64N(1500000000), places: RatePlaces}
		p, err := NewForeignPayment(cur, amount, rate, MustRate("1"))
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // a wallet that charged one fen less than ToCNY says
			p.PaidCNY = max(p.PaidCNY-1, 0)
		}
		if p.PaidCNY == 0 {
			continue
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		var refunded, sharesSum int64
		for refunded < p.Amount {
			part := 1 + r.Int64N(p.Amount-refunded)
			if r.IntN(3) == 0 {
				part = 1
			}
			before, err := p.RefundedCNY(refunded)
			if err != nil {
				t.Fatal(err)
			}
			refunded += part
			after, err := p.RefundedCNY(refunded)
			if err != nil {
				t.Fatal(err)
			}
			if after < before {
				t.Fatalf("%+v: refunded CNY went down from %d to %d", p, before, after)
			}
			sharesSum += after - before
			if sharesSum > p.PaidCNY {
				t.Fatalf("%+v: refunds of %d returned %d fen, more than the %d paid", p, refunded, sharesSum, p.PaidCNY)
			}
		}
		if sharesSum != p.PaidCNY {
			t.Fatalf("%+v: a full refund returned %d fen, want %d", p, sharesSum, p.PaidCNY)
		}
	}
	p, _ := NewForeignPayment(mustCurrency(t, "HKD"), 100, MustRate("0.8777"), Rate{})
	for _, bad := range []int64{-1, 101, math.MaxInt64, math.MinInt64} {
		if _, err := p.RefundedCNY(bad); ErrorCode(err) != EINVALID {
			t.Errorf("RefundedCNY(%d) = %v, want EINVALID", bad, err)
		}
	}
	if _, err := NewForeignPayment(mustCurrency(t, "HKD"), MaxAmount+1, MustRate("0.8"), Rate{}); ErrorField(err) != "amount" {
		t.Errorf("payment above MaxAmount: %v", err)
	}
	if _, err := NewForeignPayment(mustCurrency(t, "USD"), MaxAmount, MustRate("7"), Rate{}); ErrorField(err) != "pay_amount" {
		t.Errorf("payment whose CNY is above MaxAmount: %v", err)
	}
	for _, bad := range []ForeignPayment{
		{Currency: "XXX", Amount: 1, Rate: MustRate("1"), PaidCNY: 1},
		{Currency: "HKD", Amount: 0, Rate: MustRate("1"), PaidCNY: 1},
		{Currency: "HKD", Amount: 1, PaidCNY: 1},
		{Currency: "HKD", Amount: 1, Rate: MustRate("1"), PaidCNY: MaxAmount + 1},
	} {
		if err := bad.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("Validate(%+v) = %v, want EINVALID", bad, err)
		}
	}
}
