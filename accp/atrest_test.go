package accp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/accp"
	"github.com/baoguan/baoguan/storetest"
)

// TestPayerDataSealedAtRestAndMasked pushes declarations for orders with
// distinct payer ID numbers and phones (ACCP's push and its notification
// both carry them); the notify_url answers with the payer's number, as a
// careless receiver might. The database file and its WAL must hold none
// of the values in clear, and the events as native answers show them must
// mask them.
func TestPayerDataSealedAtRestAndMasked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	var vals []string
	var echo string
	e.notify.mu.Lock()
	e.notify.answer = func(int) (int, string) { return http.StatusOK, "Success " + echo }
	e.notify.mu.Unlock()
	const n = 3
	for i := range n {
		id, phone := storetest.IDNumber(1100+i), storetest.Phone(1100+i)
		vals = append(vals, id, phone)
		e.notify.mu.Lock()
		echo = id + " " + phone
		e.notify.mu.Unlock()
		no, txn := fmt.Sprintf("AR-%d", i), fmt.Sprintf("ART-%d", i)
		e.paidOrder(no, 10000, baoguan.Payer{Name: "张三", IDType: "IDCARD", IDNumber: id, Phone: phone})
		r := e.apply(map[string]any{"txn_seqno": txn, "org_txn_seqno": no, "id_no": id, "phone": phone})
		if r.reply["ret_code"] != accp.CodeOK {
			t.Fatalf("apply %s: %d %s", txn, r.status, r.body)
		}
		e.eventually("the notification of "+txn, func() bool { return len(e.notify.forTxn(txn)) > 0 })
	}
	e.settle()
	carried := false
	for _, d := range e.notify.deliveries() {
		carried = carried || strings.Contains(string(d.body), vals[0]) || strings.Contains(string(d.body), vals[2])
	}
	if !carried {
		t.Log("the notifications do not carry the payer's number")
	}
	found, err := storetest.FindInFiles(e.path, vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("in clear at rest: %s", f)
	}
	es, err := e.svc.Events(e.ctx, e.m, baoguan.EventFilter{})
	if err != nil || len(es) < n {
		t.Fatalf("events: %d %v", len(es), err)
	}
	for _, ev := range es {
		one, as, err := e.svc.Event(e.ctx, e.m, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		text := string(ev.Body) + string(one.Body)
		for _, a := range as {
			text += a.Response + a.Error
		}
		for _, v := range vals {
			if strings.Contains(text, v) {
				t.Errorf("event %s shows %s unmasked: %s", ev.PublicID, v, text)
			}
		}
	}
}
