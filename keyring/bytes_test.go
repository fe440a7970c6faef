package keyring

import (
	"bytes"
	"strings"
	"testing"
)

// TestBytesAndStringsAgree: SealBytes and OpenBytes make and read the same
// sealed text as Seal and Open, in both directions; empty stays empty (and
// not nil, for NOT NULL columns); whatever Open refuses, OpenBytes refuses.
func TestBytesAndStringsAgree(t *testing.T) {
	t.Parallel()
	r := mustRing(t, testKey(1), testKey(2))
	for _, plain := range []string{"x", "110101199003074514", "张三", "a.b.c k1.deadbeef.xyz", strings.Repeat("0123456789", 10000)} {
		sb, err := r.SealBytes([]byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		if !IsSealedBytes(sb) || !IsSealed(string(sb)) || !strings.HasPrefix(string(sb), "k1."+r.PrimaryID()+".") {
			t.Fatalf("SealBytes(%.20q) = %.40q: not a sealed value", plain, sb)
		}
		if got, err := r.Open(string(sb)); err != nil || got != plain {
			t.Fatalf("Open(SealBytes(%.20q)) = %.20q, %v", plain, got, err)
		}
		ss, err := r.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.OpenBytes([]byte(ss)); err != nil || string(got) != plain {
			t.Fatalf("OpenBytes(Seal(%.20q)) = %.20q, %v", plain, got, err)
		}
		// The result is the caller's: later calls do not change it.
		got, _ := r.OpenBytes(sb)
		_, _ = r.OpenBytes([]byte(ss))
		_, _ = r.SealBytes(bytes.Repeat([]byte{'z'}, len(plain)))
		if string(got) != plain {
			t.Fatalf("an OpenBytes result changed after later calls")
		}
	}
	if b, err := r.SealBytes(nil); err != nil || b == nil || len(b) != 0 {
		t.Errorf("SealBytes(nil) = %q (nil: %v), %v; want empty, not nil", b, b == nil, err)
	}
	if b, err := r.OpenBytes([]byte{}); err != nil || b == nil || len(b) != 0 {
		t.Errorf("OpenBytes(empty) = %q (nil: %v), %v; want empty, not nil", b, b == nil, err)
	}
	sealed, _ := r.Seal("6222020200000000123")
	for _, bad := range []string{sealed[:len(sealed)-4], "k1.00000000." + sealed[12:], "k2" + sealed[2:], "110101199003074514",
		"k1." + r.PrimaryID(), sealed[:12] + "AAAA", sealed[:12] + "!!!!", sealed + "==", "k1"} {
		_, serr := r.Open(bad)
		b, berr := r.OpenBytes([]byte(bad))
		if serr == nil || berr == nil || b != nil || serr.Error() != berr.Error() {
			t.Errorf("%q: Open error %v, OpenBytes %q, %v; want the same error and nothing", bad, serr, b, berr)
		}
		if IsSealedBytes([]byte(bad)) != IsSealed(bad) {
			t.Errorf("%q: IsSealedBytes and IsSealed disagree", bad)
		}
	}
}
