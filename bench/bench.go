// Package bench is baoguan's benchmark: it pushes orders through a running
// baoguan's native API with concurrent keep-alive clients, waits until every
// order is declared and its notifications delivered, and measures a plain
// net/http JSON echo handler with the same client in the same run, so that
// the ratios push_vs_echo and e2e_vs_echo mean something on a noisy
// machine. It counts the CPU time every process of the run spent (this
// one, server processes, the database server's), and then uploads a large
// batch while other clients go on pushing single orders, to show what a
// batch upload does to them.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options of a run.
type Options struct {
	Orders      int           // orders to push (default 20,000)
	Concurrency int           // concurrent keep-alive clients (default 64)
	Timeout     time.Duration // give up waiting for the pipeline after this (default 10m)
	Progress    io.Writer     // optional progress lines
	// BatchOrders is the size of the batch uploaded, beside pushes, after
	// the main run (0: no batch phase).
	BatchOrders int
	// Preloaded is how many orders the caller put in the database before
	// the run (reported only).
	Preloaded int
	// DBBytes, when set, reports the size of the database on disk (the
	// SQLite file and its WAL), read when the first order is pushed and
	// at the end of the run.
	DBBytes func() int64
	// DBParts, when set, reports the database's bytes by part (its tables
	// and indexes grouped by what they hold), at the first push and at the
	// end, for runs that purge (retention).
	DBParts func() map[string]int64
	// Settle, with DBParts, is how long to wait after the run before
	// reading the parts once more: long enough for what the run wrote to
	// age out and be purged.
	Settle time.Duration
	// Profile, when set, is called as baoguan's run begins (the first
	// push) and returns what to call when it ends (the last webhook),
	// before the echo is measured again: a profile of the run without the
	// echo's exchanges (cmd/baoguan bench --run-cpuprofile).
	Profile func() (stop func())
}

// Target is a baoguan server to measure, started by the caller with the
// sandbox delay at 0 and notify URL pointing at NotifyURL. Several
// instances on one database are one target: BaseURLs lists them all, and
// the orders are spread across them in turn, as a round-robin load balancer
// would.
type Target struct {
	BaseURLs []string
	APIKey   string
	// PeakRSSMB, when set, reports the peak resident memory of the
	// servers, for servers that run in processes of their own.
	PeakRSSMB func() float64
	// CPU, when set, reports the processor time spent so far by processes
	// other than this one: servers of their own and the database server's
	// processes serving the run. The bench counts its own process itself.
	CPU func() CPU
}

// CPU is processor time (user + system) spent, by where it was spent.
type CPU struct {
	Bench   time.Duration // this process: clients, webhook receiver and, for SQLite, the server
	Servers time.Duration // baoguan server processes of their own (PostgreSQL runs)
	// Database is the database server's backends serving the run's
	// database; DatabaseShared its processes every database shares (WAL
	// writer, checkpointer, background writer), which other users of the
	// same server also make work, so an upper bound.
	Database       time.Duration
	DatabaseShared time.Duration
}

func (c CPU) total() time.Duration { return c.Bench + c.Servers + c.Database + c.DatabaseShared }

func (c CPU) sub(d CPU) CPU {
	return CPU{Bench: c.Bench - d.Bench, Servers: c.Servers - d.Servers, Database: c.Database - d.Database,
		DatabaseShared: c.DatabaseShared - d.DatabaseShared}
}

// Start starts a baoguan server whose merchant notifies notifyURL, and
// returns it with a function that stops it.
type Start func(ctx context.Context, notifyURL string) (Target, func(), error)

