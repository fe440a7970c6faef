package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// digits derives n decimal digits from parts. It stands in for the numbers a
// real PSP or customs would hand out: they must look like such numbers and be
// the same whenever the same parts come in again, which a counter or a random
// source could not guarantee across restarts.
//
// Each part is length-prefixed before hashing so that ("1","23") and
// ("12","3") never collide. Bytes ≥ 250 are skipped so that every digit is
// equally likely; when a hash runs out, the next block is hashed with a
// block counter. The first digit is never 0, so the result keeps its length
// if someone stores it as an integer.
func digits(n int, parts ...string) string {
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
				if b >= 252 { // 252 = 9·28: keeps 1–9 uniform
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

func i64(v int64) string { return strconv.FormatInt(v, 10) }
