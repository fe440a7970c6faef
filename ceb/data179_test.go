package ceb_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/ceb"
	"github.com/baoguan/baoguan/ceb/cebtest"
)

// fixturePayExInfoStr is the payExInfoStr of samples/179.json: an upload a
// payment company's signing service made and customs accepted (10000).
func fixturePayExInfoStr(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "179_fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Data struct {
			Payload struct {
				PayExInfoStr string `json:"payExInfoStr"`
			} `json:"payload"`
			Original string `json:"original"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.Data.Original, `"code":"10000"`) {
		t.Fatalf("the fixture was not accepted by customs: %s", f.Data.Original)
	}
	return f.Data.Payload.PayExInfoStr
}

// Read and written again, the accepted upload comes out byte for byte: the
// JSON baoguan writes (field order, totalAmount 5.0, raw XML unescaped) is
// the JSON customs accepted.
func TestPayExInfoMatchesAcceptedUpload(t *testing.T) {
	want := fixturePayExInfoStr(t)
	p, err := ceb.ParsePayExInfo([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if p.Head.TotalAmount != 500 {
		t.Errorf("totalAmount read as %d fen, want 500", p.Head.TotalAmount)
	}
	got, err := p.Body()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("re-encoded upload differs:\n got %s\nwant %s", got, want)
	}
	s, err := p.SignString()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "179_signstring_fixture.txt", []byte(s+"\n"))
	// The sign string quotes the head and lists exactly as the body has
	// them, unescaped, in the order the public descriptions give.
	head := want[strings.Index(want, `"payExchangeInfoHead":`)+len(`"payExchangeInfoHead":`) : strings.Index(want, `,"payExchangeInfoLists"`)]
	lists := want[strings.Index(want, `"payExchangeInfoLists":`)+len(`"payExchangeInfoLists":`) : strings.Index(want, `,"serviceTime"`)]
	wantSign := `"sessionID":"IHWESX-WEASLEY-20230712210643-X7E4PL"||"payExchangeInfoHead":"` + head + `"||"payExchangeInfoLists":"` + lists + `"||"serviceTime":"1601282210417"`
	if s != wantSign {
		t.Errorf("sign string\n got %s\nwant %s", s, wantSign)
	}
}

func TestYuanJSON(t *testing.T) {
	for fen, want := range map[int64]string{500: "5.0", 550: "5.5", 525: "5.25", 1: "0.01", 10: "0.1", 100000: "1000.0", 19050: "190.5", 12345: "123.45"} {
		b, err := json.Marshal(ceb.Yuan(fen))
		if err != nil || string(b) != want {
			t.Errorf("Yuan(%d) = %s %v, want %s", fen, b, err, want)
		}
		var back ceb.Yuan
		if err := json.Unmarshal(b, &back); err != nil || int64(back) != fen {
			t.Errorf("%s read back as %d %v", b, back, err)
		}
	}
}

// order179 is a paid order as baoguan holds it, with the raw channel
// exchange kept for 179.
func order179() (*baoguan.Order, *baoguan.Merchant) {
	o := &baoguan.Order{MerchantOrderNo: "ORD20260315001", Amount: 19050, PayStatus: baoguan.PaySucceed,
		Items: []baoguan.Item{{Subject: "济州花梨精华面膜", Link: "https://shop.example.com/item/999761"}, {Subject: "防晒霜 SPF50", Link: "https://shop.example.com/item/1002?a=1&b=2"}},
		Payment: baoguan.Payment{No: "P2026031500012345", PSPCode: "1101110323", PSPName: "荔枝支付有限公司",
			PaidAt: time.Date(2026, 3, 15, 15, 35, 55, 0, cst), VerDept: "3", PayType: "1",
			InitRequest:  `<xml><appid><![CDATA[wx2421b1c4370ec43b]]></appid><out_trade_no>ORD20260315001</out_trade_no><total_fee>19050</total_fee></xml>`,
			InitResponse: `<xml><return_code><![CDATA[SUCCESS]]></return_code><result_code><![CDATA[SUCCESS]]></result_code><transaction_id>P2026031500012345</transaction_id><time_end>20260315153555</time_end></xml>`}}
	m := &baoguan.Merchant{No: "M100001", EBPCode: "46016602EV", EBPName: "海南省荣誉进出口贸易有限公司"}
	return o, m
}

// The upload of an order: golden sign string and body (with a fixed
// signature, since the stand-in's key is new every run).
func TestPayExInfoGolden(t *testing.T) {
	c := testConfig()
	o, m := order179()
	req := ceb.OpenReq{OrderNo: "ORD20260315001", SessionID: "032C3F56-0EE6-4558-B548-6C7A3451F07D", ServiceTime: 1773560400000}
	p := c.PayExInfoFor(req, o, m, nil, time.Date(2026, 3, 15, 15, 40, 0, 0, cst))
	s, err := p.SignString()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "179_signstring.txt", []byte(s+"\n"))
	p.CertNo, p.SignValue = "03000000000cde6f", "c2lnbmF0dXJl"
	body, err := p.Body()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "179_upload.json", append(body, '\n'))
	if !json.Valid(body) {
		t.Error("body is not JSON")
	}
	// A sub-order is uploaded as declared: its number, amount and part
	// transaction id.
	part := &baoguan.Declaration{SubOrderNo: "ORD20260315001-2", OrderFee: 7050}
	req.OrderNo = part.SubOrderNo
	sp := c.PayExInfoFor(req, o, m, part, time.Date(2026, 3, 15, 15, 40, 0, 0, cst))
	if sp.Lists[0].OrderNo != part.SubOrderNo || sp.Head.TotalAmount != 7050 || sp.Head.PayTransactionID != baoguan.PartTransactionID(o.Payment.No, part.SubOrderNo) {
		t.Errorf("sub-order upload %+v", sp)
	}
	if sp.Head.GUID == p.Head.GUID {
		t.Error("two orders' uploads share a guid")
	}
}

func TestPayExInfoRefusals(t *testing.T) {
	c := testConfig()
	for _, tc := range []struct {
		field  string
		change func(*baoguan.Order, *baoguan.Merchant)
	}{
		{"payExchangeInfoHead.initalRequest", func(o *baoguan.Order, _ *baoguan.Merchant) { o.Payment.InitRequest = "" }},
		{"payExchangeInfoHead.initalResponse", func(o *baoguan.Order, _ *baoguan.Merchant) { o.Payment.InitResponse = " " }},
		{"payExchangeInfoHead.ebpCode", func(_ *baoguan.Order, m *baoguan.Merchant) { m.EBPCode = "" }},
		{"payExchangeInfoHead.payTransactionId", func(o *baoguan.Order, _ *baoguan.Merchant) { o.Payment.No = "" }},
		{"payExchangeInfoHead.payType", func(o *baoguan.Order, _ *baoguan.Merchant) { o.Payment.PayType = "9" }},
		{"payExchangeInfoHead.tradingTime", func(o *baoguan.Order, _ *baoguan.Merchant) { o.Payment.PaidAt = time.Time{}.AddDate(-2000, 0, 0) }},
		{"payExchangeInfoLists[0].goodsInfo", func(o *baoguan.Order, _ *baoguan.Merchant) { o.Items = nil }},
		{"payExchangeInfoLists[0].goodsInfo[1].itemLink", func(o *baoguan.Order, _ *baoguan.Merchant) { o.Items[1].Link = "" }},
		{"payExchangeInfoLists[0].recpName", func(_ *baoguan.Order, m *baoguan.Merchant) { m.EBPName = "" }},
		{"payExchangeInfoHead.totalAmount", func(o *baoguan.Order, _ *baoguan.Merchant) { o.Amount = 0 }},
	} {
		o, m := order179()
		tc.change(o, m)
		p := c.PayExInfoFor(ceb.OpenReq{OrderNo: "ORD20260315001", SessionID: "S1"}, o, m, nil, time.Now())
		if _, err := p.SignString(); baoguan.ErrorField(err) != tc.field {
			t.Errorf("want an error on %s, got %v", tc.field, err)
		}
	}
	o, m := order179()
	p := c.PayExInfoFor(ceb.OpenReq{OrderNo: "ORD20260315001", SessionID: "S1"}, o, m, nil, time.Now())
	if _, err := p.Body(); baoguan.ErrorField(err) != "signValue" {
		t.Errorf("unsigned body: %v", err)
	}
}

func TestParseOpenReq(t *testing.T) {
	r, err := ceb.ParseOpenReq(`{"orderNo":"202009231454212140210352","sessionID":"032C3F56-0EE6-4558-B548-6C7A3451F07D","serviceTime":"1600852846372"}`)
	if err != nil || r.OrderNo != "202009231454212140210352" || r.SessionID != "032C3F56-0EE6-4558-B548-6C7A3451F07D" || r.ServiceTime != 1600852846372 {
		t.Errorf("%+v %v", r, err)
	}
	if r, err := ceb.ParseOpenReq(`{"orderNo":"O1","sessionID":"S","serviceTime":1600852846372,"extra":true}`); err != nil || r.ServiceTime != 1600852846372 {
		t.Errorf("numeric serviceTime: %+v %v", r, err)
	}
	for field, s := range map[string]string{
		"openReq":     `{"orderNo":"O1","sessionID":"S","serviceTime":"1"} {}`,
		"orderNo":     `{"sessionID":"S","serviceTime":"1"}`,
		"sessionID":   `{"orderNo":"O1","sessionID":"","serviceTime":"1"}`,
		"serviceTime": `{"orderNo":"O1","sessionID":"S","serviceTime":"yesterday"}`,
	} {
		if _, err := ceb.ParseOpenReq(s); baoguan.ErrorField(err) != field {
			t.Errorf("%s: got %v", s, err)
		}
	}
	for _, s := range []string{"", "orderNo=1", `[]`, `{"orderNo":"O\u0001","sessionID":"S","serviceTime":"1"}`,
		`{"orderNo":"` + strings.Repeat("1", 61) + `","sessionID":"S","serviceTime":"1"}`, `{"orderNo":"O1","sessionID":"S","serviceTime":"-5"}`,
		`{"orderNo":"O1","sessionID":"S","serviceTime":"+5"}`, `{"orderNo":"O1","sessionID":"S","serviceTime":1.5}`,
		`{"orderNo":"O1","sessionID":"S","serviceTime":null}`, `{"orderNo":null,"sessionID":"S","serviceTime":"1"}`,
		strings.Repeat(" ", ceb.MaxOpenReq+1)} {
		if r, err := ceb.ParseOpenReq(s); err == nil || baoguan.ErrorCode(err) != baoguan.EINVALID {
			t.Errorf("%.60q: %+v %v", s, r, err)
		}
	}
}

func TestOpenAnswer(t *testing.T) {
	now := time.UnixMilli(1533271903898)
	if got := string(ceb.OpenAnswer(now)); got != `{"code":"10000","message":"","serviceTime":1533271903898}` {
		t.Errorf("answer %s", got)
	}
	if got := string(ceb.OpenRefusal(now, "openReq <is> missing")); got != `{"code":"20000","message":"openReq <is> missing","serviceTime":1533271903898}` {
		t.Errorf("refusal %s", got)
	}
}

func TestOpenHandler(t *testing.T) {
	var got []ceb.OpenReq
	fail := false
	h := ceb.OpenHandler(func(_ context.Context, r ceb.OpenReq) error {
		if fail {
			return baoguan.Errorf(baoguan.EINTERNAL, "database is down")
		}
		got = append(got, r)
		return nil
	}, func() time.Time { return time.UnixMilli(1533271903898) })
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(form url.Values) map[string]any {
		resp, err := http.PostForm(srv.URL, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("status %d, content type %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var a map[string]any
		json.NewDecoder(resp.Body).Decode(&a)
		return a
	}
	a := post(url.Values{"openReq": {`{"orderNo":"ORD1","sessionID":"S1","serviceTime":"1600852846372"}`}})
	if a["code"] != "10000" || len(got) != 1 || got[0].OrderNo != "ORD1" {
		t.Errorf("answer %v, accepted %v", a, got)
	}
	if a := post(url.Values{"other": {"x"}}); a["code"] != "20000" || !strings.Contains(a["message"].(string), "openReq") {
		t.Errorf("no openReq: %v", a)
	}
	fail = true
	if a := post(url.Values{"openReq": {`{"orderNo":"ORD1","sessionID":"S2","serviceTime":"1"}`}}); a["code"] != "20000" || a["message"] != "internal error" {
		t.Errorf("failing store: %v", a)
	}
	resp, _ := http.Get(srv.URL)
	var ga map[string]any
	json.NewDecoder(resp.Body).Decode(&ga)
	resp.Body.Close()
	if ga["code"] != "20000" {
		t.Errorf("GET: %v", ga)
	}
}

// The whole 179 flow against stand-ins: customs asks, baoguan answers
// 10000, builds and signs the data through the http signer, uploads it,
// and customs verifies the signature with the signer's key.
func TestUpload179(t *testing.T) {
	signerSvc, signer := standIn(t)
	customs := cebtest.NewCustoms(signerSvc.Verify179)
	defer customs.Close()
	c := testConfig()
	o, m := order179()
	asked := make(chan ceb.OpenReq, 1)
	plat := httptest.NewServer(ceb.OpenHandler(func(_ context.Context, r ceb.OpenReq) error { asked <- r; return nil }, time.Now))
	defer plat.Close()

	session, code, err := customs.Ask(plat.URL+"/platDataOpen", o.MerchantOrderNo)
	if err != nil || code != "10000" {
		t.Fatalf("platDataOpen: %s %v", code, err)
	}
	req := <-asked
	if req.SessionID != session {
		t.Fatalf("session %s, customs opened %s", req.SessionID, session)
	}
	p := c.PayExInfoFor(req, o, m, nil, time.Now())
	if err := p.Sign(context.Background(), signer); err != nil {
		t.Fatal(err)
	}
	body, err := p.Body()
	if err != nil {
		t.Fatal(err)
	}
	up := &ceb.Uploader{URL: customs.UploadURL()}
	a, err := up.Upload(context.Background(), body)
	if err != nil || a.Code != "10000" {
		t.Fatalf("upload: %+v %v", a, err)
	}
	ups := customs.Uploads()
	if len(ups) != 1 || !ups[0].SignValid || ups[0].Data.Head.InitalRequest != o.Payment.InitRequest {
		t.Errorf("customs received %+v", ups)
	}
	// Data changed after signing is refused, for good.
	tampered := strings.Replace(string(body), `"totalAmount":190.5`, `"totalAmount":19.05`, 1)
	if _, err := up.Upload(context.Background(), []byte(tampered)); !isPermanent(err) {
		t.Errorf("tampered upload: %v (want a permanent refusal)", err)
	}
	// An upload for a session customs never opened is refused too.
	other := p
	other.SessionID = "NOT-A-SESSION"
	if err := other.Sign(context.Background(), signer); err != nil {
		t.Fatal(err)
	}
	ob, _ := other.Body()
	if a, err := up.Upload(context.Background(), ob); !isPermanent(err) || a.Code != "20000" {
		t.Errorf("unknown session: %+v %v", a, err)
	}
}

// How upload failures are classified: retried (plain error) or not
// (baoguan.Permanent); the form field is configurable.
func TestUploaderClassification(t *testing.T) {
	var status int
	var reply, field string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		for k := range r.PostForm {
			field = k
		}
		w.WriteHeader(status)
		w.Write([]byte(reply))
	}))
	defer srv.Close()
	for _, c := range []struct {
		status    int
		reply     string
		ok, retry bool
	}{
		{200, `{"code":"10000","message":"上传成功","total":0,"serviceTime":1689167204577}`, true, false},
		{200, `{"code":10000,"message":"上传成功"}`, true, false},
		{200, `{"code":"20000","message":"验签失败"}`, false, false},
		{200, `<html>maintenance</html>`, false, true},
		{502, `bad gateway`, false, true},
		{503, ``, false, true},
		{429, ``, false, true},
		{400, `bad request`, false, false},
		{404, ``, false, false},
	} {
		status, reply = c.status, c.reply
		_, err := (&ceb.Uploader{URL: srv.URL + ceb.UploadPath}).Upload(context.Background(), []byte(`{}`))
		switch {
		case c.ok && err != nil, !c.ok && err == nil:
			t.Errorf("%d %s: %v", c.status, c.reply, err)
		case !c.ok && isPermanent(err) == c.retry:
			t.Errorf("%d %s: %v (retry %v)", c.status, c.reply, err, c.retry)
		}
		if field != ceb.DefaultUploadField {
			t.Errorf("posted as %q", field)
		}
	}
	status, reply = 200, `{"code":"10000"}`
	if _, err := (&ceb.Uploader{URL: srv.URL, Field: "payExInfo"}).Upload(context.Background(), []byte(`{}`)); err != nil || field != "payExInfo" {
		t.Errorf("custom field: %s %v", field, err)
	}
	if _, err := (&ceb.Uploader{URL: "http://127.0.0.1:1" + ceb.UploadPath}).Upload(context.Background(), []byte(`{}`)); err == nil || isPermanent(err) {
		t.Errorf("customs unreachable: %v (want a retried error)", err)
	}
}