// Result is what a run measured. JSON names are the documented figures.
type Result struct {
	Orders        int     `json:"orders"`
	Concurrency   int     `json:"concurrency"`
	PushRPS       float64 `json:"push_rps"`
	PushP50MS     float64 `json:"push_p50_ms"`
	PushP99MS     float64 `json:"push_p99_ms"`
	PushErrors    int64   `json:"push_errors"`
	E2EOrdersPerS float64 `json:"e2e_orders_per_s"`
	E2ESeconds    float64 `json:"e2e_seconds"`
	Webhooks      int64   `json:"webhooks_received"`
	Duplicates    int64   `json:"webhook_duplicates"`
	// WebhookConns is how many connections the gateway opened to the
	// receiver in the whole run: a few dozen means they are kept alive.
	WebhookConns int64 `json:"webhook_connections"`
	// EchoRPS is the echo's rate over its two measurements, one before
	// baoguan's run and one after it (EchoRPSBefore, EchoRPSAfter): on a
	// shared machine a single short measurement drifts with whatever else
	// runs at that moment.
	EchoRPS       float64 `json:"echo_rps"`
	EchoRPSBefore float64 `json:"echo_rps_before"`
	EchoRPSAfter  float64 `json:"echo_rps_after"`
	PushVsEcho    float64 `json:"push_vs_echo"`
	E2EVsEcho     float64 `json:"e2e_vs_echo"`
	// CPU per order from the first push to the last webhook, all
	// processes; then the same split by process.
	CPUPerOrder       float64 `json:"cpu_us_per_order"`
	CPUPerOrderBench  float64 `json:"cpu_us_per_order_bench"`
	CPUPerOrderServer float64 `json:"cpu_us_per_order_servers"`
	CPUPerOrderDB     float64 `json:"cpu_us_per_order_db"`
	CPUPerOrderShared float64 `json:"cpu_us_per_order_db_shared"`
	// CPUPerOrderPush is the CPU of the push phase alone (all processes,
	// from the first push to the last push's answer) per order, and
	// DeclaredAtPushEnd how many orders were declared and notified by
	// then: what pushes cost when the pipeline gives way to them
	// (--intake-share), and how far it had fallen behind.
	CPUPerOrderPush   float64 `json:"cpu_us_per_order_push"`
	DeclaredAtPushEnd int64   `json:"declared_at_push_end"`
	// EchoCPUPerReq is the CPU of one echo exchange, client included: the
	// floor under any figure of a request made by the same client.
	EchoCPUPerReq float64 `json:"echo_cpu_us_per_req"`
	// This process's heap from the first push to the last webhook, per
	// order: what was allocated (AllocKBPerOrder, AllocsPerOrder), the
	// collections (GCCycles) and the garbage collector's CPU as the
	// runtime estimates it (GCCPUPerOrder, /cpu/classes/gc/total: mark
	// workers and assists, pauses; an overestimate, to compare runs with
	// each other). With SQLite the server is in this process.
	AllocKBPerOrder float64 `json:"alloc_kb_per_order"`
	AllocsPerOrder  float64 `json:"allocs_per_order"`
	GCCycles        int64   `json:"gc_cycles"`
	GCCPUPerOrder   float64 `json:"gc_cpu_us_per_order"`
	Preloaded       int     `json:"preloaded_orders"`
	// The batch phase: one upload of BatchOrders orders while
	// Concurrency clients push single orders.
	BatchOrders   int     `json:"batch_orders"`
	BatchUploadMS float64 `json:"batch_upload_ms"`
	// The upload's server time, from the reply's Server-Timing header:
	// total, from the handler's start (request authenticated, body not
	// yet read) to the reply; decode (reading and decoding the body),
	// check (every order checked) and store (the chunks stored, waits for
	// the store's writer included) within it, and write, the part of
	// store the chunks' transactions ran (SQLite: the writer held).
	BatchServerMS       float64 `json:"batch_server_ms"`
	BatchServerDecodeMS float64 `json:"batch_server_decode_ms"`
	BatchServerCheckMS  float64 `json:"batch_server_check_ms"`
	BatchServerStoreMS  float64 `json:"batch_server_store_ms"`
	BatchServerWriteMS  float64 `json:"batch_server_write_ms"`
	// The longest of the chunks' transactions: how long pushes beside the
	// upload could have waited for it at once.
	BatchServerLongestMS float64 `json:"batch_server_longest_ms"`
	BatchPushes          int     `json:"batch_pushes_during"`
	BatchPushP50MS       float64 `json:"batch_push_p50_ms"`
	BatchPushP99MS       float64 `json:"batch_push_p99_ms"`
	BatchPushMaxMS       float64 `json:"batch_push_max_ms"`
	// BatchWebhooks is how many webhooks arrived while the batch was
	// uploading: zero would mean the pipeline stopped meanwhile.
	BatchWebhooks int64 `json:"batch_webhooks_during"`
	// The database's size on disk when the first order was pushed and at
	// the end of the run (Options.DBBytes; 0 when not known).
	DBMBStart float64 `json:"db_mb_start"`
	DBMBEnd   float64 `json:"db_mb_end"`
	// DBPartsStart and DBPartsEnd are the same in MB by part
	// (Options.DBParts; absent when not asked for).
	DBPartsStart map[string]float64 `json:"db_mb_parts_start,omitempty"`
	DBPartsEnd   map[string]float64 `json:"db_mb_parts_end,omitempty"`
	// DBMBSettled and DBPartsSettled are read Options.Settle after the
	// end, the server idle meanwhile but for its purges.
	DBMBSettled    float64            `json:"db_mb_settled,omitempty"`
	DBPartsSettled map[string]float64 `json:"db_mb_parts_settled,omitempty"`
	PeakRSSMB      float64            `json:"peak_rss_mb"`
	Instances      int                `json:"instances"`
	Commits        int64              `json:"store_commits"`
	MeanGroup      float64            `json:"store_updates_per_commit"`
	CommitMS       float64            `json:"store_commit_ms"`
	// Syncs and SyncMS: SQLite with FULL, the fsyncs of the WAL that made
	// the commits durable, beside the writer, and their mean time.
	Syncs  int64   `json:"store_syncs,omitempty"`
	SyncMS float64 `json:"store_sync_ms,omitempty"`
	// ViewWaits and ViewWaitMS: the reads that waited for such an fsync
	// (of a commit made just before they began), and their mean wait.
	ViewWaits  int64   `json:"store_view_waits,omitempty"`
	ViewWaitMS float64 `json:"store_view_wait_ms,omitempty"`
	// Replays: SQLite, the groups run again with a savepoint per Update
	// because an Update run without one failed.
	Replays   int64  `json:"store_replays,omitempty"`
	GoVersion string `json:"go_version"`
	CPUs      int    `json:"cpus"`
	// Procs is this process's goroutine processors (GOMAXPROCS) during
	// baoguan's run: an in-process server's (serve's --procs), where the
	// echo is measured both times with the count Run found.
	Procs int `json:"procs"`
}

