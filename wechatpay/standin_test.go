package wechatpay_test

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// v2Standin is WeChat Pay's v2 customs API as its documents describe it,
// on 127.0.0.1: customdeclareorder (ADD and MODIFY), customdeclarequery
// and customdeclareredeclare. It checks what WeChat checks — the sign
// (MD5 or HMAC-SHA256 with the API key), appid and mch_id, the required
// fields, that the transaction exists and belongs to out_trade_no, split
// fees (order_fee = transport_fee + product_fee, sub-orders together within
// the payment less refunds) — and keeps one record per transaction,
// customs code and sub-order. It reads and signs XML with its own code,
// not the client's.
//
// A record is UNDECLARED when accepted, PROCESSING at the next query and
// final at the one after: FAIL when the declared payer is listed in
// failIDs, EXCEPT once when listed in exceptIDs, SUCCESS otherwise.
//
// Failures can be injected: the next n calls answer 5xx, SYSTEMERROR,
// FREQUENCY_LIMITED, hang until the client gives up (before or after
// doing the work), or carry a tampered answer.
type v2Standin struct {
	srv *httptest.Server

	mu        sync.Mutex
	appid     string
	mchid     string
	key       string
	payments  map[string]*v2Payment // by transaction_id
	records   []*v2Rec
	seq       int
	failIDs   map[string]string // payer id → FAIL explanation
	exceptIDs map[string]bool
	calls     map[string]int // by path
	inject    []string       // modes of the next calls, first first
	log       []string       // every request body, for the leak checks
}

type v2Payment struct {
	OutTradeNo string
	Amount     int64
	Refunded   int64
	PayerName  string
	PayerID    string
}

type v2Rec struct {
	TransactionID, OutTradeNo, Customs, SubOrderNo, SubOrderID string
	MchCustomsNo                                               string
	Duty, OrderFee, TransportFee, ProductFee                   int64
	CertID, Name, CertCheck                                    string
	State, Explanation                                         string
	Queries, Pushes                                            int
	Modified                                                   int
	excepted                                                   bool
}

// Injected failure modes.
const (
	inj5xx         = "5xx"
	injSystemError = "SYSTEMERROR"
	injFrequency   = "FREQUENCY_LIMITED"
	injHang        = "hang"       // no answer, nothing done
	injHangAfter   = "hang-after" // the work is done, the answer never comes
	injTamper      = "tamper"     // the answer is changed after signing
	injMaintenance = "maintenance"
)

