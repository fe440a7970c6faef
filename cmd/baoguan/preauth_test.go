package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dedicatedURL waits for serve to announce protocol's own listener.
func dedicatedURL(t *testing.T, s *server, protocol string) string {
	t.Helper()
	re := regexp.MustCompile(protocol + ` protocol served at http://(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.Stdout.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s listener announced:\n%s", protocol, s.Stdout)
	return ""
}

// slowClient connects to addr and sends a request whose body announces
// 1000 bytes and delivers 10, then stalls. It is closed at the end of the
// test, before the server stops.
func slowClient(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ndata=%%7B%%22", path, addr)
	return c
}

// closedByServer reads c until the server closes it. It fails the test if
// the server has not closed it after guard: a bound far above the
// configured deadline, there only so that a broken server fails the test
// instead of hanging it.
func closedByServer(t *testing.T, c net.Conn, guard time.Duration, what string) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(guard))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: the server still held the connection of a stalled body after %s", what, guard)
	}
	return string(b)
}

// TestSlowBodiesAreCut: a client that stops sending its body is cut off
// by every front-end that reads the body before authenticating, on the
// main listener and on a dedicated one, after --preauth-body-timeout
// rather than the server's two-minute ReadTimeout.
func TestSlowBodiesAreCut(t *testing.T) {
	db := filepath.Join(t.TempDir(), "slow.db")
	s := startServer(t, envOf(), "--db", "sqlite:"+db, "--preauth-body-timeout", "200ms",
		"--pushorder-addr", "127.0.0.1:0", "--accp-addr", "127.0.0.1:0")
	main := strings.TrimPrefix(s.URL, "http://")
	targets := []struct{ addr, path string }{
		{main, "/pushorder/PushOrder"},
		{main, "/pushorder/SomeToken0123456789abcdefghij/PushOrder"},
		{main, "/accp/v1/cbpayment/apply-pushpay"},
		{main, "/wechatpay/v3/global/customs/orders"},
		{main, "/payzero/auth/login"},
		{main, "/wisecashier/order/scan_pay"},
		{dedicatedURL(t, s, "pushorder"), "/PushOrder"},
		{dedicatedURL(t, s, "accp"), "/v1/cbpayment/apply-pushpay"},
	}
	conns := make([]net.Conn, len(targets))
	for i, tg := range targets {
		conns[i] = slowClient(t, tg.addr, tg.path)
	}
	for i, tg := range targets {
		closedByServer(t, conns[i], 20*time.Second, tg.addr+tg.path)
	}
}

// TestPreAuthConcurrencyCap: with --preauth-concurrency 2, two stalled
// bodies hold both slots; a third request to any vendor front-end, on the
// main or a dedicated listener, is refused at once with 503 and
// Retry-After; once the stalled clients go, requests are served again.
// The native API, which authenticates from headers, is not held up.
func TestPreAuthConcurrencyCap(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cap.db")
	// The probes name no merchant, each a failed access: the address's
	// failure limit is off so that however many probes a slow machine
	// needs, the answers are the gate's.
	s := startServer(t, envOf(), "--db", "sqlite:"+db, "--preauth-concurrency", "2", "--preauth-body-timeout", "1m",
		"--pushorder-addr", "127.0.0.1:0", "--limit-auth-source", "off")
	main := strings.TrimPrefix(s.URL, "http://")
	dedicated := dedicatedURL(t, s, "pushorder")
	a := slowClient(t, main, "/pushorder/PushOrder")
	b := slowClient(t, dedicated, "/PushOrder")
	post := func(u string) *http.Response {
		resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(`data={"OrderNo":"X","MerchantName":"nobody"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// The stalled clients' requests reach their handlers in a moment;
	// until both have, a request may still get a slot.
	var refused *http.Response
	for deadline := time.Now().Add(20 * time.Second); refused == nil && time.Now().Before(deadline); {
		if resp := post(s.URL + "/pushorder/GetOrder"); resp.StatusCode == http.StatusServiceUnavailable {
			refused = resp
		}
		time.Sleep(20 * time.Millisecond)
	}
	if refused == nil {
		t.Fatal("two stalled bodies with --preauth-concurrency 2: a third request was never refused")
	}
	if refused.Header.Get("Retry-After") == "" {
		t.Error("the 503 has no Retry-After")
	}
	for _, u := range []string{s.URL + "/accp/v1/cbpayment/query-pushpay", s.URL + "/payzero/auth/login", "http://" + dedicated + "/GetOrder"} {
		if resp := post(u); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s while both slots are held: %d, want 503", u, resp.StatusCode)
		}
	}
	if resp, err := http.Get(s.URL + "/v1/customs"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("native API while the slots are held: %v %v", resp, err)
	}
	a.Close()
	b.Close()
	var served bool
	for deadline := time.Now().Add(20 * time.Second); !served && time.Now().Before(deadline); {
		served = post(s.URL+"/pushorder/GetOrder").StatusCode == http.StatusOK
		time.Sleep(20 * time.Millisecond)
	}
	if !served {
		t.Error("after the stalled clients left, requests are still refused")
	}
}

// TestListenersShareHeaderLimits: the main listener and every dedicated
// one refuse a 100 KiB header block (431), which the standard library's
// default (1 MiB) would read.
func TestListenersShareHeaderLimits(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hdr.db")
	s := startServer(t, envOf(), "--db", "sqlite:"+db, "--pushorder-addr", "127.0.0.1:0", "--accp-addr", "127.0.0.1:0",
		"--wechatv3-addr", "127.0.0.1:0", "--payzero-addr", "127.0.0.1:0", "--wisecashier-addr", "127.0.0.1:0")
	addrs := []string{strings.TrimPrefix(s.URL, "http://")}
	for _, p := range []string{"pushorder", "accp", "wechatv3", "payzero", "wisecashier"} {
		addrs = append(addrs, dedicatedURL(t, s, p))
	}
	big := strings.Repeat("a", 100<<10)
	for _, addr := range addrs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\n\r\n", addr, big)
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Errorf("%s: %v", addr, err)
		} else if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: a 100 KiB header: %d, want 431", addr, resp.StatusCode)
		}
		c.Close()
	}
	_ = os.Remove(db)
}
