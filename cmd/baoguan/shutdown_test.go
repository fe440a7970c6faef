package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMFinishesRequestsInFlight sends SIGTERM to the real binary
// while a request is half sent: the request must still get its answer, and
// the process must exit cleanly.
func TestSIGTERMFinishesRequestsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the real binary")
	}
	bin := baoguanBinary(t)
	db := filepath.Join(t.TempDir(), "term.db")
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", "sqlite:"+db, "--sandbox-delay", "0s")
	cmd.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var apiKey, base string
	sc := bufio.NewScanner(stdout)
	for base == "" && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := apiKeyRE.FindStringSubmatch(line); m != nil {
			apiKey = m[1]
		}
		if u, ok := strings.CutPrefix(line, "listening on "); ok {
			base = u
		}
	}
	if base == "" || apiKey == "" {
		t.Fatalf("no address or demo key printed; logs:\n%s", logs.String())
	}
	go func() { // keep the pipe drained
		for sc.Scan() {
		}
	}()

	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"merchant_order_no":"TERM1","amount":1999,"subject":"奶粉",` +
		`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},"declarations":[{"customs":"HG014"}]}`
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Idempotency-Key: term-1\r\nContent-Length: %d\r\n\r\n%s", apiKey, len(body), body[:half])
	time.Sleep(100 * time.Millisecond) // the server is now reading the body

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := conn.Write([]byte(body[half:])); err != nil {
		t.Fatalf("finishing the request after SIGTERM: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the request in flight: %v\nlogs:\n%s", err, logs.String())
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Errorf("request in flight answered %d; want 2xx", resp.StatusCode)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\nlogs:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after SIGTERM")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no orderly stop logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "110105199001011232") || strings.Contains(logs.String(), "13800138000") {
		t.Errorf("payer data in the logs:\n%s", logs.String())
	}
}
