package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sqlite"
)

var apiKeyRE = regexp.MustCompile(`api_key:\s+(bg_test_\S+)`)

func TestFirstStartCreatesDemoMerchantOnce(t *testing.T) {
	t.Parallel()
	db, path := dbIn(t)
	env := envOf()

	s := startServer(t, env, "--db", db)
	out := s.Stdout.String()
	for _, want := range []string{"merchant_no:", "demo", "webhook_secret:  whsec_", "app_id:", "app_key:", "sign_token:",
		"merchant key --merchant", "--protocol pushorder --access-token"} {
		if !strings.Contains(out, want) {
			t.Errorf("first start output lacks %q:\n%s", want, out)
		}
	}
	m := apiKeyRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("first start printed no API key:\n%s", out)
	}
	// The printed key is the demo merchant's: the quickstart's curl works.
	if resp, body := get(t, s.URL+"/v1/orders", "Authorization", "Bearer "+m[1]); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/orders with the demo key: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(s.Stderr.String(), m[1]) {
		t.Errorf("the API key was logged")
	}
	if _, err := os.Stat(path + ".key"); err != nil {
		t.Errorf("no key file beside the database: %v", err)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stopping: %v", err)
	}

	s2 := startServer(t, env, "--db", db)
	if out := s2.Stdout.String(); strings.Contains(out, "api_key") {
		t.Errorf("second start printed credentials again:\n%s", out)
	}
	if err := s2.stop(); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "merchant", "list", "--db", db, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["merchant_no"] != "demo" || list[0]["name"] != "demo" || list[0]["mode"] != "sandbox" {
		t.Errorf("merchants after two starts: %v; want the one demo merchant", list)
	}
}

func TestDataKeyFromEnvironmentWritesNoKeyFile(t *testing.T) {
	t.Parallel()
	db, path := dbIn(t)
	key := base64.StdEncoding.EncodeToString(make([]byte, keyring.KeySize))
	mustRun(t, envOf(keyring.EnvVar, key), "merchant", "create", "--db", db, "--name", "shop")
	if _, err := os.Stat(path + ".key"); err == nil {
		t.Errorf("a key file was created although %s is set", keyring.EnvVar)
	}
	// Without the key, no new key file is made up for the existing data.
	_, err := runCmd(t, envOf(), "merchant", "list", "--db", db)
	if err == nil || !strings.Contains(err.Error(), "exists but its key file") {
		t.Errorf("merchant list without the key: %v; want a refusal naming the missing key file", err)
	}
	if _, err := os.Stat(path + ".key"); err == nil {
		t.Errorf("a key file was created for a database encrypted under %s", keyring.EnvVar)
	}
	if out := mustRun(t, envOf(keyring.EnvVar, key), "merchant", "list", "--db", db); !strings.Contains(out, "shop") {
		t.Errorf("merchant list with the key: %s", out)
	}
}

func TestMerchantCreateJSON(t *testing.T) {
	t.Parallel()
	db, _ := dbIn(t)
	env := envOf()
	out := mustRun(t, env, "merchant", "create", "--db", db, "--name", "Shop One", "--no", "M001",
		"--notify-url", "https://shop.example/hooks", "--json")
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Errorf("output holds more than one JSON value:\n%s", out)
	}
	for _, f := range []string{"merchant_no", "name", "mode", "status", "notify_url", "api_key", "webhook_secret", "app_id", "app_key", "sign_token"} {
		if v, _ := got[f].(string); v == "" {
			t.Errorf("field %s missing or empty in %s", f, out)
		}
	}
	if got["merchant_no"] != "M001" || got["name"] != "Shop One" || got["mode"] != "sandbox" {
		t.Errorf("merchant %v", got)
	}
	if !strings.HasPrefix(got["api_key"].(string), "bg_test_") || !strings.HasPrefix(got["webhook_secret"].(string), "whsec_") {
		t.Errorf("credentials %v", got)
	}

	_, err := runCmd(t, env, "merchant", "create", "--db", db, "--name", "Shop One")
	if err == nil || !strings.Contains(err.Error(), "--name:") {
		t.Errorf("second merchant with the same name: %v; want an error naming --name", err)
	}

	s := startServer(t, env, "--db", db)
	if strings.Contains(s.Stdout.String(), "api_key") {
		t.Errorf("a demo merchant was created although the database had one")
	}
	if resp, body := get(t, s.URL+"/v1/orders", "Authorization", "Bearer "+got["api_key"].(string)); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/orders with the new key: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, s.URL+"/v1/orders", "Authorization", "Bearer bg_test_wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/orders with a wrong key: %d; want 401", resp.StatusCode)
	}
}

