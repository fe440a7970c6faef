package alipaytest

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Standin is Alipay's MAPI gateway for the two customs services, as
// Alipay's documents describe them, on 127.0.0.1. It checks what Alipay
// checks — service, partner, _input_charset, the sign (MD5 with the
// partner key, RSA/RSA2 with the merchant's public key), the required
// parameters and their lengths, the out_request_no alphabet, the amount
// (yuan, at most two decimals, and all declarations of a trade to one
// customs place together within the trade less refunds), is_split with
// sub_out_biz_no — and answers signed with its own key (or the MD5 key).
// It reads forms and writes XML with its own code, not the client's.
//
// Alipay keys a declaration by out_request_no: the same number again is
// the same declaration, pushed again (identity_check is only given the
// first time) or updated with new data. A second number for a trade,
// customs place and sub-order already declared makes a second record —
// what baoguan must never cause; tests count records per key.
//
// A declaration is "ws" when accepted, "sending" at the next query and
// "succ" at the one after (customs_result_code 2 for ZONGSHU, 100 with an
// explanation for a payer listed in failIDs, 4 once for exceptIDs).
type Standin struct {
	srv *httptest.Server

	mu        sync.Mutex
	Partner   string
	MD5Key    string
	merchant  *rsa.PublicKey  // the merchant's public key, as registered with Alipay
	alipayKey *rsa.PrivateKey // Alipay's own key
	trades    map[string]*Trade
	decls     []*Decl
	seq       int
	failIDs   map[string]string
	exceptIDs map[string]bool
	inject    []string
	calls     map[string]int
}

// Trade is a payment Alipay knows: its amount and refunds (fen) and the
// buyer who paid.
type Trade struct {
	Amount, Refunded int64
	BuyerName        string
	BuyerID          string
}

// Decl is one declaration the stand-in holds, keyed by OutRequestNo; Pushes
// counts how often it was sent to customs, Updates how often its data
// changed.
type Decl struct {
	OutRequestNo, TradeNo, CustomsPlace, SubOutBizNo string
	Code, Name                                       string
	Amount                                           int64
	BuyerName, BuyerID                               string
	DeclareNo                                        string
	Status, ResultCode, ResultInfo                   string
	Pushes, Updates                                  int
	excepted                                         bool
}

// Failures InjectNext can make the next calls meet.
const (
	InjectHTTP500     = "500"          // HTTP 500
	InjectSystemError = "SYSTEM_ERROR" // result_code FAIL, detail_error_code SYSTEM_ERROR
	InjectIllegalSign = "ILLEGAL_SIGN" // is_success F
	InjectHang        = "hang"         // no answer, nothing done
	InjectHangAfter   = "hang-after"   // the work done, no answer
	InjectTamper      = "tamper"       // the answer changed after signing
	InjectMD5Answer   = "md5-answer"   // answer signed MD5, whatever the request used
)

var alipayCustoms = map[string]bool{"ZONGSHU": true, "HENAN": true, "SHENZHEN_ZS": true, "NINGBO": true, "HANGZHOU_ZONGSHU": true,
	"ZHENGZHOU": true, "SHANGHAI_CBT": true, "NANSHAGJ": true, "GUANGZHOU_HUANGPU": true}

