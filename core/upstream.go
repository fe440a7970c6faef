package core

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
)

// Upstream services: what a live merchant holds so that baoguan can call a
// payment company on its behalf — credentials by kind, customs
// registrations by customs code, route pins by customs code. All of it
// lives in the merchant's sealed settings (sealed by the store with the
// keyring) under namespaced keys; only this file reads and writes them,
// and secrets leave core unmasked only to the adapter that uses them.

// credentialKinds are the kinds of upstream credentials baoguan knows:
// the route that uses them (and the CLI's --kind).
var credentialKinds = map[string]bool{baoguan.RouteWeChatPay: true, baoguan.RouteAlipay: true}

// routeNames are the routes a pin may name.
var routeNames = map[string]bool{baoguan.RouteWeChatPay: true, baoguan.RouteAlipay: true, baoguan.RouteEPort: true,
	baoguan.RouteSandbox: true}

func checkKind(kind string) error {
	if !credentialKinds[kind] {
		return &baoguan.Error{Code: baoguan.EINVALID, Field: "kind", Reason: "unknown_kind",
			Message: "unknown credentials kind " + quoteName(kind) + ": use " + strings.Join(sortedKeys(credentialKinds), " or ")}
	}
	return nil
}

func quoteName(s string) string { return "\"" + s + "\"" }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SetUpstreamCredential stores a merchant's credentials of one kind
// (replacing any it had): value is a JSON object whose fields the kind's
// adapter reads. Empty value removes them. Errors: ENOTFOUND, EINVALID
// (field kind, reason unknown_kind; field credentials, reason
// bad_credentials when value is not a JSON object).
func (s *Service) SetUpstreamCredential(ctx context.Context, merchantNo, kind, value string) (*baoguan.Merchant, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	if value != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(value), &obj); err != nil || obj == nil {
			return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "credentials", Reason: "bad_credentials",
				Message: kind + " credentials must be a JSON object"}
		}
	}
	return s.UpdateMerchant(ctx, merchantNo, func(m *baoguan.Merchant) error {
		setSetting(m, credentialKey(kind), value)
		return nil
	})
}

func setSetting(m *baoguan.Merchant, key, value string) {
	if m.Settings == nil {
		m.Settings = map[string]string{}
	}
	if value == "" {
		delete(m.Settings, key)
		return
	}
	m.Settings[key] = value
}

// UpstreamCredential returns a merchant's credentials of one kind, for the
// adapter that uses them. ENOTFOUND when the merchant has none.
func (s *Service) UpstreamCredential(m *baoguan.Merchant, kind string) (string, error) {
	v := m.Settings[credentialKey(kind)]
	if v == "" {
		return "", &baoguan.Error{Code: baoguan.ENOTFOUND, Reason: "no_credentials",
			Message: "merchant " + m.No + " has no " + kind + " credentials"}
	}
	return v, nil
}

// MaskedCredential is one kind of a merchant's credentials as operators
// see it: field names with their values, secrets masked.
type MaskedCredential struct {
	Kind   string            `json:"kind"`
	Fields map[string]string `json:"fields"`
}

