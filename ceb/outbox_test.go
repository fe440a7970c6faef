package ceb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var fileName = regexp.MustCompile(`^CEB_CEB411_DXPENT0000011951_EPORT_\d{17}\d{4}\.xml$`)

var errCrash = errors.New("simulated crash")

func openTestOutbox(t *testing.T, dir string, now func() time.Time) (*Outbox, Recovery) {
	t.Helper()
	o, rec, err := OpenOutbox(OutboxConfig{Dir: filepath.Join(dir, "out"), StateDir: filepath.Join(dir, "state"), SenderID: "DXPENT0000011951", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return o, rec
}

func testGUIDn(i int) string { return fmt.Sprintf("00000000-0000-8000-8000-%012d", i) }

// testBody is a stand-in message for guid i, large enough that writing it
// takes a while, ending with the closing tag so a partial copy shows.
func testBody(i int) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<ceb:CEB411Message guid=\"" + testGUIDn(i) + "\">" +
		strings.Repeat("<ceb:note>padding</ceb:note>", 8000) + "</ceb:CEB411Message>\n")
}

// outboxFiles lists Dir, checking that everything in it is a complete
// message under a final name; it returns guid → file names.
func outboxFiles(t *testing.T, dir string) map[string][]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, e := range entries {
		if !fileName.MatchString(e.Name()) {
			t.Errorf("outbox holds %s, which is not a message name", e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(string(b), `guid="`)
		guid, _, _ := strings.Cut(rest, `"`)
		n, _ := strconv.Atoi(guid[24:])
		if !bytes.Equal(b, testBody(n)) {
			t.Errorf("%s is not the complete message of %s (%d bytes)", e.Name(), guid, len(b))
		}
		out[guid] = append(out[guid], e.Name())
	}
	return out
}

func TestOutboxPut(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 3, 15, 7, 36, 2, 123e6, time.UTC) // 15:36:02.123 in China
	o, _ := openTestOutbox(t, dir, func() time.Time { return clock })
	h, err := o.Put(testGUIDn(1), testBody(1))
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "CEB_CEB411_DXPENT0000011951_EPORT_202603151536021230001.xml" || h.Replayed {
		t.Errorf("first put: %+v", h)
	}
	// The same guid again writes nothing and answers the same name, even
	// after the E-Port client took the file away.
	if err := os.Remove(filepath.Join(o.Dir(), h.Name)); err != nil {
		t.Fatal(err)
	}
	again, err := o.Put(testGUIDn(1), testBody(1))
	if err != nil || again.Name != h.Name || !again.Replayed {
		t.Errorf("second put: %+v %v", again, err)
	}
	if files := outboxFiles(t, o.Dir()); len(files) != 0 {
		t.Errorf("a replayed guid was written again: %v", files)
	}
	if name, ok, err := o.Sent(testGUIDn(1)); !ok || name != h.Name || err != nil {
		t.Errorf("Sent = %s %v %v", name, ok, err)
	}
	if _, err := o.Put("not-a-guid", testBody(1)); err == nil {
		t.Error("a malformed guid was accepted")
	}
}

// Names are unique within a millisecond (the serial counts up and carries
// into the next millisecond after 9999) and never reuse a name present in
// the folder.
func TestOutboxNames(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 3, 15, 7, 36, 2, 123e6, time.UTC)
	o, _ := openTestOutbox(t, dir, func() time.Time { return clock })
	// A file already there under the first name (left by another process).
	taken := "CEB_CEB411_DXPENT0000011951_EPORT_202603151536021230001.xml"
	if err := os.WriteFile(filepath.Join(o.Dir(), taken), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()
	o.lastMS, o.serial = 0, 0
	o.mu.Unlock()
	seen := map[string]bool{taken: true}
	for i := 0; i < 3; i++ {
		n, err := o.freeName()
		if err != nil {
			t.Fatal(err)
		}
		if seen[n] {
			t.Fatalf("name %s given twice", n)
		}
		seen[n] = true
	}
	if !seen["CEB_CEB411_DXPENT0000011951_EPORT_202603151536021230002.xml"] {
		t.Errorf("names: %v", seen)
	}
	o.mu.Lock()
	o.serial = 9999
	o.mu.Unlock()
	if n, _ := o.freeName(); n != "CEB_CEB411_DXPENT0000011951_EPORT_202603151536021240001.xml" {
		t.Errorf("after serial 9999: %s", n)
	}
}

