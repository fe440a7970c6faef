package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baoguan/baoguan/postgres/pgtest"
)

// TestKillOneOfTwoInstances runs two `baoguan serve` processes of the real
// binary on one PostgreSQL database, pushes orders to both, SIGKILLs one of
// them mid-run, keeps pushing to the survivor, and then checks what an
// operator of several instances relies on:
//
//   - every order acknowledged with a 2xx exists, once;
//   - every declaration was sent to the customs port once per attempt, and
//     no two calls about one declaration overlapped in time, across both
//     processes (each writes --customs-call-log; the killed one's calls cut
//     short end at the kill). The one allowed repeat is an attempt the
//     killed instance sent but did not live to record: the survivor, taking
//     the job over after its lease, sends that same attempt again, which is
//     what ports are required to answer alike. So is an attempt an
//     instance sent and failed to record (its write ran past the handler's
//     deadline, as on a loaded machine), sent again when it retried the
//     job: the job's claims show the retry;
//   - every notification was delivered at least once; duplicates are
//     counted and reported;
//   - jobs the killed instance held were rescued: none is left queued,
//     running or dead.
func TestKillOneOfTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	url := pgtest.URL(t)
	bin := baoguanBinary(t)
	dir := t.TempDir()
	key := newDataKey()
	env := []string{"BAOGUAN_DATA_KEY=" + key}

	// The merchant's webhook receiver: deliveries per event (webhook-id),
	// and which orders got declaration.succeeded.
	var mu sync.Mutex
	deliveries := map[string]int{}
	declared := map[string]bool{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				No string `json:"merchant_order_no"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		deliveries[r.Header.Get("webhook-id")]++
		if ev.Type == "declaration.succeeded" {
			declared[ev.Data.No] = true
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	// Both instances start at once on the empty database: both migrate
	// (the advisory lock makes them take turns) and both try to create the
	// demo merchant (one wins).
	const lease = 3 * time.Second
	procs := make([]*serveProc, 2)
	logs := make([]string, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range procs {
		logs[i] = filepath.Join(dir, fmt.Sprintf("calls-%d.log", i))
		wg.Go(func() {
			procs[i], errs[i] = startServeProc(bin, []string{"serve", "--addr", "127.0.0.1:0", "--db", url,
				"--sandbox-delay", "100ms", "--allow-private-notify", "--job-lease", lease.String(),
				"--customs-call-log", logs[i], "--log-level", "warn"}, key, nil)
		})
	}
	wg.Wait()
	for i, p := range procs {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		t.Cleanup(func() { p.kill() })
	}
	out, err := cliOutput(bin, env, "merchant", "create", "--db", url, "--name", "shop", "--notify-url", recv.URL+"/hook", "--json")
	if err != nil {
		t.Fatalf("merchant create: %v\n%s", err, out)
	}
	var cred struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(out, &cred); err != nil || cred.APIKey == "" {
		t.Fatalf("merchant create printed %q: %v", out, err)
	}

	// Load: eight clients, each bound to an instance as a load balancer
	// would bind its connections; a client whose instance is gone moves to
	// the other, as the balancer's health check would move it.
	var alive [2]atomic.Bool
	alive[0].Store(true)
	alive[1].Store(true)
	client := &http.Client{Timeout: 5 * time.Second}
	var acked sync.Map
	var next, ackedN, afterKill atomic.Int64
	var killed atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var load sync.WaitGroup
	for w := range 8 {
		load.Go(func() {
			for ctx.Err() == nil {
				inst := w % 2
				if !alive[inst].Load() {
					inst = 1 - inst
				}
				no := fmt.Sprintf("K%06d", next.Add(1))
				body := `{"merchant_order_no":"` + no + `","amount":1999,"subject":"奶粉",` +
					`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},"declarations":[{"customs":"HG014"}]}`
				req, _ := http.NewRequestWithContext(ctx, "POST", procs[inst].base+"/v1/orders", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+cred.APIKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue // the instance died under this request; the order may or may not exist
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					acked.Store(no, true)
					ackedN.Add(1)
					if killed.Load() {
						afterKill.Add(1)
					}
				}
			}
		})
	}
	for ackedN.Load() < 400 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	// SIGKILL instance 0 while declarations, polls and notifications are in
	// flight in both.
	alive[0].Store(false)
	procs[0].kill()
	killAt := time.Now().UnixMicro()
	killedPID := procs[0].cmd.Process.Pid
	killed.Store(true)
	for afterKill.Load() < 300 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	load.Wait()
	total := ackedN.Load()
	t.Logf("%d orders acknowledged, %d of them by the survivor after the kill", total, afterKill.Load())
	if afterKill.Load() < 300 {
		t.Fatalf("the survivor acknowledged only %d orders after the kill; logs:\n%s", afterKill.Load(), procs[1].logs)
	}

	db, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())

	// Wait for the pipeline: every acknowledged order declared and notified
	// (the killed instance's jobs only after their lease), no job left, and
	// no notification left pending. The last is its own condition: a
	// webhook the receiver has seen is recorded delivered only when the
	// deliverer's outcome transaction commits, and one the killed instance
	// sent but did not live to record stays pending until the survivor
	// sends it again after the lease. Jobs are counted before events: only
	// jobs create events once the load has stopped, so when no job is left
	// the set of events is final, and the pending count read after it is
	// of that final set. A failed event is not waited for (it is final
	// too); 3. reports it.
	deadline := time.Now().Add(3 * time.Minute)
	var settled time.Time // when jobs were done but events still pending
	for {
		missing := 0
		mu.Lock()
		acked.Range(func(k, _ any) bool {
			if !declared[k.(string)] {
				missing++
			}
			return true
		})
		mu.Unlock()
		var open, pending int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM jobs WHERE state <> 'done'`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM events WHERE status = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if missing == 0 && open == 0 && pending == 0 {
			if !settled.IsZero() {
				t.Logf("the last pending events were recorded %v after every job was done", time.Since(settled).Round(time.Millisecond))
			}
			break
		}
		if missing == 0 && open == 0 && settled.IsZero() {
			settled = time.Now()
			t.Logf("every job done, %d events still pending", pending)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged orders never got declaration.succeeded, %d jobs not done, %d events pending; survivor logs:\n%s",
				missing, open, pending, tail(procs[1].logs.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// 1. Every acknowledged order exists, once (the unique key makes more
	// than once impossible; the count shows nothing was lost either).
	stored := map[string]int{}
	rows, err := db.Query(context.Background(), `SELECT merchant_order_no FROM orders o JOIN merchants m ON m.id = o.merchant_id WHERE m.name = 'shop'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var no string
		if err := rows.Scan(&no); err != nil {
			t.Fatal(err)
		}
		stored[no]++
	}
	rows.Close()
	acked.Range(func(k, _ any) bool {
		if stored[k.(string)] != 1 {
			t.Errorf("acknowledged order %s is stored %d times", k, stored[k.(string)])
		}
		return true
	})
	t.Logf("%d orders stored (%d acknowledged; the rest were cut off by the kill before their answer)", len(stored), total)

	// 2. Customs port calls against the declarations' attempts.
	calls := readCallLogs(t, logs)
	attempts := countsByID(t, db, `SELECT id, attempts FROM declarations`)
	byDecl := map[int64][]portCall{}
	cut := 0
	for _, c := range pairCalls(t, calls) {
		if c.end == 0 {
			if c.pid != killedPID {
				t.Errorf("a call by the survivor never ended: %+v", c)
				continue
			}
			c.end = killAt // it ended with its process
			cut++
		}
		byDecl[c.decl] = append(byDecl[c.decl], c)
	}
	// How often each declaration's declare job was claimed: a job claimed
	// again was retried (its outcome's write failed, or its lease ran out).
	claims := countsByID(t, db, `SELECT ref_id, MAX(attempts) FROM jobs WHERE kind = 'declare' GROUP BY ref_id`)
	resent, retried, declareCalls := 0, 0, 0
	for id, n := range attempts {
		cs := byDecl[id]
		slices.SortFunc(cs, func(a, b portCall) int { return int(a.start - b.start) })
		for i := 1; i < len(cs); i++ {
			if cs[i].start < cs[i-1].end {
				t.Errorf("declaration %d: %s call (pid %d) overlapped the %s call (pid %d) before it", id, cs[i].op, cs[i].pid, cs[i-1].op, cs[i-1].pid)
			}
		}
		sent := map[int][]portCall{}
		for _, c := range cs {
			if c.op == "declare" {
				sent[c.attempt] = append(sent[c.attempt], c)
				declareCalls++
			}
		}
		for k := 1; k <= n; k++ {
			switch got := sent[k]; {
			case len(got) == 1:
			case len(got) == 2 && got[0].pid == killedPID && got[1].pid != killedPID && got[1].start > killAt:
				resent++ // sent by the killed instance, unrecorded, sent again after the lease
			case len(got) == 2 && got[0].pid == got[1].pid && claims[id] > 1:
				// The instance that sent it failed to record the outcome (a
				// write past the handler's deadline on a loaded machine)
				// and, retrying the job, sent the same attempt again.
				retried++
			default:
				t.Errorf("declaration %d attempt %d was sent %d times: %+v", id, k, len(got), got)
			}
		}
		for k := range sent {
			if k < 1 || k > n {
				t.Errorf("declaration %d: attempt %d was sent but the declaration records %d attempts", id, k, n)
			}
		}
	}
	t.Logf("%d declarations, %d declare calls; %d attempts re-sent by the survivor after the kill (the killed instance had sent them unrecorded), %d by an instance retrying its own job; %d calls cut short by the kill",
		len(attempts), declareCalls, resent, retried, cut)

	// 3. Every notification delivered at least once.
	var events, notDelivered int
	rows, err = db.Query(context.Background(), `SELECT public_id, status FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			t.Fatal(err)
		}
		if status == "skipped" {
			continue
		}
		events++
		if deliveries[id] == 0 || status != "delivered" {
			notDelivered++
			t.Errorf("event %s: %d deliveries, status %s", id, deliveries[id], status)
		}
	}
	dups, received := 0, 0
	for _, n := range deliveries {
		received += n
		dups += n - 1
	}
	mu.Unlock()
	rows.Close()
	t.Logf("%d notifications, %d deliveries received, %d duplicates (a delivery repeated after the kill)", events, received, dups)

	// 4. Jobs: all done, some of them taken over from the killed instance.
	var rescued int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM jobs WHERE attempts > 1`).Scan(&rescued); err != nil {
		t.Fatal(err)
	}
	counts := pgJobCounts(t, bin, env, url)
	for _, state := range []string{"queued", "running", "dead"} {
		if counts[state] != 0 {
			t.Errorf("%d jobs %s after the pipeline finished: %v", counts[state], state, counts)
		}
	}
	t.Logf("%d jobs done, %d of them claimed more than once (taken over after the lease, or retried)", counts["done"], rescued)

	// The migration both instances raced through ran once.
	out, err = cliOutput(bin, env, "migrate", "--db", url)
	if err != nil || !strings.HasPrefix(string(out), "applied 0 migration(s)") {
		t.Errorf("baoguan migrate after the run: %q, %v; want nothing left to apply", out, err)
	}
}

// cliOutput runs a baoguan command with env added and returns its stdout.
func cliOutput(bin string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return out, nil
}

// pgJobCounts is `baoguan jobs --json` summed over kinds.
func pgJobCounts(t *testing.T, bin string, env []string, url string) map[string]int {
	t.Helper()
	out, err := cliOutput(bin, env, "jobs", "--db", url, "--json")
	if err != nil {
		t.Fatalf("baoguan jobs: %v", err)
	}
	var byState map[string]map[string]int
	if err := json.Unmarshal(out, &byState); err != nil {
		t.Fatalf("baoguan jobs printed %q: %v", out, err)
	}
	counts := map[string]int{}
	for state, kinds := range byState {
		for _, n := range kinds {
			counts[state] += n
		}
	}
	return counts
}

// portCall is one customs port call, from its start and end records.
type portCall struct {
	pid        int
	op         string
	decl       int64
	attempt    int
	start, end int64 // unix microseconds; end 0 when the process died first
}

func readCallLogs(t *testing.T, paths []string) []CallRecord {
	t.Helper()
	var out []CallRecord
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r CallRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				// A process killed mid-write may leave a last partial line.
				t.Logf("%s: skipping unreadable line %q", filepath.Base(p), sc.Text())
				continue
			}
			out = append(out, r)
		}
		f.Close()
	}
	return out
}

// pairCalls matches each start record with the end record of the same
// process, declaration, operation and attempt that follows it.
func pairCalls(t *testing.T, recs []CallRecord) []portCall {
	t.Helper()
	type key struct {
		pid     int
		op      string
		decl    int64
		attempt int
	}
	open := map[key][]int{} // indexes into out of calls not yet ended
	var out []portCall
	for _, r := range recs {
		k := key{r.PID, r.Op, r.Declaration, r.Attempt}
		switch r.Phase {
		case "start":
			open[k] = append(open[k], len(out))
			out = append(out, portCall{pid: r.PID, op: r.Op, decl: r.Declaration, attempt: r.Attempt, start: r.At})
		case "end":
			if len(open[k]) == 0 {
				t.Errorf("call log: an end without a start: %+v", r)
				continue
			}
			out[open[k][0]].end = r.At
			open[k] = open[k][1:]
		}
	}
	return out
}

// countsByID runs a query of (id, count) rows and returns them as a map.
func countsByID(t *testing.T, db *pgx.Conn, q string) map[int64]int {
	t.Helper()
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
