package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Servers and the bodies read before authentication.
//
// The vendor front-ends (pushorder, accp, wechatv3, payzero, wisecashier)
// learn who calls only from the body (a MerchantName, a signature over the
// bytes, a login form), so they read it before anything is checked. A
// client that sends its body a byte at a time would hold a connection and
// a handler for as long as the server's ReadTimeout, and enough of them
// would hold the gateway. preAuthGate bounds that: each such body must
// arrive within its own deadline, and only so many are read at once per
// instance; a request beyond that is answered 503 at once, before its body
// is read. The native API and the console authenticate from headers (an
// API key, a session cookie) and are bounded by the server's timeouts.

// preAuthGate holds the slots of bodies being read before authentication.
type preAuthGate struct {
	slots   chan struct{}
	timeout time.Duration
	log     *slog.Logger
}

func newPreAuthGate(concurrency int, timeout time.Duration, log *slog.Logger) *preAuthGate {
	if concurrency <= 0 {
		concurrency = 256
	}
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	return &preAuthGate{slots: make(chan struct{}, concurrency), timeout: timeout, log: log}
}

// wrap serves next with every request body read under the gate: a slot
// taken before the handler runs and given back when the body has been
// read (to its end, or failed, or closed) or the handler returns, and a
// read deadline of g.timeout on the connection while it is read. With
// tokenAuth, a request carrying an Authorization header passes: the
// front-end checks the header before it reads the body, and refuses
// without reading it.
func (g *preAuthGate) wrap(next http.Handler, tokenAuth bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || tokenAuth && r.Header.Get("Authorization") != "" {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case g.slots <- struct{}{}:
		default:
			g.log.Warn("request refused: too many bodies being read before authentication", "request_id", r.Header.Get(requestIDHeader),
				"remote", r.RemoteAddr, "limit", cap(g.slots))
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close")
			writeJSON(w, http.StatusServiceUnavailable, `{"error":{"code":"busy","message":"too many requests are being read; retry in a second"}}`)
			return
		}
		rc := http.NewResponseController(w)
		// An error means the writer cannot set deadlines (a test
		// recorder); the server's ReadTimeout still holds then.
		_ = rc.SetReadDeadline(time.Now().Add(g.timeout))
		b := &gatedBody{ReadCloser: r.Body, release: func(whole bool) {
			if whole {
				// The body is in: the connection goes back to the
				// server's deadlines (a deadline left to expire would
				// cancel the request's context while the handler works).
				_ = rc.SetReadDeadline(time.Time{})
			} else {
				// A body cut short (timed out, broken, or left unread by
				// the handler) is not read any further: the server, which
				// would otherwise read on to keep the connection, closes
				// it after the answer.
				_ = rc.SetReadDeadline(time.Now())
			}
			<-g.slots
		}}
		defer b.done()
		r.Body = b
		next.ServeHTTP(w, r)
	})
}

// gatedBody gives its slot back once, at the first end of reading:
// whole when the body was read to its end.
type gatedBody struct {
	io.ReadCloser
	once    sync.Once
	release func(whole bool)
}

func (b *gatedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.end(errors.Is(err, io.EOF))
	}
	return n, err
}

func (b *gatedBody) Close() error {
	b.done()
	return b.ReadCloser.Close()
}

// done ends the body as it stands: not read to its end, unless it was.
func (b *gatedBody) done() { b.end(false) }

func (b *gatedBody) end(whole bool) { b.once.Do(func() { b.release(whole) }) }

// newServer is every listener's server: the main one and each
// --<protocol>-addr one get the same header limits and timeouts.
func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // a 32 MiB batch upload from a slow link
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
