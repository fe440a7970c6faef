package wechatpay

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan/upstream"
)

// v2 paths, under the base URL.
const (
	pathV2Declare   = "/cgi-bin/mch/customs/customdeclareorder"
	pathV2Query     = "/cgi-bin/mch/customs/customdeclarequery"
	pathV2Redeclare = "/cgi-bin/mch/newcustoms/customdeclareredeclare"
)

// v2 action types of customdeclareorder.
const (
	actionAdd    = "ADD"
	actionModify = "MODIFY"
)

// V2Client calls WeChat Pay's v2 customs API. It holds no merchant state:
// every call carries the merchant's credentials. The zero value is not
// usable; fill HTTP at least.
type V2Client struct {
	BaseURL string       // default DefaultV2BaseURL
	HTTP    *http.Client // with short timeouts (upstream.HTTPClient)
	Record  upstream.Recorder
	Now     func() time.Time
}

func (c *V2Client) base() string {
	if c.BaseURL == "" {
		return DefaultV2BaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *V2Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Declare submits a new record (customdeclareorder, action_type ADD). A
// repeat of the same order, customs code and sub-order answers WeChat's one
// record for them rather than making a second. Errors: *upstream.Error.
func (c *V2Client) Declare(ctx context.Context, cr *V2Credentials, d *Declaration) (*Record, error) {
	return c.order(ctx, cr, d, actionAdd, OpDeclare)
}

// Modify changes a record (customdeclareorder, action_type MODIFY): the
// registration number, the duty, the fees and the declared payer. WeChat
// declares the record again with the new data. Errors: *upstream.Error.
func (c *V2Client) Modify(ctx context.Context, cr *V2Credentials, d *Declaration) (*Record, error) {
	return c.order(ctx, cr, d, actionModify, OpModify)
}

func (c *V2Client) order(ctx context.Context, cr *V2Credentials, d *Declaration, action, op string) (*Record, error) {
	p := map[string]string{
		"appid": cr.AppID, "mch_id": cr.MchID, "out_trade_no": d.OutTradeNo, "transaction_id": d.TransactionID,
		"customs": d.Customs, "mch_customs_no": d.MerchantCustomsNo, "action_type": action,
	}
	if d.Duty > 0 {
		p["duty"] = strconv.FormatInt(d.Duty, 10)
	}
	if d.Split() {
		// WeChat: a split order sends the sub-order and its fees; so does
		// a re-declaration (以下字段在拆单或重新报关时必传).
		p["sub_order_no"] = d.SubOrderNo
		p["fee_type"] = feeTypeCNY
		p["order_fee"] = strconv.FormatInt(d.OrderFee, 10)
		p["transport_fee"] = strconv.FormatInt(d.TransportFee, 10)
		p["product_fee"] = strconv.FormatInt(d.ProductFee, 10)
	}
	if d.PayerID != "" && d.PayerName != "" {
		p["cert_type"] = "IDCARD"
		p["cert_id"] = d.PayerID
		p["name"] = d.PayerName
	}
	a, err := c.call(ctx, cr, d, op, pathV2Declare, p)
	if err != nil {
		return nil, err
	}
	r := recordV2(a, "")
	if r.Customs == "" {
		r.Customs = d.Customs
	}
	if r.SubOrderNo == "" {
		r.SubOrderNo = d.SubOrderNo
	}
	if r.MerchantCustomsNo == "" {
		r.MerchantCustomsNo = d.MerchantCustomsNo
	}
	return r, nil
}

// Query reads WeChat's record for d (customdeclarequery): by sub-order for
// a split order, else by transaction. It returns an *upstream.Error of kind
// NotFound when WeChat has no record for that customs code and sub-order.
func (c *V2Client) Query(ctx context.Context, cr *V2Credentials, d *Declaration) (*Record, error) {
	p := map[string]string{"appid": cr.AppID, "mch_id": cr.MchID, "transaction_id": d.TransactionID,
		"out_trade_no": d.OutTradeNo, "customs": d.Customs}
	if d.Split() {
		p["sub_order_no"] = d.SubOrderNo
	}
	a, err := c.call(ctx, cr, d, OpQuery, pathV2Query, p)
	if err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(a["count"])
	for i := 0; i < n && i < maxV2Fields; i++ {
		r := recordV2(a, "_"+strconv.Itoa(i))
		if r.TransactionID == "" {
			r.TransactionID = a["transaction_id"]
		}
		if r.Customs == "" {
			r.Customs = d.Customs
		}
		if r.matches(d) {
			return r, nil
		}
	}
	return nil, &upstream.Error{Service: ServiceV2, Operation: OpQuery, Kind: upstream.NotFound, Code: "NOT_FOUND",
		Message: "WeChat Pay has no record of this payment to " + d.Customs + subOrderText(d.SubOrderNo)}
}

// Redeclare pushes a record that succeeded or met a customs exception to
// customs again, unchanged (customdeclareredeclare). Errors: *upstream.Error.
func (c *V2Client) Redeclare(ctx context.Context, cr *V2Credentials, d *Declaration) (*Record, error) {
	p := map[string]string{"appid": cr.AppID, "mch_id": cr.MchID, "out_trade_no": d.OutTradeNo,
		"transaction_id": d.TransactionID, "customs": d.Customs, "mch_customs_no": d.MerchantCustomsNo}
	if d.Split() {
		p["sub_order_no"] = d.SubOrderNo
		p["sub_order_id"] = d.SubOrderID
	}
	a, err := c.call(ctx, cr, d, OpRedeclare, pathV2Redeclare, p)
	if err != nil {
		return nil, err
	}
	r := recordV2(a, "")
	if r.Customs == "" {
		r.Customs = d.Customs
	}
	if r.SubOrderNo == "" {
		r.SubOrderNo = d.SubOrderNo
	}
	return r, nil
}

// recordV2 reads one record from an answer; suffix is "" for the single
// record of declare/redeclare and "_<n>" for the n-th of a query. Fields a
// query gives once for the whole answer are read without the suffix when
// the suffixed one is absent.
func recordV2(a map[string]string, suffix string) *Record {
	get := func(k string) string {
		if v, ok := a[k+suffix]; ok {
			return v
		}
		if suffix != "" {
			switch k {
			case "verify_department", "verify_department_trade_id", "cert_check_result", "out_trade_no":
				return a[k]
			}
		}
		return ""
	}
	r := &Record{State: get("state"), Explanation: get("explanation"), TransactionID: get("transaction_id"),
		OutTradeNo: get("out_trade_no"), SubOrderNo: get("sub_order_no"), SubOrderID: get("sub_order_id"),
		Customs: get("customs"), MerchantCustomsNo: get("mch_customs_no"), ModifyTime: get("modify_time"),
		CertCheckResult: get("cert_check_result"), VerifyDepartment: get("verify_department"),
		VerifyDepartmentTradeID: get("verify_department_trade_id")}
	// Amounts that do not parse are left 0: they only serve to notice a
	// change, and a record is never acted on for its amounts alone.
	r.OrderFee, _ = fen(get("order_fee"))
	r.TransportFee, _ = fen(get("transport_fee"))
	r.ProductFee, _ = fen(get("product_fee"))
	r.Duty, _ = fen(get("duty"))
	return r
}

func subOrderText(no string) string {
	if no == "" {
		return ""
	}
	return " (sub-order " + no + ")"
}

// call signs and sends one request, then reads, verifies and classifies
// the answer. It returns the answer's fields when both return_code and
// result_code are SUCCESS and the sign verifies.
func (c *V2Client) call(ctx context.Context, cr *V2Credentials, d *Declaration, op, path string, p map[string]string) (map[string]string, error) {
	scrub := upstream.NewScrubber(cr.APIKey, d.PayerID, d.PayerName)
	st := cr.SignType
	if st == "" {
		st = SignMD5
	}
	p["sign_type"] = st
	start := c.now()
	rec := upstream.Call{Time: start, Service: ServiceV2, Operation: op, Ref: d.Ref}
	finish := func(a map[string]string, status int, err error) (map[string]string, error) {
		rec.HTTPStatus, rec.Latency, rec.Outcome = status, c.now().Sub(start), upstream.Outcome(err)
		if ue, ok := err.(*upstream.Error); ok {
			rec.Code, rec.Message = ue.Code, ue.Message
		} else if err == nil {
			rec.Code = "SUCCESS"
		}
		upstream.Report(ctx, c.Record, rec)
		return a, err
	}
	fail := func(status int, kind upstream.Kind, code, msg string, wait time.Duration) *upstream.Error {
		return &upstream.Error{Service: ServiceV2, Operation: op, Kind: kind, HTTPStatus: status, Code: code,
			Message: scrub.Scrub(upstream.Clip(msg, 300)), RetryAfter: wait}
	}
	if cr.AppID == "" || cr.MchID == "" || cr.APIKey == "" {
		return finish(nil, 0, fail(0, upstream.Fail, "CONFIG", "WeChat Pay v2 credentials need appid, mch_id and the API key", 0))
	}
	sign, err := v2Sign(p, st, cr.APIKey)
	if err != nil {
		return finish(nil, 0, fail(0, upstream.Fail, "CONFIG", err.Error(), 0))
	}
	p["sign"] = sign
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base()+path, bytes.NewReader(v2Encode(p)))
	if err != nil {
		return finish(nil, 0, fail(0, upstream.Fail, "CONFIG", "bad base URL", 0))
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		ue := upstream.Transport(ServiceV2, op, err)
		ue.Message = scrub.Scrub(ue.Message)
		return finish(nil, 0, ue)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxV2Answer+1))
	if err != nil {
		ue := upstream.Transport(ServiceV2, op, err)
		ue.Message = scrub.Scrub(ue.Message)
		return finish(nil, resp.StatusCode, ue)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Retry, "FREQUENCY_LIMITED", "rate limited", upstream.WaitRateLimited))
	case resp.StatusCode >= 500:
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Retry, "HTTP_"+strconv.Itoa(resp.StatusCode), "WeChat Pay answered a server error", upstream.WaitTransient))
	case resp.StatusCode != http.StatusOK:
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Untrusted, "HTTP_"+strconv.Itoa(resp.StatusCode), "unexpected HTTP status", upstream.WaitTransient))
	}
	a, err := ParseV2(body)
	if err != nil {
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Untrusted, "BAD_ANSWER", "unreadable answer: "+err.Error(), upstream.WaitTransient))
	}
	if a["return_code"] != "SUCCESS" {
		// A FAIL at the communication level is not signed: only its
		// message says what went wrong.
		kind, wait := classifyV2Return(a["return_msg"])
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, kind, "FAIL", a["return_msg"], wait))
	}
	if !v2Verify(a, st, cr.APIKey) {
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Untrusted, "BAD_SIGNATURE",
			"the answer's sign does not verify with the API key; nothing in it was used", upstream.WaitTransient))
	}
	if a["appid"] != "" && a["appid"] != cr.AppID || a["mch_id"] != "" && a["mch_id"] != cr.MchID {
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Untrusted, "BAD_ANSWER",
			"the answer names another appid or mch_id", upstream.WaitTransient))
	}
	if a["result_code"] != "SUCCESS" {
		code := a["err_code"]
		kind, wait := classifyV2Err(code, a["err_code_des"])
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, kind, code, a["err_code_des"], wait))
	}
	return finish(a, resp.StatusCode, nil)
}

