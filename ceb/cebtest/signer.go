// Package cebtest holds stand-ins for the remote parties of the ceb port,
// for tests: a signing service that signs with a software RSA key. It
// checks what the real services check and answers in their shape; it runs
// on 127.0.0.1 (httptest).
package cebtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

const (
	cebNS  = "http://www.chinaport.gov.cn/ceb"
	dsigNS = "http://www.w3.org/2000/09/xmldsig#"
)

// Signer is a stand-in signing service. Real services hold an E-Port
// operator card (SM2 with SM3, or RSA with SHA-1, per the 2022-05
// specification §6.2); this one holds a 2048-bit RSA key and signs
// RSA-SHA1 (http://www.w3.org/2000/09/xmldsig#rsa-sha1, the specification's
// 通用算法) with a self-signed certificate.
type Signer struct {
	Server *httptest.Server
	Key    *rsa.PrivateKey
	Cert   *x509.Certificate
	CertNo string // the certificate serial in hex, as cards report it
	Token  string // the bearer token the service demands

	mu       sync.Mutex
	requests []Request
	fail     int // answer the next fail requests with HTTP 503
}

// Request is one request the stand-in received.
type Request struct {
	Kind, Data string
}

// NewSigner starts a stand-in signing service on 127.0.0.1.
func NewSigner() (*Signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x03000000000cde6f),
		Subject:      pkix.Name{CommonName: "baoguan stand-in operator card"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	s := &Signer{Key: key, Cert: cert, CertNo: fmt.Sprintf("%016x", cert.SerialNumber), Token: "stand-in-token"}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s, nil
}

// Close stops the service.
func (s *Signer) Close() { s.Server.Close() }

// URL is the signing endpoint.
func (s *Signer) URL() string { return s.Server.URL + "/sign" }

// FailNext makes the next n requests fail with HTTP 503.
func (s *Signer) FailNext(n int) { s.mu.Lock(); s.fail = n; s.mu.Unlock() }

// Requests returns what the service received.
func (s *Signer) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// PublicKeyPEM is the public key, PEM-encoded (for xmlsec1 and the like).
func (s *Signer) PublicKeyPEM() []byte {
	der, _ := x509.MarshalPKIXPublicKey(&s.Key.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func (s *Signer) serve(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"success": false, "message": msg})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/sign" {
		refuse(http.StatusNotFound, "no such endpoint")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		refuse(http.StatusUnauthorized, "bad token")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		refuse(http.StatusUnsupportedMediaType, "JSON only")
		return
	}
	var req struct {
		ID   int    `json:"id"`
		Kind string `json:"kind"`
		Data string `json:"data"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&req); err != nil {
		refuse(http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Kind: req.Kind, Data: req.Data})
	failing := s.fail > 0
	if failing {
		s.fail--
	}
	s.mu.Unlock()
	if failing {
		refuse(http.StatusServiceUnavailable, "card busy")
		return
	}
	var answer map[string]string
	var err error
	switch req.Kind {
	case "xml":
		answer, err = s.signXML(req.Data)
	case "179":
		answer, err = s.sign179(req.Data)
	default:
		err = errors.New("kind must be xml or 179")
	}
	if err != nil {
		refuse(http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}

// sign179 checks the shape of a 179 sign string (what a card-holding
// service checks before signing) and signs its bytes.
func (s *Signer) sign179(data string) (map[string]string, error) {
	parts := []string{`"sessionID":"`, `"||"payExchangeInfoHead":"{`, `}"||"payExchangeInfoLists":"[`, `]"||"serviceTime":"`}
	rest := data
	for _, p := range parts {
		i := strings.Index(rest, p)
		if i < 0 || (p == parts[0] && i != 0) {
			return nil, fmt.Errorf("not a 179 sign string: %q missing", p)
		}
		rest = rest[i+len(p):]
	}
	if !strings.HasSuffix(rest, `"`) {
		return nil, errors.New("not a 179 sign string: no closing quote")
	}
	sig, err := s.sign([]byte(data))
	if err != nil {
		return nil, err
	}
	return map[string]string{"certNo": s.CertNo, "signatureValue": sig}, nil
}

