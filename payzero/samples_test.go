package payzero_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

var update = flag.Bool("update", false, "rewrite the golden response files in testdata/")

// Every request example of the payzero document, sent as written, gets an
// answer of the shape the document shows. testdata/NAME.request.json are
// the document's request examples, testdata/NAME.doc.json its response
// examples, and testdata/NAME.response.json baoguan's answer (go test
// -update rewrites them), with the values that are random on every run
// replaced by placeholders.
//
// Where a request must name something the document's example cannot know
// (the agreement number baoguan issued), only that value is replaced.
func TestDocumentExamples(t *testing.T) {
	h := newHarness(t)
	file := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// confirmed applies for and confirms an agreement as the document's
	// 5.1/5.2 examples do, returning its number.
	confirmed := func(m *merchant) string {
		m.ok("POST", "/sdbc/agreeApply", file("agreeApply.request.json"), nil)
		var a struct{ Agreeid string }
		m.ok("POST", "/sdbc/agreeConfirm", file("agreeConfirm.request.json"), &a)
		return a.Agreeid
	}
	withAgree := func(name, agreeID string) []byte {
		return bytes.ReplaceAll(file(name), []byte("201905041150567656"), []byte(agreeID))
	}
	var batchID string
	cases := []struct {
		name  string
		setup func(m *merchant)
		send  func(m *merchant) *resp
	}{
		{"login", nil, func(m *merchant) *resp {
			return h.do("POST", "/payzero/auth/login", map[string]string{"username": m.AppID, "password": m.AppKey}, "")
		}},
		{"orderBatch", nil, func(m *merchant) *resp { return m.call("POST", "/orderBatch", file("orderBatch.request.json")) }},
		{"orderBatchSummary", func(m *merchant) {
			var b struct{ OrderBatchID int64 }
			m.ok("POST", "/orderBatch", file("orderBatch.request.json"), &b)
			batchID = strconv.FormatInt(b.OrderBatchID, 10)
			m.ok("GET", "/orderBatch/"+batchID+"/pay", nil, nil)
			m.waitOrder("F20190402123", baoguan.PaySucceed, baoguan.DeclareDone)
			m.waitOrder("F20190402124", baoguan.PaySucceed, baoguan.DeclareDone)
		}, func(m *merchant) *resp { return m.call("GET", "/orderBatch/"+batchID+"/summary", nil) }},
		{"orderBatchFeedback", func(m *merchant) {
			var b struct{ OrderBatchID int64 }
			m.ok("POST", "/orderBatch", file("orderBatch.request.json"), &b)
			batchID = strconv.FormatInt(b.OrderBatchID, 10)
			m.ok("GET", "/orderBatch/"+batchID+"/pay", nil, nil)
			m.waitOrder("F20190402123", baoguan.PaySucceed, baoguan.DeclareDone)
			m.waitOrder("F20190402124", baoguan.PaySucceed, baoguan.DeclareDone)
		}, func(m *merchant) *resp {
			return m.call("GET", "/orderBatch/"+batchID+"/feedback?page=1&pagesize=10", nil)
		}},
		{"createAndPay", nil, func(m *merchant) *resp {
			return m.call("POST", "/order/createAndPay", file("createAndPay.request.json"))
		}},
		{"orderFeedback", func(m *merchant) {
			m.ok("POST", "/order/createAndPay", file("createAndPay.request.json"), nil)
			m.waitOrder("F20190402123", baoguan.PaySucceed, baoguan.DeclareDone)
		}, func(m *merchant) *resp { return m.call("GET", "/order/feedback?mchtOrderNo=F20190402123", nil) }},
		{"arrangePay", func(m *merchant) {
			req := bytes.ReplaceAll(file("createAndPay.request.json"), []byte("F20190402123"), []byte("F20190402123PAYFAIL"))
			m.ok("POST", "/order/createAndPay", req, nil)
			m.waitOrder("F20190402123PAYFAIL", baoguan.PayFailed, baoguan.DeclarePending)
		}, func(m *merchant) *resp {
			return m.call("GET", "/order/arrangePay?mchtOrderNo=F20190402123PAYFAIL", nil)
		}},
		{"createAndQrCode", nil, func(m *merchant) *resp {
			return m.call("POST", "/order/createAndQrCode", file("createAndQrCode.request.json"))
		}},
		{"qrCode", func(m *merchant) {
			m.ok("POST", "/order/createAndQrCode", file("createAndQrCode.request.json"), nil)
		}, func(m *merchant) *resp {
			return m.call("GET", "/order/qrCode?mchtOrderNo=F20190402123&qrCodeType=WECHATPAY", nil)
		}},
		{"agreeApply", nil, func(m *merchant) *resp { return m.call("POST", "/sdbc/agreeApply", file("agreeApply.request.json")) }},
		{"agreeConfirm", func(m *merchant) {
			m.ok("POST", "/sdbc/agreeApply", file("agreeApply.request.json"), nil)
		}, func(m *merchant) *resp {
			return m.call("POST", "/sdbc/agreeConfirm", file("agreeConfirm.request.json"))
		}},
		{"createAndQuickpay", nil, func(m *merchant) *resp {
			return m.call("POST", "/order/createAndQuickpay", withAgree("createAndQuickpay.request.json", confirmed(m)))
		}},
		{"confirmQuickpay", nil, func(m *merchant) *resp {
			id := confirmed(m)
			m.ok("POST", "/order/createAndQuickpay", withAgree("createAndQuickpay.request.json", id), nil)
			return m.call("POST", "/order/confirmQuickpay", withAgree("confirmQuickpay.request.json", id))
		}},
		{"redoQuickpay", nil, func(m *merchant) *resp {
			id := confirmed(m)
			m.ok("POST", "/order/createAndQuickpay", withAgree("createAndQuickpay.request.json", id), nil)
			return m.call("POST", "/order/redoQuickpay", withAgree("redoQuickpay.request.json", id))
		}},
		{"createAndMockpay", nil, func(m *merchant) *resp {
			return m.call("POST", "/order/createAndMockpay", file("createAndMockpay.request.json"))
		}},
		{"redoMockpay", func(m *merchant) {
			m.ok("POST", "/order/createAndMockpay", file("createAndMockpay.request.json"), nil)
		}, func(m *merchant) *resp { return m.call("POST", "/order/redoMockpay", file("redoMockpay.request.json")) }},
		{"realPersonVal", nil, func(m *merchant) *resp {
			return m.call("GET", "/realPerson/val?idno=110113198010101234&name=%E6%9D%8E%E7%99%BD", nil)
		}},
		{"declare", func(m *merchant) {
			// A paid order that was not declared: virtual payment with
			// needDeclare false.
			m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "S20190501", "paymentAmount": 4023, "currency": "CNY",
				"subject": "XXXX化妆品", "needDeclare": false}, nil)
		}, func(m *merchant) *resp { return m.call("POST", "/order/declare", file("declare.request.json")) }},
		{"refund", func(m *merchant) { paidByQR(m, "S20190501", 4023) },
			func(m *merchant) *resp { return m.call("POST", "/order/refund", file("refund.request.json")) }},
		{"refundQuery", func(m *merchant) {
			paidByQR(m, "S20190501", 4023)
			m.ok("POST", "/order/refund", file("refund.request.json"), nil)
			h.waitFor("refund succeeded", func() bool {
				rf, err := h.svc.RefundByNo(h.ctx, m.M, "REFUND_S20190501")
				return err == nil && rf.Status == baoguan.RefundSucceed
			})
		}, func(m *merchant) *resp { return m.call("GET", "/order/refund?mchtRefundOrderNo=REFUND_S20190501", nil) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			m := h.newMerchant("doc-" + c.name)
			if c.setup != nil {
				c.setup(m)
			}
			r := c.send(m)
			if r.Status != 200 || !r.Env.Success {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
			var got, doc any
			if err := json.Unmarshal(r.Raw, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(file(c.name+".doc.json"), &doc); err != nil {
				t.Fatal(err)
			}
			if diffs := sameShape("", doc, got); len(diffs) > 0 {
				t.Errorf("answer differs in shape from the document's example:\n%s\nanswer: %s", strings.Join(diffs, "\n"), r.Raw)
			}
			golden(t, c.name+".response.json", normalize(got))
		})
	}
}

