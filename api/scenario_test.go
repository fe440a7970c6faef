package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/docs"
	"github.com/baoguan/baoguan/webhook"
)

// TestScenarios drives every /v1 endpoint through the real router, store,
// job runner and sandbox: each success and each documented error.
func TestScenarios(t *testing.T) {
	h := newHarness(t)
	runSuite(t, h)
}

// runSuite runs every scenario group in order on one harness. The OpenAPI
// conformance test runs it too, with every response checked.
func runSuite(t *testing.T, h *harness) {
	groups := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"auth_and_routing", authAndRouting},
		{"merchant", merchantGroup},
		{"orders", ordersGroup},
		{"idempotency", idempotencyGroup},
		{"pay", payGroup},
		{"declarations", declarationsGroup},
		{"upstream_calls", upstreamCallsGroup},
		{"refunds", refundsGroup},
		{"batches", batchesGroup},
		{"events_and_webhooks", eventsGroup},
		{"all_webhook_types_signed", allWebhookTypes},
	}
	for _, g := range groups {
		if !t.Run(g.name, func(t *testing.T) { g.fn(t, h) }) {
			// Later groups build on a working pipeline; one failure is
			// enough to read.
			t.Logf("group %s failed", g.name)
		}
	}
}

// securedRoutes are the authenticated routes with a concrete path, used
// for the checks every route must pass (401, Idempotency-Key limits).
var securedRoutes = []struct{ Method, Path string }{
	{"POST", "/v1/orders"},
	{"GET", "/v1/orders"},
	{"GET", "/v1/orders/X-1"},
	{"POST", "/v1/orders/X-1/pay"},
	{"POST", "/v1/orders/X-1/declarations"},
	{"GET", "/v1/orders/X-1/declarations"},
	{"GET", "/v1/orders/X-1/calls"},
	{"POST", "/v1/refunds"},
	{"GET", "/v1/refunds/R-X"},
	{"POST", "/v1/batches"},
	{"GET", "/v1/batches/1"},
	{"POST", "/v1/batches/1/pay"},
	{"GET", "/v1/batches/1/orders"},
	{"GET", "/v1/events"},
	{"GET", "/v1/events/1"},
	{"POST", "/v1/events/1/redeliver"},
	{"GET", "/v1/merchant"},
	{"PATCH", "/v1/merchant"},
}

func authAndRouting(t *testing.T, h *harness) {
	table := []scenario{
		{Name: "no API key", Method: "GET", Path: "/v1/merchant", NoAuth: true, Status: 401,
			Expect:        []string{errFrag("unauthorized"), "missing API key"},
			ExpectHeaders: map[string]string{"WWW-Authenticate": `Bearer realm="baoguan"`}},
		{Name: "Basic instead of Bearer", Method: "GET", Path: "/v1/merchant", Auth: "Basic " + h.A.Key, Status: 401,
			Expect: []string{errFrag("unauthorized")}},
		// RFC 9110 §11.1: the scheme name is case-insensitive.
		{Name: "bearer in lower case", Method: "GET", Path: "/v1/merchant", Auth: "bearer " + h.A.Key, Status: 200,
			Expect: []string{`"merchant_no":"MA-001"`}},
		{Name: "BEARER in upper case", Method: "GET", Path: "/v1/merchant", Auth: "BEARER " + h.A.Key, Status: 200,
			Expect: []string{`"merchant_no":"MA-001"`}},
		{Name: "bEaReR with two spaces", Method: "GET", Path: "/v1/merchant", Auth: "bEaReR  " + h.A.Key, Status: 200,
			Expect: []string{`"merchant_no":"MA-001"`}},
		{Name: "Bearer without a token", Method: "GET", Path: "/v1/merchant", Auth: "Bearer ", Status: 401,
			Expect: []string{errFrag("unauthorized")}},
		{Name: "Bearer glued to the key", Method: "GET", Path: "/v1/merchant", Auth: "Bearer" + h.A.Key, Status: 401,
			Expect: []string{errFrag("unauthorized")}},
		{Name: "unknown route is JSON 404", Method: "GET", Path: "/v1/nope", Status: 404,
			Expect: []string{errFrag("no_route"), "GET /v1/nope"}},
		{Name: "unknown route with a key is JSON 404", Method: "POST", Path: "/v1/orders/X-1/cancel", Body: obj{}, Status: 404,
			Expect: []string{errFrag("no_route")}},
		{Name: "unknown method is JSON 404", Method: "DELETE", Path: "/v1/orders", Status: 404,
			Expect: []string{errFrag("no_route"), "DELETE /v1/orders"}},
		{Name: "customs catalogue needs no key", Method: "GET", Path: "/v1/customs", NoAuth: true, Status: 200,
			Expect: []string{`"code":"HG014","name":"宁波海关(总署版)"`, `"port":"NINGBO"`, `"next_cursor":null`,
				`"code":"HG018"`, `"required_extras":["customs_area_code","customs_jy_org"]`,
				`"code":"HENAN"`, `"plan":["HENAN","ZONGSHU"]`, `"schemes":["wechat","alipay"]`}},
		{Name: "openapi document", Method: "GET", Path: "/v1/openapi.json", NoAuth: true, Status: 200,
			Expect: []string{`"openapi": "3.1.0"`},
			Check: func(t *testing.T, r *response) {
				if !bytes.Equal(r.Body, docs.OpenAPI) {
					t.Errorf("served document differs from docs/openapi.json")
				}
			}},
	}
	for _, rt := range securedRoutes {
		var body any
		if rt.Method != "GET" {
			body = obj{}
		}
		table = append(table, scenario{Name: "bad key " + rt.Method + " " + rt.Path, Method: rt.Method, Path: rt.Path,
			Auth: "Bearer bg_test_not-a-key", Body: body, Status: 401,
			Expect: []string{errFrag("unauthorized"), "invalid API key"}})
	}
	h.run(t, table)
}

func merchantGroup(t *testing.T, h *harness) {
	h.run(t, []scenario{
		{Name: "get A", Method: "GET", Path: "/v1/merchant", Status: 200,
			Expect: []string{`"merchant_no":"MA-001"`, `"name":"Merchant A"`, `"mode":"sandbox"`, `"status":"active"`,
				`"notify_url":"` + h.hooks.srv.URL + `/hooks/a"`, `"funding_balance":100000000`},
			NotExpect: []string{"whsec_", "api_key", h.A.Key}},
		{Name: "get B", Method: "GET", Path: "/v1/merchant", As: &h.B, Status: 200,
			Expect: []string{`"merchant_no":"MB-002"`, `"notify_url":""`}},
		{Name: "get C in arrears", Method: "GET", Path: "/v1/merchant", As: &h.C, Status: 200,
			Expect: []string{`"status":"arrears"`}},
		{Name: "patch notify_url", Method: "PATCH", Path: "/v1/merchant", As: &h.C,
			Body: obj{"notify_url": "https://merchant.example/hooks"}, Status: 200,
			Expect: []string{`"notify_url":"https://merchant.example/hooks"`, `"merchant_no":"MC-003"`}},
		{Name: "patch null leaves it", Method: "PATCH", Path: "/v1/merchant", As: &h.C, Body: obj{"notify_url": nil}, Status: 200,
			Expect: []string{`"notify_url":"https://merchant.example/hooks"`}},
		{Name: "patch empty clears it", Method: "PATCH", Path: "/v1/merchant", As: &h.C, Body: obj{"notify_url": ""}, Status: 200,
			Expect: []string{`"notify_url":""`}},
		{Name: "patch bad scheme", Method: "PATCH", Path: "/v1/merchant", As: &h.C, Body: obj{"notify_url": "ftp://merchant.example/"}, Status: 400,
			Expect: []string{errFrag("invalid"), fieldFrag("notify_url")}},
		{Name: "patch unknown field", Method: "PATCH", Path: "/v1/merchant", As: &h.C, Body: obj{"name": "Evil"}, Status: 400,
			Expect: []string{errFrag("unknown_field"), fieldFrag("name")}},
		{Name: "patch wrong type", Method: "PATCH", Path: "/v1/merchant", As: &h.C, Body: obj{"notify_url": 7}, Status: 400,
			Expect: []string{errFrag("bad_type"), fieldFrag("notify_url")}},
		{Name: "patch oversized body", Method: "PATCH", Path: "/v1/merchant", As: &h.C, Body: bigBody(), Status: 413,
			Expect: []string{errFrag("body_too_large")}},
	})
}

