package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestRequestLineAsSlog: the request log line writeRequest writes is the
// line slog's JSON handler (with maskAttr) writes for the same request, for
// random values — plain ones, ones maskAttr changes (secrets in a path),
// and ones writeRequest leaves to slog (escapes, non-ASCII, odd floats and
// years) — and a line it leaves to slog is still written once.
func TestRequestLineAsSlog(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 67))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	str := func() string {
		switch rng.IntN(6) {
		case 0:
			return pick("", "POST", "/v1/orders", "POST /v1/orders", "127.0.0.1:54321", "[::1]:80", "6f1c2a9e0b7d4c3a8e5f1d20")
		case 1:
			return pick("/pushorder/abc?token=s3cret", "/x?sign=abc&b=1", "http://u:p@h/x", "/v1/orders?api_key=k")
		case 2:
			return pick("a\"b", `a\b`, "tab\there", "nl\n", "<&>", "中文", "\xff", "\u2028", "\x7f", "~ !#$%'()*+,-./:;=?@[]^_`{|}")
		default:
			b := make([]byte, rng.IntN(20))
			for i := range b {
				b[i] = byte(0x20 + rng.IntN(0x5f))
			}
			return string(b)
		}
	}
	written := 0
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("odd", -(3*3600 + 30*60))}
	for i := range 20000 {
		l := &requestLine{id: str(), method: str(), route: str(), path: str(), status: rng.IntN(600) - 50,
			durationMS: float64(rng.Int64N(1e7)) / 1000, bytes: rng.Int64N(1<<40) - 5, remote: str()}
		switch rng.IntN(10) {
		case 0:
			l.durationMS = []float64{0, 1e-7, 5e-324, 1e21, 1.5e300, -2.5, math.Inf(1), math.NaN(), 123456789012345678901234.0}[rng.IntN(9)]
		case 1:
			l.durationMS = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(50)-25))
		}
		at := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])
		if rng.IntN(20) == 0 {
			at = at.AddDate(rng.IntN(20000)-10000, 0, 0)
		}
		if rng.IntN(50) == 0 {
			at = at.Truncate(time.Second)
		}
		level := []slog.Level{slog.LevelInfo, slog.LevelError, slog.LevelWarn}[rng.IntN(3)]
		var fast, slow bytes.Buffer
		logRequest(context.Background(), newLogger(&fast, slog.LevelDebug).Handler(), level, at, l)
		ph := newLogger(&slow, slog.LevelDebug).Handler().(*procHandler)
		logRequest(context.Background(), ph.JSONHandler, level, at, l)
		if fast.String() != slow.String() {
			t.Fatalf("line %d:\n got %s\nwant %s", i, fast.String(), slow.String())
		}
		if strings.Count(fast.String(), "\n") != 1 {
			t.Fatalf("line %d: %q is not one line", i, fast.String())
		}
		var direct bytes.Buffer
		if newLogger(&direct, slog.LevelDebug).Handler().(*procHandler).writeRequest(level, at, l) {
			written++
			if direct.String() != slow.String() {
				t.Fatalf("line %d written by hand:\n got %s\nwant %s", i, direct.String(), slow.String())
			}
		} else if direct.Len() != 0 {
			t.Fatalf("line %d: left to slog after writing %q", i, direct.String())
		}
	}
	if written < 2000 {
		t.Errorf("only %d lines of 20,000 written by hand: the test does not exercise writeRequest", written)
	}
	t.Logf("%d lines of 20,000 written by hand", written)
	// The bench's line takes the fast path.
	var buf bytes.Buffer
	ph := newLogger(&buf, slog.LevelInfo).Handler().(*procHandler)
	if !ph.writeRequest(slog.LevelInfo, time.Now(), &requestLine{id: "6f1c2a9e0b7d4c3a8e5f1d20", method: "POST",
		route: "POST /v1/orders", path: "/v1/orders", status: 201, durationMS: 1.234, bytes: 512, remote: "127.0.0.1:54321"}) {
		t.Error("a usual request's line was left to slog")
	}
}

// TestRequestIDNew: a request without a sane id gets a new one of 24
// lower-case hex digits (12 random bytes), a different one each time; a
// sane id is kept.
func TestRequestIDNew(t *testing.T) {
	seen := map[string]bool{}
	for _, in := range []string{"", "a b", strings.Repeat("x", 129), "é", "", ""} {
		id := requestID(in)
		if b, err := hex.DecodeString(id); err != nil || len(b) != 12 || strings.ToLower(id) != id {
			t.Errorf("requestID(%q) = %q, want 24 lower-case hex digits", in, id)
		}
		if seen[id] {
			t.Errorf("requestID(%q) = %q again", in, id)
		}
		seen[id] = true
	}
	if id := requestID("merchant-req:42"); id != "merchant-req:42" {
		t.Errorf("a sane id became %q", id)
	}
}