func TestMerchantSetAndList(t *testing.T) {
	t.Parallel()
	db, _ := dbIn(t)
	env := envOf()
	mustRun(t, env, "merchant", "create", "--db", db, "--name", "shop", "--no", "S1")
	mustRun(t, env, "merchant", "set", "--db", db, "--merchant", "S1", "--status", "arrears", "--funding", "12.34",
		"--notify-url", "https://shop.example/n")
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "merchant", "list", "--db", db, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["status"] != "arrears" || list[0]["funding_balance"] != "12.34" || list[0]["notify_url"] != "https://shop.example/n" {
		t.Errorf("after set: %v", list)
	}
	for _, k := range []string{"api_key", "webhook_secret", "app_key", "sign_token"} {
		if _, ok := list[0][k]; ok {
			t.Errorf("merchant list shows the secret %s", k)
		}
	}
	if out := mustRun(t, env, "merchant", "list", "--db", db); !strings.Contains(out, "S1") || !strings.Contains(out, "arrears") {
		t.Errorf("merchant list:\n%s", out)
	}

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--merchant", "S1", "--status", "closed"}, `--status: invalid status "closed"`},
		{[]string{"--merchant", "S1", "--funding", "ten"}, `--funding: invalid amount "ten"`},
		{[]string{"--merchant", "NOPE", "--status", "active"}, `--merchant: no merchant "NOPE"`},
		{[]string{"--merchant", "S1"}, "nothing to change"},
		{[]string{"--status", "active"}, "--merchant is required"},
	}
	for _, tt := range tests {
		_, err := runCmd(t, env, append([]string{"merchant", "set", "--db", db}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("merchant set %v: %v; want %q", tt.args, err, tt.want)
		}
	}
	_, err := runCmd(t, env, "merchant", "list", "--db", "sqlite:"+t.TempDir()+"/typo.db")
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("merchant list on a missing database: %v; want an error, not a new database", err)
	}
}