// Run measures echo, then baoguan.
func Run(ctx context.Context, o Options, start Start) (Result, error) {
	if o.Orders <= 0 {
		o.Orders = 20000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	say := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	res := Result{Orders: o.Orders, Concurrency: o.Concurrency, GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		Preloaded: o.Preloaded}
	// The echo is the yardstick of plain net/http as Go runs it: a server
	// started in this process may set its own processors for its run
	// (serve's --procs); the echo's second measurement has Run's again.
	procs := runtime.GOMAXPROCS(0)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: o.Concurrency * 2, MaxIdleConnsPerHost: o.Concurrency * 2, IdleConnTimeout: time.Minute}}

	// 1. The echo baseline, same client, same bodies, same count; measured
	// again after baoguan's run (echoTwice).
	var echoTime, echoCPU time.Duration
	echoOnce := func(warm bool) (float64, error) {
		echo, stopEcho, err := serveEcho()
		if err != nil {
			return 0, err
		}
		defer stopEcho()
		if warm {
			// The process's first requests pay for its start (the heap
			// growing, the first connections): unmeasured, as baoguan's run
			// comes after them too.
			push(ctx, client, []string{echo}, "", "BENCH", o.Orders, o.Concurrency)
		}
		cpu0, _ := ProcessCPU("self")
		_, errs, dur := push(ctx, client, []string{echo}, "", "BENCH", o.Orders, o.Concurrency)
		cpu1, _ := ProcessCPU("self")
		if errs > 0 {
			return 0, fmt.Errorf("echo server failed %d requests", errs)
		}
		echoTime += dur
		echoCPU += cpu1 - cpu0
		return float64(o.Orders) / dur.Seconds(), nil
	}
	var err error
	if res.EchoRPSBefore, err = echoOnce(true); err != nil {
		return res, err
	}
	say("echo: %.0f req/s", res.EchoRPSBefore)

	// 2. A webhook receiver that counts declaration.succeeded per order.
	recv := newReceiver(o.Orders)
	recvURL, stopRecv, err := recv.serve()
	if err != nil {
		return res, err
	}
	defer stopRecv()

	// 3. baoguan.
	t, stop, err := start(ctx, recvURL)
	if err != nil {
		return res, err
	}
	defer stop()
	res.Instances = len(t.BaseURLs)
	urls := make([]string, len(t.BaseURLs))
	for i, u := range t.BaseURLs {
		urls[i] = u + "/v1/orders"
	}
	cpuAt := func() CPU {
		var c CPU
		if t.CPU != nil {
			c = t.CPU()
		}
		c.Bench, _ = ProcessCPU("self")
		return c
	}
	mb := func() float64 {
		if o.DBBytes == nil {
			return 0
		}
		return float64(o.DBBytes()) / (1 << 20)
	}
	parts := func() map[string]float64 {
		if o.DBParts == nil {
			return nil
		}
		out := map[string]float64{}
		for k, v := range o.DBParts() {
			out[k] = float64(v) / (1 << 20)
		}
		return out
	}
	res.DBMBStart, res.DBPartsStart = mb(), parts()
	heapStart := readHeap()
	cpuStart := cpuAt()
	stopProfile := func() {}
	if o.Profile != nil {
		stopProfile = sync.OnceFunc(o.Profile())
		defer stopProfile()
	}
	began := time.Now()
	lat, errs, dur := push(ctx, client, urls, t.APIKey, "BENCH", o.Orders, o.Concurrency)
	cpuPush := cpuAt().sub(cpuStart)
	res.DeclaredAtPushEnd = recv.declared.Load()
	res.PushErrors = errs
	res.PushRPS = float64(o.Orders-int(errs)) / dur.Seconds()
	res.PushP50MS, res.PushP99MS = percentile(lat, 0.50), percentile(lat, 0.99)
	say("push: %.0f req/s, p50 %.1f ms, p99 %.1f ms, %d errors", res.PushRPS, res.PushP50MS, res.PushP99MS, errs)
	want := int64(o.Orders) - errs
	deadline := time.Now().Add(o.Timeout)
	for recv.declared.Load() < want {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return res, fmt.Errorf("gave up: %d of %d orders declared and notified", recv.declared.Load(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cpu := cpuAt().sub(cpuStart)
	stopProfile()
	heap := readHeap().sub(heapStart)
	e2e := recv.lastAt().Sub(began)
	res.E2ESeconds = e2e.Seconds()
	res.E2EOrdersPerS = float64(want) / e2e.Seconds()
	if res.Procs = runtime.GOMAXPROCS(0); res.Procs != procs {
		runtime.GOMAXPROCS(procs)
	}
	if res.EchoRPSAfter, err = echoOnce(false); err != nil {
		return res, err
	}
	res.EchoRPS = float64(2*o.Orders) / echoTime.Seconds()
	res.EchoCPUPerReq = float64(echoCPU.Microseconds()) / float64(2*o.Orders)
	res.PushVsEcho = res.PushRPS / res.EchoRPS
	res.E2EVsEcho = res.E2EOrdersPerS / res.EchoRPS
	say("echo: %.0f req/s after the run, %.0f req/s over both, %.0f µs CPU per exchange", res.EchoRPSAfter, res.EchoRPS, res.EchoCPUPerReq)
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(want) }
	res.CPUPerOrder, res.CPUPerOrderBench, res.CPUPerOrderServer = per(cpu.total()), per(cpu.Bench), per(cpu.Servers)
	res.CPUPerOrderDB, res.CPUPerOrderShared = per(cpu.Database), per(cpu.DatabaseShared)
	res.CPUPerOrderPush = per(cpuPush.total())
	res.AllocKBPerOrder = float64(heap.bytes) / 1024 / float64(want)
	res.AllocsPerOrder = float64(heap.objects) / float64(want)
	res.GCCycles = int64(heap.cycles)
	res.GCCPUPerOrder = heap.gcCPU * 1e6 / float64(want)
	say("heap: %.1f KB and %.0f objects allocated per order, %d collections, %.0f µs of the collector's CPU per order",
		res.AllocKBPerOrder, res.AllocsPerOrder, res.GCCycles, res.GCCPUPerOrder)
	say("cpu: %.0f µs per order (this process %.0f, servers %.0f, database %.0f + shared %.0f; %.0f until the last push was answered, when %d orders were declared and notified)",
		res.CPUPerOrder, res.CPUPerOrderBench, res.CPUPerOrderServer, res.CPUPerOrderDB, res.CPUPerOrderShared, res.CPUPerOrderPush, res.DeclaredAtPushEnd)
	res.Webhooks, res.Duplicates, res.WebhookConns = recv.total.Load(), recv.dups.Load(), recv.conns.Load()
	res.PeakRSSMB = peakRSSMB()
	if t.PeakRSSMB != nil {
		res.PeakRSSMB += t.PeakRSSMB()
	}
	say("e2e: %d orders declared and notified in %.1f s (%.0f orders/s, e2e_vs_echo %.3f)", want, res.E2ESeconds, res.E2EOrdersPerS, res.E2EVsEcho)
	if o.BatchOrders > 0 {
		if err := batchPhase(ctx, client, urls, t.APIKey, o, recv, &res); err != nil {
			return res, err
		}
		say("batch: %d orders uploaded in %.0f ms (server %.0f ms: decode %.0f, check %.0f, store %.0f of which the chunks' transactions ran %.0f, the longest %.0f); %d pushes meanwhile, p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d webhooks meanwhile",
			res.BatchOrders, res.BatchUploadMS, res.BatchServerMS, res.BatchServerDecodeMS, res.BatchServerCheckMS, res.BatchServerStoreMS, res.BatchServerWriteMS,
			res.BatchServerLongestMS, res.BatchPushes, res.BatchPushP50MS, res.BatchPushP99MS, res.BatchPushMaxMS, res.BatchWebhooks)
	}
	res.DBMBEnd, res.DBPartsEnd = mb(), parts()
	if o.DBParts != nil && o.Settle > 0 {
		say("database: waiting %s for the run's records to age out and be purged", o.Settle)
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(o.Settle):
		}
		res.DBMBSettled, res.DBPartsSettled = mb(), parts()
	}
	if o.DBBytes != nil {
		say("database: %.1f MB when the first order was pushed, %.1f MB at the end", res.DBMBStart, res.DBMBEnd)
	}
	m := map[string]float64{}
	for _, u := range t.BaseURLs {
		one, err := scrape(client, u+"/metrics")
		if err != nil {
			continue
		}
		for k, v := range one {
			m[k] += v // every instance's store counters, summed
		}
	}
	if m["baoguan_store_commits_total"] > 0 {
		res.Commits = int64(m["baoguan_store_commits_total"])
		res.MeanGroup = m["baoguan_store_updates_total"] / m["baoguan_store_commits_total"]
		res.CommitMS = 1000 * m["baoguan_store_commit_seconds_total"] / m["baoguan_store_commits_total"]
		say("store: %d commits, %.1f updates per commit, %.2f ms per commit", res.Commits, res.MeanGroup, res.CommitMS)
	}
	if m["baoguan_store_syncs_total"] > 0 {
		res.Syncs = int64(m["baoguan_store_syncs_total"])
		res.SyncMS = 1000 * m["baoguan_store_sync_seconds_total"] / m["baoguan_store_syncs_total"]
		say("store: %d fsyncs of the WAL, %.2f ms each", res.Syncs, res.SyncMS)
	}
	if m["baoguan_store_view_waits_total"] > 0 {
		res.ViewWaits = int64(m["baoguan_store_view_waits_total"])
		res.ViewWaitMS = 1000 * m["baoguan_store_view_wait_seconds_total"] / m["baoguan_store_view_waits_total"]
		say("store: %d reads waited for an fsync, %.2f ms each", res.ViewWaits, res.ViewWaitMS)
	}
	if m["baoguan_store_replays_total"] > 0 {
		res.Replays = int64(m["baoguan_store_replays_total"])
		say("store: %d groups run again with a savepoint per Update", res.Replays)
	}
	return res, nil
}

