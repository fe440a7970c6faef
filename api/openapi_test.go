package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/baoguan/baoguan/core"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/baoguan/baoguan/docs"
)

// The OpenAPI document is checked against reality: every response the
// scenario suite provokes is matched to its operation (method + route
// pattern) and status in docs/openapi.json, and its body validated with a
// JSON Schema 2020-12 validator; so are the request bodies the API accepted
// and the webhooks the receiver got.

// specURL is the base URI the document is registered under; its $refs
// ("#/components/schemas/Order") resolve against it.
const specURL = "https://baoguan.invalid/v1/openapi.json"

type apiSpec struct {
	doc   map[string]any
	c     *jsonschema.Compiler
	paths []specPath

	mu    sync.Mutex
	cache map[string]*jsonschema.Schema
	seen  map[string]bool // "METHOD template status-key" exercised
}

type specPath struct {
	template string
	re       *regexp.Regexp
	item     map[string]any
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadSpec(t testing.TB) *apiSpec {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.OpenAPI))
	if err != nil {
		t.Fatalf("docs/openapi.json is not JSON: %v", err)
	}
	root, ok := doc.(map[string]any)
	if !ok || root["openapi"] != "3.1.0" {
		t.Fatalf("docs/openapi.json is not an OpenAPI 3.1.0 document")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // date-time, uri, … are assertions, not annotations
	if err := c.AddResource(specURL, doc); err != nil {
		t.Fatalf("registering the document: %v", err)
	}
	s := &apiSpec{doc: root, c: c, cache: map[string]*jsonschema.Schema{}, seen: map[string]bool{}}
	paths, _ := root["paths"].(map[string]any)
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	for tmpl, item := range paths {
		re := regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$")
		s.paths = append(s.paths, specPath{template: tmpl, re: re, item: item.(map[string]any)})
	}
	// Literal paths win over templated ones, as in net/http.
	sort.Slice(s.paths, func(i, j int) bool {
		return strings.Count(s.paths[i].template, "{") < strings.Count(s.paths[j].template, "{")
	})
	return s
}

// ptr builds a JSON pointer (RFC 6901) from tokens.
func ptr(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		tok = strings.ReplaceAll(tok, "~", "~0")
		tok = strings.ReplaceAll(tok, "/", "~1")
		b.WriteString("/" + url.PathEscape(tok))
	}
	return b.String()
}

// schema compiles the schema at a JSON pointer of the document.
func (s *apiSpec) schema(pointer string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.cache[pointer]; ok {
		return sch, nil
	}
	sch, err := s.c.Compile(specURL + "#" + pointer)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", pointer, err)
	}
	s.cache[pointer] = sch
	return sch, nil
}

// validate validates a JSON text against the schema at pointer.
func (s *apiSpec) validate(pointer string, body []byte) error {
	sch, err := s.schema(pointer)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("body does not match %s: %v\nbody: %s", pointer, err, bytes.TrimSpace(body))
	}
	return nil
}

// lookup follows a local "$ref" ("#/components/responses/NotFound") and
// returns the object and its pointer.
func (s *apiSpec) lookup(v map[string]any, at string) (map[string]any, string, error) {
	for {
		ref, ok := v["$ref"].(string)
		if !ok {
			return v, at, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, "", fmt.Errorf("non-local $ref %q", ref)
		}
		at = ref[1:]
		var cur any = s.doc
		for _, tok := range strings.Split(ref[2:], "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, "", fmt.Errorf("$ref %q does not resolve", ref)
			}
			cur = m[tok]
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("$ref %q does not resolve to an object", ref)
		}
		v = m
	}
}

// operation finds the documented operation of a request.
func (s *apiSpec) operation(method, path string) (string, map[string]any) {
	for _, p := range s.paths {
		if p.re.MatchString(path) {
			op, _ := p.item[strings.ToLower(method)].(map[string]any)
			return p.template, op
		}
	}
	return "", nil
}