// bigBody is a JSON object a little over the 1 MiB body limit.
func bigBody() string {
	return `{"merchant_order_no":"BIG-1","amount":1,"subject":"` + strings.Repeat("x", 1<<20+64) + `"}`
}

func ordersGroup(t *testing.T, h *harness) {
	good := order("O-1001", 4023, declared(idSucceeds, "HG014"),
		with("items", []obj{{"subject": "面霜", "quantity": 2, "unit_amount": 2000, "article_no": "SKU-1"}, {"subject": "运费险"}}),
		with("ordered_at", "2025-03-20T06:57:29+08:00"))
	var first orderView
	h.run(t, []scenario{
		{Name: "create declared order", Method: "POST", Path: "/v1/orders", Body: good, Status: 201,
			Expect: []string{`"merchant_order_no":"O-1001"`, `"amount":4023`, `"currency":"CNY"`, `"channel":"mock"`,
				`"sandbox":true`, `"batch_id":null`, `"id_number":"110***********1232"`, `"phone":"138****8000"`,
				`"customs":"HG014"`, `"port":"NINGBO"`, `"items":[{"subject":"面霜","article_no":"SKU-1","quantity":2,"unit_amount":2000},{"subject":"运费险"}]`,
				`"ordered_at":"2025-03-19T22:57:29Z"`},
			NotExpect: []string{idSucceeds, "13800138000"},
			Check:     func(t *testing.T, r *response) { first = decode[orderView](t, r) }},
		{Name: "same number same body is 200 with the same order", Method: "POST", Path: "/v1/orders", Body: good, Status: 200,
			Expect: []string{`"merchant_order_no":"O-1001"`},
			Check: func(t *testing.T, r *response) {
				// The repeat is read back from the store; the first answer
				// must not have differed from what was stored.
				if o := decode[orderView](t, r); o.CreatedAt != first.CreatedAt || o.OrderedAt != first.OrderedAt || o.Amount != 4023 {
					t.Errorf("repeat answered another order: %+v, first %+v", o, first)
				}
			}},
		{Name: "same number other body", Method: "POST", Path: "/v1/orders",
			Body: order("O-1001", 5000, declared(idSucceeds, "HG014")), Status: 409,
			Expect: []string{errFrag("duplicate_order_no"), fieldFrag("merchant_order_no")}},
		{Name: "plain order without declaration", Method: "POST", Path: "/v1/orders", Body: order("O-1002", 100), Status: 201,
			Expect: []string{`"merchant_order_no":"O-1002"`, `"items":[]`, `"declare_status":"NOT_DECLARED"`}},
		{Name: "external payment", Method: "POST", Path: "/v1/orders",
			Body: order("O-1003", 100, with("channel", "external"), with("payment_no", "EXT-PAY-1"), with("psp", "ACME")), Status: 201,
			Expect: []string{`"channel":"external"`, `"payment_no":"EXT-PAY-1"`}},
		{Name: "missing subject", Method: "POST", Path: "/v1/orders", Body: order("O-1900", 100, without("subject")), Status: 400,
			Expect: []string{errFrag("missing"), fieldFrag("subject")}},
		{Name: "missing merchant_order_no", Method: "POST", Path: "/v1/orders", Body: order("", 100, without("merchant_order_no")), Status: 400,
			Expect: []string{errFrag("missing"), fieldFrag("merchant_order_no")}},
		{Name: "missing amount", Method: "POST", Path: "/v1/orders", Body: order("O-1900", 0, without("amount")), Status: 400,
			Expect: []string{errFrag("bad_amount"), fieldFrag("amount")}},
		{Name: "missing payer of a declared order", Method: "POST", Path: "/v1/orders",
			Body: order("O-1900", 100, with("declarations", []obj{{"customs": "HG014"}})), Status: 400,
			Expect: []string{fieldFrag("payer.name")}},
		{Name: "malformed payer id", Method: "POST", Path: "/v1/orders",
			Body: order("O-1900", 100, declared("12345", "HG014")), Status: 400,
			Expect: []string{errFrag("bad_id_format"), fieldFrag("payer.id_number")}},
		{Name: "item without subject", Method: "POST", Path: "/v1/orders",
			Body: order("O-1900", 100, with("items", []obj{{"subject": "a"}, {"quantity": 1}})), Status: 400,
			Expect: []string{fieldFrag("items[1].subject")}},
		{Name: "external without payment_no", Method: "POST", Path: "/v1/orders",
			Body: order("O-1900", 100, with("channel", "external")), Status: 400,
			Expect: []string{fieldFrag("payment_no")}},
		{Name: "unknown channel", Method: "POST", Path: "/v1/orders", Body: order("O-1900", 100, with("channel", "cash")), Status: 400,
			Expect: []string{errFrag("bad_channel"), fieldFrag("channel")}},
		{Name: "other currency", Method: "POST", Path: "/v1/orders", Body: order("O-1900", 100, with("currency", "USD")), Status: 400,
			Expect: []string{errFrag("bad_currency"), fieldFrag("currency")}},
		{Name: "unknown customs code", Method: "POST", Path: "/v1/orders",
			Body: order("O-1900", 100, declared(idSucceeds, "HG999")), Status: 400,
			Expect: []string{errFrag("unknown_customs_code"), fieldFrag("customs"), "HG999"}},
		{Name: "port extra missing", Method: "POST", Path: "/v1/orders",
			Body: order("O-1900", 100, declared(idSucceeds, "HG018")), Status: 400,
			Expect: []string{errFrag("missing_customs_extra"), fieldFrag("customs_area_code")}},
		{Name: "split fees do not add up", Method: "POST", Path: "/v1/orders",
			Body: order("O-1900", 10000, declared(idSucceeds, "HG014"), with("declarations", []obj{
				{"customs": "HG014", "sub_order_no": "S1", "order_fee": 5000, "transport_fee": 1000, "product_fee": 3000}})), Status: 400,
			Expect: []string{errFrag("split_fees_mismatch"), fieldFrag("order_fee")}},
		{Name: "declared above the order amount", Method: "POST", Path: "/v1/orders",
			Body: order("O-1900", 1000, declared(idSucceeds, "HG014"), with("declarations", []obj{
				{"customs": "HG014", "order_fee": 5000, "transport_fee": 0, "product_fee": 5000}})), Status: 422,
			Expect: []string{errFrag("declared_above_paid"), fieldFrag("order_fee")}},
		{Name: "unknown JSON field", Method: "POST", Path: "/v1/orders", Body: order("O-1900", 100, with("colour", "red")), Status: 400,
			Expect: []string{errFrag("unknown_field"), fieldFrag("colour")}},
		{Name: "unknown nested JSON field", Method: "POST", Path: "/v1/orders",
			Body: order("O-1900", 100, with("payer", obj{"name": "张三", "id_number": idSucceeds, "phone": "13800138000", "email": "x"})), Status: 400,
			Expect: []string{errFrag("unknown_field"), "email"}},
		{Name: "amount as a string", Method: "POST", Path: "/v1/orders", Body: order("O-1900", 0, with("amount", "40.23")), Status: 400,
			Expect: []string{errFrag("bad_type"), fieldFrag("amount")}},
		{Name: "not JSON", Method: "POST", Path: "/v1/orders", Body: `{"merchant_order_no":`, Status: 400,
			Expect: []string{errFrag("bad_json")}},
		{Name: "empty body", Method: "POST", Path: "/v1/orders", Body: "", Status: 400,
			Expect: []string{errFrag("bad_json")}},
		{Name: "two JSON values", Method: "POST", Path: "/v1/orders", Body: `{} {}`, Status: 400,
			Expect: []string{errFrag("bad_json")}},
		{Name: "form body", Method: "POST", Path: "/v1/orders", Body: "amount=1",
			Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Status: 400,
			Expect: []string{errFrag("unsupported_media_type"), fieldFrag("Content-Type")}},
		{Name: "oversized body", Method: "POST", Path: "/v1/orders", Body: bigBody(), Status: 413,
			Expect: []string{errFrag("body_too_large")}},
		{Name: "merchant in arrears", Method: "POST", Path: "/v1/orders", As: &h.C, Body: order("C-1", 100), Status: 403,
			Expect: []string{errFrag("arrears")}},
		{Name: "get unknown order", Method: "GET", Path: "/v1/orders/NOPE", Status: 404,
			Expect: []string{errFrag("not_found")}},
		{Name: "another merchant's order is 404", Method: "GET", Path: "/v1/orders/O-1001", As: &h.B, Status: 404,
			Expect: []string{errFrag("not_found")}},
	})

	// The pipeline pays and declares in the background.
	o := h.waitOrder(t, h.A, "O-1001", "paid and declared", paidAndDeclared)
	if len(o.Declarations) != 1 || o.Declarations[0].State != "SUCCESS" || o.Declarations[0].IdentityCheck != "SAME" {
		t.Errorf("declarations after success: %+v", o.Declarations)
	}
	h.waitOrder(t, h.A, "O-1003", "paid", paid)

	var cursor string
	h.run(t, []scenario{
		{Name: "get paid order", Method: "GET", Path: "/v1/orders/O-1001", Status: 200,
			Expect: []string{`"pay_status":"PAY_SUCCEED"`, `"declare_status":"DECLARED"`, `"psp":"LYCHEEPAY"`,
				`"state":"SUCCESS"`, `"verify_department":"UNIONPAY"`, `"order_fee":4023`}},
		{Name: "external order keeps its payment", Method: "GET", Path: "/v1/orders/O-1003", Status: 200,
			Expect: []string{`"payment_no":"EXT-PAY-1"`, `"psp":"ACME"`, `"pay_status":"PAY_SUCCEED"`}},
		{Name: "list first page", Method: "GET", Path: "/v1/orders?limit=2", Status: 200,
			Expect:    []string{`"merchant_order_no":"O-1001"`, `"merchant_order_no":"O-1002"`},
			NotExpect: []string{`"declarations"`, `"next_cursor":null`},
			Check: func(t *testing.T, r *response) {
				l := decode[listView[orderView]](t, r)
				if len(l.Data) != 2 || l.NextCursor == nil {
					t.Fatalf("page: %s", r)
				}
				cursor = *l.NextCursor
			}},
	})
	rest := []scenario{
		{Name: "list next page", Method: "GET", Path: "/v1/orders?limit=2&cursor=" + cursor, Status: 200,
			Expect: []string{`"merchant_order_no":"O-1003"`}, NotExpect: []string{`"merchant_order_no":"O-1001"`}},
		{Name: "list by status", Method: "GET", Path: "/v1/orders?pay_status=PAY_SUCCEED&declare_status=DECLARED", Status: 200,
			Expect: []string{`"merchant_order_no":"O-1001"`}, NotExpect: []string{`"merchant_order_no":"O-1002"`}},
		{Name: "B sees none of A's orders", Method: "GET", Path: "/v1/orders", As: &h.B, Status: 200,
			Expect: []string{`{"data":[],"next_cursor":null}`}},
		{Name: "limit 0", Method: "GET", Path: "/v1/orders?limit=0", Status: 400, Expect: []string{fieldFrag("limit")}},
		{Name: "limit 1001", Method: "GET", Path: "/v1/orders?limit=1001", Status: 400, Expect: []string{fieldFrag("limit")}},
		{Name: "bad cursor", Method: "GET", Path: "/v1/orders?cursor=abc", Status: 400, Expect: []string{fieldFrag("cursor")}},
		{Name: "bad pay_status", Method: "GET", Path: "/v1/orders?pay_status=PAID", Status: 400, Expect: []string{fieldFrag("pay_status")}},
		{Name: "bad declare_status", Method: "GET", Path: "/v1/orders?declare_status=DONE", Status: 400, Expect: []string{fieldFrag("declare_status")}},
		{Name: "bad batch_id", Method: "GET", Path: "/v1/orders?batch_id=B1", Status: 400, Expect: []string{fieldFrag("batch_id")}},
	}
	h.run(t, rest)
}