// orderBody is the order every client pushes (to echo and baoguan alike).
// The receiver counts the declarations of orders numbered BENCH….
func orderBody(prefix string, i int) []byte {
	return []byte(`{"merchant_order_no":"` + prefix + strconv.Itoa(i) + `","amount":4023,"subject":"测试商品",` +
		`"items":[{"subject":"测试商品1","link":"http://example.com/1","article_no":"HH00001"}],` +
		`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},` +
		`"declarations":[{"customs":"HG014"}]}`)
}

// push sends n orders with conc clients, order i to urls[i % len(urls)].
func push(ctx context.Context, c *http.Client, urls []string, key, prefix string, n, conc int) ([]time.Duration, int64, time.Duration) {
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, urls[i%len(urls)], bytes.NewReader(orderBody(prefix, i)))
				req.Header.Set("Content-Type", "application/json")
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				t0 := time.Now()
				resp, err := c.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode >= 300 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return lat, errs.Load(), time.Since(start)
}

// heapStats are this process's heap counters (runtime/metrics).
type heapStats struct {
	bytes, objects, cycles uint64
	gcCPU                  float64 // seconds
}

var heapMetrics = []string{"/gc/heap/allocs:bytes", "/gc/heap/allocs:objects", "/gc/cycles/total:gc-cycles", "/cpu/classes/gc/total:cpu-seconds"}

