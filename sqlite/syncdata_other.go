//go:build !linux

package sqlite

import "os"

// syncData writes f's data to disk (fsync; fdatasync is Linux's).
func syncData(f *os.File) error { return f.Sync() }
