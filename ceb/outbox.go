package ceb

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// OutboxConfig says where messages go.
type OutboxConfig struct {
	// Dir is the folder the E-Port client picks messages up from (its
	// 发送/out folder). Only complete messages ever appear in it, under
	// their final CEB_CEB411_… name.
	Dir string
	// StateDir is baoguan's own folder for the outbox: staging/ (messages
	// being written) and sent/ (one marker per handed-over guid). It must be
	// on the same filesystem as Dir, so that a staged file can be renamed
	// into Dir atomically, and must not be watched by the E-Port client.
	// Default: Dir + ".baoguan" beside Dir.
	StateDir string
	// SenderID is the <senderId> of file names (Config.Sender()).
	SenderID string
	// Now is the clock for file names; time.Now when nil.
	Now func() time.Time
}

// Outbox hands CEB411 messages to the E-Port client as files named
//
//	CEB_CEB411_<senderId>_EPORT_<yyyyMMddHHmmssSSS><4-digit serial>.xml
//
// (China time), and does so atomically and at most once per guid:
//
//  1. the message is written to StateDir/staging/<guid>.xml and fsynced;
//  2. a free name is chosen and recorded, with the content's SHA-256, in
//     the marker StateDir/sent/<guid> (written to a temporary name,
//     fsynced, renamed, directory fsynced): from here on the guid is
//     handed over;
//  3. the staged file is renamed into Dir under that name and Dir is
//     fsynced.
//
// Put on a guid that has a marker does not write again: it completes step
// 3 if the staged file is still there and returns the recorded name. So a
// declare job that crashes after handing a message over, and runs again
// because the database never recorded it, cannot double the message, even
// if the E-Port client has already taken the first copy away. At start
// (OpenOutbox) staged files with a marker are renamed into Dir (rolled
// forward) and staged files without one are deleted (nothing was handed
// over). Each Put and the recovery hold an exclusive lock on
// StateDir/lock (flock), so several processes can share one outbox.
// docs/chinaport.md has the crash analysis.
type Outbox struct {
	cfg     OutboxConfig
	staging string
	sent    string
	now     func() time.Time

	mu     sync.Mutex
	lastMS int64 // the last name's millisecond (Unix) and serial, for unique names
	serial int

	// crash is a test hook called after each step of Put; an error stops
	// Put there, as if the process had died.
	crash func(step string) error
}

// Handover is what Put did with a message.
type Handover struct {
	Name     string // the file name in Dir (without the directory)
	Replayed bool   // the guid had been handed over before: nothing was written
}

// Recovery says what OpenOutbox found from an earlier run.
type Recovery struct {
	RolledForward []string // file names completed (the guid was handed over but the file was still staged)
	Discarded     []string // staged guids deleted (never handed over)
}

// OpenOutbox prepares the folders and recovers what a crash left. Errors
// are EINVALID naming the setting ("outbox_dir", "outbox_state_dir",
// "sender_id") when a folder cannot be made or the two are on different
// filesystems, or the I/O error of the recovery.
func OpenOutbox(cfg OutboxConfig) (*Outbox, Recovery, error) {
	if cfg.Dir == "" {
		return nil, Recovery{}, fieldErr("outbox_dir", "the outbox folder is not configured")
	}
	if err := codeRule("sender_id", cfg.SenderID, 30); err != nil {
		return nil, Recovery{}, err
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Clean(cfg.Dir) + ".baoguan"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	o := &Outbox{cfg: cfg, staging: filepath.Join(cfg.StateDir, "staging"), sent: filepath.Join(cfg.StateDir, "sent"), now: cfg.Now}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, Recovery{}, fieldErr("outbox_dir", "cannot create the outbox folder: %v", err)
	}
	for _, d := range []string{o.staging, o.sent} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, Recovery{}, fieldErr("outbox_state_dir", "cannot create %s: %v", d, err)
		}
	}
	if same, err := sameFilesystem(cfg.Dir, o.staging); err != nil {
		return nil, Recovery{}, err
	} else if !same {
		return nil, Recovery{}, fieldErr("outbox_state_dir", "%s is not on the same filesystem as the outbox %s: a staged message could not be renamed into it atomically", cfg.StateDir, cfg.Dir)
	}
	var rec Recovery
	err := o.locked(func() error {
		var err error
		rec, err = o.recover()
		return err
	})
	if err != nil {
		return nil, rec, err
	}
	return o, rec, nil
}

