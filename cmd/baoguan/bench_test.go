package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// TestBenchSmall runs the bench command end to end on a few orders, with a
// preloaded history and the batch phase, and checks that its figures add
// up: every order declared and notified once, the batch uploaded, CPU
// counted. (Speed itself is never asserted.)
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	// Go's own count of processors before the run (another test's server
	// in this process may have raised it), to see the server's own for its
	// run and Go's again for the echo after it.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(goProcs))
	err := run(ctx, []string{"bench", "--orders", "60", "--concurrency", "4", "--batch", "50", "--preload", "30", "--json"},
		envOf(), &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	var res struct {
		Procs      int     `json:"procs"`
		Orders     int     `json:"orders"`
		PushErrors int     `json:"push_errors"`
		Webhooks   int     `json:"webhooks_received"`
		Duplicates int     `json:"webhook_duplicates"`
		E2E        float64 `json:"e2e_orders_per_s"`
		E2EVsEcho  float64 `json:"e2e_vs_echo"`
		Echo       float64 `json:"echo_rps"`
		EchoBefore float64 `json:"echo_rps_before"`
		EchoAfter  float64 `json:"echo_rps_after"`
		CPU        float64 `json:"cpu_us_per_order"`
		CPUPush    float64 `json:"cpu_us_per_order_push"`
		AtPushEnd  int     `json:"declared_at_push_end"`
		AllocKB    float64 `json:"alloc_kb_per_order"`
		Allocs     float64 `json:"allocs_per_order"`
		GCCPU      float64 `json:"gc_cpu_us_per_order"`
		Preloaded  int     `json:"preloaded_orders"`
		Batch      int     `json:"batch_orders"`
		BatchMS    float64 `json:"batch_upload_ms"`
		ServerMS   float64 `json:"batch_server_ms"`
		StoreMS    float64 `json:"batch_server_store_ms"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
		t.Fatalf("bench printed %q: %v", stdout.String(), err)
	}
	// Two webhooks per order at least (order.paid, declaration.succeeded),
	// more from the orders pushed during the batch phase.
	if res.Orders != 60 || res.PushErrors != 0 || res.Webhooks < 120 || res.Duplicates != 0 {
		t.Errorf("orders %d, push errors %d, webhooks %d, duplicates %d", res.Orders, res.PushErrors, res.Webhooks, res.Duplicates)
	}
	if res.E2E <= 0 || res.E2EVsEcho <= 0 || res.CPU <= 0 {
		t.Errorf("e2e %v/s, e2e_vs_echo %v, cpu %v µs per order: want figures", res.E2E, res.E2EVsEcho, res.CPU)
	}
	// The push phase is the run's beginning: its CPU is a part of the
	// run's (both per order), its orders declared some of them.
	if res.CPUPush <= 0 || res.CPUPush > res.CPU || res.AtPushEnd < 0 || res.AtPushEnd > res.Orders {
		t.Errorf("push phase: %v µs per order of %v, %d of %d orders declared", res.CPUPush, res.CPU, res.AtPushEnd, res.Orders)
	}
	// The server runs in this process (SQLite): its orders allocated.
	if res.AllocKB <= 0 || res.Allocs <= 0 || res.GCCPU < 0 {
		t.Errorf("heap: %v KB and %v objects allocated per order, %v µs of the collector's CPU", res.AllocKB, res.Allocs, res.GCCPU)
	}
	// The echo is measured before the run and after it; its rate is the
	// rate over both, so between the two (and the ratio is against it).
	lo, hi := min(res.EchoBefore, res.EchoAfter), max(res.EchoBefore, res.EchoAfter)
	if lo <= 0 || res.Echo < lo*0.999 || res.Echo > hi*1.001 || math.Abs(res.E2EVsEcho-res.E2E/res.Echo) > 1e-9*res.E2EVsEcho {
		t.Errorf("echo %v req/s (before the run %v, after %v), e2e_vs_echo %v at %v orders/s", res.Echo, res.EchoBefore, res.EchoAfter, res.E2EVsEcho, res.E2E)
	}
	// The server ran with serve's processors (two more than Go's), the
	// echo after it with Go's again.
	wantProcs := goProcs + extraProcs
	if os.Getenv("GOMAXPROCS") != "" {
		wantProcs = goProcs
	}
	if after := runtime.GOMAXPROCS(0); res.Procs != wantProcs || after != goProcs {
		t.Errorf("processors: %d during the run, want %d; %d after it, want Go's %d", res.Procs, wantProcs, after, goProcs)
	}
	if res.Preloaded != 30 || res.Batch != 50 || res.BatchMS <= 0 {
		t.Errorf("preloaded %d, batch %d in %v ms", res.Preloaded, res.Batch, res.BatchMS)
	}
	// The server's own time comes from its Server-Timing header: within
	// what the client saw, the store's part within it.
	if res.ServerMS <= 0 || res.ServerMS > res.BatchMS || res.StoreMS > res.ServerMS {
		t.Errorf("batch server time %v ms (store %v) against %v ms seen by the client", res.ServerMS, res.StoreMS, res.BatchMS)
	}
}

// TestBenchRetainParts runs the bench with a short retention and checks
// what it reports of the database by part: once the run's records have
// aged out, the machinery retention purges (jobs, attempts, keys) is no
// larger than before the run, and the history it keeps has not shrunk.
// The bench's run may leave no machinery at all: its payments are queued
// on the orders, its declarations run in the same batch, and on SQLite
// the attempt that delivered a notification is kept in the event's row
// (migration 0025), so only a failed delivery writes a row of attempts.
// core's TestRetentionStopsTheFileGrowing fails deliveries to have rows
// to purge.
func TestBenchRetainParts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	err := run(ctx, []string{"bench", "--orders", "300", "--concurrency", "8", "--batch", "0", "--retain", "1s", "--json"},
		envOf(), &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	var res struct {
		Start   map[string]float64 `json:"db_mb_parts_start"`
		End     map[string]float64 `json:"db_mb_parts_end"`
		Settled map[string]float64 `json:"db_mb_parts_settled"`
		MB      float64            `json:"db_mb_settled"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
		t.Fatalf("bench printed %q: %v", stdout.String(), err)
	}
	if res.End["history"] <= res.Start["history"] || res.End["machinery"] <= 0 || res.MB <= 0 {
		t.Fatalf("parts: start %v, end %v, settled %v (%v MB): want history written and machinery used", res.Start, res.End, res.Settled, res.MB)
	}
	if res.Settled["machinery"] > res.Start["machinery"] {
		t.Errorf("machinery %v MB at the start, %v MB at the end, %v MB after aging out: want it purged", res.Start["machinery"], res.End["machinery"], res.Settled["machinery"])
	}
	if res.Settled["history"] < res.End["history"] {
		t.Errorf("history %v MB at the end, %v MB after aging out: retention took kept history", res.End["history"], res.Settled["history"])
	}
}

