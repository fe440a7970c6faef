package accp

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// Fuzz targets for what ACCP reads from a caller: the apply-pushpay and
// query-pushpay bodies with their translation to the core's push, the
// Signature-Data check and the merchant public keys an operator registers.
// Their seeds run in every `go test`; fuzz one with
// `go test ./accp -run '^$' -fuzz '^FuzzApply$' -fuzztime 10m -parallel 1`.

type vectors struct {
	Body       string `json:"body"`
	PrivateKey string `json:"private_key"`
	PublicKey  string `json:"public_key"`
	SigHexMD5  string `json:"signature_hex_md5"`
	SigRaw     string `json:"signature_raw_body"`
}

func loadVectors(tb testing.TB) (vectors, *rsa.PrivateKey) {
	var v vectors
	b, err := os.ReadFile("testdata/signature-vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(v.PrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return v, k.(*rsa.PrivateKey)
}

func goldenApply(tb testing.TB) []byte {
	b, err := os.ReadFile("testdata/apply-pushpay.request.json")
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("{{notify_url}}"), []byte("https://merchant.example/notify"))
}

// documentedCodes are the return codes a refusal of a body may carry.
var documentedCodes = map[string]bool{CodeMissingField: true, CodeBadField: true, CodeBadRequest: true, CodeBadExtendInfo: true}

// FuzzApply: any body either is refused with a documented code and a
// UTF-8 message, or translates into a push whose amounts are exactly the
// yuan sent (big.Rat as the oracle), non-negative and within MaxAmount,
// whose required fields are present, and whose content key is JSON and
// the same for the same body.
func FuzzApply(f *testing.F) {
	golden := goldenApply(f)
	f.Add(golden)
	v, _ := loadVectors(f)
	f.Add([]byte(v.Body))
	for _, repl := range [][2]string{
		{`135.80`, `"135.80"`}, {`135.80`, `1.358e2`}, {`135.80`, `-1`}, {`135.80`, `92233720368547758.07`}, {`135.80`, `0.001`},
		{`"ADD"`, `"MOD"`}, {`"ADD"`, `"DEL"`}, {`"sub_order_flag": ""`, `"sub_order_flag": "Y"`}, {`"IDCARD"`, `"OTHER"`},
		{`"20261123093000"`, `"2026-11-23 09:30"`}, {`"{\"customs_area_code\":\"5141\",\"customs_jy_org\":\"443400\"}"`, `{"customsAreaCode":5141}`},
		{`"{\"customs_area_code\":\"5141\",\"customs_jy_org\":\"443400\"}"`, `"[1]"`}, {`"DIFF_PUSH"`, `null`}, {`"user_name"`, `"USER_NAME"`},
		{`"phone"`, `"mobile"`}, {`10.80`, `{}`},
	} {
		f.Add(bytes.Replace(golden, []byte(repl[0]), []byte(repl[1]), 1))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte("{\"user_name\":\"\xff\"}"))
	// The target is not vacuous: the document's request translates.
	var g applyReq
	if err := decodeStrict(golden, &g); err != nil {
		f.Fatal(err)
	}
	if _, err := g.translate(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q applyReq
		err := decodeStrict(body, &q)
		var in any
		if err == nil {
			p, terr := q.translate()
			err, in = terr, p
			if err == nil {
				again, _ := q.translate()
				if !bytes.Equal(p.Content, again.Content) || !json.Valid(p.Content) {
					t.Fatalf("%q: content key %s then %s", body, p.Content, again.Content)
				}
				for _, a := range []struct {
					y *yuan
					v int64
				}{{q.TotalAmount, p.Spec.OrderFee}, {q.PayFeeAmount, p.Spec.TransportFee}, {q.PayGdsAmt, p.Spec.ProductFee}, {q.PayTaxAmt, p.Spec.Duty}} {
					want := int64(0)
					if a.y != nil {
						r, ok := new(big.Rat).SetString(strings.TrimSpace(a.y.text))
						if !ok {
							t.Fatalf("%q: amount %q accepted, big.Rat cannot read it", body, a.y.text)
						}
						r.Mul(r, big.NewRat(100, 1))
						if !r.IsInt() || !r.Num().IsInt64() {
							t.Fatalf("%q: amount %q accepted, not a whole number of fen", body, a.y.text)
						}
						want = r.Num().Int64()
					}
					if a.v != want || a.v < 0 || a.v > baoguan.MaxAmount {
						t.Fatalf("%q: amount %v read as %d fen, want %d", body, a.y, a.v, want)
					}
				}
				if p.Spec.OrderFee <= 0 || p.Payer.Name == "" || p.Payer.IDNumber == "" || p.No == "" || p.OrderNo == "" || p.Spec.Customs == "" {
					t.Fatalf("%q: translated into %+v", body, p)
				}
				if _, verr := p.Spec.Validate(); verr != nil && baoguan.ErrorCode(verr) != baoguan.EINVALID {
					t.Fatalf("%q: spec check: %v", body, verr)
				}
			}
		}
		if err != nil {
			code, msg := codeOf(err)
			if !documentedCodes[code] || msg == "" || !utf8.ValidString(msg) {
				t.Fatalf("%q: refused as %s %q (%v)", body, code, msg, in)
			}
		}
		// The query body decodes on the same rules.
		var qq queryReq
		if err := decodeStrict(body, &qq); err != nil {
			if code, _ := codeOf(err); !documentedCodes[code] {
				t.Fatalf("%q: query refused as %s", body, code)
			}
		}
	})
}

