package pushorder_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/storetest"
)

// TestPayerDataSealedAtRestAndMasked pushes orders with distinct payer ID
// numbers and mobiles; the merchant's callback receiver answers with the
// payer's number, as a careless one might. The database file and its WAL
// must hold none of the values in clear, and the events as native answers
// show them must mask them.
func TestPayerDataSealedAtRestAndMasked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	var vals []string
	const n = 3
	for i := range n {
		id, phone := storetest.IDNumber(900+i), storetest.Phone(900+i)
		vals = append(vals, id, phone)
		no := fmt.Sprintf("AR-%d", i)
		h.cb.setAnswer("/cb/a", "ok "+id+" "+phone)
		if r := h.call(t, "/pushorder/tokA/PushOrder", sampleOrder(no, h.A.M.Name).with("ReceiverCardNo", id, "ReceiverMobile", phone).body()); r.ReturnCode != "0000" {
			t.Fatalf("push %s: %+v", no, r)
		}
		h.cb.waitCallbacks(t, "/cb/a", no, 1)
	}
	h.quiet(t)
	found, err := storetest.FindInFiles(h.path, vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("in clear at rest: %s", f)
	}
	es, err := h.svc.Events(t.Context(), h.A.M, baoguan.EventFilter{})
	if err != nil || len(es) < n {
		t.Fatalf("events: %d %v", len(es), err)
	}
	for _, e := range es {
		one, as, err := h.svc.Event(t.Context(), h.A.M, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		text := string(e.Body) + string(one.Body)
		for _, a := range as {
			text += a.Response + a.Error
		}
		for _, v := range vals {
			if strings.Contains(text, v) {
				t.Errorf("event %s shows %s unmasked: %s", e.PublicID, v, text)
			}
		}
	}
}
