package wechatpay

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	wxcore "github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/baoguan/baoguan/upstream"
)

// v3 paths, under the base URL.
const (
	pathV3Orders    = "/v3/global/customs/orders"
	pathV3Redeclare = "/v3/global/customs/redeclare"
)

// maxV3Answer bounds an answer read from WeChat Pay.
const maxV3Answer = 1 << 20

// clientTTL is how long a merchant's SDK client (and the platform
// certificates it downloaded) is kept before it is built afresh, so that
// rotated platform certificates are picked up.
const clientTTL = 12 * time.Hour

// V3Client calls WeChat Pay's APIv3 customs API through the official SDK,
// which signs every request and verifies every successful answer. Error
// answers, which the SDK does not verify, are verified here before their
// code is believed; an unverifiable error answer counts as Untrusted.
type V3Client struct {
	BaseURL string       // default DefaultV3BaseURL
	HTTP    *http.Client // with short timeouts (upstream.HTTPClient)
	Record  upstream.Recorder
	Now     func() time.Time

	mu      sync.Mutex
	clients map[string]*v3Conn // by credentials fingerprint
}

// v3Conn is one merchant's SDK client and the verifier it trusts.
type v3Conn struct {
	client   *wxcore.Client
	verifier auth.Verifier
	built    time.Time
}

