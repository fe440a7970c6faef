package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// Routes: which customs port adapter carries a declaration. The route is
// chosen once, when the declaration is created, and stored on it, so that
// its retries, polls, modifications and re-declarations go the same way;
// only an operator changes it (a pin, then a re-declaration of a new
// declaration). The choice, in order:
//
//  1. a sandbox merchant or a test order: the sandbox port;
//  2. a live merchant with a pin for the customs code (setting
//     "route.<CODE>"): the pinned route, if it can carry the declaration;
//  3. a live order paid through a wallet (Payment.PSP names it) whose
//     route the merchant is set up for (credentials, a customs
//     registration for the code, a code the wallet knows): that route;
//  4. a route that needs no particular payment (E-Port) and is configured
//     for the code;
//  5. otherwise the push is refused: EINVALID on field customs, reason
//     no_route, naming what to configure. Nothing is written.

// Route is a customs port live declarations can go through, with what it
// needs to carry one. cmd/baoguan registers them in Service.Live.Routes.
type Route struct {
	Port baoguan.CustomsPort
	// PaidWith makes the route the automatic choice for orders whose
	// payment names this payment company (Payment.PSP, compared without
	// case): a wallet's own customs API can only declare its own payments.
	// Empty: the route serves any payment, after the wallets.
	PaidWith string
	// Credential is the kind of credentials the merchant must hold for
	// the route (SetUpstreamCredential); empty: none.
	Credential string
	// Registration says the merchant needs a customs registration
	// (number and name) for the customs code (SetCustomsRegistration).
	Registration bool
	// Accepts reports whether the route can declare to a catalogue code:
	// the code has a name in the route's scheme, or the installation is
	// configured for it. Nil accepts every code.
	Accepts func(code string) bool
	// Translate, when set, names the code as the route knows it (an HGxxx
	// code becomes a wallet's name for the same customs), so that a
	// registration the merchant recorded under either name counts.
	Translate func(code string) (string, bool)
	// Name is how messages name the route for people ("WeChat Pay");
	// empty: the route name.
	Name string
	// Rate and Burst bound the calls made with one set of credentials (or
	// for one merchant, when the route needs none): Rate a second,
	// Burst at once, across every instance sharing the database. A
	// declaration or poll over the limit waits (the job runs again
	// later, counting no failure). Rate 0: no limit.
	Rate  float64
	Burst int
}

func (r Route) title(name string) string {
	if r.Name != "" {
		return r.Name
	}
	return name
}

// routeSettingPrefix prefixes a merchant's route pins: "route.HG014" → "eport".
const routeSettingPrefix = "route."

// chooseRoute picks the route of a new declaration of o to code (asked is
// the code the merchant asked for, whose plan contains code). m is the
// order's merchant with its settings.
func (s *Service) chooseRoute(m *baoguan.Merchant, o *baoguan.Order, code, asked string) (string, error) {
	if o.Sandbox {
		return baoguan.RouteSandbox, nil
	}
	routes := s.Live.Routes
	refuse := func(why string) (string, error) {
		return "", &baoguan.Error{Code: baoguan.EINVALID, Field: "customs", Reason: "no_route",
			Message: "order " + o.MerchantOrderNo + " cannot be declared to " + code + ": " + why}
	}
	pin := m.Settings[routeSettingPrefix+code]
	if pin == "" && asked != code {
		pin = m.Settings[routeSettingPrefix+asked]
	}
	if pin != "" && pin != baoguan.RouteAuto {
		r, ok := routes[pin]
		if !ok {
			return refuse("merchant " + m.No + " pins " + code + " to route " + pin + ", which this installation does not run")
		}
		if why := s.routeMissing(m, o, pin, r, code); why != "" {
			return refuse(why)
		}
		return pin, nil
	}
	names := make([]string, 0, len(routes))
	for n := range routes {
		names = append(names, n)
	}
	sort.Strings(names)
	var reasons []string
	for _, n := range names {
		r := routes[n]
		if r.PaidWith == "" || !strings.EqualFold(r.PaidWith, o.Payment.PSP) {
			continue
		}
		why := s.routeMissing(m, o, n, r, code)
		if why == "" {
			return n, nil
		}
		reasons = append(reasons, why)
	}
	for _, n := range names {
		r := routes[n]
		if r.PaidWith != "" {
			continue
		}
		why := s.routeMissing(m, o, n, r, code)
		if why == "" {
			return n, nil
		}
		reasons = append(reasons, why)
	}
	if len(reasons) == 0 {
		paid := "a payment this installation can declare"
		if o.Payment.PSP != "" {
			paid = "a route for payments through " + o.Payment.PSP
		}
		return refuse("this installation has no " + paid + " and no E-Port route for " + code)
	}
	return refuse(strings.Join(reasons, "; "))
}

