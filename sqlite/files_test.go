//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
)

// TestFilesOwnerOnly opens databases under the most permissive umask and
// checks the database, -wal and -shm files are readable by their owner
// only; a database created earlier with wider permissions is narrowed, and
// one the operator made read-only stays read-only. Not parallel: the
// umask belongs to the process.
func TestFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	ctx := context.Background()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name   string
		before os.FileMode // 0: no file yet
	}{
		{"new", 0}, {"world-readable", 0o644}, {"group-writable", 0o664}, {"everyone", 0o777},
	} {
		path := filepath.Join(dir, c.name+".db")
		if c.before != 0 {
			if err := os.WriteFile(path, nil, c.before); err != nil {
				t.Fatal(err)
			}
			for _, suf := range []string{"-wal", "-shm"} {
				if err := os.WriteFile(path+suf, nil, c.before); err != nil {
					t.Fatal(err)
				}
			}
		}
		db, err := Open(ctx, Options{Path: path, Keys: keys})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// A write makes SQLite create (or use) -wal and -shm.
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			return tx.CreateMerchant(&baoguan.Merchant{No: "M-" + c.name, Name: c.name, Status: baoguan.MerchantActive, Mode: baoguan.ModeSandbox})
		}); err != nil {
			t.Fatal(err)
		}
		for _, suf := range []string{"", "-wal", "-shm"} {
			fi, err := os.Stat(path + suf)
			if err != nil {
				t.Fatalf("%s%s: %v", c.name, suf, err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s%s has mode %o, want 600", c.name, suf, perm)
			}
		}
		db.Close()
	}
	// Read-only stays read-only: narrowing never adds a permission.
	ro := filepath.Join(dir, "ro.db")
	if err := os.WriteFile(ro, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := ownerOnly(ro); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(ro); fi.Mode().Perm() != 0o400 {
		t.Errorf("read-only database became %o, want 400", fi.Mode().Perm())
	}
}

// TestLock: one holder at a time, the lock file is owner-only and names
// the holder, and releasing lets the next one in.
func TestLock(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "l.db")
	release, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + ".lock")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", fi, err)
	}
	// flock(2) locks belong to open file descriptions, so a second Lock
	// in this process conflicts exactly as another process would.
	_, err = Lock(path)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: %v, want ErrLocked", err)
	}
	if want := "pid " + strconv.Itoa(os.Getpid()); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "another --db") {
		t.Errorf("second Lock says %q; want the holder (%s) and what to do", err, want)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	release2, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	release2()
}
