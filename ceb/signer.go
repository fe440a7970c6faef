package ceb

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// Signer signs what customs wants signed: CEB messages (an enveloped
// XML-DSig ds:Signature) and 179 sign strings. Implementations: NoneSigner
// ("none": the E-Port client signs messages with the company's IC card or
// UKey) and HTTPSigner ("http": a signing service holding the card or key).
type Signer interface {
	Name() string
	// SignMessage returns the CEB message with its ds:Signature, or the
	// message unchanged when signing is left to the E-Port client. msg must
	// be what Build wrote.
	SignMessage(ctx context.Context, msg []byte) ([]byte, error)
	// Sign179 signs a 179 sign string (PayExInfo.SignString).
	Sign179(ctx context.Context, data string) (Signature179, error)
}

// Signature179 is a 179 signature: the signing certificate's number and the
// base64 signature value, as payExInfoStr carries them.
type Signature179 struct {
	CertNo    string
	SignValue string
}

// NoneSigner leaves messages unsigned, for an E-Port client that signs them
// with the company's card when it sends them (the usual set-up). It cannot
// sign 179 data: that needs HTTPSigner.
type NoneSigner struct{}

// Name is "none".
func (NoneSigner) Name() string { return "none" }

// SignMessage returns msg unchanged.
func (NoneSigner) SignMessage(_ context.Context, msg []byte) ([]byte, error) { return msg, nil }

// Sign179 fails with EINVALID on "signer": 179 uploads are signed by
// baoguan, so they need a signing service.
func (NoneSigner) Sign179(context.Context, string) (Signature179, error) {
	return Signature179{}, baoguan.Permanent(fieldErr("signer",
		"179 data must be signed before upload: configure the http signer (a signing service holding the operator card)"))
}

// Sign kinds of the signing service request.
const (
	SignKindXML = "xml" // data is a CEB message without ds:Signature
	SignKind179 = "179" // data is a 179 sign string
)

// HTTPSigner asks a signing service to sign. The exchange is:
//
//	POST <URL>   Content-Type: application/json
//	             Authorization: Bearer <Token>  (or <Header>: <Token>)
//	{"id": 1, "kind": "xml" | "179", "data": "<text to sign>"}
//
//	200 OK       {"certNo": "…", "signatureValue": "<base64>",
//	              "x509Certificate": "<base64 DER>",   (xml)
//	              "signedInfo": "<ds:SignedInfo …>…</ds:SignedInfo>"}  (xml)
//
// For "xml" the service digests the message (C14N, enveloped signature),
// builds the SignedInfo, signs its canonical form and returns it verbatim
// as it signed it; baoguan embeds it with the signature value, the
// certificate number (KeyName) and the certificate as the message's last
// element. For "179" it signs the UTF-8 bytes of data and returns certNo
// and signatureValue. The answer may also come wrapped as {"success":
// true, "data": {…}} with "signatureNode" for signedInfo: the shape of
// the open-source chinaport-data-signature service (POST
// /rpc/eport/signature, which reads "data" and ignores "kind"), so that
// service can be used as it is. docs/chinaport.md describes both.
type HTTPSigner struct {
	URL    string
	Token  string       // credential of the service; empty sends none
	Header string       // header carrying Token; "Authorization" with "Bearer " when empty
	Client *http.Client // a client with a 30 s timeout when nil
}

// Name is "http".
func (s *HTTPSigner) Name() string { return "http" }

// maxSignAnswer bounds the service's answer (a certificate and a
// SignedInfo are a few KB).
const maxSignAnswer = 256 << 10

type signPieces struct {
	CertNo          string `json:"certNo"`
	SignatureValue  string `json:"signatureValue"`
	X509Certificate string `json:"x509Certificate"`
	SignedInfo      string `json:"signedInfo"`
	SignatureNode   string `json:"signatureNode"`
}

