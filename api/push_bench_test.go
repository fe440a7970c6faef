package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/baoguan/baoguan/api"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
)

// BenchmarkPush pushes orders like the bench's (POST /v1/orders, one
// declaration, a payer) from 64 goroutines through the API's routes on a
// SQLite file (synchronous=NORMAL), without a network and without the job
// runner: authentication, decoding, checks, the fingerprint, core's
// create path, the store's group commit and the answer. ns/op is per
// push; cpu_us/order the CPU of the process a push (getrusage), SQL
// included. Profile it (-cpuprofile) and focus on the API's and core's
// frames for the push path outside the store.
func BenchmarkPush(b *testing.B) {
	ctx := context.Background()
	keys, err := keyring.New(bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		b.Fatal(err)
	}
	store, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "baoguan.db"), Keys: keys, Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	svc := core.New(&core.Service{Limits: core.NoLimits(), Store: store,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		SampleIdentity: sandbox.IsSampleIdentity})
	svc.Formats.Register(api.Protocol, api.NewFormat())
	_, cr, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "shop", NotifyURL: "http://127.0.0.1:9/hook"})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	api.New(api.Options{Svc: svc}).Register(mux)
	auth := "Bearer " + cr.APIKey
	cpu := storetest.ProcessCPU
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := cpu()
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				body := `{"merchant_order_no":"PUSH` + strconv.FormatInt(i, 10) + `","amount":4023,"subject":"测试商品",` +
					`"items":[{"subject":"测试商品1","link":"http://example.com/1","article_no":"HH00001"}],` +
					`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},` +
					`"declarations":[{"customs":"HG014"}]}`
				r := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader([]byte(body)))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", auth)
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, r)
				if w.Code != http.StatusCreated {
					b.Errorf("push %d: %d %s", i, w.Code, w.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(cpu()-start)/1e3/float64(b.N), "cpu_us/order")
}
