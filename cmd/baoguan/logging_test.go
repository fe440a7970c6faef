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
