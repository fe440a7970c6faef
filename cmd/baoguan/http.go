package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/baoguan/baoguan"
)

// addOpsRoutes registers the operator endpoints beside the API routes.
func addOpsRoutes(mux *http.ServeMux, store baoguan.Store, reg *prometheus.Registry, log *slog.Logger) {
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(store, log))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelError),
		EnableOpenMetrics: true,
	}))
}

// handleHealthz answers while the process can serve HTTP at all; a
// supervisor restarts the process when it stops answering.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
}

// handleReadyz answers 200 when the store answers a read, else 503, so a
// load balancer stops sending traffic to an instance whose database is
// gone. It reads a merchant lookup that is cheap and touches a real table.
func handleReadyz(store baoguan.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		err := store.View(ctx, func(tx baoguan.Tx) error {
			_, err := tx.Merchant(0)
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				return nil
			}
			return err
		})
		if err != nil {
			log.Warn("readiness check failed", "request_id", r.Header.Get(requestIDHeader), "err", err)
			writeJSON(w, http.StatusServiceUnavailable, `{"status":"unavailable","reason":"store does not answer"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, body)
}

// httpMetrics are the per-request instruments.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// byRoute holds each route and status's two series (routeStatus →
	// *routeSeries), so that a request finds them without hashing its
	// labels into the vectors twice.
	byRoute sync.Map
}

// routeStatus is a request's labels.
type routeStatus struct {
	route  string
	status int
}

// routeSeries are one route and status's series.
type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// series returns the series of route and status. There are as many as
// routes times statuses: unmatched paths share the route "unmatched".
func (m *httpMetrics) series(route string, status int) *routeSeries {
	k := routeStatus{route, status}
	if s, ok := m.byRoute.Load(k); ok {
		return s.(*routeSeries)
	}
	code := strconv.Itoa(status)
	s, _ := m.byRoute.LoadOrStore(k, &routeSeries{m.requests.WithLabelValues(route, code), m.duration.WithLabelValues(route, code)})
	return s.(*routeSeries)
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baoguan_http_requests_total",
			Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "baoguan_http_request_duration_seconds",
			Help:    "HTTP request handling time by route pattern and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// requestIDHeader carries the request id in both directions.
const requestIDHeader = "X-Request-Id"

// requestID returns the caller's request id if it is sane (1-128
// characters of letters, digits and -_.:), or a new random one. A sane id
// lets a merchant correlate our logs with theirs; anything else could
// forge log lines or bloat them, so it is replaced.
func requestID(in string) string {
	if len(in) >= 1 && len(in) <= 128 {
		ok := true
		for i := 0; i < len(in); i++ {
			c := in[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
				ok = false
				break
			}
		}
		if ok {
			return in
		}
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	var h [24]byte // hex.EncodeToString, in one allocation
	hex.Encode(h[:], b[:])
	return string(h[:])
}

// withObservability wraps the whole mux: it settles the request id (echoed
// in the response header and put in the request header, where handlers
// read it for their own logs), logs every request once, counts it by route
// pattern, and turns a handler panic into a logged 500.
func withObservability(next *http.ServeMux, log *slog.Logger, m *httpMetrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get(requestIDHeader))
		// One slice for both headers, as Header.Set would store it (the
		// canonical key): neither side writes it in place.
		ids := []string{id}
		r.Header[requestIDHeader], w.Header()[requestIDHeader] = ids, ids
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p) // the server's own way to abort a response
				}
				log.Error("handler panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !rec.wrote {
					writeJSON(rec, http.StatusInternalServerError, `{"error":{"code":"internal","message":"internal error"}}`)
				}
			}
			route := r.Pattern // set by ServeMux on the request it routed
			// The path is logged without secrets: a route's secret
			// wildcards (pushorder's /{token}/) are redacted; an
			// unmatched path loses its token-like segments. The query
			// string and headers (Authorization, signatures) are never
			// logged.
			path := redactPath(route, r.URL.Path)
			if route == "" {
				route = "unmatched" // 404/405: the raw path would make unbounded labels
				path = redactUnmatched(r.URL.Path)
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			now := time.Now()
			d := now.Sub(start)
			ms := m.series(route, status)
			ms.requests.Inc()
			ms.duration.Observe(d.Seconds())
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			logRequest(r.Context(), log.Handler(), level, now, &requestLine{id: id, method: r.Method, route: route,
				path: path, status: status, durationMS: float64(d.Microseconds()) / 1000, bytes: rec.bytes, remote: r.RemoteAddr})
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (deadlines,
// flushing) through the recorder.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush keeps streaming responses working for handlers that type-assert.
func (s *statusRecorder) Flush() {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Hijack is passed through for the same reason.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("baoguan: response writer cannot hijack")
	}
	return h.Hijack()
}