func idempotencyGroup(t *testing.T, h *harness) {
	key := map[string]string{"Idempotency-Key": "idem-order-1"}
	body := order("I-1", 700)
	var first *response
	badKey := map[string]string{"Idempotency-Key": "idem-bad-1"}
	var firstBad *response
	table := []scenario{
		{Name: "first request", Method: "POST", Path: "/v1/orders", Headers: key, Body: body, Status: 201,
			Expect: []string{`"merchant_order_no":"I-1"`},
			Check: func(t *testing.T, r *response) {
				first = r
				if r.Header.Get("Idempotent-Replayed") != "" {
					t.Errorf("first response marked as replayed")
				}
			}},
		{Name: "same key same body replays", Method: "POST", Path: "/v1/orders", Headers: key, Body: body, Status: 201,
			ExpectHeaders: map[string]string{"Idempotent-Replayed": "true"},
			Check: func(t *testing.T, r *response) {
				if !bytes.Equal(r.Body, first.Body) {
					t.Errorf("replay differs:\n%s\n%s", r.Body, first.Body)
				}
			}},
		{Name: "same key other body", Method: "POST", Path: "/v1/orders", Headers: key, Body: order("I-2", 700), Status: 409,
			Expect: []string{errFrag("idempotency_key_reused"), fieldFrag("Idempotency-Key")}},
		{Name: "same key other path", Method: "POST", Path: "/v1/refunds", Headers: key, Body: body, Status: 409,
			Expect: []string{errFrag("idempotency_key_reused")}},
		{Name: "keys are per merchant", Method: "POST", Path: "/v1/orders", As: &h.B, Headers: key, Body: body, Status: 201,
			Expect: []string{`"merchant_order_no":"I-1"`},
			Check: func(t *testing.T, r *response) {
				if r.Header.Get("Idempotent-Replayed") != "" {
					t.Errorf("B got A's replay")
				}
			}},
		{Name: "an error is kept too", Method: "POST", Path: "/v1/orders", Headers: badKey, Body: order("I-3", 700, without("subject")), Status: 400,
			Expect: []string{fieldFrag("subject")}, Check: func(t *testing.T, r *response) { firstBad = r }},
		{Name: "and replayed", Method: "POST", Path: "/v1/orders", Headers: badKey, Body: order("I-3", 700, without("subject")), Status: 400,
			ExpectHeaders: map[string]string{"Idempotent-Replayed": "true"},
			Check: func(t *testing.T, r *response) {
				if !bytes.Equal(r.Body, firstBad.Body) {
					t.Errorf("replay differs")
				}
			}},
	}
	// Every POST caps the key and the body before its handler runs.
	for _, rt := range securedRoutes {
		if rt.Method != "POST" {
			continue
		}
		table = append(table,
			scenario{Name: "key too long " + rt.Path, Method: "POST", Path: rt.Path, Body: obj{},
				Headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, Status: 400,
				Expect: []string{fieldFrag("Idempotency-Key")}},
		)
		if rt.Path == "/v1/batches" {
			continue // batch uploads may be 32 MiB; over 10,000 orders is the 413 there
		}
		table = append(table, scenario{Name: "oversized body with key " + rt.Path, Method: "POST", Path: rt.Path, Body: bigBody(),
			Headers: map[string]string{"Idempotency-Key": "big-" + rt.Path}, Status: 413,
			Expect: []string{errFrag("body_too_large")}})
	}
	h.run(t, table)
}