// TestBenchRunProfile: --run-cpuprofile profiles baoguan's run and not the
// echo's measurements around it — the echo's handler (bench's serveEcho)
// is the yardstick, and a profile that holds it shows its JSON decoding
// as if it were a push's. The echo makes 4 × 1,500 exchanges here, enough
// samples of its handler to show in a profile that held them.
func TestBenchRunProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	file := filepath.Join(t.TempDir(), "run.pprof")
	var stdout, stderr syncBuffer
	err := run(ctx, []string{"bench", "--orders", "1500", "--concurrency", "16", "--batch", "0", "--run-cpuprofile", file, "--json"},
		envOf(), &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	prof, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	// The profile's strings hold the names of the functions sampled.
	if !bytes.Contains(prof, []byte("github.com/baoguan/baoguan/core.")) {
		t.Errorf("the run's profile has no sample of core's functions")
	}
	if bytes.Contains(prof, []byte("bench.serveEcho")) {
		t.Errorf("the run's profile holds the echo's handler")
	}

	err = run(ctx, []string{"bench", "--orders", "10", "--cpuprofile", file, "--run-cpuprofile", file}, envOf(), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--run-cpuprofile") {
		t.Errorf("--cpuprofile with --run-cpuprofile: %v, want refused", err)
	}
}

