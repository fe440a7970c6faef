package baoguan

import "testing"

func TestParseYuan(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want int64
	}{
		{"100", 10000}, {"100.0", 10000}, {"100.00", 10000}, {"100.000", 10000},
		{"0.01", 1}, {".5", 50}, {"35.02", 3502}, {"0.1", 10}, {"0.29", 29},
		{"  7.7 ", 770}, {"-0.5", -50}, {"+3", 300}, {"999999999999999.99", 99999999999999999},
		// 0.29 and 1.13 are classic float traps: 0.29*100 = 28.999999999999996.
		{"1.13", 113}, {"19.99", 1999}, {"4.35", 435},
	}
	for _, c := range good {
		got, err := ParseYuan("total", c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	bad := []string{"", "abc", "1.005", "1.001", "1,00", "1e3", "1.", ".", "-", "1.2.3", "0x10", "1000000000000000"}
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
