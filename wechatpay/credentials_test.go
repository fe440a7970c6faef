package wechatpay_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/baoguan/baoguan/wechatpay"
)

func TestParseCredentials(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	js := func(m map[string]any) string { b, _ := json.Marshal(m); return string(b) }
	apiKey := strings.Repeat("k", 32)
	cases := []struct {
		name, raw, err string
		check          func(*wechatpay.Credentials) bool
	}{
		{"v2", js(map[string]any{"appid": "wx1", "mchid": "123", "api_key": apiKey}), "",
			func(c *wechatpay.Credentials) bool { return c.V2 != nil && c.V3 == nil && c.V2.MchID == "123" }},
		{"v3 with a public key", js(map[string]any{"appid": "wx1", "mchid": "123", "cert_serial": "AB", "private_key": priv,
			"public_key_id": "PUB_KEY_ID_1", "public_key": pub}), "",
			func(c *wechatpay.Credentials) bool { return c.V3 != nil && c.V3.PublicKeyID == "PUB_KEY_ID_1" }},
		{"institution", js(map[string]any{"appid": "wx1", "mchid": "INST", "mode": "institution", "sub_mchid": "SUB",
			"cert_serial": "AB", "private_key": priv, "apiv3_key": apiKey}), "",
			func(c *wechatpay.Credentials) bool { return c.V3.MchID == "SUB" && c.V3.SignerMchID == "INST" }},
		{"v3 without verification", js(map[string]any{"appid": "wx1", "mchid": "123", "cert_serial": "AB", "private_key": priv}),
			"a way to verify", nil},
		{"bad key", js(map[string]any{"appid": "wx1", "mchid": "123", "cert_serial": "AB", "private_key": "nope", "apiv3_key": apiKey}),
			"private_key is not", nil},
		{"short api key", js(map[string]any{"appid": "wx1", "mchid": "123", "api_key": "short-secret"}), "api_key must have 32", nil},
		{"unknown field", `{"appid":"wx1","mchid":"1","api_key":"` + apiKey + `","apikey":"x"}`, "unknown field", nil},
		{"nothing usable", js(map[string]any{"appid": "wx1", "mchid": "123"}), "give the v3", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := wechatpay.ParseCredentials(tc.raw, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "short-secret") || strings.Contains(err.Error(), "BEGIN") {
					t.Fatalf("the error shows a value: %v", err)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("%+v %v", c, err)
			}
		})
	}
	if !wechatpay.Accepts("GUANGZHOU_HP_GJ") || wechatpay.Accepts("ZONGSHU") || !wechatpay.Accepts("HG014") || wechatpay.Accepts("HG002") {
		t.Fatal("Accepts: WeChat codes and the HG codes of their ports")
	}
}

func TestCodeFor(t *testing.T) {
	for code, want := range map[string]string{"SHANGHAI_ZS": "SHANGHAI_ZS", "GUANGZHOU_HP_GJ": "GUANGZHOU_HP_GJ", "HG014": "NINGBO",
		"HG022": "SHANGHAI_ZS", "HG018": "GUANGZHOU_ZS", "HG021": "HANGZHOU_ZS", "HG002": "", "ZONGSHU": "", "HANGZHOU_ZONGSHU": ""} {
		got, ok := wechatpay.CodeFor(code)
		if got != want || ok != (want != "") {
			t.Errorf("CodeFor(%s) = %q %v, want %q", code, got, ok, want)
		}
	}
}
