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
//
// The hashing works on the stack (sha256.Sum256 over the bytes a streaming
// hash would be written): the sandbox's payment and declaration numbers
// are drawn inside a job batch, in SQLite's single writer.
func digits(n int, parts ...string) string {
	var seedBuf [256]byte
	seed := seedBuf[:0]
	for _, p := range parts {
		seed = binary.BigEndian.AppendUint64(seed, uint64(len(p)))
		seed = append(seed, p...)
	}
	var block [sha256.Size + 8]byte
	base := sha256.Sum256(seed)
	copy(block[:], base[:])

	var outBuf [64]byte
	out := outBuf[:0]
	for i := uint64(0); len(out) < n; i++ {
		binary.BigEndian.PutUint64(block[sha256.Size:], i)
		sum := sha256.Sum256(block[:])
		for _, b := range sum {
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
