package storetest

import (
	"math/rand/v2"
	"reflect"
	"time"
)

// The random values of the equivalence tests: a hand-written JSON writer
// (the API's wire JSON, the order's fingerprint) is compared with
// encoding/json over structs filled by FillRandom, so that a field added
// to a struct but not to its writer fails the test.

// RandomStrings are the strings FillRandom sets: empty, plain, Chinese,
// and every kind JSON quotes apart — quotes and backslashes, HTML
// characters, controls, bytes that are not UTF-8, a cut rune, U+2028/9,
// an emoji, U+FFFD.
var RandomStrings = []string{"", "HG014", "测试商品", `a"b\c`, "<script>&amp;</script>", "line\nbreak\ttab\r\b\f\x00\x1f\x7f",
	"bad \xff\xfe utf8", "sep \u2028 \u2029 end", "emoji 😀", "\xe2\x80", "http://example.com/1?a=1&b=2", "\ufffd"}

// RandomTime is a time between 1970 and 2096 in UTC, China's offset or an
// offset of minutes, with nanoseconds one time in two.
func RandomTime(r *rand.Rand) time.Time {
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("", -(5*3600 + 30*60))}
	t := time.Unix(r.Int64N(4e9), 0).In(zones[r.IntN(len(zones))])
	if r.IntN(2) == 0 {
		t = t.Add(time.Duration(r.IntN(1e9)))
	}
	return t
}

// FillRandom sets v to random values, each field (but a struct) left zero
// one time in three: strings from RandomStrings, integers, true, pointers,
// slices of up to two elements, maps of strings, times (RandomTime), and
// the exported fields of structs. A value of another kind panics when
// strict is set (a struct whose every field its test must cover) and is
// left zero otherwise.
func FillRandom(v reflect.Value, r *rand.Rand, strict bool) {
	if r.IntN(3) == 0 && v.Kind() != reflect.Struct {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(RandomStrings[r.IntN(len(RandomStrings))])
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(r.Int64N(2e12) - 1e12)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		FillRandom(p.Elem(), r, strict)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), r.IntN(3), 3)
		for i := 0; i < s.Len(); i++ {
			FillRandom(s.Index(i), r, strict)
		}
		v.Set(s)
	case reflect.Map:
		if v.Type() != reflect.TypeOf(map[string]string(nil)) {
			if strict {
				panic("FillRandom: " + v.Type().String())
			}
			return
		}
		m := map[string]string{}
		for n := r.IntN(4); n > 0; n-- {
			m[RandomStrings[r.IntN(len(RandomStrings))]] = RandomStrings[r.IntN(len(RandomStrings))]
		}
		v.Set(reflect.ValueOf(m))
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(RandomTime(r)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).CanSet() {
				FillRandom(v.Field(i), r, strict)
			}
		}
	default:
		if strict {
			panic("FillRandom: " + v.Type().String())
		}
	}
}