func readHeap() heapStats {
	s := make([]metrics.Sample, len(heapMetrics))
	for i, n := range heapMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	u := func(i int) uint64 {
		if s[i].Value.Kind() == metrics.KindUint64 {
			return s[i].Value.Uint64()
		}
		return 0
	}
	h := heapStats{bytes: u(0), objects: u(1), cycles: u(2)}
	if s[3].Value.Kind() == metrics.KindFloat64 {
		h.gcCPU = s[3].Value.Float64()
	}
	return h
}

func (h heapStats) sub(o heapStats) heapStats {
	return heapStats{h.bytes - o.bytes, h.objects - o.objects, h.cycles - o.cycles, h.gcCPU - o.gcCPU}
}

func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return float64(s[i].Microseconds()) / 1000
}

// serveEcho is the baseline: decode the JSON body, encode it back.
func serveEcho() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(v)
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/echo", func() { srv.Close() }, nil
}

// receiver counts webhooks; an order counts once, at its first
// declaration.succeeded, and repeats are counted as duplicates.
type receiver struct {
	mu       sync.Mutex
	seen     map[string]bool
	last     time.Time
	declared atomic.Int64
	total    atomic.Int64
	dups     atomic.Int64
	conns    atomic.Int64 // connections the gateway opened to deliver
}

