package pushorder_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/pushorder"
)

var update = flag.Bool("update", false, "rewrite the golden replies in testdata/")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDocumentSamples sends the document's samples byte for byte — the
// PushOrder request with its spaced keys and 5.0 / 100.0, and the GetOrder
// request its .NET code builds — and compares baoguan's replies and the
// callback with golden files. The clock is frozen so that the payment
// number and time are the same on every run.
func TestDocumentSamples(t *testing.T) {
	frozen := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, harnessOptions{frozen: frozen})
	sample := readTestdata(t, "pushorder_sample.json")

	// PushOrder, as the .NET sample sends it: "data=" + the JSON, unencoded.
	status, body := h.post(t, h.Sample.base()+"/PushTestOrder", "data="+string(sample))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	golden(t, "pushorder_sample.reply.json", body)

	// The same sample, serialized the way JsonConvert writes it (compact)
	// and URL-encoded the way a POST tool sends a form, each as a new order.
	var compact bytes.Buffer
	if err := json.Compact(&compact, sample); err != nil {
		t.Fatal(err)
	}
	variants := map[string]string{
		"20180624000000112": "data=" + strings.Replace(compact.String(), "20180624000000111", "20180624000000112", 1),
		"20180624000000113": "data=" + url.QueryEscape(strings.Replace(string(sample), "20180624000000111", "20180624000000113", 1)),
	}
	for no, b := range variants {
		if r := h.call(t, h.Sample.base()+"/PushTestOrder", b); r.ReturnCode != pushorder.CodeOK || r.OrderNo != no {
			t.Errorf("variant %s: %+v", no, r)
		}
	}

	// What the sample pushed is what was stored: 100.0 yuan is 10000 fen,
	// 5.0 is 5 pieces, ShopPayTime is China time, CapitalName is kept.
	v := h.waitDetail(t, h.Sample, "20180624000000111")
	o := v.Order
	if o.Amount != 10000 || o.Items[0].Quantity != 5 || o.Subject != "测试商品" || o.CapitalName != "资方 1" ||
		o.Payer.Name != "张三" || o.Payer.IDNumber != idSample || o.Payer.Phone != "13817494910" ||
		!o.OrderedAt.Equal(time.Date(2018, 7, 1, 13, 22, 34, 0, time.UTC)) || !o.Sandbox || o.Protocol != pushorder.Protocol {
		t.Errorf("stored order: %+v", o)
	}
	if len(v.Declarations) != 1 || v.Declarations[0].Customs != "HG014" {
		t.Errorf("declarations: %+v", v.Declarations)
	}
	got := h.waitCustoms(t, h.Sample, "20180624000000111", is(pushorder.MsgDone))

	// The callback of the sample order, as the document prints it:
	// data={"order_no","payment_no","result":"T","result_msg":"已支付+已报关"}.
	h.cb.waitCallbacks(t, "/cb/sample", "20180624000000111", 1)
	for _, c := range h.cb.raw("/cb/sample") {
		if strings.Contains(c.Data, "20180624000000111") {
			if c.ContentType != "application/x-www-form-urlencoded" {
				t.Errorf("callback content type %q", c.ContentType)
			}
			golden(t, "callback_sample.body", []byte(c.Raw))
			want := `{"order_no":"20180624000000111","payment_no":"` + got.PaymentNo + `","result":"T","result_msg":"已支付+已报关"}`
			if c.Data != want {
				t.Errorf("callback data\n got: %s\nwant: %s", c.Data, want)
			}
		}
	}

	// GetOrder: the document's request is the .NET PosPayment object for
	// order 2018073000001 of 测试商户; push that order first.
	getSample := readTestdata(t, "getorder_sample.json")
	push := strings.NewReplacer("20180624000000111", "2018073000001", "商户 1", "测试商户").Replace(string(sample))
	if r := h.call(t, h.Test.base()+"/PushTestOrder", "data="+push); r.ReturnCode != pushorder.CodeOK {
		t.Fatalf("push 2018073000001: %+v", r)
	}
	h.waitCustoms(t, h.Test, "2018073000001", is(pushorder.MsgDone))
	status, body = h.post(t, h.Test.base()+"/GetTestOrder", "data="+string(getSample))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	golden(t, "getorder_sample.reply.json", body)
}

// TestDedicatedListener serves the routes at the root, as --pushorder-addr
// does, so the vendor's own URL shape (http://host/PushTestOrder) works.
func TestDedicatedListener(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	po, err := pushorder.New(pushorder.Options{Svc: h.svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(po.Handler())
	defer srv.Close()
	send := func(path, body string) reply {
		resp, err := http.Post(srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r reply
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Net Only is allowed by address alone: the document's URLs unchanged.
	if r := send("/PushTestOrder", sampleOrder("ROOT-1", h.Net.M.Name).body()); r.ReturnCode != pushorder.CodeOK {
		t.Fatalf("root PushTestOrder: %+v", r)
	}
	// A token merchant puts its token first.
	if r := send("/tokB/PushOrder", sampleOrder("ROOT-2", h.B.M.Name).body()); r.ReturnCode != pushorder.CodeOK {
		t.Fatalf("root /tokB/PushOrder: %+v", r)
	}
	if r := send("/tokB/GetOrder", `data={"OrderNo":"ROOT-2","MerchantName":"Merchant B"}`); r.ReturnCode != pushorder.CodeOK || r.OrderNo != "ROOT-2" {
		t.Fatalf("root /tokB/GetOrder: %+v", r)
	}
	resp, err := http.Get(srv.URL + "/PushOrder")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /PushOrder: %d, want 405", resp.StatusCode)
	}
}
