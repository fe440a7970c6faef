package wechatpay

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/baoguan/baoguan"
)

// CredentialsJSON is how a merchant's WeChat Pay credentials are kept (the
// sealed setting "wechatpay.credentials") and given to
// `baoguan merchant credentials --kind wechatpay`. v3 fields make an APIv3
// merchant, api_key a v2 one; both may be present (v3 is used).
type CredentialsJSON struct {
	AppID string `json:"appid"`
	MchID string `json:"mchid"`
	// Mode is "direct" (default) or "institution"; in institution mode
	// mchid is the institution's (whose certificate signs) and sub_mchid
	// the merchant declared for.
	Mode     string `json:"mode,omitempty"`
	SubMchID string `json:"sub_mchid,omitempty"`

	APIKey   string `json:"api_key,omitempty"`   // v2
	SignType string `json:"sign_type,omitempty"` // v2: MD5 (default) or HMAC-SHA256

	CertSerial    string   `json:"cert_serial,omitempty"` // v3
	PrivateKey    string   `json:"private_key,omitempty"` // v3: PEM
	APIv3Key      string   `json:"apiv3_key,omitempty"`
	PublicKeyID   string   `json:"public_key_id,omitempty"` // WeChat Pay public key
	PublicKey     string   `json:"public_key,omitempty"`
	PlatformCerts []string `json:"platform_certs,omitempty"` // pinned platform certificates (PEM)
}

// ParseCredentials reads a merchant's credentials as kept, checking that
// they can be used: the ids are present, the keys parse, a v3 merchant has
// a way to verify WeChat's answers. regs are its customs registrations.
// The error names the field, never its value.
func ParseCredentials(raw string, regs map[string]Registration) (*Credentials, error) {
	var j CredentialsJSON
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, errors.New("not the WeChat Pay credentials object: " + jsonProblem(err))
	}
	if j.AppID == "" || j.MchID == "" {
		return nil, errors.New("appid and mchid are required")
	}
	mode := j.Mode
	if mode == "" {
		mode = ModeDirect
	}
	if mode != ModeDirect && mode != ModeInstitution {
		return nil, errors.New("mode must be direct or institution")
	}
	if mode == ModeInstitution && j.SubMchID == "" {
		return nil, errors.New("sub_mchid is required in institution mode")
	}
	c := &Credentials{Registrations: regs}
	if j.CertSerial != "" || j.PrivateKey != "" {
		if j.CertSerial == "" || j.PrivateKey == "" {
			return nil, errors.New("cert_serial and private_key go together")
		}
		if _, err := utils.LoadPrivateKey(j.PrivateKey); err != nil {
			return nil, errors.New("private_key is not a readable RSA private key PEM")
		}
		if j.APIv3Key != "" && len(j.APIv3Key) != 32 {
			return nil, errors.New("apiv3_key must have 32 characters")
		}
		if (j.PublicKeyID == "") != (j.PublicKey == "") {
			return nil, errors.New("public_key_id and public_key go together")
		}
		if j.PublicKey != "" {
			if _, err := utils.LoadPublicKey(j.PublicKey); err != nil {
				return nil, errors.New("public_key is not a readable RSA public key PEM")
			}
		}
		for _, p := range j.PlatformCerts {
			if _, err := utils.LoadCertificate(p); err != nil {
				return nil, errors.New("platform_certs holds something that is not a certificate PEM")
			}
		}
		if j.PublicKey == "" && len(j.PlatformCerts) == 0 && j.APIv3Key == "" {
			return nil, errors.New("a v3 merchant needs a way to verify WeChat Pay's answers: public_key_id + public_key, platform_certs or apiv3_key")
		}
		v3 := &V3Credentials{Mode: mode, AppID: j.AppID, MchID: j.MchID, CertSerial: j.CertSerial, PrivateKeyPEM: j.PrivateKey,
			APIv3Key: j.APIv3Key, PublicKeyID: j.PublicKeyID, PublicKeyPEM: j.PublicKey, PlatformCertPEMs: j.PlatformCerts}
		if mode == ModeInstitution {
			v3.MchID, v3.SignerMchID = j.SubMchID, j.MchID
		}
		c.V3 = v3
	}
	if j.APIKey != "" {
		if len(j.APIKey) != 32 {
			return nil, errors.New("api_key must have 32 characters")
		}
		st := strings.ToUpper(j.SignType)
		if st != "" && st != SignMD5 && st != SignHMACSHA256 {
			return nil, errors.New("sign_type must be MD5 or HMAC-SHA256")
		}
		mch := j.MchID
		if mode == ModeInstitution {
			mch = j.SubMchID
		}
		c.V2 = &V2Credentials{AppID: j.AppID, MchID: mch, APIKey: j.APIKey, SignType: st}
	}
	if c.V3 == nil && c.V2 == nil {
		return nil, errors.New("give the v3 credentials (cert_serial, private_key and a verification method) or the v2 api_key")
	}
	return c, nil
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	s := err.Error()
	if strings.HasPrefix(s, "json: unknown field") {
		return strings.TrimPrefix(s, "json: ")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "malformed JSON"
	}
	return "wrong field types"
}

// Accepts reports whether WeChat Pay can declare to a catalogue code: the
// code is one of WeChat's customs names, or an HGxxx code whose port has
// exactly one (CodeFor).
func Accepts(code string) bool {
	_, ok := CodeFor(code)
	return ok
}

// CodeFor translates a catalogue code into WeChat Pay's name for the same
// customs: a WeChat code is itself; another code (HG014, HG022…) becomes
// the WeChat code of its port declared in one push (NINGBO, SHANGHAI_ZS…).
// A port WeChat has no single code for has none.
func CodeFor(code string) (string, bool) {
	e, err := baoguan.LookupCustoms(code)
	if err != nil {
		return "", false
	}
	if e.In(baoguan.SchemeWeChat) {
		return e.Code, true
	}
	if !e.In(baoguan.SchemeHG) {
		return "", false // another wallet's name
	}
	found := ""
	for _, c := range baoguan.CustomsCatalogue() {
		if c.In(baoguan.SchemeWeChat) && c.Port == e.Port && len(c.Plan) == 1 {
			if found != "" {
				return "", false
			}
			found = c.Code
		}
	}
	return found, found != ""
}
