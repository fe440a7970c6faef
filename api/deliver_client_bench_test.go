package api

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/netguard"
	"github.com/baoguan/baoguan/storetest"
)

// BenchmarkDeliverClient: the sender's side of a notification alone, as
// the bench's deliverer makes it — 16 senders at once through the
// notification client to a receiver answering 204 — with the receiver in
// a process of its own (TestReceiverProcess), so that cpu_us/op and the
// allocations are the client's only (BenchmarkDeliver counts both sides).
func BenchmarkDeliverClient(b *testing.B) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestReceiverProcess$")
	cmd.Env = append(os.Environ(), "BAOGUAN_RECEIVER_PROCESS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = in.Close(); _ = cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	f := NewFormat()
	c := netguard.Client(10*time.Second, true)
	// Connections are counted: an exchange is to reuse one (16 at most).
	var dials atomic.Int64
	tr := c.Transport.(*http.Transport)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
	m := &baoguan.Merchant{WebhookSecret: "whsec_0123456789abcdef0123456789abcdef"}
	body := []byte(`{"id":"evt_01J9Z3","type":"declaration.succeeded","data":{"merchant_order_no":"BENCH1","amount":4023}}`)
	url := "http://" + strings.TrimSpace(addr) + "/hook"
	ctx := context.Background()
	const senders = 16
	b.ReportAllocs()
	b.ResetTimer()
	start := storetest.ProcessCPU()
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &baoguan.Event{PublicID: "evt_01J9Z3", URL: url, Protocol: Protocol, Body: body}
			for i := w; i < b.N; i += senders {
				if d := f.Deliver(ctx, c, m, e); !d.Acked {
					b.Error(d.Err, d.Status)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64((storetest.ProcessCPU()-start).Microseconds())/float64(b.N), "cpu_us/op")
	b.ReportMetric(float64(dials.Load()), "connections")
}

// TestReceiverProcess is BenchmarkDeliverClient's receiver when run as its
// child: it answers 204 on a port it prints, until its input closes.
func TestReceiverProcess(t *testing.T) {
	if os.Getenv("BAOGUAN_RECEIVER_PROCESS") == "" {
		t.Skip("the receiver of BenchmarkDeliverClient")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString(l.Addr().String() + "\n")
	go func() { _, _ = bufio.NewReader(os.Stdin).ReadString(0); _ = l.Close() }()
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
}
