package payzero

import (
	"bytes"
	"context"
	"net/http"
	"strings"
)

// routes lists every interface of the payzero document, rooted at "/".
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /auth/login", s.handleLogin) // §1

	mux.Handle("POST /orderBatch", s.authed(s.handleBatchCreate))                // 2.1
	mux.Handle("GET /orderBatch/{id}/pay", s.authed(s.handleBatchPay))           // 2.2
	mux.Handle("GET /orderBatch/{id}/summary", s.authed(s.handleBatchSummary))   // 2.3
	mux.Handle("GET /order/feedback", s.authed(s.handleOrderFeedback))           // 2.4
	mux.Handle("GET /orderBatch/{id}/feedback", s.authed(s.handleBatchFeedback)) // 2.5
	mux.Handle("POST /order/createAndPay", s.authed(s.handleCreateAndPay))       // 2.6
	mux.Handle("GET /order/arrangePay", s.authed(s.handleArrangePay))            // 2.7

	mux.Handle("POST /order/createAndQrCode", s.authed(s.handleCreateQR)) // 4.1
	mux.Handle("GET /order/qrCode", s.authed(s.handleRefreshQR))          // 4.2
	mux.Handle("GET /order/queryOrder", s.authed(s.handleOrderFeedback))  // 4.3, 5.6, 6.3

	mux.Handle("POST /sdbc/agreeApply", s.authed(s.handleAgreeApply))             // 5.1
	mux.Handle("POST /sdbc/agreeConfirm", s.authed(s.handleAgreeConfirm))         // 5.2
	mux.Handle("POST /order/createAndQuickpay", s.authed(s.handleCreateQuickpay)) // 5.3
	mux.Handle("POST /order/confirmQuickpay", s.authed(s.handleConfirmQuickpay))  // 5.4
	mux.Handle("POST /order/redoQuickpay", s.authed(s.handleRedoQuickpay))        // 5.5

	mux.Handle("POST /order/createAndMockpay", s.authed(s.handleCreateMockpay)) // 6.1
	mux.Handle("POST /order/redoMockpay", s.authed(s.handleRedoMockpay))        // 6.2

	mux.Handle("GET /realPerson/val", s.authed(s.handleRealName)) // 7.1
	mux.Handle("POST /order/declare", s.authed(s.handleDeclare))  // 8.1
	mux.Handle("POST /order/refund", s.authed(s.handleRefund))    // 9.1
	mux.Handle("GET /order/refund", s.authed(s.handleRefundGet))  // 9.2

	// The sandbox QR page a code's URL opens; the token is the capability.
	mux.HandleFunc("GET /sandbox/qr/{token}", s.handleQRPage)
	mux.HandleFunc("POST /sandbox/qr/{token}", s.handleQRScan)
}

// Register adds every route under prefix (e.g. "/payzero"): one subtree
// handler, so that a path under the prefix that is no interface gets
// payzero's 404 or 405 envelope rather than a plain-text one.
func (s *Server) Register(mux *http.ServeMux, prefix string) {
	prefix = strings.TrimRight(prefix, "/")
	mux.Handle(prefix+"/", s.serve(prefix))
}

// Handler serves the same routes at the root, for a dedicated listener
// (--payzero-addr) whose URLs then look like payzero's own:
// http://host:port/auth/login.
func (s *Server) Handler() http.Handler { return s.serve("") }

type ctxKey int

const (
	keyMerchant ctxKey = iota
	keyBase
)

// serve strips the prefix, remembers it (for links to the sandbox QR
// page), and dispatches. Unmatched requests are answered in payzero's
// envelope with the status the mux chose (404 or 405, with Allow).
func (s *Server) serve(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("payzero handler panic", "request_id", r.Header.Get("X-Request-Id"), "path", r.URL.Path, "panic", v)
				writeEnvelope(w, http.StatusInternalServerError, failure(codeInternal, "服务器内部错误"))
			}
		}()
		if prefix != "" {
			p := strings.TrimPrefix(r.URL.Path, prefix)
			rp := strings.TrimPrefix(r.URL.RawPath, prefix)
			if len(p) == len(r.URL.Path) || p == "" {
				p = "/"
			}
			r2 := new(http.Request)
			*r2 = *r
			u := *r.URL
			u.Path, u.RawPath = p, rp
			r2.URL = &u
			r = r2
		}
		r = r.WithContext(context.WithValue(r.Context(), keyBase, prefix))
		h, pattern := s.mux.Handler(r)
		if pattern != "" {
			s.mux.ServeHTTP(w, r) // sets the path values
			return
		}
		rec := &probe{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			if a := rec.header.Get("Allow"); a != "" {
				w.Header().Set("Allow", a)
			}
			writeEnvelope(w, http.StatusMethodNotAllowed, failure(codeMethod, "HTTP 方法错误："+r.Method+" 不能用于 "+r.URL.Path))
		case http.StatusNotFound:
			writeEnvelope(w, http.StatusNotFound, failure(codeNoRoute, "不存在的接口："+r.URL.Path))
		default: // a redirect to a cleaned path, and the like
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body.Bytes())
		}
	})
}

// probe captures what the mux's own 404/405/redirect handler answers.
type probe struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (p *probe) Header() http.Header { return p.header }
func (p *probe) WriteHeader(s int) {
	if p.status == 0 {
		p.status = s
	}
}
func (p *probe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return p.body.Write(b)
}
