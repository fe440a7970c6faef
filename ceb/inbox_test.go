package ceb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/ceb"
)

const otherGUID = "8ACCDF31-E27A-804D-B6C5-A5440572F5E1"

type inboxEnv struct {
	dir   string
	in    *ceb.Inbox
	now   time.Time
	files int
}

func newInbox(t *testing.T) *inboxEnv {
	t.Helper()
	e := &inboxEnv{dir: t.TempDir(), now: time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)} // 16:00 in China
	in, err := ceb.OpenInbox(ceb.InboxConfig{Dir: e.dir, Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	e.in = in
	return e
}

// drop writes a file into the inbox, modified at the given offset before
// the inbox's clock.
func (e *inboxEnv) drop(t *testing.T, name string, data []byte, age time.Duration) {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mt := e.now.Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestInboxScan(t *testing.T) {
	e := newInbox(t)
	official, err := os.ReadFile(filepath.Join("testdata", "ceb412_official.xml"))
	if err != nil {
		t.Fatal(err)
	}
	e.drop(t, "CEB_CEB412_EPORT_DXPENT0000011951_20260315153705017.xml", receipt412(entry(testGUID, "2", "申报中"), entry(otherGUID, "120", "入库")), 3*time.Minute)
	e.drop(t, "CEB_CEB412_EPORT_DXPENT0000011951_20260315153800000.xml", official, 2*time.Minute)
	e.drop(t, "broken.xml", []byte("<CEB412Message"), 2*time.Minute)
	e.drop(t, "order-receipt.xml", []byte(`<CEB312Message xmlns="http://www.chinaport.gov.cn/ceb" guid="x" version="1.0"/>`), 2*time.Minute)
	e.drop(t, ".hidden.xml", []byte("x"), time.Hour)
	e.drop(t, "being-copied.xml.tmp", []byte("x"), time.Hour)
	e.drop(t, "just-arrived.xml", receipt412(entry(testGUID, "3", "")), time.Second) // within Settle
	if err := os.Mkdir(filepath.Join(e.dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}

	var got []ceb.ReceiptFile
	rep, err := e.in.Scan(context.Background(), func(_ context.Context, f ceb.ReceiptFile) error {
		got = append(got, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Oldest first; every receipt of a file in one call.
	if len(got) != 2 || len(got[0].Returns) != 2 || got[0].Returns[1].GUID != otherGUID || len(got[1].Returns) != 10 {
		t.Fatalf("sink got %+v", got)
	}
	if got[0].File != "CEB_CEB412_EPORT_DXPENT0000011951_20260315153705017.xml" {
		t.Errorf("file name %q", got[0].File)
	}
	if len(rep.Archived) != 2 || rep.Waiting != 1 || len(rep.Rejected) != 2 {
		t.Errorf("report %+v", rep)
	}
	for _, name := range rep.Archived {
		if !exists(filepath.Join(e.dir, "archive", "20260315", name)) || exists(filepath.Join(e.dir, name)) {
			t.Errorf("%s was not moved to archive/20260315", name)
		}
	}
	for _, r := range rep.Rejected {
		reason, err := os.ReadFile(r.Path + ".reason.txt")
		if !exists(r.Path) || err != nil || !strings.Contains(string(reason), r.Reason) || r.Reason == "" {
			t.Errorf("rejected %+v: file there %v, reason %q %v", r, exists(r.Path), reason, err)
		}
		if filepath.Dir(r.Path) != filepath.Join(e.dir, "rejected") {
			t.Errorf("rejected to %s", r.Path)
		}
	}
	for _, name := range []string{".hidden.xml", "being-copied.xml.tmp", "just-arrived.xml"} {
		if !exists(filepath.Join(e.dir, name)) {
			t.Errorf("%s was taken", name)
		}
	}
	// Once settled, the late file is read too.
	e.now = e.now.Add(time.Minute)
	rep, err = e.in.Scan(context.Background(), func(context.Context, ceb.ReceiptFile) error { return nil })
	if err != nil || !slices.Equal(rep.Archived, []string{"just-arrived.xml"}) {
		t.Errorf("second scan %+v %v", rep, err)
	}
}

// A file stays in the inbox until the sink took its receipts; the receipts
// then come again on the next scan.
func TestInboxArchivesOnlyAfterSink(t *testing.T) {
	e := newInbox(t)
	e.drop(t, "a.xml", receipt412(entry(testGUID, "2", "")), 3*time.Minute)
	e.drop(t, "b.xml", receipt412(entry(testGUID, "120", "")), 2*time.Minute)
	e.drop(t, "c.xml", receipt412(entry(otherGUID, "120", "")), time.Minute)
	down := errors.New("store is down")
	var seen []string
	rep, err := e.in.Scan(context.Background(), func(_ context.Context, f ceb.ReceiptFile) error {
		seen = append(seen, f.File)
		if f.File == "b.xml" {
			return down
		}
		return nil
	})
	if !errors.Is(err, down) || !slices.Equal(rep.Archived, []string{"a.xml"}) {
		t.Fatalf("scan with a failing sink: %+v %v", rep, err)
	}
	if !exists(filepath.Join(e.dir, "b.xml")) || !exists(filepath.Join(e.dir, "c.xml")) {
		t.Error("a file whose receipts were not taken left the inbox")
	}
	rep, err = e.in.Scan(context.Background(), func(_ context.Context, f ceb.ReceiptFile) error {
		seen = append(seen, f.File)
		return nil
	})
	if err != nil || !slices.Equal(rep.Archived, []string{"b.xml", "c.xml"}) {
		t.Errorf("rescan %+v %v", rep, err)
	}
	if !slices.Equal(seen, []string{"a.xml", "b.xml", "b.xml", "c.xml"}) {
		t.Errorf("sink calls %v", seen)
	}
	// The E-Port client may deliver a second file under a name already
	// archived: both are kept.
	e.drop(t, "a.xml", receipt412(entry(testGUID, "2", "")), time.Minute)
	if _, err := e.in.Scan(context.Background(), func(context.Context, ceb.ReceiptFile) error { return nil }); err != nil {
		t.Fatal(err)
	}
	day := filepath.Join(e.dir, "archive", "20260315")
	if !exists(filepath.Join(day, "a.xml")) || !exists(filepath.Join(day, "a.2.xml")) {
		t.Error("a repeated file name overwrote the archived one")
	}
	// A cancelled context stops the scan before the next file.
	e.drop(t, "d.xml", receipt412(entry(testGUID, "3", "")), time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.in.Scan(ctx, func(context.Context, ceb.ReceiptFile) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled scan: %v", err)
	}
	if !exists(filepath.Join(e.dir, "d.xml")) {
		t.Error("a cancelled scan took a file")
	}
}

func TestInboxRejectsHugeFile(t *testing.T) {
	e := newInbox(t)
	e.drop(t, "huge.xml", append(receipt412(entry(testGUID, "120", "")), make([]byte, ceb.MaxReceiptSize)...), time.Minute)
	rep, err := e.in.Scan(context.Background(), func(context.Context, ceb.ReceiptFile) error {
		t.Error("a huge file reached the sink")
		return nil
	})
	if err != nil || len(rep.Rejected) != 1 || !strings.Contains(rep.Rejected[0].Reason, "larger") {
		t.Errorf("%+v %v", rep, err)
	}
}

func TestInboxConfig(t *testing.T) {
	if _, err := ceb.OpenInbox(ceb.InboxConfig{}); err == nil || !strings.Contains(err.Error(), "inbox_dir") {
		t.Errorf("no dir: %v", err)
	}
	dir := t.TempDir()
	arch, rej := filepath.Join(t.TempDir(), "arch"), filepath.Join(t.TempDir(), "rej")
	in, err := ceb.OpenInbox(ceb.InboxConfig{Dir: dir, ArchiveDir: arch, RejectDir: rej, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "r.xml"), receipt412(entry(testGUID, "120", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x.xml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := in.Scan(context.Background(), func(context.Context, ceb.ReceiptFile) error { return nil })
	if err != nil || len(rep.Archived) != 1 || len(rep.Rejected) != 1 || !strings.HasPrefix(rep.Rejected[0].Path, rej) {
		t.Errorf("%+v %v", rep, err)
	}
	if entries, _ := os.ReadDir(arch); len(entries) != 2 { // the day folder and the lock
		t.Errorf("archive holds %d entries", len(entries))
	}
}
