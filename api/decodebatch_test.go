package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/inbound"
)

// TestDecodeBatchAsWhole: an upload whose orders are decoded on several
// processors (decodeBatch) reads as the body decoded whole does, and a
// body with problems is answered with the problem a whole decode names:
// encoding/json's first in the body's order, wherever it is.
func TestDecodeBatchAsWhole(t *testing.T) {
	order := func(i int, extra string) string {
		return `{"merchant_order_no":"B` + strconv.Itoa(i) + `","amount":` + strconv.Itoa(100+i) + `,"subject":"测试商品",` +
			`"items":[{"subject":"测试商品1","quantity":2}],"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},` +
			`"ordered_at":"2026-11-23T10:00:00+08:00","declarations":[{"customs":"HG014","duty":3}]` + extra + `}`
	}
	upload := func(edit func(i int) string, tail string) string {
		var b strings.Builder
		b.WriteString(`{"batch_no":"BN-1","orders":[`)
		for i := 0; i < 2*parallelOrders; i++ {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(order(i, edit(i)))
		}
		b.WriteString(`]` + tail + `}`)
		return b.String()
	}
	none := func(int) string { return "" }
	at := func(n int, s string) func(int) string {
		return func(i int) string {
			if i == n {
				return s
			}
			return ""
		}
	}
	both := func(i int) string {
		switch i {
		case 300:
			return `,"colour":"red"`
		case 400:
			return `,"channel":7`
		}
		return ""
	}
	cases := []struct {
		name, body string
		bad        bool
	}{
		{"good", upload(none, `,"pay":true`), false},
		{"key in another case", strings.Replace(upload(none, ""), `"orders"`, `"Orders"`, 1), false},
		{"few orders", `{"orders":[` + order(1, "") + `]}`, false},
		{"a type error in an order", upload(at(333, `,"notify_url":5`), ""), true},
		{"an unknown field, then a type error", upload(both, ""), true},
		{"a type error after the orders", upload(none, `,"pay":"yes"`), true},
		{"an unknown field after the orders", upload(none, `,"paid":true`), true},
		{"a bad time", upload(at(500, `,"ordered_at":"yesterday"`), ""), true},
		{"a duplicate key", upload(at(260, `,"Amount":1`), ""), true},
	}
	a := &API{maxBatchBody: 32 << 20}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/v1/batches", bytes.NewReader([]byte(c.body)))
		req, orders, err := a.decodeBatch(httptest.NewRecorder(), r)
		var whole batchReq
		var wantErr error
		if p := inbound.Decode([]byte(c.body), &whole, true); p != nil {
			wantErr = problemError(p)
		}
		if c.bad != (wantErr != nil) {
			t.Fatalf("%s: whole decode's error %v; the case is wrong", c.name, wantErr)
		}
		if !reflect.DeepEqual(err, wantErr) {
			t.Errorf("%s: error %v, want %v", c.name, err, wantErr)
			continue
		}
		if wantErr != nil {
			continue
		}
		want := make([]core.OrderInput, len(whole.Orders))
		for i := range whole.Orders {
			want[i] = whole.Orders[i].orderInput()
		}
		if req.BatchNo != whole.BatchNo || req.Pay != whole.Pay || !reflect.DeepEqual(orders, want) {
			t.Errorf("%s: read %q pay %v and %d orders, want %q %v and %d orders (same: %v)", c.name, req.BatchNo, req.Pay, len(orders),
				whole.BatchNo, whole.Pay, len(want), reflect.DeepEqual(orders, want))
		}
	}
}

// TestReadBody: a body is read whole whatever length the request gave for
// it (none, its own, less), and one longer than the limit is refused.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	for _, c := range []struct {
		length, limit int64
		ok            bool
	}{{int64(len(body)), 1 << 20, true}, {-1, 1 << 20, true}, {10, 1 << 20, true}, {int64(len(body)), 100, false}, {10, 100, false}} {
		r := httptest.NewRequest(http.MethodPost, "/v1/batches", strings.NewReader(body))
		r.ContentLength = c.length
		got, err := readBody(httptest.NewRecorder(), r, c.limit)
		if c.ok && (err != nil || string(got) != body) {
			t.Errorf("length %d, limit %d: read %d bytes, %v; want the body", c.length, c.limit, len(got), err)
		}
		if !c.ok && err == nil {
			t.Errorf("length %d, limit %d: read %d bytes; want an error", c.length, c.limit, len(got))
		}
	}
}
