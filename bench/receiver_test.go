package bench

import (
	"encoding/json"
	"testing"
)

// Two notifications as baoguan's native format renders them for a bench
// order (api.nativeFormat.Render, captured).
const (
	paidBody = `{"id":"evt_1","type":"order.paid","timestamp":"2026-12-03T10:00:00Z","data":{"merchant_order_no":"BENCH1","amount":4023,"currency":"CNY","subject":"测试商品","items":[{"subject":"测试商品1","link":"http://example.com/1","article_no":"HH00001"}],"payer":{"name":"张三","id_type":"1","id_number":"110***********1232","phone":"138****8000"},"ordered_at":"2026-12-03T10:00:00Z","channel":"mock","sandbox":true,"batch_id":null,"pay_status":"PAY_SUCCEED","declare_status":"PENDING_DECLARE","payment":{"payment_no":"P1","psp":"sandbox","psp_name":"Sandbox","paid_at":"2026-12-03T10:00:00Z"},"refunded":0,"created_at":"2026-12-03T10:00:00Z","updated_at":"2026-12-03T10:00:00Z"}}`
	declBody = `{"id":"evt_2","type":"declaration.succeeded","timestamp":"2026-12-03T10:00:00Z","data":{"merchant_order_no":"BENCH1","payment_no":"P1","id":"1","customs":"HG014","port":"sandbox","route":"sandbox","sub_order_id":"","order_fee":0,"transport_fee":0,"product_fee":0,"duty":0,"auth_check_strategy":"","identity_check":"","state":"SUCCESS","attempts":1,"modified_at":"2026-12-03T10:00:00Z"}}`
)

// unmarshalFields is what the receiver did before webhookFields: the
// whole body through json.Unmarshal.
func unmarshalFields(b []byte) webhook {
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			No string `json:"merchant_order_no"`
		} `json:"data"`
	}
	_ = json.Unmarshal(b, &ev)
	return webhook{ID: ev.ID, Type: ev.Type, No: ev.Data.No}
}

// TestWebhookFields: the receiver reads the three fields it counts by as
// a whole json.Unmarshal does, whatever the keys' order and whatever else
// the body holds.
func TestWebhookFields(t *testing.T) {
	for _, body := range []string{
		paidBody, declBody,
		`{"data":{"a":[1,{"b":2}],"merchant_order_no":"BENCH7","z":{}},"type":"declaration.succeeded","id":"evt_9"}`,
		`{"id":"evt_3","x":{"id":"no","type":"no"},"data":{"merchant_order_no":"BENCH3"},"type":"declaration.failed"}`,
		`{"id":"evt_4","type":"order.paid","data":{"amount":1}}`,
		`{"id":"evt_5","type":"order.paid"}`,
		`{"data":{"amount":1},"type":"order.paid","id":"evt_10"}`,
		`{"data":{},"id":"evt_11","type":"order.paid"}`,
		` { "id" : "evt_12" , "data" : { "merchant_order_no" : "BENCH\u0031\"" } , "type" : "declaration.succeeded" } `,
		`{"id":"evt_13","data":{"s":"}]\"{","merchant_order_no":"BENCH13"},"n":-1.5e3,"t":true,"type":"declaration.succeeded"}`,
		`{"id":"evt_6","data":{"merchant_order_no":"BENCH6"},"type":"declaration.succeeded","more":[1,2,3]}`,
	} {
		got, want := webhookFields([]byte(body)), unmarshalFields([]byte(body))
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", body, got, want)
		}
	}
	// Not JSON, or not an object: nothing is counted as declared.
	for _, body := range []string{``, `[]`, `"id"`, `{"id":`, `{"type":"declaration.succeeded","data":[`} {
		if got := webhookFields([]byte(body)); got.Type == "declaration.succeeded" && got.No != "" {
			t.Errorf("%q counted as declared: %+v", body, got)
		}
	}
}

// BenchmarkWebhookFields: the receiver's reading of an order's two
// notifications, as it is (fields) and as it was (unmarshal).
func BenchmarkWebhookFields(b *testing.B) {
	paid, decl := []byte(paidBody), []byte(declBody)
	for _, c := range []struct {
		name string
		f    func([]byte) webhook
	}{{"fields", webhookFields}, {"unmarshal", unmarshalFields}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if c.f(paid).No != "BENCH1" || c.f(decl).No != "BENCH1" {
					b.Fatal("no number")
				}
			}
		})
	}
}
