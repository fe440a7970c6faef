package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan/bench"
	"github.com/baoguan/baoguan/core"
)

func newBenchCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var orders, conc, instances int
	var asJSON bool
	var cpuProfile, server string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure: push orders through a fresh server and wait until all are declared and notified",
		Long: `bench starts a server in this process on a temporary database (sandbox
customs delay 0, synchronous as --sync), a local webhook receiver, and a plain
net/http JSON echo handler. It pushes --orders orders through the native API
with --concurrency keep-alive clients, waits until every order is declared and
its declaration.succeeded webhook delivered, and prints the figures. The echo
handler is measured with the same client in the same run, so push_vs_echo is a
ratio that holds on a noisy machine.

With --db postgres://USER@HOST/DBNAME, bench creates a scratch database on that
server instead (the user needs CREATEDB), starts --instances processes of this
binary running "baoguan serve" on it, spreads the orders across them in turn,
and drops the database at the end. The server's synchronous_commit applies.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().IntVar(&orders, "orders", 20000, "orders to push")
	cmd.Flags().StringVar(&server, "db", "", "PostgreSQL server to bench on, postgres://USER@HOST/DBNAME (default: a temporary SQLite file)")
	cmd.Flags().IntVar(&instances, "instances", 1, "server processes on the one database (PostgreSQL only)")
	cmd.Flags().IntVar(&conc, "concurrency", 64, "concurrent keep-alive clients")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	s := bindSettings(cmd.Flags(), getenv, "sync", "workers", "log-level")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if orders < 1 {
			return fmt.Errorf("--orders: must be at least 1")
		}
		if conc < 1 {
			return fmt.Errorf("--concurrency: must be at least 1")
		}
		if instances < 1 || instances > 32 {
			return fmt.Errorf("--instances: want 1 to 32")
		}
		if server != "" {
			kind, _, err := parseDB(server)
			if err != nil {
				return fmt.Errorf("--db: %w", err)
			}
			if kind != dbPostgres {
				return fmt.Errorf("--db: bench takes a PostgreSQL server (postgres://…); SQLite is the default")
			}
			if cmd.Flags().Changed("sync") {
				return fmt.Errorf("--sync: applies to SQLite only; with PostgreSQL, durability is the server's synchronous_commit setting")
			}
		} else if instances > 1 {
			return fmt.Errorf("--instances: several instances need a shared PostgreSQL database (--db postgres://…)")
		}
		dir, err := os.MkdirTemp("", "baoguan-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DB, cfg.DBKind = "sqlite:"+filepath.Join(dir, "bench.db"), dbSQLite
		cfg.DBPath = filepath.Join(dir, "bench.db")
		cfg.KeyFile = cfg.DBPath + ".key"
		cfg.DataKey = ""
		cfg.Addr = "127.0.0.1:0"
		cfg.SandboxDelay = 0
		cfg.AllowPrivateNotify = true
		if cfg.JobLease == 0 {
			cfg.JobLease = 30 * time.Second
		}
		if cfg.ShutdownTimeout == 0 {
			cfg.ShutdownTimeout = 5 * time.Second
		}
		progress := stderr
		if cpuProfile != "" {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return fmt.Errorf("--cpuprofile: %w", err)
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return fmt.Errorf("--cpuprofile: %w", err)
			}
			defer pprof.StopCPUProfile()
		}
		start := func(ctx context.Context, notifyURL string) (bench.Target, func(), error) {
			return startBenchServer(ctx, cfg, notifyURL)
		}
		if server != "" {
			db, drop, err := createScratchDB(cmd.Context(), server)
			if err != nil {
				return err
			}
			defer drop()
			cfg.DB, cfg.DBKind, cfg.DBPath, cfg.KeyFile = db, dbPostgres, "", ""
			cfg.DataKey = newDataKey()
			start = func(ctx context.Context, notifyURL string) (bench.Target, func(), error) {
				return startBenchInstances(ctx, cfg, instances, notifyURL)
			}
		}
		res, err := bench.Run(cmd.Context(), bench.Options{Orders: orders, Concurrency: conc, Progress: progress}, start)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			return enc.Encode(res)
		}
		durability := "synchronous=" + cfg.Sync
		if server != "" {
			durability = fmt.Sprintf("PostgreSQL, %d instance(s), synchronous_commit=%s", res.Instances, synchronousCommit(cmd.Context(), cfg.DB))
		}
		fmt.Fprintf(stdout, "orders            %d (concurrency %d, %s, %d CPUs, %s)\n", res.Orders, res.Concurrency, durability, res.CPUs, res.GoVersion)
		fmt.Fprintf(stdout, "push_rps          %.0f\npush_p50_ms       %.2f\npush_p99_ms       %.2f\n", res.PushRPS, res.PushP50MS, res.PushP99MS)
		fmt.Fprintf(stdout, "echo_rps          %.0f\npush_vs_echo      %.3f\n", res.EchoRPS, res.PushVsEcho)
		fmt.Fprintf(stdout, "e2e_orders_per_s  %.0f (%.1f s)\npeak_rss_mb       %.0f\n", res.E2EOrdersPerS, res.E2ESeconds, res.PeakRSSMB)
		return nil
	}
	return cmd
}

// startBenchServer runs the same serve as `baoguan serve` in this process,
// with a merchant that notifies notifyURL.
func startBenchServer(ctx context.Context, cfg *Config, notifyURL string) (bench.Target, func(), error) {
	var cr core.Credentials
	err := withService(ctx, cfg, io.Discard, false, func(svc *core.Service) error {
		var err error
		_, cr, err = svc.CreateMerchant(ctx, core.MerchantInput{Name: "bench", NotifyURL: notifyURL})
		return err
	})
	if err != nil {
		return bench.Target{}, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := serve(sctx, cfg, pw, io.Discard)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			stop := func() { cancel(); <-done }
			return bench.Target{BaseURLs: []string{strings.TrimSpace(u)}, APIKey: cr.APIKey}, stop, nil
		}
	}
	cancel()
	return bench.Target{}, nil, fmt.Errorf("bench server did not start: %v", <-done)
}
