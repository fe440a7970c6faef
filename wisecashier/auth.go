package wisecashier

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Authentication (§2). Every request carries the headers AgentNo,
// Signature, Version and Timestamp. The signature is RSA-SHA256 (PKCS #1
// v1.5, base64) with the agent's private key over the request's parameters
// (the query of a GET, the form of a POST, empty values included) sorted
// by name, their values URL-encoded, joined as k=v&k=v, then "," and the
// Timestamp exactly as sent.
//
// What clients in the field send varies, and all of it is accepted: the
// agent header as AgentNo, MerchantNo or MerchantNO (HTTP header names
// ignore case); the timestamp in seconds, seconds with a fraction (the
// document's Python signs str(time.time())) or milliseconds; bodies as
// application/x-www-form-urlencoded or multipart/form-data; and values
// URL-encoded the way the client's library does it (Encodings): a
// signature is valid when it verifies over the parameters encoded any of
// those ways.

// agentHeaders are the header names the agent's number arrives under, in
// the order they are read.
var agentHeaders = []string{"AgentNo", "MerchantNo"}

// authParams are the four authentication values; a cashier page opened by
// a browser (which cannot add headers) may carry them in its query
// instead, where they are not signed parameters.
var authParams = []string{"AgentNo", "Signature", "Version", "Timestamp"}

// Versions of the API: 2.0 only changes the order query's shape (§4.9).
const (
	V1 = "1.0"
	V2 = "2.0"
)

// SettingPublicKey is the agent setting holding its request-signing public
// keys (PEM, several for a rotation), set with `baoguan agent key`.
const SettingPublicKey = Protocol + ".public-key"

// Encoding is one way clients URL-encode a value for the signing string.
type Encoding struct {
	Name string
	// keep are the characters left as they are besides A-Z a-z 0-9.
	keep string
	// plus writes a space as "+" rather than "%20".
	plus bool
	// lower writes percent escapes in lower-case hex (.NET's
	// HttpUtility.UrlEncode).
	lower bool
	// raw leaves the value unencoded.
	raw bool
}

// Encodings are the value encodings a signature may use, one per family of
// client libraries.
var Encodings = []Encoding{
	{Name: "rfc3986", keep: "-_.~"},                            // Python 3 quote(safe=""), PHP rawurlencode, .NET EscapeDataString, Go url.PathEscape-like
	{Name: "python2", keep: "-_."},                             // Python 2 quote(safe=""): ~ escaped (the document's sample)
	{Name: "java", keep: "-_.*", plus: true},                   // Java URLEncoder
	{Name: "form", keep: "-_.", plus: true},                    // PHP urlencode
	{Name: "go", keep: "-_.~", plus: true},                     // Go url.QueryEscape
	{Name: "javascript", keep: "-_.!~*'()"},                    // JavaScript encodeURIComponent
	{Name: "dotnet", keep: "-_.!*()", plus: true, lower: true}, // .NET HttpUtility.UrlEncode
	{Name: "raw", raw: true},                                   // values as they are
}

// Encode applies the encoding to a UTF-8 value.
func (e Encoding) Encode(v string) string {
	if e.raw {
		return v
	}
	hex := "0123456789ABCDEF"
	if e.lower {
		hex = "0123456789abcdef"
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c < 0x80 && strings.IndexByte(e.keep, c) >= 0:
			b.WriteByte(c)
		case c == ' ' && e.plus:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// SigningString is the string a request's signature covers: params sorted
// by name, each "name=encoded value", joined by "&", then "," and the
// timestamp as sent.
func SigningString(params map[string]string, timestamp string, e Encoding) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(e.Encode(k))
		b.WriteByte('=')
		b.WriteString(e.Encode(params[k]))
	}
	b.WriteByte(',')
	b.WriteString(timestamp)
	return b.String()
}

// Sign signs the parameters as an agent does, with the rfc3986 encoding.
// Tests and the documentation's test vector use it.
func Sign(key *rsa.PrivateKey, params map[string]string, timestamp string) (string, error) {
	sum := sha256.Sum256([]byte(SigningString(params, timestamp, Encodings[0])))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// decodeSignature reads a base64 signature: standard, or URL-safe or with
// its padding cut, as some clients send it (a form-encoded "+" arriving as
// a space is put back).
func decodeSignature(text string) ([]byte, error) {
	text = strings.ReplaceAll(strings.TrimSpace(text), " ", "+")
	if sig, err := base64.StdEncoding.DecodeString(text); err == nil {
		return sig, nil
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(text), "="))
}

// verifySignature reports which encoding the signature verifies under,
// trying each distinct signing string once.
func verifySignature(keys []*rsa.PublicKey, sig []byte, params map[string]string, timestamp string) (string, bool) {
	tried := map[string]bool{}
	for _, e := range Encodings {
		s := SigningString(params, timestamp, e)
		if tried[s] {
			continue
		}
		tried[s] = true
		sum := sha256.Sum256([]byte(s))
		for _, k := range keys {
			if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil {
				return e.Name, true
			}
		}
	}
	return "", false
}