func payGroup(t *testing.T, h *harness) {
	h.post(t, h.A, "/v1/orders", order("P-1PAYFAIL", 300), http.StatusCreated)
	h.post(t, h.A, "/v1/orders", order("P-2", 300), http.StatusCreated)
	o := h.waitOrder(t, h.A, "P-1PAYFAIL", "payment failed", func(o orderView) bool { return o.PayStatus == "PAY_FAILED" })
	if !strings.Contains(o.Payment.FailReason, "PAYFAIL") {
		t.Errorf("fail reason %q", o.Payment.FailReason)
	}
	h.waitOrder(t, h.A, "P-2", "paid", paid)
	h.run(t, []scenario{
		{Name: "arrange a failed payment again", Method: "POST", Path: "/v1/orders/P-1PAYFAIL/pay", Status: 202,
			Expect: []string{`"merchant_order_no":"P-1PAYFAIL"`}},
		{Name: "paid order cannot be paid again", Method: "POST", Path: "/v1/orders/P-2/pay", Status: 409,
			Expect: []string{errFrag("not_rearrangeable")}},
		{Name: "unknown order", Method: "POST", Path: "/v1/orders/NOPE/pay", Status: 404, Expect: []string{errFrag("not_found")}},
		{Name: "another merchant's order", Method: "POST", Path: "/v1/orders/P-2/pay", As: &h.B, Status: 404},
	})
	// The second round fails again (the suffix decides), with a second event.
	h.hooks.wait(t, "two order.payment_failed for P-1PAYFAIL", 2, func(d delivery) bool {
		return d.Type == "order.payment_failed" && d.orderNo() == "P-1PAYFAIL"
	})
}

