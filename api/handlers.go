package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/docs"
	"github.com/baoguan/baoguan/inbound"
)

func (a *API) handleOrderCreate(w http.ResponseWriter, r *http.Request) {
	var req orderReq
	if err := a.decodeOrder(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	v, created, err := a.svc.CreateOrderDetail(r.Context(), merchantOf(r), req.orderInput())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOrderJSON(w, createdStatus(created), orderOut(v.Order, v.Declarations, v.Refunds))
}

// createdStatus is 201 for a resource created by the request, 200 for one
// an idempotent retry found.
func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// writeOrder answers with the order as stored, declarations included.
func (a *API) writeOrder(w http.ResponseWriter, r *http.Request, o *baoguan.Order, status int) {
	v, err := a.svc.OrderDetail(r.Context(), merchantOf(r), o.MerchantOrderNo)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOrderJSON(w, status, orderOut(v.Order, v.Declarations, v.Refunds))
}

func (a *API) handleOrderGet(w http.ResponseWriter, r *http.Request) {
	v, err := a.svc.OrderDetail(r.Context(), merchantOf(r), r.PathValue("order_no"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOrderJSON(w, http.StatusOK, orderOut(v.Order, v.Declarations, v.Refunds))
}

type listJSON[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func page(r *http.Request) (baoguan.Page, error) {
	p := baoguan.Page{Limit: 50}
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return p, baoguan.FieldError("limit", "limit must be a whole number from 1 to 1000")
		}
		p.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return p, baoguan.FieldError("cursor", "cursor must be a next_cursor value from a previous page")
		}
		p.Cursor = n
	}
	return p, nil
}

func (a *API) listOrders(w http.ResponseWriter, r *http.Request, f baoguan.OrderFilter) {
	p, err := page(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f.Page = p
	q := r.URL.Query()
	if s := q.Get("pay_status"); s != "" {
		if !baoguan.PayStatus(s).Valid() {
			a.fail(w, r, baoguan.FieldError("pay_status", "unknown pay_status %q", s))
			return
		}
		f.PayStatus = baoguan.PayStatus(s)
	}
	if s := q.Get("declare_status"); s != "" {
		if !baoguan.DeclareStatus(s).Valid() {
			a.fail(w, r, baoguan.FieldError("declare_status", "unknown declare_status %q", s))
			return
		}
		f.DeclareStatus = baoguan.DeclareStatus(s)
	}
	if s := q.Get("batch_id"); s != "" && f.BatchID == 0 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			a.fail(w, r, baoguan.FieldError("batch_id", "batch_id must be a batch id"))
			return
		}
		f.BatchID = n
	}
	os, err := a.svc.Orders(r.Context(), merchantOf(r), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := listJSON[orderJSON]{Data: make([]orderJSON, 0, len(os))}
	for i := range os {
		out.Data = append(out.Data, orderOut(&os[i], nil, nil))
	}
	if len(os) == f.Limit {
		c := strconv.FormatInt(os[len(os)-1].ID, 10)
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) handleOrderList(w http.ResponseWriter, r *http.Request) {
	a.listOrders(w, r, baoguan.OrderFilter{})
}

func (a *API) handleOrderPay(w http.ResponseWriter, r *http.Request) {
	o, err := a.svc.RearrangePay(r.Context(), merchantOf(r), r.PathValue("order_no"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeOrder(w, r, o, http.StatusAccepted)
}

type declareReq struct {
	Payer        *payerJSON       `json:"payer,omitempty"`
	Declarations []declarationReq `json:"declarations,omitempty"`
}

func (a *API) handleDeclare(w http.ResponseWriter, r *http.Request) {
	var req declareReq
	if err := a.decode(w, r, &req, a.maxBody); err != nil {
		a.fail(w, r, err)
		return
	}
	var in core.DeclareInput
	if req.Payer != nil {
		in.Payer = &baoguan.Payer{Name: req.Payer.Name, IDType: req.Payer.IDType, IDNumber: req.Payer.IDNumber, Phone: req.Payer.Phone}
	}
	for _, d := range req.Declarations {
		in.Specs = append(in.Specs, d.spec())
	}
	ds, err := a.svc.Declare(r.Context(), merchantOf(r), r.PathValue("order_no"), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := listJSON[declarationJSON]{Data: []declarationJSON{}}
	for i := range ds {
		out.Data = append(out.Data, declarationOut(&ds[i]))
	}
	writeJSON(w, http.StatusAccepted, out)
}

func (a *API) handleDeclarationList(w http.ResponseWriter, r *http.Request) {
	ds, err := a.svc.Declarations(r.Context(), merchantOf(r), r.PathValue("order_no"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := listJSON[declarationJSON]{Data: []declarationJSON{}}
	for i := range ds {
		out.Data = append(out.Data, declarationOut(&ds[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

type refundReq struct {
	RefundNo string `json:"refund_no"`
	OrderNo  string `json:"order_no"`
	Amount   int64  `json:"amount"`
	Reason   string `json:"reason,omitempty"`
}

func (a *API) handleRefundCreate(w http.ResponseWriter, r *http.Request) {
	var req refundReq
	if err := a.decode(w, r, &req, a.maxBody); err != nil {
		a.fail(w, r, err)
		return
	}
	rf, created, err := a.svc.CreateRefund(r.Context(), merchantOf(r), core.RefundInput{OrderNo: req.OrderNo, RefundNo: req.RefundNo,
		Amount: req.Amount, Reason: req.Reason, Protocol: Protocol})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, createdStatus(created), refundOut(rf))
}

func (a *API) handleRefundGet(w http.ResponseWriter, r *http.Request) {
	rf, err := a.svc.RefundByNo(r.Context(), merchantOf(r), r.PathValue("refund_no"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, refundOut(rf))
}

type batchReq struct {
	BatchNo string     `json:"batch_no,omitempty"`
	Orders  []orderReq `json:"orders"`
	Pay     bool       `json:"pay,omitempty"`
}

// handleBatchCreate answers with a Server-Timing header (serverTiming):
// the server's own time for the upload, which the benchmark reports
// beside the time its client saw.
func (a *API) handleBatchCreate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req, orders, err := a.decodeBatch(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var tm core.BatchTiming
	in := core.BatchInput{No: req.BatchNo, Protocol: Protocol, Pay: req.Pay, Orders: orders, Timing: &tm}
	decoded := time.Now()
	b, sum, created, err := a.svc.CreateBatchDetail(r.Context(), merchantOf(r), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Server-Timing", serverTiming(decoded.Sub(start), tm, time.Since(start)))
	writeJSON(w, createdStatus(created), batchOut(b, sum))
}

// parallelOrders is the fewest orders of an upload that decodeBatch
// decodes on several processors.
const parallelOrders = 256

// decodeBatch reads a batch upload's body as a.decode does, and its orders
// as core takes them. The orders of a large upload are decoded on every
// processor: the JSON check finds where each one is
// (inbound.CheckJSONElements), the rest of the body is decoded with an
// empty list in their place, and each order apart, as encoding/json
// decodes an element of the list (into a zero orderReq, unknown fields
// refused). Should anything fail, the body is decoded whole, as for any
// other request, for the problem that names (encoding/json's first in the
// body's order), so an upload is answered as it always was.
func (a *API) decodeBatch(w http.ResponseWriter, r *http.Request) (batchReq, []core.OrderInput, error) {
	var req batchReq
	if err := checkBodyHeaders(r); err != nil {
		return req, nil, err
	}
	body, err := readBody(w, r, a.maxBatchBody)
	if err != nil {
		return req, nil, bodyError(err)
	}
	arr, spans, ok, p := inbound.CheckJSONElements(body, "orders")
	if p != nil {
		return req, nil, problemError(p)
	}
	if ok && len(spans) >= parallelOrders {
		if orders, ok := decodeOrders(body, arr, spans, &req); ok {
			return req, orders, nil
		}
		req = batchReq{}
	}
	if p := inbound.Decode(body, &req, true); p != nil {
		return req, nil, problemError(p)
	}
	orders := make([]core.OrderInput, len(req.Orders))
	for i := range req.Orders {
		orders[i] = req.Orders[i].orderInput()
	}
	return req, orders, nil
}

// decodeOrders decodes an upload's body but its orders into req and its
// orders, arr the list's bytes and spans each order's, on every
// processor; ok is false when any part fails to decode.
func decodeOrders(body []byte, arr [2]int, spans [][2]int, req *batchReq) ([]core.OrderInput, bool) {
	rest := make([]byte, 0, len(body)-(arr[1]-arr[0])+2)
	rest = append(append(append(rest, body[:arr[0]]...), "[]"...), body[arr[1]:]...)
	if strictDecode(rest, req) != nil {
		return nil, false
	}
	orders := make([]core.OrderInput, len(spans))
	const block = 64
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for !failed.Load() {
				start := int(next.Add(block)) - block
				if start >= len(spans) {
					return
				}
				end := min(start+block, len(spans))
				for i := start; i < end; i++ {
					// Each element passed the check with the body, so it
					// is one as CheckJSON accepts: the push's fast path
					// reads it, or encoding/json.
					el := body[spans[i][0]:spans[i][1]]
					var q orderReq
					if !decodeOrderFast(el, &q) {
						q = orderReq{}
						if strictDecode(el, &q) != nil {
							failed.Store(true)
							return
						}
					}
					orders[i] = q.orderInput()
				}
			}
		})
	}
	wg.Wait()
	return orders, !failed.Load()
}

// readBody reads a body of at most limit bytes into one buffer of the
// length the request gives, where io.ReadAll would grow a batch upload's
// megabytes through a dozen copies. What is set aside before a byte has
// come is bounded by readAhead; a longer body grows the buffer as it
// comes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength <= 0 || r.ContentLength > limit {
		return io.ReadAll(body)
	}
	b := make([]byte, 0, min(r.ContentLength, readAhead)+1) // +1: room to read the end
	for {
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // full: grow as io.ReadAll does
		}
	}
}

// readAhead bounds the buffer readBody sets aside for a body before it
// comes: a 10,000-order upload is about 3 MB.
const readAhead = 8 << 20

// strictDecode decodes one JSON value into v as inbound.Decode does once
// the value is checked: unknown fields refused.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// serverTiming renders a batch upload's Server-Timing header (W3C Server
// Timing), durations in milliseconds: decode, reading and decoding the
// body into orders; check, checking every order; store, storing the
// chunks (waits for the store's writer included); write, the part of
// store the chunks' transactions ran and longest, the longest of them
// (core.BatchTiming); total, from the
// handler's start (the request authenticated, its body not yet read) to
// the reply.
func serverTiming(decode time.Duration, tm core.BatchTiming, total time.Duration) string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) }
	return "decode;dur=" + ms(decode) + ", check;dur=" + ms(tm.Check) + ", store;dur=" + ms(tm.Store) +
		";desc=\"" + strconv.Itoa(tm.Chunks) + " chunks\", write;dur=" + ms(tm.Write) + ", longest;dur=" + ms(tm.Longest) +
		", total;dur=" + ms(total)
}

func batchID(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("batch_id"), 10, 64)
	if err != nil {
		return 0, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no such batch"}
	}
	return n, nil
}

func (a *API) handleBatchGet(w http.ResponseWriter, r *http.Request) {
	id, err := batchID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b, sum, err := a.svc.Batch(r.Context(), merchantOf(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, batchOut(b, sum))
}

func (a *API) handleBatchPay(w http.ResponseWriter, r *http.Request) {
	id, err := batchID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	m := merchantOf(r)
	n, err := a.svc.PayBatch(r.Context(), m, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b, sum, err := a.svc.Batch(r.Context(), m, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, struct {
		Scheduled int `json:"scheduled"`
		batchJSON
	}{n, batchOut(b, sum)})
}

func (a *API) handleBatchOrders(w http.ResponseWriter, r *http.Request) {
	id, err := batchID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if _, _, err := a.svc.Batch(r.Context(), merchantOf(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	a.listOrders(w, r, baoguan.OrderFilter{BatchID: id})
}

func (a *API) handleEventList(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f := baoguan.EventFilter{Page: p, Type: r.URL.Query().Get("type"), Status: baoguan.EventStatus(r.URL.Query().Get("status"))}
	switch f.Status {
	case "", baoguan.EventPending, baoguan.EventDelivered, baoguan.EventFailed, baoguan.EventSkipped:
	default:
		a.fail(w, r, baoguan.FieldError("status", "unknown status %q: use pending, delivered, failed or skipped", f.Status))
		return
	}
	if no := r.URL.Query().Get("order_no"); no != "" {
		o, err := a.svc.Order(r.Context(), merchantOf(r), no)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		f.OrderID = o.ID
	}
	es, err := a.svc.Events(r.Context(), merchantOf(r), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := listJSON[eventJSON]{Data: make([]eventJSON, 0, len(es))}
	for i := range es {
		out.Data = append(out.Data, eventOut(&es[i], nil))
	}
	if len(es) == p.Limit {
		c := strconv.FormatInt(es[len(es)-1].ID, 10)
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
}

func eventID(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("event_id"), 10, 64)
	if err != nil {
		return 0, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "no such event"}
	}
	return n, nil
}

func (a *API) handleEventGet(w http.ResponseWriter, r *http.Request) {
	id, err := eventID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	e, as, err := a.svc.Event(r.Context(), merchantOf(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, eventOut(e, as))
}

func (a *API) handleEventRedeliver(w http.ResponseWriter, r *http.Request) {
	id, err := eventID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	e, err := a.svc.Redeliver(r.Context(), merchantOf(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, eventOut(e, nil))
}

type merchantJSON struct {
	MerchantNo     string `json:"merchant_no"`
	Name           string `json:"name"`
	Mode           string `json:"mode"`
	Status         string `json:"status"`
	NotifyURL      string `json:"notify_url"`
	FundingBalance int64  `json:"funding_balance"`
}

func merchantOut(m *baoguan.Merchant) merchantJSON {
	return merchantJSON{MerchantNo: m.No, Name: m.Name, Mode: string(m.Mode), Status: string(m.Status), NotifyURL: m.NotifyURL, FundingBalance: m.FundingBalance}
}

func (a *API) handleMerchantGet(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, merchantOut(merchantOf(r)))
}

func (a *API) handleMerchantPatch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		NotifyURL *string `json:"notify_url"`
	}
	if err := a.decode(w, r, &req, a.maxBody); err != nil {
		a.fail(w, r, err)
		return
	}
	m, err := a.svc.UpdateMerchant(r.Context(), merchantOf(r).No, func(m *baoguan.Merchant) error {
		if req.NotifyURL != nil {
			m.NotifyURL = *req.NotifyURL
		}
		return nil
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, merchantOut(m))
}

type customsJSON struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Schemes []string `json:"schemes"`
	Port    string   `json:"port"`
	Plan    []string `json:"plan"`
	Extras  []string `json:"required_extras"`
}

func (a *API) handleCustoms(w http.ResponseWriter, r *http.Request) {
	out := listJSON[customsJSON]{Data: []customsJSON{}}
	for _, e := range baoguan.CustomsCatalogue() {
		c := customsJSON{Code: e.Code, Name: e.Name, Port: e.Port, Plan: e.Plan, Schemes: []string{}, Extras: []string{}}
		for _, s := range e.Schemes {
			c.Schemes = append(c.Schemes, string(s))
		}
		for _, x := range e.Extras {
			if x.Required {
				c.Extras = append(c.Extras, string(x.Field))
			}
		}
		out.Data = append(out.Data, c)
	}
	writeJSON(w, http.StatusOK, out)
}

func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(docs.OpenAPI)
}

func (a *API) handleNotFound(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, &baoguan.Error{Code: baoguan.ENOTFOUND, Reason: "no_route", Message: "no route " + r.Method + " " + r.URL.Path})
}

// handleCallList is GET /v1/orders/{order_no}/calls: the calls baoguan made
// to upstream services (a wallet's customs API, E-Port) for the order,
// newest first; ?declaration_id= narrows them to one declaration.
func (a *API) handleCallList(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var declID int64
	if v := r.URL.Query().Get("declaration_id"); v != "" {
		if declID, err = strconv.ParseInt(v, 10, 64); err != nil || declID <= 0 {
			a.fail(w, r, baoguan.FieldError("declaration_id", "declaration_id must be the id of one of the order's declarations"))
			return
		}
	}
	cs, err := a.svc.OrderCalls(r.Context(), merchantOf(r), r.PathValue("order_no"), declID, p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := listJSON[callJSON]{Data: make([]callJSON, 0, len(cs))}
	for i := range cs {
		out.Data = append(out.Data, callOut(&cs[i]))
	}
	if len(cs) == p.Limit {
		c := strconv.FormatInt(cs[len(cs)-1].ID, 10)
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
}
