package core_test

import (
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

func walletOrder(no string) core.OrderInput {
	return core.OrderInput{Order: baoguan.Order{MerchantOrderNo: no, Amount: 10000, Subject: "奶粉"}}
}

// Payment-code (micro) payments follow the sandbox wallet's auth-code
// rules: paid at once, refused with the wallet's own code, or "user
// paying" until the payer confirms, cancels, or runs out of time.
func TestMicroPayments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	cases := []struct {
		no, wallet, code string
		status           baoguan.PayStatus
		failCode         string
	}{
		{"MI-OK", baoguan.WalletWeChat, "135605691981176449", baoguan.PaySucceed, ""},
		{"MI-ALI", baoguan.WalletAlipay, "2812345678901234567", baoguan.PaySucceed, ""},
		{"MI-BAD", baoguan.WalletWeChat, "1234", baoguan.PayFailed, "AUTH_CODE_INVALID"},
		{"MI-BAD-ALI", baoguan.WalletAlipay, "135605691981176449", baoguan.PayFailed, "ACQ.PAYMENT_AUTH_CODE_INVALID"},
		{"MI-POOR", baoguan.WalletWeChat, "135605691981176400", baoguan.PayFailed, "NOTENOUGH"},
		{"MI-CONFIRM", baoguan.WalletWeChat, "135605691981176401", baoguan.PayApplied, ""},
		{"MI-CANCEL", baoguan.WalletAlipay, "2812345678901234502", baoguan.PayApplied, ""},
		{"MI-NEVER", baoguan.WalletWeChat, "135605691981176403", baoguan.PayApplied, ""},
	}
	for _, c := range cases {
		o, col, err := e.svc.PayInWallet(e.ctx, e.m, walletOrder(c.no), core.WalletPayment{Mode: baoguan.ChannelMicro, Wallet: c.wallet, AuthCode: c.code})
		if err != nil {
			t.Fatalf("%s: %v", c.no, err)
		}
		if col != nil || o.PayStatus != c.status || o.Payment.FailCode != c.failCode {
			t.Errorf("%s: %s %q, want %s %q", c.no, o.PayStatus, o.Payment.FailCode, c.status, c.failCode)
		}
		if c.status == baoguan.PaySucceed {
			want := baoguan.PSPWeChat
			if c.wallet == baoguan.WalletAlipay {
				want = baoguan.PSPAlipay
			}
			if o.Payment.PSP != want || o.Payment.PayerID != sandbox.WalletPayerID || len(o.Payment.No) != 28 {
				t.Errorf("%s: payment %+v", c.no, o.Payment)
			}
		}
	}
	// A missing auth code writes nothing.
	if _, _, err := e.svc.PayInWallet(e.ctx, e.m, walletOrder("MI-NONE"), core.WalletPayment{Mode: baoguan.ChannelMicro, Wallet: baoguan.WalletWeChat}); baoguan.ErrorField(err) != "auth_code" {
		t.Errorf("no auth code: %v", err)
	}
	if _, err := e.svc.Order(e.ctx, e.m, "MI-NONE"); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
		t.Errorf("a refused micro payment stored its order: %v", err)
	}
	// The pay job asks again every 5 s: the payer confirms after 10 s, the
	// canceller cancels, and the one who never confirms is closed after
	// the two-minute window.
	e.clock.Add(5 * time.Second)
	e.run(t)
	if st := e.status(t, "MI-CONFIRM"); st != baoguan.PayApplied {
		t.Errorf("after 5 s: %s", st)
	}
	e.clock.Add(5 * time.Second)
	e.run(t)
	if st := e.status(t, "MI-CONFIRM"); st != baoguan.PaySucceed {
		t.Errorf("after 10 s: %s", st)
	}
	if o, _ := e.svc.Order(e.ctx, e.m, "MI-CANCEL"); o.PayStatus != baoguan.PayFailed || o.Payment.FailCode != "ACQ.TRADE_HAS_CLOSE" {
		t.Errorf("cancelled: %s %q", o.PayStatus, o.Payment.FailCode)
	}
	for range 21 { // to 1 m 55 s
		e.clock.Add(5 * time.Second)
		e.run(t)
	}
	if st := e.status(t, "MI-NEVER"); st != baoguan.PayApplied {
		t.Errorf("before the window ends: %s", st)
	}
	e.clock.Add(5 * time.Second)
	e.run(t)
	if o, _ := e.svc.Order(e.ctx, e.m, "MI-NEVER"); o.PayStatus != baoguan.PayCancelled || o.Payment.FailReason == "" {
		t.Errorf("after the window: %s %q", o.PayStatus, o.Payment.FailReason)
	}
	// Nothing polls any more.
	if js, _ := e.svc.Jobs(e.ctx, baoguan.JobFilter{Kind: baoguan.JobPay, State: baoguan.JobQueued}); len(js) != 0 {
		t.Errorf("pay jobs still queued: %+v", js)
	}
}

