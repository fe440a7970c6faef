package wechatv3

import (
	"encoding/json"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan/inbound"
)

// decodeBody reads the call's body, one JSON object, into v (a pointer to
// a struct with json tags). A parameter v does not have is a PARAM_ERROR
// naming it, with the issue extra gives (WeChat validates bodies against a
// schema; baoguan refuses what it would silently ignore). The parameters
// are kept as text in c.vals for error details.
func decodeBody(c *call, v any, extra string) error {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return invalidRequest("send the body as application/json")
		}
		if _, p := inbound.ToUTF8(nil, inbound.Charset(ct), inbound.UTF8Only); p != nil {
			return invalidRequest(p.Message)
		}
	}
	if p := inbound.CheckContentEncoding(c.r.Header.Values("Content-Encoding"), false); p != nil {
		return invalidRequest(p.Message)
	}
	// What encoding/json would change (invalid UTF-8, lone surrogate
	// escapes, a key twice in any case) is refused naming where.
	if p := inbound.CheckJSON(c.body); p != nil {
		return paramError(locBody, p.Path, "", p.Message)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &raw); err != nil || raw == nil {
		return &wireError{status: http.StatusBadRequest, body: errorBody{Code: codeParamError,
			Message: "the body is not a JSON object",
			Detail:  &errorDetail{Field: "#", Issue: "the body must be a JSON object", Location: string(locBody)}}}
	}
	for k, r := range raw {
		var s string
		if json.Unmarshal(r, &s) != nil {
			s = string(r)
		}
		c.vals[k] = s
	}
	known := jsonFields(v)
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !known[k] {
			return paramError(locBody, k, c.vals[k], extra)
		}
	}
	if p := inbound.Decode(c.body, v, false); p != nil {
		if p.Kind == inbound.KindType {
			want := p.Want
			if want == "integer" || want == "object" || want == "array" {
				want = "an " + want
			} else {
				want = "a " + want
			}
			return paramError(locBody, p.Path, c.vals[p.Path], p.Path+" must be "+want)
		}
		return paramError(locBody, "", "", "the body is not valid JSON")
	}
	return nil
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			for k := range jsonFields(reflect.New(f.Type).Interface()) {
				out[k] = true
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(c *call, name string, def, min, max int) (int, error) {
	s := c.r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		return 0, paramError(locQuery, name, s, name+" must be a whole number from "+strconv.Itoa(min)+" to "+strconv.Itoa(max))
	}
	return n, nil
}
