package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/storetest"
)

// TestPayerDataSealedAtRestAndMasked, on each store: orders, a batch and a
// live order with distinct payer ID numbers and phones go in through the
// native API (with Idempotency-Keys, so answers are saved too), and their
// notifications go to a receiver that echoes what it gets. Every /v1
// answer that shows them must mask them, and the database (the SQLite file
// and its WAL; every PostgreSQL table, BYTEA included) must hold none in
// clear.
func TestPayerDataSealedAtRestAndMasked(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			h := newHarnessOn(t, kind)
			e := h.merchant(t, core.MerchantInput{No: "ME-AR", Name: "Merchant Echo", NotifyURL: h.hooks.srv.URL + "/hooks/echo"})
			var vals []string
			payerN := func(n int) obj {
				id, phone := storetest.IDNumber(n), storetest.Phone(n)
				vals = append(vals, id, phone)
				return obj{"name": "张三", "id_type": "IDCARD", "id_number": id, "phone": phone}
			}
			var nos []string
			for i := range 3 {
				no := fmt.Sprintf("AR-%d", i)
				nos = append(nos, no)
				body := order(no, 100+int64(i))
				body["payer"], body["declarations"] = payerN(600+i), []obj{{"customs": "HG014"}}
				r := h.do(t, request{Method: http.MethodPost, Path: "/v1/orders", Auth: bearer(e), Body: mustJSON(t, body),
					Headers: map[string]string{"Idempotency-Key": "ar-" + no}})
				if r.Status != http.StatusCreated {
					t.Fatalf("POST /v1/orders: %s", r)
				}
			}
			batch := []obj{}
			for i := range 2 {
				no := fmt.Sprintf("ARB-%d", i)
				nos = append(nos, no)
				b := order(no, 200)
				b["payer"], b["declarations"] = payerN(700+i), []obj{{"customs": "HG022"}}
				batch = append(batch, b)
			}
			r := h.do(t, request{Method: http.MethodPost, Path: "/v1/batches", Auth: bearer(e),
				Body: mustJSON(t, obj{"batch_no": "AR-BATCH", "pay": true, "orders": batch}), Headers: map[string]string{"Idempotency-Key": "ar-batch"}})
			if r.Status != http.StatusCreated {
				t.Fatalf("POST /v1/batches: %s", r)
			}
			live := order("AR-LIVE", 300)
			live["payer"], live["declarations"] = payerN(800), []obj{{"customs": "HG014"}}
			live["channel"], live["payment_no"], live["psp"] = "external", "PAY-AR-LIVE", "OTHERPAY"
			h.post(t, h.L, "/v1/orders", live, http.StatusCreated)
			h.waitOrder(t, h.L, "AR-LIVE", "declared live", paidAndDeclared)
			for _, no := range nos {
				h.waitOrder(t, e, no, "paid and declared", paidAndDeclared)
			}
			waitFor(t, "every notification tried", func() (bool, string) {
				l := decode[listView[eventView]](t, h.get(t, e, "/v1/events?limit=100", http.StatusOK))
				for _, ev := range l.Data {
					if ev.Attempts == 0 {
						return false, ev.ID + " not tried"
					}
				}
				return len(l.Data) >= len(nos), fmt.Sprint(len(l.Data), " events")
			})

			// Every native answer that shows them masks them.
			shown := func(what string, body []byte) {
				for _, v := range vals {
					if strings.Contains(string(body), v) {
						t.Errorf("%s shows %s unmasked: %s", what, v, body)
					}
				}
			}
			l := decode[listView[eventView]](t, h.get(t, e, "/v1/events?limit=100", http.StatusOK))
			shown("GET /v1/events", h.get(t, e, "/v1/events?limit=100", http.StatusOK).Body)
			for _, ev := range l.Data {
				shown("GET /v1/events/"+ev.ID, h.get(t, e, "/v1/events/"+ev.ID, http.StatusOK).Body)
			}
			shown("POST /v1/events/{id}/redeliver", h.post(t, e, "/v1/events/"+l.Data[0].ID+"/redeliver", nil, http.StatusAccepted).Body)
			for _, no := range nos {
				shown("GET /v1/orders/"+no, h.get(t, e, "/v1/orders/"+no, http.StatusOK).Body)
				shown("GET /v1/orders/"+no+"/declarations", h.get(t, e, "/v1/orders/"+no+"/declarations", http.StatusOK).Body)
			}
			shown("GET /v1/orders", h.get(t, e, "/v1/orders?limit=100", http.StatusOK).Body)
			calls := h.get(t, h.L, "/v1/orders/AR-LIVE/calls", http.StatusOK).Body
			if !strings.Contains(string(calls), "accepted ") {
				t.Errorf("the live order's call is not listed: %s", calls)
			}
			shown("GET /v1/orders/AR-LIVE/calls", calls)
			shown("GET /v1/orders/AR-LIVE", h.get(t, h.L, "/v1/orders/AR-LIVE", http.StatusOK).Body)
			bv := decode[batchView](t, h.do(t, request{Method: http.MethodPost, Path: "/v1/batches", Auth: bearer(e),
				Body: mustJSON(t, obj{"batch_no": "AR-BATCH", "pay": true, "orders": batch}), Headers: map[string]string{"Idempotency-Key": "ar-batch"}}))
			shown("GET /v1/batches/{id}/orders", h.get(t, e, "/v1/batches/"+bv.ID+"/orders", http.StatusOK).Body)
			echoed := false
			for _, d := range h.hooks.all() {
				for _, v := range vals {
					echoed = echoed || strings.Contains(string(d.Body), v)
				}
			}
			t.Logf("notifications carry the values in full: %v", echoed)

			// Nothing in clear at rest.
			switch kind {
			case "sqlite":
				found, err := storetest.FindInFiles(h.path, vals)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range found {
					t.Errorf("in clear at rest: %s", f)
				}
			case "postgres":
				for _, f := range pgtest.FindInTables(t, h.pgURL, vals) {
					t.Errorf("in clear at rest: %s", f)
				}
			}
		})
	}
}
