package alipay

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/baoguan/baoguan"
)

// CredentialsJSON is how a merchant's Alipay credentials are kept (the
// sealed setting "alipay.credentials") and given to
// `baoguan merchant credentials --kind alipay`.
type CredentialsJSON struct {
	Partner         string `json:"partner"`
	SignType        string `json:"sign_type,omitempty"` // MD5, RSA or RSA2 (default)
	Key             string `json:"key,omitempty"`       // MD5: the partner key
	PrivateKey      string `json:"private_key,omitempty"`
	AlipayPublicKey string `json:"alipay_public_key,omitempty"`
}

var partnerRE = regexp.MustCompile(`^2088\d{12}$`)

// ParseCredentials reads a merchant's credentials as kept, checking that
// they can be used: the partner id's shape, the sign type and its keys.
// The error names the field, never its value.
func ParseCredentials(raw string, regs map[string]Registration) (*Credentials, error) {
	var j CredentialsJSON
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		msg := "malformed JSON or wrong field types"
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			msg = strings.TrimPrefix(err.Error(), "json: ")
		}
		return nil, errors.New("not the Alipay credentials object: " + msg)
	}
	if !partnerRE.MatchString(j.Partner) {
		return nil, errors.New("partner must be 2088 followed by 12 digits")
	}
	c := &Credentials{Partner: j.Partner, SignType: strings.ToUpper(j.SignType), MD5Key: j.Key,
		PrivateKeyPEM: j.PrivateKey, AlipayPublicKeyPEM: j.AlipayPublicKey, Registrations: regs}
	if _, err := newSigner(c); err != nil {
		return nil, err
	}
	return c, nil
}

// Accepts reports whether Alipay can declare to a catalogue code: the code
// is one of Alipay's customs names, or an HGxxx code CodeFor translates.
func Accepts(code string) bool {
	_, ok := CodeFor(code)
	return ok
}

// zongshuPorts are the ports Alipay reaches through its ZONGSHU code (the
// catalogue's note on ZONGSHU: 广州、重庆、西安、天津、合肥、苏州海关).
var zongshuPorts = map[string]bool{"GUANGZHOU": true, "CHONGQING": true, "XIAN": true, "TIANJIN": true, "HEFEI": true, "SUZHOU": true}

// CodeFor translates a catalogue code into Alipay's name for the same
// customs: an Alipay code is itself; another code (HG014, HG021…) becomes
// the Alipay code of its port declared in one push (NINGBO,
// HANGZHOU_ZONGSHU…), or ZONGSHU for the ports Alipay reaches through it.
// A port Alipay reaches only in two pushes (Shenzhen, Xinzheng) has none:
// declare those with Alipay's own code (SHENZHEN_ZS, HENAN).
func CodeFor(code string) (string, bool) {
	e, err := baoguan.LookupCustoms(code)
	if err != nil {
		return "", false
	}
	if e.In(baoguan.SchemeAlipay) {
		return e.Code, true
	}
	if !e.In(baoguan.SchemeHG) {
		return "", false // another wallet's name
	}
	found := ""
	for _, c := range baoguan.CustomsCatalogue() {
		if c.In(baoguan.SchemeAlipay) && c.Port == e.Port && len(c.Plan) == 1 {
			if found != "" {
				return "", false
			}
			found = c.Code
		}
	}
	if found == "" && zongshuPorts[e.Port] {
		found = "ZONGSHU"
	}
	return found, found != ""
}
