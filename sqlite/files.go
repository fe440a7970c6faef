package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// Database files hold personal data (sealed, but still the operator's to
// guard) and the -wal and -shm files hold recent pages of it in clear
// structure, so they are readable by their owner only: the database file
// is created with mode 0600 before SQLite opens it (SQLite gives -wal,
// -shm and -journal files the mode of the database file, whatever the
// umask), and on every open any group or other permission on the database
// and its companions is taken away. Permissions are only ever narrowed: a
// file an operator made read-only stays read-only.

// companions are the files SQLite keeps beside a database.
var companions = []string{"", "-wal", "-shm", "-journal"}

// ownerOnly creates the database file at path if it does not exist (mode
// 0600, made so regardless of the umask) and removes group and other
// permissions (and any execute bit) from it and from its companions. In-memory and URI paths are
// left to SQLite.
func ownerOnly(path string) error {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	for _, c := range companions {
		if err := narrow(path + c); err != nil {
			return err
		}
	}
	return nil
}

// narrow removes group and other permissions from the file at p, if it
// exists. A file owned by another user cannot be changed; that is left to
// its owner rather than refused, since reading it was already possible.
func narrow(p string) error {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	perm := fi.Mode().Perm()
	if perm&^0o600 == 0 {
		return nil
	}
	if err := os.Chmod(p, perm&0o600); err != nil && !errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("sqlite: making %s readable by its owner only: %w", p, err)
	}
	return nil
}

// ErrLocked is wrapped by the error Lock returns when another process
// holds the database.
var ErrLocked = errors.New("the database is in use by another baoguan serve")

// Lock takes the server lock of the database at path: an exclusive
// flock(2) on path+".lock" (created 0600), held until release is called or
// the process ends, however it ends (the kernel drops the lock of a killed
// process). A second `baoguan serve` on the same file would run the same
// jobs and fight over the single SQLite writer, so it is refused with
// ErrLocked, naming the holder's pid and start time as the holder wrote
// them into the file.
//
// Only servers take it: CLI commands that write (merchant key, merchant
// set, data-key rotate) stay possible while a server runs, as SQLite's own
// locking keeps their transactions apart.
func Lock(path string) (release func() error, err error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return func() error { return nil }, nil
	}
	lp := path + ".lock"
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock file %s: %w", lp, err)
	}
	if err := narrow(lp); err != nil {
		f.Close()
		return nil, err
	}
	held, err := flock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sqlite: locking %s: %w", lp, err)
	}
	if held {
		b := make([]byte, 200)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		holder := strings.TrimSpace(string(b[:n]))
		if holder == "" {
			holder = "a process that has not written its pid yet"
		}
		return nil, fmt.Errorf("%w: %s is locked by %s (lock file %s); stop that server first, or give this one another --db",
			ErrLocked, path, holder, lp)
	}
	// Who holds it, for the message a second server prints.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte("pid "+strconv.Itoa(os.Getpid())+", started "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0)
	return func() error {
		// Closing the descriptor drops the flock; the file stays, so a
		// concurrent starter never locks a file that is being removed.
		_ = f.Truncate(0)
		return f.Close()
	}, nil
}