// check validates one exchange: the response against the operation's
// response for its status, and an accepted request body against the
// operation's request body.
func (s *apiSpec) check(ex exchange) error {
	tmpl, op := s.operation(ex.Method, ex.Path)
	if op == nil {
		// Unknown routes are not operations; they must still answer the
		// documented JSON 404.
		if ex.Status != http.StatusNotFound {
			return fmt.Errorf("%s %s is not documented, yet answered %d", ex.Method, ex.Path, ex.Status)
		}
		return s.validate("/components/schemas/Error", ex.Body)
	}
	opPtr := ptr("paths", tmpl, strings.ToLower(ex.Method))
	resps, _ := op["responses"].(map[string]any)
	status := strconv.Itoa(ex.Status)
	key := ""
	for _, k := range []string{status, status[:1] + "XX", "default"} {
		if _, ok := resps[k]; ok {
			key = k
			break
		}
	}
	if key == "" {
		return fmt.Errorf("%s %s: status %d is not documented (documented: %v)", ex.Method, tmpl, ex.Status, keys(resps))
	}
	s.mu.Lock()
	s.seen[ex.Method+" "+tmpl+" "+key] = true
	s.mu.Unlock()
	resp, respPtr, err := s.lookup(resps[key].(map[string]any), opPtr+ptr("responses", key))
	if err != nil {
		return err
	}
	hdrs, _ := resp["headers"].(map[string]any)
	for _, h := range []string{"Idempotent-Replayed", "WWW-Authenticate"} {
		if ex.Header.Get(h) != "" && hdrs[h] == nil {
			return fmt.Errorf("%s %s %d: header %s is sent but not documented", ex.Method, tmpl, ex.Status, h)
		}
	}
	content, _ := resp["content"].(map[string]any)
	if content == nil {
		if len(bytes.TrimSpace(ex.Body)) > 0 {
			return fmt.Errorf("%s %s %d: a body is sent but none is documented", ex.Method, tmpl, ex.Status)
		}
		return nil
	}
	if _, ok := content["application/json"]; !ok {
		return fmt.Errorf("%s %s %d: no application/json content documented", ex.Method, tmpl, ex.Status)
	}
	if ct := ex.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("%s %s %d: Content-Type %q, documented application/json", ex.Method, tmpl, ex.Status, ct)
	}
	if err := s.validate(respPtr+ptr("content", "application/json", "schema"), ex.Body); err != nil {
		return fmt.Errorf("%s %s → %d: %w", ex.Method, ex.Path, ex.Status, err)
	}
	// A request the API accepted must be one the document allows.
	if ex.Status < 300 && len(ex.ReqBody) > 0 {
		if rb, ok := op["requestBody"].(map[string]any); ok {
			rb, rbPtr, err := s.lookup(rb, opPtr+ptr("requestBody"))
			if err != nil {
				return err
			}
			if _, ok := rb["content"].(map[string]any)["application/json"]; ok {
				if err := s.validate(rbPtr+ptr("content", "application/json", "schema"), ex.ReqBody); err != nil {
					return fmt.Errorf("accepted request body of %s %s is not allowed by the document: %w", ex.Method, tmpl, err)
				}
			}
		}
	}
	return nil
}

// checkWebhook validates a received notification against the document's
// webhooks section: its type is documented, the headers it requires are
// present, and the body matches.
func (s *apiSpec) checkWebhook(d delivery) error {
	whs, _ := s.doc["webhooks"].(map[string]any)
	item, ok := whs[d.Type].(map[string]any)
	if !ok {
		return fmt.Errorf("webhook type %q is not documented", d.Type)
	}
	post := item["post"].(map[string]any)
	params, _ := post["parameters"].([]any)
	for _, p := range params {
		pm, _, err := s.lookup(p.(map[string]any), "")
		if err != nil {
			return err
		}
		if pm["in"] == "header" && pm["required"] == true && d.Header.Get(pm["name"].(string)) == "" {
			return fmt.Errorf("webhook %s lacks header %s", d.Type, pm["name"])
		}
	}
	return s.validate(ptr("webhooks", d.Type, "post", "requestBody", "content", "application/json", "schema"), d.Body)
}