// Collect-mode wallet orders issue a code with the wallet's client
// parameters; the payer pays on the sandbox page as the person they type;
// an order whose code expires unpaid is closed by the expiry job, while a
// payzero QR code that expires is left for a new code.
func TestWalletCodesAndExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	o, col, err := e.svc.PayInWallet(e.ctx, e.m, walletOrder("NA-1"), core.WalletPayment{Mode: baoguan.ChannelNative, Wallet: baoguan.WalletWeChat})
	if err != nil {
		t.Fatal(err)
	}
	if o.PayStatus != baoguan.PayApplied || col == nil || !col.Closes || col.Kind != baoguan.WalletWeChat || col.Params["prepay_id"] == "" ||
		col.PSP != baoguan.PSPWeChat || !col.ExpiresAt.Equal(e.clock.Now().Add(sandbox.WalletCodeTTL)) {
		t.Fatalf("native code: %s %+v", o.PayStatus, col)
	}
	// A repeat answers the same code.
	_, again, err := e.svc.PayInWallet(e.ctx, e.m, walletOrder("NA-1"), core.WalletPayment{Mode: baoguan.ChannelNative, Wallet: baoguan.WalletWeChat})
	if err != nil || again.Token != col.Token {
		t.Errorf("repeat: %v %+v", err, again)
	}
	// jsapi needs the payer's openid; Alipay app parameters name the partner.
	if _, _, err := e.svc.PayInWallet(e.ctx, e.m, walletOrder("JS-0"), core.WalletPayment{Mode: baoguan.ChannelJSAPI, Wallet: baoguan.WalletWeChat}); baoguan.ErrorField(err) != "openid" {
		t.Errorf("jsapi without openid: %v", err)
	}
	_, app, err := e.svc.PayInWallet(e.ctx, e.m, walletOrder("AP-1"), core.WalletPayment{Mode: baoguan.ChannelApp, Wallet: baoguan.WalletAlipay})
	if err != nil || app.Params["partner"] == "" || app.PSP != baoguan.PSPAlipay {
		t.Fatalf("alipay app: %v %+v", err, app)
	}
	paid, err := e.svc.PayCollection(e.ctx, col.Token, baoguan.PayerAction{Paid: true, PayerName: "张三", PayerID: "110105199001011232"})
	if err != nil {
		t.Fatal(err)
	}
	if paid.PayStatus != baoguan.PaySucceed || paid.Payment.PayerName != "张三" || paid.Payment.PayerID != "110105199001011232" {
		t.Errorf("paid on the page: %s %+v", paid.PayStatus, paid.Payment)
	}

	_, desk, err := e.svc.PayInWallet(e.ctx, e.m, walletOrder("DE-1"), core.WalletPayment{Mode: baoguan.ChannelDesk, Wallet: baoguan.WalletWeChat})
	if err != nil {
		t.Fatal(err)
	}
	_, qr, err := e.svc.Collect(e.ctx, e.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "QR-1", Amount: 100, Subject: "x"}}, "WECHATPAY")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(sandbox.WalletCodeTTL - time.Second)
	e.run(t)
	if st := e.status(t, "DE-1"); st != baoguan.PayApplied {
		t.Fatalf("before expiry: %s", st)
	}
	e.clock.Add(time.Minute)
	e.run(t)
	for no, want := range map[string]baoguan.PayStatus{"DE-1": baoguan.PayCancelled, "AP-1": baoguan.PayCancelled, "QR-1": baoguan.PayApplied, "NA-1": baoguan.PaySucceed} {
		if st := e.status(t, no); st != want {
			t.Errorf("%s after expiry: %s, want %s", no, st, want)
		}
	}
	if o, _ := e.svc.Order(e.ctx, e.m, "DE-1"); o.Payment.FailReason != core.ExpiredReason {
		t.Errorf("expired reason %q", o.Payment.FailReason)
	}
	if _, err := e.svc.PayCollection(e.ctx, desk.Token, baoguan.PayerAction{Paid: true}); err == nil {
		t.Error("an expired code was paid")
	}
	// payzero's expired QR code can be replaced and paid.
	if _, fresh, err := e.svc.Recollect(e.ctx, e.m, "QR-1", "ALIPAY"); err != nil || fresh.Token == qr.Token {
		t.Errorf("recollect after expiry: %v", err)
	}
	// The expiry job keeps running, once a minute.
	js, _ := e.svc.Jobs(e.ctx, baoguan.JobFilter{Kind: baoguan.JobExpire})
	if len(js) != 1 || js[0].State != baoguan.JobQueued || !js[0].RunAt.Equal(e.clock.Now().Add(time.Minute)) {
		t.Errorf("expiry job: %+v", js)
	}
}

