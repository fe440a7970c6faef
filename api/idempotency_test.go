package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/baoguan/baoguan"
)

// TestIdempotencyKeyConcurrent sends 16 requests with one Idempotency-Key
// at the same moment. The key is taken in the transaction that writes the
// effect, so there is one effect, and every request gets the first
// request's answer: the same status and the same bytes, all but one marked
// as replayed.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const n = 16

	// An order: one is created; a request that ran the handler again
	// would answer 200 (the natural key's repeat) instead of 201.
	answers := h.concurrent(t, n, "/v1/orders", "idem-concurrent-order", mustJSON(t, order("IC-1", 900)))
	same(t, "POST /v1/orders", answers, http.StatusCreated)
	if os, err := h.svc.Orders(context.Background(), h.A.M, baoguan.OrderFilter{}); err != nil || len(os) != 1 {
		t.Errorf("orders after %d concurrent requests: %d (%v), want 1", n, len(os), err)
	}

	// A batch payment: paying is the effect (pay_calls); a request that ran
	// the handler again would find nothing left to pay and answer 409.
	var b struct{ ID string }
	if err := json.Unmarshal(h.post(t, h.A, "/v1/batches", obj{"batch_no": "IC-B", "orders": []obj{order("IC-B1", 100), order("IC-B2", 200)}}, 201).Body, &b); err != nil || b.ID == "" {
		t.Fatalf("batch: %+v %v", b, err)
	}
	id, err := strconv.ParseInt(b.ID, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/batches/" + b.ID + "/pay"
	answers = h.concurrent(t, n, path, "idem-concurrent-pay", nil)
	same(t, "POST "+path, answers, http.StatusAccepted)
	batch, _, err := h.svc.Batch(context.Background(), h.A.M, id)
	if err != nil || batch.PayCalls != 1 {
		t.Errorf("pay calls after %d concurrent requests with one key: %+v %v, want 1", n, batch, err)
	}
}

type answer struct {
	status   int
	replayed bool
	body     []byte
	err      error
}

// concurrent POSTs body to path n times at once, as merchant A, with one
// Idempotency-Key.
func (h *harness) concurrent(t *testing.T, n int, path, key string, body []byte) []answer {
	t.Helper()
	out := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(body))
			if err != nil {
				out[i].err = err
				return
			}
			req.Header.Set("Authorization", bearer(h.A))
			req.Header.Set("Idempotency-Key", key)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			<-start
			resp, err := h.client.Do(req)
			if err != nil {
				out[i].err = err
				return
			}
			defer resp.Body.Close()
			out[i].body, out[i].err = io.ReadAll(resp.Body)
			out[i].status, out[i].replayed = resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true"
		})
	}
	close(start)
	wg.Wait()
	return out
}

// same checks that every answer is the first request's.
func same(t *testing.T, what string, answers []answer, status int) {
	t.Helper()
	fresh := 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Fatalf("%s #%d: %v", what, i, a.err)
		case a.status != status:
			t.Errorf("%s #%d: status %d (%s), want %d", what, i, a.status, a.body, status)
		case !bytes.Equal(a.body, answers[0].body):
			t.Errorf("%s #%d: body differs:\n%s\n%s", what, i, a.body, answers[0].body)
		}
		if !a.replayed {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%s: %d answers not marked replayed, want 1", what, fresh)
	}
	if t.Failed() {
		for i, a := range answers {
			t.Log(fmt.Sprintf("#%d %d replayed=%v %s", i, a.status, a.replayed, a.body))
		}
	}
}

