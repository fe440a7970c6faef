package alipay_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/baoguan/baoguan/alipay"
)

func TestParseCredentials(t *testing.T) {
	key := testKey(t, 1)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	js := func(m map[string]any) string { b, _ := json.Marshal(m); return string(b) }
	for _, tc := range []struct{ name, raw, err string }{
		{"RSA2", js(map[string]any{"partner": "2088101122136241", "private_key": priv, "alipay_public_key": pub}), ""},
		{"MD5", js(map[string]any{"partner": "2088101122136241", "sign_type": "md5", "key": "k"}), ""},
		{"bad partner", js(map[string]any{"partner": "1234", "sign_type": "MD5", "key": "k"}), "partner must be"},
		{"no key", js(map[string]any{"partner": "2088101122136241", "sign_type": "MD5"}), "MD5 key"},
		{"no Alipay key", js(map[string]any{"partner": "2088101122136241", "private_key": priv}), "Alipay public key"},
		{"unknown sign type", js(map[string]any{"partner": "2088101122136241", "sign_type": "DSA", "key": "k"}), "unknown sign type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := alipay.ParseCredentials(tc.raw, nil)
			if tc.err == "" {
				if err != nil || c.Partner != "2088101122136241" {
					t.Fatalf("%+v %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
	if !alipay.Accepts("HENAN") || alipay.Accepts("SHANGHAI_ZS") {
		t.Fatal("Accepts: Alipay codes only")
	}
}

func TestCodeFor(t *testing.T) {
	for code, want := range map[string]string{"ZONGSHU": "ZONGSHU", "HENAN": "HENAN", "HG014": "NINGBO", "HG021": "HANGZHOU_ZONGSHU",
		"HG022": "SHANGHAI_CBT", "HG016": "ZONGSHU", "HG026": "ZONGSHU", "HG019": "", "SHANGHAI_ZS": "", "HG044": ""} {
		got, ok := alipay.CodeFor(code)
		if got != want || ok != (want != "") {
			t.Errorf("CodeFor(%s) = %q %v, want %q", code, got, ok, want)
		}
	}
}
