package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/baoguan/baoguan"
)

// newLogger returns the process logger: JSON lines on w, with personal
// data masked (see maskAttr).
func newLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: maskAttr}))
}

// maskAttr masks the value of any attribute whose key names personal data,
// wherever it is logged from and in whatever group, so that a careless
// log.Info("…", "phone", o.PayerPhone) in any package cannot put a payer's
// number in the logs. Keys are compared without case, '_' or '-', so
// payer_id_number, payerIdNumber and PAYER-ID-NUMBER are all masked.
func maskAttr(_ []string, a slog.Attr) slog.Attr {
	mask := maskerFor(a.Key)
	if mask == nil {
		return a
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindString && v.String() == "" {
		return a // nothing to hide; an empty string says the field was missing
	}
	return slog.String(a.Key, mask(v.String()))
}

// redact hides a credential entirely: unlike an ID number, no part of a
// key helps an operator and every part helps an attacker.
func redact(string) string { return "[redacted]" }

// maskerFor picks the mask for a log key, or nil for keys that carry no
// personal data. Matching is by suffix of the normalised key, so that
// prefixes (payer_, buyer_, order_) need no listing, but never by
// substring, which would catch innocent keys ("paid_notify" holds "idno").
func maskerFor(key string) func(string) string {
	k := strings.ToLower(key)
	k = strings.NewReplacer("_", "", "-", "", ".", "", " ", "").Replace(k)
	has := func(suffixes ...string) bool {
		for _, s := range suffixes {
			if strings.HasSuffix(k, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("phone", "mobile", "phoneno", "phonenumber", "mobileno", "mobilenumber", "telno"):
		return baoguan.MaskPhone
	case has("cardno", "cardnumber", "bankcard", "bankaccount", "accountno"):
		return baoguan.MaskCard
	case has("idnumber", "idno", "idcard", "idcardno", "payerid", "certno", "certnumber", "certificateno",
		"certificatenumber", "identityno", "identitynumber"):
		return baoguan.MaskID
	case has("apikey", "appkey", "secret", "token", "password", "authorization"):
		return redact
	case k == "payername" || k == "realname" || k == "buyername" || k == "holdername" || k == "cardholder":
		return baoguan.MaskName
	}
	return nil
}
