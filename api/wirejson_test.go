package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/storetest"
)

// TestWireJSONAsEncodingJSON: each wire shape written by hand is, byte for
// byte, what encoding/json writes for it — json.Marshal for notification
// bodies, json.Encoder without HTML escaping for answers — with every
// field, nested ones too, set by reflection to random values (strings with
// quotes, controls, <>&, bytes that are not UTF-8, U+2028, Chinese; times
// in zones, with and without nanoseconds; nil and empty slices and
// pointers) or left zero. A field added to a struct but not to its
// appender shows here.
func TestWireJSONAsEncodingJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	check := func(name string, v any, got []byte, ok bool, html bool) {
		t.Helper()
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(html)
		if err := enc.Encode(v); err != nil {
			t.Fatalf("%s: encoding/json: %v", name, err)
		}
		if !ok || string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("%s (html %v, ok %v):\n got %s\nwant %s", name, html, ok, got, want.String())
		}
	}
	for i := 0; i < 3000; i++ {
		for _, html := range []bool{true, false} {
			var o orderJSON
			storetest.FillRandom(reflect.ValueOf(&o).Elem(), r, true)
			b, ok := o.appendJSON(nil, html)
			check("order", o, b, ok, html)

			var d declarationNotice
			storetest.FillRandom(reflect.ValueOf(&d).Elem(), r, true)
			b, ok = d.appendJSON(nil, html)
			check("declaration notice", d, b, ok, html)

			var f refundJSON
			storetest.FillRandom(reflect.ValueOf(&f).Elem(), r, true)
			b, ok = f.appendJSON(nil, html)
			check("refund", f, b, ok, html)

			at := storetest.RandomTime(r)
			b, ok = appendWebhookBody(nil, "evt_1", "order.paid", at, o)
			check("webhook body", webhookBody{ID: "evt_1", Type: "order.paid", Timestamp: at, Data: o}, b, ok, true)
		}
	}
}

// TestWireJSONRefusesWhatEncodingJSONRefuses: a time encoding/json cannot
// write (a five-digit year, a zone of 24 hours) is not written by hand
// either, and Render and writeJSON give encoding/json's answer.
func TestWireJSONRefusesWhatEncodingJSONRefuses(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)),
	} {
		if _, err := json.Marshal(at); err == nil {
			t.Fatalf("encoding/json writes %v", at)
		}
		if b, ok := (refundJSON{CreatedAt: at}).appendJSON(nil, true); ok {
			t.Errorf("%v written as %s", at, b)
		}
	}
	for _, at := range []time.Time{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.FixedZone("", -(23*3600+59*60)))} {
		want, err := json.Marshal(at)
		if b, ok := appendJSONTime(nil, at); err != nil || !ok || string(b) != string(want) {
			t.Errorf("%v: %s %v, encoding/json %s %v", at, b, ok, want, err)
		}
	}
}