type signAnswer struct {
	signPieces
	Success *bool           `json:"success"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// call posts one request and returns the signature pieces. Transport
// failures, 5xx, 408 and 429 are plain errors (retried); other answers the
// service refuses or cannot make are baoguan.Permanent.
func (s *HTTPSigner) call(ctx context.Context, kind, data string) (p signPieces, err error) {
	start, status := time.Now(), 0
	defer func() { reportCall(ctx, callServiceSigner, "sign", start, status, "", err) }()
	return s.post(ctx, kind, data, &status)
}

// post is call without the record: it sets *status to the HTTP status.
func (s *HTTPSigner) post(ctx context.Context, kind, data string, status *int) (signPieces, error) {
	body, err := json.Marshal(map[string]any{"id": 1, "kind": kind, "data": data})
	if err != nil {
		return signPieces{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return signPieces{}, baoguan.Permanent(fieldErr("signer_url", "bad signing service URL: %v", err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if s.Token != "" {
		if s.Header == "" {
			req.Header.Set("Authorization", "Bearer "+s.Token)
		} else {
			req.Header.Set(s.Header, s.Token)
		}
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return signPieces{}, fmt.Errorf("ceb signer: %w", err)
	}
	defer resp.Body.Close()
	*status = resp.StatusCode
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxSignAnswer+1))
	if err != nil {
		return signPieces{}, fmt.Errorf("ceb signer: reading the answer: %w", err)
	}
	if err := httpStatusErr("signing service", resp.StatusCode, raw); err != nil {
		return signPieces{}, err
	}
	if len(raw) > maxSignAnswer {
		return signPieces{}, baoguan.Permanent(fmt.Errorf("ceb signer: answer larger than %d bytes", maxSignAnswer))
	}
	var a signAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return signPieces{}, baoguan.Permanent(fmt.Errorf("ceb signer: answer is not JSON: %v", err))
	}
	p := a.signPieces
	if len(a.Data) > 0 && a.Data[0] == '{' {
		if err := json.Unmarshal(a.Data, &p); err != nil {
			return signPieces{}, baoguan.Permanent(fmt.Errorf("ceb signer: bad data object: %v", err))
		}
		var inner struct {
			Success *bool `json:"success"`
		}
		if json.Unmarshal(a.Data, &inner) == nil && inner.Success != nil && !*inner.Success {
			a.Success = inner.Success
		}
	}
	if a.Success != nil && !*a.Success {
		return signPieces{}, baoguan.Permanent(fmt.Errorf("ceb signer: the service could not sign: %s", clip(a.Message)))
	}
	if p.SignedInfo == "" {
		p.SignedInfo = p.SignatureNode
	}
	if err := checkPrintable("certNo", p.CertNo, 64); err != nil {
		return p, err
	}
	if _, err := decodeB64("signatureValue", p.SignatureValue, 4096); err != nil {
		return p, err
	}
	return p, nil
}

// httpStatusErr classifies a far side's HTTP status: nil for 2xx, a plain
// (retried) error for 408, 429 and 5xx, a permanent one otherwise.
func httpStatusErr(who string, status int, body []byte) error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return fmt.Errorf("ceb: %s answered HTTP %d: %s", who, status, clip(string(body)))
	}
	return baoguan.Permanent(fmt.Errorf("ceb: %s answered HTTP %d: %s", who, status, clip(string(body))))
}

func checkPrintable(field, v string, max int) error {
	if v == "" || len(v) > max {
		return baoguan.Permanent(fmt.Errorf("ceb signer: %s must have 1–%d characters", field, max))
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return baoguan.Permanent(fmt.Errorf("ceb signer: %s has a character that is not printable ASCII", field))
		}
	}
	return nil
}

// decodeB64 decodes standard base64, allowing the line breaks services put
// in long values.
func decodeB64(field, v string, max int) ([]byte, error) {
	v = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, v)
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) == 0 || len(b) > max {
		return nil, baoguan.Permanent(fmt.Errorf("ceb signer: %s is not base64 of 1–%d bytes", field, max))
	}
	return b, nil
}

// Sign179 asks the service to sign a 179 sign string.
func (s *HTTPSigner) Sign179(ctx context.Context, data string) (Signature179, error) {
	p, err := s.call(ctx, SignKind179, data)
	if err != nil {
		return Signature179{}, err
	}
	v, _ := decodeB64("signatureValue", p.SignatureValue, 4096)
	return Signature179{CertNo: p.CertNo, SignValue: base64.StdEncoding.EncodeToString(v)}, nil
}

// SignMessage asks the service to sign a CEB message and embeds the
// signature. The answer is checked: a ds:SignedInfo element, a
// certificate, and, when the digest method is SHA-1 or SHA-256, a digest
// that matches the message (a service that digested something else is
// caught here rather than by customs).
func (s *HTTPSigner) SignMessage(ctx context.Context, msg []byte) ([]byte, error) {
	canon, closing, err := splitMessage(msg)
	if err != nil {
		return nil, err
	}
	p, err := s.call(ctx, SignKindXML, string(msg))
	if err != nil {
		return nil, err
	}
	cert, err := decodeB64("x509Certificate", p.X509Certificate, 16<<10)
	if err != nil {
		return nil, err
	}
	value, _ := decodeB64("signatureValue", p.SignatureValue, 4096)
	if err := checkSignedInfo(p.SignedInfo, canon); err != nil {
		return nil, err
	}
	var sig bytes.Buffer
	sig.WriteString(`<ds:Signature xmlns:ds="` + DSigNamespace + `">` + "\n")
	sig.WriteString(p.SignedInfo)
	sig.WriteString("\n<ds:SignatureValue>" + base64.StdEncoding.EncodeToString(value) + "</ds:SignatureValue>\n")
	sig.WriteString("<ds:KeyInfo>\n<ds:KeyName>" + p.CertNo + "</ds:KeyName>\n<ds:X509Data>\n<ds:X509Certificate>" +
		base64.StdEncoding.EncodeToString(cert) + "</ds:X509Certificate>\n</ds:X509Data>\n</ds:KeyInfo>\n</ds:Signature>")
	// The signature goes right before the root's end tag with no
	// whitespace of its own, so that removing it (the enveloped-signature
	// transform) gives back exactly the digested bytes.
	out := make([]byte, 0, len(msg)+sig.Len())
	out = append(out, msg[:closing]...)
	out = append(out, sig.Bytes()...)
	return append(out, msg[closing:]...), nil
}

// splitMessage finds, in a message Build wrote, the canonical part (after
// the XML declaration, before the final newline) and the offset of the
// root's end tag.
func splitMessage(msg []byte) (canon []byte, closing int, err error) {
	const decl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	const end = "</ceb:CEB411Message>"
	if !bytes.HasPrefix(msg, []byte(decl)) || !bytes.HasSuffix(msg, []byte(end+"\n")) || bytes.Contains(msg, []byte("<ds:Signature")) {
		return nil, 0, baoguan.Permanent(errors.New("ceb signer: not an unsigned message written by ceb.Build"))
	}
	return msg[len(decl) : len(msg)-1], len(msg) - len(end) - 1, nil
}

// signedInfo is what checkSignedInfo reads of the service's SignedInfo.
type signedInfo struct {
	XMLName   xml.Name `xml:"http://www.w3.org/2000/09/xmldsig# SignedInfo"`
	Reference struct {
		URI          string `xml:"URI,attr"`
		DigestMethod struct {
			Algorithm string `xml:"Algorithm,attr"`
		} `xml:"http://www.w3.org/2000/09/xmldsig# DigestMethod"`
		DigestValue string `xml:"http://www.w3.org/2000/09/xmldsig# DigestValue"`
	} `xml:"http://www.w3.org/2000/09/xmldsig# Reference"`
}

func checkSignedInfo(si string, canon []byte) error {
	if si == "" || len(si) > 16<<10 || strings.Contains(si, "<!") || strings.Contains(si, "<?") {
		return baoguan.Permanent(errors.New("ceb signer: signedInfo is missing, too large, or holds a DOCTYPE, comment, CDATA or processing instruction"))
	}
	var s signedInfo
	if err := xml.Unmarshal([]byte(si), &s); err != nil {
		return baoguan.Permanent(fmt.Errorf("ceb signer: signedInfo is not a ds:SignedInfo element: %v", err))
	}
	if s.Reference.URI != "" {
		return baoguan.Permanent(fmt.Errorf("ceb signer: signedInfo references %q, not the whole message (URI=\"\")", clip(s.Reference.URI)))
	}
	var h hash.Hash
	switch s.Reference.DigestMethod.Algorithm {
	case "http://www.w3.org/2000/09/xmldsig#sha1":
		h = sha1.New()
	case "http://www.w3.org/2001/04/xmlenc#sha256":
		h = sha256.New()
	default:
		return nil // SM3 and others: left to the service and customs
	}
	h.Write(canon)
	if want := base64.StdEncoding.EncodeToString(h.Sum(nil)); strings.TrimSpace(s.Reference.DigestValue) != want {
		return baoguan.Permanent(fmt.Errorf("ceb signer: the service digested another document (DigestValue %s, the message's is %s)",
			clip(s.Reference.DigestValue), want))
	}
	return nil
}