// New starts the stand-in on 127.0.0.1. merchant is the merchant's RSA
// public key as registered with Alipay (nil: MD5 merchants only). Close
// stops it.
func New(merchant *rsa.PublicKey) (*Standin, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s := &Standin{Partner: "2088101122136241", MD5Key: "760bdzec6y9goq7ctyx96ezkz78287de", merchant: merchant, alipayKey: key,
		trades: map[string]*Trade{}, failIDs: map[string]string{}, exceptIDs: map[string]bool{}, calls: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s, nil
}

// Close stops the stand-in.
func (s *Standin) Close() { s.srv.Close() }

// URL is the gateway's address.
func (s *Standin) URL() string { return s.srv.URL + "/gateway.do" }

// FailID makes declarations of the buyer with this ID number come back
// from customs refused (customs_result_code 100) with why.
func (s *Standin) FailID(id, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failIDs[id] = why
}

// ExceptID makes the first declaration of the buyer with this ID number
// fail to reach customs (customs_result_code 4).
func (s *Standin) ExceptID(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exceptIDs[id] = true
}

// AlipayPublicKeyPEM is the key the stand-in signs answers with, as a
// merchant configures it.
func (s *Standin) AlipayPublicKeyPEM() string {
	der, _ := x509.MarshalPKIXPublicKey(&s.alipayKey.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// AddTrade makes a payment known to the stand-in.
func (s *Standin) AddTrade(no string, t Trade) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trades[no] = &t
}

// InjectNext makes the next calls fail, one mode each, in order.
func (s *Standin) InjectNext(modes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = append(s.inject, modes...)
}

// Decls returns copies of the declarations of one trade.
func (s *Standin) Decls(tradeNo string) []Decl {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Decl
	for _, d := range s.decls {
		if d.TradeNo == tradeNo {
			out = append(out, *d)
		}
	}
	return out
}

// Called counts the calls of one service.
func (s *Standin) Called(service string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[service]
}

// content is MAPI's string to sign, written out again here.
func content(p map[string]string) string {
	var keys []string
	for k, v := range p {
		if k != "sign" && k != "sign_type" && v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, "&")
}

func (s *Standin) checkSign(p map[string]string) bool {
	c := content(p)
	switch p["sign_type"] {
	case "MD5":
		sum := md5.Sum([]byte(c + s.MD5Key))
		return p["sign"] == hex.EncodeToString(sum[:])
	case "RSA", "RSA2":
		raw, err := base64.StdEncoding.DecodeString(p["sign"])
		if err != nil || s.merchant == nil {
			return false
		}
		if p["sign_type"] == "RSA" {
			h := sha1.Sum([]byte(c))
			return rsa.VerifyPKCS1v15(s.merchant, crypto.SHA1, h[:], raw) == nil
		}
		h := sha256.Sum256([]byte(c))
		return rsa.VerifyPKCS1v15(s.merchant, crypto.SHA256, h[:], raw) == nil
	}
	return false
}

func (s *Standin) signAnswer(signType, c string) string {
	switch signType {
	case "MD5":
		sum := md5.Sum([]byte(c + s.MD5Key))
		return hex.EncodeToString(sum[:])
	case "RSA":
		h := sha1.Sum([]byte(c))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, s.alipayKey, crypto.SHA1, h[:])
		return base64.StdEncoding.EncodeToString(sig)
	}
	h := sha256.Sum256([]byte(c))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, s.alipayKey, crypto.SHA256, h[:])
	return base64.StdEncoding.EncodeToString(sig)
}

