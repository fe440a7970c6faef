package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
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
			fill(reflect.ValueOf(&o).Elem(), r)
			b, ok := o.appendJSON(nil, html)
			check("order", o, b, ok, html)

			var d declarationNotice
			fill(reflect.ValueOf(&d).Elem(), r)
			b, ok = d.appendJSON(nil, html)
			check("declaration notice", d, b, ok, html)

			var f refundJSON
			fill(reflect.ValueOf(&f).Elem(), r)
			b, ok = f.appendJSON(nil, html)
			check("refund", f, b, ok, html)

			at := randomTime(r)
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

var randomStrings = []string{"", "HG014", "测试商品", `a"b\c`, "<script>&amp;</script>", "line\nbreak\ttab\r\b\f\x00\x1f\x7f",
	"bad \xff\xfe utf8", "sep \u2028 \u2029 end", "emoji 😀", "\xe2\x80", "http://example.com/1?a=1&b=2"}

func randomTime(r *rand.Rand) time.Time {
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("", -(5*3600 + 30*60))}
	t := time.Unix(r.Int64N(4e9), 0).In(zones[r.IntN(len(zones))])
	if r.IntN(2) == 0 {
		t = t.Add(time.Duration(r.IntN(1e9)))
	}
	return t
}

// fill sets v to random values, each field left zero one time in three.
func fill(v reflect.Value, r *rand.Rand) {
	if r.IntN(3) == 0 && v.Kind() != reflect.Struct {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(randomStrings[r.IntN(len(randomStrings))])
	case reflect.Int, reflect.Int64:
		v.SetInt(r.Int64N(2e12) - 1e12)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), r)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), r.IntN(3), 3)
		for i := 0; i < s.Len(); i++ {
			fill(s.Index(i), r)
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(randomTime(r)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), r)
		}
	default:
		panic("fill: " + v.Type().String())
	}
}
