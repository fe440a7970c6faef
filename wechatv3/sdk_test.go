package wechatv3_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	wxcore "github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/cipher/decryptors"
	"github.com/wechatpay-apiv3/wechatpay-go/core/cipher/encryptors"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/baoguan/baoguan"
)

// rebase sends requests the SDK addresses to WeChat's own host to a
// baoguan base URL instead: the SDK's certificate downloader has WeChat's
// address built in, and this is how a merchant points it elsewhere.
type rebase struct{ base *url.URL }

func (rt rebase) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	wx, _ := url.Parse(consts.WechatPayAPIServer)
	if r.URL.Host == wx.Host {
		r.URL.Scheme, r.URL.Host = rt.base.Scheme, rt.base.Host
		r.URL.Path = rt.base.Path + r.URL.Path
		r.URL.RawPath = ""
		r.Host = rt.base.Host
	}
	return http.DefaultTransport.RoundTrip(r)
}

// sensitive is a request with fields the SDK's cipher encrypts.
type sensitive struct {
	AppID           string `json:"appid"`
	MchID           string `json:"mchid"`
	OutTradeNo      string `json:"out_trade_no"`
	Customs         string `json:"customs"`
	CertificateType string `json:"certificate_type"`
	CertificateID   string `json:"certificate_id" encryption:"EM_APIV3"`
	CertificateName string `json:"certificate_name" encryption:"EM_APIV3"`
}

