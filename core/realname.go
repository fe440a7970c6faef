package core

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// CheckRealName checks a name and resident ID number against the
// public-security database (payzero §7.1) through the real-name verifier of
// the merchant's mode, and keeps the result (the ID number sealed, under
// the merchant) for the operator. The sandbox's rules, keyed on the ID
// number, are in package sandbox (docs/sandbox.md).
// Errors: EINVALID field name or idno when empty or too long; ESTATE reason
// no_identity_provider when the mode has no verifier (live, today);
// ERATELIMIT reason too_many_realname (Limits.RealName).
func (s *Service) CheckRealName(ctx context.Context, m *baoguan.Merchant, name, idno string) (*baoguan.RealNameCheck, error) {
	name, idno = strings.TrimSpace(name), strings.TrimSpace(idno)
	if idno == "" {
		return nil, baoguan.FieldError("idno", "idno is required")
	}
	if name == "" {
		return nil, baoguan.FieldError("name", "name is required")
	}
	if utf8.RuneCountInString(name) > 60 || utf8.RuneCountInString(idno) > 40 {
		return nil, baoguan.FieldError("name", "name or idno is too long")
	}
	v := s.merchantAdapters(m).RealName
	if v == nil {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_identity_provider",
			Message: "本安装尚未接入实名认证渠道，请使用沙箱商户"}
	}
	if err := s.allowSend(ctx, "realname", s.Limits.RealName, m.ID, "real-name checks"); err != nil {
		return nil, err
	}
	r, err := v.VerifyRealName(ctx, baoguan.RealNameRequest{Merchant: m, Name: name, IDNo: idno, Now: s.Now()})
	s.Metrics.ChannelCalls.WithLabelValues("realname").Inc()
	if err != nil {
		return nil, err
	}
	r.ID, r.MerchantID, r.Name, r.IDNo = newUUID(), m.ID, name, idno
	err = s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		r.CheckedAt = tx.Now()
		return tx.CreateRealNameCheck(&r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// RealNameChecks lists the merchant's newest real-name checks, at most n,
// for operators.
func (s *Service) RealNameChecks(ctx context.Context, m *baoguan.Merchant, n int) ([]baoguan.RealNameCheck, error) {
	var out []baoguan.RealNameCheck
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.RealNameChecks(m.ID, n)
		return err
	})
	return out, err
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	h := []byte(randomHex(16))
	h[12] = '4'
	h[16] = "89ab"[h[16]%4]
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}