// secretField reports whether a credentials field holds a secret: keys,
// private keys, passwords. Identifiers (appid, mchid, partner, serials,
// sign types) and public material are shown.
func secretField(name string) bool {
	n := strings.ToLower(name)
	if strings.Contains(n, "public") || strings.Contains(n, "serial") || strings.Contains(n, "cert") && !strings.Contains(n, "private") {
		return false
	}
	for _, w := range []string{"key", "secret", "private", "password", "token"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// UpstreamCredentials lists a merchant's credentials, masked: a secret
// shows as "set" (or its last 4 characters for long values), never in
// full. ENOTFOUND.
func (s *Service) UpstreamCredentials(ctx context.Context, merchantNo string) ([]MaskedCredential, error) {
	m, err := s.MerchantByNo(ctx, merchantNo)
	if err != nil {
		return nil, err
	}
	out := []MaskedCredential{}
	for _, kind := range sortedKeys(credentialKinds) {
		v := m.Settings[credentialKey(kind)]
		if v == "" {
			continue
		}
		var obj map[string]any
		_ = json.Unmarshal([]byte(v), &obj)
		mc := MaskedCredential{Kind: kind, Fields: map[string]string{}}
		for k, val := range obj {
			text := ""
			switch x := val.(type) {
			case string:
				text = x
			case nil:
			default:
				b, _ := json.Marshal(x)
				text = string(b)
			}
			switch {
			case text == "":
				mc.Fields[k] = ""
			case secretField(k):
				mc.Fields[k] = maskSecret(text)
			case len(text) > 80:
				mc.Fields[k] = text[:40] + "…(" + strconv.Itoa(len(text)) + " bytes)"
			default:
				mc.Fields[k] = text
			}
		}
		out = append(out, mc)
	}
	return out, nil
}

func maskSecret(v string) string {
	if strings.Contains(v, "-----BEGIN") {
		return "set (PEM, " + strconv.Itoa(len(v)) + " bytes)"
	}
	if len(v) < 24 {
		return "set"
	}
	return "set, …" + v[len(v)-4:]
}

// SetCustomsRegistration records a merchant's customs registration for a
// customs code (number and name, as customs and the wallet know them); an
// empty registration removes it. Errors: ENOTFOUND, EINVALID (field
// customs, reason unknown_customs_code; field no or name, reason missing).
func (s *Service) SetCustomsRegistration(ctx context.Context, merchantNo, code string, reg CustomsRegistration) (*baoguan.Merchant, error) {
	e, err := baoguan.LookupCustoms(code)
	if err != nil {
		return nil, err
	}
	reg.No, reg.Name = strings.TrimSpace(reg.No), strings.TrimSpace(reg.Name)
	remove := reg.No == "" && reg.Name == ""
	if !remove {
		if reg.No == "" {
			return nil, baoguan.FieldError("no", "the customs registration number is required").WithReason("missing")
		}
		if reg.Name == "" {
			return nil, baoguan.FieldError("name", "the customs registration name is required").WithReason("missing")
		}
		if len(reg.No) > 32 || len([]rune(reg.Name)) > 256 {
			return nil, baoguan.FieldError("no", "the registration number may have 32 characters and the name 256").WithReason("too_long")
		}
	}
	return s.UpdateMerchant(ctx, merchantNo, func(m *baoguan.Merchant) error {
		regs := customsRegistrations(m)
		if remove {
			delete(regs, e.Code)
		} else {
			regs[e.Code] = reg
		}
		v := ""
		if len(regs) > 0 {
			b, err := json.Marshal(regs)
			if err != nil {
				return err
			}
			v = string(b)
		}
		setSetting(m, registrationsKey, v)
		return nil
	})
}

// CustomsRegistrations returns a merchant's customs registrations by code
// (registration numbers and names are not secret).
func (s *Service) CustomsRegistrations(m *baoguan.Merchant) map[string]CustomsRegistration {
	return customsRegistrations(m)
}

// PinRoute makes a merchant's declarations to a customs code go through
// one route (baoguan.RouteEPort, …); baoguan.RouteAuto removes the pin.
// It applies to declarations created afterwards. Errors: ENOTFOUND,
// EINVALID (field customs, reason unknown_customs_code; field route,
// reason unknown_route).
func (s *Service) PinRoute(ctx context.Context, merchantNo, code, route string) (*baoguan.Merchant, error) {
	e, err := baoguan.LookupCustoms(code)
	if err != nil {
		return nil, err
	}
	if route != baoguan.RouteAuto && !routeNames[route] {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "route", Reason: "unknown_route",
			Message: "unknown route " + quoteName(route) + ": use " + strings.Join(sortedKeys(routeNames), ", ") + " or auto"}
	}
	return s.UpdateMerchant(ctx, merchantNo, func(m *baoguan.Merchant) error {
		v := route
		if route == baoguan.RouteAuto {
			v = ""
		}
		setSetting(m, routeSettingPrefix+e.Code, v)
		return nil
	})
}

// RoutePins returns a merchant's route pins by customs code.
func (s *Service) RoutePins(m *baoguan.Merchant) map[string]string {
	out := map[string]string{}
	for k, v := range m.Settings {
		if code, ok := strings.CutPrefix(k, routeSettingPrefix); ok && v != "" {
			out[code] = v
		}
	}
	return out
}

// record keeps a call a port reports while the job runs. Reporters mask
// their messages; MaskPersonal again is the net under one that forgot, so
// that no ID number or phone reaches the stored call log in clear.
func (w *work) record(c baoguan.UpstreamCall) {
	c.Message = baoguan.MaskPersonal(c.Message)
	w.callsMu.Lock()
	defer w.callsMu.Unlock()
	w.calls = append(w.calls, c)
}

// storeCalls writes the calls the job has made so far, in tx. They are
// forgotten (and logged, masked as they are) by committed, once tx has
// committed: a transaction that rolls back and runs again writes them
// again, once.
func (s *Service) storeCalls(tx baoguan.Tx, w *work) error {
	if w == nil {
		return nil
	}
	w.callsMu.Lock()
	calls := append([]baoguan.UpstreamCall(nil), w.calls...)
	w.stored = len(calls)
	w.callsMu.Unlock()
	if len(calls) == 0 {
		return nil
	}
	return tx.AddUpstreamCalls(calls)
}

// committed forgets the calls storeCalls wrote in a transaction that has
// now committed, and logs them.
func (s *Service) committed(w *work) {
	if w == nil {
		return
	}
	w.callsMu.Lock()
	calls := w.calls[:w.stored]
	w.calls, w.stored = w.calls[w.stored:], 0
	w.callsMu.Unlock()
	for _, c := range calls {
		s.Log.Info("upstream call", "merchant", c.MerchantID, "declaration", c.DeclarationID, "service", c.Service,
			"op", c.Operation, "attempt", c.Attempt, "status", c.HTTPStatus, "latency_ms", c.LatencyMS, "code", c.Code,
			"message", c.Message, "outcome", c.Outcome)
	}
}

// OrderCalls lists the calls made to upstream services for one of the
// merchant's orders, newest first, a page at a time; declarationID (0:
// all) narrows them to one declaration. Errors: ENOTFOUND (no such order,
// or the declaration is not the order's).
func (s *Service) OrderCalls(ctx context.Context, m *baoguan.Merchant, orderNo string, declarationID int64, p baoguan.Page) ([]baoguan.UpstreamCall, error) {
	var out []baoguan.UpstreamCall
	err := s.view(ctx, func(tx baoguan.Tx) error {
		o, err := tx.OrderByNo(m.ID, orderNo)
		if err != nil {
			return err
		}
		if declarationID != 0 {
			d, err := tx.Declaration(m.ID, declarationID)
			if err != nil {
				return err
			}
			if d.OrderID != o.ID {
				return &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "order " + orderNo + " has no such declaration"}
			}
		}
		out, err = tx.UpstreamCalls(baoguan.UpstreamCallFilter{MerchantID: m.ID, OrderID: o.ID, DeclarationID: declarationID, Page: p})
		return err
	})
	return out, err
}

// UpstreamCallLog lists recorded calls across merchants for operators,
// newest first: filter by merchant, order or declaration (0: any). A
// merchant sees its own through OrderCalls.
func (s *Service) UpstreamCallLog(ctx context.Context, f baoguan.UpstreamCallFilter) ([]baoguan.UpstreamCall, error) {
	var out []baoguan.UpstreamCall
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.UpstreamCalls(f)
		return err
	})
	return out, err
}
