package main

import (
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
	"syscall"
	"testing"
	"time"

	"github.com/baoguan/baoguan/ceb/cebtest"
)

// eportArgs are the --eport-* settings of an installation whose E-Port
// folders are under dir.
func eportArgs(dir string, extra ...string) []string {
	return append([]string{"--eport-customs", "HG014", "--eport-pay-code", "1101110323", "--eport-pay-name", "荔枝支付有限公司",
		"--eport-ebp-code", "46016602EV", "--eport-ebp-name", "海南省荣誉进出口贸易有限公司",
		"--eport-cop-code", "1101110323", "--eport-cop-name", "荔枝支付有限公司", "--eport-dxp-id", "DXPENT0000011951",
		"--eport-outbox", filepath.Join(dir, "send"), "--eport-inbox", filepath.Join(dir, "receive")}, extra...)
}

// The 179 flow with the real binary: a stand-in customs server asks for an
// order's payment data at platDataOpen, is answered 10000 at once, and
// receives an upload whose signature verifies with the stand-in signing
// service's public key, carrying the payment's raw channel exchange.
func TestEPort179EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	bin := baoguanBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	signer, err := cebtest.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Close()
	customs := cebtest.NewCustoms(signer.Verify179)
	defer customs.Close()

	out, err := exec.Command(bin, "merchant", "create", "--db", "sqlite:"+db, "--name", "shop", "--json").Output()
	if err != nil {
		t.Fatalf("merchant create: %v", err)
	}
	var cred struct {
		No     string `json:"merchant_no"`
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(out, &cred); err != nil || cred.APIKey == "" {
		t.Fatalf("merchant create printed %q: %v", out, err)
	}
	p := startServe(t, bin, db, eportArgs(dir, "--eport-signer", "http", "--eport-signer-url", signer.URL(),
		"--eport-signer-token", signer.Token, "--eport-179-upload-url", customs.UploadURL())...)

	body := `{"merchant_order_no":"E179-1","amount":19050,"subject":"面膜","channel":"mock",` +
		`"items":[{"subject":"济州花梨精华面膜","link":"https://shop.example.com/item/999761"}],` +
		`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"}}`
	req, _ := http.NewRequest("POST", p.base+"/v1/orders", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cred.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create order: %v %v", resp, err)
	}
	resp.Body.Close()
	waitFor(t, p, "the order to be paid", func() bool {
		r, err := http.NewRequest("GET", p.base+"/v1/orders/E179-1", nil)
		if err != nil {
			return false
		}
		r.Header.Set("Authorization", "Bearer "+cred.APIKey)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var o struct {
			PayStatus string `json:"pay_status"`
		}
		json.NewDecoder(resp.Body).Decode(&o)
		return o.PayStatus == "PAY_SUCCEED"
	})

	// Customs asks at the shared address and at the merchant's own; an
	// unknown order number is answered 10000 too (and kept).
	for _, path := range []string{"/platDataOpen", "/platDataOpen/" + cred.No} {
		if _, code, err := customs.Ask(p.base+path, "E179-1"); err != nil || code != "10000" {
			t.Fatalf("platDataOpen %s answered %q: %v", path, code, err)
		}
	}
	if _, code, err := customs.Ask(p.base+"/platDataOpen", "NOT-AN-ORDER"); err != nil || code != "10000" {
		t.Fatalf("platDataOpen for an unknown order answered %q: %v", code, err)
	}
	waitFor(t, p, "two uploads", func() bool { return len(customs.Uploads()) >= 2 })
	for _, u := range customs.Uploads() {
		if !u.SignValid || u.Code != "10000" {
			t.Errorf("upload refused (%s %s): %s", u.Code, u.Message, u.Body)
		}
		h := u.Data.Head
		if !strings.Contains(h.InitalRequest, "E179-1") || h.InitalResponse == "" || h.TotalAmount != 19050 ||
			h.EBPCode != "46016602EV" || h.PayCode == "" || u.Data.Lists[0].GoodsInfo[0].ItemLink != "https://shop.example.com/item/999761" {
			t.Errorf("upload data: %+v", u.Data)
		}
	}
	// What the operator sees: two uploads, the unknown order kept and not
	// uploaded (waited for: customs' answer is recorded just after it).
	waitFor(t, p, "the requests' outcomes", func() bool {
		out, err := exec.Command(bin, "payment-data", "--db", "sqlite:"+db, "--json").Output()
		if err != nil {
			return false
		}
		var reqs []paymentDataJSON
		if json.Unmarshal(out, &reqs) != nil {
			return false
		}
		states := map[string]int{}
		for _, r := range reqs {
			states[r.OrderNo+" "+r.State+" "+r.Code]++
		}
		return len(reqs) == 3 && states["E179-1 uploaded 10000"] == 2 && states["NOT-AN-ORDER unknown_order "] == 1
	})
	if n := len(customs.Uploads()); n != 2 {
		t.Errorf("%d uploads, want 2 (none for the unknown order)", n)
	}
	// The call log holds the uploads and their signatures, under the order.
	out, err = exec.Command(bin, "calls", "--db", "sqlite:"+db, "--merchant", cred.No, "--order", "E179-1", "--json").Output()
	if err != nil {
		t.Fatalf("baoguan calls: %v", err)
	}
	var calls []struct{ Service, Operation, Outcome, Code string }
	if err := json.Unmarshal(out, &calls); err != nil {
		t.Fatalf("baoguan calls printed %q: %v", out, err)
	}
	seen := map[string]int{}
	for _, c := range calls {
		seen[c.Service+"/"+c.Operation+"/"+c.Outcome+"/"+c.Code]++
	}
	if seen["179/upload/ok/10000"] != 2 || seen["signer/sign/ok/OK"] != 2 {
		t.Errorf("calls of E179-1: %v", seen)
	}
}