func newV2Standin(t *testing.T) *v2Standin {
	t.Helper()
	s := &v2Standin{appid: "wxd678efh567hg6787", mchid: "1230000109", key: "192006250b4c09247ec02edce69f6a2d",
		payments: map[string]*v2Payment{}, failIDs: map[string]string{}, exceptIDs: map[string]bool{}, calls: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *v2Standin) pay(tx string, p v2Payment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payments[tx] = &p
}

func (s *v2Standin) injectNext(modes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = append(s.inject, modes...)
}

func (s *v2Standin) calledPath(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// recordsFor returns copies of the records of one transaction.
func (s *v2Standin) recordsFor(tx string) []v2Rec {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []v2Rec
	for _, r := range s.records {
		if r.TransactionID == tx {
			out = append(out, *r)
		}
	}
	return out
}

// ---- the wire, written independently of the client ----------------------

type anyXML struct {
	XMLName xml.Name
	Fields  []struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	} `xml:",any"`
}

func standinSign(p map[string]string, signType, key string) string {
	var keys []string
	for k, v := range p {
		if k != "sign" && v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		parts = append(parts, k+"="+p[k])
	}
	parts = append(parts, "key="+key)
	src := strings.Join(parts, "&")
	if signType == "HMAC-SHA256" {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(src))
		return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
	}
	sum := md5.Sum([]byte(src))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func standinXML(p map[string]string) string {
	var keys []string
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("<xml>\n")
	for _, k := range keys {
		if _, err := strconv.ParseInt(p[k], 10, 64); err == nil && k != "sign" {
			fmt.Fprintf(&b, "<%s>%s</%s>\n", k, p[k], k)
		} else {
			fmt.Fprintf(&b, "<%s><![CDATA[%s]]></%s>\n", k, p[k], k)
		}
	}
	b.WriteString("</xml>")
	return b.String()
}

// ---- the service ---------------------------------------------------------

func (s *v2Standin) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.calls[r.URL.Path]++
	s.log = append(s.log, string(body))
	mode := ""
	if len(s.inject) > 0 {
		mode, s.inject = s.inject[0], s.inject[1:]
	}
	s.mu.Unlock()

	switch mode {
	case inj5xx:
		http.Error(w, "<html>502 Bad Gateway</html>", http.StatusBadGateway)
		return
	case injHang:
		<-r.Context().Done()
		return
	}
	var doc anyXML
	if r.Method != http.MethodPost || xml.Unmarshal(body, &doc) != nil || doc.XMLName.Local != "xml" {
		io.WriteString(w, standinXML(map[string]string{"return_code": "FAIL", "return_msg": "xml参数格式错误"}))
		return
	}
	req := map[string]string{}
	for _, f := range doc.Fields {
		req[f.XMLName.Local] = f.Value
	}
	signType := req["sign_type"]
	if signType == "" {
		signType = "MD5"
	}
	if signType != "MD5" && signType != "HMAC-SHA256" || req["sign"] != standinSign(req, signType, s.key) {
		io.WriteString(w, standinXML(map[string]string{"return_code": "FAIL", "return_msg": "签名错误"}))
		return
	}
	if req["appid"] != s.appid || req["mch_id"] != s.mchid {
		io.WriteString(w, standinXML(map[string]string{"return_code": "FAIL", "return_msg": "appid和mch_id不匹配"}))
		return
	}
	var ans map[string]string
	var failure [2]string // err_code, err_code_des
	switch mode {
	case injSystemError:
		failure = [2]string{"SYSTEMERROR", "系统错误,请稍后重试"}
	case injFrequency:
		failure = [2]string{"FREQUENCY_LIMITED", "频率限制,请降低频率后重试"}
	case injMaintenance:
		failure = [2]string{"SYSTEMERROR", "系统维护中,请稍后再试"}
	default:
		s.mu.Lock()
		switch r.URL.Path {
		case "/cgi-bin/mch/customs/customdeclareorder":
			ans, failure = s.declare(req)
		case "/cgi-bin/mch/customs/customdeclarequery":
			ans, failure = s.query(req)
		case "/cgi-bin/mch/newcustoms/customdeclareredeclare":
			ans, failure = s.redeclare(req)
		default:
			failure = [2]string{"INVALID_REQUEST", "接口不存在"}
		}
		s.mu.Unlock()
	}
	if failure[0] == "RETURN" {
		io.WriteString(w, standinXML(ans))
		return
	}
	out := map[string]string{"return_code": "SUCCESS", "return_msg": "OK", "appid": s.appid, "mch_id": s.mchid, "sign_type": signType}
	if failure[0] != "" {
		out["result_code"], out["err_code"], out["err_code_des"] = "FAIL", failure[0], failure[1]
	} else {
		out["result_code"], out["err_code"], out["err_code_des"] = "SUCCESS", "0", "OK"
		for k, v := range ans {
			out[k] = v
		}
	}
	out["sign"] = standinSign(out, signType, s.key)
	if mode == injTamper {
		for k, v := range out {
			if strings.HasPrefix(k, "state") && v != "SUCCESS" {
				out[k] = "SUCCESS"
			}
		}
		out["verify_department_trade_id"] = "forged"
	}
	if mode == injHangAfter {
		<-r.Context().Done()
		return
	}
	io.WriteString(w, standinXML(out))
}

func need(req map[string]string, names ...string) string {
	for _, n := range names {
		if strings.TrimSpace(req[n]) == "" {
			return n
		}
	}
	return ""
}

var wechatCustoms = map[string]bool{"GUANGZHOU_ZS": true, "GUANGZHOU_HP_GJ": true, "GUANGZHOU_NS_GJ": true, "HANGZHOU_ZS": true,
	"NINGBO": true, "ZHENGZHOU_BS": true, "CHONGQING": true, "XIAN": true, "SHANGHAI_ZS": true, "SHENZHEN": true,
	"ZHENGZHOU_ZH_ZS": true, "TIANJIN": true, "BEIJING": true, "ZONGSHU": true}

func (s *v2Standin) find(tx, customs, sub string) *v2Rec {
	for _, r := range s.records {
		if r.TransactionID == tx && r.Customs == customs && r.SubOrderNo == sub {
			return r
		}
	}
	return nil
}

