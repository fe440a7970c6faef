package accp

import (
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Signature headers of LianLian's ACCP API, on requests, responses and
// notifications alike.
const (
	HeaderSignatureType = "Signature-Type"
	HeaderSignatureData = "Signature-Data"
	// SignatureTypeRSA is the only signature type baoguan accepts and sends.
	SignatureTypeRSA = "RSA"
	// ContentType is what LianLian's SDKs send and expect.
	ContentType = "application/json;charset=utf-8"
)

// SignatureForm is what an MD5withRSA Signature-Data is computed over.
// LianLian's SDKs disagree: most sign the lower-case hex MD5 of the body
// (FormHexMD5, which LianLian's own responses use too), one official SDK
// signs the raw body (FormRawBody). Requests are accepted in either form;
// baoguan signs what it sends in FormHexMD5 only.
type SignatureForm int

const (
	// FormHexMD5 signs the lower-case hex MD5 string of the body: the SDK
	// first turns the body into its hex MD5 and then signs that string with
	// MD5withRSA, hence two MD5 passes.
	FormHexMD5 SignatureForm = iota
	// FormRawBody signs the raw body bytes with MD5withRSA.
	FormRawBody
)

// digest is the MD5 that MD5withRSA signs for body in form f.
func (f SignatureForm) digest(body []byte) []byte {
	inner := md5.Sum(body)
	if f == FormRawBody {
		return inner[:]
	}
	outer := md5.Sum([]byte(hex.EncodeToString(inner[:])))
	return outer[:]
}

// Sign returns the Signature-Data value for body: base64 of an MD5withRSA
// signature over the lower-case hex MD5 of body.
func Sign(key *rsa.PrivateKey, body []byte) (string, error) {
	return SignForm(key, body, FormHexMD5)
}

// SignForm returns the Signature-Data value for body in form f.
func SignForm(key *rsa.PrivateKey, body []byte, f SignatureForm) (string, error) {
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.MD5, f.digest(body))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks a Signature-Data value against body, accepting a
// signature in either form (see SignatureForm). Whitespace in the value is
// ignored, since some HTTP stacks fold long header values.
func Verify(key *rsa.PublicKey, body []byte, signature string) error {
	return verify(key, body, signature, FormHexMD5, FormRawBody)
}

// VerifyForm checks a Signature-Data value against body in form f only; a
// client verifying baoguan's responses uses FormHexMD5.
func VerifyForm(key *rsa.PublicKey, body []byte, signature string, f SignatureForm) error {
	return verify(key, body, signature, f)
}

func verify(key *rsa.PublicKey, body []byte, signature string, forms ...SignatureForm) error {
	signature = strings.Join(strings.Fields(signature), "")
	if signature == "" {
		return errors.New("Signature-Data header is missing")
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		if sig, err = base64.RawStdEncoding.DecodeString(signature); err != nil {
			return errors.New("Signature-Data is not base64")
		}
	}
	for _, f := range forms {
		if rsa.VerifyPKCS1v15(key, crypto.MD5, f.digest(body), sig) == nil {
			return nil
		}
	}
	return errors.New("Signature-Data does not verify against the body with the registered public key")
}

// setSignature signs body into h.
func setSignature(h http.Header, key *rsa.PrivateKey, body []byte) error {
	sig, err := Sign(key, body)
	if err != nil {
		return err
	}
	h.Set(HeaderSignatureType, SignatureTypeRSA)
	h.Set(HeaderSignatureData, sig)
	return nil
}

// ParsePublicKey reads a merchant's RSA public key as registered with
// `baoguan merchant key --protocol accp --public-key FILE`: a PEM "PUBLIC
// KEY" (PKIX), "RSA PUBLIC KEY" (PKCS #1) or "CERTIFICATE" block, or the bare
// base64 of a PKIX key, which is how LianLian's merchant portal hands keys
// out. A certificate's validity is not checked here; PublicKeyAt checks it.
func ParsePublicKey(s string) (*rsa.PublicKey, error) {
	k, _, err := parsePublicKey(s)
	return k, err
}

// CertificateNotValidError is PublicKeyAt's error for a certificate used
// outside its validity.
type CertificateNotValidError struct {
	NotBefore, NotAfter time.Time
}

func (e *CertificateNotValidError) Error() string {
	return fmt.Sprintf("the certificate is valid from %s to %s, not now", e.NotBefore.UTC().Format(time.RFC3339), e.NotAfter.UTC().Format(time.RFC3339))
}

// PublicKeyAt is ParsePublicKey for a signature checked at now: a key
// registered as a certificate authenticates only within the certificate's
// validity (*CertificateNotValidError otherwise); a bare key has none.
func PublicKeyAt(s string, now time.Time) (*rsa.PublicKey, error) {
	k, c, err := parsePublicKey(s)
	if err != nil {
		return nil, err
	}
	if c != nil && (now.Before(c.NotBefore) || now.After(c.NotAfter)) {
		return nil, &CertificateNotValidError{NotBefore: c.NotBefore, NotAfter: c.NotAfter}
	}
	return k, nil
}

func parsePublicKey(s string) (*rsa.PublicKey, *x509.Certificate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil, errors.New("no public key")
	}
	var der []byte
	typ := "PUBLIC KEY"
	if b, _ := pem.Decode([]byte(s)); b != nil {
		der, typ = b.Bytes, b.Type
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), "")); err != nil {
			return nil, nil, errors.New("public key is neither PEM nor base64")
		}
	}
	var pub any
	var cert *x509.Certificate
	var err error
	switch typ {
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(der)
	case "CERTIFICATE":
		if cert, err = x509.ParseCertificate(der); err == nil {
			pub = cert.PublicKey
		}
	default:
		pub, err = x509.ParsePKIXPublicKey(der)
	}
	if err != nil {
		return nil, nil, errors.New("public key is unreadable: " + err.Error())
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, nil, errors.New("public key is not an RSA key")
	}
	return k, cert, nil
}