// newReceiver returns a receiver with room for the webhooks of n orders
// (two each, and one mark per order declared).
func newReceiver(n int) *receiver { return &receiver{seen: make(map[string]bool, 3*n)} }

// bodies are the receiver's read buffers, reused: a webhook body is read
// whole, parsed, then forgotten.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (r *receiver) lastAt() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.last }

func (r *receiver) serve() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		buf := bodies.Get().(*bytes.Buffer)
		defer bodies.Put(buf)
		buf.Reset()
		_, _ = buf.ReadFrom(req.Body)
		b := buf.Bytes()
		r.total.Add(1)
		ev := webhookFields(b)
		r.mu.Lock()
		if r.seen[ev.ID] {
			r.dups.Add(1)
		}
		r.seen[ev.ID] = true
		if ev.Type == "declaration.succeeded" && strings.HasPrefix(ev.No, "BENCH") && !r.seen["order:"+ev.No] {
			r.seen["order:"+ev.No] = true
			r.declared.Add(1)
			r.last = time.Now()
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}), ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			r.conns.Add(1)
		}
	}}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/hook", func() { srv.Close() }, nil
}

// webhook is what the receiver counts a notification by.
type webhook struct {
	ID, Type string
	No       string // data.merchant_order_no
}

// webhookFields reads a notification's id, type and data.merchant_order_no
// and stops as soon as it has the three; the values of other keys are
// skipped by matching brackets and quotes, not parsed. The receiver is
// the bench's own and its CPU counts in cpu_us_per_order: a whole
// json.Unmarshal (a validating scan of the body, then a decoding one) cost
// it most of its time, for three fields that come first in baoguan's
// bodies. Keys match exactly as baoguan writes them (not ignoring case as
// encoding/json does); a body that is not a JSON object leaves the fields
// empty (its order is not counted as declared).
func webhookFields(b []byte) webhook {
	var w webhook
	s := jscan{b: b}
	var id, typ, no bool // seen
	if !s.open() {
		return w
	}
	for !(id && typ && no) {
		k, ok := s.key()
		if !ok {
			return w
		}
		switch k {
		case "id":
			w.ID, ok, id = s.str(), true, true
		case "type":
			w.Type, ok, typ = s.str(), true, true
		case "data":
			if !s.open() {
				return w
			}
			for !no {
				if k, ok = s.key(); !ok {
					break // the end of data, or not JSON
				}
				if k == "merchant_order_no" {
					w.No, no = s.str(), true
				} else if !s.skip() {
					return w
				}
				if !s.comma() {
					break
				}
			}
			switch {
			case !no: // data ended without the number
				ok = s.eat('}')
			case !(id && typ):
				ok = s.skipRest()
			}
			no = true
		default:
			ok = s.skip()
		}
		if !ok || !s.comma() {
			return w
		}
	}
	return w
}