func (c *V3Client) base() string {
	if c.BaseURL == "" {
		return DefaultV3BaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *V3Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// fingerprint names a set of credentials without holding them.
func fingerprint(cr *V3Credentials) string {
	h := sha256.New()
	for _, s := range append([]string{cr.signer(), cr.CertSerial, cr.PrivateKeyPEM, cr.APIv3Key, cr.PublicKeyID, cr.PublicKeyPEM}, cr.PlatformCertPEMs...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// rebase sends what the SDK addresses to WeChat's own host (its certificate
// downloader has that host built in) to the configured base instead.
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

func (rt rebase) RoundTrip(r *http.Request) (*http.Response, error) {
	wx, _ := url.Parse(consts.WechatPayAPIServer)
	if r.URL.Host == wx.Host && rt.base.Host != wx.Host {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = rt.base.Scheme, rt.base.Host, rt.base.Host
		r.URL.Path = strings.TrimRight(rt.base.Path, "/") + r.URL.Path
		r.URL.RawPath = ""
	}
	return rt.next.RoundTrip(r)
}

// conn returns the merchant's SDK client, building it (and downloading
// platform certificates when that is how answers are verified) if needed.
func (c *V3Client) conn(ctx context.Context, cr *V3Credentials) (*v3Conn, error) {
	key := fingerprint(cr)
	c.mu.Lock()
	if c.clients == nil {
		c.clients = map[string]*v3Conn{}
	}
	if cc, ok := c.clients[key]; ok && c.now().Sub(cc.built) < clientTTL {
		c.mu.Unlock()
		return cc, nil
	}
	c.mu.Unlock()

	if cr.MchID == "" || cr.AppID == "" || cr.CertSerial == "" || cr.PrivateKeyPEM == "" {
		return nil, errors.New("WeChat Pay v3 credentials need appid, mchid, the certificate serial and its private key")
	}
	pk, err := utils.LoadPrivateKey(cr.PrivateKeyPEM)
	if err != nil {
		return nil, errors.New("the merchant private key is not a readable RSA private key PEM")
	}
	base, err := url.Parse(c.base())
	if err != nil {
		return nil, errors.New("bad WeChat Pay base URL")
	}
	next := http.DefaultTransport
	if c.HTTP != nil && c.HTTP.Transport != nil {
		next = c.HTTP.Transport
	}
	hc := &http.Client{Transport: rebase{base: base, next: next}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if c.HTTP != nil {
		hc.Timeout = c.HTTP.Timeout
	}
	cred := option.WithMerchantCredential(cr.signer(), cr.CertSerial, pk)
	var verifier auth.Verifier
	switch {
	case cr.PublicKeyID != "" && cr.PublicKeyPEM != "":
		pub, err := utils.LoadPublicKey(cr.PublicKeyPEM)
		if err != nil {
			return nil, errors.New("the WeChat Pay public key is not a readable RSA public key PEM")
		}
		verifier = verifiers.NewSHA256WithRSAPubkeyVerifier(cr.PublicKeyID, *pub)
	case len(cr.PlatformCertPEMs) > 0:
		var certs []*x509.Certificate
		for _, p := range cr.PlatformCertPEMs {
			cert, err := utils.LoadCertificate(p)
			if err != nil {
				return nil, errors.New("a pinned platform certificate is not a readable certificate PEM")
			}
			certs = append(certs, cert)
		}
		verifier = verifiers.NewSHA256WithRSAVerifier(wxcore.NewCertificateMapWithList(certs))
	case cr.APIv3Key != "":
		// Bootstrap as the SDK does: the first download cannot be checked
		// against a certificate not yet had, but its content is sealed with
		// the APIv3 key (AES-256-GCM), which only WeChat and the merchant
		// know. The second download is verified with what the first gave.
		boot, err := wxcore.NewClient(ctx, cred, option.WithoutValidator(), option.WithHTTPClient(hc))
		if err != nil {
			return nil, err
		}
		dl, err := downloader.NewCertificateDownloaderWithClient(ctx, boot, cr.APIv3Key)
		if err != nil {
			return nil, downloadError(err, "downloading WeChat Pay platform certificates failed")
		}
		if err := dl.DownloadCertificates(ctx); err != nil {
			return nil, downloadError(err, "verifying the downloaded platform certificates failed")
		}
		verifier = verifiers.NewSHA256WithRSAVerifier(dl)
	default:
		return nil, errors.New("no way to verify WeChat Pay's answers: give the WeChat Pay public key, platform certificates or the APIv3 key")
	}
	client, err := wxcore.NewClient(ctx, cred, option.WithVerifier(verifier), option.WithHTTPClient(hc))
	if err != nil {
		return nil, err
	}
	cc := &v3Conn{client: client, verifier: verifier, built: c.now()}
	c.mu.Lock()
	for k, old := range c.clients { // rotated credentials leave stale clients behind
		if c.now().Sub(old.built) >= clientTTL {
			delete(c.clients, k)
		}
	}
	c.clients[key] = cc
	c.mu.Unlock()
	return cc, nil
}

// downloadError classifies a failed platform-certificate download: no
// answer or a server error is worth retrying; anything else (an APIv3 key
// that does not open the certificates, a refusal) is a configuration fault.
func downloadError(err error, what string) error {
	var ue *url.Error
	var ae *wxcore.APIError
	switch {
	case errors.As(err, &ue):
		e := upstream.Transport(ServiceV3, "certificates", err)
		e.Message = what + ": " + e.Message
		return e
	case errors.As(err, &ae) && (ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests):
		return &upstream.Error{Service: ServiceV3, Operation: "certificates", Kind: upstream.Retry, HTTPStatus: ae.StatusCode,
			Code: orDefault(ae.Code, "HTTP_"+strconv.Itoa(ae.StatusCode)), Message: what, RetryAfter: upstream.WaitTransient}
	}
	return errors.New(what + ": " + upstream.Clip(err.Error(), 200))
}

// v3Record is a record as the v3 API writes it: declare, modify and
// redeclare answer one; query answers a list of them (where the
// registration number is called mch_customs_no).
type v3Record struct {
	TransactionID           string `json:"transaction_id"`
	OutTradeNo              string `json:"out_trade_no"`
	Customs                 string `json:"customs"`
	MerchantCustomsNo       string `json:"merchant_customs_no"`
	MchCustomsNo            string `json:"mch_customs_no"`
	Duty                    int64  `json:"duty"`
	SubOrderNo              string `json:"sub_order_no"`
	SubOrderID              string `json:"sub_order_id"`
	OrderFee                int64  `json:"order_fee"`
	TransportFee            int64  `json:"transport_fee"`
	ProductFee              int64  `json:"product_fee"`
	State                   string `json:"state"`
	Explanation             string `json:"explanation"`
	ModifyTime              string `json:"modify_time"`
	VerifyDepartment        string `json:"verify_department"`
	VerifyDepartmentTradeID string `json:"verify_department_trade_id"`
}

func (v *v3Record) record() *Record {
	no := v.MerchantCustomsNo
	if no == "" {
		no = v.MchCustomsNo
	}
	return &Record{State: v.State, Explanation: v.Explanation, TransactionID: v.TransactionID, OutTradeNo: v.OutTradeNo,
		SubOrderNo: v.SubOrderNo, SubOrderID: v.SubOrderID, Customs: v.Customs, MerchantCustomsNo: no,
		OrderFee: v.OrderFee, TransportFee: v.TransportFee, ProductFee: v.ProductFee, Duty: v.Duty,
		ModifyTime: v.ModifyTime, VerifyDepartment: v.VerifyDepartment, VerifyDepartmentTradeID: v.VerifyDepartmentTradeID}
}

type v3Query struct {
	TransactionID           string     `json:"transaction_id"`
	VerifyDepartment        string     `json:"verify_department"`
	VerifyDepartmentTradeID string     `json:"verify_department_trade_id"`
	Offset                  int        `json:"offset"`
	Limit                   int        `json:"limit"`
	TotalCount              int        `json:"total_count"`
	Data                    []v3Record `json:"data"`
}

// body builds the JSON body of declare and modify.
func v3Body(cr *V3Credentials, d *Declaration, modify bool) map[string]any {
	b := map[string]any{"appid": cr.AppID, "mchid": cr.MchID, "out_trade_no": d.OutTradeNo,
		"transaction_id": d.TransactionID, "customs": d.Customs, "merchant_customs_no": d.MerchantCustomsNo}
	if d.Duty > 0 || modify {
		b["duty"] = d.Duty
	}
	if d.Split() {
		b["sub_order_no"] = d.SubOrderNo
		b["order_fee"], b["transport_fee"], b["product_fee"] = d.OrderFee, d.TransportFee, d.ProductFee
		if !modify {
			b["fee_type"] = feeTypeCNY
		}
		if modify && d.SubOrderID != "" {
			b["sub_order_id"] = d.SubOrderID
		}
	}
	return b
}

// Declare submits a record (POST /v3/global/customs/orders). A repeat of
// the same order, customs code and sub-order with the same data answers
// the one record WeChat holds for them. Errors: *upstream.Error.
func (c *V3Client) Declare(ctx context.Context, cr *V3Credentials, d *Declaration) (*Record, error) {
	var v v3Record
	if err := c.do(ctx, cr, d, OpDeclare, http.MethodPost, c.base()+pathV3Orders, v3Body(cr, d, false), &v); err != nil {
		return nil, err
	}
	return v.record(), nil
}

// Modify changes a record (PATCH /v3/global/customs/orders): only the
// registration number, the duty and the fees can change; WeChat declares
// the record again with them. Errors: *upstream.Error.
func (c *V3Client) Modify(ctx context.Context, cr *V3Credentials, d *Declaration) (*Record, error) {
	var v v3Record
	if err := c.do(ctx, cr, d, OpModify, http.MethodPatch, c.base()+pathV3Orders, v3Body(cr, d, true), &v); err != nil {
		return nil, err
	}
	return v.record(), nil
}

// Redeclare pushes a SUCCESS or EXCEPT record to customs again, unchanged
// (POST /v3/global/customs/redeclare). Errors: *upstream.Error.
func (c *V3Client) Redeclare(ctx context.Context, cr *V3Credentials, d *Declaration) (*Record, error) {
	b := map[string]any{"appid": cr.AppID, "mchid": cr.MchID, "out_trade_no": d.OutTradeNo,
		"transaction_id": d.TransactionID, "customs": d.Customs}
	if d.Split() {
		b["sub_order_no"] = d.SubOrderNo
		if d.SubOrderID != "" {
			b["sub_order_id"] = d.SubOrderID
		}
	}
	var v v3Record
	if err := c.do(ctx, cr, d, OpRedeclare, http.MethodPost, c.base()+pathV3Redeclare, b, &v); err != nil {
		return nil, err
	}
	return v.record(), nil
}

// Query reads WeChat's record for d (GET /v3/global/customs/orders by
// transaction, every page). It returns an *upstream.Error of kind NotFound
// when WeChat has none for d's customs code and sub-order.
func (c *V3Client) Query(ctx context.Context, cr *V3Credentials, d *Declaration) (*Record, error) {
	const limit = 50
	for offset := 0; offset < 10*limit; offset += limit {
		q := url.Values{"appid": {cr.AppID}, "mchid": {cr.MchID}, "order_type": {"transaction_id"},
			"order_no": {d.TransactionID}, "customs": {d.Customs}, "offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
		var v v3Query
		if err := c.do(ctx, cr, d, OpQuery, http.MethodGet, c.base()+pathV3Orders+"?"+q.Encode(), nil, &v); err != nil {
			return nil, err
		}
		for i := range v.Data {
			r := v.Data[i].record()
			if r.TransactionID == "" {
				r.TransactionID = v.TransactionID
			}
			if r.VerifyDepartment == "" {
				r.VerifyDepartment, r.VerifyDepartmentTradeID = v.VerifyDepartment, v.VerifyDepartmentTradeID
			}
			if r.matches(d) {
				return r, nil
			}
		}
		if len(v.Data) < limit || offset+len(v.Data) >= v.TotalCount {
			break
		}
	}
	return nil, &upstream.Error{Service: ServiceV3, Operation: OpQuery, Kind: upstream.NotFound, Code: "NOT_FOUND",
		Message: "WeChat Pay has no record of this payment to " + d.Customs + subOrderText(d.SubOrderNo)}
}

// do sends one request through the SDK and decodes a verified answer into
// out, recording the call.
func (c *V3Client) do(ctx context.Context, cr *V3Credentials, d *Declaration, op, method, u string, body, out any) error {
	scrub := upstream.NewScrubber(cr.APIv3Key, d.PayerID, d.PayerName)
	start := c.now()
	rec := upstream.Call{Time: start, Service: ServiceV3, Operation: op, Ref: d.Ref}
	finish := func(status int, err error) error {
		rec.HTTPStatus, rec.Latency, rec.Outcome = status, c.now().Sub(start), upstream.Outcome(err)
		var ue *upstream.Error
		if errors.As(err, &ue) {
			rec.Code, rec.Message = ue.Code, ue.Message
		} else if err == nil {
			rec.Code = "SUCCESS"
		}
		upstream.Report(ctx, c.Record, rec)
		return err
	}
	fail := func(status int, kind upstream.Kind, code, msg string, wait time.Duration) *upstream.Error {
		return &upstream.Error{Service: ServiceV3, Operation: op, Kind: kind, HTTPStatus: status, Code: code,
			Message: scrub.Scrub(upstream.Clip(msg, 300)), RetryAfter: wait}
	}
	cc, err := c.conn(ctx, cr)
	if err != nil {
		var ue *upstream.Error
		if errors.As(err, &ue) {
			ue.Operation, ue.Message = op, scrub.Scrub(ue.Message)
			return finish(ue.HTTPStatus, ue)
		}
		return finish(0, fail(0, upstream.Fail, "CONFIG", err.Error(), 0))
	}
	var res *wxcore.APIResult
	switch method {
	case http.MethodGet:
		res, err = cc.client.Get(ctx, u)
	case http.MethodPatch:
		res, err = cc.client.Patch(ctx, u, body)
	default:
		res, err = cc.client.Post(ctx, u, body)
	}
	status := 0
	if res != nil && res.Response != nil {
		status = res.Response.StatusCode
		defer res.Response.Body.Close()
	}
	var apiErr *wxcore.APIError
	switch {
	case err == nil:
	case errors.As(err, &apiErr):
		return finish(status, c.classify(ctx, cc, res.Response, apiErr, fail))
	case status >= 200 && status < 300:
		// The SDK got a 2xx answer but its signature did not verify.
		return finish(status, fail(status, upstream.Untrusted, "BAD_SIGNATURE",
			"the answer's signature does not verify; nothing in it was used", upstream.WaitTransient))
	default:
		ue := upstream.Transport(ServiceV3, op, err)
		ue.Message = scrub.Scrub(upstream.Clip(ue.Message, 300))
		return finish(0, ue)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Response.Body, maxV3Answer))
	if err != nil {
		ue := upstream.Transport(ServiceV3, op, err)
		return finish(status, ue)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return finish(status, fail(status, upstream.Untrusted, "BAD_ANSWER", "unreadable answer: "+err.Error(), upstream.WaitTransient))
	}
	return finish(status, nil)
}

// classify turns an error answer into an *upstream.Error. Its code is
// believed only when its signature verifies: WeChat signs error answers
// too, and an unsigned 4xx might not be WeChat's at all.
func (c *V3Client) classify(ctx context.Context, cc *v3Conn, resp *http.Response, e *wxcore.APIError,
	fail func(int, upstream.Kind, string, string, time.Duration) *upstream.Error) *upstream.Error {
	status := e.StatusCode
	retryAfter := upstream.WaitTransient
	if s, err := strconv.Atoi(e.Header.Get("Retry-After")); err == nil && s > 0 && s < 3600 {
		retryAfter = time.Duration(s) * time.Second
	}
	verified := resp != nil && validators.NewWechatPayResponseValidator(cc.verifier).Validate(ctx, resp) == nil
	code := e.Code
	if code == "" {
		code = "HTTP_" + strconv.Itoa(status)
	}
	switch {
	case status == http.StatusTooManyRequests || code == "FREQUENCY_LIMITED" || code == "RATELIMIT_EXCEEDED":
		if retryAfter == upstream.WaitTransient {
			retryAfter = upstream.WaitRateLimited
		}
		return fail(status, upstream.Retry, code, e.Message, retryAfter)
	case status >= 500 || code == "SYSTEM_ERROR" || code == "SYSTEMERROR":
		return fail(status, upstream.Retry, code, e.Message, retryAfter)
	case !verified:
		return fail(status, upstream.Untrusted, code, "unsigned or badly signed error answer: "+e.Message, upstream.WaitTransient)
	case status == http.StatusNotFound || code == "RESOURCE_NOT_EXISTS" || code == "ORDER_NOT_EXIST" || code == "NOT_FOUND" ||
		code == "INVALID_REQUEST" && (strings.Contains(e.Message, "不存在") || strings.Contains(strings.ToLower(e.Message), "not exist")):
		return fail(status, upstream.NotFound, code, e.Message, 0)
	}
	return fail(status, upstream.Fail, code, e.Message, 0)
}
