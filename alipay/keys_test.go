package alipay_test

import (
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
)

// testKey returns one of a few RSA keys made once for the whole package:
// making a 2048-bit key for every test costs seconds.
func testKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		for j := range keys {
			keys[j], keysErr = rsa.GenerateKey(rand.Reader, 2048)
			if keysErr != nil {
				return
			}
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys[i]
}

var (
	keysOnce sync.Once
	keys     [3]*rsa.PrivateKey
	keysErr  error
)
