package core_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/baoguan/baoguan/core"
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
