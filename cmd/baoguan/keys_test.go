package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// A rotated key file keeps opening what older keys sealed: the merchant's
// sealed secrets still work, and new data uses the new key.
func TestDataKeyRotate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rot.db")
	env := envOf()
	out := mustRun(t, env, "merchant", "create", "--db", "sqlite:"+db, "--name", "shop", "--no", "M1", "--json")
	var cred struct {
		SignToken string `json:"sign_token"`
	}
	if err := json.Unmarshal([]byte(out), &cred); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(db + ".key")
	if err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, env, "data-key", "rotate", "--db", "sqlite:"+db)
	if !strings.Contains(out, "new primary data key") {
		t.Fatalf("rotate printed %q", out)
	}
	after, _ := os.ReadFile(db + ".key")
	if len(strings.Fields(string(after))) != len(strings.Fields(string(before)))+2 {
		t.Fatalf("the key file should gain one key line:\nbefore %q\nafter %q", before, after)
	}
	// Data sealed before the rotation still opens: listing and changing the
	// merchant read its sealed settings and secrets.
	mustRun(t, env, "merchant", "key", "--db", "sqlite:"+db, "--merchant", "M1", "--protocol", "pushorder", "--access-token", "9f2c4e7a1b8d3f6e0a5c9b2d7e4f1a8c")
	if out := mustRun(t, env, "merchant", "list", "--db", "sqlite:"+db, "--json"); !strings.Contains(out, `"M1"`) {
		t.Fatalf("merchant list after rotation: %q", out)
	}
	// With BAOGUAN_DATA_KEY the file is not the ring: rotate refuses.
	if _, err := runCmd(t, envOf("BAOGUAN_DATA_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), "data-key", "rotate", "--db", "sqlite:"+db); err == nil {
		t.Fatal("rotate with BAOGUAN_DATA_KEY set succeeded")
	}
}

func TestMerchantKeyAndPlatformCert(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	env := envOf()
	mustRun(t, env, "merchant", "create", "--db", "sqlite:"+db, "--name", "shop", "--no", "M1", "--json")
	if _, err := runCmd(t, env, "merchant", "key", "--db", "sqlite:"+db, "--merchant", "M1", "--protocol", "nope", "--mchid", "1"); err == nil || !strings.Contains(err.Error(), "--protocol") {
		t.Fatalf("unknown protocol: %v", err)
	}
	// Weak access tokens are refused when configured, naming the flag and
	// how to make a good one (core's TestWeakSecretsRefused: nothing is
	// stored).
	for _, weak := range []string{"tok", "secret-token-2024", strings.Repeat("ab", 16), "abcdefghijklmnopqrstuvwxyz012345"} {
		_, err := runCmd(t, env, "merchant", "key", "--db", "sqlite:"+db, "--merchant", "M1", "--protocol", "pushorder", "--access-token", weak)
		if err == nil || !strings.Contains(err.Error(), "--access-token") || !strings.Contains(err.Error(), "too weak") || !strings.Contains(err.Error(), "openssl rand") {
			t.Errorf("weak access token %q: %v, want a refusal naming --access-token", weak, err)
		}
	}
	if _, err := runCmd(t, env, "merchant", "key", "--db", "sqlite:"+db, "--merchant", "M1", "--protocol", "accp", "--mchid", "1"); err == nil || !strings.Contains(err.Error(), "--mchid") {
		t.Fatalf("a wechatv3 flag given for accp: %v", err)
	}
	if _, err := runCmd(t, env, "merchant", "key", "--db", "sqlite:"+db, "--merchant", "M9", "--protocol", "wechatv3", "--mchid", "1"); err == nil || !strings.Contains(err.Error(), "M9") {
		t.Fatalf("unknown merchant: %v", err)
	}
	first := mustRun(t, env, "platform-cert", "--db", "sqlite:"+db, "--protocol", "wechatv3")
	second := mustRun(t, env, "platform-cert", "--db", "sqlite:"+db, "--protocol", "wechatv3")
	if !strings.HasPrefix(first, "-----BEGIN CERTIFICATE-----") || first != second {
		t.Fatalf("platform certificate must be a PEM that stays the same:\n%s\n%s", first, second)
	}
	if pub := mustRun(t, env, "platform-cert", "--db", "sqlite:"+db, "--protocol", "accp"); !strings.HasPrefix(pub, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("accp platform key: %q", pub)
	}
}

