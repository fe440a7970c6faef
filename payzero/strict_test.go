package payzero_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// TestBodyStrictness sends payzero bodies that encoding/json would store
// other than they were sent (GBK bytes, a lone surrogate escape, keys that
// differ only in case — Jackson and encoding/json would each keep a
// different one) or that are declared in another charset or compressed,
// to an order route and to a batch upload: each is HTTP 400 with code
// 30001 naming where (with the index of a batch's order), and nothing is
// stored. Type errors name the indexed field too.
func TestBodyStrictness(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("strict")
	order := func(no, member string) string {
		return `{"mchtOrderNo":"` + no + `","paymentAmount":100,"currency":"CNY","subject":"测试","payerName":"张三","payerNumber":"110105199001011232","payerPhone":"13800138000","customsCode":"HG016"` + member + `}`
	}
	cases := []struct {
		name, path, body string
		header           map[string]string
		field, msg       string
	}{
		{"GBK bytes", "/order/createAndMockpay", order("ST-1", `,"memo":"`+"\xd5\xc5\xc8\xfd"+`"`), nil, "memo", "UTF-8"},
		{"lone surrogate", "/order/createAndMockpay", order("ST-2", `,"remark":"\ud800"`), nil, "remark", "surrogate"},
		{"keys differing in case", "/order/createAndMockpay", order("ST-3", `,"PaymentAmount":1`), nil, "PaymentAmount", "仅大小写不同"},
		{"GBK charset", "/order/createAndMockpay", order("ST-4", ""), map[string]string{"Content-Type": "application/json;charset=GBK"}, "Content-Type", "UTF-8"},
		{"gzip", "/order/createAndMockpay", order("ST-5", ""), map[string]string{"Content-Encoding": "gzip"}, "Content-Encoding", "gzip"},
		{"amount not whole", "/order/createAndMockpay", strings.Replace(order("ST-6", ""), `"paymentAmount":100`, `"paymentAmount":1.5`, 1), nil, "paymentAmount", "以分为单位的整数"},
		{"batch: keys differing in case", "/orderBatch", "[" + order("ST-B1", "") + "," + order("ST-B2", `,"MCHTORDERNO":"X"`) + "]", nil, "[1].MCHTORDERNO", "仅大小写不同"},
		{"batch: amount not whole", "/orderBatch", "[" + order("ST-B3", "") + "," + strings.Replace(order("ST-B4", ""), `"paymentAmount":100`, `"paymentAmount":"1.5"`, 1) + "]", nil, "[1].paymentAmount", "以分为单位的整数"},
	}
	for _, c := range cases {
		req, err := http.NewRequest("POST", h.srv.URL+"/payzero"+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+m.login())
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		res, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var env struct {
			Success   bool
			ErrorCode string
			ErrorMsg  string
		}
		_ = json.Unmarshal(raw, &env)
		if res.StatusCode != http.StatusBadRequest || env.ErrorCode != "30001" || !strings.Contains(env.ErrorMsg, c.field) || !strings.Contains(env.ErrorMsg, c.msg) {
			t.Errorf("%s: %d %s; want 400 30001 naming %q with %q", c.name, res.StatusCode, raw, c.field, c.msg)
		}
	}
	if os, err := h.svc.Orders(h.ctx, m.M, baoguan.OrderFilter{}); err != nil || len(os) != 0 {
		t.Errorf("refused bodies stored %d orders (%v)", len(os), err)
	}
}
