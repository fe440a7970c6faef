package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// marshalFingerprint is how fingerprints were made before fingerprintJSON:
// the bytes the stores' fingerprints already hash.
func marshalFingerprint(in *OrderInput) []byte {
	o := in.Order
	b, err := json.Marshal(struct {
		No, Cur, Subj, Notify, Cap, PayNo, Proto string
		Amount                                   int64
		Items                                    []baoguan.Item
		Payer                                    baoguan.Payer
		Need, Test                               bool
		Channel                                  baoguan.Channel
		Decl                                     []baoguan.DeclarationSpec
		Extra                                    map[string]string
		At                                       int64
	}{o.MerchantOrderNo, o.Currency, o.Subject, o.NotifyURL, o.CapitalName, o.Payment.No, o.Protocol,
		o.Amount, o.Items, o.Payer, o.NeedDeclare, in.Test, o.Channel, in.Declarations, o.Extra, o.OrderedAt.Unix()})
	if err != nil {
		panic(err)
	}
	return b
}

// TestFingerprintAsEncodingJSON: fingerprintJSON writes, byte for byte,
// what json.Marshal wrote for the fingerprint's struct, so an order stored
// before it is still "the same" when pushed again. Every field of the
// order input (nested items, payers, declaration specs and their extras,
// the extra map) is set by reflection to random values — strings with
// quotes, controls, <>&, bytes that are not UTF-8, U+2028, Chinese; nil
// and empty slices, maps and pointers — or left zero; a field added to
// one of those structs but not to fingerprintJSON fails here.
func TestFingerprintAsEncodingJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 3000; i++ {
		var in OrderInput
		fillRandom(reflect.ValueOf(&in).Elem(), r)
		want := marshalFingerprint(&in)
		if got := in.fingerprintJSON(nil); string(got) != string(want) {
			t.Fatalf("order %d:\n got %s\nwant %s", i, got, want)
		}
		sum := sha256.Sum256(want)
		if got := in.fingerprint(); got != hex.EncodeToString(sum[:]) {
			t.Fatalf("order %d: fingerprint %s, want %x", i, got, sum)
		}
	}
}

var fpStrings = []string{"", "HG014", "测试商品", `a"b\c`, "<script>&amp;</script>", "line\nbreak\ttab\r\b\f\x00\x1f\x7f",
	"bad \xff\xfe utf8", "sep \u2028 \u2029 end", "emoji 😀", "\xe2\x80", "http://example.com/1?a=1&b=2", "\ufffd"}

// fillRandom sets v to random values, each field left zero one time in
// three; kinds the fingerprint never holds are left zero.
func fillRandom(v reflect.Value, r *rand.Rand) {
	if r.IntN(3) == 0 && v.Kind() != reflect.Struct {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fpStrings[r.IntN(len(fpStrings))])
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(r.Int64N(2e12) - 1e12)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillRandom(p.Elem(), r)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), r.IntN(3), 3)
		for i := 0; i < s.Len(); i++ {
			fillRandom(s.Index(i), r)
		}
		v.Set(s)
	case reflect.Map:
		if v.Type() != reflect.TypeOf(map[string]string(nil)) {
			return
		}
		m := map[string]string{}
		for n := r.IntN(4); n > 0; n-- {
			m[fpStrings[r.IntN(len(fpStrings))]] = fpStrings[r.IntN(len(fpStrings))]
		}
		v.Set(reflect.ValueOf(m))
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(8e9)-4e9, r.Int64N(1e9))))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).CanSet() {
				fillRandom(v.Field(i), r)
			}
		}
	}
}

// TestHashSecretIsSHA256Hex: stored API keys are the SHA-256 of the key in
// lower-case hex; keys stored before hexString must still match.
func TestHashSecretIsSHA256Hex(t *testing.T) {
	if got, want := HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashSecret(abc) = %s, want %s", got, want)
	}
}
