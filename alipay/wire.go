package alipay

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"sort"
	"strings"
)

// Limits on an answer: Alipay's answers are a few hundred bytes; a query
// lists at most ten records.
const (
	maxAnswer  = 256 << 10
	maxRecords = 100
	maxParams  = 200
	maxDepth   = 6
)

// signContent is MAPI's string to sign: the non-empty parameters except
// sign and sign_type, sorted by name, joined as k=v with &.
func signContent(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k == "sign" || k == "sign_type" || v == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// signer holds parsed key material for one set of credentials.
type signer struct {
	typ    string
	md5Key string
	priv   *rsa.PrivateKey
	pub    *rsa.PublicKey // Alipay's
}

func newSigner(c *Credentials) (*signer, error) {
	s := &signer{typ: c.signType()}
	switch s.typ {
	case SignMD5:
		if c.MD5Key == "" {
			return nil, errors.New("sign type MD5 needs the partner's MD5 key")
		}
		s.md5Key = c.MD5Key
	case SignRSA, SignRSA2:
		var err error
		if s.priv, err = parsePrivateKey(c.PrivateKeyPEM); err != nil {
			return nil, err
		}
		if s.pub, err = parsePublicKey(c.AlipayPublicKeyPEM); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("unknown sign type: use MD5, RSA or RSA2")
	}
	return s, nil
}

func (s *signer) hash() (crypto.Hash, func([]byte) []byte) {
	if s.typ == SignRSA {
		return crypto.SHA1, func(b []byte) []byte { h := sha1.Sum(b); return h[:] }
	}
	return crypto.SHA256, func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
}

func (s *signer) sign(content string) (string, error) {
	if s.typ == SignMD5 {
		sum := md5.Sum([]byte(content + s.md5Key))
		return hex.EncodeToString(sum[:]), nil
	}
	h, sum := s.hash()
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.priv, h, sum([]byte(content)))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// verify checks an answer's sign. The answer must be signed with the sign
// type the merchant uses: an answer claiming another type is refused, so
// that a forged answer cannot pick the weakest check.
func (s *signer) verify(content, signType, sig string) bool {
	if sig == "" || !strings.EqualFold(signType, s.typ) {
		return false
	}
	if s.typ == SignMD5 {
		want := md5.Sum([]byte(content + s.md5Key))
		return subtle.ConstantTimeCompare([]byte(strings.ToLower(sig)), []byte(hex.EncodeToString(want[:]))) == 1
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	h, sum := s.hash()
	return rsa.VerifyPKCS1v15(s.pub, h, sum([]byte(content)), raw) == nil
}

func parsePrivateKey(p string) (*rsa.PrivateKey, error) {
	der, err := pemOrBase64(p)
	if err != nil {
		return nil, errors.New("the merchant private key is not a readable PEM")
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("the merchant private key is not an RSA key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("the merchant private key is not an RSA private key")
}

func parsePublicKey(p string) (*rsa.PublicKey, error) {
	der, err := pemOrBase64(p)
	if err != nil {
		return nil, errors.New("the Alipay public key is not a readable PEM")
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("the Alipay public key is not an RSA public key")
}

// pemOrBase64 accepts a PEM block or the bare base64 that Alipay's key
// tools print.
func pemOrBase64(s string) ([]byte, error) {
	if b, _ := pem.Decode([]byte(strings.TrimSpace(s))); b != nil {
		return b.Bytes, nil
	}
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}

// Answer document, as read.
type answerDoc struct {
	IsSuccess string
	Error     string
	Sign      string
	SignType  string
	// Params are the children of <response><alipay>: text, or for an
	// element with children (records) the exact bytes between its tags,
	// which is what the sign covers.
	Params  map[string]string
	Records []map[string]string
}

// ParseAnswer reads a MAPI answer:
//
//	<alipay>
//	  <is_success>T</is_success>
//	  <request><param name="…">…</param>…</request>
//	  <response><alipay>…fields…[<records><customs_declare>…</customs_declare>…</records>]</alipay></response>
//	  <sign>…</sign><sign_type>…</sign_type>
//	</alipay>
//
// or, for a refused request, <alipay><is_success>F</is_success><error>CODE</error></alipay>.
// A malformed, oversized or oddly nested document is an error.
func ParseAnswer(body []byte) (*answerDoc, error) {
	if len(body) > maxAnswer {
		return nil, errors.New("answer larger than 256 KiB")
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	// MAPI answers are UTF-8 or GBK; baoguan asks for UTF-8 and reads
	// nothing else.
	dec.CharsetReader = func(charset string, in io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "utf8") {
			return in, nil
		}
		return nil, errors.New("charset " + charset + " is not UTF-8")
	}
	doc := &answerDoc{Params: map[string]string{}}
	var path []string
	var text strings.Builder
	rawStart := int64(-1) // where the inner bytes of a nested param begin
	var record map[string]string
	seenRoot := false
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errors.New("malformed XML: " + err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			path = append(path, name)
			if len(path) > maxDepth {
				return nil, errors.New("elements nested too deep")
			}
			switch len(path) {
			case 1:
				if seenRoot || name != "alipay" {
					return nil, errors.New("the root element must be a single <alipay>")
				}
				seenRoot = true
			case 3:
				if path[1] == "response" && name != "alipay" {
					return nil, errors.New("<response> holds <" + name + ">, not <alipay>")
				}
			case 4:
				if path[1] == "response" {
					if _, dup := doc.Params[name]; dup {
						return nil, errors.New("<" + name + "> appears twice in the response")
					}
					if len(doc.Params) >= maxParams {
						return nil, errors.New("too many response fields")
					}
					rawStart = dec.InputOffset()
				}
			case 5:
				if path[1] == "response" && path[3] == "records" {
					if len(doc.Records) >= maxRecords {
						return nil, errors.New("too many records")
					}
					record = map[string]string{}
				} else if path[1] == "response" {
					return nil, errors.New("unexpected element <" + name + "> inside <" + path[3] + ">")
				}
			case 6:
				if record != nil {
					if _, dup := record[name]; dup {
						return nil, errors.New("<" + name + "> appears twice in a record")
					}
				}
			}
			text.Reset()
		case xml.EndElement:
			switch n := len(path); {
			case n == 2 && path[1] != "request" && path[1] != "response":
				v := text.String()
				switch path[1] {
				case "is_success":
					doc.IsSuccess = v
				case "error":
					doc.Error = v
				case "sign":
					doc.Sign = v
				case "sign_type":
					doc.SignType = v
				}
			case n == 4 && path[1] == "response":
				if path[3] == "records" {
					doc.Params[path[3]] = string(body[rawStart:before])
				} else {
					doc.Params[path[3]] = text.String()
				}
			case n == 5 && record != nil:
				doc.Records = append(doc.Records, record)
				record = nil
			case n == 6 && record != nil:
				record[path[5]] = text.String()
			}
			path = path[:len(path)-1]
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.Directive:
			return nil, errors.New("XML directives (DOCTYPE) are not accepted")
		}
	}
	if !seenRoot {
		return nil, errors.New("no <alipay> root element")
	}
	return doc, nil
}
