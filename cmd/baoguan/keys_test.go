package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	mustRun(t, env, "merchant", "key", "--db", "sqlite:"+db, "--merchant", "M1", "--protocol", "pushorder", "--access-token", "tok")
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
