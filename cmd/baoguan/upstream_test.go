package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The operator's going-live commands: route pins, credentials read from a
// file with @file references and listed masked, customs registrations.
func TestMerchantUpstreamCommands(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "u.db")
	env := envOf()
	mustRun(t, env, "merchant", "create", "--db", db, "--name", "shop", "--no", "M1", "--json")

	// Going live.
	if out := mustRun(t, env, "merchant", "set", "--db", db, "--merchant", "M1", "--mode", "live"); !strings.Contains(out, "mode live") {
		t.Fatalf("merchant set --mode: %q", out)
	}
	if _, err := runCmd(t, env, "merchant", "set", "--db", db, "--merchant", "M1", "--mode", "production"); err == nil || !strings.Contains(err.Error(), "--mode") {
		t.Fatalf("bad mode: %v", err)
	}

	// Route pins.
	mustRun(t, env, "merchant", "route", "--db", db, "--merchant", "M1", "--customs", "HG014", "--port", "eport")
	var pins map[string]string
	if err := json.Unmarshal([]byte(mustRun(t, env, "merchant", "route", "--db", db, "--merchant", "M1", "--json")), &pins); err != nil || pins["HG014"] != "eport" {
		t.Fatalf("pins: %v %v", pins, err)
	}
	if _, err := runCmd(t, env, "merchant", "route", "--db", db, "--merchant", "M1", "--customs", "HG014", "--port", "moon"); err == nil || !strings.Contains(err.Error(), "--port") {
		t.Fatalf("unknown port: %v", err)
	}
	if _, err := runCmd(t, env, "merchant", "route", "--db", db, "--merchant", "M1", "--customs", "HG999", "--port", "eport"); err == nil || !strings.Contains(err.Error(), "--customs") {
		t.Fatalf("unknown customs code: %v", err)
	}
	mustRun(t, env, "merchant", "route", "--db", db, "--merchant", "M1", "--customs", "HG014", "--port", "auto")
	if out := mustRun(t, env, "merchant", "route", "--db", db, "--merchant", "M1"); !strings.Contains(out, "no route pins") {
		t.Fatalf("after auto: %q", out)
	}

	// Credentials: a JSON file whose key lives in its own file.
	secret := "THISISTHESECRETAPIKEY01234567890"
	if err := os.WriteFile(filepath.Join(dir, "key.txt"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "wx.json")
	if err := os.WriteFile(creds, []byte(`{"appid":"wxd678efh567hg6787","mchid":"1230000109","api_key":"@key.txt"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, env, "merchant", "credentials", "--db", db, "--merchant", "M1", "--kind", "wechatpay", "--file", creds)
	if strings.Contains(out, secret) || !strings.Contains(out, "1230000109") || !strings.Contains(out, "set, …7890") {
		t.Fatalf("credentials listing: %q", out)
	}
	out = mustRun(t, env, "merchant", "credentials", "--db", db, "--merchant", "M1", "--json")
	if strings.Contains(out, secret) || !strings.Contains(out, `"kind": "wechatpay"`) {
		t.Fatalf("credentials JSON: %q", out)
	}
	if _, err := runCmd(t, env, "merchant", "credentials", "--db", db, "--merchant", "M1", "--kind", "paypal", "--file", creds); err == nil || !strings.Contains(err.Error(), "--kind") {
		t.Fatalf("unknown kind: %v", err)
	}
	// Credentials the adapter cannot use are refused before they are stored.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"appid":"wx","mchid":"1","api_key":"short"}`), 0o600)
	if _, err := runCmd(t, env, "merchant", "credentials", "--db", db, "--merchant", "M1", "--kind", "wechatpay", "--file", bad); err == nil || !strings.Contains(err.Error(), "api_key must have 32") {
		t.Fatalf("unusable credentials: %v", err)
	}
	mustRun(t, env, "merchant", "credentials", "--db", db, "--merchant", "M1", "--kind", "wechatpay", "--delete")
	if out := mustRun(t, env, "merchant", "credentials", "--db", db, "--merchant", "M1"); !strings.Contains(out, "no upstream credentials") {
		t.Fatalf("after delete: %q", out)
	}

	// Customs registrations.
	mustRun(t, env, "merchant", "customs", "--db", db, "--merchant", "M1", "--customs", "SHANGHAI_ZS", "--no", "3101960A01", "--name", "上海某商贸有限公司")
	var regs map[string]struct{ No, Name string }
	if err := json.Unmarshal([]byte(mustRun(t, env, "merchant", "customs", "--db", db, "--merchant", "M1", "--json")), &regs); err != nil ||
		regs["SHANGHAI_ZS"].No != "3101960A01" {
		t.Fatalf("registrations: %v %v", regs, err)
	}
	if _, err := runCmd(t, env, "merchant", "customs", "--db", db, "--merchant", "M1", "--customs", "SHANGHAI_ZS", "--no", "X"); err == nil {
		t.Fatal("a registration without a name was accepted")
	}
}