// paidByQR creates an order paid by QR code, as a shopper scanning it would.
func paidByQR(m *merchant, no string, amount int64) {
	m.h.t.Helper()
	var qr struct{ CodeURL string }
	m.ok("POST", "/order/createAndQrCode", map[string]any{"mchtOrderNo": no, "paymentAmount": amount, "currency": "CNY",
		"subject": "XXXX化妆品", "qrCodeType": "ALIPAY"}, &qr)
	token := qr.CodeURL[strings.LastIndex(qr.CodeURL, "/")+1:]
	if _, err := m.h.svc.PayCollection(m.h.ctx, token, baoguan.PayerAction{Paid: true}); err != nil {
		m.h.t.Fatalf("paying the QR code: %v", err)
	}
}

// lenient are the fields whose JSON type the document itself prints two
// ways (2.5 writes paymentDatetime as a number and as a string).
var lenient = map[string]bool{"paymentDatetime": true}

// sameShape compares an answer with the document's example: the same keys
// at every level, and the same JSON type wherever the example has a value.
// Arrays are compared by their first element.
func sameShape(path string, doc, got any) []string {
	var out []string
	switch d := doc.(type) {
	case nil:
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %T", path, got)}
		}
		for k := range d {
			if _, ok := g[k]; !ok {
				out = append(out, path+"."+k+": missing")
			}
		}
		for k := range g {
			if _, ok := d[k]; !ok {
				out = append(out, path+"."+k+": not in the document")
			}
		}
		for k := range d {
			if gv, ok := g[k]; ok && gv != nil && !lenient[k] {
				out = append(out, sameShape(path+"."+k, d[k], gv)...)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an array, got %T", path, got)}
		}
		if len(d) > 0 && len(g) > 0 {
			out = append(out, sameShape(path+"[0]", d[0], g[0])...)
		}
	default:
		if fmt.Sprintf("%T", doc) != fmt.Sprintf("%T", got) {
			out = append(out, fmt.Sprintf("%s: want %T, got %T", path, doc, got))
		}
	}
	sort.Strings(out)
	return out
}

// random are the answer fields that differ on every run.
var random = map[string]bool{"token": true, "username": true, "codeUrl": true, "agreeid": true, "realPersonValidationOrderId": true, "dispBatchNum": true}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if random[k] && e != nil {
				x[k] = "<" + k + ">"
			} else {
				x[k] = normalize(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	}
	return v
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
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
		t.Errorf("%s differs from the golden file:\n%s\nwant:\n%s", name, got, want)
	}
}
