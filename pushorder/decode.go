package pushorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/inbound"
)

// Reasons of the decoding errors, which reply() turns into ReturnCodes.
const (
	reasonBadData     = "bad_data"           // 9904 / 9999: data missing or not a JSON object
	reasonBadOp       = "bad_operation_type" // 9907
	reasonNoAccess    = "no_access"          // 9912 / 9999: MerchantName not bound to this caller
	reasonBadField    = "bad_field"          // 9909: a value that cannot be translated
	reasonMissingName = "missing_name"       // 9902, same reason as the core's payer check
	reasonMissingID   = "missing_id"         // 9901, same reason as the core's ID check
	reasonMissingTel  = "missing_phone"      // 9903, same reason as the core's payer check
)

func badData(format string, args ...any) error {
	return &baoguan.Error{Code: baoguan.EINVALID, Field: "data", Reason: reasonBadData, Message: fmt.Sprintf(format, args...)}
}

// readData returns the JSON object a client sent as the form field data.
//
// The document's .NET sample builds the body as "data=" + the JSON, without
// URL-encoding it, so a real client's body may hold raw '+', '&' and '%'
// that form decoding would mangle ("已支付+已报关" would lose its '+'). The
// body is therefore first taken as it is: "data=" followed by a complete
// JSON value is used verbatim. Only when that is not JSON is the body
// decoded as a form, which is what an encoding client (a POST tool, curl
// --data-urlencode) sends. A multipart form and a bare JSON body are
// accepted as well, because the document's "POST 工具" users send both.
//
// The text is UTF-8, or GBK/GB2312/GB18030 when the Content-Type (or a
// multipart part's) declares that charset, decoded exactly; bytes that are
// not in the declared charset, another charset, and a compressed body
// (Content-Encoding other than identity) are refused (9904), never stored
// as U+FFFD.
func (s *Server) readData(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if p := inbound.CheckContentEncoding(r.Header.Values("Content-Encoding"), false); p != nil {
		return nil, badData("%s", p.Message)
	}
	charset := inbound.Charset(r.Header.Get("Content-Type"))
	data, err := s.rawData(w, r, &charset)
	if err != nil {
		return nil, err
	}
	text, p := inbound.ToUTF8(data, charset, inbound.GBFamily)
	if p != nil {
		return nil, badData("data: %s", p.Message)
	}
	return bytes.TrimSpace(text), nil
}

// rawData returns the bytes of the data field as sent, in the body's
// charset; a multipart part may declare its own, which replaces charset.
func (s *Server) rawData(w http.ResponseWriter, r *http.Request, charset *string) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, badData("the body is larger than %d bytes", tooBig.Limit)
		}
		return nil, badData("the body could not be read")
	}
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
		return multipartData(body, params["boundary"], charset)
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return nil, badData("the body is empty; send data={...}")
	}
	if trimmed[0] == '{' {
		return trimmed, nil
	}
	if raw, ok := bytes.CutPrefix(trimmed, []byte("data=")); ok {
		if raw = bytes.TrimSpace(raw); json.Valid(raw) {
			return raw, nil
		}
	}
	form, err := url.ParseQuery(string(trimmed))
	if v, ok := form["data"]; ok && len(v) > 0 {
		return []byte(strings.TrimSpace(v[0])), nil
	}
	if err != nil {
		return nil, badData("the body is neither data=<JSON> nor a valid form")
	}
	return nil, badData("the form has no data field")
}

func multipartData(body []byte, boundary string, charset *string) ([]byte, error) {
	if boundary == "" {
		return nil, badData("multipart body without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, badData("the form has no data field")
		}
		if err != nil {
			return nil, badData("the multipart body is malformed")
		}
		if p.FormName() == "data" {
			if cs := inbound.Charset(p.Header.Get("Content-Type")); cs != "" {
				*charset = cs
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return nil, badData("the multipart body is malformed")
			}
			return bytes.TrimSpace(b), nil
		}
	}
}

// fields is the data object with its keys normalised: surrounding spaces
// removed and lower-cased, so that the document's own sample
// (" OperationType ", " MerchantName ") and any casing a serializer
// produces all reach the same field. null values are left out, since .NET
// serializers write unset properties as null.
type fields map[string]json.RawMessage

// parseFields reads data as one JSON object. Two keys that normalise to the
// same name are refused: which of them was meant cannot be known.
//
// data is first checked as encoding/json would read it unchanged: no lone
// surrogate escape (which it would turn into U+FFFD) and no key twice in
// any case; the problem names the key and the byte offset in data.
func parseFields(data []byte) (fields, error) {
	if p := inbound.CheckJSON(data); p != nil {
		if p.Kind == inbound.KindSyntax && p.Offset == 0 {
			return nil, badData("data is not JSON")
		}
		return nil, badData("data: %s", p.Message)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, badData("data is not JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badData("data must be a JSON object")
	}
	f := fields{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badData("data is not valid JSON")
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, badData("data is not valid JSON (after key %q)", key)
		}
		k := strings.ToLower(strings.TrimSpace(key))
		if _, dup := f[k]; dup {
			return nil, badData("data names %s twice", strings.TrimSpace(key))
		}
		f[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, badData("data is not valid JSON")
	}
	if dec.More() {
		return nil, badData("data holds more than one JSON value")
	}
	for k, v := range f {
		if string(v) == "null" {
			delete(f, k)
		}
	}
	return f, nil
}

// text returns a field given as a JSON string or number, as text without
// surrounding spaces; "" when absent. Numbers keep their literal digits
// ("100.0"), so amounts are never read through a float. Other JSON types
// are a decoding error naming the field.
func (f fields) text(name string) (string, error) {
	v, ok := f[strings.ToLower(name)]
	if !ok {
		return "", nil
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", badData("%s is not a valid JSON string", name)
		}
		return strings.TrimSpace(s), nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(v), nil
	}
	return "", badData("%s must be a string or a number", name)
}

// mustText is text for fields whose type was already checked by check().
func (f fields) mustText(name string) string {
	s, _ := f.text(name)
	return s
}

// check makes sure every field the protocol knows has a usable JSON type,
// so that later reads cannot fail and a type error is always 9904.
func (f fields) check(names ...string) error {
	for _, n := range names {
		if _, err := f.text(n); err != nil {
			return err
		}
	}
	return nil
}
