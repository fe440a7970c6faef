package pushorder

import (
	"net/http"
	"strings"
)

// Register adds every route under prefix (e.g. "/pushorder"; "" for the
// root). Each endpoint is served twice: as the document names it, for
// merchants allowed by source network only, and after a secret path
// segment, /{token}/PushOrder, for merchants with an access token.
//
// The Test endpoints always pay and declare through the sandbox; the others
// use the merchant's mode. Both see the same orders: an order number is the
// merchant's, whichever endpoint created it.
func (s *Server) Register(mux *http.ServeMux, prefix string) {
	prefix = strings.TrimRight(prefix, "/")
	for _, base := range []string{prefix, prefix + "/{token}"} {
		mux.Handle("POST "+base+"/PushOrder", s.handlePush(false))
		mux.Handle("POST "+base+"/PushTestOrder", s.handlePush(true))
		mux.Handle("POST "+base+"/GetOrder", s.handleGet())
		mux.Handle("POST "+base+"/GetTestOrder", s.handleGet())
	}
}

// Handler serves the same routes at the root, for a dedicated listener
// (--pushorder-addr) whose URLs then look like the vendor's own:
// http://host:port/PushOrder.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux, "")
	return mux
}
