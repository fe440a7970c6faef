package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/storetest"
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
		storetest.FillRandom(reflect.ValueOf(&in).Elem(), r, false)
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

// TestHashSecretIsSHA256Hex: stored API keys are the SHA-256 of the key in
// lower-case hex; keys stored before hexString must still match.
func TestHashSecretIsSHA256Hex(t *testing.T) {
	if got, want := HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashSecret(abc) = %s, want %s", got, want)
	}
}