// maxTimestampDigits bounds a timestamp's whole part: milliseconds until
// the year 2286 have 13 digits, so anything longer is not a timestamp and
// every value read fits an int64 with room to subtract.
const maxTimestampDigits = 13

// parseTimestamp reads a Unix timestamp in seconds ("1528860778"), seconds
// with a fraction ("1528860778.123456") or milliseconds
// ("1528860778123": 12 or 13 digits without a point), and returns it in
// whole seconds: the window is compared in seconds, never through a
// time.Duration product.
func parseTimestamp(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("the Timestamp header is required")
	}
	whole, frac, dot := strings.Cut(s, ".")
	bad := fmt.Errorf("Timestamp %q is not a Unix time in seconds or milliseconds", s)
	if whole == "" || len(whole) > maxTimestampDigits || dot && (frac == "" || len(frac) > 9) {
		return 0, bad
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, bad
		}
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, bad
	}
	if !dot && len(whole) >= 12 {
		return n / 1000, nil
	}
	if dot && len(whole) >= 12 {
		return 0, bad // milliseconds do not take a fraction
	}
	return n, nil
}

// PublicKey is one RSA public key of an agent, with the certificate that
// carried it, if any.
type PublicKey struct {
	Key  *rsa.PublicKey
	Cert *x509.Certificate
}

// ParsePublicKeys reads the RSA public keys of a PEM text (PUBLIC KEY,
// RSA PUBLIC KEY and CERTIFICATE blocks, several for a rotation). Any
// other block (a private key, above all), an unreadable one or a key that
// is not RSA is an error naming it, so that a wrong file is refused
// before it is stored; a text without a block is an error too.
func ParsePublicKeys(text []byte) ([]PublicKey, error) {
	var out []PublicKey
	for rest := text; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var k any
		var cert *x509.Certificate
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			if cert, err = x509.ParseCertificate(b.Bytes); err == nil {
				k = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("a %s block: give the agent's public key, never a private key", b.Type)
		}
		if err != nil {
			return nil, err
		}
		pub, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("not an RSA key")
		}
		out = append(out, PublicKey{pub, cert})
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM block")
	}
	return out, nil
}

// agentKeys are the agent's registered public keys that authenticate now:
// a certificate's only within its validity, on baoguan's clock.
func agentKeys(a *baoguan.Agent, now time.Time) ([]*rsa.PublicKey, error) {
	text := a.Settings[SettingPublicKey]
	if text == "" {
		return nil, errors.New("no RSA public key is registered")
	}
	all, err := ParsePublicKeys([]byte(text))
	if err != nil {
		return nil, err
	}
	var keys []*rsa.PublicKey
	var expired error
	for _, k := range all {
		if c := k.Cert; c != nil && (now.Before(c.NotBefore) || now.After(c.NotAfter)) {
			expired = fmt.Errorf("the registered certificate is valid from %s to %s, not now",
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
			continue
		}
		keys = append(keys, k.Key)
	}
	if len(keys) == 0 {
		return nil, expired
	}
	return keys, nil
}

// call is one authenticated request.
type call struct {
	r       *http.Request
	agent   *baoguan.Agent
	version string
	params  map[string]string
	// encoding is the one the signature verified under, for the log.
	encoding string
}

// get returns a parameter, trimmed of surrounding white space.
func (c *call) get(name string) string { return strings.TrimSpace(c.params[name]) }

// has reports whether a parameter was sent (even empty).
func (c *call) has(name string) bool { _, ok := c.params[name]; return ok }

// readParams returns the request's parameters: the query of a GET, the
// form (urlencoded or multipart) of a POST, or its query when the body is
// empty. A parameter given twice is refused (400 naming it): which value
// was signed cannot be known. inQuery lists auth values that came in the
// query (cashier pages), which are not signed parameters.
func (s *Server) readParams(w http.ResponseWriter, r *http.Request, pageAuth bool) (map[string]string, error) {
	var vals url.Values
	if r.Method == http.MethodPost {
		if ce := strings.TrimSpace(r.Header.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
			return nil, paramError("Content-Encoding", "Content-Encoding "+strconv.Quote(ce)+" is not accepted: send the form uncompressed")
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if cs := ctParams["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			return nil, paramError("Content-Type", "charset "+strconv.Quote(cs)+" is not accepted: send the parameters in UTF-8")
		}
		switch ct {
		case "multipart/form-data":
			if err := r.ParseMultipartForm(s.maxBody); err != nil {
				return nil, bodyError(err)
			}
			if r.MultipartForm != nil && len(r.MultipartForm.File) > 0 {
				for name := range r.MultipartForm.File {
					return nil, paramError(name, name+" is a file; every parameter is a text field")
				}
			}
			vals = r.MultipartForm.Value
		case "application/x-www-form-urlencoded", "":
			if err := r.ParseForm(); err != nil {
				return nil, bodyError(err)
			}
			vals = r.PostForm
		default:
			return nil, paramError("Content-Type", "Content-Type "+ct+" is not accepted: send the parameters as application/x-www-form-urlencoded or multipart/form-data")
		}
		if len(vals) == 0 {
			vals = r.URL.Query()
		}
	} else {
		vals = r.URL.Query()
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		if pageAuth && isAuthParam(k) {
			continue
		}
		if len(v) > 1 {
			return nil, paramError(k, "parameter "+k+" is given "+strconv.Itoa(len(v))+" times")
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v[0]) {
			return nil, paramError(k, "parameter "+strconv.Quote(k)+" is not UTF-8 (a GBK form?): send the parameters in UTF-8")
		}
		out[k] = v[0]
	}
	return out, nil
}

func isAuthParam(k string) bool {
	for _, a := range authParams {
		if strings.EqualFold(k, a) {
			return true
		}
	}
	return false
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return paramError("body", fmt.Sprintf("the request body is larger than %d bytes", tooBig.Limit))
	}
	return paramError("body", "the request body could not be read as a form: "+err.Error())
}

// header reads an authentication value from the headers or, for a cashier
// page (pageAuth), from the query.
func header(r *http.Request, pageAuth bool, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(r.Header.Get(n)); v != "" {
			return v
		}
	}
	if pageAuth {
		q := r.URL.Query()
		for _, n := range names {
			for k, v := range q {
				if strings.EqualFold(k, n) && len(v) > 0 && v[0] != "" {
					return strings.TrimSpace(v[0])
				}
			}
		}
	}
	return ""
}

