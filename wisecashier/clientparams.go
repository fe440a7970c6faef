package wisecashier

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
)

// Client payment parameters: what a payer's client hands to the wallet
// (WeixinJSBridge, wx.requestPayment, the WeChat and Alipay app SDKs).
// WiseCashier, the service provider, signs them; baoguan signs them with
// its wisecashier platform key (`baoguan platform-cert --protocol
// wisecashier` prints the public key), in the formats WeChat Pay APIv3
// (RSA-SHA256, signType RSA) and Alipay's mobile.securitypay (SHA1withRSA,
// sign_type RSA) define, so a merchant or a test can verify each value.

// jsParam is getBrandWCPayRequest's argument (§4.1) and the core of
// wx.requestPayment's (§4.4).
type jsParam struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// JSAPIMessage is what paySign covers, WeChat Pay APIv3's JSAPI and mini
// program rule: appId, timeStamp, nonceStr and package, each followed by a
// newline.
func JSAPIMessage(appID, timeStamp, nonceStr, pkg string) string {
	return appID + "\n" + timeStamp + "\n" + nonceStr + "\n" + pkg + "\n"
}

// AppMessage is what an app payment's sign covers, WeChat Pay APIv3's app
// rule: appid, timestamp, noncestr and prepayid, each followed by a newline.
func AppMessage(appID, timeStamp, nonceStr, prepayID string) string {
	return appID + "\n" + timeStamp + "\n" + nonceStr + "\n" + prepayID + "\n"
}

func (s *Server) signSHA256(msg string) (string, error) {
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key.Private, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// clientParams signs the JSAPI / mini-program parameters of a code.
func (s *Server) clientParams(col *baoguan.Collection) (jsParam, error) {
	if col == nil {
		return jsParam{}, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable", Message: "the order has no payment parameters"}
	}
	p := jsParam{AppID: col.Params["appid"], TimeStamp: strconv.FormatInt(s.svc.Now().Unix(), 10), NonceStr: nonce(32),
		Package: "prepay_id=" + col.Params["prepay_id"], SignType: "RSA"}
	var err error
	p.PaySign, err = s.signSHA256(JSAPIMessage(p.AppID, p.TimeStamp, p.NonceStr, p.Package))
	return p, err
}

// appPay is §4.5's answer: the WeChat SDK's PayReq fields.
type appPay struct {
	AppID        string `json:"appid"`
	NonceStr     string `json:"nonceStr"`
	OrderNo      string `json:"order_no"`
	PackageValue string `json:"packageValue"`
	PartnerID    string `json:"partnerId"`
	PrepayID     string `json:"prepayId"`
	Sign         string `json:"sign"`
	SignType     string `json:"signType"`
	TimeStamp    string `json:"timeStamp"`
	SandboxURL   string `json:"sandbox_url,omitempty"`
}

func (s *Server) appParams(col *baoguan.Collection) (appPay, error) {
	if col == nil {
		return appPay{}, &baoguan.Error{Code: baoguan.ESTATE, Reason: "not_payable", Message: "the order has no payment parameters"}
	}
	p := appPay{AppID: col.Params["appid"], NonceStr: nonce(32), PackageValue: "Sign=WXPay", PartnerID: col.Params["partnerid"],
		PrepayID: col.Params["prepay_id"], SignType: "RSA", TimeStamp: strconv.FormatInt(s.svc.Now().Unix(), 10)}
	var err error
	p.Sign, err = s.signSHA256(AppMessage(p.AppID, p.TimeStamp, p.NonceStr, p.PrepayID))
	return p, err
}

// AlipayPrepayContent is the part of a prepay_string its sign covers:
// every parameter but sign and sign_type, as name="value", in name order,
// joined by "&" (Alipay mobile.securitypay).
func AlipayPrepayContent(params map[string]string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" && k != "sign_type" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + `="` + params[k] + `"`
	}
	return strings.Join(parts, "&")
}

// prepayString is §6.2.1's prepay_string for the Alipay app SDK: the order
// as mobile.securitypay parameters, signed SHA1withRSA, the sign
// URL-encoded inside its quotes.
func (s *Server) prepayString(o *baoguan.Order, col *baoguan.Collection, notifyURL string) (string, error) {
	cur, err := baoguan.LookupCurrency(o.Currency)
	if err != nil {
		return "", err
	}
	p := map[string]string{"_input_charset": "utf-8", "body": o.Subject, "currency": o.Currency, "forex_biz": "FP",
		"out_trade_no": orderNo(o), "partner": col.Params["partner"], "payment_type": "1", "seller_id": col.Params["partner"],
		"service": "mobile.securitypay.pay", "subject": o.Subject, "total_fee": baoguan.FormatAmount(cur, o.Amount)}
	if notifyURL != "" {
		p["notify_url"] = notifyURL
	}
	content := AlipayPrepayContent(p)
	sum := sha1.Sum([]byte(content))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key.Private, crypto.SHA1, sum[:])
	if err != nil {
		return "", err
	}
	return content + `&sign="` + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)) + `"&sign_type="RSA"`, nil
}

const nonceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// nonce returns n random letters and digits.
func nonce(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(nonceAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = nonceAlphabet[k.Int64()]
	}
	return string(b)
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
