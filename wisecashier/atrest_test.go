package wisecashier_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/baoguan/baoguan/storetest"
)

// TestPayerDataSealedAtRest declares paid orders with distinct orderers'
// ID numbers (§9's cert_id) to WeChat Pay's and Alipay's customs through
// WiseCashier; the database file and its WAL must hold none in clear.
func TestPayerDataSealedAtRest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var vals []string
	for i := range 3 {
		id := storetest.IDNumber(1500 + i)
		vals = append(vals, id)
		no := h.paidHKD(t, fmt.Sprintf("AR-%d", i), "10")
		r := h.do(req{method: http.MethodPost, path: "/wechatpay/declaration", params: map[string]string{"payment_no": no,
			"customs": "SHANGHAI_ZS", "mch_customs_no": "123456789BTW", "cert_id": id, "name": "张三"}})
		if r.Status != 200 {
			t.Fatalf("declare %s: %d %s", no, r.Status, r.Raw)
		}
	}
	h.settle()
	found, err := storetest.FindInFiles(h.path, vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("in clear at rest: %s", f)
	}
}
