package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// TestAmountFieldsAboveMaximum sends, in every amount field of every route
// of the native API that takes one, amounts just above baoguan.MaxAmount
// and up to the largest int64: each is a 400 invalid_request naming the
// field, and nothing is stored.
func TestAmountFieldsAboveMaximum(t *testing.T) {
	h := newHarness(t)
	first := order("AMX-PAID", 1000, declared(idSucceeds, "HG014"))
	h.post(t, h.A, "/v1/orders", first, http.StatusCreated)
	h.waitOrder(t, h.A, "AMX-PAID", "paid", paid)
	n := 0
	for _, v := range []int64{baoguan.MaxAmount + 1, 1 << 62, 9223372036854775807} {
		decl := func(field string) obj {
			d := obj{"customs": "HG022", "sub_order_no": "S1"}
			d[field] = v
			return d
		}
		withDecl := func(no, field string) obj {
			o := order(no, 1000)
			o["payer"], o["declarations"] = payer(idSucceeds), []obj{decl(field)}
			return o
		}
		cases := []struct {
			name, path string
			body       func(no string) obj
			field      string
		}{
			{"order amount", "/v1/orders", func(no string) obj { return order(no, 0, with("amount", v)) }, "amount"},
			{"item unit_amount", "/v1/orders", func(no string) obj {
				return order(no, 1000, with("items", []obj{{"subject": "a", "quantity": 1, "unit_amount": v}}))
			}, "unit_amount"},
			{"declaration order_fee", "/v1/orders", func(no string) obj { return withDecl(no, "order_fee") }, "order_fee"},
			{"declaration transport_fee", "/v1/orders", func(no string) obj { return withDecl(no, "transport_fee") }, "transport_fee"},
			{"declaration product_fee", "/v1/orders", func(no string) obj { return withDecl(no, "product_fee") }, "product_fee"},
			{"declaration duty", "/v1/orders", func(no string) obj { return withDecl(no, "duty") }, "duty"},
			{"batch order amount", "/v1/batches", func(no string) obj {
				return obj{"batch_no": no, "orders": []obj{order(no+"-1", 1), order(no+"-2", 0, with("amount", v))}}
			}, "amount"},
			{"batch order duty", "/v1/batches", func(no string) obj {
				return obj{"batch_no": no, "orders": []obj{withDecl(no+"-1", "duty")}}
			}, "duty"},
			{"refund amount", "/v1/refunds", func(no string) obj {
				return obj{"refund_no": no, "order_no": "AMX-PAID", "amount": v}
			}, "amount"},
			{"declare order_fee", "/v1/orders/AMX-PAID/declarations", func(string) obj {
				return obj{"declarations": []obj{decl("order_fee")}}
			}, "order_fee"},
			{"declare transport_fee", "/v1/orders/AMX-PAID/declarations", func(string) obj {
				return obj{"declarations": []obj{decl("transport_fee")}}
			}, "transport_fee"},
			{"declare product_fee", "/v1/orders/AMX-PAID/declarations", func(string) obj {
				return obj{"declarations": []obj{decl("product_fee")}}
			}, "product_fee"},
			{"declare duty", "/v1/orders/AMX-PAID/declarations", func(string) obj {
				return obj{"declarations": []obj{decl("duty")}}
			}, "duty"},
		}
		for _, c := range cases {
			n++
			no := "AMX-" + strconv.Itoa(n)
			r := h.do(t, request{Method: http.MethodPost, Path: c.path, Auth: bearer(h.A), Body: mustJSON(t, c.body(no))})
			var e struct {
				Error struct{ Code, Field string }
			}
			_ = json.Unmarshal(r.Body, &e)
			if r.Status != http.StatusBadRequest || !strings.HasSuffix(e.Error.Field, c.field) {
				t.Errorf("%s = %d: %s; want 400 naming %s", c.name, v, r, c.field)
			}
			if g := h.do(t, request{Method: http.MethodGet, Path: "/v1/orders/" + no, Auth: bearer(h.A)}); g.Status != http.StatusNotFound {
				t.Errorf("%s = %d: order %s stored: %s", c.name, v, no, g)
			}
		}
	}
	ds := h.get(t, h.A, "/v1/orders/AMX-PAID/declarations", http.StatusOK)
	if strings.Count(string(ds.Body), `"customs":`) != 1 {
		t.Errorf("a declaration with an amount above the maximum was stored: %s", ds.Body)
	}
}