// Dir is the folder the E-Port client reads.
func (o *Outbox) Dir() string { return o.cfg.Dir }

// Put hands one message over under its guid (see Outbox). body must be the
// complete message. The error is EINVALID on "guid" for a malformed guid,
// or the I/O error (retry: Put is idempotent per guid).
func (o *Outbox) Put(guid string, body []byte) (Handover, error) {
	if err := CheckGUID("guid", guid); err != nil {
		return Handover{}, err
	}
	var h Handover
	err := o.locked(func() error {
		var err error
		h, err = o.put(guid, body)
		return err
	})
	return h, err
}

func (o *Outbox) put(guid string, body []byte) (Handover, error) {
	staged := filepath.Join(o.staging, guid+".xml")
	if m, err := o.marker(guid); err == nil {
		// Handed over before. Finish step 3 if a crash interrupted it.
		if _, err := os.Lstat(staged); err == nil {
			if err := o.rollForward(staged, m.name); err != nil {
				return Handover{}, err
			}
		}
		return Handover{Name: m.name, Replayed: true}, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Handover{}, err
	}

	// 1. Stage.
	if err := writeSynced(staged, body, 0o640); err != nil {
		return Handover{}, err
	}
	if err := o.step("staged"); err != nil {
		return Handover{}, err
	}
	// 2. Choose a name and record the handover.
	name, err := o.freeName()
	if err != nil {
		return Handover{}, err
	}
	sum := sha256.Sum256(body)
	if err := writeSynced(filepath.Join(o.sent, guid+".tmp"), []byte(name+"\n"+hex.EncodeToString(sum[:])+"\n"), 0o600); err != nil {
		return Handover{}, err
	}
	if err := os.Rename(filepath.Join(o.sent, guid+".tmp"), filepath.Join(o.sent, guid)); err != nil {
		return Handover{}, err
	}
	if err := syncDir(o.sent); err != nil {
		return Handover{}, err
	}
	if err := o.step("marked"); err != nil {
		return Handover{}, err
	}
	// 3. Hand over.
	if err := o.rollForward(staged, name); err != nil {
		return Handover{}, err
	}
	if err := o.step("renamed"); err != nil {
		return Handover{}, err
	}
	return Handover{Name: name}, nil
}

func (o *Outbox) step(name string) error {
	if o.crash != nil {
		return o.crash(name)
	}
	return nil
}

// rollForward renames a staged file into Dir under name and makes the
// rename durable.
func (o *Outbox) rollForward(staged, name string) error {
	dst := filepath.Join(o.cfg.Dir, name)
	if err := os.Rename(staged, dst); err != nil {
		if errors.Is(err, syscall.EXDEV) {
			return fieldErr("outbox_state_dir", "the state folder is not on the outbox's filesystem: %v", err)
		}
		return err
	}
	if err := syncDir(o.cfg.Dir); err != nil {
		return err
	}
	return syncDir(o.staging)
}

type sentMarker struct{ name, sum string }