// signXML digests a CEB message and signs its SignedInfo. The message must
// be a customs message without a signature; its bytes after the XML
// declaration are taken as its canonical form, which ceb.Build guarantees
// (a verifier that canonicalises independently, such as xmlsec1, checks
// that this holds).
func (s *Signer) signXML(data string) (map[string]string, error) {
	var root struct{ XMLName xml.Name }
	if err := xml.Unmarshal([]byte(data), &root); err != nil {
		return nil, fmt.Errorf("not XML: %v", err)
	}
	if root.XMLName.Space != cebNS || !strings.HasPrefix(root.XMLName.Local, "CEB") {
		return nil, fmt.Errorf("not a customs message: %s", root.XMLName.Local)
	}
	if strings.Contains(data, dsigNS) {
		return nil, errors.New("message is already signed")
	}
	canon := data
	if strings.HasPrefix(canon, "<?xml") {
		_, canon, _ = strings.Cut(canon, "?>")
	}
	canon = strings.TrimSpace(canon)
	digest := sha1.Sum([]byte(canon))
	si := SignedInfo(base64.StdEncoding.EncodeToString(digest[:]))
	sig, err := s.sign([]byte(si))
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"certNo":          s.CertNo,
		"signatureValue":  sig,
		"x509Certificate": base64.StdEncoding.EncodeToString(s.Cert.Raw),
		"signedInfo":      si,
	}, nil
}

// SignedInfo is the canonical SignedInfo of an RSA-SHA1 enveloped
// signature of a whole ceb message, as C14N renders it inside the message
// (with the ceb and ds namespaces in scope there).
func SignedInfo(digest string) string {
	return `<ds:SignedInfo xmlns:ceb="` + cebNS + `" xmlns:ds="` + dsigNS + `">` +
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"></ds:CanonicalizationMethod>` +
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"></ds:SignatureMethod>` +
		`<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></ds:Transform></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"></ds:DigestMethod>` +
		`<ds:DigestValue>` + digest + `</ds:DigestValue></ds:Reference></ds:SignedInfo>`
}

func (s *Signer) sign(data []byte) (string, error) {
	h := sha1.Sum(data)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA1, h[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify179 checks a 179 signature over data with the stand-in's public
// key, as customs checks it with the certificate registered for certNo.
func (s *Signer) Verify179(data, certNo, signValue string) error {
	if certNo != s.CertNo {
		return fmt.Errorf("certNo %q is not the stand-in's %q", certNo, s.CertNo)
	}
	sig, err := base64.StdEncoding.DecodeString(signValue)
	if err != nil {
		return err
	}
	h := sha1.Sum([]byte(data))
	return rsa.VerifyPKCS1v15(&s.Key.PublicKey, crypto.SHA1, h[:], sig)
}

// VerifyMessage checks a signed CEB message the way the signature says:
// the SignedInfo's signature with the public key, and the digest of the
// message with the ds:Signature element removed (enveloped-signature),
// taking the bytes after the XML declaration as canonical.
func (s *Signer) VerifyMessage(signed []byte) error {
	start := bytes.Index(signed, []byte("<ds:Signature "))
	end := bytes.Index(signed, []byte("</ds:Signature>"))
	if start < 0 || end < start {
		return errors.New("no ds:Signature")
	}
	sigEl := string(signed[start : end+len("</ds:Signature>")])
	unsigned := string(signed[:start]) + string(signed[end+len("</ds:Signature>"):])
	_, canon, _ := strings.Cut(unsigned, "?>")
	digest := sha1.Sum([]byte(strings.TrimSpace(canon)))
	si := SignedInfo(base64.StdEncoding.EncodeToString(digest[:]))
	if !strings.Contains(sigEl, si) {
		return errors.New("SignedInfo does not hold the message's digest")
	}
	_, v, _ := strings.Cut(sigEl, "<ds:SignatureValue>")
	v, _, _ = strings.Cut(v, "</ds:SignatureValue>")
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return err
	}
	h := sha1.Sum([]byte(si))
	return rsa.VerifyPKCS1v15(&s.Key.PublicKey, crypto.SHA1, h[:], sig)
}