// A crash after each step of Put, then a restart and a rerun of the same
// attempt, leaves exactly one complete file for the guid and no partial
// one at any moment.
func TestOutboxCrashSteps(t *testing.T) {
	for _, step := range []string{"staged", "marked", "renamed"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			o, _ := openTestOutbox(t, dir, nil)
			o.crash = func(s string) error {
				if s == step {
					return errCrash
				}
				return nil
			}
			if _, err := o.Put(testGUIDn(7), testBody(7)); !errors.Is(err, errCrash) {
				t.Fatalf("put: %v", err)
			}
			before := outboxFiles(t, o.Dir())
			o2, rec := openTestOutbox(t, dir, nil)
			after := outboxFiles(t, o2.Dir())
			switch step {
			case "staged": // never handed over: rolled back, nothing visible
				if len(before) != 0 || len(after) != 0 || len(rec.Discarded) != 1 {
					t.Errorf("before %v after %v recovery %+v", before, after, rec)
				}
			case "marked": // handed over but not renamed: rolled forward at start
				if len(before) != 0 || len(after[testGUIDn(7)]) != 1 || len(rec.RolledForward) != 1 {
					t.Errorf("before %v after %v recovery %+v", before, after, rec)
				}
			case "renamed":
				if len(before[testGUIDn(7)]) != 1 || len(after[testGUIDn(7)]) != 1 || len(rec.RolledForward)+len(rec.Discarded) != 0 {
					t.Errorf("before %v after %v recovery %+v", before, after, rec)
				}
			}
			h, err := o2.Put(testGUIDn(7), testBody(7))
			if err != nil {
				t.Fatal(err)
			}
			if files := outboxFiles(t, o2.Dir()); len(files[testGUIDn(7)]) != 1 || files[testGUIDn(7)][0] != h.Name {
				t.Errorf("after the rerun: %v, put %+v", files, h)
			}
			if h.Replayed != (step != "staged") {
				t.Errorf("rerun after %s: replayed = %v", step, h.Replayed)
			}
			if left, _ := os.ReadDir(filepath.Join(dir, "state", "staging")); len(left) != 0 {
				t.Errorf("staging keeps %d files", len(left))
			}
		})
	}
}

// Leftovers of an interrupted write (a partial staged file, a partial
// marker, junk) are cleaned at start and never reach the outbox.
func TestOutboxStartCleansLeftovers(t *testing.T) {
	dir := t.TempDir()
	o, _ := openTestOutbox(t, dir, nil)
	staging := filepath.Join(dir, "state", "staging")
	for name, data := range map[string]string{
		testGUIDn(3) + ".xml": "<ceb:CEB411Message guid=", // partial, no marker
		"junk.tmp":            "x",
	} {
		if err := os.WriteFile(filepath.Join(staging, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "state", "sent", testGUIDn(4)+".tmp"), []byte("CEB_CEB4"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, rec := openTestOutbox(t, dir, nil)
	if len(rec.Discarded) != 1 || rec.Discarded[0] != testGUIDn(3) || len(rec.RolledForward) != 0 {
		t.Errorf("recovery %+v", rec)
	}
	for _, d := range []string{staging, filepath.Join(dir, "state", "sent"), o.Dir()} {
		if left, _ := os.ReadDir(d); len(left) != 0 {
			t.Errorf("%s keeps %d files", d, len(left))
		}
	}
	// The guid whose marker was never completed was not handed over: a
	// rerun writes it.
	if h, err := o.Put(testGUIDn(4), testBody(4)); err != nil || h.Replayed {
		t.Errorf("put after a partial marker: %+v %v", h, err)
	}
}

// A reader polling the outbox while messages are written only ever sees
// complete files.
func TestOutboxNoPartialFileVisible(t *testing.T) {
	dir := t.TempDir()
	o, _ := openTestOutbox(t, dir, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seen, bad int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			entries, _ := os.ReadDir(o.Dir())
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(o.Dir(), e.Name()))
				if err != nil {
					continue // taken away meanwhile
				}
				seen++
				if !bytes.HasSuffix(b, []byte("</ceb:CEB411Message>\n")) || len(b) != len(testBody(0)) {
					bad++
				}
				os.Remove(filepath.Join(o.Dir(), e.Name())) // the E-Port client takes it
			}
		}
	}()
	for i := range 60 {
		if _, err := o.Put(testGUIDn(i), testBody(i)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if bad > 0 {
		t.Errorf("the reader saw %d partial files (of %d reads)", bad, seen)
	}
}

// Processes killed (SIGKILL) at random moments while writing, each
// restarted on the same folders and rerunning the same attempts, never
// leave a partial file, never lose a message and never write one twice.
func TestOutboxKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	const n = 150
	dir := t.TempDir()
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxWriterProcess$", "-test.v")
		cmd.Env = append(os.Environ(), "CEB_OUTBOX_WRITER="+dir, "CEB_OUTBOX_N="+strconv.Itoa(n))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-time.After(time.Duration(10+rnd.IntN(250)) * time.Millisecond):
			cmd.Process.Kill()
			<-done
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: writer failed: %v\n%s", round, err, out.String())
			}
		}
		// What the E-Port client would find now: only complete messages.
		t.Logf("round %d: %d messages", round, len(outboxFiles(t, filepath.Join(dir, "out"))))
	}
	// A last run to completion, as the job runner would eventually do.
	o, _ := openTestOutbox(t, dir, nil)
	for i := range n {
		if _, err := o.Put(testGUIDn(i), testBody(i)); err != nil {
			t.Fatal(err)
		}
	}
	files := outboxFiles(t, o.Dir())
	for i := range n {
		if names := files[testGUIDn(i)]; len(names) != 1 {
			t.Errorf("guid %d is in the outbox %d times: %v", i, len(names), names)
		}
	}
}

