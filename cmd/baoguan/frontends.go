package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/baoguan/baoguan/accp"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/payzero"
	"github.com/baoguan/baoguan/pushorder"
	"github.com/baoguan/baoguan/wechatv3"
	"github.com/baoguan/baoguan/wisecashier"
)

// frontend is one vendor protocol served over the core.
type frontend struct {
	name     string
	prefix   string // mount point on the main listener
	register func(mux *http.ServeMux, prefix string)
	handler  http.Handler // the same routes at the root, for a dedicated listener
	// tokenAuth: a request with an Authorization header is authenticated
	// from it before its body is read (payzero after login), so its
	// body — a batch upload, perhaps — is not read under the gate.
	tokenAuth bool
}

// buildFrontends creates every vendor front-end, registers its
// notification format with the core, and returns them for mounting. Each is
// served under its prefix on the main listener and, when configured, at the
// root of its own listener.
func buildFrontends(ctx context.Context, svc *core.Service, log *slog.Logger) ([]frontend, error) {
	var out []frontend

	po, err := pushorder.New(pushorder.Options{Svc: svc, Log: log})
	if err != nil {
		return nil, fmt.Errorf("pushorder: %w", err)
	}
	svc.Formats.Register(pushorder.Protocol, pushorder.NewFormat(pushorder.FormatOptions{}))
	out = append(out, frontend{name: pushorder.Protocol, prefix: "/pushorder", register: po.Register, handler: po.Handler()})

	ac, err := accp.New(accp.Options{Svc: svc, Log: log})
	if err != nil {
		return nil, fmt.Errorf("accp: %w", err)
	}
	svc.Formats.Register(accp.Protocol, accp.NewFormat(ac.Key()))
	out = append(out, frontend{name: accp.Protocol, prefix: "/accp", register: ac.Register, handler: ac.Handler()})

	wx, err := wechatv3.New(wechatv3.Options{Svc: svc, Log: log})
	if err != nil {
		return nil, fmt.Errorf("wechatv3: %w", err)
	}
	svc.Formats.Register(wechatv3.Protocol, wechatv3.NewFormat())
	out = append(out, frontend{name: wechatv3.Protocol, prefix: "/wechatpay", register: wx.Register, handler: wx.Handler()})

	pz, err := payzero.New(payzero.Options{Svc: svc, Log: log})
	if err != nil {
		return nil, fmt.Errorf("payzero: %w", err)
	}
	svc.Formats.Register(payzero.Protocol, payzero.NewFormat(payzero.FormatOptions{Now: svc.Now}))
	out = append(out, frontend{name: payzero.Protocol, prefix: "/payzero", register: pz.Register, handler: pz.Handler(), tokenAuth: true})

	wc, err := wisecashier.New(wisecashier.Options{Svc: svc, Log: log})
	if err != nil {
		return nil, fmt.Errorf("wisecashier: %w", err)
	}
	svc.Formats.Register(wisecashier.Protocol, wisecashier.NewFormat(wc.Key(), wisecashier.FormatOptions{Now: svc.Now}))
	out = append(out, frontend{name: wisecashier.Protocol, prefix: "/wisecashier", register: wc.Register, handler: wc.Handler()})

	return out, nil
}

// mountFrontends serves each front-end under its prefix on mux, its
// bodies read under gate (every request to a vendor front-end is
// unauthenticated until its body is read).
func mountFrontends(mux *http.ServeMux, fes []frontend, gate *preAuthGate) {
	for _, fe := range fes {
		// The front-end's own mux routes under the prefix and sets the
		// request's pattern (the gate passes the request on unchanged),
		// so logs and metrics name the front-end's routes.
		sub := http.NewServeMux()
		fe.register(sub, fe.prefix)
		mux.Handle(fe.prefix+"/", gate.wrap(sub, fe.tokenAuth))
	}
}

// dedicatedListeners opens the listeners of --<protocol>-addr and serves
// each front-end at their root, with the main listener's limits
// (newServer) and its gate. It returns the servers to shut down.
func dedicatedListeners(cfg *Config, fes []frontend, gate *preAuthGate, log *slog.Logger, m *httpMetrics, stdout io.Writer) ([]*http.Server, error) {
	var servers []*http.Server
	known := map[string]bool{}
	for _, fe := range fes {
		known[fe.name] = true
		addr := cfg.FrontendAddrs[fe.name]
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, s := range servers {
				s.Close()
			}
			return nil, fmt.Errorf("%s: %w", cfg.name(fe.name+"-addr"), err)
		}
		mux := http.NewServeMux()
		mux.Handle("/", gate.wrap(fe.handler, fe.tokenAuth))
		srv := newServer(withObservability(mux, log, m), log)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("dedicated listener stopped", "protocol", fe.name, "err", err)
			}
		}()
		fmt.Fprintf(stdout, "%s protocol served at http://%s\n", fe.name, ln.Addr())
		servers = append(servers, srv)
	}
	for name := range cfg.FrontendAddrs {
		if !known[name] {
			return servers, fmt.Errorf("%s: the %s front-end is not built into this binary", cfg.name(name+"-addr"), name)
		}
	}
	return servers, nil
}
