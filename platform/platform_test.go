package platform_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"path/filepath"
	"sync"
	"testing"

	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/platform"
	"github.com/baoguan/baoguan/sqlite"
)

func TestLoadGeneratesOnceAndKeeps(t *testing.T) {
	ctx := context.Background()
	keys, _ := keyring.New(make([]byte, 32))
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := sqlite.Open(ctx, sqlite.Options{Path: path, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent first calls agree on one key.
	var wg sync.WaitGroup
	got := make([]*platform.Key, 4)
	for i := range got {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k, err := platform.Load(ctx, db, "wechatv3")
			if err != nil {
				t.Error(err)
			}
			got[i] = k
		}(i)
	}
	wg.Wait()
	for _, k := range got[1:] {
		if k == nil || k.Serial != got[0].Serial {
			t.Fatal("concurrent loads returned different keys")
		}
	}
	db.Close()
	// After a restart the same key comes back, and it signs verifiably.
	db, err = sqlite.Open(ctx, sqlite.Options{Path: path, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k, err := platform.Load(ctx, db, "wechatv3")
	if err != nil || k.Serial != got[0].Serial {
		t.Fatalf("after restart: %v serial %s vs %s", err, k.Serial, got[0].Serial)
	}
	h := sha256.Sum256([]byte("hello"))
	sig, err := rsa.SignPKCS1v15(nil, k.Private, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(k.Cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
		t.Fatal("certificate does not match the key")
	}
	other, err := platform.Load(ctx, db, "accp")
	if err != nil || other.Serial == k.Serial {
		t.Fatalf("protocols must get their own keys: %v", err)
	}
}
