package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/api"
	"github.com/baoguan/baoguan/console"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/netguard"
	"github.com/baoguan/baoguan/sandbox"
)

// notifyTimeout bounds one notification delivery, reading the answer included.
const notifyTimeout = 10 * time.Second

// postgresBatchers is how many job batches a server on PostgreSQL runs at
// once at most (core.RunnerOptions.Batchers), each of up to
// postgresBatch jobs: the second claims beside the first only when the
// first's batch came back full (a backlog); otherwise the jobs that arrive
// while a batch runs go in the next one together (benchmarks.md, round 10,
// change 52: four batchers of 64 ran many small batches, each a
// transaction and its statements, for the same work).
const (
	postgresBatchers = 2
	postgresBatch    = 128 // as many jobs in flight as one batcher of the default 256
)

// batchChunksAtOnce is core.Service.BatchChunksAtOnce for store: one on
// SQLite's single writer; on PostgreSQL postgresBatchChunks, three fewer
// than the store's writers: an upload holds two more than it writes at
// once (the chunk committing and the one waiting for its turn), and one
// is left for everything else.
func batchChunksAtOnce(store baoguan.Store) int {
	if w, ok := store.(interface{ Writers() int }); ok {
		return max(1, min(postgresBatchChunks, w.Writers()-3))
	}
	return 1
}

// combinedWrites is core.Service.CombinedWrites for store: on
// PostgreSQL, where each statement of a push is a round trip and the
// backend's work, pushes that arrive together are stored by one write
// (postgresCombinedWrites in flight); on SQLite, whose statements cost no
// round trip, each push keeps its own (docs/benchmarks.md, change 51).
func combinedWrites(store baoguan.Store) int {
	if _, ok := store.(interface{ Writers() int }); ok {
		return postgresCombinedWrites
	}
	return 0
}

// postgresCombinedWrites is how many combined writes of pushes a server
// on PostgreSQL has in flight at once.
const postgresCombinedWrites = 2

// postgresBatchChunks is how many chunks of a batch upload a server on
// PostgreSQL stores side by side (core.Service.BatchChunksAtOnce): a
// chunk's transaction is one backend's work at a time, and beside pushes
// an upload whose chunks ran one after another took several times its own
// work (docs/benchmarks.md, round 4, change 15). Each holds a writer while
// it waits for the one before it to commit, and so does the chunk queued
// a turn ahead; there are 10 by default (two thirds of the pool of 16).
const postgresBatchChunks = 3

func newServeCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway: HTTP API, operator endpoints and job runner",
		Long: `Run the gateway: the native /v1 API, the web console at /console, /healthz,
/readyz and /metrics on one listener, and the job runner that pays, declares,
polls and notifies.

On first start with an empty database a sandbox merchant "demo" is created and
its credentials are printed once. SIGINT or SIGTERM stops the server
gracefully: no new connections, requests in flight finish, then the runner
stops and the database is closed.`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, append([]string{
		"addr", "db", "sync", "sandbox-delay", "allow-private-notify", "trust-forwarded-proto", "workers", "notify-concurrency", "notify-per-destination",
		"intake-share", "retain-jobs", "retain-attempts", "retain-idempotency-keys", "retain-nonces", "job-lease", "log-level", "shutdown-timeout", "customs-call-log",
		"limit-auth-source", "limit-auth-subject", "limit-auth-login", "limit-sms", "limit-realname", "preauth-body-timeout", "preauth-concurrency",
		"wechatpay-url", "wechatpay-v2-url", "alipay-gateway", "upstream-timeout", "upstream-poll", "upstream-rate", "declare-retries",
		"pushorder-addr", "accp-addr", "wechatv3-addr", "payzero-addr", "wisecashier-addr", "gc-heap-min", "procs"}, eportSettingNames()...)...)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if err := cfg.checkEPort(); err != nil {
			return err
		}
		return serve(cmd.Context(), cfg, stdout, stderr)
	}
	return cmd
}

