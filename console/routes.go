package console

import "net/http"

// Register mounts every console route on mux.
func (c *Console) Register(mux *http.ServeMux) {
	mux.Handle("GET "+Prefix+"/static/", staticHandler())
	mux.Handle("GET "+Prefix+"/login", http.HandlerFunc(c.handleLoginPage))
	mux.Handle("POST "+Prefix+"/login", http.HandlerFunc(c.handleLogin))
	mux.Handle("GET "+Prefix+"/lang", http.HandlerFunc(c.handleLang))
	mux.Handle("POST "+Prefix+"/logout", c.authed(c.handleLogout))
	mux.Handle("GET "+Prefix+"/{$}", c.authed(c.handleHome))
	mux.Handle("GET "+Prefix, http.RedirectHandler(Prefix+"/", http.StatusMovedPermanently))

	// One merchant's pages; {merchant} is its merchant_no.
	m := Prefix + "/m/{merchant}"
	mux.Handle("GET "+m+"/{$}", c.authed(c.handleDashboard))
	mux.Handle("GET "+m+"/orders", c.authed(c.handleOrders))
	mux.Handle("GET "+m+"/orders/export", c.authed(c.handleExport))
	mux.Handle("GET "+m+"/orders/{no}", c.authed(c.handleOrder))
	mux.Handle("POST "+m+"/orders/{no}/declare", c.authed(c.handleDeclare))
	mux.Handle("POST "+m+"/events/{id}/redeliver", c.authed(c.handleRedeliver))
	mux.Handle("GET "+m+"/batches", c.authed(c.handleBatches))
	mux.Handle("POST "+m+"/batches", c.authed(c.handleUpload))
	mux.Handle("GET "+m+"/batches/template.xlsx", c.authed(c.handleTemplate("xlsx")))
	mux.Handle("GET "+m+"/batches/template.csv", c.authed(c.handleTemplate("csv")))
	mux.Handle("GET "+m+"/batches/{id}", c.authed(c.handleBatch))
	mux.Handle("GET "+m+"/batches/{id}/progress", c.authed(c.handleProgress))
	mux.Handle("GET "+m+"/settings", c.authed(c.handleSettings))
	mux.Handle("POST "+m+"/settings", c.authed(c.handleSaveSettings))
	mux.Handle("POST "+m+"/keys", c.authed(c.handleReissue))

	// Operators.
	o := Prefix + "/ops"
	mux.Handle("GET "+o+"/{$}", c.operator(c.handleOpsDashboard))
	mux.Handle("GET "+o+"/merchants", c.operator(c.handleMerchants))
	mux.Handle("POST "+o+"/merchants", c.operator(c.handleCreateMerchant))
	mux.Handle("POST "+o+"/merchants/{merchant}", c.operator(c.handleChangeMerchant))
	mux.Handle("POST "+o+"/protocol-keys", c.operator(c.handleProtocolKey))
	mux.Handle("GET "+o+"/jobs", c.operator(c.handleJobs))
	mux.Handle("POST "+o+"/jobs/{id}/retry", c.operator(c.handleRetryJob))
	mux.Handle("GET "+o+"/declarations", c.operator(c.handleDeclarations))
	mux.Handle("GET "+o+"/upstream", c.operator(c.handleUpstream))
}
