package wechatv3

import "net/http"

// customsBases are the two path shapes WeChat has used for the customs
// API: the current /v3/global/customs and the older /global/v3/customs.
var customsBases = []string{"/v3/global/customs", "/global/v3/customs"}

// certificatePaths serve the platform certificate list. /v3/certificates is
// what the SDKs' certificate downloaders call; the global shapes are there
// for clients that build the path from the same base as the customs calls.
var certificatePaths = []string{"/v3/certificates", "/v3/global/certificates", "/global/v3/certificates"}

// routes lists every route the front-end serves, under prefix.
func (s *Server) routes(mux *http.ServeMux, prefix string) {
	for _, b := range customsBases {
		mux.Handle("POST "+prefix+b+"/orders", s.api(prefix, locBody, s.handleDeclare))
		mux.Handle("GET "+prefix+b+"/orders", s.api(prefix, locQuery, s.handleQuery))
		mux.Handle("PATCH "+prefix+b+"/orders", s.api(prefix, locBody, s.handleModify))
		mux.Handle("POST "+prefix+b+"/redeclare", s.api(prefix, locBody, s.handleRedeclare))
		mux.Handle("POST "+prefix+b+"/verify-certificate", s.api(prefix, locBody, s.handleVerifyCertificate))
	}
	for _, p := range certificatePaths {
		mux.Handle("GET "+prefix+p, s.api(prefix, locQuery, s.handleCertificates))
	}
	mux.HandleFunc(prefix+"/", s.handleNotFound)
}