func esc(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func refused(w http.ResponseWriter, code string) {
	io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><alipay><is_success>F</is_success><error>`+code+`</error></alipay>`)
}

var requestNoRE = regexp.MustCompile(`^[0-9A-Za-z_\-:]{6,32}$`)
var yuanRE = regexp.MustCompile(`^\d{1,15}(\.\d{1,2})?$`)

func (s *Standin) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		refused(w, "ILLEGAL_ARGUMENT")
		return
	}
	s.mu.Lock()
	mode := ""
	if len(s.inject) > 0 {
		mode, s.inject = s.inject[0], s.inject[1:]
	}
	s.calls[r.PostForm.Get("service")]++
	s.mu.Unlock()
	switch mode {
	case InjectHTTP500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case InjectHang:
		<-r.Context().Done()
		return
	case InjectIllegalSign:
		refused(w, "ILLEGAL_SIGN")
		return
	}
	p := map[string]string{}
	for k := range r.PostForm {
		p[k] = r.PostForm.Get(k)
	}
	switch {
	case p["partner"] != s.Partner:
		refused(w, "ILLEGAL_PARTNER")
		return
	case !strings.EqualFold(p["_input_charset"], "utf-8"):
		refused(w, "ILLEGAL_CHARSET")
		return
	case p["sign_type"] != "MD5" && p["sign_type"] != "RSA" && p["sign_type"] != "RSA2":
		refused(w, "ILLEGAL_SIGN_TYPE")
		return
	case !s.checkSign(p):
		refused(w, "ILLEGAL_SIGN")
		return
	}
	var fields map[string]string
	var records string
	if mode == InjectSystemError {
		fields = map[string]string{"result_code": "FAIL", "detail_error_code": "SYSTEM_ERROR", "detail_error_des": "系统错误"}
	} else {
		s.mu.Lock()
		switch p["service"] {
		case "alipay.acquire.customs":
			fields = s.declare(p)
		case "alipay.overseas.acquire.customs.query":
			fields, records = s.query(p)
		default:
			s.mu.Unlock()
			refused(w, "ILLEGAL_SERVICE")
			return
		}
		s.mu.Unlock()
	}
	params := map[string]string{}
	for k, v := range fields {
		params[k] = esc(v)
	}
	if records != "" {
		params["records"] = records
	}
	answerType := p["sign_type"]
	if mode == InjectMD5Answer {
		answerType = "MD5"
	}
	sig := s.signAnswer(answerType, contentUnescaped(fields, records))
	var inner strings.Builder
	var keys []string
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&inner, "<%s>%s</%s>", k, params[k], k)
	}
	body := inner.String()
	if mode == InjectTamper {
		body = strings.Replace(body, "<status>ws</status>", "<status>succ</status>", 1)
		body = strings.Replace(body, "<identity_check>F</identity_check>", "<identity_check>T</identity_check>", 1)
		body = strings.Replace(body, "<alipay_declare_no>2015", "<alipay_declare_no>9015", 1)
	}
	var req strings.Builder
	for _, k := range []string{"service", "partner", "out_request_no", "out_request_nos"} {
		if p[k] != "" {
			fmt.Fprintf(&req, `<param name="%s">%s</param>`, k, esc(p[k]))
		}
	}
	answer := `<?xml version="1.0" encoding="utf-8"?>` + "\n<alipay><is_success>T</is_success><request>" + req.String() +
		"</request><response><alipay>" + body + "</alipay></response><sign>" + sig + "</sign><sign_type>" + answerType + "</sign_type></alipay>"
	if mode == InjectHangAfter {
		<-r.Context().Done()
		return
	}
	io.WriteString(w, answer)
}

// contentUnescaped is the string the stand-in signs: the fields' values as
// text, and the records element's inner XML as written.
func contentUnescaped(fields map[string]string, records string) string {
	p := map[string]string{}
	for k, v := range fields {
		p[k] = v
	}
	if records != "" {
		p["records"] = records
	}
	return content(p)
}

func bizFail(code, des string) map[string]string {
	return map[string]string{"result_code": "FAIL", "detail_error_code": code, "detail_error_des": des}
}

func yuanToFen(s string) int64 {
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f
}

func (s *Standin) declare(p map[string]string) map[string]string {
	for _, f := range []struct {
		name string
		max  int
	}{{"out_request_no", 32}, {"trade_no", 64}, {"merchant_customs_code", 20}, {"amount", 20}, {"customs_place", 20}, {"merchant_customs_name", 256}} {
		if strings.TrimSpace(p[f.name]) == "" || len(p[f.name]) > f.max {
			return bizFail("INVALID_PARAMETER", "参数 "+f.name+" 不合法")
		}
	}
	if !requestNoRE.MatchString(p["out_request_no"]) {
		return bizFail("INVALID_PARAMETER", "参数 out_request_no 不合法")
	}
	if !yuanRE.MatchString(p["amount"]) || yuanToFen(p["amount"]) <= 0 {
		return bizFail("INVALID_PARAMETER", "参数 amount 不合法")
	}
	place := strings.ToUpper(p["customs_place"])
	if !alipayCustoms[place] {
		return bizFail("INVALID_PARAMETER", "参数 customs_place 不合法")
	}
	split := strings.EqualFold(p["is_split"], "T")
	if split && p["sub_out_biz_no"] == "" {
		return bizFail("INVALID_PARAMETER", "拆单时 sub_out_biz_no 必填")
	}
	if p["buyer_id_no"] != "" && len(p["buyer_id_no"]) != 18 {
		return bizFail("INVALID_PARAMETER", "参数 buyer_id_no "+p["buyer_id_no"]+" 格式错误")
	}
	t := s.trades[p["trade_no"]]
	if t == nil {
		return bizFail("TRADE_NOT_EXIST", "交易不存在")
	}
	amount := yuanToFen(p["amount"])
	sub := ""
	if split {
		sub = p["sub_out_biz_no"]
	}
	var existing *Decl
	total := amount
	for _, d := range s.decls {
		if d.OutRequestNo == p["out_request_no"] {
			existing = d
			continue
		}
		if d.TradeNo == p["trade_no"] && d.CustomsPlace == place {
			total += d.Amount
		}
	}
	if existing != nil && (existing.TradeNo != p["trade_no"] || existing.CustomsPlace != place || existing.SubOutBizNo != sub) {
		return bizFail("INVALID_PARAMETER", "报关请求号已用于其他交易")
	}
	if total > t.Amount-t.Refunded {
		return bizFail("AMOUNT_OUT_OF_RANGE", "报关金额超过交易金额")
	}
	out := map[string]string{"result_code": "SUCCESS", "trade_no": p["trade_no"]}
	if existing == nil {
		s.seq++
		existing = &Decl{OutRequestNo: p["out_request_no"], TradeNo: p["trade_no"], CustomsPlace: place, SubOutBizNo: sub,
			DeclareNo: fmt.Sprintf("2015%020d", s.seq), Status: "ws"}
		s.decls = append(s.decls, existing)
		if p["buyer_id_no"] != "" {
			out["identity_check"] = "F"
			if strings.EqualFold(p["buyer_id_no"], t.BuyerID) && p["buyer_name"] == t.BuyerName {
				out["identity_check"] = "T"
			}
		}
	} else {
		if existing.Code != p["merchant_customs_code"] || existing.Name != p["merchant_customs_name"] || existing.Amount != amount {
			existing.Updates++
		}
		existing.Status, existing.ResultCode, existing.ResultInfo = "ws", "", ""
	}
	existing.Code, existing.Name, existing.Amount = p["merchant_customs_code"], p["merchant_customs_name"], amount
	existing.BuyerName, existing.BuyerID = p["buyer_name"], strings.ToUpper(p["buyer_id_no"])
	existing.Pushes++
	out["alipay_declare_no"] = existing.DeclareNo
	return out
}

func (s *Standin) advance(d *Decl) {
	switch d.Status {
	case "ws":
		d.Status = "sending"
	case "sending":
		id := d.BuyerID
		if id == "" {
			id = strings.ToUpper(s.trades[d.TradeNo].BuyerID)
		}
		d.Status = "succ"
		switch {
		case s.failIDs[id] != "":
			d.ResultCode, d.ResultInfo = "100", s.failIDs[id]
		case s.exceptIDs[id] && !d.excepted:
			d.ResultCode, d.ResultInfo, d.excepted = "4", "发送海关失败", true
		case d.CustomsPlace == "ZONGSHU":
			d.ResultCode, d.ResultInfo = "2", "新增申报成功"
		}
	}
}

func (s *Standin) query(p map[string]string) (map[string]string, string) {
	nos := strings.Split(p["out_request_nos"], ",")
	if p["out_request_nos"] == "" || len(nos) > 10 {
		return bizFail("INVALID_PARAMETER", "参数 out_request_nos 不合法"), ""
	}
	var found strings.Builder
	var missing []string
	for _, no := range nos {
		var hit *Decl
		for _, d := range s.decls {
			if d.OutRequestNo == no {
				hit = d
			}
		}
		if hit == nil {
			missing = append(missing, no)
			continue
		}
		s.advance(hit)
		f := map[string]string{"out_request_no": hit.OutRequestNo, "alipay_declare_no": hit.DeclareNo, "trade_no": hit.TradeNo,
			"amount": fmt.Sprintf("%d.%02d", hit.Amount/100, hit.Amount%100), "customs_place": hit.CustomsPlace,
			"merchant_customs_code": hit.Code, "merchant_customs_name": hit.Name, "status": hit.Status,
			"customs_result_code": hit.ResultCode, "customs_result_info": hit.ResultInfo, "last_modified_time": "20240101120000"}
		if hit.SubOutBizNo != "" {
			f["is_split"], f["sub_out_biz_no"] = "T", hit.SubOutBizNo
		}
		var keys []string
		for k := range f {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		found.WriteString("<customs_declare>")
		for _, k := range keys {
			if f[k] != "" {
				fmt.Fprintf(&found, "<%s>%s</%s>", k, esc(f[k]), k)
			}
		}
		found.WriteString("</customs_declare>")
	}
	out := map[string]string{"result_code": "SUCCESS"}
	if len(missing) > 0 {
		out["not_found"] = strings.Join(missing, ",")
	}
	return out, found.String()
}