// jscan walks JSON text without building it: enough for webhookFields.
type jscan struct {
	b []byte
	i int
}

func (s *jscan) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// eat consumes c (after white space) if it is next.
func (s *jscan) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jscan) open() bool  { return s.eat('{') }
func (s *jscan) comma() bool { return s.eat(',') }

// quoted returns the raw text of the string at s.i (without its quotes),
// whether it has escapes, and moves past it.
func (s *jscan) quoted() (raw []byte, esc, ok bool) {
	if !s.eat('"') {
		return nil, false, false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			esc = true
			s.i += 2
			continue
		case '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, esc, true
		}
		s.i++
	}
	return nil, false, false
}

// key reads `"name":`.
func (s *jscan) key() (string, bool) {
	raw, esc, ok := s.quoted()
	if !ok || esc || !s.eat(':') {
		return "", false
	}
	return string(raw), true
}

// str reads a string value ("" for anything else, which it skips).
func (s *jscan) str() string {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		s.skip()
		return ""
	}
	start := s.i
	raw, esc, ok := s.quoted()
	if !ok {
		return ""
	}
	if !esc {
		return string(raw)
	}
	var v string
	_ = json.Unmarshal(s.b[start:s.i], &v)
	return v
}

// skip moves past one value.
func (s *jscan) skip() bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, _, ok := s.quoted()
		return ok
	case '{', '[':
		s.i++
		return s.skipRest()
	}
	for s.i < len(s.b) { // a number, true, false, null
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return true
		}
		s.i++
	}
	return true
}

