package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The agent commands: create, attach (a move is explicit), register a key
// (a private key or garbage refused), list; platform-cert prints the
// wisecashier platform public key.
func TestAgentCommands(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "a.db")
	env := envOf()
	mustRun(t, env, "merchant", "create", "--db", db, "--name", "shop1", "--no", "M1")
	mustRun(t, env, "merchant", "create", "--db", db, "--name", "shop2", "--no", "M2")
	if out := mustRun(t, env, "agent", "create", "--db", db, "--no", "AG1", "--name", "Partners"); !strings.Contains(out, "baoguan agent key --agent AG1") {
		t.Errorf("create without a key must say how to register one: %q", out)
	}
	if _, err := runCmd(t, env, "agent", "create", "--db", db, "--no", "AG1"); err == nil || !strings.Contains(err.Error(), "--no") {
		t.Errorf("duplicate agent: %v", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := filepath.Join(dir, "pub.pem")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	priv := filepath.Join(dir, "priv.pem")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a key"), 0o600)
	mustRun(t, env, "agent", "create", "--db", db, "--no", "AG2", "--public-key", pub)
	for _, f := range []string{priv, junk} {
		if _, err := runCmd(t, env, "agent", "key", "--db", db, "--agent", "AG1", "--public-key", f); err == nil {
			t.Errorf("agent key accepted %s", filepath.Base(f))
		}
	}
	mustRun(t, env, "agent", "key", "--db", db, "--agent", "AG1", "--public-key", pub)
	mustRun(t, env, "agent", "attach", "--db", db, "--agent", "AG1", "--merchant", "M1", "--merchant", "M2")
	if _, err := runCmd(t, env, "agent", "attach", "--db", db, "--agent", "AG2", "--merchant", "M2"); err == nil || !strings.Contains(err.Error(), "--move") {
		t.Errorf("moving a merchant without --move: %v", err)
	}
	mustRun(t, env, "agent", "attach", "--db", db, "--agent", "AG2", "--merchant", "M2", "--move")
	var list []agentJSON
	if err := json.Unmarshal([]byte(mustRun(t, env, "agent", "list", "--db", db, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || !list[0].Key || strings.Join(list[0].Merchants, ",") != "M1" || strings.Join(list[1].Merchants, ",") != "M2" {
		t.Errorf("agent list: %+v", list)
	}
	mustRun(t, env, "agent", "detach", "--db", db, "--merchant", "M2")
	if out := mustRun(t, env, "agent", "list", "--db", db); !strings.Contains(out, "AG2") || !strings.Contains(out, "registered") {
		t.Errorf("agent list: %q", out)
	}
	// The key is sealed at rest: its PEM body is not in the database file.
	raw, _ := os.ReadFile(filepath.Join(dir, "a.db"))
	wal, _ := os.ReadFile(filepath.Join(dir, "a.db-wal"))
	body := strings.Split(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n")[1]
	if strings.Contains(string(raw)+string(wal), body) {
		t.Error("agent key stored in clear")
	}
	// A merchant's own wisecashier setting is its notification URL; keys
	// are the agent's.
	if out := mustRun(t, env, "merchant", "key", "--db", db, "--merchant", "M1", "--protocol", "wisecashier", "--notify-url", "https://shop.example/wc"); !strings.Contains(out, "wisecashier.notify-url") {
		t.Errorf("merchant key --protocol wisecashier: %q", out)
	}
	if _, err := runCmd(t, env, "merchant", "key", "--db", db, "--merchant", "M1", "--protocol", "wisecashier", "--public-key", pub); err == nil || !strings.Contains(err.Error(), "--public-key") {
		t.Errorf("a merchant public key for wisecashier: %v", err)
	}
	if out := mustRun(t, env, "platform-cert", "--db", db, "--protocol", "wisecashier"); !strings.HasPrefix(out, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("wisecashier platform key: %q", out)
	}
}

// rate set / list / delete: the operator's rate wins over the sandbox
// table, exact as written; a bad currency or rate is refused.
func TestRateCommands(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "r.db")
	env := envOf()
	mustRun(t, env, "migrate", "--db", db)
	if out := mustRun(t, env, "rate", "set", "--db", db, "USD", "6.8575"); !strings.Contains(out, "1 USD = 6.8575 CNY") {
		t.Errorf("rate set: %q", out)
	}
	for _, bad := range [][]string{{"XYZ", "1"}, {"USD", "-1"}, {"USD", "abc"}, {"CNY", "2"}} {
		if _, err := runCmd(t, env, "rate", "set", "--db", db, bad[0], bad[1]); err == nil {
			t.Errorf("rate set %v accepted", bad)
		}
	}
	var list []struct{ Currency, Rate, Source string }
	if err := json.Unmarshal([]byte(mustRun(t, env, "rate", "list", "--db", db, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range list {
		got[r.Currency] = r.Rate + " " + r.Source
	}
	if len(list) != 11 || got["USD"] != "6.8575 operator" || got["HKD"] != "0.8789 sandbox" || got["CNY"] != "1 sandbox" {
		t.Errorf("rate list: %v", got)
	}
	mustRun(t, env, "rate", "delete", "--db", db, "USD")
	if out := mustRun(t, env, "rate", "list", "--db", db); !strings.Contains(out, "USD       6.8575        sandbox") {
		t.Errorf("after delete: %q", out)
	}
}
