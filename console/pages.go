package console

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sheet"
)

// ---- sign-in ----

func (c *Console) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	// The login form has no session yet; its CSRF token is a random value
	// kept in a cookie and echoed by the form (double submit), so another
	// site cannot sign a browser in to an account of its choosing.
	tok := randomString(24)
	c.setCookie(w, r, loginCSRF, tok, time.Hour)
	c.render(w, r, http.StatusOK, "login", map[string]any{"LoginCSRF": tok, "Next": safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix+"/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return ""
}

func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	ck, _ := r.Cookie(loginCSRF)
	if ck == nil || !csrfOK(r, ck.Value) {
		c.fail(w, r, errCSRF)
		return
	}
	token, v, err := c.svc.Login(r.Context(), r.FormValue("login"), r.FormValue("password"), clientIP(r))
	if err != nil {
		if code := baoguan.ErrorCode(err); code == baoguan.EUNAUTHORIZED || code == baoguan.ERATELIMIT {
			if s := baoguan.RetryAfter(err); s > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(s))
			}
			tok := randomString(24)
			c.setCookie(w, r, loginCSRF, tok, time.Hour)
			c.render(w, r, statusOf(err), "login", map[string]any{"LoginCSRF": tok, "Next": safeNext(r.FormValue("next")),
				"Error": errMessage(err), "Login": r.FormValue("login")})
			return
		}
		c.fail(w, r, err)
		return
	}
	c.setCookie(w, r, loginCSRF, "", -time.Second)
	c.setCookie(w, r, sessionCookie, token, core.SessionTTL)
	next := safeNext(r.FormValue("next"))
	if next == "" {
		next = home(v)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func home(v *core.Viewer) string {
	if v.Merchant != nil {
		return Prefix + "/m/" + url.PathEscape(v.Merchant.No) + "/"
	}
	return Prefix + "/ops/"
}

// errMessage is the text a form shows for err: only messages written for
// the user (baoguan.ErrorMessage), never an internal error's.
func errMessage(err error) string {
	return baoguan.ErrorMessage(err)
}

func (c *Console) handleLogout(w http.ResponseWriter, r *http.Request) {
	if ck, _ := r.Cookie(sessionCookie); ck != nil {
		if err := c.svc.Logout(r.Context(), ck.Value); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	c.setCookie(w, r, sessionCookie, "", -time.Second)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

func (c *Console) handleLang(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	if to != "en" && to != "zh" {
		to = "zh"
	}
	c.setCookie(w, r, langCookie, to, 365*24*time.Hour)
	next := safeNext(r.URL.Query().Get("next"))
	if next == "" {
		next = Prefix + "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) handleHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, home(viewerOf(r)), http.StatusSeeOther)
}

// ---- merchant pages ----

func (c *Console) handleDashboard(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.dashboard(w, r, m)
}

func (c *Console) handleOpsDashboard(w http.ResponseWriter, r *http.Request) {
	c.dashboard(w, r, nil)
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, m *baoguan.Merchant) {
	d, err := c.svc.Dashboard(r.Context(), m)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	l := langOf(r)
	c.render(w, r, http.StatusOK, "dashboard", map[string]any{"M": m, "D": d,
		"DayChart": dayChart(l, d.Days), "PortChart": portChart(l, d.Ports)})
}

// orderFilter reads the order list's filters from the query string.
func orderFilter(r *http.Request) (baoguan.OrderFilter, url.Values, error) {
	q := r.URL.Query()
	f := baoguan.OrderFilter{Newest: true, Page: baoguan.Page{Limit: 50}}
	if s := q.Get("pay"); s != "" {
		f.PayStatus = baoguan.PayStatus(s)
		if !f.PayStatus.Valid() {
			return f, q, baoguan.FieldError("pay", "unknown pay status %s", s)
		}
	}
	if s := q.Get("declare"); s != "" {
		f.DeclareStatus = baoguan.DeclareStatus(s)
		if !f.DeclareStatus.Valid() {
			return f, q, baoguan.FieldError("declare", "unknown declare status %s", s)
		}
	}
	for _, p := range []struct {
		name string
		into *time.Time
		add  int
	}{{"from", &f.From, 0}, {"to", &f.To, 1}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.ParseInLocation("2006-01-02", s, core.ChinaTime)
			if err != nil {
				return f, q, baoguan.FieldError(p.name, "%s must be a date, YYYY-MM-DD", p.name)
			}
			*p.into = t.AddDate(0, 0, p.add) // "to" includes its whole day
		}
	}
	if s := q.Get("batch"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return f, q, baoguan.FieldError("batch", "batch must be a number")
		}
		f.BatchID = id
	}
	if s := q.Get("after"); s != "" {
		f.Cursor, _ = strconv.ParseInt(s, 10, 64)
	}
	return f, q, nil
}

func (c *Console) handleOrders(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	f, q, err := orderFilter(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	base := Prefix + "/m/" + url.PathEscape(m.No)
	// A search by number goes straight to the order when one matches.
	if s := strings.TrimSpace(q.Get("q")); s != "" {
		o, err := c.svc.FindOrder(r.Context(), m, s)
		if err == nil {
			http.Redirect(w, r, base+"/orders/"+url.PathEscape(o.MerchantOrderNo), http.StatusSeeOther)
			return
		}
		if baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "orders", map[string]any{"M": m, "Q": q, "Orders": nil, "Base": base,
			"PayStatuses": baoguan.PayStatuses(), "DeclareStatuses": declareStatuses})
		return
	}
	os, err := c.svc.Orders(r.Context(), m, f)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	next := ""
	if len(os) == f.Limit {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("after", strconv.FormatInt(os[len(os)-1].ID, 10))
		next = base + "/orders?" + nq.Encode()
	}
	c.render(w, r, http.StatusOK, "orders", map[string]any{"M": m, "Q": q, "Orders": os, "Next": next, "Base": base,
		"ExportXLSX": exportURL(base, q, sheet.XLSX), "ExportCSV": exportURL(base, q, sheet.CSV),
		"PayStatuses": baoguan.PayStatuses(), "DeclareStatuses": declareStatuses})
}

// exportURL is the export of the list q selects: every filter but the
// page cursor. It is built whole here, not in the template, where the
// query would be escaped as one value ("declare%3dDECLARED").
func exportURL(base string, q url.Values, f sheet.Format) template.URL {
	eq := url.Values{}
	for k, v := range q {
		if k != "after" && k != "q" {
			eq[k] = v
		}
	}
	eq.Set("format", string(f))
	return template.URL(base + "/orders/export?" + eq.Encode()) // base is path-escaped, the query encoded
}

var declareStatuses = []baoguan.DeclareStatus{baoguan.DeclareNone, baoguan.DeclarePending, baoguan.DeclareRunning, baoguan.DeclareDone, baoguan.DeclareFailedSt}

// handleExport streams every order the filters select (not only the page
// shown) as .xlsx or .csv.
func (c *Console) handleExport(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	f, q, err := orderFilter(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	format, err := sheet.ParseFormat(q.Get("format"))
	if err != nil {
		c.fail(w, r, baoguan.FieldError("format", "%v", err))
		return
	}
	name := fmt.Sprintf("orders-%s-%s.%s", m.No, c.svc.Now().In(core.ChinaTime).Format("20060102-150405"), format)
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if err := sheet.ExportOrders(r.Context(), c.svc, m, f, w, format, nil); err != nil {
		c.log.Error("console export", "merchant", m.No, "err", err)
	}
}

func (c *Console) handleOrder(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.orderPage(w, r, m, http.StatusOK, nil)
}

// orderPage renders an order with everything that happened to it; extra
// carries a form's outcome.
func (c *Console) orderPage(w http.ResponseWriter, r *http.Request, m *baoguan.Merchant, status int, extra map[string]any) {
	a, err := c.svc.OrderActivity(r.Context(), m, r.PathValue("no"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	data := map[string]any{"M": m, "A": a, "Base": Prefix + "/m/" + url.PathEscape(m.No)}
	failed := false
	for _, d := range a.Declarations {
		if d.Final() && d.State != baoguan.DeclSuccess {
			failed = true
		}
	}
	data["CanRedeclare"] = failed && a.Order.Paid()
	for k, v := range extra {
		data[k] = v
	}
	c.render(w, r, status, "order", data)
}

func (c *Console) handleDeclare(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	no := r.PathValue("no")
	p := &baoguan.Payer{Name: strings.TrimSpace(r.FormValue("name")), IDType: r.FormValue("id_type"),
		IDNumber: strings.TrimSpace(r.FormValue("id_number")), Phone: strings.TrimSpace(r.FormValue("phone"))}
	if _, err := c.svc.Declare(r.Context(), m, no, core.DeclareInput{Payer: p}); err != nil {
		if s := statusOf(err); s == http.StatusBadRequest || s == http.StatusConflict {
			c.orderPage(w, r, m, s, map[string]any{"FormError": errMessage(err)})
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"/m/"+url.PathEscape(m.No)+"/orders/"+url.PathEscape(no), http.StatusSeeOther)
}

func (c *Console) handleRedeliver(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, r, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "not found"})
		return
	}
	e, err := c.svc.Redeliver(r.Context(), m, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	back := Prefix + "/m/" + url.PathEscape(m.No) + "/orders"
	if o, err := c.svc.OrderByID(r.Context(), m, e.OrderID); err == nil {
		back += "/" + url.PathEscape(o.MerchantOrderNo)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (c *Console) handleTemplate(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.merchantFor(r); err != nil {
			c.fail(w, r, err)
			return
		}
		f, _ := sheet.ParseFormat(format)
		w.Header().Set("Content-Type", f.ContentType())
		w.Header().Set("Content-Disposition", `attachment; filename="baoguan-orders-template.`+format+`"`)
		if err := sheet.WriteOrderTemplate(w, f); err != nil {
			c.log.Error("console template", "err", err)
		}
	}
}

// batchRow is a batch in the list, with how far it is.
type batchRow struct {
	baoguan.Batch
	S   baoguan.BatchSummary
	Pct int
}

// batchesPage renders the upload form above the merchant's recent batches.
func (c *Console) batchesPage(w http.ResponseWriter, r *http.Request, m *baoguan.Merchant, status int, data map[string]any) {
	bs, sums, err := c.svc.Batches(r.Context(), m, baoguan.Page{Limit: 20})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	rows := make([]batchRow, len(bs))
	for i := range bs {
		rows[i] = batchRow{Batch: bs[i], S: sums[i], Pct: pct(sums[i].Finished, sums[i].Total)}
	}
	data["M"], data["Base"], data["Batches"] = m, Prefix+"/m/"+url.PathEscape(m.No), rows
	c.render(w, r, status, "batches", data)
}

func (c *Console) handleBatches(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.batchesPage(w, r, m, http.StatusOK, map[string]any{})
}

// handleUpload reads an uploaded order file, checks every row with the
// core's order rules, and either shows every problem (writing nothing) or
// creates the batch, starts paying it and shows its progress.
func (c *Console) handleUpload(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	base := Prefix + "/m/" + url.PathEscape(m.No)
	r.Body = http.MaxBytesReader(w, r.Body, sheet.MaxFileSize+1<<20)
	file, hdr, err := r.FormFile("file")
	if err != nil {
		c.batchesPage(w, r, m, http.StatusBadRequest, map[string]any{"FormError": "choose a .xlsx or .csv file of orders (at most 32 MiB)"})
		return
	}
	defer file.Close()
	res, err := sheet.Import(r.Context(), c.svc, m, file, hdr.Filename, Protocol, nil)
	if err != nil {
		if s := statusOf(err); s < 500 {
			c.batchesPage(w, r, m, s, map[string]any{"FormError": errMessage(err)})
			return
		}
		c.fail(w, r, err)
		return
	}
	if len(res.Errors) > 0 {
		c.batchesPage(w, r, m, http.StatusUnprocessableEntity, map[string]any{"RowErrors": res.Errors, "File": hdr.Filename})
		return
	}
	http.Redirect(w, r, base+"/batches/"+strconv.FormatInt(res.Batch.ID, 10), http.StatusSeeOther)
}

func (c *Console) batchOf(w http.ResponseWriter, r *http.Request) (*baoguan.Merchant, *baoguan.Batch, baoguan.BatchSummary, bool) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return nil, nil, baoguan.BatchSummary{}, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, r, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "not found"})
		return nil, nil, baoguan.BatchSummary{}, false
	}
	b, sum, err := c.svc.Batch(r.Context(), m, id)
	if err != nil {
		c.fail(w, r, err)
		return nil, nil, baoguan.BatchSummary{}, false
	}
	return m, b, sum, true
}

func (c *Console) handleBatch(w http.ResponseWriter, r *http.Request) {
	m, b, sum, ok := c.batchOf(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "batch", map[string]any{"M": m, "B": b, "S": sum, "Pct": pct(sum.Finished, sum.Total),
		"Base": Prefix + "/m/" + url.PathEscape(m.No)})
}

// handleProgress is the batch page's live figure, polled by app.js.
func (c *Console) handleProgress(w http.ResponseWriter, r *http.Request) {
	_, _, sum, ok := c.batchOf(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"total":%d,"finished":%d,"percent":%d,"pay_succeed":%d,"pay_failed":%d,"declare_succeed":%d,"declare_failed":%d}`,
		sum.Total, sum.Finished, pct(sum.Finished, sum.Total), sum.PaySucceed, sum.PayFailed, sum.DeclareSucceed, sum.DeclareFailed)
}

// notifySettings are the protocols' own notification addresses a merchant
// sets on its settings page (the protocol's name for it; each falls back to
// the merchant's notify URL when empty). They are protocol settings, as
// `baoguan merchant key` stores them.
var notifySettings = []struct{ Name, Label string }{
	{"pushorder.callback-url", "pushorder callback URL"},
	{"payzero.notify-url", "payzero notifyUrl"},
	{"wisecashier.notify-url", "WiseCashier notify_url"},
}

type urlSetting struct{ Name, Label, Value string }

func urlSettings(m *baoguan.Merchant) []urlSetting {
	out := make([]urlSetting, 0, len(notifySettings))
	for _, s := range notifySettings {
		out = append(out, urlSetting{Name: s.Name, Label: s.Label, Value: m.Settings[s.Name]})
	}
	return out
}

func (c *Console) handleSettings(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "settings", map[string]any{"M": m, "Base": Prefix + "/m/" + url.PathEscape(m.No),
		"URLs": urlSettings(m), "Saved": r.URL.Query().Get("saved") != ""})
}

func (c *Console) handleSaveSettings(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	base := Prefix + "/m/" + url.PathEscape(m.No)
	bad := func(err error) {
		if statusOf(err) == http.StatusBadRequest {
			c.render(w, r, http.StatusBadRequest, "settings", map[string]any{"M": m, "Base": base, "URLs": urlSettings(m), "FormError": errMessage(err)})
			return
		}
		c.fail(w, r, err)
	}
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, baoguan.FieldError("form", "the form could not be read"))
		return
	}
	// The protocols' addresses first: a refused one leaves everything as
	// it was. Only the fields the form sent, and only those that changed.
	set := map[string]string{}
	for _, s := range notifySettings {
		if v, ok := r.Form[s.Name]; ok && strings.TrimSpace(v[0]) != m.Settings[s.Name] {
			set[s.Name] = strings.TrimSpace(v[0])
		}
	}
	if len(set) > 0 {
		if err := c.svc.RotateSettings(r.Context(), m.No, set, 0); err != nil {
			bad(err)
			return
		}
	}
	if u := strings.TrimSpace(r.FormValue("notify_url")); u != m.NotifyURL {
		if _, err := c.svc.UpdateMerchant(r.Context(), m.No, func(x *baoguan.Merchant) error { x.NotifyURL = u; return nil }); err != nil {
			bad(err)
			return
		}
	}
	http.Redirect(w, r, base+"/settings?saved=1", http.StatusSeeOther)
}

// graces are the grace periods the key form offers.
var graces = map[string]time.Duration{"0": 0, "1h": time.Hour, "24h": 24 * time.Hour, "168h": 7 * 24 * time.Hour}

func (c *Console) handleReissue(w http.ResponseWriter, r *http.Request) {
	m, err := c.merchantFor(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	base := Prefix + "/m/" + url.PathEscape(m.No)
	grace, ok := graces[r.FormValue("grace")]
	if !ok {
		c.fail(w, r, baoguan.FieldError("grace", "choose a grace period"))
		return
	}
	kind := r.FormValue("kind")
	key, err := c.svc.ReissueKey(r.Context(), m.No, kind, grace)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	// The new key is shown in this response only: it is not stored in
	// clear anywhere, and the page is not cached (Cache-Control: no-store).
	c.render(w, r, http.StatusOK, "settings", map[string]any{"M": m, "Base": base, "NewKey": key, "NewKind": kind})
}

// ---- operator pages ----

func (c *Console) handleMerchants(w http.ResponseWriter, r *http.Request) {
	c.merchantsPage(w, r, http.StatusOK, nil)
}

func (c *Console) merchantsPage(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) {
	ms, err := c.svc.Merchants(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	// Which protocol keys each merchant has, by name only: values are
	// secrets or sealed, and never shown.
	set := map[string][]string{}
	for _, m := range ms {
		for _, name := range protocolSettings {
			if m.Settings[name] != "" {
				set[m.No] = append(set[m.No], name)
			}
		}
	}
	data := map[string]any{"Merchants": ms, "Protocols": protocolSettings, "KeysSet": set}
	for k, v := range extra {
		data[k] = v
	}
	c.render(w, r, status, "ops_merchants", data)
}

// protocolSettings are the protocol keys an operator may set here, as
// `baoguan merchant key` names them.
var protocolSettings = []string{"pushorder.access-token", "pushorder.allow-net", "pushorder.callback-url", "payzero.notify-url",
	"wechatv3.mchid", "wechatv3.serial", "wechatv3.apiv3-key", "accp.public-key", "wechatv3.public-key", "wechatv3.cert",
	"wisecashier.notify-url"}

func (c *Console) handleCreateMerchant(w http.ResponseWriter, r *http.Request) {
	in := core.MerchantInput{Name: r.FormValue("name"), No: strings.TrimSpace(r.FormValue("no")),
		NotifyURL: strings.TrimSpace(r.FormValue("notify_url")), Mode: baoguan.Mode(r.FormValue("mode"))}
	m, cr, err := c.svc.CreateMerchant(r.Context(), in)
	if err != nil {
		if s := statusOf(err); s < 500 {
			c.merchantsPage(w, r, s, map[string]any{"FormError": errMessage(err)})
			return
		}
		c.fail(w, r, err)
		return
	}
	c.merchantsPage(w, r, http.StatusOK, map[string]any{"Created": m, "Credentials": cr})
}

func (c *Console) handleChangeMerchant(w http.ResponseWriter, r *http.Request) {
	no := r.PathValue("merchant")
	st := baoguan.MerchantStatus(r.FormValue("status"))
	var fen int64
	var err error
	if s := strings.TrimSpace(r.FormValue("funding")); s != "" {
		if fen, err = baoguan.ParseYuan("funding", s); err != nil || fen < 0 {
			c.merchantsPage(w, r, http.StatusBadRequest, map[string]any{"FormError": "funding must be yuan, e.g. 5000.00"})
			return
		}
	}
	_, err = c.svc.UpdateMerchant(r.Context(), no, func(m *baoguan.Merchant) error {
		switch st {
		case baoguan.MerchantActive, baoguan.MerchantArrears, baoguan.MerchantUnsigned:
			m.Status = st
		case "":
		default:
			return baoguan.FieldError("status", "status must be active, arrears or unsigned")
		}
		if r.FormValue("funding") != "" {
			m.FundingBalance = fen
		}
		return nil
	})
	if err != nil {
		if s := statusOf(err); s < 500 {
			c.merchantsPage(w, r, s, map[string]any{"FormError": errMessage(err)})
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"/ops/merchants", http.StatusSeeOther)
}

func (c *Console) handleProtocolKey(w http.ResponseWriter, r *http.Request) {
	no := r.FormValue("merchant")
	name := r.FormValue("setting")
	known := false
	for _, s := range protocolSettings {
		known = known || s == name
	}
	if !known {
		c.merchantsPage(w, r, http.StatusBadRequest, map[string]any{"FormError": "unknown protocol setting " + name})
		return
	}
	grace, ok := graces[r.FormValue("grace")]
	if !ok {
		grace = 0
	}
	if err := c.svc.RotateSetting(r.Context(), no, name, strings.TrimSpace(r.FormValue("value")), grace); err != nil {
		if s := statusOf(err); s < 500 {
			c.merchantsPage(w, r, s, map[string]any{"FormError": errMessage(err)})
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"/ops/merchants", http.StatusSeeOther)
}

func (c *Console) handleJobs(w http.ResponseWriter, r *http.Request) {
	js, err := c.svc.Jobs(r.Context(), baoguan.JobFilter{State: baoguan.JobDead, Page: baoguan.Page{Limit: 200}})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ms, err := c.svc.Merchants(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	nos := map[int64]string{}
	for _, m := range ms {
		nos[m.ID] = m.No
	}
	c.render(w, r, http.StatusOK, "ops_jobs", map[string]any{"Jobs": js, "MerchantNos": nos, "Retried": r.URL.Query().Get("retried")})
}

func (c *Console) handleRetryJob(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, r, &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "not found"})
		return
	}
	if _, err := c.svc.RetryJob(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"/ops/jobs?retried="+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (c *Console) handleDeclarations(w http.ResponseWriter, r *http.Request) {
	to := c.svc.Now()
	from := to.AddDate(0, 0, -30)
	rep, err := c.svc.DeclarationReport(r.Context(), nil, from, to)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "ops_declarations", map[string]any{"R": rep, "Chart": portChart(langOf(r), rep.Ports)})
}

// upstreamRow is one recorded upstream call with the numbers an operator
// reads: the merchant's and the order's.
type upstreamRow struct {
	baoguan.UpstreamCall
	MerchantNo, OrderNo string
}

// handleUpstream lists the calls baoguan made to upstream services (wallets'
// customs APIs, the E-Port, signing services) for every merchant, newest
// first, 100 a page; ?merchant=NO and ?order=NO narrow it.
func (c *Console) handleUpstream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := map[string]any{"Q": q}
	f := baoguan.UpstreamCallFilter{Page: baoguan.Page{Limit: 100}}
	if s := q.Get("after"); s != "" {
		f.Cursor, _ = strconv.ParseInt(s, 10, 64)
	}
	ms, err := c.svc.Merchants(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	byID := map[int64]*baoguan.Merchant{}
	for i := range ms {
		byID[ms[i].ID] = &ms[i]
	}
	bad := func(msg string) {
		data["FormError"] = msg
		c.render(w, r, http.StatusBadRequest, "ops_upstream", data)
	}
	no, orderNo := strings.TrimSpace(q.Get("merchant")), strings.TrimSpace(q.Get("order"))
	if orderNo != "" && no == "" {
		bad("an order number needs its merchant")
		return
	}
	if no != "" {
		m, err := c.svc.MerchantByNo(r.Context(), no)
		if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
			bad("no merchant " + no)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		f.MerchantID = m.ID
		if orderNo != "" {
			o, err := c.svc.FindOrder(r.Context(), m, orderNo)
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				bad("merchant " + no + " has no order " + orderNo)
				return
			}
			if err != nil {
				c.fail(w, r, err)
				return
			}
			f.OrderID = o.ID
		}
	}
	calls, err := c.svc.UpstreamCallLog(r.Context(), f)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	rows := make([]upstreamRow, 0, len(calls))
	orderNos := map[int64]string{}
	for _, call := range calls {
		row := upstreamRow{UpstreamCall: call}
		if m := byID[call.MerchantID]; m != nil {
			row.MerchantNo = m.No
			if call.OrderID != 0 {
				n, ok := orderNos[call.OrderID]
				if !ok {
					if o, err := c.svc.OrderByID(r.Context(), m, call.OrderID); err == nil {
						n = o.MerchantOrderNo
					}
					orderNos[call.OrderID] = n
				}
				row.OrderNo = n
			}
		}
		rows = append(rows, row)
	}
	data["Calls"] = rows
	if len(calls) == f.Limit {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("after", strconv.FormatInt(calls[len(calls)-1].ID, 10))
		data["Next"] = Prefix + "/ops/upstream?" + nq.Encode()
	}
	c.render(w, r, http.StatusOK, "ops_upstream", data)
}
