package wechatv3

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// authScheme is the only Authorization scheme WeChat Pay APIv3 defines.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// nonceScope prefixes request nonces in the core's idempotency table.
const nonceScope = "wxnonce"

// authorization is the parsed Authorization header.
type authorization struct {
	mchid, nonce, timestamp, serial, signature string
}

// parseAuthorization reads `WECHATPAY2-SHA256-RSA2048 k="v",k="v",…`. The
// parameters may come in any order, with or without spaces after commas;
// each must appear exactly once.
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if h == "" {
		return a, errors.New("the Authorization header is missing; sign the request as WeChat Pay APIv3 requires (" + authScheme + ")")
	}
	if scheme != authScheme {
		return a, fmt.Errorf("the Authorization scheme must be %s, not %q", authScheme, scheme)
	}
	seen := map[string]bool{}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimLeft(rest, ", ") {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			return a, errors.New("the Authorization parameters must be key=\"value\" pairs")
		}
		key = strings.TrimSpace(key)
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				return a, fmt.Errorf("the Authorization parameter %s has no closing quote", key)
			}
			val, rest = after[1:1+end], after[2+end:]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			val = strings.TrimSpace(val)
		}
		if seen[key] {
			return a, fmt.Errorf("the Authorization parameter %s appears twice", key)
		}
		seen[key] = true
		switch key {
		case "mchid":
			a.mchid = val
		case "nonce_str":
			a.nonce = val
		case "timestamp":
			a.timestamp = val
		case "serial_no":
			a.serial = val
		case "signature":
			a.signature = val
		}
	}
	for _, p := range []struct{ name, v string }{{"mchid", a.mchid}, {"nonce_str", a.nonce},
		{"timestamp", a.timestamp}, {"serial_no", a.serial}, {"signature", a.signature}} {
		if p.v == "" {
			return a, fmt.Errorf("the Authorization header lacks %s", p.name)
		}
	}
	return a, nil
}

// call is one authenticated request on its way through a handler.
type call struct {
	r     *http.Request
	m     *baoguan.Merchant
	mchid string
	body  []byte
	loc   location
	// vals are the request's parameters as text, for error details.
	vals map[string]string
}

// handler answers one authenticated call with a body for 200 OK.
type handler func(ctx context.Context, c *call) (any, error)

// api wraps a handler: authenticate, limit, run, and answer signed, with
// every error in WeChat's model.
func (s *Server) api(prefix string, loc location, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{r: r, loc: loc, vals: map[string]string{}}
		for k, v := range r.URL.Query() {
			c.vals[k] = v[0]
		}
		err := s.authenticate(r.Context(), w, r, prefix, c)
		var out any
		if err == nil {
			out, err = h(r.Context(), c)
		}
		if err != nil {
			s.fail(w, r, c, err)
			return
		}
		s.write(w, http.StatusOK, out)
	})
}

