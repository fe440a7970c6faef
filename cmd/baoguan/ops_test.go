package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/sheet"
)

// runBoth runs a command and returns its stdout and stderr.
func runBoth(t *testing.T, getenv func(string) string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, args, getenv, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// TestOperatorCLI: the operator's commands against a running server's
// database, as an operator uses them: a batch imported from a file (bad
// rows reported, nothing stored; then stored and followed to the end),
// an order looked up by order or payment number, a notification
// redelivered to the merchant's receiver, orders exported and read back,
// console users, and a key reissued and revoked — each with --json.
func TestOperatorCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "ops.db")
	env := envOf()
	srv := startServer(t, env, "--db", db, "--allow-private-notify")

	rcv := &receiver{got: map[string]int{}}
	hook := httptest.NewServer(rcv)
	defer hook.Close()

	// The template reads back as one good order.
	tpl := filepath.Join(dir, "template.xlsx")
	mustRun(t, env, "batch", "template", "--out", tpl)
	if f, err := os.Open(tpl); err != nil {
		t.Fatal(err)
	} else {
		r, _ := sheet.NewReader(f, sheet.XLSX)
		up, err := sheet.ReadOrders(r, "console")
		r.Close()
		f.Close()
		if err != nil || len(up.Errors) != 0 || len(up.Orders) != 1 {
			t.Fatalf("template: %v %+v", err, up.Errors)
		}
	}

	// A file with bad rows: every one reported with its row and column,
	// non-zero exit, nothing stored.
	write := func(name string, rows [][]string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		format, _ := sheet.FormatOf(name)
		w, _ := sheet.NewWriter(f, format, "orders")
		w.WriteRow("merchant_order_no", "amount", "subject", "payer_name", "payer_id_number", "payer_phone", "customs", "notify_url")
		for _, r := range rows {
			w.WriteRow(r...)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return path
	}
	row := func(no, amount, id string) []string {
		return []string{no, amount, "奶粉", "张三", id, "13800138000", "HANGZHOU_ZS", hook.URL}
	}
	const id = "110105199001011232"
	bad := write("bad.csv", [][]string{row("C-1", "10.00", id), row("C-2", "10.001", id), row("C-3", "10.00", "12345"), row("C-1", "10.00", id)})
	out, errOut, err := runBoth(t, env, "batch", "import", bad, "--merchant", "demo", "--db", db)
	if err == nil || !strings.Contains(err.Error(), "3 problem(s)") || !strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("import with bad rows: %v", err)
	}
	for _, want := range []string{"ROW", "3    amount", "4    payer_id_number", "5    merchant_order_no"} {
		if !strings.Contains(out, want) {
			t.Errorf("import with bad rows does not print %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "read…") || !strings.Contains(errOut, "check: 0/4") {
		t.Errorf("no progress lines on stderr: %q", errOut)
	}
	out, _, _ = runBoth(t, env, "batch", "import", bad, "--merchant", "demo", "--db", db, "--json")
	var res importJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.OK || len(res.Errors) != 3 || res.Errors[0].Row != 3 ||
		res.Errors[0].Field != "amount" || res.BatchID != 0 {
		t.Fatalf("--json with bad rows: %v %s", err, out)
	}
	if out := mustRun(t, env, "orders", "export", "--merchant", "demo", "--out", "-", "--db", db); strings.Count(out, "\n") != 1 {
		t.Fatalf("a refused import stored orders:\n%s", out)
	}

	// A good workbook: stored, paid and declared by the server, followed
	// with --wait to the end.
	var rows [][]string
	for i := 1; i <= 20; i++ {
		rows = append(rows, row(fmt.Sprintf("C-%02d", i), "10.00", id))
	}
	rows = append(rows, row("C-21PAYFAIL", "10.00", id))
	good := write("good.xlsx", rows)
	out, errOut, err = runBoth(t, env, "batch", "import", good, "--merchant", "demo", "--db", db, "--wait", "--wait-timeout", "40s", "--json")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	res = importJSON{}
	if err := json.Unmarshal([]byte(out), &res); err != nil || !res.OK || res.Rows != 21 || res.BatchID == 0 || res.Paying != 21 || res.Finished != 21 {
		t.Fatalf("import --wait --json: %v %s", err, out)
	}
	if !strings.Contains(errOut, "store: 21/21 (100%)") || !regexp.MustCompile(`paid \d+, declared \d+: 21/21 \(100%\)`).MatchString(errOut) {
		t.Errorf("progress of the import and of the batch: %q", errOut)
	}

	// order show, by order number and by payment number, masked.
	var show orderShowJSON
	if err := json.Unmarshal([]byte(mustRun(t, env, "order", "show", "C-01", "--merchant", "demo", "--db", db, "--json")), &show); err != nil {
		t.Fatal(err)
	}
	if show.MerchantOrderNo != "C-01" || show.PayStatus != "PAY_SUCCEED" || show.DeclareStatus != "DECLARED" || show.PaymentNo == "" ||
		show.Payer["id_number"] != "110***********1232" || show.Payer["phone"] != "138****8000" || len(show.Declarations) != 1 ||
		show.Declarations[0].State != "SUCCESS" || len(show.Events) == 0 {
		t.Fatalf("order show --json: %+v", show)
	}
	text := mustRun(t, env, "order", "show", show.PaymentNo, "--merchant", "demo", "--db", db)
	if !strings.Contains(text, "C-01") || !strings.Contains(text, "HANGZHOU_ZS") || strings.Contains(text, id) {
		t.Errorf("order show by payment number:\n%s", text)
	}
	if _, err := runCmd(t, env, "order", "show", "NOPE", "--merchant", "demo", "--db", db); err == nil || !strings.Contains(err.Error(), `no order "NOPE"`) {
		t.Errorf("unknown order: %v", err)
	}
	if _, err := runCmd(t, env, "order", "show", "C-01", "--merchant", "nobody", "--db", db); err == nil || !strings.Contains(err.Error(), "--merchant") {
		t.Errorf("unknown merchant: %v", err)
	}
	var failed orderShowJSON
	json.Unmarshal([]byte(mustRun(t, env, "order", "show", "C-21PAYFAIL", "--merchant", "demo", "--db", db, "--json")), &failed)
	if failed.PayStatus != "PAY_FAILED" || failed.PayFailReason == "" {
		t.Errorf("a failed payment shows its reason: %+v", failed)
	}

	// events redeliver: the server sends it again to the receiver.
	ev := show.Events[0]
	deadline := time.Now().Add(20 * time.Second)
	for rcv.count(ev.PublicID) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	before := rcv.count(ev.PublicID)
	if before == 0 || !strings.HasPrefix(ev.PublicID, "evt_") {
		t.Fatalf("event %+v never delivered", ev)
	}
	var redelivered eventShowJSON
	if err := json.Unmarshal([]byte(mustRun(t, env, "events", "redeliver", fmt.Sprint(ev.ID), "--db", db, "--json")), &redelivered); err != nil ||
		redelivered.ID != ev.ID || redelivered.PublicID != ev.PublicID || redelivered.URL != hook.URL {
		t.Fatalf("redeliver --json: %+v %v", redelivered, err)
	}
	for rcv.count(ev.PublicID) == before && time.Now().Before(deadline.Add(10*time.Second)) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := rcv.count(ev.PublicID); got != before+1 {
		t.Errorf("event %s received %d times after redelivery, want %d", ev.PublicID, got, before+1)
	}
	for _, arg := range []string{"x", "0", "999999"} {
		if _, err := runCmd(t, env, "events", "redeliver", arg, "--db", db); err == nil {
			t.Errorf("redeliver %s succeeded", arg)
		}
	}

	// orders export, filtered, to .xlsx; read back.
	xlsx := filepath.Join(dir, "declared.xlsx")
	_, errOut, err = runBoth(t, env, "orders", "export", "--merchant", "demo", "--declare", "DECLARED", "--out", xlsx, "--db", db)
	if err != nil || !strings.Contains(errOut, "export: 20/20 (100%)") {
		t.Fatalf("export: %v %q", err, errOut)
	}
	data, _ := os.ReadFile(xlsx)
	got := readSheet(t, data)
	if len(got) != 21 || got[0][0] != "merchant_order_no" {
		t.Fatalf("export read back: %d rows", len(got))
	}
	for _, r := range got[1:] {
		if !strings.HasPrefix(r[0], "C-") || strings.HasSuffix(r[0], "PAYFAIL") || r[5] != "DECLARED" || r[9] != "110***********1232" {
			t.Errorf("export row %v", r)
		}
	}
	for _, args := range [][]string{{"--declare", "DONE"}, {"--pay", "PAID"}, {"--from", "May 1"}, {"--out", "x.pdf"}} {
		a := append([]string{"orders", "export", "--merchant", "demo", "--out", filepath.Join(dir, "x.csv"), "--db", db}, args...)
		if _, err := runCmd(t, env, a...); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("export %v: %v", args, err)
		}
	}

	// Console users.
	pw := envOf("BAOGUAN_PASSWORD", "a long passphrase")
	var u userJSON
	if err := json.Unmarshal([]byte(mustRun(t, pw, "user", "create", "--login", "clerk", "--merchant", "demo", "--db", db, "--json")), &u); err != nil ||
		u.Login != "clerk" || u.Role != "merchant" || u.MerchantID == 0 {
		t.Fatalf("user create --json: %+v %v", u, err)
	}
	mustRun(t, pw, "user", "create", "--login", "ops", "--operator", "--db", db)
	var us []userJSON
	if err := json.Unmarshal([]byte(mustRun(t, env, "user", "list", "--db", db, "--json")), &us); err != nil || len(us) != 2 {
		t.Fatalf("user list --json: %+v %v", us, err)
	}
	if _, err := runCmd(t, pw, "user", "create", "--login", "x", "--db", db); err == nil {
		t.Error("user create without --operator or --merchant succeeded")
	}
	if _, err := runCmd(t, envOf("BAOGUAN_PASSWORD", "short"), "user", "create", "--login", "y", "--operator", "--db", db); err == nil ||
		!strings.Contains(err.Error(), "BAOGUAN_PASSWORD") {
		t.Errorf("a short password: %v", err)
	}

	// Key reissue with a grace period, then revoke: the old key works
	// until revoked, the new one from the start.
	oldKey := regexp.MustCompile(`Bearer (bg_test_[A-Za-z0-9_-]+)`).FindStringSubmatch(srv.Stdout.String())
	if oldKey == nil {
		t.Fatalf("serve printed no demo key:\n%s", srv.Stdout)
	}
	var re struct {
		Key, Kind, OldValidUntil string
	}
	out = mustRun(t, env, "merchant", "reissue", "--merchant", "demo", "--kind", "api_key", "--grace", "1h", "--db", db, "--json")
	if err := json.Unmarshal([]byte(strings.ReplaceAll(out, "old_valid_until", "oldvaliduntil")), &re); err != nil || !strings.HasPrefix(re.Key, "bg_test_") || re.OldValidUntil == "" {
		t.Fatalf("reissue --json: %s", out)
	}
	status := func(key string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/orders/C-01", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := status(oldKey[1]), status(re.Key); a != 200 || b != 200 {
		t.Fatalf("in the grace period: old key %d, new key %d", a, b)
	}
	var rv map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "merchant", "revoke", "--merchant", "demo", "--kind", "api_key", "--db", db, "--json")), &rv); err != nil || rv["revoked"] != true {
		t.Fatalf("revoke --json: %v %v", rv, err)
	}
	for status(oldKey[1]) != 401 && time.Now().Before(deadline.Add(10*time.Second)) { // API keys are cached for a second
		time.Sleep(100 * time.Millisecond)
	}
	if a, b := status(oldKey[1]), status(re.Key); a != 401 || b != 200 {
		t.Errorf("after revoke: old key %d, new key %d", a, b)
	}
	if _, err := runCmd(t, env, "merchant", "reissue", "--merchant", "demo", "--kind", "password", "--db", db); err == nil || !strings.Contains(err.Error(), "--kind") {
		t.Errorf("reissue of an unknown kind: %v", err)
	}

	// version --json names the licence.
	var v map[string]string
	if err := json.Unmarshal([]byte(mustRun(t, env, "version", "--json")), &v); err != nil || !strings.HasPrefix(v["version"], "baoguan ") || v["license"] != "Apache-2.0" {
		t.Errorf("version --json: %v %v", v, err)
	}
}

// TestProgressBar: on a terminal the bar redraws one line; elsewhere a
// line per stage and per tenth of the way.
func TestProgressBar(t *testing.T) {
	var tty bytes.Buffer
	p := &progress{w: &tty, tty: true, lastTenth: -1}
	p.update("check", 0, 0)
	p.update("store", 500, 1000)
	p.done()
	if got := tty.String(); got != "\r\033[Kcheck    [                              ] \r\033[Kstore    [███████████████░░░░░░░░░░░░░░░]  50% 500/1000\n" {
		t.Errorf("terminal bar %q", got)
	}
	var log bytes.Buffer
	p = &progress{w: &log, lastTenth: -1}
	p.update("read", 0, 0)
	for i := 0; i <= 1000; i += 50 {
		p.update("export", i, 1000)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 12 || lines[0] != "read…" || lines[1] != "export: 0/1000 (0%)" || lines[11] != "export: 1000/1000 (100%)" {
		t.Errorf("plain progress:\n%s", log.String())
	}
}
