package sandbox

import (
	"strings"
	"testing"
)

// TestDigitsAsBefore: digits draws the numbers the sandbox has always
// drawn for the same parts (these were written by the streaming hash it
// was first built with), so payment, refund and declaration numbers
// already handed out come again for the same requests. The cases cover
// the length prefix (("1","23") against ("12","3")), several hash blocks,
// a seed past the stack buffer and no parts at all.
func TestDigitsAsBefore(t *testing.T) {
	long := strings.Repeat("\x00", 300)
	for _, c := range []struct {
		n     int
		parts []string
		want  string
	}{
		{20, []string{"pay", "1", "2", "ORDER1", "1"}, "25887675178693048166"},
		{1, []string{"a"}, "9"},
		{40, []string{"1", "23"}, "7021673960400116282496025832157336634807"},
		{40, []string{"12", "3"}, "4226506817152500269720614622534847620987"},
		{18, []string{"decl", "HG014", "SO-77"}, "804657287517787543"},
		{12, []string{"x", long}, "168946146394"},
	} {
		if got := digits(c.n, c.parts...); got != c.want {
			t.Errorf("digits(%d, %q) = %s, want %s", c.n, c.parts, got, c.want)
		}
	}
	if got := digits(32); len(got) != 32 || got[0] == '0' || strings.Trim(got, "0123456789") != "" {
		t.Errorf("digits(32) = %q: 32 digits, the first not 0", got)
	}
	if got := testing.AllocsPerRun(100, func() { digits(20, "pay", "1", "2", "ORDER1", "1") }); got > 1 {
		t.Errorf("digits: %v allocations, want 1 (its string)", got)
	}
}
