package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/bench"
	"github.com/baoguan/baoguan/core"
)

func newBenchCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var orders, conc, instances, batch, preload int
	var asJSON bool
	var cpuProfile, runProfile, memProfile, traceFile, server string
	var retain time.Duration
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure: push orders through a fresh server and wait until all are declared and notified",
		Long: `bench starts a server in this process on a temporary database (sandbox
customs delay 0, synchronous as --sync), a local webhook receiver, and a plain
net/http JSON echo handler. It pushes --orders orders through the native API
with --concurrency keep-alive clients, waits until every order is declared and
its declaration.succeeded webhook delivered, and prints the figures. The echo
handler is measured with the same client in the same run, before baoguan's run
and again after it (echo_rps is the rate over both), so push_vs_echo is a
ratio that holds on a noisy machine.

With --db postgres://USER@HOST/DBNAME, bench creates a scratch database on that
server instead (the user needs CREATEDB), starts --instances processes of this
binary running "baoguan serve" on it, spreads the orders across them in turn,
and drops the database at the end. The server's synchronous_commit applies.

After the main run, --batch N uploads one batch of N held orders while the
same clients go on pushing single orders, and reports the upload's time and
the latency of the pushes that overlapped it (0 skips this phase).

--preload N first fills the database with N finished orders (one order pushed
through the whole pipeline, then cloned by SQL: orders, declarations, events,
attempts, jobs), so the run measures a gateway that has history rather than
an empty one.

cpu_us_per_order is all the CPU time of the run (first push to last webhook)
divided by the orders: this process (clients, receiver and, for SQLite, the
server), the server processes, and PostgreSQL's processes (the backends of
the bench database; WAL writer, checkpointer and background writer are shown
apart, as other users of the server make them work too).`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().IntVar(&orders, "orders", 20000, "orders to push")
	cmd.Flags().StringVar(&server, "db", "", "PostgreSQL server to bench on, postgres://USER@HOST/DBNAME (default: a temporary SQLite file)")
	cmd.Flags().IntVar(&instances, "instances", 1, "server processes on the one database (PostgreSQL only)")
	cmd.Flags().IntVar(&conc, "concurrency", 64, "concurrent keep-alive clients")
	cmd.Flags().IntVar(&batch, "batch", 10000, "orders in the batch uploaded beside pushes after the main run (0: none)")
	cmd.Flags().IntVar(&preload, "preload", 0, "finished orders to put in the database before the run")
	cmd.Flags().DurationVar(&retain, "retain", 0, "keep done jobs, delivered notifications' attempts and expiring keys this long, purging as often (0: the serve defaults); the database is then also reported by part (history, machinery, free pages) at the start, the end, and once the run's records have aged out")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	cmd.Flags().StringVar(&runProfile, "run-cpuprofile", "", "write a CPU profile of baoguan's run alone (first push to last webhook, without the echo's measurements around it) to this file")
	cmd.Flags().StringVar(&traceFile, "trace", "", "write an execution trace of the run (go tool trace) to this file")
	cmd.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (what the run allocated, by place) to this file at the end")
	s := bindSettings(cmd.Flags(), getenv, "sync", "workers", "log-level", "gc-heap-min", "notify-concurrency", "notify-per-destination", "intake-share", "procs")
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
		if batch < 0 || batch > baoguan.MaxBatchOrders {
			return fmt.Errorf("--batch: want 0 to %d", baoguan.MaxBatchOrders)
		}
		if preload < 0 {
			return fmt.Errorf("--preload: must not be negative")
		}
		if cpuProfile != "" && runProfile != "" {
			return fmt.Errorf("--run-cpuprofile: one CPU profile at a time (--cpuprofile is set)")
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
			if retain > 0 {
				return fmt.Errorf("--retain: applies to the SQLite server bench runs in its own process")
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
		benchConfig(cfg, dir)
		// The whole process — the echo's measurement included — runs with
		// the garbage collector the server sets up (serve does it again,
		// once): until round 6 the echo ran before it, on Go's default.
		startGCHeapMin(cfg.GCHeapMin, getenv)
		if retain > 0 {
			cfg.Retention = core.Retention{Jobs: retain, Attempts: retain, IdempotencyKeys: retain, Nonces: retain,
				Every: max(retain, time.Second), Batch: 500}
		}
		var dbBytes func() int64
		var dbParts func() map[string]int64
		if server == "" {
			dbBytes = func() int64 { return sqlitePages(cfg.DBPath) }
			if retain > 0 {
				dbParts = func() map[string]int64 { return sqliteParts(cfg.DBPath) }
			}
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
		var profileRun func() func()
		var runProfileErr error
		if runProfile != "" {
			f, err := os.Create(runProfile)
			if err != nil {
				return fmt.Errorf("--run-cpuprofile: %w", err)
			}
			defer f.Close()
			profileRun = func() func() {
				if runProfileErr = pprof.StartCPUProfile(f); runProfileErr != nil {
					return func() {}
				}
				return pprof.StopCPUProfile
			}
		}
		if traceFile != "" {
			f, err := os.Create(traceFile)
			if err != nil {
				return fmt.Errorf("--trace: %w", err)
			}
			defer f.Close()
			if err := trace.Start(f); err != nil {
				return fmt.Errorf("--trace: %w", err)
			}
			defer trace.Stop()
		}
		if memProfile != "" {
			f, err := os.Create(memProfile)
			if err != nil {
				return fmt.Errorf("--memprofile: %w", err)
			}
			defer func() {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}()
		}
		launch := func(ctx context.Context, notifyURL, apiKey string) (bench.Target, func(), error) {
			return startBenchServer(ctx, cfg, notifyURL, apiKey)
		}
		if server != "" {
			db, drop, err := createScratchDB(cmd.Context(), server)
			if err != nil {
				return err
			}
			defer drop()
			cfg.DB, cfg.DBKind, cfg.DBPath, cfg.KeyFile = db, dbPostgres, "", ""
			cfg.DataKey = newDataKey()
			launch = func(ctx context.Context, notifyURL, apiKey string) (bench.Target, func(), error) {
				return startBenchInstances(ctx, cfg, instances, notifyURL, apiKey)
			}
		}
		start := func(ctx context.Context, notifyURL string) (bench.Target, func(), error) {
			t, stop, err := launch(ctx, notifyURL, "")
			if err != nil || preload == 0 {
				return t, stop, err
			}
			// The template order goes through the whole pipeline; then the
			// servers stop while it is cloned, and start again on the
			// filled database.
			err = pushTemplate(ctx, t)
			stop()
			if err == nil {
				err = preloadOrders(ctx, cfg, preload, progress)
			}
			if err != nil {
				return bench.Target{}, nil, err
			}
			return launch(ctx, notifyURL, t.APIKey)
		}
		res, err := bench.Run(cmd.Context(), bench.Options{Orders: orders, Concurrency: conc, Progress: progress,
			BatchOrders: batch, Preloaded: preload, DBBytes: dbBytes, DBParts: dbParts,
			Settle: 2*retain + max(retain, time.Second) + 2*time.Second, Profile: profileRun}, start)
		if err == nil && runProfileErr != nil {
			err = fmt.Errorf("--run-cpuprofile: %w", runProfileErr)
		}
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
		fmt.Fprintf(stdout, "orders            %d (concurrency %d, %s, %d CPUs, %d procs, %s)\n", res.Orders, res.Concurrency, durability, res.CPUs, res.Procs, res.GoVersion)
		fmt.Fprintf(stdout, "push_rps          %.0f\npush_p50_ms       %.2f\npush_p99_ms       %.2f\n", res.PushRPS, res.PushP50MS, res.PushP99MS)
		fmt.Fprintf(stdout, "echo_rps          %.0f (before %.0f, after %.0f)\npush_vs_echo      %.3f\n", res.EchoRPS, res.EchoRPSBefore, res.EchoRPSAfter, res.PushVsEcho)
		fmt.Fprintf(stdout, "e2e_orders_per_s  %.0f (%.1f s)\ne2e_vs_echo       %.3f\n", res.E2EOrdersPerS, res.E2ESeconds, res.E2EVsEcho)
		fmt.Fprintf(stdout, "cpu_us_per_order  %.0f (this process %.0f, servers %.0f, database %.0f + shared %.0f; echo exchange %.0f)\n",
			res.CPUPerOrder, res.CPUPerOrderBench, res.CPUPerOrderServer, res.CPUPerOrderDB, res.CPUPerOrderShared, res.EchoCPUPerReq)
		fmt.Fprintf(stdout, "push_phase        cpu %.0f µs/order until the last push was answered; %d of %d orders declared and notified by then\n",
			res.CPUPerOrderPush, res.DeclaredAtPushEnd, res.Orders-int(res.PushErrors))
		fmt.Fprintf(stdout, "heap              %.1f KB, %.0f objects allocated per order; %d collections, %.0f µs/order of the collector's CPU\n",
			res.AllocKBPerOrder, res.AllocsPerOrder, res.GCCycles, res.GCCPUPerOrder)
		fmt.Fprintf(stdout, "peak_rss_mb       %.0f\n", res.PeakRSSMB)
		if dbBytes != nil {
			fmt.Fprintf(stdout, "db_mb             %.1f at the first push, %.1f at the end\n", res.DBMBStart, res.DBMBEnd)
		}
		if res.DBPartsStart != nil {
			fmt.Fprintf(stdout, "db_mb_parts       start %s; end %s; %.1f MB after the run's records aged out: %s\n",
				mbParts(res.DBPartsStart), mbParts(res.DBPartsEnd), res.DBMBSettled, mbParts(res.DBPartsSettled))
		}
		if res.Preloaded > 0 {
			fmt.Fprintf(stdout, "preloaded_orders  %d\n", res.Preloaded)
		}
		if res.BatchOrders > 0 {
			fmt.Fprintf(stdout, "batch_upload_ms   %.0f (%d orders)\nbatch_server_ms   %.0f (decode %.0f, check %.0f, store %.0f, of which the chunks' transactions ran %.0f, the longest %.0f)\nbatch_push_p99_ms %.1f (%d pushes meanwhile, p50 %.1f, max %.1f; %d webhooks meanwhile)\n",
				res.BatchUploadMS, res.BatchOrders, res.BatchServerMS, res.BatchServerDecodeMS, res.BatchServerCheckMS, res.BatchServerStoreMS, res.BatchServerWriteMS, res.BatchServerLongestMS,
				res.BatchPushP99MS, res.BatchPushes, res.BatchPushP50MS, res.BatchPushMaxMS, res.BatchWebhooks)
		}
		return nil
	}
	return cmd
}

// mbParts prints sqliteParts' figures in a fixed order.
func mbParts(m map[string]float64) string {
	var b strings.Builder
	for _, k := range []string{"history", "keys", "machinery", "free", "schema"} {
		fmt.Fprintf(&b, "%s %.1f ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// machinery is the tables retention empties (core.Retention); the
// idempotency table is apart ("keys"): retention purges its expired
// request answers but keeps the natural keys (order, refund, push numbers)
// with what they name. Every other table is history it keeps.
var machinery = map[string]bool{"jobs": true, "attempts": true, "rate_buckets": true}

// sqliteParts reads the SQLite file's pages by what they hold (the dbstat
// table): "history" (the tables retention keeps, with their indexes),
// "machinery" (those it empties), "free" (pages freed and not yet reused,
// which SQLite reuses before it grows the file) and "schema". It reads
// every page, so bench asks for it only with --retain. "keys" is the
// idempotency table.
func sqliteParts(path string) map[string]int64 {
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		return nil
	}
	defer db.Close()
	rows, err := db.Query(`SELECT COALESCE(m.tbl_name, d.name), SUM(d.pgsize) FROM dbstat d
LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var table string
		var n int64
		if rows.Scan(&table, &n) != nil {
			return nil
		}
		switch {
		case machinery[table]:
			out["machinery"] += n
		case table == "idempotency":
			out["keys"] += n
		case strings.HasPrefix(table, "sqlite_"):
			out["schema"] += n
		default:
			out["history"] += n
		}
	}
	var free, size int64
	if db.QueryRow(`PRAGMA freelist_count`).Scan(&free) == nil && db.QueryRow(`PRAGMA page_size`).Scan(&size) == nil {
		out["free"] = free * size
	}
	return out
}

// benchConfig sets what a bench server runs with: a SQLite file in dir
// (unless changed to PostgreSQL after), no customs delay, notifications to
// the local receiver allowed.
func benchConfig(cfg *Config, dir string) {
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
}

// benchMerchant creates the bench merchant, which notifies notifyURL, and
// returns its API key; with apiKey set (a restart) it was created already.
func benchMerchant(ctx context.Context, cfg *Config, notifyURL, apiKey string) (string, error) {
	if apiKey != "" {
		return apiKey, nil
	}
	err := withService(ctx, cfg, io.Discard, false, func(svc *core.Service) error {
		_, cr, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "bench", NotifyURL: notifyURL})
		apiKey = cr.APIKey
		return err
	})
	return apiKey, err
}

// startBenchServer runs the same serve as `baoguan serve` in this process,
// with a merchant that notifies notifyURL (created unless apiKey is set).
func startBenchServer(ctx context.Context, cfg *Config, notifyURL, apiKey string) (bench.Target, func(), error) {
	apiKey, err := benchMerchant(ctx, cfg, notifyURL, apiKey)
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
			return bench.Target{BaseURLs: []string{strings.TrimSpace(u)}, APIKey: apiKey}, stop, nil
		}
	}
	cancel()
	return bench.Target{}, nil, fmt.Errorf("bench server did not start: %v", <-done)
}

// sqlitePages is the size of the SQLite database at path as its pages
// count it (page_count × page_size, what is in the WAL included; free
// pages, which new rows use again, included too): the size the file has
// once checkpointed. 0 when it cannot be read.
func sqlitePages(path string) int64 {
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var pages, size int64
	if db.QueryRow(`PRAGMA page_count`).Scan(&pages) != nil || db.QueryRow(`PRAGMA page_size`).Scan(&size) != nil {
		return 0
	}
	return pages * size
}
