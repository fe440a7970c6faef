package baoguan

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestParseYuan(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want int64
	}{
		{"100", 10000}, {"100.0", 10000}, {"100.00", 10000}, {"100.000", 10000},
		{"0.01", 1}, {".5", 50}, {"35.02", 3502}, {"0.1", 10}, {"0.29", 29},
		{"  7.7 ", 770}, {"-0.5", -50}, {"+3", 300}, {"1000000000000", MaxAmount}, {"1000000000000.00", MaxAmount}, {"-1000000000000", -MaxAmount},
		{"0001.50", 150}, {"999999999999.99", MaxAmount - 1},
		// 0.29 and 1.13 are classic float traps: 0.29*100 = 28.999999999999996.
		{"1.13", 113}, {"19.99", 1999}, {"4.35", 435},
	}
	for _, c := range good {
		got, err := ParseYuan("total", c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	bad := []string{"", "abc", "1.005", "1.001", "1,00", "1e3", "1.", ".", "-", "1.2.3", "0x10", "1000000000000000",
		"1000000000000.01", "-1000000000000.01", "9223372036854775807", "92233720368547758.07", "99999999999999999999999", "1 000", "١٢", "1_000", "+-1", "--1", " . "}
	for _, in := range bad {
		_, err := ParseYuan("total", in)
		if err == nil {
			t.Errorf("ParseYuan(%q) succeeded, want error", in)
			continue
		}
		if ErrorField(err) != "total" || ErrorCode(err) != EINVALID {
			t.Errorf("ParseYuan(%q) error %v does not name the field", in, err)
		}
	}
}

func TestFormatYuan(t *testing.T) {
	t.Parallel()
	for fen, want := range map[int64]string{0: "0.00", 1: "0.01", 4023: "40.23", 10000: "100.00", -50: "-0.50"} {
		if got := FormatYuan(fen); got != want {
			t.Errorf("FormatYuan(%d) = %q, want %q", fen, got, want)
		}
		if back, err := ParseYuan("x", want); err != nil || back != fen {
			t.Errorf("round trip %q = %d, %v", want, back, err)
		}
	}
}

// TestMaxAmountBoundsDomainSums states, as arithmetic, the promise of
// MaxAmount's comment: the largest sums the domain forms fit in an int64
// before any check.
func TestMaxAmountBoundsDomainSums(t *testing.T) {
	t.Parallel()
	max := new(big.Int).SetInt64(math.MaxInt64)
	for _, c := range []struct {
		name  string
		terms int64
	}{
		{"a full batch", MaxBatchOrders},
		{"open refunds plus a new refund", 2},
		{"transport + product + duty", 3},
	} {
		sum := new(big.Int).Mul(big.NewInt(c.terms), big.NewInt(MaxAmount))
		if sum.Cmp(max) > 0 {
			t.Errorf("%s: %d × MaxAmount = %s overflows int64", c.name, c.terms, sum)
		}
	}
}

// extremes are amounts at and around every boundary that matters.
var extremes = []int64{math.MinInt64, math.MinInt64 + 1, -MaxAmount - 1, -MaxAmount, -1, 0, 1, 2, 99, 100,
	MaxAmount - 1, MaxAmount, MaxAmount + 1, math.MaxInt64 / 2, math.MaxInt64/2 + 1, math.MaxInt64 - 1, math.MaxInt64}

// TestCheckedArithmetic compares AddAmounts, SumAmounts and SumExceeds with
// math/big on every pair and triple of extremes and on random values.
func TestCheckedArithmetic(t *testing.T) {
	t.Parallel()
	lo, hi := big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)
	fits := func(b *big.Int) bool { return b.Cmp(lo) >= 0 && b.Cmp(hi) <= 0 }
	check := func(vs ...int64) {
		exact := new(big.Int)
		for _, v := range vs {
			exact.Add(exact, big.NewInt(v))
		}
		got, ok := SumAmounts(vs...)
		// Any partial sum that overflows makes SumAmounts refuse, even if
		// the whole would fit again; with two terms the two agree.
		partialOK := true
		p := new(big.Int)
		for _, v := range vs {
			p.Add(p, big.NewInt(v))
			partialOK = partialOK && fits(p)
		}
		if ok != partialOK || ok && got != exact.Int64() {
			t.Errorf("SumAmounts%v = %d, %v; exact %s", vs, got, ok, exact)
		}
		if len(vs) == 2 {
			s, ok := AddAmounts(vs[0], vs[1])
			if ok != fits(exact) || ok && s != exact.Int64() {
				t.Errorf("AddAmounts(%d, %d) = %d, %v; exact %s", vs[0], vs[1], s, ok, exact)
			}
		}
		// SumExceeds(limit, rest...) against the exact sum.
		limit, rest := vs[0], vs[1:]
		exactRest := new(big.Int)
		neg := false
		for _, v := range rest {
			exactRest.Add(exactRest, big.NewInt(v))
			neg = neg || v < 0
		}
		want := limit < 0 || neg || exactRest.Cmp(big.NewInt(limit)) > 0
		if got := SumExceeds(limit, rest...); got != want {
			t.Errorf("SumExceeds(%d, %v) = %v; exact sum %s", limit, rest, got, exactRest)
		}
	}
	for _, a := range extremes {
		for _, b := range extremes {
			check(a, b)
			for _, c := range extremes {
				check(a, b, c)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := 2 + r.IntN(4)
		vs := make([]int64, n)
		for i := range vs {
			switch r.IntN(3) {
			case 0:
				vs[i] = int64(r.Uint64())
			case 1:
				vs[i] = r.Int64N(2*MaxAmount) - MaxAmount
			default:
				vs[i] = extremes[r.IntN(len(extremes))]
			}
		}
		check(vs...)
	}
}

func TestCheckAmount(t *testing.T) {
	t.Parallel()
	for _, v := range extremes {
		err := CheckAmount("fee", v)
		if want := v >= 0 && v <= MaxAmount; (err == nil) != want {
			t.Errorf("CheckAmount(%d) = %v, want ok=%v", v, err, want)
		}
		if err != nil && (ErrorField(err) != "fee" || ErrorCode(err) != EINVALID) {
			t.Errorf("CheckAmount(%d) = %v: not EINVALID on fee", v, err)
		}
		err = CheckPositiveAmount("amount", v)
		if want := v > 0 && v <= MaxAmount; (err == nil) != want {
			t.Errorf("CheckPositiveAmount(%d) = %v, want ok=%v", v, err, want)
		}
	}
}

// TestRefundAmountsCannotWrap tries every combination of extreme refund
// amounts, open refund totals and paid amounts: a refund is accepted only
// when the exact total of refunds stays within the paid amount, and an
// amount above MaxAmount is EINVALID naming "amount". The case, a
// refund of 9223372036854775807 after a refund of 1, is among them.
func TestRefundAmountsCannotWrap(t *testing.T) {
	t.Parallel()
	paidAmounts := []int64{1, 100, MaxAmount - 1, MaxAmount}
	opens := []int64{0, 1, 99, MaxAmount - 1, MaxAmount, math.MaxInt64 - 1, math.MaxInt64}
	for _, paid := range paidAmounts {
		o := &Order{MerchantOrderNo: "R", Amount: paid, PayStatus: PaySucceed}
		for _, open := range opens {
			for _, amount := range extremes {
				err := CheckRefund(o, amount, open)
				total := new(big.Int).Add(big.NewInt(open), big.NewInt(amount))
				switch {
				case amount <= 0 || amount > MaxAmount:
					if ErrorCode(err) != EINVALID || ErrorField(err) != "amount" {
						t.Errorf("paid %d open %d refund %d: %v, want EINVALID on amount", paid, open, amount, err)
					}
				case total.Cmp(big.NewInt(paid)) > 0:
					if ErrorCode(err) != ELIMIT || ErrorReason(err) != "refund_above_paid" {
						t.Errorf("paid %d open %d refund %d: %v, want ELIMIT refund_above_paid", paid, open, amount, err)
					}
				default:
					if err != nil {
						t.Errorf("paid %d open %d refund %d: %v, want accepted", paid, open, amount, err)
					}
				}
			}
		}
	}
}

// TestDeclaredTotalsCannotWrap does the same for what is declared to one
// customs code: the new fee and the other declarations' fees, exactly
// summed, against paid − refunded.
func TestDeclaredTotalsCannotWrap(t *testing.T) {
	t.Parallel()
	o := &Order{MerchantOrderNo: "D", Amount: MaxAmount, PayStatus: PaySucceed, Refunded: 1}
	declarable := big.NewInt(MaxAmount - 1)
	fees := []int64{0, 1, MaxAmount - 2, MaxAmount - 1, MaxAmount, math.MaxInt64 / 2, math.MaxInt64 - 1, math.MaxInt64}
	for _, fee := range fees {
		for _, a := range fees {
			for _, b := range fees {
				others := []Declaration{{OrderFee: a}, {OrderFee: b}}
				err := CheckDeclaredTotal(o, fee, others)
				sum := new(big.Int).Add(big.NewInt(fee), big.NewInt(a))
				sum.Add(sum, big.NewInt(b))
				if want := sum.Cmp(declarable) <= 0; (err == nil) != want {
					t.Errorf("fee %d others %d, %d: %v, want ok=%v", fee, a, b, err, want)
				}
				if err != nil && (ErrorCode(err) != ELIMIT || ErrorField(err) != "order_fee") {
					t.Errorf("fee %d others %d, %d: %v, want ELIMIT on order_fee", fee, a, b, err)
				}
			}
		}
	}
	// Refunded above the amount (a corrupt row) leaves nothing declarable
	// rather than a negative or wrapped figure.
	if got := (&Order{Amount: 5, Refunded: math.MaxInt64, PayStatus: PaySucceed}).Declarable(); got != 0 {
		t.Errorf("Declarable with refunded > amount = %d, want 0", got)
	}
	if got := (&Order{Amount: 5, Refunded: math.MinInt64, PayStatus: PaySucceed}).Declarable(); got != 5 {
		t.Errorf("Declarable with negative refunded = %d, want 5", got)
	}
}

// TestSplitFeesCannotWrap: every fee of a declaration spec is bounded and
// the split rule order_fee = transport_fee + product_fee is exact.
func TestSplitFeesCannotWrap(t *testing.T) {
	t.Parallel()
	for _, of := range extremes {
		for _, tf := range extremes {
			for _, pf := range extremes {
				s := DeclarationSpec{Customs: "HG014", SubOrderNo: "S", OrderFee: of, TransportFee: tf, ProductFee: pf}
				_, err := s.Validate()
				inRange := func(v int64) bool { return v >= 0 && v <= MaxAmount }
				exact := new(big.Int).Add(big.NewInt(tf), big.NewInt(pf))
				// All zero is not a split: the whole declarable amount.
				whole := of == 0 && tf == 0 && pf == 0
				want := whole || inRange(of) && inRange(tf) && inRange(pf) && of > 0 && exact.Cmp(big.NewInt(of)) == 0
				if (err == nil) != want {
					t.Errorf("order %d transport %d product %d: %v, want ok=%v", of, tf, pf, err, want)
				}
				if err != nil && ErrorCode(err) != EINVALID {
					t.Errorf("order %d transport %d product %d: %v, want EINVALID", of, tf, pf, err)
				}
			}
		}
		s := DeclarationSpec{Customs: "HG014", Duty: of}
		if _, err := s.Validate(); (err == nil) != (of >= 0 && of <= MaxAmount) || err != nil && ErrorField(err) != "duty" {
			t.Errorf("duty %d: %v", of, err)
		}
	}
}

// TestOrderAmountsBounded: the order amount and every item's unit amount.
func TestOrderAmountsBounded(t *testing.T) {
	t.Parallel()
	for _, v := range extremes {
		o := Order{MerchantOrderNo: "O", Amount: v, Subject: "s", Channel: ChannelMock}
		err := o.Validate()
		if want := v > 0 && v <= MaxAmount; (err == nil) != want || err != nil && ErrorField(err) != "amount" {
			t.Errorf("amount %d: %v, want ok=%v", v, err, want)
		}
		o = Order{MerchantOrderNo: "O", Amount: 1, Subject: "s", Channel: ChannelMock, Items: []Item{{Subject: "a"}, {Subject: "b", UnitAmount: v}}}
		err = o.Validate()
		if want := v >= 0 && v <= MaxAmount; (err == nil) != want || err != nil && ErrorField(err) != "items[1].unit_amount" {
			t.Errorf("unit_amount %d: %v, want ok=%v", v, err, want)
		}
	}
}

func TestRefundable(t *testing.T) {
	o := &Order{Amount: 1000, PayStatus: PaySucceed}
	rs := []Refund{{Amount: 300, Status: RefundSucceed}, {Amount: 200, Status: RefundRequested}, {Amount: 400, Status: RefundFailed}}
	if got := OpenRefunds(rs); got != 500 {
		t.Fatalf("OpenRefunds = %d, want 500 (a failed refund is not open)", got)
	}
	if got := o.Refundable(rs); got != 500 {
		t.Fatalf("Refundable = %d, want 500", got)
	}
	if got := (&Order{Amount: 1000, PayStatus: PayApplied}).Refundable(nil); got != 0 {
		t.Fatalf("Refundable of an unpaid order = %d, want 0", got)
	}
	wrap := []Refund{{Amount: math.MaxInt64, Status: RefundInit}, {Amount: 1, Status: RefundInit}}
	if got := OpenRefunds(wrap); got != math.MaxInt64 {
		t.Fatalf("OpenRefunds of an overflowing sum = %d, want MaxInt64", got)
	}
	if got := o.Refundable(wrap); got != 0 {
		t.Fatalf("Refundable after an overflowing sum = %d, want 0", got)
	}
}
