package api

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/inbound"
)

// TestDecodeOrderFastAsEncodingJSON: over random order bodies — the
// fields in any order, keys exact or in another case or unknown, values of
// the right JSON type or of another, null, strings with every escape
// (surrogate pairs, \/, \u0000), integers at and past int64's ends,
// fractions and exponents, times good and bad, white space anywhere —
// decodeOrderFast either gives up or gives what inbound.Decode
// (encoding/json) gives, and decodeOrderBody gives inbound.Decode's order
// or its error. Most bodies of the bench's shape take the fast path, so
// the test cannot pass by always giving up.
func TestDecodeOrderFastAsEncodingJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	fast, slow := 0, 0
	for i := 0; i < 20000; i++ {
		body := []byte(randomOrderBody(r))
		if inbound.CheckJSON(body) != nil {
			continue
		}
		var want orderReq
		p := inbound.Decode(body, &want, true)
		var got orderReq
		if decodeOrderFast(body, &got) {
			fast++
			if p != nil {
				t.Fatalf("%s\nfast path read it; inbound.Decode: %v", body, p)
			}
			if msg := sameOrderReq(got, want); msg != "" {
				t.Fatalf("%s\nfast path: %s", body, msg)
			}
		} else {
			slow++
		}
		got = orderReq{}
		err := decodeOrderBody(body, &got)
		switch {
		case p == nil && err != nil:
			t.Fatalf("%s\ndecodeOrderBody: %v; inbound.Decode none", body, err)
		case p != nil && (err == nil || !reflect.DeepEqual(err, problemError(p))):
			t.Fatalf("%s\ndecodeOrderBody: %#v; want %#v", body, err, problemError(p))
		case p == nil:
			if msg := sameOrderReq(got, want); msg != "" {
				t.Fatalf("%s\ndecodeOrderBody: %s", body, msg)
			}
		}
	}
	t.Logf("fast path %d bodies, slow %d", fast, slow)
	if fast < 2000 || slow < 2000 {
		t.Fatalf("fast path %d bodies, slow %d: the generator no longer tests both", fast, slow)
	}
}

// sameOrderReq says how got differs from want ("" for none); times are
// the same instant in the same offset (each parse makes its own zone).
func sameOrderReq(got, want orderReq) string {
	if (got.OrderedAt == nil) != (want.OrderedAt == nil) {
		return "ordered_at set on one side only"
	}
	if got.OrderedAt != nil {
		g, w := *got.OrderedAt, *want.OrderedAt
		if !g.Equal(w) || g.Format(time.RFC3339Nano) != w.Format(time.RFC3339Nano) {
			return "ordered_at " + g.String() + ", want " + w.String()
		}
		got.OrderedAt, want.OrderedAt = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		return fmt.Sprintf("got %s %#v\nwant %s %#v", g, got, w, want)
	}
	return ""
}

// The JSON text of random values.
var (
	jsonStrings = []string{`""`, `"HG014"`, `"测试商品"`, `"\u6d4b\u8bd5"`, `"http:\/\/example.com\/1"`, `"say \"hi\""`,
		`"\ud83d\ude00 emoji"`, `"😀"`, `"\n\t\b\f\r\\"`, `"\u0000"`, `"<&>"`, `"2026-12-06T10:00:00+08:00"`,
		`"2026-12-06T10:00:00.123456789Z"`, `"2026-12-06 10:00:00"`, `"not a time"`, `"\u00e9t\u00E9"`,
		`"110105199001011232"`, `"13800138000"`, `"张三"`, `"\u0032026-12-06T10:00:00Z"`, `"DIFF_PUSH"`}
	jsonNumbers = []string{`4023`, `-1`, `0`, `-0`, `1.5`, `1e3`, `1E2`, `0.0`, `9223372036854775807`,
		`9223372036854775808`, `-9223372036854775808`, `-9223372036854775809`, `12345678901234567890`, `100`}
	jsonOthers = []string{`null`, `true`, `false`, `{}`, `[]`, `{"a":1}`, `[1,"x"]`}
)

// field kinds of the generator.
const (
	kString = iota
	kInt
	kTime
	kItems
	kPayer
	kDecls
)

type genField struct {
	name string
	kind int
}

var (
	orderFields = []genField{{"merchant_order_no", kString}, {"amount", kInt}, {"currency", kString}, {"subject", kString},
		{"items", kItems}, {"payer", kPayer}, {"ordered_at", kTime}, {"notify_url", kString}, {"channel", kString},
		{"payment_no", kString}, {"psp", kString}, {"declarations", kDecls}}
	itemFields  = []genField{{"subject", kString}, {"link", kString}, {"article_no", kString}, {"quantity", kInt}, {"unit_amount", kInt}}
	payerFields = []genField{{"name", kString}, {"id_type", kString}, {"id_number", kString}, {"phone", kString}}
	declFields  = []genField{{"customs", kString}, {"customs_area_code", kString}, {"customs_jy_org", kString},
		{"customs_in_type", kString}, {"sub_order_no", kString}, {"merchant_customs_no", kString}, {"order_fee", kInt},
		{"transport_fee", kInt}, {"product_fee", kInt}, {"duty", kInt}, {"auth_check_strategy", kString}}
)

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

func ws(r *rand.Rand) string {
	if r.IntN(4) != 0 {
		return ""
	}
	return pick(r, []string{" ", "\n", "\t", "\r\n  "})
}

// randomOrderBody is an order body: mostly of the right shape, one value
// or key in a few wrong.
func randomOrderBody(r *rand.Rand) string {
	return randomObject(r, orderFields, 0)
}

func randomObject(r *rand.Rand, fields []genField, depth int) string {
	var b strings.Builder
	b.WriteString(ws(r) + "{" + ws(r))
	n := 0
	for _, i := range r.Perm(len(fields)) {
		if r.IntN(3) == 0 {
			continue
		}
		if n > 0 {
			b.WriteString("," + ws(r))
		}
		n++
		f := fields[i]
		key := f.name
		switch r.IntN(60) {
		case 0:
			key = strings.ToUpper(key[:1]) + key[1:] // encoding/json matches it; the fast path does not
		case 1:
			key = "unknown_" + key
		case 2:
			key = strings.Replace(key, "_", `\u005f`, 1)
		}
		b.WriteString(`"` + key + `"` + ws(r) + ":" + ws(r) + randomValue(r, f.kind, depth) + ws(r))
	}
	b.WriteString("}")
	return b.String()
}

func randomValue(r *rand.Rand, kind, depth int) string {
	if r.IntN(40) == 0 {
		return pick(r, jsonOthers)
	}
	if r.IntN(40) == 0 {
		return pick(r, append(append([]string{}, jsonStrings...), jsonNumbers...))
	}
	switch kind {
	case kString:
		return pick(r, jsonStrings)
	case kInt:
		if r.IntN(3) == 0 {
			return pick(r, jsonNumbers)
		}
		return pick(r, []string{`4023`, `0`, `-7`, `100`, `1`})
	case kTime:
		return pick(r, jsonStrings[11:16])
	case kPayer:
		return randomObject(r, payerFields, depth+1)
	case kItems, kDecls:
		fields := itemFields
		if kind == kDecls {
			fields = declFields
		}
		var b strings.Builder
		b.WriteString("[" + ws(r))
		for i := r.IntN(3); i > 0; i-- {
			b.WriteString(randomObject(r, fields, depth+1))
			if i > 1 {
				b.WriteString("," + ws(r))
			}
		}
		b.WriteString(ws(r) + "]")
		return b.String()
	}
	return "null"
}
