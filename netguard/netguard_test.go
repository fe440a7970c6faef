package netguard

// Every network test here talks only to httptest servers, which listen on
// loopback; whether public addresses are allowed is tested through Allowed
// alone, never by dialing.

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// loopbackServer starts an httptest server and fails the test if it is not
// on loopback, so a changed default can never send test traffic elsewhere.
func loopbackServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	assertLoopback(t, srv.Listener.Addr())
	return srv, &hits
}

func assertLoopback(t *testing.T, addr net.Addr) {
	t.Helper()
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		t.Fatalf("test server listens on %v, not loopback", addr)
	}
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "SUCCESS") }

func TestClientRefusesLoopback(t *testing.T) {
	t.Parallel()
	srv, hits := loopbackServer(t, http.HandlerFunc(ok))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	// Only IP literals: a host name, even "localhost", could send a DNS
	// query off the machine. The hook sees resolved addresses either way,
	// so the literal exercises the same path a name would.
	urls := []string{
		srv.URL,
		srv.URL + "/notify?x=1",
		"http://127.0.0.1:" + port + "/",
	}
	if strings.HasPrefix(srv.URL, "http://127.") {
		// Every 127/8 address is loopback, not just the one listened on.
		urls = append(urls, "http://127.0.0.2:"+port+"/")
	}
	c := Client(5*time.Second, false)
	for _, u := range urls {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s succeeded with allowPrivate=false", u)
		}
		if !errors.Is(err, ErrNotAllowed) {
			t.Errorf("GET %s: error %v does not wrap ErrNotAllowed", u, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "not allowed") || !strings.Contains(msg, "--allow-private-notify") {
			t.Errorf("GET %s: error %q should say the address is not allowed and mention --allow-private-notify", u, msg)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

func TestClientAllowPrivate(t *testing.T) {
	t.Parallel()
	srv, hits := loopbackServer(t, http.HandlerFunc(ok))
	resp, err := Client(5*time.Second, true).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with allowPrivate=true: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "SUCCESS" {
		t.Errorf("got %d %q, want 200 SUCCESS", resp.StatusCode, body)
	}
	if hits.Load() != 1 {
		t.Errorf("server hits = %d, want 1", hits.Load())
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var targetHits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/notify", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
		ok(w, r)
	})
	srv, _ := loopbackServer(t, mux)

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, srv.URL+"/notify", strings.NewReader(`{"a":1}`))
		resp, err := Client(5*time.Second, true).Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Errorf("%s: status = %d, want 302 returned as is", method, resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != "/elsewhere" {
			t.Errorf("%s: Location = %q, want /elsewhere", method, loc)
		}
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("redirect target was requested %d times", n)
	}
}

// TestClientAsksNoCompression: a notification's request does not ask for
// gzip (the answer is read for its status and a few KB).
func TestClientAsksNoCompression(t *testing.T) {
	t.Parallel()
	var accept atomic.Value
	srv, _ := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept.Store(r.Header.Values("Accept-Encoding"))
		ok(w, r)
	}))
	resp, err := Client(5*time.Second, true).Post(srv.URL, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := accept.Load().([]string); len(got) != 0 {
		t.Errorf("the request asked for Accept-Encoding %q", got)
	}
}

func TestClientKeepAlive(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(ok))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	assertLoopback(t, srv.Listener.Addr())

	c := Client(5*time.Second, true)
	for i := 0; i < 3; i++ {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("3 sequential requests used %d connections, want 1 (keep-alive)", n)
	}
}

func TestClientTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	gone := make(chan struct{}, 1)
	srv, _ := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			gone <- struct{}{}
		}
	}))
	// Registered after the server's cleanup, so it runs first and lets
	// the handler return before Close waits for it.
	t.Cleanup(func() { close(release) })

	// The client gives up on its own: the handler would hang until the
	// test ends. How long that took is not asserted (a loaded machine
	// stretches it); that the answer is the client's timeout is.
	c := Client(200*time.Millisecond, true)
	if c.Timeout != 200*time.Millisecond {
		t.Errorf("client timeout %v, want 200ms", c.Timeout)
	}
	resp, err := c.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("request to a hanging server succeeded")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v is not a timeout", err)
	}
	select {
	case <-gone:
	case <-time.After(time.Minute): // a liveness bound, not a measurement
		t.Error("the server never saw the client give up")
	}
}

