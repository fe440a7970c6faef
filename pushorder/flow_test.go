package pushorder_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/pushorder"
)

// TestEndToEnd pushes an order, watches GetOrder move to "已支付+已报关",
// and receives the callback form at the merchant's callback URL.
func TestEndToEnd(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	o := sampleOrder("E2E-1", "Merchant A").with("ItemNames", "面霜 & 口红 + 精华", "OrderTotal", json.Number("35.02"))
	if r := h.call(t, "/pushorder/tokA/PushOrder", o.body()); r.ReturnCode != "0000" || r.ReturnMsg != "订单创建成功" || r.OrderNo != "E2E-1" {
		t.Fatalf("push: %+v", r)
	}
	// The raw '&' and '+' of the unencoded .NET body reached the order.
	if got := h.detail(t, h.A, "E2E-1").Order; got.Subject != "面霜 & 口红 + 精华" || got.Amount != 3502 {
		t.Errorf("stored %q %d", got.Subject, got.Amount)
	}
	r := h.waitCustoms(t, h.A, "E2E-1", is(pushorder.MsgDone))
	if r.PaymentStatus == nil || *r.PaymentStatus != 2 || r.PaymentMsg != "已支付" || len(r.PaymentNo) != 20 {
		t.Errorf("GetOrder: %+v", r)
	}
	if _, err := time.ParseInLocation("2006-01-02 15:04:05", r.PayTime, core.ChinaTime); err != nil {
		t.Errorf("PayTime %q: %v", r.PayTime, err)
	}
	cbs := h.cb.waitCallbacks(t, "/cb/a", "E2E-1", 1)
	want := map[string]string{"order_no": "E2E-1", "payment_no": r.PaymentNo, "result": "T", "result_msg": "已支付+已报关"}
	if len(cbs[0]) != 4 || cbs[0]["order_no"] != want["order_no"] || cbs[0]["payment_no"] != want["payment_no"] ||
		cbs[0]["result"] != "T" || cbs[0]["result_msg"] != want["result_msg"] {
		t.Errorf("callback %v, want %v", cbs[0], want)
	}
	for _, c := range h.cb.raw("/cb/a") {
		if c.ContentType != "application/x-www-form-urlencoded" || !strings.HasPrefix(c.Raw, "data=") {
			t.Errorf("callback is not a data= form: %q %q", c.ContentType, c.Raw)
		}
	}
	// Answered "ok" at once: one attempt, delivered.
	ev := h.waitEvent(t, h.A, "E2E-1", baoguan.EventDelivered)
	if ev.Attempts != 1 {
		t.Errorf("delivered after %d attempts, want 1", ev.Attempts)
	}
}