// waitFor polls cond until it holds, failing with the server's logs after
// 30 seconds.
func waitFor(t *testing.T, p *proc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out; logs:\n%s", what, tail(p.logs.String(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eportShop is a live merchant of a real baoguan with E-Port configured,
// a stand-in E-Port client on its folders and a receiver for its
// notifications.
type eportShop struct {
	bin, db, dir string
	apiKey       string
	client       *cebtest.EPortClient
	events       *eventLog
}

// eventLog keeps the merchant's notifications: order → event types.
type eventLog struct {
	mu sync.Mutex
	by map[string][]string
}

func (l *eventLog) types(no string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.by[no]...)
}

func newEPortShop(t *testing.T, script func(orderNo string) []string) *eportShop {
	t.Helper()
	s := &eportShop{bin: baoguanBinary(t), dir: t.TempDir(), events: &eventLog{by: map[string][]string{}}}
	s.db = filepath.Join(s.dir, "b.db")
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				No string `json:"merchant_order_no"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		s.events.mu.Lock()
		s.events.by[ev.Data.No] = append(s.events.by[ev.Data.No], ev.Type)
		s.events.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	out, err := exec.Command(s.bin, "merchant", "create", "--db", "sqlite:"+s.db, "--name", "shop", "--mode", "live",
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
	s.apiKey = cred.APIKey
	for _, d := range []string{"send", "receive"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.client = &cebtest.EPortClient{Outbox: filepath.Join(s.dir, "send"), Inbox: filepath.Join(s.dir, "receive"), Script: script}
	s.client.Start()
	t.Cleanup(s.client.Stop)
	return s
}

func (s *eportShop) start(t *testing.T) *proc {
	// A short job lease: after the kill, the dead process's claims are
	// taken over in seconds.
	return startServe(t, s.bin, s.db, eportArgs(s.dir, "--eport-read-every", "200ms", "--eport-poll", "1s", "--job-lease", "4s")...)
}

// push creates a live order paid elsewhere, to be declared to HG014.
func (s *eportShop) push(client *http.Client, base, no string) (int, error) {
	body := `{"merchant_order_no":"` + no + `","amount":19050,"subject":"面膜","channel":"external","payment_no":"P` + no + `",` +
		`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},"declarations":[{"customs":"HG014"}]}`
	req, _ := http.NewRequest("POST", base+"/v1/orders", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

// declaration reads an order's (only) declaration through the native API.
func (s *eportShop) declaration(base, no string) (state, explanation string) {
	req, _ := http.NewRequest("GET", base+"/v1/orders/"+no, nil)
	req.Header.Set("Authorization", "Bearer "+s.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", ""
	}
	defer resp.Body.Close()
	var o struct {
		Declarations []struct {
			State       string `json:"state"`
			Explanation string `json:"explanation"`
		} `json:"declarations"`
	}
	if json.NewDecoder(resp.Body).Decode(&o) != nil || len(o.Declarations) != 1 {
		return "", ""
	}
	return o.Declarations[0].State, o.Declarations[0].Explanation
}

// receiptFiles counts the regular files left in the receive folder and
// those archived.
func (s *eportShop) receiptFiles(t *testing.T) (left, archived int) {
	t.Helper()
	recv := filepath.Join(s.dir, "receive")
	filepath.WalkDir(recv, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		switch {
		case filepath.Dir(path) == recv:
			left++
		case strings.HasPrefix(path, filepath.Join(recv, "archive")+string(os.PathSeparator)):
			archived++
		}
		return nil
	})
	return left, archived
}

// Declarations through the E-Port with the real binary: the stand-in
// E-Port client answers 2 → 120, 2 → 100 and -1, each with receipts
// duplicated and out of order; every declaration reaches its state, the
// merchant is notified, every receipt is archived, and every message was
// handed over once.
func TestEPortDeclarationsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	s := newEPortShop(t, func(no string) []string {
		switch {
		case strings.HasPrefix(no, "OK-"):
			return []string{"120", "2", "120", "3"} // final first, then late and repeated ones
		case strings.HasPrefix(no, "RET-"):
			return []string{"2", "100", "2", "100"}
		case strings.HasPrefix(no, "REJ-"):
			return []string{"-1", "-1"}
		}
		return nil
	})
	p := s.start(t)
	want := map[string]struct{ state, explanation, event string }{
		"OK-1":  {"SUCCESS", "海关入库成功", "declaration.succeeded"},
		"RET-1": {"FAIL", "支付人身份信息不符，海关退单", "declaration.failed"},
		"REJ-1": {"FAIL", "报文格式校验未通过：签名无效", "declaration.failed"},
	}
	for no := range want {
		if _, err := s.push(http.DefaultClient, p.base, no); err != nil {
			t.Fatalf("push %s: %v", no, err)
		}
	}
	for no, w := range want {
		waitFor(t, p, no+" to be "+w.state, func() bool {
			st, why := s.declaration(p.base, no)
			return st == w.state && why == w.explanation
		})
		waitFor(t, p, no+" notified", func() bool { return slices.Contains(s.events.types(no), w.event) })
	}
	receipts := 4 + 4 + 2
	waitFor(t, p, "every receipt archived", func() bool {
		left, archived := s.receiptFiles(t)
		return left == 0 && archived == receipts && s.client.Receipts() == receipts
	})
	taken, orders := s.client.Taken()
	if len(taken) != 3 || len(s.client.Partial()) != 0 {
		t.Errorf("the client took %v (partial %v)", taken, s.client.Partial())
	}
	for guid, files := range taken {
		if len(files) != 1 {
			t.Errorf("%s (%s) handed over %d times", guid, orders[guid], len(files))
		}
	}
	// Late and repeated receipts changed nothing, and nobody was told twice.
	for no, w := range want {
		if st, _ := s.declaration(p.base, no); st != w.state {
			t.Errorf("%s is %s after the late receipts", no, st)
		}
		if n := strings.Count(strings.Join(s.events.types(no), " "), w.event); n != 1 {
			t.Errorf("%s notified %s %d times", no, w.event, n)
		}
	}
	out, err := exec.Command(s.bin, "receipts", "--unmatched", "--db", "sqlite:"+s.db, "--json").Output()
	if err != nil || strings.TrimSpace(string(out)) != "[]" {
		t.Errorf("unmatched receipts: %s %v", out, err)
	}
}

// Killing baoguan (SIGKILL) while it writes the outbox: after a restart on
// the same database and folders, no partial file was ever visible, no
// acknowledged order's message is lost, none is handed over twice, and
// every declaration ends SUCCESS with its receipts archived.
func TestEPortKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary")
	}
	s := newEPortShop(t, func(string) []string { return []string{"2", "120"} })
	p := s.start(t)
	client := &http.Client{Timeout: 5 * time.Second}
	var acked sync.Map
	var next, ackedN, taken atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				no := fmt.Sprintf("K%05d", next.Add(1))
				if _, err := s.push(client, p.base, no); err == nil {
					acked.Store(no, true)
					ackedN.Add(1)
				}
			}
		}()
	}
	// Kill while messages are being handed over: orders are in and the
	// client has taken some files.
	for ctx.Err() == nil {
		t2, _ := s.client.Taken()
		taken.Store(int64(len(t2)))
		if ackedN.Load() >= 150 && taken.Load() >= 20 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	cancel()
	wg.Wait()
	total := ackedN.Load()
	t.Logf("%d orders acknowledged, %d messages taken by the E-Port client before SIGKILL", total, taken.Load())
	if total < 150 {
		t.Fatalf("only %d orders acknowledged", total)
	}

	p2 := s.start(t)
	var nos []string
	acked.Range(func(k, _ any) bool { nos = append(nos, k.(string)); return true })
	stuck := ""
	defer func() {
		if t.Failed() && stuck != "" {
			req, _ := http.NewRequest("GET", p2.base+"/v1/orders/"+stuck, nil)
			req.Header.Set("Authorization", "Bearer "+s.apiKey)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Logf("%s: %s", stuck, b)
			}
			out, _ := exec.Command(s.bin, "jobs", "--db", "sqlite:"+s.db, "--dead").CombinedOutput()
			t.Logf("dead jobs:\n%s", out)
			tk, ord := s.client.Taken()
			for g, f := range tk {
				if ord[g] == stuck {
					t.Logf("taken %s %v", g, f)
				}
			}
		}
	}()
	// Every stored order, not only the acknowledged ones: an order whose
	// answer the kill cut off is declared after the restart too, and until
	// it is its message may be in staging or not yet handed over, which
	// the checks below would catch mid-way.
	stored := storedOrders(t, client, p2.base, s.apiKey)
	all := slices.Clone(nos)
	for no := range stored {
		if _, ok := acked.Load(no); !ok {
			all = append(all, no)
		}
	}
	t.Logf("%d orders stored, %d of them not acknowledged (cut off by the kill)", len(stored), len(all)-len(nos))
	waitFor(t, p2, "every stored order declared", func() bool {
		for _, no := range all {
			if st, _ := s.declaration(p2.base, no); st != "SUCCESS" {
				stuck = no
				return false
			}
		}
		return true
	})
	waitFor(t, p2, "every receipt archived", func() bool {
		left, archived := s.receiptFiles(t)
		return left == 0 && archived == s.client.Receipts()
	})
	if partial := s.client.Partial(); len(partial) != 0 {
		t.Errorf("the E-Port client saw incomplete files: %v", partial)
	}
	taken2, orders := s.client.Taken()
	perOrder := map[string]int{}
	for guid, files := range taken2 {
		if len(files) != 1 {
			t.Errorf("message %s (%s) handed over %d times: %v", guid, orders[guid], len(files), files)
		}
		perOrder[orders[guid]]++
	}
	for _, no := range nos {
		if perOrder[no] != 1 {
			t.Errorf("order %s was declared in %d messages", no, perOrder[no])
		}
	}
	for no, n := range perOrder {
		if n != 1 {
			t.Errorf("order %s was declared in %d messages", no, n)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(s.dir, "send.baoguan", "staging")); len(left) != 0 {
		t.Errorf("staging keeps %d files after the restart", len(left))
	}
	t.Logf("%d messages handed over in all", len(taken2))
}
