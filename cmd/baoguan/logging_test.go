package main

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

func TestLogMasksPersonalData(t *testing.T) {
	t.Parallel()
	const (
		id    = "110101199003071234"
		phone = "13800138000"
		card  = "6217000010001234567"
	)
	tests := []struct {
		key   string
		value any
		want  string
	}{
		{"id_number", id, baoguan.MaskID(id)},
		{"payer_id", id, baoguan.MaskID(id)},
		{"payerIdNumber", id, baoguan.MaskID(id)},
		{"PAYER-ID-NO", id, baoguan.MaskID(id)},
		{"phone", phone, baoguan.MaskPhone(phone)},
		{"mobile", phone, baoguan.MaskPhone(phone)},
		{"payer_phone", int64(13800138000), baoguan.MaskPhone(phone)},
		{"card_no", card, baoguan.MaskCard(card)},
		{"bank_card", card, baoguan.MaskCard(card)},
		{"payer_name", "欧阳锋", baoguan.MaskName("欧阳锋")},
		{"api_key", "bg_test_secret", "[redacted]"},
		{"webhook_secret", "whsec_x", "[redacted]"},
	}
	for _, tt := range tests {
		var buf syncBuffer
		newLogger(&buf, slog.LevelDebug).Info("order pushed", tt.key, tt.value)
		var rec map[string]any
		if err := json.Unmarshal([]byte(buf.String()), &rec); err != nil {
			t.Fatalf("%s: not JSON: %v", tt.key, err)
		}
		if got := rec[tt.key]; got != tt.want {
			t.Errorf("%s=%v logged as %v; want %q", tt.key, tt.value, got, tt.want)
		}
	}

	// Inside groups and With attributes too; other keys untouched.
	var buf syncBuffer
	log := newLogger(&buf, slog.LevelDebug).With("id_number", id).WithGroup("payer")
	log.Info("declared", "phone", phone, slog.Group("card", "card_no", card), "order_no", "O-42", "paid_notify", "yes")
	out := buf.String()
	for _, raw := range []string{id, phone, card} {
		if strings.Contains(out, raw) {
			t.Errorf("log holds %q unmasked: %s", raw, out)
		}
	}
	for _, want := range []string{
		`"id_number":"` + baoguan.MaskID(id) + `"`,
		`"phone":"` + baoguan.MaskPhone(phone) + `"`,
		`"card_no":"` + baoguan.MaskCard(card) + `"`,
		`"order_no":"O-42"`,
		`"paid_notify":"yes"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
}

func TestEmptyPersonalDataStaysEmpty(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	newLogger(&buf, nil).Info("x", "phone", "")
	if !strings.Contains(buf.String(), `"phone":""`) {
		t.Errorf("empty phone logged as %s", buf.String())
	}
}

func TestRedactPath(t *testing.T) {
	t.Parallel()
	cases := []struct{ pattern, path, want string }{
		{"POST /pushorder/{token}/PushOrder", "/pushorder/abc123/PushOrder", "/pushorder/[redacted]/PushOrder"},
		{"POST /{token}/GetTestOrder", "/abc123/GetTestOrder", "/[redacted]/GetTestOrder"},
		{"POST example.com/{token}/PushOrder", "/abc123/PushOrder", "/[redacted]/PushOrder"},
		{"GET /x/{api_key}/{rest...}", "/x/k1/a/b", "/x/[redacted]/a/b"},
		{"GET /x/{secret...}", "/x/a/b/c", "/x/[redacted]"},
		{"GET /v1/orders/{no}", "/v1/orders/O-1", "/v1/orders/O-1"},
		{"GET /v1/events/{event_id}", "/v1/events/7", "/v1/events/7"},
		{"POST /v1/orders", "/v1/orders", "/v1/orders"},
		{"", "/anything/abc", "/anything/abc"},
		{"POST /pushorder/{token}/PushOrder", "/pushorder/abc", "/pushorder/[redacted]"},
	}
	for _, c := range cases {
		if got := redactPath(c.pattern, c.path); got != c.want {
			t.Errorf("redactPath(%q, %q) = %q, want %q", c.pattern, c.path, got, c.want)
		}
	}
}

func TestRedactUnmatched(t *testing.T) {
	t.Parallel()
	cases := []struct{ path, want string }{
		{"/pushorder/Tok3nS3cr3t0123/PushOrdr", "/pushorder/[redacted]/PushOrdr"},
		{"/Tok3nS3cr3t0123/Nope", "/[redacted]/Nope"},
		{"/v1/nope", "/v1/nope"},
		{"/accp/v1/cbpayment/apply-pushpay.do", "/accp/v1/cbpayment/[redacted]"},
		{"/PushOrderWrong.aspx", "/PushOrderWrong.aspx"},
	}
	for _, c := range cases {
		if got := redactUnmatched(c.path); got != c.want {
			t.Errorf("redactUnmatched(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

func TestRedactURLSecrets(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"https://m.example/hook?token=abc&order=1", "https://m.example/hook?token=[redacted]&order=1"},
		{"/v1/orders?api_key=k&limit=5&sign=s%3D%3D", "/v1/orders?api_key=[redacted]&limit=5&sign=[redacted]"},
		{`Post "https://u:p@m.example/h?access_token=t": dial tcp: refused`, `Post "https://[redacted]@m.example/h?access_token=[redacted]": dial tcp: refused`},
		{"?idNo=110105199001011232&phone=13800138000", "?idNo=[redacted]&phone=[redacted]"},
		{"/v1/orders", "/v1/orders"},
		{"a & b = c", "a & b = c"},
		{"mail me at a@b.example", "mail me at a@b.example"},
		{"?token=", "?token="},
		{"?=x&&token", "?=x&&token"},
	}
	for _, c := range cases {
		if got := redactURLSecrets(c.in); got != c.want {
			t.Errorf("redactURLSecrets(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestLogRedactsSecretKeys: keys that name credentials are redacted
// whatever their spelling; ordinary keys are untouched.
func TestLogRedactsSecretKeys(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"Authorization", "sign", "SIGN", "signature", "Signature-Data", "access_token", "accessToken",
		"apiv3_key", "private_key", "password", "cvv2", "CVV", "sms_code", "webhook-secret", "Cookie"} {
		if got := classify(k); got != maskSecret {
			t.Errorf("classify(%q) = %d, want secret", k, got)
		}
	}
	for _, k := range []string{"request_id", "method", "route", "status", "order_no", "merchant", "design", "paid_notify", "idempotency_key", "job", "kind"} {
		if got := classify(k); got != maskNone {
			t.Errorf("classify(%q) = %d, want none", k, got)
		}
	}
	var buf syncBuffer
	newLogger(&buf, slog.LevelDebug).Info("x", "url", "https://m.example/h?token=abc", "err", `Get "https://m.example/?sign=zzz": timeout`, "route", "POST /v1/orders")
	out := buf.String()
	if strings.Contains(out, "abc") || strings.Contains(out, "zzz") || !strings.Contains(out, `"route":"POST /v1/orders"`) {
		t.Errorf("log: %s", out)
	}
}

// TestClassifyEveryListedWord: each word of the lists masks its kind as a
// key of its own and, for the suffix lists, at the end of a longer key;
// where a key ends with words of two lists, the list tried first wins
// (id_card_no is a card number: cardno comes before idcardno).
func TestClassifyEveryListedWord(t *testing.T) {
	t.Parallel()
	lists := []struct {
		words  []string
		kind   maskKind
		suffix bool
	}{
		{phoneSuffixes, maskPhone, true}, {cardSuffixes, maskCard, true}, {idSuffixes, maskID, true},
		{secretSuffixes, maskSecret, true}, {[]string{"sign", "sig"}, maskSecret, false},
		{nameKeys, maskName, false}, {urlKeys, maskURL, false},
	}
	first := func(k string) maskKind { // the lists tried in order
		for _, l := range lists {
			for _, w := range l.words {
				if k == w || l.suffix && strings.HasSuffix(k, w) {
					return l.kind
				}
			}
		}
		return maskNone
	}
	for _, l := range lists {
		for _, w := range l.words {
			for _, k := range []string{w, "payer_" + w, strings.ToUpper(w), "x." + w} {
				want := first(strings.ToLower(strings.NewReplacer("_", "", ".", "").Replace(k)))
				if got := classify(k); got != want {
					t.Errorf("classify(%q) = %d, want %d", k, got, want)
				}
			}
		}
	}
	for k, want := range map[string]maskKind{"id_card_no": maskCard, "payer_id_number": maskID, "mobile_no": maskPhone,
		"notify_url": maskURL, "payer_name": maskName, "buyer_name_x": maskNone, "": maskNone, "_-. ": maskNone, "signal": maskNone} {
		if got := classify(k); got != want {
			t.Errorf("classify(%q) = %d, want %d", k, got, want)
		}
	}
}
