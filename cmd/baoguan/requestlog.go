package main

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
)

// requestLine is what a request's log line says, in the order it says it.
type requestLine struct {
	id, method, route, path string
	status                  int
	durationMS              float64
	bytes                   int64
	remote                  string
}

func (l *requestLine) attrs() []slog.Attr {
	return []slog.Attr{
		slog.String("request_id", l.id),
		slog.String("method", l.method),
		slog.String("route", l.route),
		slog.String("path", l.path),
		slog.Int("status", l.status),
		slog.Float64("duration_ms", l.durationMS),
		slog.Int64("bytes", l.bytes),
		slog.String("remote", l.remote),
	}
}

// logRequest writes a request's log line, at the time at, to h. The
// process's handler gets the line written by writeRequest when it can;
// any other handler (a derived one, a test's) gets a record directly:
// slog.Logger would look up its caller's program counter for every line,
// which the process's handler does not log (newLogger).
func logRequest(ctx context.Context, h slog.Handler, level slog.Level, at time.Time, l *requestLine) {
	if !h.Enabled(ctx, level) {
		return
	}
	if ph, ok := h.(*procHandler); ok && ph.writeRequest(level, at, l) {
		return
	}
	r := slog.NewRecord(at, level, "request", 0)
	r.AddAttrs(l.attrs()...)
	_ = h.Handle(ctx, r)
}

// plainRequestKeys: maskAttr leaves the line's built-in keys and its
// number attributes as they are, so writeRequest need not ask it.
var plainRequestKeys = func() bool {
	for _, k := range []string{slog.TimeKey, slog.LevelKey, slog.MessageKey, "status", "duration_ms", "bytes"} {
		if classify(k) != maskNone {
			return false
		}
	}
	return true
}()

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeRequest writes the bytes slog's JSON handler writes for the line
// (TestRequestLineAsSlog): each string through maskAttr, as the handler's
// ReplaceAttr, and the duration as encoding/json writes a float64 — slog
// calls json.Marshal for every float and for the level, which cost more
// than the rest of the line. It reports false, writing nothing, for what
// it does not write as slog would without escaping: a string with a byte
// outside printable ASCII, '"' or '\', a time outside years 0–9999, a
// duration that is not finite.
func (h *procHandler) writeRequest(level slog.Level, at time.Time, l *requestLine) bool {
	if !plainRequestKeys || at.IsZero() || at.Year() < 0 || at.Year() >= 10000 ||
		math.IsInf(l.durationMS, 0) || math.IsNaN(l.durationMS) {
		return false
	}
	p := lineBuffers.Get().(*[]byte)
	defer func() {
		if cap(*p) <= 64<<10 { // a line with a long path is not kept
			lineBuffers.Put(p)
		}
	}()
	b := append((*p)[:0], `{"time":"`...)
	b = at.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":"request"`...)
	ok := true
	b, ok = appendPlainAttr(b, ok, "request_id", l.id)
	b, ok = appendPlainAttr(b, ok, "method", l.method)
	b, ok = appendPlainAttr(b, ok, "route", l.route)
	b, ok = appendPlainAttr(b, ok, "path", l.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(l.status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendJSONFloat(b, l.durationMS)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, l.bytes, 10)
	b, ok = appendPlainAttr(b, ok, "remote", l.remote)
	b = append(b, "}\n"...)
	*p = b
	if !ok {
		return false
	}
	_, _ = h.out.Write(b)
	return true
}

// appendPlainAttr appends ,"key":"value" with the value maskAttr gives,
// or sets ok false if that value is not a string slog writes unescaped.
func appendPlainAttr(b []byte, ok bool, key, v string) ([]byte, bool) {
	if !ok {
		return b, false
	}
	a := maskAttr(nil, slog.String(key, v))
	if a.Key != key || a.Value.Kind() != slog.KindString {
		return b, false
	}
	s := a.Value.String()
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return b, false
		}
	}
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":"`...)
	b = append(b, s...)
	return append(b, '"'), true
}

// appendJSONFloat appends a finite f as encoding/json writes a float64.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
