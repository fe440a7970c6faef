package pushorder

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// TestReadData covers the body shapes a client may send data in.
func TestReadData(t *testing.T) {
	s := &Server{maxBody: 1 << 10}
	const obj = `{"OrderNo":"1","ItemNames":"a+b&c%d"}`
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("other", "x")
	_ = mw.WriteField("data", obj)
	_ = mw.Close()
	cases := []struct {
		name, ct, body string
		want           string // "" = an error
	}{
		{"unencoded, as the .NET sample", "application/x-www-form-urlencoded", "data=" + obj, obj},
		{"unencoded with a BOM and a newline", "application/x-www-form-urlencoded", "\ufeffdata=" + obj + "\r\n", obj},
		{"URL-encoded form", "application/x-www-form-urlencoded", "data=%7B%22OrderNo%22%3A%221%22%2C%22ItemNames%22%3A%22a%2Bb%26c%25d%22%7D", obj},
		{"form with another field first", "application/x-www-form-urlencoded", "x=1&data=%7B%7D", "{}"},
		{"bare JSON", "application/json", obj, obj},
		{"multipart", mw.FormDataContentType(), mp.String(), obj},
		{"no data", "application/x-www-form-urlencoded", "x=1", ""},
		{"empty", "", "", ""},
		{"too large", "", "data=" + strings.Repeat("x", 2<<10), ""},
		{"multipart without data", "multipart/form-data; boundary=zz", "--zz--\r\n", ""},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/PushOrder", strings.NewReader(c.body))
		if c.ct != "" {
			r.Header.Set("Content-Type", c.ct)
		}
		got, err := s.readData(httptest.NewRecorder(), r)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("%s: accepted %q", c.name, got)
		case c.want == "" && baoguan.ErrorReason(err) != reasonBadData:
			t.Errorf("%s: error %v, want reason %s", c.name, err, reasonBadData)
		case c.want != "" && (err != nil || string(got) != c.want):
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// TestParseFields covers key normalisation, null and types.
func TestParseFields(t *testing.T) {
	f, err := parseFields([]byte(`{" OperationType ":"A","TOTALNUM":5.0,"ordertotal":"100.00"," CustomsCode ":null,"x":{"y":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"OperationType": "A", "TotalNum": "5.0", "OrderTotal": "100.00", "CustomsCode": ""} {
		if got, err := f.text(name); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := f.text("x"); baoguan.ErrorReason(err) != reasonBadData {
		t.Errorf("an object field: %v", err)
	}
	for _, bad := range []string{`{"a":1,"a":2}`, `{"a":1," A":2}`, `{"a":1} {}`, `{"a":}`, `"x"`, ``} {
		if _, err := parseFields([]byte(bad)); baoguan.ErrorReason(err) != reasonBadData {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// TestFailureCodes checks the explanations the sandbox never produces:
// 9914 and 9915 come from a live port's or channel's wording.
func TestFailureCodes(t *testing.T) {
	decl := func(st baoguan.DeclState, why string) *baoguan.Declaration {
		return &baoguan.Declaration{State: st, Explanation: why}
	}
	cases := []struct{ got, want string }{
		{declFailure(decl(baoguan.DeclFail, "订单重复申报")), "9914 请勿重复下单（订单重复申报）"},
		{declFailure(decl(baoguan.DeclFail, "银联风险受限")), "9915 银联风险受限"},
		{declFailure(decl(baoguan.DeclFail, "支付单验证失败")), "9912 支付单验证失败"},
		{declFailure(decl(baoguan.DeclFail, "订购人姓名不合法")), "9911 实名认证异常（订购人姓名不合法）"},
		{declFailure(decl(baoguan.DeclExcept, "海关接口异常")), "报关失败：海关接口异常"},
		{payFailure("交易存在风险，银联拒绝"), "9915 银联风险受限（交易存在风险，银联拒绝）"},
		{payFailure("商户垫资账户余额不足"), "9913 已请求支付,但是由于卡上余额不足,故报错后无法再次发起支付,原因是订单号重复（商户垫资账户余额不足）"},
		{payFailure(""), "支付失败"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestIsOK(t *testing.T) {
	for body, want := range map[string]bool{"ok": true, "OK": true, " Ok\r\n": true, `"ok"`: true, "\ufeffok": true,
		"okay": false, "": false, "fail": false, "ok ok": false} {
		if isOK(body) != want {
			t.Errorf("isOK(%q) = %v", body, !want)
		}
	}
}

func TestParseNets(t *testing.T) {
	nets, bad := parseNets(" 203.0.113.0/24, 198.51.100.7 ,2001:db8::/32,nonsense,, 10.0.0.300")
	if len(nets) != 3 || len(bad) != 2 {
		t.Fatalf("nets %v bad %v", nets, bad)
	}
	for ip, want := range map[string]bool{"203.0.113.200": true, "198.51.100.7": true, "198.51.100.8": false, "2001:db8::1": true, "10.0.0.1": false} {
		a := netip.MustParseAddr(ip)
		got := false
		for _, p := range nets {
			got = got || p.Contains(a)
		}
		if got != want {
			t.Errorf("%s allowed=%v", ip, got)
		}
	}
}
