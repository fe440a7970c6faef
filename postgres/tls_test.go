package postgres_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/baoguan/baoguan/postgres"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestPlainOnLoopback: a URL that names no TLS setting tries a loopback
// host without TLS first, then with it (sslmode's default, prefer, tries
// TLS first); anything else keeps what pgx parsed.
func TestPlainOnLoopback(t *testing.T) {
	noEnv := func(string) string { return "" }
	cases := []struct {
		url        string
		env        func(string) string
		plainFirst bool // first attempt without TLS, then the same host with it
	}{
		{"postgres://root@127.0.0.1:5432/db", noEnv, true},
		{"postgres://root@localhost/db", noEnv, true},
		{"postgres://root@[::1]:5432/db", noEnv, true},
		{"postgres://root@127.0.0.2:5432/db?pool_max_conns=4", noEnv, true},
		{"host=127.0.0.1 user=root dbname=db", noEnv, true},
		{"postgres://root@127.0.0.1:5432,[::1]:5433/db", noEnv, true},
		{"postgres://root@127.0.0.1:5432/db?sslmode=prefer", noEnv, false},
		{"postgres://root@127.0.0.1:5432/db?sslmode=require", noEnv, false},
		{"postgres://root@db.internal:5432/db", noEnv, false},
		{"postgres://root@10.0.0.5:5432/db", noEnv, false},
		{"postgres://root@127.0.0.1:5432,db.internal:5432/db", noEnv, false},
		{"postgres://root@127.0.0.1:5432/db", func(k string) string {
			if k == "PGSSLMODE" {
				return "prefer"
			}
			return ""
		}, false},
	}
	for _, c := range cases {
		cc, err := postgres.ConnConfig(c.url, c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if got := cc.TLSConfig == nil; got != c.plainFirst {
			t.Errorf("%s: first attempt without TLS = %v, want %v", c.url, got, c.plainFirst)
		}
		if !c.plainFirst {
			continue
		}
		// Each host keeps its TLS attempt, after its plaintext one.
		hosts := append([]*pgconn.FallbackConfig{{Host: cc.Host, Port: cc.Port, TLSConfig: cc.TLSConfig}}, cc.Fallbacks...)
		if len(hosts)%2 != 0 {
			t.Fatalf("%s: %d attempts, want pairs", c.url, len(hosts))
		}
		for i := 0; i < len(hosts); i += 2 {
			p, tl := hosts[i], hosts[i+1]
			if p.TLSConfig != nil || tl.TLSConfig == nil || p.Host != tl.Host || p.Port != tl.Port {
				t.Errorf("%s: attempts %d and %d: %s:%d TLS %v, %s:%d TLS %v; want the same host without, then with TLS",
					c.url, i, i+1, p.Host, p.Port, p.TLSConfig != nil, tl.Host, tl.Port, tl.TLSConfig != nil)
			}
		}
	}
}

// TestLoopbackConnectionWithoutTLS: on the test server, when it is on a
// loopback address and offers TLS, the store's connections do not use it
// unless the URL asks (sslmode=require).
func TestLoopbackConnectionWithoutTLS(t *testing.T) {
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("sslmode")
	u.RawQuery = q.Encode()
	ctx := context.Background()
	cc, err := postgres.ConnConfig(u.String(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cc.TLSConfig != nil {
		t.Skipf("the test server %s is not on a loopback address", u.Host)
	}
	q.Set("sslmode", "require")
	u.RawQuery = q.Encode()
	keys := testKeys(t)
	tlsDB, err := postgres.Open(ctx, postgres.Options{URL: u.String(), Keys: keys})
	if err != nil {
		t.Skipf("the test server takes no TLS connection: %v", err)
	}
	defer tlsDB.Close()
	if on, err := tlsDB.SSL(ctx); err != nil || !on {
		t.Fatalf("sslmode=require: TLS %v, %v", on, err)
	}
	q.Del("sslmode")
	u.RawQuery = q.Encode()
	db := openTest(t, postgres.Options{URL: u.String(), Keys: keys})
	if on, err := db.SSL(ctx); err != nil || on {
		t.Errorf("no sslmode, loopback host: TLS %v, %v; want a plaintext connection", on, err)
	}
}
