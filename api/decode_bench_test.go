package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/baoguan/baoguan/inbound"
)

// BenchmarkDecodeBatch reads the body of a 10,000-order batch upload like
// the bench's (POST /v1/batches): CheckJSON alone, then all of the
// decoding (CheckJSON and encoding/json into batchReq), then the handler's
// (decodeBatch). Run with -benchmem: the check allocates nothing for such
// a body.
func BenchmarkDecodeBatch(b *testing.B) {
	body := []byte(`{"orders":[`)
	for i := 0; i < 10000; i++ {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"merchant_order_no":"BATCH`+strconv.Itoa(i)+`","amount":4023,"subject":"测试商品",`+
			`"items":[{"subject":"测试商品1","link":"http://example.com/1","article_no":"HH00001"}],`+
			`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},`+
			`"declarations":[{"customs":"HG014"}]}`...)
	}
	body = append(body, `]}`...)
	b.SetBytes(int64(len(body)))
	b.Run("check", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if p := inbound.CheckJSON(body); p != nil {
				b.Fatal(p)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var req batchReq
			if p := inbound.Decode(body, &req, true); p != nil {
				b.Fatal(p)
			}
		}
	})
	// upload is what the handler does (decodeBatch): the check, the
	// orders decoded on every processor, each converted for core.
	a := &API{maxBatchBody: 32 << 20}
	b.Run("upload", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest(http.MethodPost, "/v1/batches", bytes.NewReader(body))
			if _, orders, err := a.decodeBatch(httptest.NewRecorder(), r); err != nil || len(orders) != 10000 {
				b.Fatal(err, len(orders))
			}
		}
	})
}