// TestIdempotencyKeyEveryPOST sends sixteen requests at once with one
// Idempotency-Key to every POST route of the API, on SQLite and on
// PostgreSQL. Each route has exactly one effect: one request ran the
// handler and the fifteen others got its answer, byte for byte, marked
// replayed; where the effect can be counted (orders, declarations,
// refunds, batch payments, redeliveries), it is counted. Five concurrent
// uploads of one batch without a batch number, with one key, make one
// batch.
func TestIdempotencyKeyEveryPOST(t *testing.T) {
	t.Parallel()
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarnessOn(t, kind)
			ctx := context.Background()
			const n = 16

			// What the routes act on: a paid order with a failed
			// declaration, an order whose payment failed, a paid order to
			// refund, a stored batch, and a delivered event.
			h.post(t, h.A, "/v1/orders", order("EP-DECL", 500, declared(idNameMismatch, "HG014")), http.StatusCreated)
			h.post(t, h.A, "/v1/orders", order("EP-1PAYFAIL", 500), http.StatusCreated)
			h.post(t, h.A, "/v1/orders", order("EP-REFUND", 500), http.StatusCreated)
			h.waitOrder(t, h.A, "EP-DECL", "declaration failed", func(o orderView) bool { return o.DeclareStatus == "DECLARE_FAILED" })
			h.waitOrder(t, h.A, "EP-1PAYFAIL", "payment failed", func(o orderView) bool { return o.PayStatus == "PAY_FAILED" })
			h.waitOrder(t, h.A, "EP-REFUND", "paid", paid)
			b := decode[batchView](t, h.post(t, h.A, "/v1/batches", obj{"orders": []obj{order("EP-B1", 100), order("EP-B2", 200)}}, http.StatusCreated))
			var ev eventView
			waitFor(t, "an event of EP-REFUND", func() (bool, string) {
				r := h.get(t, h.A, "/v1/events?order_no=EP-REFUND&type=order.paid", http.StatusOK)
				l := decode[listView[eventView]](t, r)
				if len(l.Data) == 0 {
					return false, r.String()
				}
				ev = l.Data[0]
				return ev.Status == "delivered", r.String()
			})

			routes := []struct {
				path   string
				body   any
				status int
				// effects counts what the route did, after the requests.
				effects func() (int, error)
			}{
				{"/v1/orders", order("EP-NEW", 900), http.StatusCreated, func() (int, error) {
					os, err := h.svc.Orders(ctx, h.A.M, baoguan.OrderFilter{})
					return len(os) - 5, err // the five orders made above
				}},
				{"/v1/orders/EP-DECL/declarations", obj{"payer": payer(idSucceeds)}, http.StatusAccepted, func() (int, error) {
					v, err := h.svc.OrderDetail(ctx, h.A.M, "EP-DECL")
					if err != nil {
						return 0, err
					}
					return len(v.Declarations), nil
				}},
				{"/v1/orders/EP-1PAYFAIL/pay", nil, http.StatusAccepted, func() (int, error) {
					o, err := h.svc.Order(ctx, h.A.M, "EP-1PAYFAIL")
					if err != nil {
						return 0, err
					}
					return o.PayAttempts - 1, nil // one attempt before
				}},
				{"/v1/refunds", obj{"refund_no": "EP-R1", "order_no": "EP-REFUND", "amount": 100}, http.StatusCreated, func() (int, error) {
					v, err := h.svc.OrderDetail(ctx, h.A.M, "EP-REFUND")
					if err != nil {
						return 0, err
					}
					return len(v.Refunds), nil
				}},
				{"/v1/batches/" + b.ID + "/pay", nil, http.StatusAccepted, func() (int, error) {
					id, _ := strconv.ParseInt(b.ID, 10, 64)
					got, _, err := h.svc.Batch(ctx, h.A.M, id)
					if err != nil {
						return 0, err
					}
					return got.PayCalls, nil
				}},
				{"/v1/events/" + ev.ID + "/redeliver", nil, http.StatusAccepted, nil},
			}
			for _, rt := range routes {
				var body []byte
				if rt.body != nil {
					body = mustJSON(t, rt.body)
				}
				answers := h.concurrent(t, n, rt.path, "idem-every-"+rt.path, body)
				same(t, "POST "+rt.path, answers, rt.status)
				if rt.effects != nil {
					if got, err := rt.effects(); err != nil || got != 1 {
						t.Errorf("POST %s: %d effects after %d concurrent requests with one key (%v), want 1", rt.path, got, n, err)
					}
				}
			}

			// Five uploads of one batch (no batch number, so only the key
			// can tell them apart) at once.
			upload := mustJSON(t, obj{"orders": []obj{order("EP-U1", 100), order("EP-U2", 200), order("EP-U3", 300)}})
			same(t, "POST /v1/batches", h.concurrent(t, 5, "/v1/batches", "idem-every-upload", upload), http.StatusCreated)
			batches := map[string]int{}
			for _, no := range []string{"EP-U1", "EP-U2", "EP-U3"} {
				r := h.get(t, h.A, "/v1/orders/"+no, http.StatusOK)
				if o := decode[orderView](t, r); o.BatchID != nil {
					batches[*o.BatchID]++
				}
			}
			if len(batches) != 1 {
				t.Errorf("five concurrent uploads with one key made batches %v, want one", batches)
			}
		})
	}
}
