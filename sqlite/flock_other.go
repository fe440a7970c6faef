//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

import "os"

// flock is not available here: the server lock is not taken, and two
// servers on one database are not detected (docs/operations.md).
func flock(*os.File) (held bool, err error) { return false, nil }
