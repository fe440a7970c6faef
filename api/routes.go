package api

import "net/http"

// Protocol is the name of the native API in the core (orders it creates
// notify in its format).
const Protocol = "native"

// Register adds every /v1 route to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("POST /v1/orders", a.authed(a.handleOrderCreate))
	mux.Handle("GET /v1/orders", a.authed(a.handleOrderList))
	mux.Handle("GET /v1/orders/{order_no}", a.authed(a.handleOrderGet))
	mux.Handle("POST /v1/orders/{order_no}/pay", a.authed(a.handleOrderPay))
	mux.Handle("POST /v1/orders/{order_no}/declarations", a.authed(a.handleDeclare))
	mux.Handle("GET /v1/orders/{order_no}/declarations", a.authed(a.handleDeclarationList))
	mux.Handle("GET /v1/orders/{order_no}/calls", a.authed(a.handleCallList))
	mux.Handle("POST /v1/refunds", a.authed(a.handleRefundCreate))
	mux.Handle("GET /v1/refunds/{refund_no}", a.authed(a.handleRefundGet))
	mux.Handle("POST /v1/batches", a.authed(a.handleBatchCreate))
	mux.Handle("GET /v1/batches/{batch_id}", a.authed(a.handleBatchGet))
	mux.Handle("POST /v1/batches/{batch_id}/pay", a.authed(a.handleBatchPay))
	mux.Handle("GET /v1/batches/{batch_id}/orders", a.authed(a.handleBatchOrders))
	mux.Handle("GET /v1/events", a.authed(a.handleEventList))
	mux.Handle("GET /v1/events/{event_id}", a.authed(a.handleEventGet))
	mux.Handle("POST /v1/events/{event_id}/redeliver", a.authed(a.handleEventRedeliver))
	mux.Handle("GET /v1/merchant", a.authed(a.handleMerchantGet))
	mux.Handle("PATCH /v1/merchant", a.authed(a.handleMerchantPatch))
	mux.HandleFunc("GET /v1/customs", a.handleCustoms)
	mux.HandleFunc("GET /v1/openapi.json", handleOpenAPI)
	mux.HandleFunc("/v1/", a.handleNotFound)
}