// authenticate checks the request as WeChat Pay does: the Authorization
// header, a timestamp within the allowed skew, the merchant named by mchid,
// its certificate named by serial_no, the signature over
// METHOD\nURI\ntimestamp\nnonce\nbody\n, the rate limit, and a nonce not
// used before. Every failure but the rate limit is SIGN_ERROR.
func (s *Server) authenticate(ctx context.Context, w http.ResponseWriter, r *http.Request, prefix string, c *call) error {
	// Failed authentication counts against the source address and, for a
	// signature that does not verify, the merchant; over either limit
	// nothing more is checked (core.Service.AuthAllowed).
	src, subject := r.RemoteAddr, ""
	failed := func(err error) error { return s.svc.AuthFailed(ctx, src, subject, err) }
	if err := s.svc.AuthAllowed(ctx, src, ""); err != nil {
		return err
	}
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return failed(signError(err.Error()))
	}
	ts, err := strconv.ParseInt(a.timestamp, 10, 64)
	if err != nil {
		return failed(signError("the Authorization timestamp must be Unix seconds, not " + strconv.Quote(a.timestamp)))
	}
	// Compared in seconds against bounds computed from the clock, never by
	// turning a difference into a time.Duration: a timestamp ~300 years
	// away made that product overflow and pass as a small skew.
	now, skew := s.svc.Now().Unix(), int64(s.skew/time.Second)
	if ts < now-skew || ts > now+skew {
		return failed(signError(fmt.Sprintf("the Authorization timestamp %d is more than %s away from baoguan's clock (%d)", ts, s.skew, now)))
	}
	if len(a.nonce) > 64 || strings.ContainsAny(a.nonce, " \t\r\n") {
		return failed(signError("nonce_str must be at most 64 characters without spaces"))
	}
	m, err := s.svc.MerchantBySetting(ctx, settingMchID, a.mchid)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return failed(signError("mchid " + a.mchid + " is not registered with baoguan"))
	}
	if err != nil {
		return err
	}
	if err := s.svc.AuthAllowed(ctx, src, core.AuthMerchant(m)); err != nil {
		return err
	}
	keys, err := merchantKeys(m)
	if err != nil {
		s.log.Warn("wechatv3 merchant key unusable", "merchant", m.No, "err", err)
		return failed(signError("no usable merchant certificate is registered for mchid " + a.mchid + "; ask the operator to register it"))
	}
	// A certificate authenticates only within its validity, on baoguan's
	// clock; a bare public key registered with its serial has none.
	at := s.svc.Now()
	var pub *rsa.PublicKey
	var retired []*rsa.PublicKey
	if k, ok := keys[normSerial(a.serial)]; ok {
		if !k.validAt(at) {
			return failed(signError(fmt.Sprintf("the merchant certificate %s is valid from %s to %s, not now; sign with a current certificate and ask the operator to register it",
				a.serial, k.notBefore.UTC().Format(time.RFC3339), k.notAfter.UTC().Format(time.RFC3339))))
		}
		pub = k.pub
	} else {
		if retired, err = s.retiredKeys(ctx, m, a.serial, at); err != nil {
			return err
		}
		if len(retired) == 0 {
			return failed(signError("serial_no " + a.serial + " is not a merchant certificate registered for mchid " + a.mchid))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return invalidRequest(fmt.Sprintf("the request body is larger than %d bytes", tooBig.Limit))
		}
		return invalidRequest("the request body could not be read")
	}
	sig, err := base64.StdEncoding.DecodeString(a.signature)
	if err != nil {
		return failed(signError("the Authorization signature is not base64"))
	}
	ok := pub != nil && verifies(pub, sig, r, prefix, a, body)
	if !ok && pub != nil {
		// The key may have been replaced under the same serial.
		if retired, err = s.retiredKeys(ctx, m, a.serial, at); err != nil {
			return err
		}
	}
	for _, k := range retired {
		ok = ok || verifies(k, sig, r, prefix, a, body)
	}
	if !ok {
		subject = core.AuthMerchant(m)
		return failed(signError("the signature does not verify with the merchant certificate " + a.serial +
			": sign METHOD\\nURI\\ntimestamp\\nnonce\\nbody\\n with the merchant's private key"))
	}
	if s.rate > 0 {
		ok, err := s.svc.Allow(ctx, "wechatv3:"+a.mchid, s.rate, s.burst)
		if err != nil {
			return err
		}
		if !ok {
			return &wireError{status: http.StatusTooManyRequests, body: errorBody{Code: codeFrequencyLimited,
				Message: "too many requests for mchid " + a.mchid + "; slow down and retry"}}
		}
	}
	if err := s.svc.UseNonce(ctx, m, nonceScope, a.nonce); err != nil {
		if baoguan.ErrorReason(err) == "nonce_reused" {
			return signError("nonce_str " + a.nonce + " was already used: a replayed request is refused")
		}
		return err
	}
	c.m, c.mchid, c.body = m, a.mchid, body
	return nil
}

// verifies checks the request signature. The URI signed is the one the
// client sent; behind a mount prefix, a signature over the URI without
// the prefix is accepted too, for SDKs that sign WeChat's own paths and
// reach baoguan through a transport that rewrites the base URL.
func verifies(pub *rsa.PublicKey, sig []byte, r *http.Request, prefix string, a authorization, body []byte) bool {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	uris := []string{uri}
	if rest, ok := strings.CutPrefix(uri, prefix); ok && prefix != "" && strings.HasPrefix(rest, "/") {
		uris = append(uris, rest)
	}
	for _, u := range uris {
		msg := r.Method + "\n" + u + "\n" + a.timestamp + "\n" + a.nonce + "\n" + string(body) + "\n"
		sum := sha256.Sum256([]byte(msg))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
			return true
		}
	}
	return false
}

// retiredKeys returns the merchant's replaced request-signing keys that
// are still in the grace period the operator gave (baoguan merchant key
// --grace) and may sign under serial: replaced certificates with that
// serial, and replaced bare public keys when serial is a serial the
// merchant registered now or before. A signature by any of them is the
// merchant's until the period ends, and a certificate's only within its
// validity.
func (s *Server) retiredKeys(ctx context.Context, m *baoguan.Merchant, serial string, now time.Time) ([]*rsa.PublicKey, error) {
	var out []*rsa.PublicKey
	certs, err := s.svc.RetiredSettingValues(ctx, m, settingCert)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		ks, err := merchantKeys(&baoguan.Merchant{Settings: map[string]string{settingCert: c}})
		if k, ok := ks[normSerial(serial)]; err == nil && ok && k.validAt(now) {
			out = append(out, k.pub)
		}
	}
	pubs, err := s.svc.RetiredSettingValues(ctx, m, settingPublicKey)
	if err != nil || len(pubs) == 0 {
		return out, err
	}
	serials, err := s.svc.SettingValues(ctx, m, settingSerial)
	if err != nil {
		return nil, err
	}
	known := false
	for _, v := range serials {
		known = known || normSerial(v) == normSerial(serial)
	}
	if !known {
		return out, nil
	}
	for _, p := range pubs {
		if k, err := parsePublicKey(p); err == nil {
			out = append(out, k)
		}
	}
	return out, nil
}

