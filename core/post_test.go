package core_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/netguard"
)

// TestPostAnswer: Post records an answer's status and its body (the first
// 4096 bytes) whether the body's length is told, unknown (chunked) or
// none; a bodiless answer (204, or Content-Length: 0) records no body.
func TestPostAnswer(t *testing.T) {
	long := strings.Repeat("x", 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/empty":
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
		case "/sized":
			w.Header().Set("Content-Length", "2")
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("ok"))
		case "/chunked":
			w.WriteHeader(http.StatusBadRequest)
			w.(http.Flusher).Flush() // no Content-Length: the body is chunked
			_, _ = w.Write([]byte("bad "))
			_, _ = w.Write([]byte("request"))
		case "/long":
			_, _ = w.Write([]byte(long))
		}
	}))
	defer srv.Close()
	for _, c := range []struct {
		path     string
		status   int
		response string
	}{
		{"/204", 204, ""},
		{"/empty", 200, ""},
		{"/sized", 202, "ok"},
		{"/chunked", 400, "bad request"},
		{"/long", 200, long[:4096]},
		{"/204", 204, ""}, // the connection reused after each
	} {
		d := core.Post(context.Background(), srv.Client(), srv.URL+c.path, "application/json", []byte(`{}`), nil)
		if d.Err != nil || d.Status != c.status || d.Response != c.response {
			t.Errorf("%s: status %d, response %.20q (%d bytes), error %v; want %d, %.20q (%d bytes)",
				c.path, d.Status, d.Response, len(d.Response), d.Err, c.status, c.response, len(c.response))
		}
	}
}

// TestPostTimeout: a receiver that does not answer, or answers and then
// sends its body no further, is cut off at the client's timeout; the
// attempt's error says so as http.Client's did.
func TestPostTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-time.After(time.Minute):
		}
	}))
	defer srv.Close()
	defer close(release)
	c := &http.Client{Timeout: 100 * time.Millisecond}
	url := srv.URL + "/hang"
	d := core.Post(context.Background(), c, url, "application/json", []byte(`{}`), nil)
	want := `Post "` + url + `": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
	var ne net.Error
	if d.Err == nil || d.Err.Error() != want || !errors.Is(d.Err, context.DeadlineExceeded) || !errors.As(d.Err, &ne) || !ne.Timeout() {
		t.Errorf("hanging receiver: status %d, error %v; want %s, a timeout", d.Status, d.Err, want)
	}
	// The answer's body is read within the same timeout: what came of it
	// is kept.
	d = core.Post(context.Background(), c, srv.URL+"/body", "application/json", []byte(`{}`), nil)
	if d.Err != nil || d.Status != http.StatusOK || d.Response != "partial" {
		t.Errorf("body that stops: status %d, response %q, error %v; want 200, %q", d.Status, d.Response, d.Err, "partial")
	}
}

// TestPostAsClient: what http.Client did for a single request Post still
// does — the URL's user and password as basic authentication, errors
// naming the method and the URL with its password masked, word for word
// as the client's — and netguard's client still refuses a loopback
// address before connecting.
func TestPostAsClient(t *testing.T) {
	var auth atomic.Value
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("shop", "s3cret")
	d := core.Post(context.Background(), srv.Client(), u.String()+"/hook", "application/json", []byte(`{}`), nil)
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("shop:s3cret")); d.Status != 204 || auth.Load() != want {
		t.Errorf("status %d, Authorization %q; want 204, %q", d.Status, auth.Load(), want)
	}
	refused := netguard.Client(time.Minute, false)
	d = core.Post(context.Background(), refused, srv.URL+"/hook", "application/json", []byte(`{}`), nil)
	if !errors.Is(d.Err, netguard.ErrNotAllowed) || asked.Load() != 1 {
		t.Errorf("netguard: error %v, receiver asked %d times; want ErrNotAllowed, once", d.Err, asked.Load())
	}
	srv.Close()
	hook := u.String() + "/hook"
	d = core.Post(context.Background(), srv.Client(), hook, "application/json", []byte(`{}`), nil)
	_, err := (&http.Client{}).Post(hook, "application/json", strings.NewReader(`{}`))
	if d.Err == nil || err == nil || d.Err.Error() != err.Error() || strings.Contains(d.Err.Error(), "s3cret") {
		t.Errorf("closed receiver: error %v; want %v, no password", d.Err, err)
	}
}

// TestPostReusesConnection: one sender's notifications go over one
// connection, whatever the answer (none, a short body, a long one read
// in part), as netguard's client keeps them alive.
func TestPostReusesConnection(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/ok":
			_, _ = w.Write([]byte("ok"))
		case "/long":
			_, _ = w.Write([]byte(strings.Repeat("x", 5000)))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := netguard.Client(time.Minute, true)
	for i := range 30 {
		path := []string{"/204", "/ok", "/long"}[i%3]
		if d := core.Post(context.Background(), c, srv.URL+path, "application/json", []byte(`{}`), nil); d.Err != nil {
			t.Fatalf("%s: %v", path, d.Err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("30 notifications one after another took %d connections; want 1", n)
	}
}
