package sandbox

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

func TestAuthCodeFormats(t *testing.T) {
	for _, c := range []struct {
		wallet, code string
		ok           bool
	}{
		{baoguan.WalletWeChat, "135605691981176449", true}, // WiseCashier §4.2's example
		{baoguan.WalletWeChat, "105605691981176449", true},
		{baoguan.WalletWeChat, "165605691981176449", false}, // prefix 16
		{baoguan.WalletWeChat, "13560569198117644", false},  // 17 digits
		{baoguan.WalletWeChat, "13560569198117644x", false},
		{baoguan.WalletAlipay, "2812345678901234", true}, // 16
		{baoguan.WalletAlipay, "301234567890123456789012", true},
		{baoguan.WalletAlipay, "3112345678901234", false},
		{baoguan.WalletAlipay, "123456", false}, // WiseCashier §7.2's example is not a real code (payMicro answers it, see SampleAuthCode)
	} {
		if got := authCodeOK(c.wallet, c.code); got != c.ok {
			t.Errorf("%s %s: %v, want %v", c.wallet, c.code, got, c.ok)
		}
	}
}

// Wallet answers are pure functions of the request: the same call, the
// same transaction number and parameters.
func TestWalletAnswersRepeat(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	o := &baoguan.Order{ID: 7, MerchantID: 3, MerchantOrderNo: "W1", Amount: 100, Channel: baoguan.ChannelMicro, PayAttempts: 1, CreatedAt: now,
		Extra: map[string]string{baoguan.ExtraWallet: baoguan.WalletWeChat, baoguan.ExtraAuthCode: "135605691981176449"}}
	ch := NewChannel()
	a, _ := ch.Pay(context.Background(), baoguan.PayRequest{Order: o, Attempt: 1, Now: now})
	b, _ := ch.Pay(context.Background(), baoguan.PayRequest{Order: o, Attempt: 2, Now: now})
	if a.Status != baoguan.PaySucceed || a.Payment.No != b.Payment.No || a.Payment.PSPCode != "4403169D3W" {
		t.Errorf("micro: %+v / %+v", a, b)
	}
	o.Channel = baoguan.ChannelJSAPI
	c1, _ := ch.Collect(context.Background(), baoguan.CollectRequest{Order: o, Wallet: baoguan.WalletWeChat, Now: now})
	c2, _ := ch.Collect(context.Background(), baoguan.CollectRequest{Order: o, Wallet: baoguan.WalletWeChat, Now: now})
	if c1.Params["prepay_id"] == "" || c1.Params["prepay_id"] != c2.Params["prepay_id"] || c1.URL != "" {
		t.Errorf("jsapi: %+v / %+v", c1, c2)
	}
	o.PayAttempts = 2
	c3, _ := ch.Collect(context.Background(), baoguan.CollectRequest{Order: o, Wallet: baoguan.WalletWeChat, Now: now})
	if c3.Params["prepay_id"] == c1.Params["prepay_id"] {
		t.Error("a new payment round must get a new prepay id")
	}
}

// docs/sandbox.md's rate table is the sandbox's: every currency of
// baoguan.Currencies, each at the figure Rates holds, and the documented
// life of a wallet code and the default payer are the code's.
func TestDocumentedWalletRules(t *testing.T) {
	b, err := os.ReadFile("../docs/sandbox.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "| Currency | CNY per unit |")
	if i < 0 {
		t.Fatal("docs/sandbox.md has no rate table")
	}
	table := doc[i:]
	table = table[:strings.Index(table, "\n\n")]
	cell := regexp.MustCompile(`\|\s*([A-Z]{3})\s*\|\s*([0-9.]+)`)
	seen := map[string]bool{}
	for _, m := range cell.FindAllStringSubmatch(table, -1) {
		want, ok := Rates[m[1]]
		if !ok || want.String() != m[2] {
			t.Errorf("docs/sandbox.md: %s %s, the sandbox has %s", m[1], m[2], want)
		}
		seen[m[1]] = true
	}
	for _, c := range baoguan.Currencies() {
		if !seen[c.Code] {
			t.Errorf("docs/sandbox.md lists no rate of %s", c.Code)
		}
	}
	for _, want := range []string{"**two hours** (`sandbox.WalletCodeTTL`", "**" + WalletPayerName + ", " + WalletPayerID + "**"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/sandbox.md does not say %q", want)
		}
	}
	if WalletCodeTTL != 2*time.Hour || baoguan.MicroPoll != 5*time.Second || baoguan.MicroWindow != 2*time.Minute {
		t.Errorf("the documented times changed: %v %v %v", WalletCodeTTL, baoguan.MicroPoll, baoguan.MicroWindow)
	}
}
