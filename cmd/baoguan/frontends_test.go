package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Each vendor protocol is served under /<protocol> on the main listener and,
// with --<protocol>-addr, at the root of its own listener.
func TestFrontendsMounted(t *testing.T) {
	db := filepath.Join(t.TempDir(), "fe.db")
	env := envOf()
	mustRun(t, env, "merchant", "create", "--db", "sqlite:"+db, "--name", "商户1", "--no", "M1", "--json")
	mustRun(t, env, "merchant", "key", "--db", "sqlite:"+db, "--merchant", "M1", "--protocol", "pushorder", "--access-token", "Fe7tok3n9Qx2Lm5Rv8Zw1Bc4Nd6Kp0Hs")
	s := startServer(t, env, "--db", "sqlite:"+db, "--pushorder-addr", "127.0.0.1:0", "--accp-addr", "127.0.0.1:0", "--wisecashier-addr", "127.0.0.1:0")
	var dedicated string
	deadline := time.Now().Add(10 * time.Second)
	re := regexp.MustCompile(`pushorder protocol served at (http://\S+)`)
	for dedicated == "" && time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.Stdout.String()); m != nil {
			dedicated = m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	if dedicated == "" {
		t.Fatalf("no dedicated pushorder listener announced:\n%s", s.Stdout)
	}
	data := `{" OperationType ": "A","OrderNo": "FE1","ReceiverName": "张三","ReceiverCardNo": "110105199001011232","TotalNum": 1,"OrderTotal": 10.5,"ItemNames": "测试商品","ShopPayTime": "2018-07-01 21:22:34"," MerchantName ": "商户1"," ReceiverMobile ": "13817494910"}`
	for _, u := range []string{s.URL + "/pushorder/Fe7tok3n9Qx2Lm5Rv8Zw1Bc4Nd6Kp0Hs/PushTestOrder", dedicated + "/Fe7tok3n9Qx2Lm5Rv8Zw1Bc4Nd6Kp0Hs/PushTestOrder"} {
		resp, err := http.PostForm(u, url.Values{"data": {data}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"ReturnCode":"0000"`) {
			t.Errorf("%s: %s", u, b)
		}
	}
	// The wrong token writes nothing and is refused with the document's 9912.
	resp, err := http.PostForm(dedicated+"/wrong/PushTestOrder", url.Values{"data": {strings.Replace(data, "FE1", "FE2", 1)}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"9912"`) {
		t.Errorf("wrong token: %s", b)
	}
	// The accp routes answer under their prefix in LianLian's format.
	resp, err = http.Post(s.URL+"/accp/v1/cbpayment/apply-pushpay", "application/json;charset=utf-8", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"ret_code"`) {
		t.Errorf("accp: %s", b)
	}
	// WeChat Pay v3 is under /wechatpay and refuses an unsigned request
	// with WeChat's own error model.
	resp, err = http.Get(s.URL + "/wechatpay/v3/certificates")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "SIGN_ERROR") {
		t.Errorf("wechatv3 unsigned: %d %s", resp.StatusCode, b)
	}
	// payzero is under /payzero with its envelope; bad credentials are refused.
	resp, err = http.Post(s.URL+"/payzero/auth/login", "application/json", strings.NewReader(`{"username":"nobody","password":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"success":false`) {
		t.Errorf("payzero bad login: %d %s", resp.StatusCode, b)
	}
	// WiseCashier is under /wisecashier and on its own listener; an
	// unsigned request is 401 in the document's envelope.
	var wise string
	wre := regexp.MustCompile(`wisecashier protocol served at (http://\S+)`)
	for deadline := time.Now().Add(10 * time.Second); wise == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := wre.FindStringSubmatch(s.Stdout.String()); m != nil {
			wise = m[1]
		}
	}
	if wise == "" {
		t.Fatalf("no dedicated wisecashier listener announced:\n%s", s.Stdout)
	}
	for _, u := range []string{s.URL + "/wisecashier/rate?currency=USD", wise + "/rate?currency=USD"} {
		resp, err = http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"status_code":401`) {
			t.Errorf("wisecashier unsigned at %s: %d %s", u, resp.StatusCode, b)
		}
	}
}
