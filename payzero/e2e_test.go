package payzero_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/payzero"
)

// The sign example of the issue, from payzero 3.2's rule.
func TestSignExample(t *testing.T) {
	got := payzero.Sign("1555816968018", `{"mchtOrderNo":"X1","payStatus":"PAY_SUCCEED","subject":"口红"}`, "s4khkBd4fL6uaRS2")
	if want := "1af4e7ebd09f0455d4598cd072adaccf9ec2980f"; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	// Order of the arguments must not matter: the three are sorted.
	if Sign2 := payzero.Sign("1555816968018", "s4khkBd4fL6uaRS2", `{"mchtOrderNo":"X1","payStatus":"PAY_SUCCEED","subject":"口红"}`); Sign2 != got {
		t.Fatalf("Sign depends on argument order: %s", Sign2)
	}
}

// verify checks a notification's signature as a merchant would.
func verify(t *testing.T, n notice, signToken string) {
	t.Helper()
	if want := payzero.Sign(strconv.FormatInt(n.Timestamp, 10), n.MsgBody, signToken); n.Sign != want {
		t.Errorf("notification %s: sign %s, want %s", n.Raw, n.Sign, want)
	}
}

// The end-to-end case: log in, upload the document's two-order
// batch, pay it, and receive both notification types for both orders,
// signed so that they verify.
func TestEndToEndBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("e2e")
	batch, err := os.ReadFile("testdata/orderBatch.request.json")
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		OrderBatchID     int64 `json:"orderBatchId"`
		OrderTotalAmount int64 `json:"orderTotalAmount"`
	}
	m.ok("POST", "/orderBatch", batch, &b)
	if b.OrderTotalAmount != 35302+35000 {
		t.Fatalf("orderTotalAmount %d", b.OrderTotalAmount)
	}
	id := strconv.FormatInt(b.OrderBatchID, 10)
	// Uploaded orders wait for the pay call.
	if st := m.order("F20190402123").Order.PayStatus; st != baoguan.PayNotPayed {
		t.Fatalf("before pay: %s", st)
	}
	var msg string
	m.ok("GET", "/orderBatch/"+id+"/pay", nil, &msg)
	if msg != "分配任务完成" {
		t.Errorf("pay answered %q", msg)
	}
	for _, no := range []string{"F20190402123", "F20190402124"} {
		m.waitOrder(no, baoguan.PaySucceed, baoguan.DeclareDone)
	}
	h.waitFor("4 notifications", func() bool { return len(h.hooks.notices("e2e")) >= 4 })
	seen := map[string]bool{}
	for _, n := range h.hooks.notices("e2e") {
		verify(t, n, m.SignToken)
		body := n.body(t)
		key := n.MsgType + " " + body["mchtOrderNo"].(string)
		seen[key] = true
		switch n.MsgType {
		case payzero.MsgPayStatus:
			if body["payStatus"] != "PAY_SUCCEED" || body["paymentOrderNo"] == nil || body["customsPayCompanyCode"] != "312228034T" {
				t.Errorf("pay notice %s", n.MsgBody)
			}
		case payzero.MsgDeclareStatus:
			if body["declareStatus"] != "DECLARED" || body["payStatus"] != "PAY_SUCCEED" {
				t.Errorf("declare notice %s", n.MsgBody)
			}
		default:
			t.Errorf("unknown msgType %q", n.MsgType)
		}
	}
	for _, k := range []string{"PAY_STATUS_NOTIFY F20190402123", "PAY_STATUS_NOTIFY F20190402124", "DECLARE_STATUS_NOTIFY F20190402123", "DECLARE_STATUS_NOTIFY F20190402124"} {
		if !seen[k] {
			t.Errorf("missing %s", k)
		}
	}
	var sum map[string]int64
	m.ok("GET", "/orderBatch/"+id+"/summary", nil, &sum)
	if sum["total"] != 2 || sum["paySuccessCount"] != 2 || sum["declareSuccessCount"] != 2 || sum["totalPaymentAmount"] != 70302 || sum["payOtherCount"] != 0 {
		t.Errorf("summary %v", sum)
	}
	// Paying again: nothing left to pay.
	if r := m.call("GET", "/orderBatch/"+id+"/pay", nil); r.Env.Success || r.code() != "50054" || r.Status != 200 {
		t.Errorf("second pay: %d %s", r.Status, r.Raw)
	}
	// The funding account paid both orders.
	ms, _ := h.svc.Merchants(h.ctx)
	for _, mm := range ms {
		if mm.ID == m.M.ID && mm.FundingBalance != m.M.FundingBalance-70302 {
			t.Errorf("funding balance %d, want %d", mm.FundingBalance, m.M.FundingBalance-70302)
		}
	}
}

