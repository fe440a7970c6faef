package alipay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/upstream"
)

// Client calls Alipay's customs services on the MAPI gateway. It holds no
// merchant state: every call carries the merchant's credentials.
type Client struct {
	Gateway string       // default DefaultGateway
	HTTP    *http.Client // with short timeouts (upstream.HTTPClient)
	Record  upstream.Recorder
	Now     func() time.Time
}

func (c *Client) gateway() string {
	if c.Gateway == "" {
		return DefaultGateway
	}
	return c.Gateway
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Declare sends a declaration (alipay.acquire.customs). Alipay keys a
// declaration by out_request_no: sending the same number again pushes the
// same declaration again (with changed data, it updates it) rather than
// making a second one. Errors: *upstream.Error.
func (c *Client) Declare(ctx context.Context, cr *Credentials, d *Declaration) (*Answer, error) {
	p := map[string]string{
		"service": serviceDeclare, "out_request_no": d.OutRequestNo, "trade_no": d.TradeNo,
		"merchant_customs_code": d.MerchantCustomsCode, "merchant_customs_name": d.MerchantCustomsName,
		"amount": baoguan.FormatYuan(d.Amount), "customs_place": d.CustomsPlace,
	}
	if d.Split() {
		p["is_split"], p["sub_out_biz_no"] = "T", d.SubOutBizNo
	}
	if d.BuyerName != "" && d.BuyerIDNo != "" {
		p["buyer_name"], p["buyer_id_no"] = d.BuyerName, d.BuyerIDNo
	}
	doc, err := c.call(ctx, cr, d, OpDeclare, p)
	if err != nil {
		return nil, err
	}
	return &Answer{OutRequestNo: d.OutRequestNo, TradeNo: doc.Params["trade_no"],
		AlipayDeclareNo: doc.Params["alipay_declare_no"], IdentityCheck: doc.Params["identity_check"]}, nil
}

// Query reads the declaration d names by its out_request_no
// (alipay.overseas.acquire.customs.query). It returns an *upstream.Error of
// kind NotFound when Alipay lists the number as not found.
func (c *Client) Query(ctx context.Context, cr *Credentials, d *Declaration) (*Record, error) {
	doc, err := c.call(ctx, cr, d, OpQuery, map[string]string{"service": serviceQuery, "out_request_nos": d.OutRequestNo})
	if err != nil {
		return nil, err
	}
	for _, r := range doc.Records {
		if r["out_request_no"] == d.OutRequestNo {
			return &Record{OutRequestNo: r["out_request_no"], AlipayDeclareNo: r["alipay_declare_no"], TradeNo: r["trade_no"],
				Amount: r["amount"], CustomsPlace: r["customs_place"], MerchantCustomsCode: r["merchant_customs_code"],
				MerchantCustomsName: r["merchant_customs_name"], Status: r["status"], CustomsResultCode: r["customs_result_code"],
				CustomsResultInfo: r["customs_result_info"], CustomsReturnTime: r["customs_result_return_time"],
				IsSplit: r["is_split"], SubOutBizNo: r["sub_out_biz_no"], LastModifiedTime: r["last_modified_time"], Memo: r["memo"]}, nil
		}
	}
	return nil, &upstream.Error{Service: Service, Operation: OpQuery, Kind: upstream.NotFound, Code: "NOT_FOUND",
		Message: "Alipay has no declaration " + d.OutRequestNo}
}

// call signs and posts one request, then reads, verifies and classifies
// the answer. It returns the answer when is_success is T, the sign
// verifies and result_code is SUCCESS.
func (c *Client) call(ctx context.Context, cr *Credentials, d *Declaration, op string, p map[string]string) (*answerDoc, error) {
	scrub := upstream.NewScrubber(cr.MD5Key, d.BuyerIDNo, d.BuyerName)
	start := c.now()
	rec := upstream.Call{Time: start, Service: Service, Operation: op, Ref: d.Ref}
	finish := func(doc *answerDoc, status int, err error) (*answerDoc, error) {
		rec.HTTPStatus, rec.Latency, rec.Outcome = status, c.now().Sub(start), upstream.Outcome(err)
		var ue *upstream.Error
		if errors.As(err, &ue) {
			rec.Code, rec.Message = ue.Code, ue.Message
		} else if err == nil {
			rec.Code = "SUCCESS"
		}
		upstream.Report(ctx, c.Record, rec)
		return doc, err
	}
	fail := func(status int, kind upstream.Kind, code, msg string, wait time.Duration) *upstream.Error {
		return &upstream.Error{Service: Service, Operation: op, Kind: kind, HTTPStatus: status, Code: code,
			Message: scrub.Scrub(upstream.Clip(msg, 300)), RetryAfter: wait}
	}
	if cr.Partner == "" {
		return finish(nil, 0, fail(0, upstream.Fail, "CONFIG", "Alipay credentials need the partner id", 0))
	}
	sg, err := newSigner(cr)
	if err != nil {
		return finish(nil, 0, fail(0, upstream.Fail, "CONFIG", err.Error(), 0))
	}
	p["partner"], p["_input_charset"] = cr.Partner, "utf-8"
	sign, err := sg.sign(signContent(p))
	if err != nil {
		return finish(nil, 0, fail(0, upstream.Fail, "CONFIG", "signing failed", 0))
	}
	form := url.Values{}
	for k, v := range p {
		if v != "" {
			form.Set(k, v)
		}
	}
	form.Set("sign_type", sg.typ)
	form.Set("sign", sign)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.gateway()+"?_input_charset=utf-8", strings.NewReader(form.Encode()))
	if err != nil {
		return finish(nil, 0, fail(0, upstream.Fail, "CONFIG", "bad gateway URL", 0))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		ue := upstream.Transport(Service, op, err)
		ue.Message = scrub.Scrub(ue.Message)
		return finish(nil, 0, ue)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		ue := upstream.Transport(Service, op, err)
		ue.Message = scrub.Scrub(ue.Message)
		return finish(nil, resp.StatusCode, ue)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Retry, "HTTP_429", "rate limited", upstream.WaitRateLimited))
	case resp.StatusCode >= 500:
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Retry, "HTTP_"+strconv.Itoa(resp.StatusCode), "Alipay answered a server error", upstream.WaitTransient))
	case resp.StatusCode != http.StatusOK:
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Untrusted, "HTTP_"+strconv.Itoa(resp.StatusCode), "unexpected HTTP status", upstream.WaitTransient))
	}
	doc, err := ParseAnswer(body)
	if err != nil {
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Untrusted, "BAD_ANSWER", "unreadable answer: "+err.Error(), upstream.WaitTransient))
	}
	if doc.IsSuccess != "T" {
		// A refused request is not signed: only its error code says why.
		kind, wait := classifyError(doc.Error)
		code := doc.Error
		if code == "" {
			code = "FAIL"
		}
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, kind, code, "Alipay refused the request", wait))
	}
	if !sg.verify(signContent(doc.Params), doc.SignType, doc.Sign) {
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, upstream.Untrusted, "BAD_SIGNATURE",
			"the answer's sign does not verify; nothing in it was used", upstream.WaitTransient))
	}
	if doc.Params["result_code"] != "SUCCESS" {
		code := doc.Params["detail_error_code"]
		if code == "" {
			code = doc.Params["result_code"]
		}
		kind, wait := classifyError(code)
		return finish(nil, resp.StatusCode, fail(resp.StatusCode, kind, code, doc.Params["detail_error_des"], wait))
	}
	return finish(doc, resp.StatusCode, nil)
}

// classifyError says whether an Alipay error code is worth retrying.
// SYSTEM_ERROR and the like are Alipay's own trouble; everything else
// (ILLEGAL_SIGN, ILLEGAL_PARTNER, INVALID_PARAMETER, TRADE_NOT_EXIST, an
// amount above the payment) is the request's.
func classifyError(code string) (upstream.Kind, time.Duration) {
	switch c := strings.ToUpper(code); {
	case c == "SYSTEM_ERROR", c == "SYSTEM_BUSY", c == "SYSTEM_EXCEPTION", strings.HasSuffix(c, ".SYSTEM_ERROR"):
		return upstream.Retry, upstream.WaitTransient
	case strings.Contains(c, "FREQUENCY") || strings.Contains(c, "LIMIT_EXCEED") && !strings.Contains(c, "AMOUNT"):
		return upstream.Retry, upstream.WaitRateLimited
	case strings.Contains(c, "MAINTAIN") || strings.Contains(c, "MAINTENANCE"):
		return upstream.Retry, upstream.WaitMaintenance
	}
	return upstream.Fail, 0
}