// routeMissing says what the merchant or the installation lacks for route
// n to carry a declaration to code, or "" when nothing is.
func (s *Service) routeMissing(m *baoguan.Merchant, o *baoguan.Order, n string, r Route, code string) string {
	title := r.title(n)
	if r.Accepts != nil && !r.Accepts(code) {
		return title + " cannot declare to " + code + " (the code has no name in its scheme, or the installation is not configured for it)"
	}
	if r.Credential != "" && m.Settings[credentialKey(r.Credential)] == "" {
		return "merchant " + m.No + " has no " + title + " credentials (baoguan merchant credentials --merchant " + m.No + " --kind " + r.Credential + " …)"
	}
	if r.Registration {
		regs := customsRegistrations(m)
		reg, ok := regs[code]
		if !ok && r.Translate != nil {
			if alt, ok2 := r.Translate(code); ok2 {
				reg, ok = regs[alt]
			}
		}
		if !ok || reg.No == "" || reg.Name == "" {
			return "merchant " + m.No + " has no customs registration for " + code +
				" (baoguan merchant customs --merchant " + m.No + " --customs " + code + " --no … --name …)"
		}
	}
	if r.Port == nil {
		return title + " is not running in this installation"
	}
	return ""
}

// portFor returns the port a declaration goes through: its route's, or,
// for a declaration stored before routes existed, the mode's default. A
// route this process does not run is a permanent error: retrying cannot
// bring the port into being.
func (s *Service) portFor(d *baoguan.Declaration, o *baoguan.Order) (baoguan.CustomsPort, error) {
	switch d.Route {
	case "":
		if p := s.adapters(o.Sandbox).Port; p != nil {
			return p, nil
		}
	case baoguan.RouteSandbox:
		if s.Sandbox.Port != nil {
			return s.Sandbox.Port, nil
		}
	default:
		if r, ok := s.Live.Routes[d.Route]; ok && r.Port != nil {
			return r.Port, nil
		}
	}
	return nil, baoguan.Permanent(&baoguan.Error{Code: baoguan.EINTERNAL, Reason: "route_not_running",
		Message: "declaration " + d.SubOrderID + " goes through route " + orDash(d.Route) + ", which this process does not run"})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// CustomsRegistration is a merchant's customs registration for one customs
// code: its number and its name, as recorded with customs (and with the
// wallet, for a wallet route).
type CustomsRegistration struct {
	No   string `json:"no"`
	Name string `json:"name"`
}

// registrationsKey is the setting holding a merchant's customs
// registrations as JSON: code → {no, name}.
const registrationsKey = "customs.registrations"

// customsRegistrations reads a merchant's registrations; a missing or
// unreadable setting is none.
func customsRegistrations(m *baoguan.Merchant) map[string]CustomsRegistration {
	out := map[string]CustomsRegistration{}
	if v := m.Settings[registrationsKey]; v != "" {
		_ = json.Unmarshal([]byte(v), &out)
	}
	return out
}

// credentialKey is the setting holding a merchant's credentials of a kind.
func credentialKey(kind string) string { return kind + ".credentials" }

// throttle takes a token from the bucket of the credentials the
// declaration's route uses, and returns how long to wait when there is
// none (0 when the call may go ahead).
func (s *Service) throttle(ctx context.Context, d *baoguan.Declaration, m *baoguan.Merchant) (time.Duration, error) {
	r, ok := s.Live.Routes[d.Route]
	if !ok || r.Rate <= 0 {
		return 0, nil
	}
	who := "merchant:" + strconv.FormatInt(m.ID, 10)
	if r.Credential != "" {
		if v := m.Settings[credentialKey(r.Credential)]; v != "" {
			sum := sha256.Sum256([]byte(v))
			who = "credentials:" + hex.EncodeToString(sum[:12])
		}
	}
	burst := r.Burst
	if burst < 1 {
		burst = 1
	}
	allowed, err := s.Allow(ctx, "upstream:"+d.Route+":"+who, r.Rate, burst)
	if err != nil || allowed {
		return 0, err
	}
	return time.Duration(float64(time.Second) / r.Rate), nil
}
