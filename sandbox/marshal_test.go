package sandbox

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/baoguan/baoguan/storetest"
)

// TestVirtualJSONAsEncodingJSON: the raw exchange the sandbox channel
// stores (init_request, init_response) is written by hand as json.Marshal
// writes it, byte for byte, over random values (every kind of string JSON
// quotes apart, empty fields left out); a field added to either struct
// but not to its writer fails it.
func TestVirtualJSONAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(66, 1))
	for i := range 3000 {
		var q virtualRequest
		var p virtualResponse
		storetest.FillRandom(reflect.ValueOf(&q).Elem(), r, true)
		storetest.FillRandom(reflect.ValueOf(&p).Elem(), r, true)
		for _, v := range []any{q, p} {
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if got := marshal(v); got != string(want) {
				t.Fatalf("case %d: %#v\nwritten %s\njson    %s", i, v, got, want)
			}
		}
	}
}
