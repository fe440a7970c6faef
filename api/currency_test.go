package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// An order a merchant took through a wallet in another currency (the
// WiseCashier front-end does it through the same core calls) is visible
// through /v1 with its currency facts, and the answers conform to
// docs/openapi.json.
func TestForeignOrderVisible(t *testing.T) {
	spec := loadSpec(t)
	h := newHarness(t)
	h.observe = func(t *testing.T, ex exchange) {
		t.Helper()
		if err := spec.check(ex); err != nil {
			t.Errorf("OpenAPI: %v", err)
		}
	}
	a := h.merchant(t, core.MerchantInput{Name: "hk shop"})
	ctx := context.Background()
	o, _, err := h.svc.PayInWallet(ctx, a.M, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "HK-1", Amount: 10000, Currency: "HKD", Subject: "奶粉"}},
		core.WalletPayment{Mode: baoguan.ChannelMicro, Wallet: baoguan.WalletWeChat, AuthCode: "135605691981176449"})
	if err != nil || !o.Paid() {
		t.Fatalf("wallet payment: %v %+v", err, o)
	}
	if _, _, err := h.svc.RefundNow(ctx, a.M, core.RefundInput{OrderNo: "HK-1", RefundNo: "HKR-1", Amount: 3000}); err != nil {
		t.Fatal(err)
	}
	got := decode[map[string]any](t, h.get(t, a, "/v1/orders/HK-1", http.StatusOK))
	pay := got["payment"].(map[string]any)
	if got["currency"] != "HKD" || got["channel"] != "micro" || pay["exchange_rate"] != "0.8789" || pay["pay_amount"] != float64(8789) ||
		pay["pay_currency"] != "CNY" || pay["settle_rate"] != "1" || pay["psp"] != "WECHAT" {
		t.Errorf("order %v", got)
	}
	r := decode[map[string]any](t, h.get(t, a, "/v1/refunds/HKR-1", http.StatusOK))
	if r["cny_amount"] != float64(2637) || r["amount"] != float64(3000) {
		t.Errorf("refund %v", r)
	}
	// /v1 itself creates CNY orders only.
	h.post(t, a, "/v1/orders", map[string]any{"merchant_order_no": "HK-2", "amount": 100, "currency": "HKD", "subject": "x"}, http.StatusBadRequest)
}