// skipRest moves past the end of the object or array it is in.
func (s *jscan) skipRest() bool {
	for depth := 1; s.i < len(s.b); {
		switch s.b[s.i] {
		case '"':
			if _, _, ok := s.quoted(); !ok {
				return false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				s.i++
				return true
			}
		}
		s.i++
	}
	return false
}

// peakRSSMB reads the process's peak resident set (VmHWM) on Linux.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
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

// scrape reads the plain counters of a Prometheus text page.
func scrape(c *http.Client, url string) (map[string]float64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") && !strings.Contains(f[0], "{") {
			v, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				out[f[0]] = v
			}
		}
	}
	return out, nil
}

// batchPhase uploads one batch of o.BatchOrders orders while o.Concurrency
// clients push single orders, and measures the upload and the pushes that
// overlapped it. The batch's orders are held (not paid), so what is
// measured is the upload itself and what it does to everyone else.
func batchPhase(ctx context.Context, c *http.Client, urls []string, key string, o Options, recv *receiver, res *Result) error {
	var sb bytes.Buffer
	sb.WriteString(`{"orders":[`)
	for i := 0; i < o.BatchOrders; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.Write(orderBody("BATCH", i))
	}
	sb.WriteString(`]}`)
	body := sb.Bytes()
	type sample struct{ start, end time.Time }
	var mu sync.Mutex
	var samples []sample
	var stop atomic.Bool
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, urls[i%len(urls)], bytes.NewReader(orderBody("BPUSH", i)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode >= 300 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
				}
				mu.Lock()
				samples = append(samples, sample{t0, time.Now()})
				mu.Unlock()
			}
		})
	}
	// Let the pushes reach their pace before the upload.
	time.Sleep(500 * time.Millisecond)
	hooks0 := recv.total.Load()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(urls[0], "/orders")+"/batches", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	b0 := time.Now()
	resp, err := c.Do(req)
	var status int
	var timing map[string]float64
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
		timing = serverTiming(resp.Header.Get("Server-Timing"))
	}
	b1 := time.Now()
	hooks := recv.total.Load() - hooks0
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("batch upload: %w", err)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("batch upload: status %d", status)
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("batch phase: %d pushes failed", n)
	}
	var during []time.Duration
	for _, s := range samples {
		if s.end.After(b0) && s.start.Before(b1) {
			during = append(during, s.end.Sub(s.start))
		}
	}
	res.BatchOrders = o.BatchOrders
	res.BatchUploadMS = float64(b1.Sub(b0).Microseconds()) / 1000
	res.BatchServerMS, res.BatchServerDecodeMS = timing["total"], timing["decode"]
	res.BatchServerCheckMS, res.BatchServerStoreMS = timing["check"], timing["store"]
	res.BatchServerWriteMS, res.BatchServerLongestMS = timing["write"], timing["longest"]
	res.BatchPushes = len(during)
	res.BatchPushP50MS, res.BatchPushP99MS, res.BatchPushMaxMS = percentile(during, 0.50), percentile(during, 0.99), percentile(during, 1)
	res.BatchWebhooks = hooks
	return nil
}

// serverTiming reads the durations of a Server-Timing header
// ("name;dur=ms;desc=…, …") by name.
func serverTiming(h string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range strings.Split(h, ",") {
		parts := strings.Split(strings.TrimSpace(m), ";")
		for _, p := range parts[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "dur="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					out[parts[0]] = f
				}
			}
		}
	}
	return out
}

// ProcessCPU returns the processor time (user + system) a process has
// spent, read from /proc/<pid>/stat on Linux; pid "self" is this process.
// Elsewhere it returns an error and the bench reports no CPU figures.
func ProcessCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields count from
	// after its closing parenthesis: state is field 3, utime 14, stime 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%s/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%s/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%s/stat", pid)
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(ut+st) * (time.Second / 100), nil
}