func TestOpsEndpoints(t *testing.T) {
	t.Parallel()
	db, _ := dbIn(t)
	s := startServer(t, envOf(), "--db", db)

	resp, body := get(t, s.URL+"/healthz", "X-Request-Id", "req-abc.123")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Errorf("/healthz: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "req-abc.123" {
		t.Errorf("X-Request-Id echoed as %q; want the caller's", got)
	}
	resp, body = get(t, s.URL+"/readyz", "X-Request-Id", "bad id <script>")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("/readyz: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(got) {
		t.Errorf("insane X-Request-Id replaced by %q; want a generated id", got)
	}
	for _, p := range []string{"/nowhere", "/elsewhere"} {
		if resp, _ := get(t, s.URL+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	// One route, another status: counted apart.
	req, _ := http.NewRequest(http.MethodDelete, s.URL+"/healthz", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /healthz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	resp, body = get(t, s.URL+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`baoguan_http_requests_total{route="GET /healthz",status="200"}`,
		`baoguan_http_requests_total{route="unmatched",status="404"} 2`,
		`baoguan_http_requests_total{route="unmatched",status="405"} 1`,
		`baoguan_http_request_duration_seconds_bucket{route="GET /readyz",status="200"`,
		"baoguan_orders_created_total 0",
		"go_goroutines",
		"process_start_time_seconds",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Every request is logged once, as JSON, with its id and route.
	var found int
	for _, line := range strings.Split(s.Stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["msg"] == "request" && rec["request_id"] == "req-abc.123" {
			found++
			if rec["route"] != "GET /healthz" || rec["method"] != "GET" || rec["status"] != 200.0 || rec["duration_ms"] == nil {
				t.Errorf("request log line %v", rec)
			}
		}
	}
	if found != 1 {
		t.Errorf("request req-abc.123 logged %d times; want once\n%s", found, s.Stderr)
	}
}

func TestReadyzFailsWhenStoreIsClosed(t *testing.T) {
	t.Parallel()
	_, path := dbIn(t)
	keys, err := keyring.Load(path+".key", "")
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), sqlite.Options{Path: path, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	h := handleReadyz(store, newLogger(&syncBuffer{}, nil))
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, mustRequest(t, "/readyz"))
	if rec.status != http.StatusOK {
		t.Fatalf("open store: %d", rec.status)
	}
	store.Close()
	rec = &recorder{header: http.Header{}}
	h.ServeHTTP(rec, mustRequest(t, "/readyz"))
	if rec.status != http.StatusServiceUnavailable {
		t.Errorf("closed store: %d; want 503", rec.status)
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(s int)           { r.status = s }

func mustRequest(t *testing.T, path string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, "http://x"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestJobsShowsCountsAndDeadJobs(t *testing.T) {
	t.Parallel()
	db, path := dbIn(t)
	env := envOf()
	if out := mustRun(t, env, "migrate", "--db", db); !strings.Contains(out, "applied") {
		t.Fatalf("migrate: %s", out)
	}
	if out := mustRun(t, env, "jobs", "--db", db, "--dead"); !strings.Contains(out, "No dead jobs.") {
		t.Errorf("jobs --dead on a new database:\n%s", out)
	}

	// Kill one pay job the way the runner does when retries run out.
	keys, err := keyring.Load(path+".key", "")
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), sqlite.Options{Path: path, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = store.Update(ctx, func(tx baoguan.Tx) error {
		for _, key := range []string{"a", "b"} {
			if _, err := tx.Enqueue(&baoguan.Job{Kind: baoguan.JobPay, DedupeKey: key, RefID: 7, State: baoguan.JobQueued, RunAt: tx.Now(), MaxAttempts: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = store.Update(ctx, func(tx baoguan.Tx) error {
			jobs, err := tx.Claim(nil, 1, 60e9)
			if err != nil || len(jobs) != 1 {
				return err
			}
			j := jobs[0]
			j.State, j.LastError = baoguan.JobDead, "channel said: card\nrefused"
			return tx.FinishJob(&j)
		})
	}
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	var counts map[string]map[string]int
	if err := json.Unmarshal([]byte(mustRun(t, env, "jobs", "--db", db, "--json")), &counts); err != nil {
		t.Fatal(err)
	}
	if counts["dead"]["pay"] != 1 || counts["queued"]["pay"] != 1 || counts["running"] == nil || counts["done"] == nil {
		t.Errorf("jobs --json: %v", counts)
	}
	out := mustRun(t, env, "jobs", "--db", db)
	if !regexp.MustCompile(`pay\s+1\s+0\s+0\s+1`).MatchString(out) || !strings.Contains(out, "1 dead job(s)") {
		t.Errorf("jobs:\n%s", out)
	}
	out = mustRun(t, env, "jobs", "--db", db, "--dead")
	if !strings.Contains(out, "channel said: card refused") {
		t.Errorf("jobs --dead does not show the last error:\n%s", out)
	}
	var dead []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "jobs", "--db", db, "--dead", "--json")), &dead); err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0]["kind"] != "pay" || dead[0]["last_error"] != "channel said: card\nrefused" {
		t.Errorf("jobs --dead --json: %v", dead)
	}
}

func TestMigrateCountsMigrations(t *testing.T) {
	t.Parallel()
	db, _ := dbIn(t)
	re := regexp.MustCompile(`applied (\d+) migration`)
	first := re.FindStringSubmatch(mustRun(t, envOf(), "migrate", "--db", db))
	second := re.FindStringSubmatch(mustRun(t, envOf(), "migrate", "--db", db))
	if first == nil || first[1] == "0" || second == nil || second[1] != "0" {
		t.Errorf("migrate twice: %v then %v; want some, then 0", first, second)
	}
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	if out := mustRun(t, envOf(), "version"); !strings.HasPrefix(out, "baoguan dev (go") || !strings.Contains(out, "\nLicensed under the Apache License, Version 2.0") {
		t.Errorf("version: %q", out)
	}
	out := mustRun(t, envOf(), "--help")
	for _, c := range []string{"serve", "merchant", "jobs", "migrate", "version"} {
		if !regexp.MustCompile(`(?m)^\s+` + c + `\s`).MatchString(out) {
			t.Errorf("--help does not list %s:\n%s", c, out)
		}
	}
	out = mustRun(t, envOf(), "merchant", "--help")
	for _, c := range []string{"create", "list", "set"} {
		if !strings.Contains(out, c) {
			t.Errorf("merchant --help does not list %s", c)
		}
	}
}
