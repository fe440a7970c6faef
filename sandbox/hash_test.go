package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"testing"
)

// TestDigitsAsStreamed: digits draws the same numbers as the streaming
// hash it was first written with, so the sandbox hands out the same
// payment, refund and declaration numbers for the same parts as before.
func TestDigitsAsStreamed(t *testing.T) {
	streamed := func(n int, parts ...string) string {
		seed := sha256.New()
		var lenBuf [8]byte
		for _, p := range parts {
			binary.BigEndian.PutUint64(lenBuf[:], uint64(len(p)))
			seed.Write(lenBuf[:])
			seed.Write([]byte(p))
		}
		base := seed.Sum(nil)
		out := make([]byte, 0, n)
		for block := uint64(0); len(out) < n; block++ {
			h := sha256.New()
			h.Write(base)
			binary.BigEndian.PutUint64(lenBuf[:], block)
			h.Write(lenBuf[:])
			for _, b := range h.Sum(nil) {
				if len(out) == n {
					break
				}
				if len(out) == 0 {
					if b >= 252 {
						continue
					}
					out = append(out, '1'+b%9)
					continue
				}
				if b >= 250 {
					continue
				}
				out = append(out, '0'+b%10)
			}
		}
		return string(out)
	}
	long := string(make([]byte, 300)) // past the stack buffer
	for i := range 2000 {
		n := 1 + i%40
		parts := []string{"pay", strconv.Itoa(i), "ORDER" + strconv.Itoa(i*7919), strconv.Itoa(i % 3)}
		if i%100 == 0 {
			parts = append(parts, long)
		}
		if got, want := digits(n, parts...), streamed(n, parts...); got != want {
			t.Fatalf("digits(%d, %q) = %s, streamed %s", n, parts, got, want)
		}
	}
	if got := testing.AllocsPerRun(100, func() { digits(20, "pay", "1", "2", "ORDER1", "1") }); got > 1 {
		t.Errorf("digits: %v allocations, want 1 (its string)", got)
	}
}
