//go:build !unix

package ceb

import (
	"os"
	"sync"
)

// processLock stands in for flock where there is none: it serialises this
// process only, so on such systems one baoguan process owns an outbox.
var processLock sync.Mutex

func lockFile(path string) (func(), error) {
	processLock.Lock()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		processLock.Unlock()
		return nil, err
	}
	return func() { f.Close(); processLock.Unlock() }, nil
}

// sameFilesystem cannot be checked portably; a cross-device rename fails
// at the first Put instead.
func sameFilesystem(a, b string) (bool, error) { return true, nil }