func declarationsGroup(t *testing.T, h *harness) {
	h.post(t, h.A, "/v1/orders", order("D-1", 10000, declared(idNameMismatch, "HG014")), http.StatusCreated)
	h.post(t, h.A, "/v1/orders", order("D-2", 500), http.StatusCreated)
	h.post(t, h.A, "/v1/orders", order("D-3PAYFAIL", 500, declared(idSucceeds, "HG014")), http.StatusCreated)
	o := h.waitOrder(t, h.A, "D-1", "declaration failed", func(o orderView) bool { return o.DeclareStatus == "DECLARE_FAILED" })
	if len(o.Declarations) != 1 || o.Declarations[0].State != "FAIL" || o.Declarations[0].Explanation != "支付人姓名和证件号不匹配" {
		t.Fatalf("declarations after FAIL: %+v", o.Declarations)
	}
	failed := h.hooks.waitEvent(t, "declaration.failed", "D-1")
	verifySigned(t, failed, h.A, h.B)
	h.waitOrder(t, h.A, "D-2", "paid", paid)
	h.waitOrder(t, h.A, "D-3PAYFAIL", "payment failed", func(o orderView) bool { return o.PayStatus == "PAY_FAILED" })

	h.run(t, []scenario{
		{Name: "list the failed declaration", Method: "GET", Path: "/v1/orders/D-1/declarations", Status: 200,
			Expect: []string{`"state":"FAIL"`, `"explanation":"支付人姓名和证件号不匹配"`, `"customs":"HG014"`, `"next_cursor":null`}},
		{Name: "malformed new payer", Method: "POST", Path: "/v1/orders/D-1/declarations",
			Body: obj{"payer": payer("12345")}, Status: 400, Expect: []string{fieldFrag("payer.id_number")}},
		{Name: "unknown field", Method: "POST", Path: "/v1/orders/D-1/declarations",
			Body: obj{"payr": payer(idSucceeds)}, Status: 400, Expect: []string{errFrag("unknown_field"), fieldFrag("payr")}},
		{Name: "unknown customs code", Method: "POST", Path: "/v1/orders/D-1/declarations",
			Body: obj{"declarations": []obj{{"customs": "MARS"}}}, Status: 400,
			Expect: []string{errFrag("unknown_customs_code"), fieldFrag("customs")}},
		{Name: "port extra not allowed", Method: "POST", Path: "/v1/orders/D-1/declarations",
			Body: obj{"declarations": []obj{{"customs": "HG026", "customs_in_type": "3"}}}, Status: 400,
			Expect: []string{errFrag("bad_customs_extra"), fieldFrag("customs_in_type")}},
		{Name: "split fees do not add up", Method: "POST", Path: "/v1/orders/D-1/declarations",
			Body: obj{"declarations": []obj{{"customs": "HG022", "sub_order_no": "S1", "order_fee": 3000, "transport_fee": 1000, "product_fee": 1000}}}, Status: 400,
			Expect: []string{errFrag("split_fees_mismatch"), fieldFrag("order_fee")}},
		{Name: "re-declare with the corrected payer", Method: "POST", Path: "/v1/orders/D-1/declarations",
			Body: obj{"payer": payer(idSucceeds)}, Status: 202,
			Expect: []string{`"customs":"HG014"`, `"state":"PENDING"`, `"next_cursor":null`}},
	})
	o = h.waitOrder(t, h.A, "D-1", "re-declared", paidAndDeclared)
	if d := o.Declarations[0]; d.State != "SUCCESS" || d.Explanation != "" || d.VerifyDept != "UNIONPAY" || d.Attempts != 2 {
		t.Errorf("declaration after re-declaring: %+v", d)
	}
	ok := h.hooks.waitEvent(t, "declaration.succeeded", "D-1")
	verifySigned(t, ok, h.A, h.B)
	if dd := decodeRaw[declView](t, ok.Data); dd.State != "SUCCESS" || dd.MerchantOrder != "D-1" || dd.PaymentNo == "" {
		t.Errorf("declaration.succeeded data: %s", ok.Data)
	}

	h.run(t, []scenario{
		{Name: "succeeded declaration", Method: "GET", Path: "/v1/orders/D-1/declarations", Status: 200,
			Expect:    []string{`"state":"SUCCESS"`, `"identity_check":"DIFFERENT"`, `"verify_department":"UNIONPAY"`},
			NotExpect: []string{`"explanation"`}},
		{Name: "nothing failed, no target", Method: "POST", Path: "/v1/orders/D-1/declarations", Body: obj{}, Status: 409,
			Expect: []string{errFrag("nothing_to_declare")}},
		{Name: "split declaration", Method: "POST", Path: "/v1/orders/D-1/declarations",
			Body: obj{"declarations": []obj{{"customs": "HG022", "sub_order_no": "S1", "order_fee": 3000, "transport_fee": 1000, "product_fee": 2000}}}, Status: 202,
			Expect: []string{`"customs":"HG022"`, `"sub_order_no":"S1"`, `"order_fee":3000`, `"transport_fee":1000`, `"product_fee":2000`}},
		{Name: "split declarations above the paid amount", Method: "POST", Path: "/v1/orders/D-1/declarations",
			Body: obj{"declarations": []obj{{"customs": "HG022", "sub_order_no": "S2", "order_fee": 8000, "transport_fee": 0, "product_fee": 8000}}}, Status: 422,
			Expect: []string{errFrag("declared_above_paid"), fieldFrag("order_fee")}},
		{Name: "declare a paid order to a new target", Method: "POST", Path: "/v1/orders/D-2/declarations",
			Body: obj{"payer": payer(idSucceeds), "declarations": []obj{{"customs": "HG026", "customs_in_type": "1"}}}, Status: 202,
			Expect: []string{`"customs":"HG026"`, `"customs_in_type":"1"`, `"order_fee":500`}},
		{Name: "unpaid order", Method: "POST", Path: "/v1/orders/D-3PAYFAIL/declarations", Body: obj{}, Status: 409,
			Expect: []string{errFrag("not_paid")}},
		{Name: "unknown order", Method: "POST", Path: "/v1/orders/NOPE/declarations", Body: obj{}, Status: 404},
		{Name: "list for unknown order", Method: "GET", Path: "/v1/orders/NOPE/declarations", Status: 404},
		{Name: "another merchant's order", Method: "GET", Path: "/v1/orders/D-1/declarations", As: &h.B, Status: 404},
	})
	h.waitOrder(t, h.A, "D-2", "declared to Tianjin", paidAndDeclared)
}

