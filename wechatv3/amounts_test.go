package wechatv3_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/baoguan/baoguan"
)

// TestAmountFieldsAboveMaximum sends, in each fee of declare (POST) and
// modify (PATCH), amounts just above baoguan.MaxAmount and up to the
// largest int64: each is a 400 PARAM_ERROR whose detail names the field
// (as WeChat does, "#/properties/order_fee"), and the declaration keeps
// its fees.
func TestAmountFieldsAboveMaximum(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.paidOrder(t, h.A.M, orderSpec{No: "WX-AMX", Amount: 10000})
	d := h.declare(t, h.A, map[string]any{"out_trade_no": "WX-AMX", "customs": "SHANGHAI_ZS", "merchant_customs_no": "31",
		"sub_order_no": "S1", "fee_type": "CNY", "order_fee": 10000, "transport_fee": 0, "product_fee": 10000})
	h.waitDecl(t, h.A.M, "WX-AMX", "SHANGHAI_ZS", "S1", baoguan.DeclSuccess)
	h.paidOrder(t, h.A.M, orderSpec{No: "WX-AMX2", Amount: 10000})
	for _, v := range []int64{baoguan.MaxAmount + 1, 1 << 62, 9223372036854775807} {
		for _, field := range []string{"order_fee", "transport_fee", "product_fee", "duty"} {
			for _, method := range []string{http.MethodPost, http.MethodPatch} {
				body := map[string]any{"appid": "wxd678efh567hg6787", "mchid": h.A.MchID, "out_trade_no": "WX-AMX2",
					"customs": "SHANGHAI_ZS", "merchant_customs_no": "31", field: v}
				if method == http.MethodPatch {
					body["out_trade_no"] = "WX-AMX"
				}
				body["sub_order_no"], body["fee_type"] = "S1", "CNY"
				for _, f := range []string{"order_fee", "transport_fee", "product_fee"} {
					if _, set := body[f]; !set {
						body[f] = int64(1)
					}
				}
				r := h.do(t, call{Method: method, Path: customsPath + "/orders", Body: mustJSON(t, body), As: h.A})
				if r.Status != http.StatusBadRequest {
					t.Errorf("%s %s = %d: %s; want 400", method, field, v, r)
					continue
				}
				e := decode[wireErr](t, r)
				if e.Code != "PARAM_ERROR" || e.Detail == nil || e.Detail.Field != "#/properties/"+field {
					t.Errorf("%s %s = %d: %s; want PARAM_ERROR naming %s", method, field, v, r, field)
				}
			}
		}
	}
	ds, err := h.svc.Declarations(context.Background(), h.A.M, "WX-AMX")
	if err != nil || len(ds) != 1 || ds[0].OrderFee != d.OrderFee || ds[0].Duty != d.Duty {
		t.Errorf("the declaration changed: %+v %v", ds, err)
	}
	if ds, _ := h.svc.Declarations(context.Background(), h.A.M, "WX-AMX2"); len(ds) != 0 {
		t.Errorf("a declaration with an amount above the maximum was stored: %+v", ds)
	}
}
