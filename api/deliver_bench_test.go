package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/netguard"
	"github.com/baoguan/baoguan/storetest"
)

// BenchmarkDeliver: a notification sent as the deliverer's senders send
// it (core.Service.send: the format's Deliver through the notification
// client, its metric) to a receiver answering 204 as the bench's does.
// cpu_us/op is the process's CPU a notification, the receiver's serving
// included; allocs/op counts both sides too.
func BenchmarkDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = r.Body.Read(make([]byte, 0))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	f := NewFormat()
	c := netguard.Client(10*time.Second, true)
	m := &baoguan.Merchant{WebhookSecret: "whsec_0123456789abcdef0123456789abcdef"}
	e := &baoguan.Event{PublicID: "evt_01J9Z3", URL: srv.URL + "/hook", Protocol: Protocol,
		Body: []byte(`{"id":"evt_01J9Z3","type":"declaration.succeeded","data":{"merchant_order_no":"BENCH1","amount":4023}}`)}
	ctx := context.Background()
	b.ReportAllocs()
	start := storetest.ProcessCPU()
	for b.Loop() {
		if d := f.Deliver(ctx, c, m, e); !d.Acked {
			b.Fatal(d.Err, d.Status)
		}
	}
	b.ReportMetric(float64((storetest.ProcessCPU()-start).Microseconds())/float64(b.N), "cpu_us/op")
}
