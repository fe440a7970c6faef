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

// TestBinary: SealBinary's values are raw bytes behind a NUL (no base64:
// at most the header and the AEAD's overhead longer than the plaintext),
// open with OpenBytes under any key of the ring, are told apart from
// sealed texts and plaintext by IsSealedBinary and IsSealedBytes, and
// refuse any alteration — of the payload, the key id or the format's name
// (the header is the additional data).
func TestBinary(t *testing.T) {
	t.Parallel()
	old := mustRing(t, testKey(2))
	r := mustRing(t, testKey(1), testKey(2))
	for _, plain := range []string{"x", `{"id_number":"110101199003074514"}`, "张三", strings.Repeat("0123456789", 10000)} {
		b, err := r.SealBinary([]byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		head := "\x00k2." + r.PrimaryID() + "."
		if !strings.HasPrefix(string(b), head) || len(b) != len(head)+12+len(plain)+16 {
			t.Fatalf("SealBinary(%.20q) = %.40q (%d bytes): want %q, nonce, ciphertext, tag", plain, b, len(b), head)
		}
		if !IsSealedBinary(b) || !IsSealedBytes(b) || IsSealed(string(b)) {
			t.Fatalf("SealBinary(%.20q): IsSealedBinary %v, IsSealedBytes %v, IsSealed %v", plain, IsSealedBinary(b), IsSealedBytes(b), IsSealed(string(b)))
		}
		if got, err := r.OpenBytes(b); err != nil || string(got) != plain {
			t.Fatalf("OpenBytes(SealBinary(%.20q)) = %.20q, %v", plain, got, err)
		}
		if len(plain) > 8 && bytes.Contains(b, []byte(plain)) {
			t.Fatalf("SealBinary(%.20q) holds its plaintext", plain)
		}
		// Sealed under an older key (now second in the ring).
		ob, _ := old.SealBinary([]byte(plain))
		if got, err := r.OpenBytes(ob); err != nil || string(got) != plain {
			t.Fatalf("OpenBytes of a value sealed with the second key = %.20q, %v", got, err)
		}
	}
	if b, err := r.SealBinary(nil); err != nil || b == nil || len(b) != 0 {
		t.Errorf("SealBinary(nil) = %q (nil: %v), %v; want empty, not nil", b, b == nil, err)
	}
	for _, plain := range []string{`{"a":1}`, "<xml/>", "a=b&c=d", "k2.x", "\x00k2"} {
		if IsSealedBinary([]byte(plain)) || IsSealedBytes([]byte(plain)) {
			t.Errorf("plaintext %q reads as sealed", plain)
		}
	}
	b, _ := r.SealBinary([]byte("6222020200000000123"))
	other := mustRing(t, testKey(3))
	ob, _ := other.SealBinary([]byte("6222020200000000123"))
	flip := func(i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 1
		return c
	}
	id := r.PrimaryID()
	for name, bad := range map[string][]byte{
		"truncated":       b[:len(b)-1],
		"payload altered": flip(len(b) - 20),
		"tag altered":     flip(len(b) - 1),
		"nonce altered":   flip(len("\x00k2.") + len(id) + 1),
		"format renamed":  append([]byte("\x00k3."), b[4:]...),
		"key renamed":     append([]byte("\x00k2."+r.keys[1].id), b[4+len(id):]...),
		"unknown key":     ob,
		"no key id":       []byte("\x00k2." + id),
		"too short":       b[:len("\x00k2.")+len(id)+1+20],
	} {
		if got, err := r.OpenBytes(bad); err == nil || got != nil {
			t.Errorf("%s: OpenBytes = %q, %v; want an error and nothing", name, got, err)
		}
	}
}

// TestSealBinaryTo: values appended one after another to one buffer each
// open to their own plaintext, and what was in the buffer stays as it was.
func TestSealBinaryTo(t *testing.T) {
	t.Parallel()
	r := mustRing(t, testKey(1))
	plains := []string{`{"id_number":"110101199003074514"}`, "", "张三", strings.Repeat("0123456789", 300)}
	buf := append(make([]byte, 0, 64), "head"...)
	var ends []int
	for _, p := range plains {
		var err error
		if buf, err = r.SealBinaryTo(buf, []byte(p)); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, len(buf))
	}
	if string(buf[:4]) != "head" {
		t.Fatalf("the buffer's start = %q, want head", buf[:4])
	}
	from := 4
	for i, p := range plains {
		v := buf[from:ends[i]]
		from = ends[i]
		if p == "" {
			if len(v) != 0 {
				t.Errorf("empty sealed to %d bytes, want none", len(v))
			}
			continue
		}
		if got, err := r.OpenBytes(v); err != nil || string(got) != p {
			t.Errorf("OpenBytes of value %d = %.20q, %v; want %.20q", i, got, err, p)
		}
		if bytes.Contains(v, []byte(p)) {
			t.Errorf("value %d holds its plaintext", i)
		}
	}
}
