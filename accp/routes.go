package accp

import "net/http"

// bases are the two roots LianLian's SDKs use for the same API: the
// platform-merchant root and the "/mch" root of merchant-level SDK builds.
var bases = []string{"/v1/cbpayment", "/mch/v1/cbpayment"}

// Register adds every ACCP route to mux under prefix (e.g. "/accp"), and
// an ACCP-shaped 404 for other paths under it.
func (s *Server) Register(mux *http.ServeMux, prefix string) {
	for _, b := range bases {
		mux.HandleFunc("POST "+prefix+b+"/apply-pushpay", s.handleApply)
		mux.HandleFunc("POST "+prefix+b+"/query-pushpay", s.handleQuery)
	}
	if prefix != "" {
		mux.HandleFunc(prefix+"/", s.handleNoRoute)
	}
}

// Handler serves the same routes at the root, for the dedicated
// --accp-addr listener.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux, "")
	mux.HandleFunc("/", s.handleNoRoute)
	return mux
}