func (s *v2Standin) declare(req map[string]string) (map[string]string, [2]string) {
	if f := need(req, "out_trade_no", "transaction_id", "customs", "mch_customs_no"); f != "" {
		return nil, [2]string{"PARAM_ERROR", "参数错误: " + f + " 不能为空"}
	}
	if !wechatCustoms[req["customs"]] {
		return nil, [2]string{"PARAM_ERROR", "参数错误: customs 不合法"}
	}
	action := req["action_type"]
	if action == "" {
		action = "ADD"
	}
	if action != "ADD" && action != "MODIFY" {
		return nil, [2]string{"PARAM_ERROR", "参数错误: action_type 不合法"}
	}
	pay := s.payments[req["transaction_id"]]
	if pay == nil || pay.OutTradeNo != req["out_trade_no"] {
		// WeChat answers this at the communication level, unsigned.
		return map[string]string{"return_code": "FAIL", "return_msg": "交易单信息有误"}, [2]string{"RETURN"}
	}
	if req["cert_id"] != "" {
		if req["cert_type"] != "IDCARD" {
			return nil, [2]string{"PARAM_ERROR", "参数错误: cert_type 只支持 IDCARD"}
		}
		if len(req["cert_id"]) != 18 {
			return nil, [2]string{"PARAM_ERROR", "参数错误: 证件号码 " + req["cert_id"] + " 格式错误"}
		}
	}
	sub := req["sub_order_no"]
	var fees [3]int64
	if sub != "" {
		if f := need(req, "fee_type", "order_fee", "transport_fee", "product_fee"); f != "" {
			return nil, [2]string{"PARAM_ERROR", "参数错误: 拆单时 " + f + " 必传"}
		}
		if req["fee_type"] != "CNY" {
			return nil, [2]string{"PARAM_ERROR", "参数错误: fee_type 只支持 CNY"}
		}
		for i, n := range []string{"order_fee", "transport_fee", "product_fee"} {
			v, err := strconv.ParseInt(req[n], 10, 64)
			if err != nil || v < 0 {
				return nil, [2]string{"PARAM_ERROR", "参数错误: " + n + " 不合法"}
			}
			fees[i] = v
		}
		if fees[0] != fees[1]+fees[2] {
			return nil, [2]string{"PARAM_ERROR", "参数错误: order_fee 须等于 transport_fee + product_fee"}
		}
		total := fees[0]
		for _, r := range s.records {
			if r.TransactionID == req["transaction_id"] && r.Customs == req["customs"] && r.SubOrderNo != sub {
				total += r.OrderFee
			}
		}
		if total > pay.Amount-pay.Refunded {
			return nil, [2]string{"PARAM_ERROR", "参数错误: 子订单金额之和超过原订单金额"}
		}
	} else {
		fees = [3]int64{pay.Amount - pay.Refunded, 0, pay.Amount - pay.Refunded}
	}
	duty, _ := strconv.ParseInt(req["duty"], 10, 64)
	rec := s.find(req["transaction_id"], req["customs"], sub)
	same := func(r *v2Rec) bool {
		return r.MchCustomsNo == req["mch_customs_no"] && r.Duty == duty && r.OrderFee == fees[0] &&
			r.TransportFee == fees[1] && r.ProductFee == fees[2]
	}
	switch {
	case action == "MODIFY" && rec == nil:
		return nil, [2]string{"INVALID_REQUEST", "查询指定记录不存在,请重新选择条件查询"}
	case action == "MODIFY":
		rec.MchCustomsNo, rec.Duty, rec.OrderFee, rec.TransportFee, rec.ProductFee = req["mch_customs_no"], duty, fees[0], fees[1], fees[2]
		rec.CertID, rec.Name = req["cert_id"], req["name"]
		rec.State, rec.Explanation, rec.Queries, rec.Modified = "SUBMITTED", "", 0, rec.Modified+1
		rec.Pushes++
	case rec != nil && !same(rec):
		return nil, [2]string{"INVALID_REQUEST", "该订单已申报,修改请使用 action_type=MODIFY"}
	case rec != nil:
		// A repeat of the same record: WeChat keeps the one it has.
	default:
		s.seq++
		rec = &v2Rec{TransactionID: req["transaction_id"], OutTradeNo: req["out_trade_no"], Customs: req["customs"],
			SubOrderNo: sub, MchCustomsNo: req["mch_customs_no"], Duty: duty, OrderFee: fees[0], TransportFee: fees[1],
			ProductFee: fees[2], CertID: req["cert_id"], Name: req["name"], State: "UNDECLARED", Pushes: 1}
		if sub != "" {
			rec.SubOrderID = fmt.Sprintf("%s%04d", req["transaction_id"], s.seq)
		}
		s.records = append(s.records, rec)
	}
	rec.CertCheck = "UNCHECKED"
	if rec.CertID != "" {
		rec.CertCheck = "DIFFERENT"
		if strings.EqualFold(rec.CertID, pay.PayerID) && rec.Name == pay.PayerName {
			rec.CertCheck = "SAME"
		}
	}
	return map[string]string{"state": rec.State, "transaction_id": rec.TransactionID, "out_trade_no": rec.OutTradeNo,
		"sub_order_no": rec.SubOrderNo, "sub_order_id": rec.SubOrderID, "modify_time": "20240101120000",
		"cert_check_result": rec.CertCheck, "verify_department": "UNIONPAY", "verify_department_trade_id": "4208" + rec.TransactionID}, [2]string{}
}

