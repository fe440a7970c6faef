package postgres_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/baoguan/baoguan/postgres"
)

// TestPlainOnLoopback: a URL that names no TLS setting connects to a
// loopback host without TLS (sslmode's default, prefer, would try TLS
// first); anything else keeps what pgx parsed.
func TestPlainOnLoopback(t *testing.T) {
	noEnv := func(string) string { return "" }
	cases := []struct {
		url      string
		env      func(string) string
		plain    bool // first attempt without TLS, and no other attempt
		firstTLS bool // first attempt with TLS
	}{
		{"postgres://root@127.0.0.1:5432/db", noEnv, true, false},
		{"postgres://root@localhost/db", noEnv, true, false},
		{"postgres://root@[::1]:5432/db", noEnv, true, false},
		{"postgres://root@127.0.0.2:5432/db?pool_max_conns=4", noEnv, true, false},
		{"postgres://root@127.0.0.1:5432/db?sslmode=prefer", noEnv, false, true},
		{"postgres://root@127.0.0.1:5432/db?sslmode=require", noEnv, false, true},
		{"postgres://root@db.internal:5432/db", noEnv, false, true},
		{"postgres://root@10.0.0.5:5432/db", noEnv, false, true},
		{"postgres://root@127.0.0.1:5432,db.internal:5432/db", noEnv, false, true},
		{"host=127.0.0.1 user=root dbname=db", noEnv, true, false},
		{"postgres://root@127.0.0.1:5432/db", func(k string) string {
			if k == "PGSSLMODE" {
				return "prefer"
			}
			return ""
		}, false, true},
	}
	for _, c := range cases {
		cc, err := postgres.ConnConfig(c.url, c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if got := cc.TLSConfig == nil && len(cc.Fallbacks) == 0; got != c.plain {
			t.Errorf("%s: plain only = %v (TLS %v, %d fallbacks), want %v", c.url, got, cc.TLSConfig != nil, len(cc.Fallbacks), c.plain)
		}
		if got := cc.TLSConfig != nil; got != c.firstTLS {
			t.Errorf("%s: first attempt with TLS = %v, want %v", c.url, got, c.firstTLS)
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