// merchantKey is one registered request-signing key: a certificate's,
// with its validity, or a bare public key (zero validity: no limit).
type merchantKey struct {
	pub                 *rsa.PublicKey
	notBefore, notAfter time.Time
}

// validAt reports whether k may authenticate at t.
func (k merchantKey) validAt(t time.Time) bool {
	return k.notAfter.IsZero() || !t.After(k.notAfter) && !t.Before(k.notBefore)
}

// merchantKeys returns the merchant's request-signing keys by normalised
// serial: every certificate in the registered PEM (several allow a
// rotation), and a bare public key with its registered serial.
func merchantKeys(m *baoguan.Merchant) (map[string]merchantKey, error) {
	keys := map[string]merchantKey{}
	rest := []byte(m.Settings[settingCert])
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", settingCert, err)
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: certificate %s does not hold an RSA key", settingCert, certSerial(cert))
		}
		keys[normSerial(certSerial(cert))] = merchantKey{pub: pub, notBefore: cert.NotBefore, notAfter: cert.NotAfter}
	}
	if p := m.Settings[settingPublicKey]; p != "" {
		serial := m.Settings[settingSerial]
		if serial == "" {
			return nil, fmt.Errorf("%s is set without %s", settingPublicKey, settingSerial)
		}
		pub, err := parsePublicKey(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", settingPublicKey, err)
		}
		keys[normSerial(serial)] = merchantKey{pub: pub}
	}
	if len(keys) == 0 {
		return nil, errors.New("neither " + settingCert + " nor " + settingPublicKey + " is set")
	}
	return keys, nil
}

// parsePublicKey reads a PKIX ("PUBLIC KEY") or PKCS #1 ("RSA PUBLIC
// KEY") RSA public key in PEM.
func parsePublicKey(s string) (*rsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errors.New("not PEM")
	}
	if b.Type == "RSA PUBLIC KEY" {
		return x509.ParsePKCS1PublicKey(b.Bytes)
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return pub, nil
}

// certSerial writes a certificate serial as WeChat Pay and its SDKs do:
// upper-case hex of the serial's bytes (so an even number of digits).
func certSerial(c *x509.Certificate) string {
	return fmt.Sprintf("%X", c.SerialNumber.Bytes())
}

// normSerial compares serials however they were written: case, colons
// (openssl -text) and leading zeros do not matter.
func normSerial(s string) string {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	if t := strings.TrimLeft(s, "0"); t != "" {
		return t
	}
	return s
}

// write answers with a JSON body signed as WeChat Pay signs responses:
// SHA256-RSA over timestamp\nnonce\nbody\n with the platform key, in the
// Wechatpay-Serial, -Timestamp, -Nonce and -Signature headers.
func (s *Server) write(w http.ResponseWriter, status int, v any) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.log.Error("wechatv3 encoding response", "err", err)
		status, b = http.StatusInternalServerError, strings.Builder{}
		b.WriteString(`{"code":"SYSTEM_ERROR","message":"system error"}`)
	}
	body := strings.TrimSuffix(b.String(), "\n")
	ts := strconv.FormatInt(s.svc.Now().Unix(), 10)
	nonce := randomString(32)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if h.Get("Request-ID") == "" {
		h.Set("Request-ID", randomString(24))
	}
	h.Set("Wechatpay-Serial", s.serial)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + body + "\n"))
	if sig, err := rsa.SignPKCS1v15(rand.Reader, s.key.Private, crypto.SHA256, sum[:]); err == nil {
		h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	} else {
		s.log.Error("wechatv3 signing response", "err", err)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// fail answers err in WeChat's error model. System errors are logged with
// the request id and never described to the caller.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	we := toWire(err, c.loc, c.vals)
	if we.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(max(we.retryAfter, 1)))
	}
	if we.body.Code == codeSystemError {
		// The caller sees the Request-ID; the log has the cause under it.
		id := randomString(24)
		w.Header().Set("Request-ID", id)
		s.log.Error("wechatv3 system error", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.write(w, we.status, we.body)
}

// handleNotFound answers a path or method baoguan does not serve, in
// WeChat's model so SDKs can read it.
func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.write(w, http.StatusNotFound, errorBody{Code: codeNotFound, Message: "no such API: " + r.Method + " " + r.URL.Path})
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomString returns n random upper-case letters and digits, the way
// WeChat writes nonces.
func randomString(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}