func refundsGroup(t *testing.T, h *harness) {
	h.post(t, h.A, "/v1/orders", order("R-O1", 10000), http.StatusCreated)
	h.post(t, h.A, "/v1/orders", order("R-O2", 500), http.StatusCreated)
	h.post(t, h.A, "/v1/orders", order("R-O3PAYFAIL", 500), http.StatusCreated)
	h.waitOrder(t, h.A, "R-O1", "paid", paid)
	h.waitOrder(t, h.A, "R-O2", "paid", paid)
	h.waitOrder(t, h.A, "R-O3PAYFAIL", "payment failed", func(o orderView) bool { return o.PayStatus == "PAY_FAILED" })

	r1 := obj{"refund_no": "RF-1", "order_no": "R-O1", "amount": 3000, "reason": "退货"}
	h.run(t, []scenario{
		{Name: "refund part", Method: "POST", Path: "/v1/refunds", Body: r1, Status: 201,
			Expect: []string{`"refund_no":"RF-1"`, `"order_no":"R-O1"`, `"amount":3000`, `"reason":"退货"`}},
		{Name: "same refund again", Method: "POST", Path: "/v1/refunds", Body: r1, Status: 200,
			Expect: []string{`"refund_no":"RF-1"`, `"amount":3000`}},
		{Name: "same number other amount", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-1", "order_no": "R-O1", "amount": 3001, "reason": "退货"}, Status: 409,
			Expect: []string{errFrag("duplicate_refund_no"), fieldFrag("refund_no")}},
		{Name: "above the paid amount", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-2", "order_no": "R-O1", "amount": 7001}, Status: 422,
			Expect: []string{errFrag("refund_above_paid"), fieldFrag("amount")}},
		{Name: "the rest exactly", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-2", "order_no": "R-O1", "amount": 7000}, Status: 201,
			Expect: []string{`"refund_no":"RF-2"`}, NotExpect: []string{`"reason"`}},
		{Name: "refund the channel refuses", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-3REFUNDFAIL", "order_no": "R-O2", "amount": 100}, Status: 201},
		{Name: "unpaid order", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-4", "order_no": "R-O3PAYFAIL", "amount": 100}, Status: 409,
			Expect: []string{errFrag("not_paid")}},
		{Name: "unknown order", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-5", "order_no": "NOPE", "amount": 100}, Status: 404},
		{Name: "another merchant's order", Method: "POST", Path: "/v1/refunds", As: &h.B,
			Body: obj{"refund_no": "RF-6", "order_no": "R-O2", "amount": 100}, Status: 404},
		{Name: "missing refund_no", Method: "POST", Path: "/v1/refunds",
			Body: obj{"order_no": "R-O2", "amount": 100}, Status: 400, Expect: []string{fieldFrag("refund_no")}},
		{Name: "missing order_no", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-7", "amount": 100}, Status: 400, Expect: []string{fieldFrag("order_no")}},
		{Name: "zero amount", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-7", "order_no": "R-O2", "amount": 0}, Status: 400, Expect: []string{fieldFrag("amount")}},
		{Name: "unknown field", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-7", "order_no": "R-O2", "amount": 1, "currency": "CNY"}, Status: 400,
			Expect: []string{errFrag("unknown_field"), fieldFrag("currency")}},
		{Name: "get refund", Method: "GET", Path: "/v1/refunds/RF-1", Status: 200,
			Expect: []string{`"refund_no":"RF-1"`, `"order_no":"R-O1"`}},
		{Name: "get unknown refund", Method: "GET", Path: "/v1/refunds/NOPE", Status: 404},
		{Name: "another merchant's refund", Method: "GET", Path: "/v1/refunds/RF-1", As: &h.B, Status: 404},
	})

	o := h.waitOrder(t, h.A, "R-O1", "fully refunded", func(o orderView) bool { return o.Refunded == 10000 })
	if len(o.Refunds) != 2 {
		t.Errorf("refunds on the order: %+v", o.Refunds)
	}
	waitFor(t, "RF-3REFUNDFAIL failed", func() (bool, string) {
		r := h.get(t, h.A, "/v1/refunds/RF-3REFUNDFAIL", http.StatusOK)
		return decode[refundView](t, r).Status == "REFUND_FAILED", r.String()
	})
	h.run(t, []scenario{
		{Name: "succeeded refund", Method: "GET", Path: "/v1/refunds/RF-2", Status: 200, Expect: []string{`"status":"REFUND_SUCCEED"`}},
		{Name: "failed refund", Method: "GET", Path: "/v1/refunds/RF-3REFUNDFAIL", Status: 200,
			Expect: []string{`"status":"REFUND_FAILED"`, `"fail_reason":"`}},
		{Name: "nothing left to refund", Method: "POST", Path: "/v1/refunds",
			Body: obj{"refund_no": "RF-8", "order_no": "R-O1", "amount": 1}, Status: 422,
			Expect: []string{errFrag("refund_above_paid")}},
	})
	for _, d := range h.hooks.wait(t, "refund.succeeded for R-O1", 2, func(d delivery) bool {
		return d.Type == "refund.succeeded" && d.orderNo() == "R-O1"
	}) {
		verifySigned(t, d, h.A, h.B)
	}
	verifySigned(t, h.hooks.waitEvent(t, "refund.failed", "R-O2"), h.A, h.B)
}

func batchesGroup(t *testing.T, h *harness) {
	orders := []obj{
		order("B1-1", 100),
		order("B1-2", 200, declared(idSucceeds, "HG022")),
		order("B1-3", 300),
	}
	var batchID string
	h.run(t, []scenario{
		{Name: "upload", Method: "POST", Path: "/v1/batches", Body: obj{"batch_no": "BATCH-1", "orders": orders}, Status: 201,
			Expect: []string{`"batch_no":"BATCH-1"`, `"total":3`, `"amount":600`, `"pay_calls":0`, `"pay_other":3`},
			Check: func(t *testing.T, r *response) {
				batchID = decode[batchView](t, r).ID
				// The server's own time for the upload, read by the bench.
				st := r.Header.Get("Server-Timing")
				for _, part := range []string{"decode;dur=", "check;dur=", "store;dur=", `desc="1 chunks"`, "write;dur=", "longest;dur=", "total;dur="} {
					if !strings.Contains(st, part) {
						t.Errorf("Server-Timing %q lacks %s", st, part)
					}
				}
			}},
	})
	if batchID == "" {
		t.Fatal("no batch id")
	}
	big := make([]obj, 10001)
	for i := range big {
		big[i] = obj{"merchant_order_no": fmt.Sprintf("BIG-%05d", i), "amount": 1, "subject": "s"}
	}
	bp := "/v1/batches/" + batchID
	var cursor string
	h.run(t, []scenario{
		{Name: "same upload again", Method: "POST", Path: "/v1/batches", Body: obj{"batch_no": "BATCH-1", "orders": orders}, Status: 200,
			Expect: []string{`"id":"` + batchID + `"`}},
		{Name: "same number other orders", Method: "POST", Path: "/v1/batches", Body: obj{"batch_no": "BATCH-1", "orders": orders[:2]}, Status: 409,
			Expect: []string{errFrag("duplicate_batch_no"), fieldFrag("batch_no")}},
		{Name: "no orders", Method: "POST", Path: "/v1/batches", Body: obj{"orders": []obj{}}, Status: 400,
			Expect: []string{fieldFrag("orders")}},
		{Name: "a bad order refuses the batch", Method: "POST", Path: "/v1/batches",
			Body: obj{"orders": []obj{order("B2-1", 100), order("B2-2", 100, without("subject"))}}, Status: 400,
			Expect: []string{fieldFrag("orders[1].subject")}},
		{Name: "order number twice", Method: "POST", Path: "/v1/batches",
			Body: obj{"orders": []obj{order("B3-1", 100), order("B3-1", 100)}}, Status: 400,
			Expect: []string{errFrag("duplicate_order_no"), fieldFrag("orders[1].merchant_order_no")}},
		// The orders of a chunk are inserted with one statement; one number
		// taken (here by a push with other content) refuses the batch with
		// the error naming that order, and none of the chunk's others is kept.
		{Name: "order number taken by a push", Method: "POST", Path: "/v1/orders", Body: order("B5-2", 999), Status: 201},
		{Name: "order number of the batch taken", Method: "POST", Path: "/v1/batches",
			Body: obj{"orders": []obj{order("B5-1", 100), order("B5-2", 100), order("B5-3", 100)}}, Status: 409,
			Expect: []string{errFrag("duplicate_order_no"), fieldFrag("orders[1].merchant_order_no")}},
		{Name: "nothing of the refused batch kept", Method: "GET", Path: "/v1/orders/B5-1", Status: 404},
		{Name: "nor after the taken number", Method: "GET", Path: "/v1/orders/B5-3", Status: 404},
		{Name: "unknown field in an order", Method: "POST", Path: "/v1/batches",
			Body: obj{"orders": []obj{order("B4-1", 100, with("sku", "x"))}}, Status: 400,
			Expect: []string{errFrag("unknown_field"), "sku"}},
		{Name: "over 10,000 orders", Method: "POST", Path: "/v1/batches", Body: obj{"orders": big}, Status: 413,
			Expect: []string{errFrag("batch_too_large"), fieldFrag("orders")}},
		{Name: "merchant in arrears", Method: "POST", Path: "/v1/batches", As: &h.C, Body: obj{"orders": []obj{order("C-B1", 1)}}, Status: 403,
			Expect: []string{errFrag("arrears")}},
		{Name: "uploaded and paid at once, funding short", Method: "POST", Path: "/v1/batches",
			Body: obj{"batch_no": "BATCH-RICH", "pay": true, "orders": []obj{
				order("BR-1", 60_000_000, with("channel", "auto")), order("BR-2", 60_000_000, with("channel", "auto"))}}, Status: 422,
			Expect: []string{errFrag("funding_short")}},
		{Name: "get batch", Method: "GET", Path: bp, Status: 200,
			Expect: []string{`"id":"` + batchID + `"`, `"summary":{"total":3,`}},
		{Name: "batch orders wait unpaid", Method: "GET", Path: "/v1/orders?batch_id=" + batchID, Status: 200,
			Expect: []string{`"batch_id":"` + batchID + `"`, `"pay_status":"NOT_PAYED"`}, NotExpect: []string{`"PAY_SUCCEED"`}},
		{Name: "get batch by number is 404", Method: "GET", Path: "/v1/batches/BATCH-1", Status: 404},
		{Name: "get unknown batch", Method: "GET", Path: "/v1/batches/999999", Status: 404},
		{Name: "another merchant's batch", Method: "GET", Path: bp, As: &h.B, Status: 404},
		{Name: "pay", Method: "POST", Path: bp + "/pay", Status: 202,
			Expect: []string{`"scheduled":3`, `"id":"` + batchID + `"`, `"pay_calls":1`}},
		{Name: "pay unknown batch", Method: "POST", Path: "/v1/batches/999999/pay", Status: 404},
		{Name: "pay another merchant's batch", Method: "POST", Path: bp + "/pay", As: &h.B, Status: 404},
	})
	waitFor(t, "batch paid and declared", func() (bool, string) {
		r := h.get(t, h.A, bp, http.StatusOK)
		b := decode[batchView](t, r)
		return b.Summary.PaySucceeded == 3 && b.Summary.DeclSucc == 1, r.String()
	})
	h.run(t, []scenario{
		{Name: "summary", Method: "GET", Path: bp, Status: 200,
			Expect: []string{`"summary":{"total":3,"pay_succeeded":3,"pay_failed":0,"pay_other":0,"declare_succeeded":1,"declare_failed":0,"declare_other":2,"paid_amount":600,"finished":3}`}},
		{Name: "pay again: nothing to pay", Method: "POST", Path: bp + "/pay", Status: 409,
			Expect: []string{errFrag("nothing_to_pay")}},
		{Name: "orders page 1", Method: "GET", Path: bp + "/orders?limit=2", Status: 200,
			Expect: []string{`"merchant_order_no":"B1-1"`, `"merchant_order_no":"B1-2"`, `"pay_status":"PAY_SUCCEED"`},
			Check: func(t *testing.T, r *response) {
				l := decode[listView[orderView]](t, r)
				if len(l.Data) != 2 || l.NextCursor == nil {
					t.Fatalf("page 1: %s", r)
				}
				cursor = *l.NextCursor
			}},
	})
	h.run(t, []scenario{
		{Name: "orders page 2", Method: "GET", Path: bp + "/orders?limit=2&cursor=" + cursor, Status: 200,
			Expect: []string{`"merchant_order_no":"B1-3"`, `"next_cursor":null`}, NotExpect: []string{`"B1-1"`}},
		{Name: "orders filtered", Method: "GET", Path: bp + "/orders?declare_status=DECLARED", Status: 200,
			Expect: []string{`"merchant_order_no":"B1-2"`}, NotExpect: []string{`"B1-1"`, `"B1-3"`}},
		{Name: "orders bad limit", Method: "GET", Path: bp + "/orders?limit=x", Status: 400, Expect: []string{fieldFrag("limit")}},
		{Name: "orders of unknown batch", Method: "GET", Path: "/v1/batches/999999/orders", Status: 404},
		{Name: "orders of bad batch id", Method: "GET", Path: "/v1/batches/abc/orders", Status: 404},
	})

	// BATCH-RICH's payment was refused in the transaction that would have
	// stored it: nothing was stored, so the same upload without pay is a
	// new batch (201, not the 200 of a repeat), which then cannot be paid.
	rich := obj{"batch_no": "BATCH-RICH", "orders": []obj{
		order("BR-1", 60_000_000, with("channel", "auto")), order("BR-2", 60_000_000, with("channel", "auto"))}}
	h.run(t, []scenario{
		{Name: "a refused create-and-pay stored no order", Method: "GET", Path: "/v1/orders/BR-1", Status: 404},
	})
	b := decode[batchView](t, h.post(t, h.A, "/v1/batches", rich, http.StatusCreated))
	h.run(t, []scenario{
		{Name: "pay a batch the funding account cannot cover", Method: "POST", Path: "/v1/batches/" + b.ID + "/pay", Status: 422,
			Expect: []string{errFrag("funding_short")}},
	})
}

func eventsGroup(t *testing.T, h *harness) {
	for _, no := range []string{"E-1", "E-2"} {
		h.post(t, h.A, "/v1/orders", order(no, 1234, declared(idSucceeds, "HG014")), http.StatusCreated)
	}
	h.post(t, h.B, "/v1/orders", order("EB-1", 100), http.StatusCreated)
	for _, no := range []string{"E-1", "E-2"} {
		h.waitOrder(t, h.A, no, "paid and declared", paidAndDeclared)
		for _, typ := range []string{"order.paid", "declaration.succeeded"} {
			d := h.hooks.waitEvent(t, typ, no)
			verifySigned(t, d, h.A, h.B)
		}
	}
	paidHook := h.hooks.waitEvent(t, "order.paid", "E-1")
	if o := decodeRaw[orderView](t, paidHook.Data); o.PayStatus != "PAY_SUCCEED" || o.Payment.PaymentNo == "" || o.Amount != 1234 {
		t.Errorf("order.paid data: %s", paidHook.Data)
	}
	h.waitOrder(t, h.B, "EB-1", "paid", paid)

	// Find E-1's order.paid event and wait for it to be marked delivered.
	var ev eventView
	waitFor(t, "E-1 order.paid delivered", func() (bool, string) {
		r := h.get(t, h.A, "/v1/events?order_no=E-1&type=order.paid", http.StatusOK)
		l := decode[listView[eventView]](t, r)
		if len(l.Data) != 1 {
			return false, r.String()
		}
		ev = l.Data[0]
		return ev.Status == "delivered", r.String()
	})
	if ev.WebhookID != paidHook.ID {
		t.Errorf("event webhook_id %s, delivered id %s", ev.WebhookID, paidHook.ID)
	}
	var bEvent eventView
	h.run(t, []scenario{
		{Name: "events of an order", Method: "GET", Path: "/v1/events?order_no=E-1", Status: 200,
			Expect: []string{`"type":"order.paid"`, `"type":"declaration.succeeded"`, `"protocol":"native"`,
				`"url":"` + h.hooks.srv.URL + `/hooks/a"`, `"payload":{"id":"evt_`},
			NotExpect: []string{`"attempts":[`, `"E-2"`}},
		{Name: "events by type, paged", Method: "GET", Path: "/v1/events?type=order.paid&limit=1", Status: 200,
			Expect: []string{`"type":"order.paid"`}, NotExpect: []string{`"next_cursor":null`, `"declaration.succeeded"`}},
		{Name: "events by status", Method: "GET", Path: "/v1/events?status=delivered&limit=1000", Status: 200,
			Expect: []string{`"status":"delivered"`, `"next_cursor":null`}, NotExpect: []string{`"status":"pending"`}},
		{Name: "events bad limit", Method: "GET", Path: "/v1/events?limit=-1", Status: 400, Expect: []string{fieldFrag("limit")}},
		{Name: "events bad cursor", Method: "GET", Path: "/v1/events?cursor=x", Status: 400, Expect: []string{fieldFrag("cursor")}},
		{Name: "events bad status", Method: "GET", Path: "/v1/events?status=sent", Status: 400, Expect: []string{fieldFrag("status")}},
		{Name: "events of unknown order", Method: "GET", Path: "/v1/events?order_no=NOPE", Status: 404},
		{Name: "B's events: skipped without notify URL", Method: "GET", Path: "/v1/events", As: &h.B, Status: 200,
			Expect:    []string{`"type":"order.paid"`, `"status":"skipped"`, `"attempt_count":0`, `"delivered_at":null`},
			NotExpect: []string{`"url"`, `"E-1"`},
			Check: func(t *testing.T, r *response) {
				l := decode[listView[eventView]](t, r)
				if len(l.Data) == 0 {
					t.Fatalf("no events for B")
				}
				bEvent = l.Data[0]
			}},
		{Name: "get event with attempts", Method: "GET", Path: "/v1/events/" + ev.ID, Status: 200,
			Expect: []string{`"id":"` + ev.ID + `"`, `"status":"delivered"`, `"attempts":[{"at":"`, `"status":204`, `"delivered_at":"`}},
		{Name: "get event bad id", Method: "GET", Path: "/v1/events/evt_x", Status: 404},
		{Name: "get unknown event", Method: "GET", Path: "/v1/events/999999", Status: 404},
		{Name: "another merchant's event", Method: "GET", Path: "/v1/events/" + ev.ID, As: &h.B, Status: 404},
		{Name: "redeliver", Method: "POST", Path: "/v1/events/" + ev.ID + "/redeliver", Status: 202,
			Expect: []string{`"id":"` + ev.ID + `"`, `"status":"pending"`, `"attempt_count":0`, `"webhook_id":"` + ev.WebhookID + `"`}},
		{Name: "redeliver unknown event", Method: "POST", Path: "/v1/events/999999/redeliver", Status: 404},
		{Name: "redeliver another merchant's event", Method: "POST", Path: "/v1/events/" + ev.ID + "/redeliver", As: &h.B, Status: 404},
	})
	again := h.hooks.wait(t, "redelivery of "+ev.WebhookID, 2, func(d delivery) bool { return d.ID == ev.WebhookID })
	for _, d := range again {
		verifySigned(t, d, h.A, h.B)
	}
	if !bytes.Equal(again[0].Body, again[1].Body) {
		t.Errorf("redelivered body differs:\n%s\n%s", again[0].Body, again[1].Body)
	}
	h.run(t, []scenario{
		{Name: "redeliver without a notify URL", Method: "POST", Path: "/v1/events/" + bEvent.ID + "/redeliver", As: &h.B, Status: 409,
			Expect: []string{errFrag("no_notify_url")}},
	})
	waitFor(t, "redelivered event delivered", func() (bool, string) {
		r := h.get(t, h.A, "/v1/events/"+ev.ID, http.StatusOK)
		e := decode[eventView](t, r)
		return e.Status == "delivered" && len(e.History) == 2, r.String()
	})
}

// allWebhookTypes checks that the suite saw every event type, each signed.
func allWebhookTypes(t *testing.T, h *harness) {
	seen := map[string]int{}
	for _, d := range h.hooks.all() {
		if d.Path != "/hooks/a" {
			t.Errorf("delivery to %s", d.Path)
		}
		verifySigned(t, d, h.A, h.B)
		seen[d.Type]++
	}
	for _, typ := range []string{"order.paid", "order.payment_failed", "declaration.succeeded", "declaration.failed", "refund.succeeded", "refund.failed"} {
		if seen[typ] == 0 {
			t.Errorf("no %s delivered (saw %v)", typ, seen)
		}
	}
}

func decodeRaw[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}

// TestKeysInGracePeriod: an API key and a webhook secret reissued with a
// grace period. The old API key keeps opening the API and notifications
// are signed with both secrets, so a receiver holding either verifies
// them; after the operator revokes the old ones, only the new work.
func TestKeysInGracePeriod(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	old := h.A
	key, err := h.svc.ReissueKey(ctx, old.M.No, baoguan.KeyAPI, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := h.svc.ReissueKey(ctx, old.M.No, baoguan.KeyWebhook, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fresh := account{M: old.M, Key: key, Secret: secret}
	h.get(t, old, "/v1/merchant", http.StatusOK)
	h.get(t, fresh, "/v1/merchant", http.StatusOK)
	h.post(t, fresh, "/v1/orders", order("GRACE-1", 100), http.StatusCreated)
	d := h.hooks.waitEvent(t, "order.paid", "GRACE-1")
	for name, a := range map[string]account{"new": fresh, "old": old} {
		if err := webhook.Verify(a.Secret, d.Header, d.Body, time.Now(), webhook.DefaultTolerance); err != nil {
			t.Errorf("in the grace period, the %s secret does not verify: %v", name, err)
		}
	}
	if err := webhook.Verify(h.B.Secret, d.Header, d.Body, time.Now(), webhook.DefaultTolerance); err == nil {
		t.Error("another merchant's secret verifies")
	}

	for _, kind := range []string{baoguan.KeyAPI, baoguan.KeyWebhook} {
		if err := h.svc.RevokeKeys(ctx, old.M.No, kind); err != nil {
			t.Fatal(err)
		}
	}
	h.get(t, old, "/v1/merchant", http.StatusUnauthorized)
	h.get(t, fresh, "/v1/merchant", http.StatusOK)
	h.post(t, fresh, "/v1/orders", order("GRACE-2", 100), http.StatusCreated)
	d = h.hooks.waitEvent(t, "order.paid", "GRACE-2")
	verifySigned(t, d, fresh, h.B)
	if err := webhook.Verify(old.Secret, d.Header, d.Body, time.Now(), webhook.DefaultTolerance); err == nil {
		t.Error("the revoked secret still verifies")
	}
}

// upstreamCallsGroup: a live merchant's order paid elsewhere is declared
// through a live route; the calls its port made are listed per order.
func upstreamCallsGroup(t *testing.T, h *harness) {
	body := order("LV-1", 2500, declared(idSucceeds, "HG014"))
	body["channel"], body["payment_no"], body["psp"] = "external", "PAY-LV-1", "OTHERPAY"
	h.post(t, h.L, "/v1/orders", body, http.StatusCreated)
	o := h.waitOrder(t, h.L, "LV-1", "declared live", paidAndDeclared)
	if len(o.Declarations) != 1 {
		t.Fatalf("declarations: %+v", o.Declarations)
	}
	id := o.Declarations[0].ID
	h.run(t, []scenario{
		{Name: "the route is shown", Method: "GET", Path: "/v1/orders/LV-1/declarations", As: &h.L, Status: 200,
			Expect: []string{`"route":"eport"`}},
		{Name: "the order's calls", Method: "GET", Path: "/v1/orders/LV-1/calls", As: &h.L, Status: 200,
			Expect: []string{`"service":"test.upstream"`, `"operation":"declare"`, `"declaration_id":"` + id + `"`,
				`"attempt":1`, `"http_status":200`, `"code":"SUCCESS"`, `"outcome":"ok"`, `"next_cursor":null`}},
		{Name: "one declaration's calls, a page", Method: "GET", Path: "/v1/orders/LV-1/calls?declaration_id=" + id + "&limit=1", As: &h.L, Status: 200,
			Expect: []string{`"code":"SUCCESS"`, `"next_cursor":"`}},
		{Name: "a sandbox order has none", Method: "GET", Path: "/v1/orders/D-1/calls", Status: 200, Expect: []string{`"data":[]`}},
		{Name: "bad declaration id", Method: "GET", Path: "/v1/orders/LV-1/calls?declaration_id=x", As: &h.L, Status: 400,
			Expect: []string{fieldFrag("declaration_id")}},
		{Name: "another order's declaration", Method: "GET", Path: "/v1/orders/D-1/calls?declaration_id=" + id, Status: 404},
		{Name: "another merchant's order", Method: "GET", Path: "/v1/orders/LV-1/calls", Status: 404},
	})
}