// marker reads the marker of guid.
func (o *Outbox) marker(guid string) (sentMarker, error) {
	b, err := os.ReadFile(filepath.Join(o.sent, guid))
	if err != nil {
		return sentMarker{}, err
	}
	name, sum, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if !strings.HasPrefix(name, "CEB_CEB411_") || strings.ContainsAny(name, `/\`) {
		return sentMarker{}, fmt.Errorf("ceb outbox: marker %s is damaged: %q", filepath.Join(o.sent, guid), clip(string(b)))
	}
	return sentMarker{name: name, sum: sum}, nil
}

// freeName returns a file name no earlier Put of this process used and no
// file in Dir has: the clock's millisecond and a serial that counts up
// within a millisecond (and carries into the next one after 9999).
func (o *Outbox) freeName() (string, error) {
	ms := o.now().UnixMilli()
	o.mu.Lock()
	defer o.mu.Unlock()
	if ms > o.lastMS {
		o.lastMS, o.serial = ms, 0
	}
	for range 100000 {
		o.serial++
		if o.serial > 9999 {
			o.lastMS, o.serial = o.lastMS+1, 1
		}
		name := fmt.Sprintf("CEB_CEB411_%s_EPORT_%s%04d.xml", o.cfg.SenderID, formatMillis(time.UnixMilli(o.lastMS)), o.serial)
		if _, err := os.Lstat(filepath.Join(o.cfg.Dir, name)); errors.Is(err, fs.ErrNotExist) {
			return name, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", errors.New("ceb outbox: no free file name")
}

// recover rolls staged files forward or back (see Outbox).
func (o *Outbox) recover() (Recovery, error) {
	var rec Recovery
	entries, err := os.ReadDir(o.staging)
	if err != nil {
		return rec, err
	}
	for _, e := range entries {
		path := filepath.Join(o.staging, e.Name())
		guid, ok := strings.CutSuffix(e.Name(), ".xml")
		if !ok || CheckGUID("guid", guid) != nil {
			if err := os.RemoveAll(path); err != nil {
				return rec, err
			}
			continue
		}
		m, err := o.marker(guid)
		switch {
		case err == nil:
			if err := o.rollForward(path, m.name); err != nil {
				return rec, err
			}
			rec.RolledForward = append(rec.RolledForward, m.name)
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Remove(path); err != nil {
				return rec, err
			}
			rec.Discarded = append(rec.Discarded, guid)
		default:
			return rec, err
		}
	}
	// Markers being written when the process died were never renamed into
	// place: the guid was not handed over.
	sent, err := os.ReadDir(o.sent)
	if err != nil {
		return rec, err
	}
	for _, e := range sent {
		if strings.HasSuffix(e.Name(), ".tmp") {
			if err := os.Remove(filepath.Join(o.sent, e.Name())); err != nil {
				return rec, err
			}
		}
	}
	if err := syncDir(o.staging); err != nil {
		return rec, err
	}
	return rec, syncDir(o.sent)
}

// Sent reports whether guid was handed over, and under which name.
func (o *Outbox) Sent(guid string) (string, bool, error) {
	m, err := o.marker(guid)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return m.name, true, nil
}

// Prune deletes the markers of guids handed over before the given time,
// and returns how many. A marker only has to outlive every possible rerun
// of its attempt (a declare job's lease and retries: hours); keeping 30
// days is generous.
func (o *Outbox) Prune(before time.Time) (int, error) {
	n := 0
	err := o.locked(func() error {
		entries, err := os.ReadDir(o.sent)
		if err != nil {
			return err
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || CheckGUID("guid", e.Name()) != nil || !info.ModTime().Before(before) {
				continue
			}
			if err := os.Remove(filepath.Join(o.sent, e.Name())); err != nil {
				return err
			}
			n++
		}
		return syncDir(o.sent)
	})
	return n, err
}

// locked runs f holding the outbox lock: the in-process mutex is not
// enough when several baoguan processes share the folder.
func (o *Outbox) locked(f func() error) error {
	unlock, err := lockFile(filepath.Join(o.cfg.StateDir, "lock"))
	if err != nil {
		return err
	}
	defer unlock()
	return f()
}

// writeSynced writes a new file (replacing a leftover of the same name) and
// fsyncs it.
func writeSynced(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes renames and deletions in dir durable. Windows cannot fsync
// a directory; NTFS journals renames itself.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
