package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/baoguan/baoguan/core"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a running
// server and the reads of a test polling it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envOf returns a getenv over a fixed map, so tests never read the real
// environment.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// runCmd runs a command that ends by itself and returns its stdout.
func runCmd(t *testing.T, getenv func(string) string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, args, getenv, &stdout, &stderr)
	return stdout.String(), err
}

// mustRun is runCmd for commands that must succeed.
func mustRun(t *testing.T, getenv func(string) string, args ...string) string {
	t.Helper()
	out, err := runCmd(t, getenv, args...)
	if err != nil {
		t.Fatalf("baoguan %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// server is a `baoguan serve` running in-process.
type server struct {
	URL    string
	Stdout *syncBuffer
	Stderr *syncBuffer
	stop   func() error
}

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// startServer runs `baoguan serve` on a free port with the given extra
// arguments, waits until /healthz answers, and stops it at the end of the
// test, failing it if run returns an error.
func startServer(t *testing.T, getenv func(string) string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}}
	done := make(chan error, 1)
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--sandbox-delay", "0s"}, args...)
	go func() { done <- run(ctx, args, getenv, s.Stdout, s.Stderr) }()
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = context.DeadlineExceeded
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("serve stopped with %v\nstderr:\n%s", err, s.Stderr)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for s.URL == "" {
		if m := listeningRE.FindStringSubmatch(s.Stdout.String()); m != nil {
			s.URL = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before listening: %v\nstderr:\n%s", err, s.Stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not print its address\nstdout:\n%s\nstderr:\n%s", s.Stdout, s.Stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get makes a request and returns the response with its body read.
func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func dbIn(t *testing.T) (url, path string) {
	path = filepath.Join(t.TempDir(), "baoguan.db")
	return "sqlite:" + path, path
}

func TestBadSettingsStopStartup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  []string
		want []string // every one must appear in the error
	}{
		{"delay flag", []string{"serve", "--sandbox-delay", "abc"}, nil,
			[]string{`--sandbox-delay: invalid duration "abc"`}},
		{"delay env", []string{"serve"}, []string{"BAOGUAN_SANDBOX_DELAY", "abc"},
			[]string{`BAOGUAN_SANDBOX_DELAY: invalid duration "abc"`}},
		{"negative delay", []string{"serve", "--sandbox-delay", "-1s"}, nil,
			[]string{`--sandbox-delay: negative duration "-1s"`}},
		{"db scheme flag", []string{"serve", "--db", "mysql://u@h/db"}, nil,
			[]string{`--db: unsupported scheme "mysql" (use sqlite:PATH or postgres://`}},
		{"postgres without database", []string{"serve"}, []string{"BAOGUAN_DB", "postgres://u:pw@localhost/"},
			[]string{`BAOGUAN_DB: postgres://u:xxxxx@localhost/ names no database`}},
		{"postgres bad parameter", []string{"serve", "--db", "postgres://u:pw@localhost/b?pool_max_conns=x"}, nil,
			[]string{`--db: postgres: cannot parse`, `pool_max_conns`}},
		{"postgres without shared key", []string{"serve", "--db", "postgres://u:pw@localhost/b"}, nil,
			[]string{`BAOGUAN_DATA_KEY must be set with PostgreSQL`}},
		{"postgres with --sync", []string{"jobs", "--sync", "NORMAL"}, []string{"BAOGUAN_DB", "postgres://u:pw@localhost/b"},
			[]string{`--sync: applies to SQLite only`}},
		{"db without scheme", []string{"merchant", "list", "--db", "./baoguan.db"}, nil,
			[]string{`--db: "./baoguan.db" has no scheme (use sqlite:PATH`}},
		{"db missing directory", []string{"serve", "--db", "sqlite:/nonexistent-dir/x.db"}, nil,
			[]string{`--db: directory "/nonexistent-dir" of the database does not exist`}},
		{"sync flag", []string{"serve", "--sync", "fast"}, nil,
			[]string{`--sync: invalid synchronous mode "fast" (use FULL or NORMAL)`}},
		{"workers env", []string{"serve"}, []string{"BAOGUAN_WORKERS", "0"},
			[]string{`BAOGUAN_WORKERS: invalid worker count "0"`}},
		{"intake share out of range", []string{"serve", "--intake-share", "101"}, nil,
			[]string{`--intake-share: invalid percentage "101" (want 0 to 100)`}},
		{"procs env out of range", []string{"serve"}, []string{"BAOGUAN_PROCS", "-1"},
			[]string{`BAOGUAN_PROCS: invalid count "-1" (want 0 to 4096)`}},
		{"addr flag", []string{"serve", "--addr", "8080"}, nil,
			[]string{`--addr: invalid listen address "8080"`}},
		{"job lease flag", []string{"serve", "--job-lease", "1s"}, nil,
			[]string{`--job-lease: duration "1s" out of range (want 2s to 1h)`}},
		{"log level env", []string{"serve"}, []string{"BAOGUAN_LOG_LEVEL", "loud"},
			[]string{`BAOGUAN_LOG_LEVEL: invalid log level "loud"`}},
		{"bool env", []string{"serve"}, []string{"BAOGUAN_ALLOW_PRIVATE_NOTIFY", "maybe"},
			[]string{`BAOGUAN_ALLOW_PRIVATE_NOTIFY: invalid boolean "maybe"`}},
		{"bad data key", []string{"serve"}, []string{"BAOGUAN_DATA_KEY", "not-base64!"},
			[]string{`BAOGUAN_DATA_KEY entry 1`}},
		{"every bad setting named", []string{"serve", "--workers", "x"}, []string{"BAOGUAN_SYNC", "off"},
			[]string{`--workers: invalid worker count "x"`, `BAOGUAN_SYNC: invalid synchronous mode "off"`}},
		{"merchant mode", []string{"merchant", "create", "--name", "x", "--mode", "test"}, nil,
			[]string{`--mode: invalid mode "test" (use sandbox or live)`}},
		{"merchant funding", []string{"merchant", "create", "--name", "x", "--funding", "1.234"}, nil,
			[]string{`--funding: invalid amount "1.234"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, path := dbIn(t)
			args := append([]string(nil), tt.args...)
			given := strings.Join(append(args, tt.env...), " ")
			if !strings.Contains(given, "--db") && !strings.Contains(given, "BAOGUAN_DB") {
				args = append(args, "--db", db)
			}
			if args[0] == "serve" && !strings.Contains(given, "--addr") {
				args = append(args, "--addr", "127.0.0.1:0") // should it start after all, it binds nothing in use
			}
			_, err := runCmd(t, envOf(tt.env...), args...)
			if err == nil {
				t.Fatalf("baoguan %v started; want an error", args)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if _, err := os.Stat(path); err == nil {
				t.Errorf("a database was created although start-up failed")
			}
		})
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		env   []string
		check func(c *Config) bool
	}{
		{"default", nil, nil, func(c *Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.DBPath == "./baoguan.db" && c.KeyFile == "./baoguan.db.key" &&
				c.SandboxDelay == time.Second && c.Sync == "FULL" && c.Workers == 128 && !c.AllowPrivateNotify
		}},
		{"env used", nil, []string{"BAOGUAN_SANDBOX_DELAY", "5s", "BAOGUAN_DB", "sqlite:/tmp/a.db", "BAOGUAN_SYNC", "normal"},
			func(c *Config) bool {
				return c.SandboxDelay == 5*time.Second && c.DBPath == "/tmp/a.db" && c.Sync == "NORMAL"
			}},
		{"flag wins, bad env never read", []string{"--sandbox-delay", "2s"}, []string{"BAOGUAN_SANDBOX_DELAY", "abc"},
			func(c *Config) bool { return c.SandboxDelay == 2*time.Second }},
		{"bare bool flag", []string{"--allow-private-notify"}, []string{"BAOGUAN_ALLOW_PRIVATE_NOTIFY", "false"},
			func(c *Config) bool { return c.AllowPrivateNotify }},
		{"data key from env only", nil, []string{"BAOGUAN_DATA_KEY", "k"},
			func(c *Config) bool { return c.DataKey == "k" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			set := bindSettings(fs, envOf(tt.env...), "addr", "db", "sync", "sandbox-delay", "allow-private-notify", "workers")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := set.load()
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Errorf("args %v env %v: config %+v", tt.args, tt.env, got)
			}
		})
	}
}

// TestIntakeShare: --intake-share is the runner's share as a fraction,
// 0 is core.IntakeNone (no batch while pushes are coming in), 100 does
// not give way, and the default is 20.
func TestIntakeShare(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want float64
	}{
		{nil, 0.2},
		{[]string{"--intake-share", "100"}, 1},
		{[]string{"--intake-share", "0"}, core.IntakeNone},
		{[]string{"--intake-share", "20"}, 0.2},
	} {
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		set := bindSettings(fs, envOf(), "db", "intake-share")
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		c, err := set.load()
		if err != nil {
			t.Fatal(err)
		}
		if got := intakeShare(c.IntakeShare); got != tt.want {
			t.Errorf("args %v: intake share %v, want %v", tt.args, got, tt.want)
		}
	}
}
