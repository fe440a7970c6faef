package wechatpay

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Sign types of the v2 API.
const (
	SignMD5        = "MD5"
	SignHMACSHA256 = "HMAC-SHA256"
)

// Limits on a v2 answer: WeChat's answers are a few hundred bytes; a
// query of a split order lists at most a few dozen records.
const (
	maxV2Answer = 256 << 10
	maxV2Fields = 2000
)

// v2Sign computes WeChat's v2 signature: the non-empty parameters except
// sign, sorted by name, joined as k=v with &, then &key=<API key>; MD5 or
// HMAC-SHA256 (keyed with the API key) of that, in upper-case hex.
func v2Sign(params map[string]string, signType, key string) (string, error) {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k == "sign" || v == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
		b.WriteByte('&')
	}
	b.WriteString("key=")
	b.WriteString(key)
	switch signType {
	case SignMD5, "":
		sum := md5.Sum([]byte(b.String()))
		return strings.ToUpper(hex.EncodeToString(sum[:])), nil
	case SignHMACSHA256:
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(b.String()))
		return strings.ToUpper(hex.EncodeToString(m.Sum(nil))), nil
	}
	return "", errors.New("unknown sign type " + strconv.Quote(signType) + ": use MD5 or HMAC-SHA256")
}

// v2Verify checks the sign of an answer with the API key. The answer's own
// sign_type wins over the one the request used, since WeChat signs with the
// type it names.
func v2Verify(params map[string]string, requestType, key string) bool {
	got := params["sign"]
	if got == "" {
		return false
	}
	t := params["sign_type"]
	if t == "" {
		t = requestType
	}
	want, err := v2Sign(params, t, key)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.ToUpper(got)), []byte(want)) == 1
}

// v2Encode renders the parameters as WeChat's flat <xml> document, sorted
// by name so that a request is reproducible.
func v2Encode(params map[string]string) []byte {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, k := range keys {
		if params[k] == "" {
			continue
		}
		b.WriteString("<" + k + ">")
		_ = xml.EscapeText(&b, []byte(params[k]))
		b.WriteString("</" + k + ">")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// ParseV2 reads a v2 answer (or request): one <xml> root holding flat
// elements whose text (plain or CDATA) is the value. Anything else —
// nested elements, a second root, repeated names, text beside the
// elements, more than 2,000 fields or 256 KiB — is an error, so that a
// malformed or hostile answer is refused rather than half-read.
func ParseV2(body []byte) (map[string]string, error) {
	if len(body) > maxV2Answer {
		return nil, errors.New("answer larger than 256 KiB")
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	out := map[string]string{}
	depth := 0
	seenRoot := false
	var field string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errors.New("malformed XML: " + err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if seenRoot {
					return nil, errors.New("more than one root element")
				}
				if t.Name.Local != "xml" {
					return nil, errors.New("root element is <" + t.Name.Local + ">, not <xml>")
				}
				seenRoot = true
			case 2:
				field = t.Name.Local
				if _, dup := out[field]; dup {
					return nil, errors.New("element <" + field + "> appears twice")
				}
				if len(out) >= maxV2Fields {
					return nil, errors.New("too many elements")
				}
				text.Reset()
			default:
				return nil, errors.New("nested element <" + t.Name.Local + "> inside <" + field + ">")
			}
		case xml.EndElement:
			if depth == 2 {
				out[field] = text.String()
			}
			depth--
		case xml.CharData:
			switch depth {
			case 2:
				text.Write(t)
			default:
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, errors.New("text outside the fields")
				}
			}
		case xml.Directive:
			return nil, errors.New("XML directives (DOCTYPE) are not accepted")
		}
	}
	if !seenRoot {
		return nil, errors.New("no <xml> root element")
	}
	return out, nil
}

// fen parses an amount in fen as the v2 API writes it; empty is 0.
func fen(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, errors.New("amount " + strconv.Quote(s) + " is not a whole number of fen")
	}
	return v, nil
}