// uncovered lists documented operation/status pairs no exchange produced.
// 500 cannot be provoked from outside.
func (s *apiSpec) uncovered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.paths {
		for _, m := range httpMethods {
			op, ok := p.item[m].(map[string]any)
			if !ok {
				continue
			}
			for k := range op["responses"].(map[string]any) {
				id := strings.ToUpper(m) + " " + p.template + " " + k
				if k != "500" && !s.seen[id] {
					out = append(out, id)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIConformance runs the scenario suite with every response,
// accepted request and webhook checked against docs/openapi.json, then
// requires that every documented status of every operation was seen.
func TestOpenAPIConformance(t *testing.T) {
	spec := loadSpec(t)
	h := newHarness(t)
	h.observe = func(t *testing.T, ex exchange) {
		t.Helper()
		if err := spec.check(ex); err != nil {
			t.Errorf("OpenAPI: %v", err)
		}
	}
	runSuite(t, h)
	t.Run("webhooks", func(t *testing.T) {
		ds := h.hooks.all()
		if len(ds) == 0 {
			t.Fatal("no webhook received")
		}
		for _, d := range ds {
			if err := spec.checkWebhook(d); err != nil {
				t.Errorf("OpenAPI: %v", err)
			}
		}
	})
	t.Run("limits", func(t *testing.T) {
		hl := newHarnessLimits(t, "sqlite", core.Limits{})
		hl.observe = h.observe
		limitsGroup(t, hl)
	})
	t.Run("coverage", func(t *testing.T) {
		for _, id := range spec.uncovered() {
			t.Errorf("documented but never provoked by a scenario: %s", id)
		}
	})
}

// TestOpenAPIDocument checks the document itself: it lists exactly the
// routes of routes.go, every schema compiles, and the rules that make it
// strict enough to catch drift hold.
func TestOpenAPIDocument(t *testing.T) {
	spec := loadSpec(t)

	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, m := range regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		routes[m[1]+" "+m[2]] = true
	}
	if len(routes) < 19 {
		t.Fatalf("found only %d routes in routes.go", len(routes))
	}
	documented := map[string]bool{}
	for _, p := range spec.paths {
		for _, m := range httpMethods {
			if op, ok := p.item[m].(map[string]any); ok {
				documented[strings.ToUpper(m)+" "+p.template] = true
				checkOperation(t, spec, strings.ToUpper(m)+" "+p.template, op)
			}
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not documented", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("documented operation %s has no route", d)
		}
	}

	comps := spec.doc["components"].(map[string]any)
	schemas := comps["schemas"].(map[string]any)
	for _, name := range []string{"Order", "Declaration", "Refund", "Batch", "Event", "Attempt", "CustomsEntry", "Merchant",
		"OrderList", "EventList", "DeclarationList", "CustomsList", "Error"} {
		if schemas[name] == nil {
			t.Errorf("components/schemas/%s is missing", name)
		}
	}
	for name, sch := range schemas {
		if _, err := spec.schema(ptr("components", "schemas", name)); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
		walkObjects(sch, "components/schemas/"+name, func(at string, o map[string]any) {
			if o["additionalProperties"] != false {
				t.Errorf("%s: object without additionalProperties: false", at)
			}
			props, _ := o["properties"].(map[string]any)
			req, _ := o["required"].([]any)
			for _, r := range req {
				if _, ok := props[r.(string)]; !ok {
					t.Errorf("%s: required %q is not a property", at, r)
				}
			}
		})
	}
	if sec := comps["securitySchemes"].(map[string]any)["bearerAuth"].(map[string]any); sec["scheme"] != "bearer" {
		t.Errorf("bearerAuth: %v", sec)
	}

	whs, _ := spec.doc["webhooks"].(map[string]any)
	for _, typ := range []string{"order.paid", "order.payment_failed", "declaration.succeeded", "declaration.failed", "refund.succeeded", "refund.failed"} {
		item, ok := whs[typ].(map[string]any)
		if !ok {
			t.Errorf("webhook %s is not documented", typ)
			continue
		}
		var names []string
		for _, p := range item["post"].(map[string]any)["parameters"].([]any) {
			names = append(names, p.(map[string]any)["name"].(string))
		}
		for _, hn := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
			if !slices.Contains(names, hn) {
				t.Errorf("webhook %s does not document header %s", typ, hn)
			}
		}
		if _, err := spec.schema(ptr("webhooks", typ, "post", "requestBody", "content", "application/json", "schema")); err != nil {
			t.Errorf("webhook %s: %v", typ, err)
		}
	}
}

func checkOperation(t *testing.T, spec *apiSpec, id string, op map[string]any) {
	t.Helper()
	resps := op["responses"].(map[string]any)
	public := false
	if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
		public = true
	}
	if !public && resps["401"] == nil {
		t.Errorf("%s: authenticated but 401 is not documented", id)
	}
	ok2xx := false
	for k := range resps {
		ok2xx = ok2xx || strings.HasPrefix(k, "2")
		if _, err := strconv.Atoi(k); err != nil {
			t.Errorf("%s: response key %q is not a status", id, k)
		}
	}
	if !ok2xx {
		t.Errorf("%s: no success response", id)
	}
	if strings.HasPrefix(id, "POST ") {
		found := false
		for _, p := range op["parameters"].([]any) {
			pm, _, err := spec.lookup(p.(map[string]any), "")
			if err == nil && pm["name"] == "Idempotency-Key" && pm["in"] == "header" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no Idempotency-Key header parameter", id)
		}
		if resps["409"] == nil || resps["413"] == nil || resps["400"] == nil {
			t.Errorf("%s: a POST can answer 400, 409 and 413 (Idempotency-Key)", id)
		}
	}
}

// walkObjects calls fn for every object schema with properties inside v.
func walkObjects(v any, at string, fn func(at string, o map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["properties"]; ok {
			fn(at, x)
		}
		for k, c := range x {
			walkObjects(c, at+"/"+k, fn)
		}
	case []any:
		for i, c := range x {
			walkObjects(c, at+"/"+strconv.Itoa(i), fn)
		}
	}
}

// TestOpenAPIDetectsDrift shows the check has teeth: real responses pass,
// and the same responses with an undocumented field, a missing required
// field, a wrong type or format fail, as do undocumented statuses and routes.
func TestOpenAPIDetectsDrift(t *testing.T) {
	spec := loadSpec(t)
	h := newHarness(t)
	h.post(t, h.A, "/v1/orders", order("N-1", 4023, declared(idSucceeds, "HG014")), http.StatusCreated)
	h.waitOrder(t, h.A, "N-1", "paid and declared", paidAndDeclared)
	orderResp := h.get(t, h.A, "/v1/orders/N-1", http.StatusOK)
	listResp := h.get(t, h.A, "/v1/orders", http.StatusOK)
	var eventResp *response
	waitFor(t, "an event delivered", func() (bool, string) {
		r := h.get(t, h.A, "/v1/events?order_no=N-1&status=delivered", http.StatusOK)
		l := decode[listView[eventView]](t, r)
		if len(l.Data) == 0 {
			return false, r.String()
		}
		eventResp = h.get(t, h.A, "/v1/events/"+l.Data[0].ID, http.StatusOK)
		return true, ""
	})
	notFound := h.do(t, request{Method: "GET", Path: "/v1/orders/NOPE", Auth: bearer(h.A)})

	ex := func(method, path string, r *response, body []byte) exchange {
		if body == nil {
			body = r.Body
		}
		return exchange{Method: method, Path: path, Status: r.Status, Header: r.Header, Body: body}
	}
	for _, good := range []exchange{
		ex("GET", "/v1/orders/N-1", orderResp, nil),
		ex("GET", "/v1/orders", listResp, nil),
		ex("GET", "/v1/events/1", eventResp, nil),
		ex("GET", "/v1/orders/NOPE", notFound, nil),
	} {
		if err := spec.check(good); err != nil {
			t.Fatalf("a real response fails: %v", err)
		}
	}

	mutate := func(r *response, fn func(m map[string]any)) []byte {
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		fn(m)
		return mustJSON(t, m)
	}
	first := func(m map[string]any, k string) map[string]any { return m[k].([]any)[0].(map[string]any) }
	bad := []struct {
		name string
		want string // in the error: the check fails for the right reason
		ex   exchange
	}{
		{"order gains a field", "risk_score", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { m["risk_score"] = 3 }))},
		{"order loses pay_status", "pay_status", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { delete(m, "pay_status") }))},
		{"order loses batch_id", "batch_id", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { delete(m, "batch_id") }))},
		{"amount in yuan", "/amount", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { m["amount"] = "40.23" }))},
		{"amount fractional", "/amount", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { m["amount"] = 40.23 }))},
		{"time not RFC 3339", "date-time", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { m["created_at"] = "2025-03-20 06:57:29" }))},
		{"unknown pay status", "/pay_status", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { m["pay_status"] = "PAID" }))},
		{"batch_id a number", "/batch_id", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { m["batch_id"] = 12 }))},
		{"paid_at null", "/payment/paid_at", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { m["payment"].(map[string]any)["paid_at"] = nil }))},
		{"declaration gains a field", "receipt_code", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { first(m, "declarations")["receipt_code"] = "2" }))},
		{"declaration loses state", "'state'", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { delete(first(m, "declarations"), "state") }))},
		{"payer gains a field", "id_plain", ex("GET", "/v1/orders/N-1", orderResp, mutate(orderResp, func(m map[string]any) { m["payer"].(map[string]any)["id_plain"] = idSucceeds }))},
		{"list item gains a field", "/data/0", ex("GET", "/v1/orders", listResp, mutate(listResp, func(m map[string]any) { first(m, "data")["x"] = 1 }))},
		{"list loses next_cursor", "next_cursor", ex("GET", "/v1/orders", listResp, mutate(listResp, func(m map[string]any) { delete(m, "next_cursor") }))},
		{"list gains total", "'total'", ex("GET", "/v1/orders", listResp, mutate(listResp, func(m map[string]any) { m["total"] = 1 }))},
		{"event loses delivered_at", "delivered_at", ex("GET", "/v1/events/1", eventResp, mutate(eventResp, func(m map[string]any) { delete(m, "delivered_at") }))},
		{"attempt gains a field", "/attempts/0", ex("GET", "/v1/events/1", eventResp, mutate(eventResp, func(m map[string]any) { first(m, "attempts")["headers"] = "x" }))},
		{"error gains a field", "request_id", ex("GET", "/v1/orders/NOPE", notFound, mutate(notFound, func(m map[string]any) { m["error"].(map[string]any)["request_id"] = "r" }))},
		{"error loses message", "'message'", ex("GET", "/v1/orders/NOPE", notFound, mutate(notFound, func(m map[string]any) { delete(m["error"].(map[string]any), "message") }))},
		{"error not wrapped", "'code'", ex("GET", "/v1/orders/NOPE", notFound, mutate(notFound, func(m map[string]any) { m["code"] = "not_found" }))},
		{"undocumented status", "418", exchange{Method: "GET", Path: "/v1/orders/N-1", Status: http.StatusTeapot, Header: orderResp.Header, Body: orderResp.Body}},
		{"success body on an error status", "'error'", exchange{Method: "GET", Path: "/v1/orders/N-1", Status: http.StatusNotFound, Header: orderResp.Header, Body: orderResp.Body}},
		{"undocumented route answering", "not documented", exchange{Method: "GET", Path: "/v1/orders/N-1/history", Status: http.StatusOK, Header: orderResp.Header, Body: orderResp.Body}},
		{"undocumented replay header", "Idempotent-Replayed", exchange{Method: "GET", Path: "/v1/orders/N-1", Status: http.StatusOK,
			Header: http.Header{"Content-Type": {"application/json"}, "Idempotent-Replayed": {"true"}}, Body: orderResp.Body}},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			err := spec.check(b.ex)
			switch {
			case err == nil:
				t.Errorf("the check accepted a drifted response")
			case !strings.Contains(err.Error(), b.want):
				t.Errorf("rejected, but not for %q: %v", b.want, err)
			}
		})
	}
}
