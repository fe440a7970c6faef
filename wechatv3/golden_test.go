package wechatv3_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/baoguan/baoguan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The values of the seed document's examples (004_0ded8097a1edc578.txt):
// its merchant, order, WeChat transaction id, sub-order and payer.
const (
	seedMchID         = "1230000109"
	seedOutTradeNo    = "20150806125346"
	seedTransactionID = "1000320306201511078440737890"
)

// volatile are reply fields that differ on every run; golden files hold a
// placeholder instead.
var volatile = map[string]string{
	"sub_order_id":               "<sub_order_id>",
	"modify_time":                "<modify_time>",
	"verify_department_trade_id": "<verify_department_trade_id>",
}

// normalise replaces volatile values and indents, keeping the order of
// the reply's fields, so a golden file reads as the vendor document prints
// its examples.
func normalise(t *testing.T, body []byte) []byte {
	t.Helper()
	for k, p := range volatile {
		re := regexp.MustCompile(`"` + k + `":"[^"]+"`)
		body = re.ReplaceAll(body, []byte(`"`+k+`":"`+p+`"`))
	}
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got = normalise(t, got)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the reply:\n--- want\n%s\n--- got\n%s", path, want, got)
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

// TestGoldenSeedExamples replays the seed document's examples: the order
// of its samples (paid elsewhere with its transaction id, payer 张三 of
// its request example, a sandbox sample identity) is declared as its
// query sample shows, queried, and its request example (which carries the
// certificate fields, i.e. verify-certificate's body) is sent with the
// certificate fields encrypted as the document prescribes.
func TestGoldenSeedExamples(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if h.A.MchID != seedMchID {
		t.Fatalf("merchant A must be the seed's mchid %s", seedMchID)
	}
	h.paidOrder(t, h.A.M, orderSpec{No: seedOutTradeNo, Amount: 888, Name: "张三", ID: "330821198809085211",
		Channel: baoguan.ChannelExternal, PaymentNo: seedTransactionID})

	r := h.do(t, call{Method: http.MethodPost, Path: customsPath + "/orders", Body: string(readTestdata(t, "declare.request.json"))})
	expect(t, r, http.StatusOK, "", "")
	golden(t, "declare.response.json", r.Body)
	h.waitDecl(t, h.A.M, seedOutTradeNo, "SHANGHAI_ZS", seedOutTradeNo, baoguan.DeclSuccess)

	query := string(bytes.TrimSpace(readTestdata(t, "query.request.txt")))
	r = h.do(t, call{Method: http.MethodGet, Path: customsPath + "/orders?" + query})
	expect(t, r, http.StatusOK, "", "")
	golden(t, "query.response.json", r.Body)

	var req map[string]any
	if err := json.Unmarshal(readTestdata(t, "verify-certificate.request.json"), &req); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"certificate_id", "certificate_name"} {
		req[f] = encryptPKCS1(t, h, req[f].(string))
	}
	r = h.do(t, call{Method: http.MethodPost, Path: customsPath + "/verify-certificate", Body: mustJSON(t, req),
		Header: map[string]string{"Wechatpay-Serial": h.platformSerial()}})
	expect(t, r, http.StatusOK, "", "")
	golden(t, "verify-certificate.response.json", r.Body)

	// The error model, as the seed describes it: a PARAM_ERROR naming the
	// body parameter by JSON pointer.
	var bad map[string]any
	if err := json.Unmarshal(readTestdata(t, "declare.request.json"), &bad); err != nil {
		t.Fatal(err)
	}
	bad["sub_order_no"], bad["order_fee"] = "20150806125347", 889
	r = h.do(t, call{Method: http.MethodPost, Path: customsPath + "/orders", Body: mustJSON(t, bad)})
	expect(t, r, http.StatusBadRequest, "PARAM_ERROR", "#/properties/order_fee")
	golden(t, "param-error.response.json", r.Body)
}