// FuzzVerify: PKCS #1 v1.5 signatures are deterministic, so a
// Signature-Data value verifies exactly when, with whitespace removed and
// base64 decoded (padded or not), it is the signature of the body in one
// of the two forms. Garbage never verifies and never panics; what Sign
// makes always verifies.
func FuzzVerify(f *testing.F) {
	v, key := loadVectors(f)
	f.Add([]byte(v.Body), v.SigHexMD5)
	f.Add([]byte(v.Body), v.SigRaw)
	f.Add([]byte(v.Body), v.SigRaw[:len(v.SigRaw)/2]+"\r\n "+v.SigRaw[len(v.SigRaw)/2:])
	f.Add([]byte(v.Body), strings.TrimRight(v.SigHexMD5, "="))
	f.Add([]byte(v.Body+" "), v.SigHexMD5)
	f.Add(goldenApply(f), "")
	f.Add([]byte{}, "=")
	f.Add([]byte("x"), "AAAA")
	pub := &key.PublicKey
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		err := Verify(pub, body, sig)
		var good [][]byte
		for _, form := range []SignatureForm{FormHexMD5, FormRawBody} {
			s, serr := SignForm(key, body, form)
			if serr != nil {
				t.Fatal(serr)
			}
			if verr := VerifyForm(pub, body, s, form); verr != nil {
				t.Fatalf("a fresh signature does not verify: %v", verr)
			}
			raw, _ := base64.StdEncoding.DecodeString(s)
			good = append(good, raw)
		}
		clean := strings.Join(strings.Fields(sig), "")
		raw, derr := base64.StdEncoding.DecodeString(clean)
		if derr != nil {
			raw, derr = base64.RawStdEncoding.DecodeString(clean)
		}
		want := derr == nil && (bytes.Equal(raw, good[0]) || bytes.Equal(raw, good[1]))
		if (err == nil) != want {
			t.Fatalf("Verify(%q, %q) = %v, want ok=%v", body, sig, err, want)
		}
		if err != nil && (err.Error() == "" || !utf8.ValidString(err.Error())) {
			t.Fatalf("Verify error %q", err)
		}
	})
}

// FuzzParsePublicKey: whatever a registration holds, ParsePublicKey
// returns an RSA key or an error; the key it returns reads back the same
// from each form it accepts (PKIX PEM, PKCS #1 PEM, bare base64).
func FuzzParsePublicKey(f *testing.F) {
	v, key := loadVectors(f)
	f.Add(v.PublicKey)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	f.Add(base64.StdEncoding.EncodeToString(der))
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})))
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	f.Add(v.PrivateKey)
	f.Add("")
	f.Add("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePublicKey(s)
		if err != nil {
			if k != nil || err.Error() == "" {
				t.Fatalf("ParsePublicKey(%q) = %v, %v", s, k, err)
			}
			return
		}
		if k == nil || k.N == nil || k.N.Sign() <= 0 {
			t.Fatalf("ParsePublicKey(%q) = %v", s, k)
		}
		der, merr := x509.MarshalPKIXPublicKey(k)
		if merr != nil {
			t.Fatalf("accepted a key that cannot be written back: %v", merr)
		}
		for _, form := range []string{
			string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
			string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(k)})),
			base64.StdEncoding.EncodeToString(der),
		} {
			back, err := ParsePublicKey(form)
			if err != nil || !back.Equal(k) {
				t.Fatalf("%q read as a key that does not read back from %q: %v", s, form, err)
			}
		}
	})
}