// serve runs the gateway until ctx ends or a stop signal arrives.
func serve(ctx context.Context, cfg *Config, stdout, stderr io.Writer) (err error) {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := newLogger(stderr, cfg.LogLevel)
	startGCHeapMin(cfg.GCHeapMin, os.Getenv)
	startProcs(cfg.Procs, os.Getenv)

	unlock, err := lockServer(cfg)
	if err != nil {
		return err
	}
	defer unlock()

	store, keys, err := openStoreKeys(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the database: %w", cerr))
		}
	}()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watchKeys(watchCtx, keys, log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	registerStoreMetrics(reg, store)
	warnStore(log, store)
	var port baoguan.CustomsPort = sandbox.NewPort(cfg.SandboxDelay)
	if cfg.CustomsCallLog != "" {
		cl, err := openCallLog(cfg.CustomsCallLog, port)
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.name("customs-call-log"), err)
		}
		defer cl.Close()
		port = cl
	}
	retries := core.DefaultRetries()
	retries[baoguan.JobDeclare] = cfg.DeclareRetries
	var svc *core.Service
	svc = core.New(&core.Service{
		Store: store,
		Sandbox: core.Adapters{
			Channel: sandbox.NewChannel(),
			Port:    port,
		},
		Live:           liveAdapters(cfg, log, func() *core.Service { return svc }),
		Retries:        retries,
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           netguard.Client(notifyTimeout, cfg.AllowPrivateNotify),
		Log:            log,
		Metrics:        core.NewMetrics(reg),
		Retention:      cfg.Retention,
		Limits:         cfg.Limits,
		// A SQLite server holds its database alone (lockServer): no other
		// process records failed authentications in it.
		ExclusiveStore:    cfg.DBKind == dbSQLite,
		BatchChunksAtOnce: batchChunksAtOnce(store),
		CombinedWrites:    combinedWrites(store),
	})
	svc.Formats.Register(api.Protocol, api.NewFormat())
	// Orders uploaded in the console notify like native API orders.
	svc.Formats.Register(console.Protocol, api.NewFormat())

	mux := http.NewServeMux()
	addOpsRoutes(mux, store, reg, log)
	if cfg.EPort.on() {
		if err := wireEPort(ctx, cfg, svc, mux, log); err != nil {
			return err
		}
	}
	api.New(api.Options{Svc: svc, Log: log}).Register(mux)
	console.New(console.Options{Svc: svc, Log: log, TrustForwardedProto: cfg.TrustForwardedProto}).Register(mux)
	fes, err := buildFrontends(ctx, svc, log)
	if err != nil {
		return err
	}
	gate := newPreAuthGate(cfg.PreAuthConcurrency, cfg.PreAuthBodyTimeout, log)
	mountFrontends(mux, fes, gate)
	hm := newHTTPMetrics(reg)
	handler := withObservability(mux, log, hm)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.name("addr"), err)
	}
	defer ln.Close() // only matters if we return before Serve owns it
	base := "http://" + ln.Addr().String()

	if err := ensureDemoMerchant(ctx, svc, base, stdout); err != nil {
		return err
	}

	srv := newServer(handler, log)

	// The runner gets its own context so that it outlives the HTTP server:
	// requests still in flight during shutdown may enqueue jobs, and the
	// runner stops only after they are done.
	runCtx, stopRunner := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRunner()
	var wg sync.WaitGroup
	runErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		// One server at a time runs on a SQLite file, so jobs it finds
		// claimed at start-up were a crashed server's (see Exclusive).
		// PostgreSQL runs batches side by side (see Batchers).
		o := core.RunnerOptions{Workers: cfg.Workers, Lease: cfg.JobLease,
			Deliveries: cfg.NotifyConcurrency, PerDestination: cfg.NotifyPerDestination, Exclusive: cfg.DBKind == dbSQLite,
			IntakeShare: intakeShare(cfg.IntakeShare)}
		if cfg.DBKind == dbPostgres {
			o.Batchers, o.Batch = postgresBatchers, postgresBatch
		}
		runErr <- svc.Run(runCtx, o)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	log.Info("listening", "addr", ln.Addr().String(), "db", cfg.dbDisplay(), "workers", cfg.Workers, "job_lease", cfg.JobLease.String(),
		"sandbox_delay", cfg.SandboxDelay.String(), "allow_private_notify", cfg.AllowPrivateNotify, "version", version)
	fmt.Fprintf(stdout, "listening on %s\n", base)
	extra, err := dedicatedListeners(cfg, fes, gate, log, hm, stdout)
	defer func() {
		for _, s := range extra {
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			_ = s.Shutdown(sctx)
			cancel()
		}
	}()
	if err != nil {
		_ = srv.Close()
		return err
	}

	select {
	case err = <-serveErr:
		err = fmt.Errorf("http server: %w", err)
	case err = <-runErr:
		// Run only returns early on a bug; serving without a runner would
		// accept orders that are never paid.
		err = fmt.Errorf("job runner stopped: %v", err)
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	}
	stop() // a second Ctrl-C kills the process at once

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		// Timed out: cut the remaining connections rather than hang.
		log.Warn("requests still in flight at shutdown timeout; closing them", "err", serr)
		_ = srv.Close()
	}
	stopRunner()
	wg.Wait()
	log.Info("stopped")
	return err
}

// ensureDemoMerchant creates the sandbox merchant "demo" when the database
// has no merchant at all, and prints its credentials once, so the README
// quickstart works by copy and paste.
func ensureDemoMerchant(ctx context.Context, svc *core.Service, base string, stdout io.Writer) error {
	ms, err := svc.Merchants(ctx)
	if err != nil {
		return fmt.Errorf("listing merchants: %w", err)
	}
	if len(ms) > 0 {
		return nil
	}
	m, cr, err := svc.CreateMerchant(ctx, core.MerchantInput{No: "demo", Name: "demo", Mode: baoguan.ModeSandbox})
	if baoguan.ErrorCode(err) == baoguan.ECONFLICT {
		return nil // another instance on the same database was first
	}
	if err != nil {
		return fmt.Errorf("creating the demo merchant: %w", err)
	}
	fmt.Fprintf(stdout, "Created sandbox merchant %q for a first try. Its secrets are shown only now:\n\n", m.Name)
	printCredentials(stdout, m, cr)
	fmt.Fprintf(stdout, "\nTry it:\n  curl -H 'Authorization: Bearer %s' %s/v1/orders\n\n", cr.APIKey, base)
	return nil
}

// intakeShare is --intake-share as core.RunnerOptions.IntakeShare: a
// percentage as a fraction, 0 as core.IntakeNone (no batch while pushes
// are coming in).
func intakeShare(percent int) float64 {
	if percent <= 0 {
		return core.IntakeNone
	}
	return float64(percent) / 100
}
