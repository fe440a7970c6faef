package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSign and BenchmarkVerify: one notification of 600 bytes, what
// every delivery costs the sender and a receiver.
func BenchmarkSign(b *testing.B) {
	secret, body, now := NewSecret(), []byte(strings.Repeat("x", 600)), time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(secret, "evt_1", now, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSigner signs as a sender that keeps a Signer for its secret.
func BenchmarkSigner(b *testing.B) {
	s, err := NewSigner(NewSecret())
	if err != nil {
		b.Fatal(err)
	}
	body, now := []byte(strings.Repeat("x", 600)), time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign("evt_1", now, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	secret, body, now := NewSecret(), []byte(strings.Repeat("x", 600)), time.Now()
	sig, _ := Sign(secret, "evt_1", now, body)
	h := http.Header{}
	h.Set(HeaderID, "evt_1")
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, sig)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(secret, h, body, now, DefaultTolerance); err != nil {
			b.Fatal(err)
		}
	}
}