// run runs the jobs due now.
func (e *env) run(t *testing.T) {
	t.Helper()
	if _, err := e.svc.RunOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
}

func (e *env) status(t *testing.T, no string) baoguan.PayStatus {
	t.Helper()
	o, err := e.svc.Order(e.ctx, e.m, no)
	if err != nil {
		t.Fatal(err)
	}
	return o.PayStatus
}

// An order in another currency records the rate it was paid at and the
// CNY paid, once: a later rate changes new payments, never recorded ones;
// refunds are converted at the recorded rate; what customs may be told is
// CNY paid less the refunds' CNY share.
func TestForeignCurrencyPayments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	hkd := func(no string, amount int64) *baoguan.Order {
		in := walletOrder(no)
		in.Order.Currency, in.Order.Amount = "HKD", amount
		o, _, err := e.svc.PayInWallet(e.ctx, e.m, in, core.WalletPayment{Mode: baoguan.ChannelMicro, Wallet: baoguan.WalletWeChat, AuthCode: "135605691981176449"})
		if err != nil || !o.Paid() {
			t.Fatalf("%s: %v %+v", no, err, o)
		}
		return o
	}
	o := hkd("FX-1", 10001) // 100.01 HKD at the sandbox's 0.8789: 87.898789 → 87.90
	if o.Payment.ExchangeRate.String() != "0.8789" || o.Payment.CNYAmount != 8790 || o.Payment.SettleRate.String() != "1" || o.Declarable() != 8790 {
		t.Fatalf("recorded %+v, declarable %d", o.Payment, o.Declarable())
	}
	if _, err := e.svc.SetRate(e.ctx, "HKD", baoguan.MustRate("0.9")); err != nil {
		t.Fatal(err)
	}
	o2 := hkd("FX-2", 10000)
	if o2.Payment.ExchangeRate.String() != "0.9" || o2.Payment.CNYAmount != 9000 {
		t.Errorf("after the operator's rate: %+v", o2.Payment)
	}
	again, _ := e.svc.Order(e.ctx, e.m, "FX-1")
	if again.Payment.ExchangeRate.String() != "0.8789" || again.Payment.CNYAmount != 8790 {
		t.Errorf("a recorded payment changed with the rate: %+v", again.Payment)
	}
	// Three partial refunds: each share is the rounded total less the one
	// before, so they add up to exactly the CNY paid.
	var shares int64
	for i, amt := range []int64{3333, 3333, 3335} {
		r, _, err := e.svc.RefundNow(e.ctx, e.m, core.RefundInput{OrderNo: "FX-1", RefundNo: "FXR-" + string(rune('1'+i)), Amount: amt})
		if err != nil || r.Status != baoguan.RefundSucceed {
			t.Fatalf("refund %d: %v %+v", i, err, r)
		}
		shares += r.CNYAmount
		o, _ := e.svc.Order(e.ctx, e.m, "FX-1")
		if i < 2 && o.Declarable() != 8790-shares {
			t.Errorf("after refund %d: declarable %d, want %d", i+1, o.Declarable(), 8790-shares)
		}
	}
	if shares != 8790 {
		t.Errorf("refund shares add up to %d, want the 8790 paid", shares)
	}
	if o, _ := e.svc.Order(e.ctx, e.m, "FX-1"); o.Declarable() != 0 {
		t.Errorf("fully refunded: declarable %d", o.Declarable())
	}
	// Orders of other channels stay CNY.
	if _, _, err := e.svc.CreateOrder(e.ctx, e.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "FX-MOCK", Amount: 100, Currency: "HKD", Subject: "x"}}); baoguan.ErrorReason(err) != "bad_currency" {
		t.Errorf("a mock HKD order: %v", err)
	}
	q, err := e.svc.QuoteOrder(e.ctx, e.m, o2)
	if err != nil || !q.Recorded || q.CNY != 9000 {
		t.Errorf("quote of a paid order: %v %+v", err, q)
	}
}