// classifyV2Return classifies a return_code FAIL by its message: WeChat
// writes 系统繁忙 / 系统错误 for an overloaded service and 频率限制 for rate
// limiting; everything else (签名错误, xml参数格式错误, 交易单信息有误) is
// the request's fault.
func classifyV2Return(msg string) (upstream.Kind, time.Duration) {
	switch {
	case strings.Contains(msg, "频率"), strings.Contains(strings.ToUpper(msg), "FREQUENCY"):
		return upstream.Retry, upstream.WaitRateLimited
	case strings.Contains(msg, "繁忙"), strings.Contains(msg, "系统错误"), strings.Contains(msg, "系统异常"),
		strings.Contains(msg, "维护"), strings.Contains(strings.ToUpper(msg), "SYSTEM"):
		return upstream.Retry, upstream.WaitTransient
	}
	return upstream.Fail, 0
}

// classifyV2Err classifies a result_code FAIL by err_code (and, for
// WeChat's numeric internal codes, by its description).
func classifyV2Err(code, des string) (upstream.Kind, time.Duration) {
	switch strings.ToUpper(code) {
	case "SYSTEMERROR", "SYSTEM_ERROR", "BIZERR_NEED_RETRY":
		return upstream.Retry, upstream.WaitTransient
	case "FREQUENCY_LIMITED", "FREQ_LIMIT":
		return upstream.Retry, upstream.WaitRateLimited
	case "INVALID_REQUEST":
		if strings.Contains(des, "不存在") {
			return upstream.NotFound, 0
		}
	}
	switch {
	case strings.Contains(des, "维护"):
		return upstream.Retry, upstream.WaitMaintenance
	case strings.Contains(des, "已提交"), strings.Contains(des, "繁忙"), strings.Contains(des, "稍后"):
		// 您的操作已提交,请确认是否已生效: the outcome is unknown; ask.
		return upstream.Retry, upstream.WaitTransient
	}
	return upstream.Fail, 0
}
