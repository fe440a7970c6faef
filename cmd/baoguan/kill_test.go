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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles the real baoguan binary once per test run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func baoguanBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "baoguan-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "baoguan")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running baoguan serve.
type proc struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
}

func startServe(t *testing.T, bin, db string, extra ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + db,
		"--sandbox-delay", "100ms", "--allow-private-notify"}, extra...)...)
	cmd.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: logs}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				found <- strings.TrimSpace(u)
			}
		}
	}()
	select {
	case p.base = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start; logs:\n%s", logs)
	}
	return p
}

// TestKillMidLoad is the crash test: push orders into the real binary,
// SIGKILL it mid-load, restart it on the same database, and check that every
// order acknowledged with a 2xx exists exactly once and every job finishes.
func TestKillMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := baoguanBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "kill.db")

	var hooks sync.Map // merchant_order_no → declaration.succeeded count
	var hookTotal atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				No string `json:"merchant_order_no"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		hookTotal.Add(1)
		if ev.Type == "declaration.succeeded" {
			n, _ := hooks.LoadOrStore(ev.Data.No, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	out, err := exec.Command(bin, "merchant", "create", "--db", "sqlite:"+db, "--name", "shop",
		"--notify-url", recv.URL+"/hook", "--json").Output()
	if err != nil {
		t.Fatalf("merchant create: %v", err)
	}
	var cred struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(out, &cred); err != nil || cred.APIKey == "" {
		t.Fatalf("merchant create printed %q: %v", out, err)
	}

	p := startServe(t, bin, db)
	client := &http.Client{Timeout: 5 * time.Second}
	var acked sync.Map
	var next, ackedN atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				no := fmt.Sprintf("K%06d", next.Add(1))
				body := `{"merchant_order_no":"` + no + `","amount":1999,"subject":"奶粉",` +
					`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},"declarations":[{"customs":"HG014"}]}`
				req, _ := http.NewRequestWithContext(ctx, "POST", p.base+"/v1/orders", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+cred.APIKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					acked.Store(no, true)
					ackedN.Add(1)
				}
			}
		}()
	}
	// Kill once a good number of orders are in and jobs are running.
	for ackedN.Load() < 300 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	wg.Wait()
	total := ackedN.Load()
	t.Logf("%d orders acknowledged before SIGKILL", total)
	if total < 300 {
		t.Fatalf("only %d orders acknowledged", total)
	}

	p2 := startServe(t, bin, db)
	// Every acknowledged order exists exactly once.
	seen := storedOrders(t, client, p2.base, cred.APIKey)
	acked.Range(func(k, _ any) bool {
		if seen[k.(string)] != 1 {
			t.Errorf("acknowledged order %s is stored %d times", k, seen[k.(string)])
		}
		return true
	})
	for no, n := range seen {
		if n != 1 {
			t.Errorf("order %s listed %d times", no, n)
		}
	}

	// Every job finishes: every stored order is paid, declared and notified,
	// and no job is left queued, running or dead.
	deadline := time.Now().Add(90 * time.Second)
	for {
		missing := 0
		for no := range seen {
			if v, ok := hooks.Load(no); !ok || v.(*atomic.Int64).Load() == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d orders never got declaration.succeeded; server logs:\n%s", missing, len(seen), tail(p2.logs.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The hooks say every declaration ended, not that every job did: a job
	// whose handler found nothing left to do (a poll of a declaration that
	// already has its outcome) is finished in a transaction of its own.
	// Wait until no job is queued or running; dead is final, and asserted.
	var counts map[string]int
	for wait := time.Now().Add(60 * time.Second); ; {
		counts = jobCounts(t, bin, db)
		if counts["queued"] == 0 && counts["running"] == 0 || time.Now().After(wait) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, state := range []string{"queued", "running", "dead"} {
		if counts[state] != 0 {
			t.Errorf("%d jobs %s after the pipeline finished: %v", counts[state], state, counts)
		}
	}
	// Every notification is recorded delivered: none is left pending (a
	// delivery the killed server made but did not record is made again
	// at start-up, not after its lease), none failed.
	for _, status := range []string{"pending", "failed"} {
		var n int
		for wait := time.Now().Add(30 * time.Second); ; {
			req, _ := http.NewRequest("GET", p2.base+"/v1/events?limit=1000&status="+status, nil)
			req.Header.Set("Authorization", "Bearer "+cred.APIKey)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Data []json.RawMessage `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if n = len(page.Data); n == 0 || status == "failed" || time.Now().After(wait) {
				break
			}
			time.Sleep(100 * time.Millisecond) // the last outcomes are being recorded
		}
		if n != 0 {
			t.Errorf("%d events %s after the pipeline finished", n, status)
		}
	}
	dups := int64(0)
	hooks.Range(func(_, v any) bool { dups += v.(*atomic.Int64).Load() - 1; return true })
	t.Logf("%d orders stored, %d webhooks received, %d duplicate declaration.succeeded deliveries after the crash", len(seen), hookTotal.Load(), dups)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
