package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// TestDecoderStrictness sends, to every route that takes a JSON body, what
// encoding/json alone would store other than it was sent (invalid UTF-8,
// a lone surrogate escape, keys that differ only in case) or could not
// read (another charset, a compressed body), and the type and syntax
// errors whose answer must say where and what. Each is a 400 (415 for a
// coding or charset) naming the field by its JSON path, and nothing is
// written.
func TestDecoderStrictness(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.post(t, h.A, "/v1/orders", order("S-PAID", 500, declared(idNameMismatch, "HG014")), http.StatusCreated)
	h.waitOrder(t, h.A, "S-PAID", "declaration failed", func(o orderView) bool { return o.DeclareStatus == "DECLARE_FAILED" })

	gbkName := "\xd5\xc5\xc8\xfd" // 张三 in GBK
	routes := []struct {
		method, path string
		// good is a valid body as raw JSON with %s where a test puts a
		// member (a key and value, with the comma it needs).
		good string
		// amount is the path of an amount field in good, typed wrong below.
		amountBody, amountField string
		nested, nestedField     string
	}{
		{"POST", "/v1/orders", `{"merchant_order_no":"S-1","amount":100,"subject":"s"%s}`,
			`{"merchant_order_no":"S-1","amount":1.5,"subject":"s"}`, "amount",
			`{"merchant_order_no":"S-1","amount":100,"subject":"s","declarations":[{"customs":"HG014"},{"customs":7}]}`, "declarations[1].customs"},
		{"POST", "/v1/refunds", `{"refund_no":"SR-1","order_no":"S-PAID","amount":1%s}`,
			`{"refund_no":"SR-1","order_no":"S-PAID","amount":"1.00"}`, "amount",
			`{"refund_no":["SR-1"],"order_no":"S-PAID","amount":1}`, "refund_no"},
		{"POST", "/v1/batches", `{"orders":[{"merchant_order_no":"SB-1","amount":100,"subject":"s"}]%s}`,
			`{"orders":[{"merchant_order_no":"SB-1","amount":100,"subject":"s"},{"merchant_order_no":"SB-2","amount":1e2,"subject":"s"}]}`, "orders[1].amount",
			`{"orders":[{"merchant_order_no":"SB-1","amount":100,"subject":"s","declarations":[{"customs":"HG014","order_fee":"100"}]}]}`, "orders[0].declarations[0].order_fee"},
		{"POST", "/v1/orders/S-PAID/declarations", `{"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"}%s}`,
			`{"declarations":[{"customs":"HG014","order_fee":-0.5}]}`, "declarations[0].order_fee",
			`{"payer":{"name":"张三","id_number":110105199001011232}}`, "payer.id_number"},
		{"PATCH", "/v1/merchant", `{"notify_url":"https://example.com/hook"%s}`,
			"", "",
			`{"notify_url":["https://example.com/hook"]}`, "notify_url"},
	}
	type bad struct {
		name    string
		body    string
		headers map[string]string
		status  int
		code    string
		field   string
		msg     string
	}
	for _, rt := range routes {
		cases := []bad{
			{name: "keys differing only in case", body: strings.Replace(rt.good, "%s", `,"Memo":"a","MEMO":"b"`, 1), status: 400, code: "duplicate_key", field: "MEMO", msg: `"Memo" and "MEMO" differ only in case`},
			{name: "a key twice", body: strings.Replace(rt.good, "%s", `,"zz":1,"zz":2`, 1), status: 400, code: "duplicate_key", field: "zz"},
			{name: "GBK bytes", body: strings.Replace(rt.good, "%s", `,"name":"`+gbkName+`"`, 1), status: 400, code: "bad_encoding", field: "name", msg: "invalid UTF-8"},
			{name: "lone surrogate", body: strings.Replace(rt.good, "%s", `,"name":"\udc01"`, 1), status: 400, code: "bad_encoding", field: "name", msg: "surrogate"},
			{name: "GBK charset", body: strings.Replace(rt.good, "%s", "", 1), headers: map[string]string{"Content-Type": "application/json; charset=GBK"}, status: 415, code: "unsupported_encoding", field: "Content-Type"},
			{name: "gzip", body: strings.Replace(rt.good, "%s", "", 1), headers: map[string]string{"Content-Encoding": "gzip"}, status: 415, code: "unsupported_encoding", field: "Content-Encoding"},
			{name: "syntax error", body: strings.Replace(rt.good, "%s", `,"x":}`, 1), status: 400, code: "bad_json", field: "x", msg: "at byte " + strconv.Itoa(strings.Index(rt.good, "%s")+5)},
			{name: "nested type error", body: rt.nested, status: 400, code: "bad_type", field: rt.nestedField, msg: rt.nestedField + " must be"},
		}
		if rt.amountField != "" {
			cases = append(cases, bad{name: "amount not an integer", body: rt.amountBody, status: 400, code: "bad_type", field: rt.amountField,
				msg: rt.amountField + " must be an integer number of fen"})
		}
		for _, c := range cases {
			t.Run(rt.method+" "+rt.path+": "+c.name, func(t *testing.T) {
				hdr := map[string]string{"Content-Type": "application/json"}
				for k, v := range c.headers {
					hdr[k] = v
				}
				r := h.do(t, request{Method: rt.method, Path: rt.path, Auth: bearer(h.A), Headers: hdr, Body: []byte(c.body)})
				e := decode[struct {
					Error struct{ Code, Message, Field string }
				}](t, r)
				if r.Status != c.status || e.Error.Code != c.code || e.Error.Field != c.field || !strings.Contains(e.Error.Message, c.msg) {
					t.Errorf("%s\n%s: got %d %+v; want %d %s field %q message with %q", c.body, c.name, r.Status, e.Error, c.status, c.code, c.field, c.msg)
				}
			})
		}
	}
	r := h.do(t, request{Method: "POST", Path: "/v1/orders", Auth: bearer(h.A), Body: []byte(`{"merchant_order_no":"S-2","amount":1,"subject":"s","AMOUNT":100000}`)})
	if !strings.Contains(string(r.Body), `"code":"duplicate_key"`) || !strings.Contains(string(r.Body), `"field":"AMOUNT"`) {
		t.Errorf("amount and AMOUNT: %s", r)
	}
	// Nothing was written: no order, refund, batch or merchant change.
	os, err := h.svc.Orders(context.Background(), h.A.M, baoguan.OrderFilter{})
	if err != nil || len(os) != 1 {
		t.Errorf("orders after refused bodies: %d (%v), want 1", len(os), err)
	}
	if v, err := h.svc.OrderDetail(context.Background(), h.A.M, "S-PAID"); err != nil || len(v.Refunds) != 0 || v.Order.Payer.IDNumber != idNameMismatch {
		t.Errorf("S-PAID changed by refused bodies: %+v %v", v, err)
	}
	// The right body with identity coding and an explicit UTF-8 charset
	// is read.
	r = h.do(t, request{Method: "POST", Path: "/v1/orders", Auth: bearer(h.A), Body: []byte(`{"merchant_order_no":"S-OK","amount":100,"subject":"张三的"}`),
		Headers: map[string]string{"Content-Type": "application/json; charset=UTF-8", "Content-Encoding": "identity"}})
	if r.Status != http.StatusCreated {
		t.Errorf("a UTF-8 body with identity coding: %s", r)
	}
}
