package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkRequestLog measures one request log line as withObservability
// writes it (eight attributes through maskAttr), the line every request
// pays for.
func BenchmarkRequestLog(b *testing.B) {
	h := newLogger(io.Discard, slog.LevelInfo).Handler()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		logRequest(ctx, h, slog.LevelInfo, time.Now(), &requestLine{id: "6f1c2a9e0b7d4c3a8e5f1d20", method: "POST",
			route: "POST /v1/orders", path: "/v1/orders", status: 201, durationMS: 1.234, bytes: 512, remote: "127.0.0.1:54321"})
	}
}

// BenchmarkMaskAttr measures the masking decision alone, over a mix of
// keys that carry personal data and keys that do not.
func BenchmarkMaskAttr(b *testing.B) {
	attrs := []slog.Attr{
		slog.String("request_id", "x"), slog.String("method", "POST"), slog.String("route", "r"),
		slog.String("payer_phone", "13800138000"), slog.String("id_number", "110105199001011232"),
		slog.String("api_key", "k"), slog.Int("status", 200), slog.String("remote", "127.0.0.1:1"),
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, a := range attrs {
			_ = maskAttr(nil, a)
		}
	}
}
