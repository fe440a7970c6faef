package ceb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InboxConfig says where receipts arrive and where they go once read.
type InboxConfig struct {
	// Dir is the folder the E-Port client drops receipts into (its
	// 接收/in folder for this sender). baoguan must be its only reader.
	Dir string
	// ArchiveDir receives every file whose receipts the sink took, in
	// one sub-folder per day (yyyyMMdd, China time). Default Dir/archive.
	ArchiveDir string
	// RejectDir receives every file that is not a usable payment receipt,
	// each with a <name>.reason.txt beside it. Default Dir/rejected.
	RejectDir string
	// Settle is how long a file must have been left unchanged before it is
	// read, so that a receipt the client is still writing is not taken for
	// a broken one. Default 2s.
	Settle time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Inbox reads receipt files (see ParseReceipt), hands each file's
// receipts to a sink and moves the file into the archive only after the
// sink returned nil: a crash or a sink error leaves the file where it is,
// to be read again (the receipts then arrive twice, which Decide
// tolerates). Files that cannot be read as receipts are moved to the
// reject folder and reported, never dropped.
type Inbox struct {
	cfg InboxConfig
}

// Rejection is a file moved to the reject folder.
type Rejection struct {
	Name   string // the file's name in Dir
	Path   string // where it is now
	Reason string
}

// ScanReport says what one Scan did.
type ScanReport struct {
	Archived []string    // files whose receipts the sink took, now in the archive
	Rejected []Rejection // files that are not usable receipts, now in the reject folder
	Waiting  int         // files left for a later scan because they changed within Settle
}

// OpenInbox checks and creates the folders. Errors are EINVALID naming the
// setting ("inbox_dir", "inbox_archive_dir", "inbox_reject_dir").
func OpenInbox(cfg InboxConfig) (*Inbox, error) {
	if cfg.Dir == "" {
		return nil, fieldErr("inbox_dir", "the receipt folder is not configured")
	}
	if cfg.ArchiveDir == "" {
		cfg.ArchiveDir = filepath.Join(cfg.Dir, "archive")
	}
	if cfg.RejectDir == "" {
		cfg.RejectDir = filepath.Join(cfg.Dir, "rejected")
	}
	if cfg.Settle == 0 {
		cfg.Settle = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, d := range []struct{ setting, dir string }{{"inbox_dir", cfg.Dir}, {"inbox_archive_dir", cfg.ArchiveDir}, {"inbox_reject_dir", cfg.RejectDir}} {
		if err := os.MkdirAll(d.dir, 0o750); err != nil {
			return nil, fieldErr(d.setting, "cannot create %s: %v", d.dir, err)
		}
	}
	return &Inbox{cfg: cfg}, nil
}

// Sink takes the receipts of one file. It should store them all in one
// transaction; a nil return means they are safe, and the file is archived.
type Sink func(ctx context.Context, f ReceiptFile) error

// Scan reads every settled receipt file in Dir, oldest first. It stops at
// the first sink error or I/O error and returns it with the report so far;
// the file that failed stays in Dir. Scans of several processes are
// serialised by a lock in the archive folder.
func (in *Inbox) Scan(ctx context.Context, sink Sink) (ScanReport, error) {
	var rep ScanReport
	unlock, err := lockFile(filepath.Join(in.cfg.ArchiveDir, ".lock"))
	if err != nil {
		return rep, err
	}
	defer unlock()
	files, err := in.candidates(&rep)
	if err != nil {
		return rep, err
	}
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		path := filepath.Join(in.cfg.Dir, name)
		data, err := readLimited(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // moved by someone else meanwhile
		}
		var f ReceiptFile
		if err == nil {
			f, err = ParseReceipt(data)
		}
		if err != nil {
			var ioErr *fs.PathError
			if errors.As(err, &ioErr) && !errors.Is(err, errTooLarge) {
				return rep, err
			}
			r, err := in.reject(name, err.Error())
			if err != nil {
				return rep, err
			}
			rep.Rejected = append(rep.Rejected, r)
			continue
		}
		f.File = name
		if err := sink(ctx, f); err != nil {
			return rep, fmt.Errorf("ceb inbox: %s: %w", name, err)
		}
		if _, err := moveFile(path, filepath.Join(in.cfg.ArchiveDir, in.cfg.Now().In(ChinaTime).Format("20060102")), name); err != nil {
			return rep, err
		}
		rep.Archived = append(rep.Archived, name)
	}
	return rep, nil
}

// candidates lists the files to read now, oldest first.
func (in *Inbox) candidates(rep *ScanReport) ([]string, error) {
	entries, err := os.ReadDir(in.cfg.Dir)
	if err != nil {
		return nil, err
	}
	type cand struct {
		name string
		mod  time.Time
	}
	var cs []cand
	cutoff := in.cfg.Now().Add(-in.cfg.Settle)
	for _, e := range entries {
		if !e.Type().IsRegular() || !receiptName(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		if info.ModTime().After(cutoff) {
			rep.Waiting++
			continue
		}
		cs = append(cs, cand{e.Name(), info.ModTime()})
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	return names, nil
}

// receiptName reports whether a file may be a receipt: hidden files and
// the temporary names transfer tools write under are left alone.
func receiptName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	l := strings.ToLower(name)
	for _, s := range []string{".tmp", ".temp", ".part", ".filepart", ".partial"} {
		if strings.HasSuffix(l, s) {
			return false
		}
	}
	return true
}

var errTooLarge = errors.New("file is larger than the receipt limit")

// readLimited reads a file of at most MaxReceiptSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxReceiptSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxReceiptSize {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%d bytes)", errTooLarge, MaxReceiptSize)}
	}
	return data, nil
}

// reject moves a file to the reject folder and writes why beside it.
func (in *Inbox) reject(name, reason string) (Rejection, error) {
	dst, err := moveFile(filepath.Join(in.cfg.Dir, name), in.cfg.RejectDir, name)
	if err != nil {
		return Rejection{}, err
	}
	note := in.cfg.Now().In(ChinaTime).Format(time.RFC3339) + " " + name + "\n" + reason + "\n"
	if err := writeSynced(dst+".reason.txt", []byte(note), 0o640); err != nil {
		return Rejection{}, err
	}
	return Rejection{Name: name, Path: dst, Reason: reason}, nil
}

// moveFile moves src into dir under name (name.2, name.3, … when taken)
// and returns the new path. Across filesystems it copies, fsyncs and
// removes. Both folders are fsynced, so that a crash cannot bring an
// archived file back into the inbox (if it did, its receipts would only be
// read twice).
func moveFile(src, dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	dst := ""
	for i := 1; ; i++ {
		cand := filepath.Join(dir, name)
		if i > 1 {
			ext := filepath.Ext(name)
			cand = filepath.Join(dir, strings.TrimSuffix(name, ext)+"."+strconv.Itoa(i)+ext)
		}
		if _, err := os.Lstat(cand); errors.Is(err, fs.ErrNotExist) {
			dst = cand
			break
		} else if err != nil {
			return "", err
		}
	}
	if err := os.Rename(src, dst); err != nil {
		if !errors.Is(err, syscall.EXDEV) {
			return "", err
		}
		if err := copyFile(src, dst); err != nil {
			return "", err
		}
		if err := os.Remove(src); err != nil {
			return "", err
		}
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	return dst, syncDir(filepath.Dir(src))
}

// copyFile copies src to dst through a temporary name, fsynced.
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	if err := writeSynced(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
