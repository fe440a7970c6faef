package main

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// TestAmountsAboveMaximumRefusedEverywhere sends amounts at and beyond
// baoguan.MaxAmount, up to the largest int64, in every amount field the
// native API, pushorder and payzero take, and the refund of
// 9223372036854775807 after a refund of 1: each is refused with the
// protocol's bad-parameter answer naming the field, and nothing is stored.
// (ACCP's amounts: accp TestExtremeTimestampsAndAmounts; WeChat's fees go
// through DeclarationSpec.Validate, TestSplitFeesCannotWrap.)
func TestAmountsAboveMaximumRefusedEverywhere(t *testing.T) {
	g := newGateway(t)
	ctx := t.Context()
	m, cr, err := g.svc.CreateMerchant(ctx, core.MerchantInput{No: "AM1", Name: "金额商户"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.svc.UpdateMerchant(ctx, "AM1", func(m *baoguan.Merchant) error {
		m.Settings["pushorder.access-token"] = "amountsToken0123456789"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + cr.APIKey, "Content-Type": "application/json"}
	login := g.do(call{method: "POST", target: "/payzero/auth/login", header: map[string]string{"Content-Type": "application/json"},
		body: `{"username":"` + m.AppID + `","password":"` + cr.AppKey + `"}`})
	var lr struct {
		Data struct{ Token string } `json:"data"`
	}
	if err := json.Unmarshal(login.Body.Bytes(), &lr); err != nil || lr.Data.Token == "" {
		t.Fatalf("payzero login: %s", login.Body)
	}
	pz := map[string]string{"Authorization": "Bearer " + lr.Data.Token, "Content-Type": "application/json"}

	big := []string{strconv.FormatInt(baoguan.MaxAmount+1, 10), "9223372036854775807", "4611686018427387904"}
	n := 0
	for _, v := range big {
		n++
		no := "AM-" + strconv.Itoa(n)
		cases := []struct {
			name, field string
			c           call
			status      int
			want        string
		}{
			{"native amount", "amount", call{method: "POST", target: "/v1/orders", header: bearer,
				body: `{"merchant_order_no":"` + no + `","amount":` + v + `,"subject":"s"}`}, 400, `"field":"amount"`},
			{"native unit_amount", "items[0].unit_amount", call{method: "POST", target: "/v1/orders", header: bearer,
				body: `{"merchant_order_no":"` + no + `","amount":1,"subject":"s","items":[{"subject":"a","unit_amount":` + v + `}]}`}, 400, `"field":"items[0].unit_amount"`},
			{"native order_fee", "order_fee", call{method: "POST", target: "/v1/orders", header: bearer,
				body: `{"merchant_order_no":"` + no + `","amount":1,"subject":"s","payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},` +
					`"declarations":[{"customs":"HG014","sub_order_no":"S1","order_fee":` + v + `,"transport_fee":0,"product_fee":` + v + `}]}`}, 400, `"field":"order_fee"`},
			{"native duty", "duty", call{method: "POST", target: "/v1/orders", header: bearer,
				body: `{"merchant_order_no":"` + no + `","amount":1,"subject":"s","payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},` +
					`"declarations":[{"customs":"HG014","duty":` + v + `}]}`}, 400, `"field":"duty"`},
			{"payzero paymentAmount", "paymentAmount", call{method: "POST", target: "/payzero/order/createAndMockpay", header: pz,
				body: `{"mchtOrderNo":"` + no + `","paymentAmount":` + v + `,"currency":"CNY","subject":"s","needDeclare":false}`}, 200, `paymentAmount`},
		}
		for _, c := range cases {
			w := g.do(c.c)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) || strings.Contains(w.Body.String(), `"success":true`) {
				t.Errorf("%s = %s: %d %s; want %d naming %s", c.name, v, w.Code, w.Body, c.status, c.field)
			}
		}
		if _, err := g.svc.Order(ctx, m, no); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
			t.Errorf("an order with an amount of %s was stored (%v)", v, err)
		}
	}
	// pushorder's OrderTotal is yuan text: one fen above the maximum, and
	// the largest int64 of fen.
	for i, total := range []string{"1000000000000.01", "92233720368547758.07", "99999999999999999999"} {
		data := `{"OperationType":"A","OrderNo":"AMP-` + strconv.Itoa(i) + `","ReceiverName":"张三","ReceiverCardNo":"110105199001011232",` +
			`"TotalNum":1,"OrderTotal":` + total + `,"ItemNames":"测试商品","ShopPayTime":"2018-07-01 21:22:34","MerchantName":"金额商户",` +
			`"CapitalName":"资方","ReceiverMobile":"13817494910","CustomsCode":"HG014"}`
		w := g.do(call{method: "POST", target: "/pushorder/amountsToken0123456789/PushTestOrder", header: map[string]string{"Content-Type": form},
			body: url.Values{"data": {data}}.Encode()})
		if !strings.Contains(w.Body.String(), `"ReturnCode":"9909"`) || !strings.Contains(w.Body.String(), "OrderTotal") {
			t.Errorf("pushorder OrderTotal %s: %s; want 9909 naming OrderTotal", total, w.Body)
		}
	}

	// The refund: 1 fen, then 9223372036854775807 more.
	w := g.do(call{method: "POST", target: "/payzero/order/createAndMockpay", header: pz,
		body: `{"mchtOrderNo":"AM-PAID","paymentAmount":100,"currency":"CNY","subject":"s","needDeclare":false}`})
	if !strings.Contains(w.Body.String(), `"success":true`) {
		t.Fatalf("mock payment: %s", w.Body)
	}
	if o, err := g.svc.Order(ctx, m, "AM-PAID"); err != nil || !o.Paid() {
		t.Fatalf("AM-PAID not paid: %v %v", o, err)
	}
	w = g.do(call{method: "POST", target: "/v1/refunds", header: bearer, body: `{"refund_no":"RF-1","order_no":"AM-PAID","amount":1}`})
	if w.Code != 201 {
		t.Fatalf("refund of 1: %d %s", w.Code, w.Body)
	}
	for i, v := range []string{"9223372036854775807", "9223372036854775806", strconv.FormatInt(baoguan.MaxAmount, 10), "100"} {
		w = g.do(call{method: "POST", target: "/v1/refunds", header: bearer,
			body: `{"refund_no":"RF-X` + strconv.Itoa(i) + `","order_no":"AM-PAID","amount":` + v + `}`})
		want, field := 400, `"field":"amount"`
		if v == strconv.FormatInt(baoguan.MaxAmount, 10) || v == "100" {
			want = 422 // a valid amount, above what is left to refund
		}
		if w.Code != want || !strings.Contains(w.Body.String(), field) {
			t.Errorf("refund of %s after 1: %d %s; want %d naming amount", v, w.Code, w.Body, want)
		}
	}
	if rs, err := g.svc.RefundByNo(ctx, m, "RF-X0"); err == nil {
		t.Errorf("the wrapping refund was stored: %+v", rs)
	}
}
