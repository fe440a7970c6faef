package baoguan_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// TestCheckSecret: weak secrets of every kind are refused with the field
// named; secrets made the way the message advises always pass.
func TestCheckSecret(t *testing.T) {
	weak := []string{
		"", "tok", "tok123", "tok-after-rotation", "short-but-random-Xq9",
		strings.Repeat("a", 40), strings.Repeat("ab", 20), strings.Repeat("abc1", 10), strings.Repeat("0123456789", 3),
		"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "zyxwvutsrqponmlkjihgfedcba",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "1111111122222222333333334444", "passwordpasswordpassword",
		"token with spaces in it 0123456789", "tökenWithNonASCIIchars0123456789", "tab\tseparated-token-0123456789abc",
		strings.Repeat("x", 300),
	}
	for _, s := range weak {
		err := baoguan.CheckSecret("pushorder.access-token", s)
		if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) != "pushorder.access-token" {
			t.Errorf("%q: %v, want EINVALID naming the field", s, err)
		}
	}
	for i := range 2000 {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		h := hex.EncodeToString(b)                                     // openssl rand -hex 16
		u := base64.RawURLEncoding.EncodeToString(append(b, b[:2]...)) // 24 base64 characters
		for _, s := range []string{h, u} {
			if err := baoguan.CheckSecret("x", s); err != nil {
				t.Fatalf("random secret %d %q refused: %v", i, s, err)
			}
		}
	}
	for name, want := range map[string]bool{"pushorder.access-token": true, "wechatv3.apiv3-key": true, "x.webhook-secret": true,
		"accp.public-key": false, "wechatv3.cert": false, "wechatv3.serial": false, "pushorder.callback-url": false, "pushorder.allow-net": false, "wechatv3.mchid": false} {
		if baoguan.SecretSetting(name) != want {
			t.Errorf("SecretSetting(%q) = %v, want %v", name, !want, want)
		}
	}
}