// TestCallbackRetries answers anything but "ok" and sees the callback sent
// again on the schedule, every attempt recorded, until the receiver says
// "OK"; a receiver that never does leaves the event failed.
func TestCallbackRetries(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	// B has no callback-url: its notify URL is used.
	h.cb.setAnswer("/notify/b", "received")
	mustOK(t, h.push(t, h.B, sampleOrder("RETRY-1", "Merchant B")))
	h.cb.waitCallbacks(t, "/notify/b", "RETRY-1", 2)
	h.cb.setAnswer("/notify/b", " \"OK\"\r\n")
	ev := h.waitEvent(t, h.B, "RETRY-1", baoguan.EventDelivered)
	_, attempts, err := h.svc.Event(context.Background(), h.B.M, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) < 3 || ev.Attempts != len(attempts) {
		t.Fatalf("%d attempts recorded (event says %d), want at least 3", len(attempts), ev.Attempts)
	}
	for i, a := range attempts[:len(attempts)-1] {
		if a.Status != 200 || a.Response != "received" || a.Error == "" {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
	if last := attempts[len(attempts)-1]; last.Error != "" {
		t.Errorf("acknowledged attempt: %+v", last)
	}
	got := h.cb.callbacks("/notify/b", "RETRY-1")
	for _, c := range got[1:] {
		if c["result"] != got[0]["result"] || c["payment_no"] != got[0]["payment_no"] {
			t.Errorf("a retry differs from the first attempt: %v vs %v", c, got[0])
		}
	}

	// A receiver that never answers ok: five attempts (the test schedule
	// has four retries), then the event is failed and kept.
	h.cb.setAnswer("/notify/b", "fail")
	mustOK(t, h.push(t, h.B, sampleOrder("RETRY-2", "Merchant B")))
	ev = h.waitEvent(t, h.B, "RETRY-2", baoguan.EventFailed)
	if ev.Attempts != 5 || len(h.cb.callbacks("/notify/b", "RETRY-2")) != 5 {
		t.Errorf("failed after %d attempts (%d received), want 5", ev.Attempts, len(h.cb.callbacks("/notify/b", "RETRY-2")))
	}
}

// waitEvent waits until the pushorder callback of order no has the status.
func (h *harness) waitEvent(t *testing.T, a account, no string, st baoguan.EventStatus) baoguan.Event {
	t.Helper()
	id := h.detail(t, a, no).Order.ID
	deadline := time.Now().Add(waitTimeout)
	var evs []baoguan.Event
	for time.Now().Before(deadline) {
		var err error
		evs, err = h.svc.Events(context.Background(), a.M, baoguan.EventFilter{OrderID: id, Page: baoguan.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Protocol == pushorder.Protocol && e.Status == st {
				return e
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("order %s: no %s callback event (%+v)", no, st, evs)
	return baoguan.Event{}
}

// TestCustomsMsg checks GetOrder's failure explanations and the F callback:
// the appendix's declaration codes where they apply.
func TestCustomsMsg(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	cases := []struct {
		no, id string
		msg    string
		status int
	}{
		{"CM-9911", idMismatch, "9911 实名认证异常（支付人姓名和证件号不匹配）", 2},
		{"CM-9912", idVerify, "9912 支付单验证失败", 2},
		{"CM-CHK", "110105199001011230", "9911 实名认证异常（订购人身份证号校验不通过）", 2},
		{"CM-PAYFAIL", idOK, "支付失败：银行拒绝交易（沙箱规则：订单号以 PAYFAIL 结尾）", 3},
	}
	for _, c := range cases {
		mustOK(t, h.push(t, h.A, sampleOrder(c.no, "Merchant A").with("ReceiverCardNo", c.id)))
	}
	for _, c := range cases {
		r := h.waitCustoms(t, h.A, c.no, func(s string) bool { return s != "未支付" && !strings.Contains(s, "中") })
		if r.CustomsMsg != c.msg || r.PaymentStatus == nil || *r.PaymentStatus != c.status {
			t.Errorf("%s: CustomsMsg %q status %v, want %q %d", c.no, r.CustomsMsg, r.PaymentStatus, c.msg, c.status)
		}
		cbs := h.cb.waitCallbacks(t, "/cb/a", c.no, 1)
		if cbs[0]["result"] != "F" || cbs[0]["result_msg"] != c.msg {
			t.Errorf("%s: callback %v, want F %q", c.no, cbs[0], c.msg)
		}
	}

	// 9913: the funding account cannot cover the order.
	h.setMerchant(t, h.A, func(m *baoguan.Merchant) { m.FundingBalance = 100 })
	mustOK(t, h.push(t, h.A, sampleOrder("CM-9913", "Merchant A")))
	r := h.waitCustoms(t, h.A, "CM-9913", func(s string) bool { return s != "未支付" })
	want := "9913 已请求支付,但是由于卡上余额不足,故报错后无法再次发起支付,原因是订单号重复（商户垫资账户余额不足）"
	if r.CustomsMsg != want || *r.PaymentStatus != 3 || r.PaymentNo != "" || r.PayTime != "" {
		t.Errorf("CM-9913: %+v", r)
	}
	if cbs := h.cb.waitCallbacks(t, "/cb/a", "CM-9913", 1); cbs[0]["result"] != "F" || cbs[0]["result_msg"] != want {
		t.Errorf("CM-9913 callback %v", cbs[0])
	}
	// Only one callback per outcome: once no job is left to run, none
	// was sent twice.
	h.quiet(t)
	for _, c := range cases {
		if n := len(h.cb.callbacks("/cb/a", c.no)); n != 1 {
			t.Errorf("%s: %d callbacks, want 1", c.no, n)
		}
	}

	// GetOrder of an unknown order.
	if r := h.get(t, h.A, "CM-NONE"); r.ReturnCode != "9999" || r.ReturnMsg != "获取信息失败：订单不存在" || r.OrderNo != "CM-NONE" {
		t.Errorf("unknown order: %+v", r)
	}
	if r := h.call(t, "/pushorder/tokA/GetOrder", "data={"); r.ReturnCode != "9999" {
		t.Errorf("unparseable query: %+v", r)
	}
}