// TestPreloadClonesTheTemplate checks the preload's clones one by one: each
// is a finished order like the template, with its declarations, events,
// attempts and done jobs, under fresh ids that the server goes on from.
func TestPreloadClonesTheTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	cfg, err := bindSettings(pflag.NewFlagSet("t", pflag.ContinueOnError), envOf(), "sync", "workers", "log-level").load()
	if err != nil {
		t.Fatal(err)
	}
	benchConfig(cfg, t.TempDir())
	tg, stop, err := startBenchServer(ctx, cfg, recv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	err = pushTemplate(ctx, tg)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	if err := preloadOrders(ctx, cfg, n, io.Discard); err != nil {
		t.Fatal(err)
	}
	err = withService(ctx, cfg, io.Discard, true, func(svc *core.Service) error {
		m, err := svc.MerchantByName(ctx, "bench")
		if err != nil {
			return err
		}
		tmpl, err := svc.OrderDetail(ctx, m, templateOrderNo)
		if err != nil {
			return err
		}
		tevs, err := svc.Events(ctx, m, baoguan.EventFilter{OrderID: tmpl.Order.ID})
		if err != nil {
			return err
		}
		bodies := map[string][]byte{} // the template's events' bodies by type
		for _, e := range tevs {
			bodies[e.Type] = e.Body
		}
		seen := map[int64]bool{tmpl.Order.ID: true}
		for i := 1; i <= n; i++ {
			no := "PRE" + strconv.Itoa(i)
			v, err := svc.OrderDetail(ctx, m, no)
			if err != nil {
				t.Errorf("%s: %v", no, err)
				continue
			}
			if seen[v.Order.ID] {
				t.Errorf("%s has id %d twice", no, v.Order.ID)
			}
			seen[v.Order.ID] = true
			// The payment number follows the sandbox's rule for the
			// clone's own id (its round and check digits the template's).
			if want := fmt.Sprintf("1%013d", v.Order.ID) + tmpl.Order.Payment.No[14:]; v.Order.Payment.No != want {
				t.Errorf("%s: payment number %q, want %q", no, v.Order.Payment.No, want)
			}
			if v.Order.PayStatus != baoguan.PaySucceed || v.Order.DeclareStatus != baoguan.DeclareDone ||
				v.Order.Payer.IDNumber != tmpl.Order.Payer.IDNumber {
				t.Errorf("%s: %s/%s, payer %q", no, v.Order.PayStatus, v.Order.DeclareStatus, v.Order.Payer.IDNumber)
			}
			if len(v.Declarations) != len(tmpl.Declarations) || v.Declarations[0].OrderID != v.Order.ID ||
				v.Declarations[0].State != baoguan.DeclSuccess {
				t.Errorf("%s: declarations %+v", no, v.Declarations)
			}
			evs, err := svc.Events(ctx, m, baoguan.EventFilter{OrderID: v.Order.ID})
			if err != nil {
				return err
			}
			if len(evs) != len(tevs) {
				t.Errorf("%s: %d events, the template has %d", no, len(evs), len(tevs))
			}
			for _, e := range evs {
				_, as, err := svc.Event(ctx, m, e.ID)
				if err != nil {
					return err
				}
				if e.Status != baoguan.EventDelivered || len(as) == 0 || as[0].EventID != e.ID {
					t.Errorf("%s: event %s %s with attempts %+v", no, e.Type, e.Status, as)
				}
				// A clone's notification has the template's body (on SQLite
				// a row of event_bodies of its own: migration 0026).
				if len(e.Body) == 0 || !bytes.Equal(e.Body, bodies[e.Type]) {
					t.Errorf("%s: event %s has a body of %d bytes, the template's %d", no, e.Type, len(e.Body), len(bodies[e.Type]))
				}
			}
		}
		counts, err := svc.JobCounts(ctx)
		if err != nil {
			return err
		}
		done := 0
		for _, c := range counts[baoguan.JobDone] {
			done += c
		}
		if queued := len(counts[baoguan.JobQueued]) + len(counts[baoguan.JobRunning]) + len(counts[baoguan.JobDead]); queued != 0 || done%(n+1) != 0 {
			t.Errorf("jobs after the preload: %v", counts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The server goes on from the clones' ids: a new order is created.
	tg, stop, err = startBenchServer(ctx, cfg, recv.URL, tg.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	req, _ := http.NewRequestWithContext(ctx, "POST", tg.BaseURLs[0]+"/v1/orders", strings.NewReader(`{"merchant_order_no":"AFTER1","amount":100,"subject":"x",`+
		`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},"declarations":[{"customs":"HG014"}]}`))
	req.Header.Set("Authorization", "Bearer "+tg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("an order after the preload: status %d", resp.StatusCode)
	}
}