// TestClientConfig checks settings that loopback traffic cannot show. The
// proxy one in particular: net/http never proxies requests to loopback, so
// a proxy taken from the environment would go unnoticed by the other tests
// while sending every real notification past the address check.
func TestClientConfig(t *testing.T) {
	t.Parallel()
	for _, allowPrivate := range []bool{false, true} {
		c := Client(7*time.Second, allowPrivate)
		if c.Timeout != 7*time.Second {
			t.Errorf("Timeout = %v, want 7s", c.Timeout)
		}
		tr, ok := c.Transport.(*http.Transport)
		if !ok {
			t.Fatalf("Transport is %T, want *http.Transport", c.Transport)
		}
		if tr.Proxy != nil {
			t.Error("Transport uses a proxy; the address check would apply to the proxy")
		}
		if tr.DisableKeepAlives {
			t.Error("keep-alives are disabled")
		}
		if c.CheckRedirect == nil || !errors.Is(c.CheckRedirect(nil, nil), http.ErrUseLastResponse) {
			t.Error("CheckRedirect does not return http.ErrUseLastResponse")
		}
	}
}

// TestControl checks the dial hook directly with addresses of every kind,
// without opening any socket.
func TestControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		address string
		ok      bool
	}{
		{"93.184.216.34:443", true},
		{"[2606:2800:220:1:248:1893:25c8:1946]:443", true},
		{"127.0.0.1:80", false},
		{"[::1]:80", false},
		{"169.254.169.254:80", false},
		{"[fe80::1%lo]:80", false},
		{"[::ffff:10.0.0.1]:80", false},
		{"0.0.0.0:80", false},
		{"[fe80::1%eth0]:443", false},
		{"[64:ff9b::7f00:1]:80", false},
		{"[64:ff9b::808:808]:443", true},
		{"[2002:c0a8:101::1]:443", false},
		{"[::127.0.0.1]:80", false},
		{"[2001:0:4136:e378:8000:63bf:3fff:fdd2]:443", false},
		{"192.0.0.9:443", true},
		{"192.0.0.8:443", false},
		{"203.0.113.10:443", false},
		{"not-an-address:80", false},
		{"missing-port", false},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			t.Parallel()
			err := control("tcp", tt.address, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("control(%q) = %v, want ok=%v", tt.address, err, tt.ok)
			}
			if err != nil && tt.address != "missing-port" && !errors.Is(err, ErrNotAllowed) {
				t.Errorf("error %v does not wrap ErrNotAllowed", err)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip   string
		want bool
	}{
		// Public.
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.216.34", true},
		{"2001:4860:4860::8888", true},
		{"2606:4700:4700::1111", true},
		// Just outside the blocked ranges.
		{"9.255.255.255", true},
		{"11.0.0.0", true},
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"126.255.255.255", true},
		{"128.0.0.0", true},
		{"169.253.255.255", true},
		{"169.255.0.0", true},
		{"172.15.255.255", true},
		{"172.32.0.0", true},
		{"192.167.255.255", true},
		{"192.169.0.0", true},
		{"223.255.255.255", true},
		{"64:ff9b::808:808", true}, // NAT64 form of 8.8.8.8
		// Loopback.
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		// RFC 1918 and unique local.
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.0.1", false},
		{"fc00::1", false},
		{"fd12:3456:789a::1", false},
		// Link-local, including the cloud metadata service.
		{"169.254.0.1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"febf:ffff::1", false},
		// Unspecified and "this network".
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		// Multicast.
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"ff0e::1", false},
		// Carrier-grade NAT.
		{"100.64.0.0", false},
		{"100.100.100.200", false},
		{"100.127.255.255", false},
		// Reserved and broadcast.
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"198.18.0.1", false},
		{"fec0::1", false},
		// IPv4 in IPv6 clothing.
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::7f00:1", false},    // NAT64 form of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 form of 169.254.169.254
	}
	tests = append(tests, registryCases...)
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			t.Parallel()
			ip := net.ParseIP(tt.ip)
			if ip == nil {
				t.Fatalf("bad test IP %q", tt.ip)
			}
			if got := Allowed(ip); got != tt.want {
				t.Errorf("Allowed(%s) = %v, want %v", tt.ip, got, tt.want)
			}
			// The 4-byte form of an IPv4 address must be judged the same.
			if v4 := ip.To4(); v4 != nil {
				if got := Allowed(v4); got != tt.want {
					t.Errorf("Allowed(4-byte %s) = %v, want %v", tt.ip, got, tt.want)
				}
			}
		})
	}
	for _, ip := range []net.IP{nil, {}, {1, 2, 3}} {
		if Allowed(ip) {
			t.Errorf("Allowed(%#v) = true for an invalid IP", ip)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want string // "" means valid; else a substring of the error
	}{
		{"https://merchant.example.com/notify", ""},
		{"http://merchant.example.com", ""},
		{"HTTPS://Merchant.Example.com/Notify?x=1", ""},
		{"https://merchant.example.com:8443/pay/notify?id=7#frag", ""},
		{"http://203.0.113.10:8080/cb", ""},
		{"http://[2001:db8::1]:8080/cb", ""},
		{"http://localhost/cb", ""}, // refused at delivery time, not here
		{"http://xn--fiqs8s.example/cb", ""},

		{"", "empty"},
		{"merchant.example.com/notify", "no scheme"},
		{"//merchant.example.com/notify", "no scheme"},
		{"ftp://merchant.example.com/", `scheme "ftp"`},
		{"file:///etc/passwd", `scheme "file"`},
		{"gopher://x/", `scheme "gopher"`},
		{"javascript:alert(1)", `scheme "javascript"`},
		{"http:merchant.example.com", "must be http://host"},
		{"https://", "no host"},
		{"https:///notify", "no host"},
		{"http://:8080/notify", "no host"},
		{"https://user:pass@merchant.example.com/", "user name or password"},
		{"https://user@merchant.example.com/", "user name or password"},
		{"https://@merchant.example.com/", "user name or password"},
		{"https://merchant.example.com:0/", "port"},
		{"https://merchant.example.com:65536/", "port"},
		{"https://merchant.example.com:/", "empty port"},
		{"https://merchant.example.com:http/", "malformed"},
		{"https://merchant.example.com/\nHost: evil", "U+000A"},
		{"https://merchant.example.com/\u202egpj.exe", "U+202E"},
		{"https://merchant.example.com/a\u0085b", "U+0085"},
		{"https://merchant.example.com/\xff", "UTF-8"},
		{"https://merchant.example.com/a\tb", "U+0009"},
		{"data:text/plain,hello", `scheme "data"`},
		{"dict://127.0.0.1:11211/stat", `scheme "dict"`},
		{"ldap://merchant.example.com/", `scheme "ldap"`},
		{"ws://merchant.example.com/", `scheme "ws"`},
		{"wss://merchant.example.com/", `scheme "wss"`},
		{"httpx://merchant.example.com/", `scheme "httpx"`},
		{"https+unix://merchant/", `scheme "https+unix"`},
		{"jar:https://merchant.example.com/x!/", `scheme "jar"`},
		{" https://merchant.example.com/", "spaces"},
		{"https://merchant.example.com/ ", "spaces"},
		{"https://merchant.example.com/" + strings.Repeat("a", 2048), "more than the 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			err := CheckURL(tt.raw)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want nil", tt.raw, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckURL(%q) = nil, want error containing %q", tt.raw, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckURL(%q) = %q, want it to contain %q", tt.raw, err, tt.want)
			}
		})
	}
}
