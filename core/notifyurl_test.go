package core_test

import (
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// TestNotifyURL: the order's URL wins, then the merchant's protocol
// setting (spaces trimmed), then its general URL; no setting skips the
// middle step.
func TestNotifyURL(t *testing.T) {
	m := &baoguan.Merchant{NotifyURL: "https://m.example/general", Settings: map[string]string{"p.notify-url": " https://m.example/p "}}
	for _, c := range []struct {
		order, setting, want string
	}{
		{"https://o.example/n", "p.notify-url", "https://o.example/n"},
		{"", "p.notify-url", "https://m.example/p"},
		{"", "q.notify-url", "https://m.example/general"},
		{"", "", "https://m.example/general"},
	} {
		if got := core.NotifyURL(m, &baoguan.Order{NotifyURL: c.order}, c.setting); got != c.want {
			t.Errorf("order %q, setting %q: %q, want %q", c.order, c.setting, got, c.want)
		}
	}
}