// A receiver that fails the first deliveries is retried at 1 m, 5 m, 10 m,
// 1 h and 6 h after the first send (payzero 3.3), then given up.
func TestNotificationRetrySchedule(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("retry")
	h.hooks.mu.Lock()
	h.hooks.fail["/notify/retry"] = 100 // never acknowledges
	h.hooks.mu.Unlock()
	var out struct{ PayStatus string }
	m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "R1", "paymentAmount": 100, "subject": "口红", "currency": "CNY", "needDeclare": false}, &out)
	if out.PayStatus != "PAY_SUCCEED" {
		t.Fatalf("mock pay: %s", out.PayStatus)
	}
	first := h.clock.Now()
	offsets := []time.Duration{0, time.Minute, 5 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}
	for i, off := range offsets {
		due := first.Add(off)
		if i > 0 {
			// The event waits for exactly the scheduled time, not a moment earlier.
			h.waitFor("notification rescheduled", func() bool {
				es, _ := h.svc.Events(h.ctx, m.M, baoguan.EventFilter{Status: baoguan.EventPending})
				return len(es) == 1 && es[0].Attempts == i && es[0].NextAt.Equal(due)
			})
			h.clock.Set(due)
		}
		h.waitFor("attempt "+strconv.Itoa(i+1), func() bool { return len(h.hooks.notices("retry")) == i+1 })
		n := h.hooks.notices("retry")[i]
		if got := time.UnixMilli(n.Timestamp); !got.Equal(due) {
			t.Errorf("attempt %d sent at %s, want first send + %s", i+1, got.Sub(first), off)
		}
		verify(t, n, m.SignToken)
	}
	// Six attempts in all: the event is given up, nothing is queued.
	h.waitFor("event failed", func() bool {
		es, _ := h.svc.Events(h.ctx, m.M, baoguan.EventFilter{})
		return len(es) == 1 && es[0].Status == baoguan.EventFailed && es[0].Attempts == 6
	})
	h.clock.Add(24 * time.Hour)
	if es, _ := h.svc.Events(h.ctx, m.M, baoguan.EventFilter{Status: baoguan.EventPending}); len(es) != 0 {
		t.Errorf("still pending after the schedule: %+v", es)
	}
}

// A receiver that answers OK on the third try stops the retries.
func TestNotificationAcknowledged(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("ack")
	h.hooks.mu.Lock()
	h.hooks.fail["/notify/ack"] = 2
	h.hooks.mu.Unlock()
	m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "A1", "paymentAmount": 100, "subject": "口红", "currency": "CNY", "needDeclare": false}, nil)
	for i := 0; i < 2; i++ {
		h.waitFor("a retry due later", func() bool {
			es, _ := h.svc.Events(h.ctx, m.M, baoguan.EventFilter{Status: baoguan.EventPending})
			return len(es) == 1 && es[0].Attempts == i+1 && es[0].NextAt.After(h.clock.Now()) && len(h.hooks.notices("ack")) == i+1
		})
		h.clock.Add(time.Hour)
	}
	h.waitFor("delivered", func() bool {
		es, _ := h.svc.Events(h.ctx, m.M, baoguan.EventFilter{})
		return len(es) == 1 && es[0].Status == baoguan.EventDelivered && es[0].Attempts == 3
	})
	// The order's own notifyUrl wins over the merchant-level URL.
	m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "A2", "paymentAmount": 100, "subject": "口红", "currency": "CNY",
		"needDeclare": false, "notifyUrl": h.hooks.srv.URL + "/notify/ack-order"}, nil)
	h.waitFor("per-order URL", func() bool { return len(h.hooks.notices("ack-order")) == 1 })
	verify(t, h.hooks.notices("ack-order")[0], m.SignToken)
}
