//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveUmask0 starts the real binary's serve on db under umask 000, the
// most permissive, and waits until it listens.
func serveUmask0(t *testing.T, bin, db string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command("sh", "-c", `umask 000 && exec "$0" "$@"`, bin, "serve", "--addr", "127.0.0.1:0", "--db", "sqlite:"+db, "--sandbox-delay", "0s")
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
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "listening on ") {
				found <- struct{}{}
			}
		}
	}()
	select {
	case <-found:
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start; logs:\n%s", logs)
	}
	return cmd, logs
}

// TestSecondServerRefused runs two real processes on one SQLite file: the
// second `baoguan serve` exits at once saying another server holds the
// database (and which), while CLI writes keep working beside the first;
// after the first is killed with SIGKILL, a new server starts. Every file
// the server keeps (database, -wal, -shm, key file, lock file) is
// readable by its owner only, though the server ran under umask 000.
func TestSecondServerRefused(t *testing.T) {
	bin := baoguanBinary(t)
	db := t.TempDir() + "/two.db"
	first, _ := serveUmask0(t, bin, db)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--db", "sqlite:"+db)
	second.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=")
	out, err := second.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the second server did not stop by itself:\n%s", out)
	}
	if err == nil {
		t.Fatalf("the second server exited 0:\n%s", out)
	}
	msg := string(out)
	for _, want := range []string{"--db", "in use by another baoguan serve", "pid " + strconv.Itoa(first.Process.Pid), "stop that server first"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the second server's message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "listening on") {
		t.Errorf("the second server listened:\n%s", msg)
	}

	// An operator's CLI writes are not servers: they go through.
	cli := exec.Command(bin, "merchant", "create", "--db", "sqlite:"+db, "--name", "beside the server", "--no", "CLI2", "--json")
	cli.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=")
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("merchant create beside a running server: %v\n%s", err, out)
	}
	cli = exec.Command(bin, "merchant", "set", "--db", "sqlite:"+db, "--merchant", "CLI2", "--status", "arrears")
	cli.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=")
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("merchant set beside a running server: %v\n%s", err, out)
	}

	for _, suffix := range []string{"", "-wal", "-shm", ".key", ".lock"} {
		fi, err := os.Stat(db + suffix)
		if err != nil {
			t.Errorf("%s: %v", db+suffix, err)
			continue
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %o under umask 000, want 600", db+suffix, perm)
		}
	}

	// A killed server leaves no lock behind.
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	serveUmask0(t, bin, db)
}