// authenticate checks a request as §2 prescribes and returns the call:
// the agent (401 when unknown, keyless, or the signature does not
// verify), the timestamp within the window (411 outside it), the version
// (400 for one other than 1.0 and 2.0) and the rate limit (503).
func (s *Server) authenticate(ctx context.Context, w http.ResponseWriter, r *http.Request, pageAuth bool) (*call, error) {
	// Failed authentication counts against the source address and, for a
	// signature that does not verify, the agent; over either limit
	// nothing more is checked (core.Service.AuthAllowed).
	src, subject := r.RemoteAddr, ""
	failed := func(err error) (*call, error) { return nil, s.svc.AuthFailed(ctx, src, subject, err) }
	if err := s.svc.AuthAllowed(ctx, src, ""); err != nil {
		return nil, err
	}
	agentNo := header(r, pageAuth, agentHeaders...)
	if agentNo == "" {
		return failed(authError("the AgentNo header is required: the agent number WiseCashier assigned"))
	}
	version := header(r, pageAuth, "Version")
	switch version {
	case "":
		version = V1
	case V1, V2:
	default:
		return nil, paramError("Version", "Version "+strconv.Quote(version)+" is not supported: use 1.0 or 2.0")
	}
	sigText := header(r, pageAuth, "Signature")
	if sigText == "" {
		return failed(authError("the Signature header is required"))
	}
	tsText := header(r, pageAuth, "Timestamp")
	ts, err := parseTimestamp(tsText)
	if err != nil {
		return failed(authError(err.Error()))
	}
	// Both sides are bounded (13 digits; the clock), so the difference in
	// seconds cannot wrap.
	if off, window := s.svc.Now().Unix()-ts, int64(s.window/time.Second); off > window || off < -window {
		return failed(&wireError{status: StatusTimestamp, message: fmt.Sprintf("请求已过时: Timestamp %s is %d seconds from baoguan's clock; at most %d are allowed", tsText, off, window)})
	}
	a, err := s.svc.AgentByNo(ctx, agentNo)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return failed(authError("agent " + agentNo + " is not registered"))
	}
	if err != nil {
		return nil, err
	}
	if err := s.svc.AuthAllowed(ctx, src, core.AuthAgent(a.No)); err != nil {
		return nil, err
	}
	keys, err := agentKeys(a, s.svc.Now())
	if err != nil {
		s.log.Warn("wisecashier agent key unusable", "agent", a.No, "err", err)
		return failed(authError("no usable public key is registered for agent " + agentNo + " (" + err.Error() + "); ask the operator to register it"))
	}
	sig, err := decodeSignature(sigText)
	if err != nil {
		return failed(authError("the Signature is not base64"))
	}
	params, err := s.readParams(w, r, pageAuth)
	if err != nil {
		return nil, err
	}
	enc, ok := verifySignature(keys, sig, params, tsText)
	if !ok {
		subject = core.AuthAgent(a.No)
		return failed(authError("签名错误: the signature does not verify with agent " + agentNo + "'s public key over the sorted, URL-encoded parameters and \",\" + Timestamp"))
	}
	if s.rate > 0 {
		ok, err := s.svc.Allow(ctx, Protocol+":"+a.No, s.rate, s.burst)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &wireError{status: http.StatusServiceUnavailable, message: "服务不可用: too many requests for agent " + a.No + "; slow down and retry"}
		}
	}
	return &call{r: r, agent: a, version: version, params: params, encoding: enc}, nil
}
