package main

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/ceb/cebtest"
)

// eportArgs are the --eport-* settings of an installation whose E-Port
// folders are under dir.
func eportArgs(dir string, extra ...string) []string {
	return append([]string{"--eport-customs", "HG014", "--eport-pay-code", "1101110323", "--eport-pay-name", "荔枝支付有限公司",
		"--eport-ebp-code", "46016602EV", "--eport-ebp-name", "海南省荣誉进出口贸易有限公司",
		"--eport-cop-code", "1101110323", "--eport-cop-name", "荔枝支付有限公司", "--eport-dxp-id", "DXPENT0000011951",
		"--eport-outbox", filepath.Join(dir, "send"), "--eport-inbox", filepath.Join(dir, "receive")}, extra...)
}

// The 179 flow with the real binary: a stand-in customs server asks for an
// order's payment data at platDataOpen, is answered 10000 at once, and
// receives an upload whose signature verifies with the stand-in signing
// service's public key, carrying the payment's raw channel exchange.
func TestEPort179EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	bin := baoguanBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	signer, err := cebtest.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Close()
	customs := cebtest.NewCustoms(signer.Verify179)
	defer customs.Close()

	out, err := exec.Command(bin, "merchant", "create", "--db", "sqlite:"+db, "--name", "shop", "--json").Output()
	if err != nil {
		t.Fatalf("merchant create: %v", err)
	}
	var cred struct {
		No     string `json:"merchant_no"`
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(out, &cred); err != nil || cred.APIKey == "" {
		t.Fatalf("merchant create printed %q: %v", out, err)
	}
	p := startServe(t, bin, db, eportArgs(dir, "--eport-signer", "http", "--eport-signer-url", signer.URL(),
		"--eport-signer-token", signer.Token, "--eport-179-upload-url", customs.UploadURL())...)

	body := `{"merchant_order_no":"E179-1","amount":19050,"subject":"面膜","channel":"mock",` +
		`"items":[{"subject":"济州花梨精华面膜","link":"https://shop.example.com/item/999761"}],` +
		`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"}}`
	req, _ := http.NewRequest("POST", p.base+"/v1/orders", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cred.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create order: %v %v", resp, err)
	}
	resp.Body.Close()
	waitFor(t, p, "the order to be paid", func() bool {
		r, err := http.NewRequest("GET", p.base+"/v1/orders/E179-1", nil)
		if err != nil {
			return false
		}
		r.Header.Set("Authorization", "Bearer "+cred.APIKey)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var o struct {
			PayStatus string `json:"pay_status"`
		}
		json.NewDecoder(resp.Body).Decode(&o)
		return o.PayStatus == "PAY_SUCCEED"
	})

	// Customs asks at the shared address and at the merchant's own; an
	// unknown order number is answered 10000 too (and kept).
	for _, path := range []string{"/platDataOpen", "/platDataOpen/" + cred.No} {
		if _, code, err := customs.Ask(p.base+path, "E179-1"); err != nil || code != "10000" {
			t.Fatalf("platDataOpen %s answered %q: %v", path, code, err)
		}
	}
	if _, code, err := customs.Ask(p.base+"/platDataOpen", "NOT-AN-ORDER"); err != nil || code != "10000" {
		t.Fatalf("platDataOpen for an unknown order answered %q: %v", code, err)
	}
	waitFor(t, p, "two uploads", func() bool { return len(customs.Uploads()) >= 2 })
	for _, u := range customs.Uploads() {
		if !u.SignValid || u.Code != "10000" {
			t.Errorf("upload refused (%s %s): %s", u.Code, u.Message, u.Body)
		}
		h := u.Data.Head
		if !strings.Contains(h.InitalRequest, "E179-1") || h.InitalResponse == "" || h.TotalAmount != 19050 ||
			h.EBPCode != "46016602EV" || h.PayCode == "" || u.Data.Lists[0].GoodsInfo[0].ItemLink != "https://shop.example.com/item/999761" {
			t.Errorf("upload data: %+v", u.Data)
		}
	}
	// What the operator sees: two uploads, the unknown order kept and not
	// uploaded (waited for: customs' answer is recorded just after it).
	waitFor(t, p, "the requests' outcomes", func() bool {
		out, err := exec.Command(bin, "payment-data", "--db", "sqlite:"+db, "--json").Output()
		if err != nil {
			return false
		}
		var reqs []paymentDataJSON
		if json.Unmarshal(out, &reqs) != nil {
			return false
		}
		states := map[string]int{}
		for _, r := range reqs {
			states[r.OrderNo+" "+r.State+" "+r.Code]++
		}
		return len(reqs) == 3 && states["E179-1 uploaded 10000"] == 2 && states["NOT-AN-ORDER unknown_order "] == 1
	})
	if n := len(customs.Uploads()); n != 2 {
		t.Errorf("%d uploads, want 2 (none for the unknown order)", n)
	}
}

// waitFor polls cond until it holds, failing with the server's logs after
// 30 seconds.
func waitFor(t *testing.T, p *proc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out; logs:\n%s", what, tail(p.logs.String(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
