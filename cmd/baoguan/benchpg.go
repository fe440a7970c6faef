package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/baoguan/baoguan/bench"
)

// createScratchDB creates an empty database baoguan_bench_<random> on the
// server of serverURL and returns its URL (serverURL's, with the database
// replaced) and a function that drops it, sessions and all.
func createScratchDB(ctx context.Context, serverURL string) (string, func(), error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "baoguan_bench_" + hex.EncodeToString(b[:])
	admin := func(ctx context.Context, stmt string) error {
		c, err := connect(ctx, serverURL)
		if err != nil {
			return err
		}
		defer c.Close(context.WithoutCancel(ctx))
		_, err = c.Exec(ctx, stmt)
		return err
	}
	if err := admin(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("--db: creating the scratch database: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "baoguan: dropping the scratch database %s: %v\n", name, err)
		}
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("--db: %w", err)
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// connect opens one connection to the database of a URL that may carry
// pool parameters (pool_max_conns, …), which a plain connection would send
// to the server as settings it does not know.
func connect(ctx context.Context, dbURL string) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
}

// newDataKey returns a fresh BAOGUAN_DATA_KEY value: one base64 AES-256 key.
func newDataKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// synchronousCommit reads the server's synchronous_commit for the record.
func synchronousCommit(ctx context.Context, dbURL string) string {
	c, err := connect(ctx, dbURL)
	if err != nil {
		return "unknown"
	}
	defer c.Close(context.WithoutCancel(ctx))
	var v string
	if err := c.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
		return "unknown"
	}
	return v
}

// startBenchInstances creates the bench merchant (unless apiKey is set),
// then starts n processes of this binary serving cfg's database, as an
// operator would run them.
func startBenchInstances(ctx context.Context, cfg *Config, n int, notifyURL, apiKey string) (bench.Target, func(), error) {
	apiKey, err := benchMerchant(ctx, cfg, notifyURL, apiKey)
	if err != nil {
		return bench.Target{}, nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return bench.Target{}, nil, err
	}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", cfg.DB, "--sandbox-delay", "0", "--allow-private-notify",
		"--workers", strconv.Itoa(cfg.Workers), "--job-lease", cfg.JobLease.String(), "--log-level", cfg.LogLevel.String(),
		"--shutdown-timeout", cfg.ShutdownTimeout.String(), "--intake-share", strconv.Itoa(cfg.IntakeShare),
		"--procs", strconv.Itoa(cfg.Procs)}
	procs := make([]*serveProc, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() { procs[i], errs[i] = startServeProc(exe, args, cfg.DataKey, nil) })
	}
	wg.Wait()
	stop := func() {
		for _, p := range procs {
			if p != nil {
				p.stop(cfg.ShutdownTimeout + 5*time.Second)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		stop()
		return bench.Target{}, nil, err
	}
	db, err := connect(ctx, cfg.DB)
	if err != nil {
		stop()
		return bench.Target{}, nil, err
	}
	t := bench.Target{APIKey: apiKey, PeakRSSMB: func() float64 {
		total := 0.0
		for _, p := range procs {
			total += p.peakRSSMB()
		}
		return total
	}, CPU: func() bench.CPU {
		var c bench.CPU
		for _, p := range procs {
			d, _ := bench.ProcessCPU(strconv.Itoa(p.cmd.Process.Pid))
			c.Servers += d
		}
		c.Database, c.DatabaseShared = postgresCPU(ctx, db)
		return c
	}}
	stopAll := stop
	stop = func() { stopAll(); db.Close(context.Background()) }
	for _, p := range procs {
		t.BaseURLs = append(t.BaseURLs, p.base)
	}
	return t, stop, nil
}

// serveProc is a `baoguan serve` child process.
type serveProc struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	logs *tailBuffer
	done chan struct{} // closed when the process has exited
}

// startServeProc starts exe with args and waits until it prints the
// address it listens on. dataKey becomes BAOGUAN_DATA_KEY; extraEnv is
// added to the environment. Standard error is kept (its tail) for messages.
func startServeProc(exe string, args []string, dataKey string, extraEnv []string) (*serveProc, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), "BAOGUAN_DATA_KEY="+dataKey), extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &serveProc{cmd: cmd, logs: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				select {
				case found <- strings.TrimSpace(u):
				default:
				}
			}
		}
	}()
	select {
	case p.base = <-found:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("baoguan serve exited at start-up: %s", p.logs.String())
	case <-time.After(30 * time.Second):
		p.kill()
		return nil, fmt.Errorf("baoguan serve did not start within 30s: %s", p.logs.String())
	}
}

// stop asks the process to stop (SIGTERM) and kills it after wait.
func (p *serveProc) stop(wait time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(wait):
		p.kill()
	}
}

// kill ends the process at once (SIGKILL), as a crash would.
func (p *serveProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// peakRSSMB reads the process's peak resident set (VmHWM) on Linux.
func (p *serveProc) peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// postgresCPU is the processor time spent so far by the PostgreSQL
// processes of the run, when the server runs on this machine: the backends
// connected to the bench database (this connection's own excepted), and
// the processes every database shares. A backend that has ended is no
// longer counted, which is why the bench's servers keep their pools.
func postgresCPU(ctx context.Context, c *pgx.Conn) (backends, shared time.Duration) {
	rows, err := c.Query(ctx, `SELECT pid, datname IS NOT NULL FROM pg_stat_activity
WHERE (datname = current_database() AND pid <> pg_backend_pid())
   OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`)
	if err != nil {
		return 0, 0
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		var ours bool
		if rows.Scan(&pid, &ours) != nil {
			continue
		}
		d, err := bench.ProcessCPU(strconv.Itoa(pid))
		if err != nil {
			continue // another machine's server, or gone
		}
		if ours {
			backends += d
		} else {
			shared += d
		}
	}
	return backends, shared
}