func TestMerchantCards(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	env := envOf()
	mustRun(t, env, "merchant", "create", "--db", "sqlite:"+db, "--name", "shop", "--no", "M1", "--json")
	out := mustRun(t, env, "merchant", "cards", "--db", "sqlite:"+db, "--merchant", "M1",
		"--card", "0308:张三:6225880137001234:signed:50000.00", "--card", "999:张三:6222000011112222:unsigned:0")
	if strings.Contains(out, "6225880137001234") || !strings.Contains(out, "1234") || !strings.Contains(out, "50000.00") {
		t.Fatalf("cards must print masked numbers and balances: %q", out)
	}
	// The committed data is in the file or, not yet checkpointed, in its WAL.
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(db + "-wal")
	if len(raw)+len(wal) < 4096 || strings.Contains(string(raw)+string(wal), "6225880137001234") {
		t.Fatal("card number stored in clear (or nothing stored)")
	}
	if _, err := runCmd(t, env, "merchant", "cards", "--db", "sqlite:"+db, "--merchant", "M1", "--card", "0308:张三:622588"); err == nil {
		t.Fatal("a malformed --card was accepted")
	}
	// Without --card the cards are listed, masked, and stay recorded.
	for range 2 {
		out := mustRun(t, env, "merchant", "cards", "--db", "sqlite:"+db, "--merchant", "M1")
		if strings.Contains(out, "6225880137001234") || !strings.Contains(out, "0308 张三 6225 **** **** 1234 signed 50000.00") ||
			!strings.Contains(out, "999 张三 6222 **** **** 2222 unsigned 0.00") {
			t.Fatalf("listing cards: %q", out)
		}
	}
	var listed struct {
		Recorded bool
		Cards    []struct {
			AcctNo string `json:"acct_no"`
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, env, "merchant", "cards", "--db", "sqlite:"+db, "--merchant", "M1", "--json")), &listed); err != nil ||
		!listed.Recorded || len(listed.Cards) != 2 || listed.Cards[0].AcctNo != "6225 **** **** 1234" {
		t.Fatalf("listing cards as JSON: %+v %v", listed, err)
	}
	if _, err := runCmd(t, env, "merchant", "cards", "--db", "sqlite:"+db, "--merchant", "M1", "--clear", "--card", "0308:张三:6225880137001234:signed:1"); err == nil {
		t.Fatal("--clear with --card was accepted")
	}
	// Clearing is explicit.
	if out := mustRun(t, env, "merchant", "cards", "--db", "sqlite:"+db, "--merchant", "M1", "--clear"); !strings.Contains(out, "no cards") {
		t.Fatalf("clearing cards: %q", out)
	}
	if out := mustRun(t, env, "merchant", "cards", "--db", "sqlite:"+db, "--merchant", "M1"); !strings.Contains(out, "no cards recorded") {
		t.Fatalf("listing after clearing: %q", out)
	}
}

// TestDataKeyRotateWhileServing runs a server and the CLI as two processes
// on one database: after `data-key rotate` and a CLI write sealed with the
// new key, the running server still answers for the merchant (it opens the
// new key's values at once) and, without a restart, seals new data with
// the new key.
func TestDataKeyRotateWhileServing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	bin := baoguanBinary(t)
	db := filepath.Join(t.TempDir(), "live.db")
	p := startServe(t, bin, db)
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--db", "sqlite:"+db)...)
		cmd.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("baoguan %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	var cred struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(cli("merchant", "create", "--name", "shop", "--no", "M1", "--json")), &cred); err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cred.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode
	}
	order := func(no string) int {
		return call("POST", "/v1/orders", `{"merchant_order_no":"`+no+`","amount":1999,"subject":"奶粉","channel":"mock",`+
			`"payer":{"name":"张三","id_type":"IDCARD","id_number":"110105199001011232","phone":"13800138000"}}`)
	}
	if got := order("R1"); got != http.StatusCreated {
		t.Fatalf("first order: %d", got)
	}
	oldID := sealedWith(t, db, "R1")
	newID := strings.Fields(strings.TrimPrefix(cli("data-key", "rotate"), "new primary data key "))[0]
	if newID == oldID {
		t.Fatalf("rotation kept key %s", oldID)
	}
	// A CLI write: the merchant's settings are sealed again, with the new key.
	cli("merchant", "key", "--merchant", "M1", "--protocol", "pushorder", "--access-token", "5d1e8b3a7c0f4e9d2b6a8c1f3e7d0b4a")
	if got := call("GET", "/v1/orders/R1", ""); got != http.StatusOK {
		t.Errorf("order R1 after the rotation: %d, want 200", got)
	}
	if got := order("R2"); got != http.StatusCreated {
		t.Errorf("order after the rotation: %d, want 201", got)
	}
	// Without a restart the server seals with the new key: orders created
	// from now on carry its id (within the server's key check interval).
	deadline := time.Now().Add(30 * time.Second)
	for i := 3; ; i++ {
		no := fmt.Sprintf("R%d", i)
		if got := order(no); got != http.StatusCreated {
			t.Fatalf("order %s: %d", no, got)
		}
		if id := sealedWith(t, db, no); id == newID {
			break
		} else if id != oldID {
			t.Fatalf("order %s sealed with key %s, neither the old %s nor the new %s", no, id, oldID, newID)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still seals with the old key %s; logs:\n%s", oldID, p.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for !strings.Contains(p.logs.String(), `"msg":"data keys reloaded","primary":"`+newID+`"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not log the reload:\n%s", p.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(p.base + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("readyz after the rotation: %v %v", resp, err)
	}
}

// sealedWith returns the id of the data key that sealed the payer ID
// number of merchant order no, read from the database file itself.
func sealedWith(t *testing.T, db, no string) string {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v string
	if err := raw.QueryRow(`SELECT payer_id_number FROM orders WHERE merchant_order_no = ?`, no).Scan(&v); err != nil {
		t.Fatalf("reading order %s: %v", no, err)
	}
	f := strings.Split(v, ".")
	if len(f) != 3 || f[0] != "k1" {
		t.Fatalf("order %s: payer ID number %q is not sealed", no, v)
	}
	return f[1]
}