// A customs code that needs two pushes (GUANGZHOU_HP_GJ: GUANGZHOU_ZS,
// then GUANGZHOU_HP_GJ), pushed one request at a time as WiseCashier's
// document asks: the second keeps the first's declaration as it stands,
// in flight or done, and adds its own.
func TestTwoPushesOneAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Minute) // customs answers after a minute
	o, _, err := e.svc.PayInWallet(e.ctx, e.m, walletOrder("TP-1"), core.WalletPayment{Mode: baoguan.ChannelMicro, Wallet: baoguan.WalletWeChat, AuthCode: "135605691981176449"})
	if err != nil || !o.Paid() {
		t.Fatal(err)
	}
	ref := core.OrderRef{No: "TP-1"}
	spec := func(code string) baoguan.DeclarationSpec {
		return baoguan.DeclarationSpec{Customs: code, MerchantCustomsNo: "4403W60123"}
	}
	if _, _, _, err := e.svc.DeclareTarget(e.ctx, e.m, ref, spec("GUANGZHOU_ZS")); err != nil {
		t.Fatal(err)
	}
	e.run(t) // handed to customs: in flight
	if _, d, created, err := e.svc.DeclareTarget(e.ctx, e.m, ref, spec("GUANGZHOU_HP_GJ")); err != nil || !created || d.Customs != "GUANGZHOU_HP_GJ" {
		t.Fatalf("second push: %v %v %+v", err, created, d)
	}
	ds, _ := e.svc.Declarations(e.ctx, e.m, "TP-1")
	if len(ds) != 2 || ds[0].Customs != "GUANGZHOU_ZS" || ds[0].Attempts != 1 {
		t.Errorf("declarations after the second push: %+v", ds)
	}
	// Another registration number for the first code is a conflict, not a
	// silent re-declaration.
	other := spec("GUANGZHOU_ZS")
	other.MerchantCustomsNo = "OTHER"
	if _, _, _, err := e.svc.DeclareTarget(e.ctx, e.m, ref, other); baoguan.ErrorCode(err) != baoguan.ECONFLICT {
		t.Errorf("the first code with other data: %v", err)
	}
	e.drain(t, 3*time.Minute)
	ds, _ = e.svc.Declarations(e.ctx, e.m, "TP-1")
	for _, d := range ds {
		if d.State != baoguan.DeclSuccess || d.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts", d.Customs, d.State, d.Attempts)
		}
	}
}