// TestOutboxWriterProcess is the child of TestOutboxKill: it opens the
// outbox (recovering) and puts every message, as a declare job rerunning
// its attempts would.
func TestOutboxWriterProcess(t *testing.T) {
	dir := os.Getenv("CEB_OUTBOX_WRITER")
	if dir == "" {
		t.Skip("run by TestOutboxKill")
	}
	n, _ := strconv.Atoi(os.Getenv("CEB_OUTBOX_N"))
	o, _ := openTestOutbox(t, dir, nil)
	for i := range n {
		if _, err := o.Put(testGUIDn(i), testBody(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOutboxPrune(t *testing.T) {
	dir := t.TempDir()
	o, _ := openTestOutbox(t, dir, nil)
	for i := range 3 {
		if _, err := o.Put(testGUIDn(i), testBody(i)); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-40 * 24 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "state", "sent", testGUIDn(0)), old, old); err != nil {
		t.Fatal(err)
	}
	n, err := o.Prune(time.Now().Add(-30 * 24 * time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if _, ok, _ := o.Sent(testGUIDn(0)); ok {
		t.Error("the old marker is still there")
	}
	if _, ok, _ := o.Sent(testGUIDn(1)); !ok {
		t.Error("a recent marker was pruned")
	}
}

func TestOutboxConfigErrors(t *testing.T) {
	if _, _, err := OpenOutbox(OutboxConfig{SenderID: "DXP1"}); err == nil || !strings.Contains(err.Error(), "outbox_dir") {
		t.Errorf("no dir: %v", err)
	}
	if _, _, err := OpenOutbox(OutboxConfig{Dir: t.TempDir(), SenderID: "DXP/1"}); err == nil || !strings.Contains(err.Error(), "sender_id") {
		t.Errorf("bad sender: %v", err)
	}
	// The default state folder sits beside the outbox.
	dir := filepath.Join(t.TempDir(), "send")
	if _, _, err := OpenOutbox(OutboxConfig{Dir: dir, SenderID: "DXP1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + ".baoguan/sent"); err != nil {
		t.Errorf("default state folder: %v", err)
	}
}

// otherFilesystem returns a folder on another filesystem than t.TempDir,
// or skips.
func otherFilesystem(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	if same, err := sameFilesystem(base, "/dev/shm"); err != nil || same {
		t.Skip("no second filesystem (/dev/shm) to test with")
	}
	d, err := os.MkdirTemp("/dev/shm", "ceb-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// A state folder on another filesystem could not be renamed from
// atomically: refused at start, naming the setting.
func TestOutboxRefusesStateOnOtherFilesystem(t *testing.T) {
	other := otherFilesystem(t)
	_, _, err := OpenOutbox(OutboxConfig{Dir: t.TempDir(), StateDir: other, SenderID: "DXP1"})
	if err == nil || !strings.Contains(err.Error(), "outbox_state_dir") {
		t.Errorf("state folder on another filesystem: %v", err)
	}
}

// Receipts archived to another filesystem are copied, then removed.
func TestInboxArchiveOnOtherFilesystem(t *testing.T) {
	other := otherFilesystem(t)
	dir := t.TempDir()
	in, err := OpenInbox(InboxConfig{Dir: dir, ArchiveDir: other, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`<CEB412Message xmlns="http://www.chinaport.gov.cn/ceb" guid="x" version="1.0"><PaymentReturn><guid>00000000-0000-8000-8000-000000000001</guid><returnStatus>120</returnStatus></PaymentReturn></CEB412Message>`)
	if err := os.WriteFile(filepath.Join(dir, "r.xml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := in.Scan(t.Context(), func(context.Context, ReceiptFile) error { return nil })
	if err != nil || len(rep.Archived) != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	day := time.Now().Add(time.Hour).In(ChinaTime).Format("20060102")
	if b, err := os.ReadFile(filepath.Join(other, day, "r.xml")); err != nil || !bytes.Equal(b, data) {
		t.Errorf("archived copy: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "r.xml")); err == nil {
		t.Error("the original is still in the inbox")
	}
}
