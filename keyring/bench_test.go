package keyring

import (
	"strings"
	"testing"
)

// BenchmarkSeal and BenchmarkOpen: sealing and opening a notification
// body of 600 bytes, what every event costs the store.
func BenchmarkSeal(b *testing.B) {
	r, _ := New(make([]byte, KeySize))
	plain := strings.Repeat("x", 600)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Seal(plain); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	r, _ := New(make([]byte, KeySize))
	sealed, _ := r.Seal(strings.Repeat("x", 600))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Open(sealed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealBytes(b *testing.B) {
	r, _ := New(make([]byte, KeySize))
	plain := []byte(strings.Repeat("x", 600))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.SealBytes(plain); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenBytes(b *testing.B) {
	r, _ := New(make([]byte, KeySize))
	sealed, _ := r.SealBytes([]byte(strings.Repeat("x", 600)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.OpenBytes(sealed); err != nil {
			b.Fatal(err)
		}
	}
}