// TestOfficialSDK drives WeChat Pay's official Go SDK against the running
// server, with the SDK's own response verification switched on: it
// downloads and decrypts the platform certificate list, then makes the
// five customs calls. The order is pushed through the core as any
// front-end would, and paid by the sandbox.
func TestOfficialSDK(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	m := h.A
	o := h.paidOrder(t, m.M, orderSpec{No: "SDK-ORDER-1", Amount: 8800, Name: "张三", ID: idSucceeds})
	base, _ := url.Parse(h.srv.URL + "/wechatpay")

	// 1. The certificate downloader, bootstrapped without verification as
	// the SDK itself does, then downloading again with it.
	dlClient, err := wxcore.NewClient(ctx, option.WithMerchantCredential(m.MchID, m.Serial, m.Key), option.WithoutValidator(),
		option.WithHTTPClient(&http.Client{Transport: rebase{base}}))
	if err != nil {
		t.Fatalf("SDK client: %v", err)
	}
	dl, err := downloader.NewCertificateDownloaderWithClient(ctx, dlClient, m.APIv3Key)
	if err != nil {
		t.Fatalf("SDK certificate download: %v", err)
	}
	if err := dl.DownloadCertificates(ctx); err != nil {
		t.Fatalf("SDK certificate download, verified: %v", err)
	}
	serial := dl.GetNewestSerial(ctx)
	if pemText, ok := dl.Export(ctx, serial); !ok || pemText != string(h.platform.CertPEM) {
		t.Fatalf("downloaded certificate %s is not the platform certificate", serial)
	}

	// 2. The merchant's client: signs, verifies every response with the
	// downloaded certificate, and encrypts sensitive fields.
	client, err := wxcore.NewClient(ctx,
		option.WithMerchantCredential(m.MchID, m.Serial, m.Key),
		option.WithVerifier(verifiers.NewSHA256WithRSAVerifier(dl)),
		option.WithWechatPayCipher(encryptors.NewWechatPayEncryptor(dl), decryptors.NewWechatPayDecryptor(m.Key)))
	if err != nil {
		t.Fatalf("SDK client: %v", err)
	}
	api := base.String() + "/v3/global/customs"
	do := func(what string, res *wxcore.APIResult, err error) map[string]any {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var v map[string]any
		if err := wxcore.UnMarshalResponse(res.Response, &v); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	query := func() map[string]any {
		t.Helper()
		q := url.Values{"appid": {"wxd678efh567hg6787"}, "mchid": {m.MchID}, "order_type": {"out_trade_no"},
			"order_no": {"SDK-ORDER-1"}, "customs": {"SHANGHAI_ZS"}, "offset": {"0"}, "limit": {"20"}}
		res, err := client.Get(ctx, api+"/orders?"+q.Encode())
		return do("query", res, err)
	}
	state := func(v map[string]any) string {
		data, _ := v["data"].([]any)
		if len(data) != 1 {
			return "no record"
		}
		s, _ := data[0].(map[string]any)["state"].(string)
		return s
	}
	waitState := func(want string) map[string]any {
		t.Helper()
		var v map[string]any
		waitFor(t, "SDK query to show "+want, func() (bool, string) {
			v = query()
			return state(v) == want, state(v)
		})
		return v
	}

	// Declare.
	res, err := client.Post(ctx, api+"/orders", map[string]any{"appid": "wxd678efh567hg6787", "mchid": m.MchID,
		"out_trade_no": "SDK-ORDER-1", "customs": "SHANGHAI_ZS", "merchant_customs_no": "1234567", "duty": 888})
	v := do("declare", res, err)
	if v["state"] != "SUBMITTED" || v["transaction_id"] != o.Payment.No || v["sub_order_id"] == "" {
		t.Fatalf("declare: %v", v)
	}
	// Query.
	v = waitState("SUCCESS")
	if v["verify_department"] != "UNIONPAY" || v["total_count"] != float64(1) {
		t.Fatalf("query: %v", v)
	}
	// Modify.
	res, err = client.Patch(ctx, api+"/orders", map[string]any{"appid": "wxd678efh567hg6787", "mchid": m.MchID,
		"transaction_id": o.Payment.No, "customs": "SHANGHAI_ZS", "merchant_customs_no": "7654321"})
	if v = do("modify", res, err); v["state"] != "SUBMITTED" || v["merchant_customs_no"] != "7654321" {
		t.Fatalf("modify: %v", v)
	}
	v = waitState("SUCCESS")
	if rec := v["data"].([]any)[0].(map[string]any); rec["mch_customs_no"] != "7654321" {
		t.Fatalf("query after modify: %v", v)
	}
	// Redeclare.
	res, err = client.Post(ctx, api+"/redeclare", map[string]any{"appid": "wxd678efh567hg6787", "mchid": m.MchID,
		"out_trade_no": "SDK-ORDER-1", "customs": "SHANGHAI_ZS"})
	if v = do("redeclare", res, err); v["state"] != "SUBMITTED" {
		t.Fatalf("redeclare: %v", v)
	}
	waitState("SUCCESS")
	// Verify certificate: encrypted the seed's way (RSAES-PKCS1-v1_5) to
	// the downloaded certificate...
	cert, _ := dl.Get(ctx, serial)
	encID, err := utils.EncryptPKCS1v15WithCertificate(idSucceeds, cert)
	if err != nil {
		t.Fatal(err)
	}
	encName, err := utils.EncryptPKCS1v15WithCertificate("张三", cert)
	if err != nil {
		t.Fatal(err)
	}
	res, err = client.Request(ctx, http.MethodPost, api+"/verify-certificate", http.Header{"Wechatpay-Serial": {serial}}, nil,
		map[string]any{"appid": "wxd678efh567hg6787", "mchid": m.MchID, "out_trade_no": "SDK-ORDER-1", "customs": "SHANGHAI_ZS",
			"certificate_type": "IDCARD", "certificate_id": encID, "certificate_name": encName}, "application/json")
	if v = do("verify-certificate", res, err); v["certificate_check_result"] != "SAME" {
		t.Fatalf("verify-certificate: %v", v)
	}
	// ... and the SDK's own way, its cipher (OAEP).
	req := &sensitive{AppID: "wxd678efh567hg6787", MchID: m.MchID, OutTradeNo: "SDK-ORDER-1", Customs: "SHANGHAI_ZS",
		CertificateType: "IDCARD", CertificateID: idSucceeds, CertificateName: "李四"}
	encSerial, err := client.EncryptRequest(ctx, req)
	if err != nil || req.CertificateID == idSucceeds {
		t.Fatalf("SDK EncryptRequest: %v", err)
	}
	res, err = client.Request(ctx, http.MethodPost, api+"/verify-certificate", http.Header{"Wechatpay-Serial": {encSerial}}, nil, req, "application/json")
	if v = do("verify-certificate (SDK cipher)", res, err); v["certificate_check_result"] != "DIFFERENT" {
		t.Fatalf("verify-certificate with another name: %v", v)
	}

	// An error reaches the SDK as its APIError, in WeChat's model.
	_, err = client.Post(ctx, api+"/redeclare", map[string]any{"appid": "wxd678efh567hg6787", "mchid": m.MchID,
		"out_trade_no": "NO-SUCH-ORDER", "customs": "SHANGHAI_ZS"})
	var apiErr *wxcore.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "NOT_FOUND" {
		t.Fatalf("redeclare of an unknown order: %v", err)
	}

	// The same through the PEM `baoguan platform-cert` prints, installed
	// by hand instead of downloaded, on the older path shape and the
	// dedicated listener.
	blk, _ := pem.Decode(h.platform.CertPEM)
	installed, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := wxcore.NewClient(ctx, option.WithWechatPayAuthCipher(m.MchID, m.Serial, m.Key, []*x509.Certificate{installed}))
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"appid": {"wx"}, "mchid": {m.MchID}, "order_type": {"transaction_id"}, "order_no": {o.Payment.No}, "customs": {"SHANGHAI_ZS"}}
	res, err = pinned.Get(ctx, h.root.URL+"/global/v3/customs/orders?"+q.Encode())
	if v = do("query with the installed certificate", res, err); state(v) != "SUCCESS" {
		t.Fatalf("query: %v", v)
	}

	// A response whose signature does not verify is refused by the SDK:
	// a client trusting another certificate rejects baoguan's answer.
	other := newMerchantCert(t, "0")
	distrust, err := wxcore.NewClient(ctx, option.WithMerchantCredential(m.MchID, m.Serial, m.Key),
		option.WithWechatPayCertificate([]*x509.Certificate{other.Cert}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := distrust.Get(ctx, h.root.URL+"/global/v3/customs/orders?"+q.Encode()); err == nil || !strings.Contains(err.Error(), "verify") {
		t.Fatalf("a client trusting another certificate accepted the response: %v", err)
	}

	ds, err := h.svc.Declarations(ctx, m.M, "SDK-ORDER-1")
	if err != nil || len(ds) != 1 || ds[0].State != baoguan.DeclSuccess || ds[0].Attempts != 3 || ds[0].MerchantCustomsNo != "7654321" {
		t.Fatalf("core view after the SDK calls: %+v %v", ds, err)
	}
}
