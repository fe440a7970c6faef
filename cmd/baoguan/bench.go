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
	var orders, conc int
	var asJSON bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure: push orders through a fresh in-process server and wait until all are declared and notified",
		Long: `bench starts a server in this process on a temporary database (sandbox
customs delay 0, synchronous as --sync), a local webhook receiver, and a plain
net/http JSON echo handler. It pushes --orders orders through the native API
with --concurrency keep-alive clients, waits until every order is declared and
its declaration.succeeded webhook delivered, and prints the figures. The echo
handler is measured with the same client in the same run, so push_vs_echo is a
ratio that holds on a noisy machine.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().IntVar(&orders, "orders", 20000, "orders to push")
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
		dir, err := os.MkdirTemp("", "baoguan-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DB = "sqlite:" + filepath.Join(dir, "bench.db")
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
		res, err := bench.Run(cmd.Context(), bench.Options{Orders: orders, Concurrency: conc, Progress: progress},
			func(ctx context.Context, notifyURL string) (bench.Target, func(), error) {
				return startBenchServer(ctx, cfg, notifyURL)
			})
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			return enc.Encode(res)
		}
		fmt.Fprintf(stdout, "orders            %d (concurrency %d, synchronous=%s, %d CPUs, %s)\n", res.Orders, res.Concurrency, cfg.Sync, res.CPUs, res.GoVersion)
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
			return bench.Target{BaseURL: strings.TrimSpace(u), APIKey: cr.APIKey}, stop, nil
		}
	}
	cancel()
	return bench.Target{}, nil, fmt.Errorf("bench server did not start: %v", <-done)
}
