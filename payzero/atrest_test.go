package payzero_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/storetest"
)

// TestPayerDataSealedAtRestAndMasked sends orders with distinct payer ID
// numbers and phones through payzero, whose notifications carry both in
// full, to a receiver that echoes what it gets; then it reads the
// database file and its WAL for the values, and the events as native
// answers show them (core.Events, core.Event, core.OrderActivity), which
// must mask them.
func TestPayerDataSealedAtRestAndMasked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("echo-atrest")
	const n = 4
	var vals []string
	for i := range n {
		id, phone := storetest.IDNumber(500+i), storetest.Phone(500+i)
		vals = append(vals, id, phone)
		m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": fmt.Sprintf("AR%d", i), "paymentAmount": 100 + i,
			"currency": "CNY", "subject": "x", "customsCode": "HG016", "payerName": "张三", "payerNumber": id, "payerPhone": phone}, nil)
	}
	h.waitFor("every order's notifications tried", func() bool {
		es, err := h.svc.Events(h.ctx, m.M, baoguan.EventFilter{})
		tried := 0
		for _, e := range es {
			if e.Attempts > 0 {
				tried++
			}
		}
		return err == nil && tried >= n
	})
	echoed := 0
	for _, nt := range h.hooks.notices("echo-atrest") {
		for _, v := range vals {
			if strings.Contains(string(nt.Raw), v) {
				echoed++
			}
		}
	}
	if echoed == 0 {
		t.Fatal("the notifications carry none of the values: the test is not testing anything")
	}
	found, err := storetest.FindInFiles(h.path, vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("in clear at rest: %s", f)
	}

	es, err := h.svc.Events(h.ctx, m.M, baoguan.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	shown := func(where, text string) {
		for _, v := range vals {
			if strings.Contains(text, v) {
				t.Errorf("%s shows %s unmasked: %s", where, v, text)
			}
		}
	}
	masked := 0
	for _, e := range es {
		shown("Events "+e.PublicID, string(e.Body))
		one, as, err := h.svc.Event(h.ctx, m.M, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		shown("Event "+e.PublicID, string(one.Body))
		for _, a := range as {
			shown("Event "+e.PublicID+" attempt", a.Response+a.Error)
		}
		if strings.Contains(string(one.Body), "*******") {
			masked++
		}
	}
	if masked == 0 {
		t.Error("no event body shows a masked number")
	}
	for i := range n {
		a, err := h.svc.OrderActivity(h.ctx, m.M, fmt.Sprintf("AR%d", i))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range a.Events {
			shown("OrderActivity", string(ev.Event.Body))
			for _, at := range ev.Attempts {
				shown("OrderActivity attempt", at.Response)
			}
		}
	}
}
