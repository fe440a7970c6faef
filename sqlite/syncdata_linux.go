package sqlite

import (
	"os"
	"syscall"
)

// syncData writes f's data to disk: fdatasync, which skips the metadata a
// later read does not need (the modification time) but not the file's size,
// as PostgreSQL's default wal_sync_method does on Linux.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
