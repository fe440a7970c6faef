package alipay_test

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
	"testing"
)

// standin is Alipay's MAPI gateway for the two customs services, as
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
type standin struct {
	srv *httptest.Server

	mu        sync.Mutex
	partner   string
	md5Key    string
	merchant  *rsa.PublicKey  // the merchant's public key, as registered with Alipay
	alipayKey *rsa.PrivateKey // Alipay's own key
	trades    map[string]*trade
	decls     []*record
	seq       int
	failIDs   map[string]string
	exceptIDs map[string]bool
	inject    []string
	calls     map[string]int
}

type trade struct {
	Amount, Refunded int64
	BuyerName        string
	BuyerID          string
}

type record struct {
	OutRequestNo, TradeNo, CustomsPlace, SubOutBizNo string
	Code, Name                                       string
	Amount                                           int64
	BuyerName, BuyerID                               string
	DeclareNo                                        string
	Status, ResultCode, ResultInfo                   string
	Pushes, Updates                                  int
	excepted                                         bool
}

const (
	injHTTP500     = "500"
	injSystemError = "SYSTEM_ERROR"
	injIllegalSign = "ILLEGAL_SIGN" // is_success F
	injHang        = "hang"
	injHangAfter   = "hang-after"
	injTamper      = "tamper"
	injMD5Answer   = "md5-answer" // answer signed MD5, whatever the request used
)

var alipayCustoms = map[string]bool{"ZONGSHU": true, "HENAN": true, "SHENZHEN_ZS": true, "NINGBO": true, "HANGZHOU_ZONGSHU": true,
	"ZHENGZHOU": true, "SHANGHAI_CBT": true, "NANSHAGJ": true, "GUANGZHOU_HUANGPU": true}

func newStandin(t *testing.T, merchant *rsa.PublicKey) *standin {
	t.Helper()
	key := testKey(t, 0)
	s := &standin{partner: "2088101122136241", md5Key: "760bdzec6y9goq7ctyx96ezkz78287de", merchant: merchant, alipayKey: key,
		trades: map[string]*trade{}, failIDs: map[string]string{}, exceptIDs: map[string]bool{}, calls: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standin) alipayPublicPEM() string {
	der, _ := x509.MarshalPKIXPublicKey(&s.alipayKey.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func (s *standin) addTrade(no string, t trade) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trades[no] = &t
}

func (s *standin) injectNext(modes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = append(s.inject, modes...)
}

func (s *standin) declsOf(tradeNo string) []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []record
	for _, d := range s.decls {
		if d.TradeNo == tradeNo {
			out = append(out, *d)
		}
	}
	return out
}

func (s *standin) called(service string) int {
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

func (s *standin) checkSign(p map[string]string) bool {
	c := content(p)
	switch p["sign_type"] {
	case "MD5":
		sum := md5.Sum([]byte(c + s.md5Key))
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

func (s *standin) signAnswer(signType, c string) string {
	switch signType {
	case "MD5":
		sum := md5.Sum([]byte(c + s.md5Key))
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

func (s *standin) serve(w http.ResponseWriter, r *http.Request) {
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
	case injHTTP500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case injHang:
		<-r.Context().Done()
		return
	case injIllegalSign:
		refused(w, "ILLEGAL_SIGN")
		return
	}
	p := map[string]string{}
	for k := range r.PostForm {
		p[k] = r.PostForm.Get(k)
	}
	switch {
	case p["partner"] != s.partner:
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
	if mode == injSystemError {
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
	if mode == injMD5Answer {
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
	if mode == injTamper {
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
	if mode == injHangAfter {
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

func (s *standin) declare(p map[string]string) map[string]string {
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
	var existing *record
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
		existing = &record{OutRequestNo: p["out_request_no"], TradeNo: p["trade_no"], CustomsPlace: place, SubOutBizNo: sub,
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

func (s *standin) advance(d *record) {
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

func (s *standin) query(p map[string]string) (map[string]string, string) {
	nos := strings.Split(p["out_request_nos"], ",")
	if p["out_request_nos"] == "" || len(nos) > 10 {
		return bizFail("INVALID_PARAMETER", "参数 out_request_nos 不合法"), ""
	}
	var found strings.Builder
	var missing []string
	for _, no := range nos {
		var hit *record
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

// testKey returns one of a few RSA keys made once for the whole package:
// making a 2048-bit key for every test costs seconds.
func testKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		for j := range keys {
			keys[j], keysErr = rsa.GenerateKey(rand.Reader, 2048)
			if keysErr != nil {
				return
			}
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys[i]
}

var (
	keysOnce sync.Once
	keys     [3]*rsa.PrivateKey
	keysErr  error
)