// advance moves a record on by one query.
func (s *v2Standin) advance(r *v2Rec) {
	switch r.State {
	case "UNDECLARED", "SUBMITTED":
		r.State = "PROCESSING"
	case "PROCESSING":
		id := strings.ToUpper(r.CertID)
		if id == "" {
			id = strings.ToUpper(s.payments[r.TransactionID].PayerID)
		}
		switch {
		case s.failIDs[id] != "":
			r.State, r.Explanation = "FAIL", s.failIDs[id]
		case s.exceptIDs[id] && !r.excepted:
			r.State, r.Explanation, r.excepted = "EXCEPT", "海关接口异常", true
		default:
			r.State, r.Explanation = "SUCCESS", ""
		}
	}
}

func (s *v2Standin) query(req map[string]string) (map[string]string, [2]string) {
	if need(req, "customs") != "" || req["transaction_id"] == "" && req["out_trade_no"] == "" && req["sub_order_no"] == "" && req["sub_order_id"] == "" {
		return nil, [2]string{"PARAM_ERROR", "参数错误: 订单号和海关不能为空"}
	}
	var hits []*v2Rec
	for _, r := range s.records {
		if r.Customs != req["customs"] {
			continue
		}
		switch {
		case req["sub_order_id"] != "":
			if r.SubOrderID != req["sub_order_id"] {
				continue
			}
		case req["sub_order_no"] != "":
			if r.SubOrderNo != req["sub_order_no"] {
				continue
			}
		case req["transaction_id"] != "":
			if r.TransactionID != req["transaction_id"] {
				continue
			}
		default:
			if r.OutTradeNo != req["out_trade_no"] {
				continue
			}
		}
		hits = append(hits, r)
	}
	out := map[string]string{"count": strconv.Itoa(len(hits)), "transaction_id": req["transaction_id"]}
	for i, r := range hits {
		s.advance(r)
		n := "_" + strconv.Itoa(i)
		for k, v := range map[string]string{"sub_order_no": r.SubOrderNo, "sub_order_id": r.SubOrderID, "mch_customs_no": r.MchCustomsNo,
			"customs": r.Customs, "fee_type": "CNY", "order_fee": strconv.FormatInt(r.OrderFee, 10), "duty": strconv.FormatInt(r.Duty, 10),
			"transport_fee": strconv.FormatInt(r.TransportFee, 10), "product_fee": strconv.FormatInt(r.ProductFee, 10),
			"state": r.State, "explanation": r.Explanation, "modify_time": "20240101120500",
			// WeChat returns the identity the merchant uploaded.
			"cert_type": map[bool]string{true: "IDCARD"}[r.CertID != ""], "cert_id": r.CertID, "name": r.Name} {
			out[k+n] = v
		}
		if r.State == "SUCCESS" {
			out["verify_department"], out["verify_department_trade_id"] = "UNIONPAY", "4208"+r.TransactionID
		}
	}
	return out, [2]string{}
}

func (s *v2Standin) redeclare(req map[string]string) (map[string]string, [2]string) {
	if f := need(req, "customs", "mch_customs_no"); f != "" {
		return nil, [2]string{"PARAM_ERROR", "参数错误: " + f + " 不能为空"}
	}
	tx := req["transaction_id"]
	if tx == "" {
		for k, p := range s.payments {
			if p.OutTradeNo == req["out_trade_no"] {
				tx = k
			}
		}
	}
	r := s.find(tx, req["customs"], req["sub_order_no"])
	if r == nil {
		return nil, [2]string{"INVALID_REQUEST", "查询指定记录不存在,请重新选择条件查询"}
	}
	if r.State != "SUCCESS" && r.State != "EXCEPT" {
		return nil, [2]string{"INVALID_REQUEST", "当前状态不允许重推,仅 SUCCESS 或 EXCEPT 的记录可重推"}
	}
	r.State, r.Explanation, r.Queries = "SUBMITTED", "", 0
	r.Pushes++
	return map[string]string{"state": r.State, "transaction_id": r.TransactionID, "out_trade_no": r.OutTradeNo,
		"sub_order_no": r.SubOrderNo, "sub_order_id": r.SubOrderID, "modify_time": "20240101121000"}, [2]string{}
}
