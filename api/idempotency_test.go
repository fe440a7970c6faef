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
