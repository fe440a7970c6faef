package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The WiseCashier end to end: the real binary, an agent and its merchant
// set up with the CLI, an integration that signs as the document's Python
// sample does (written here from the document, not with the wisecashier
// package), and headless Chromium as the payer on the sandbox wallet page.
// An HKD NATIVE order is paid in the browser; the merchant's receiver
// verifies the notification with the platform public key the CLI prints;
// the order is declared to GUANGZHOU_HP_GJ in the document's two pushes and
// queried SUCCESS; part is refunded; the Version 2.0 query shows the
// refund, the bill both lines, and the native API the same order with its
// currency facts.

// pyQuote is Python 2's urllib.quote(s, safe=""): letters, digits and
// "_.-" as they are, every other byte %XX.
func pyQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// wcClient is a merchant's integration as the document's §2 sample writes
// it: data_sign over the sorted, quoted parameters and str(time.time()).
type wcClient struct {
	t       *testing.T
	base    string
	agentNo string
	key     *rsa.PrivateKey
}

func (c *wcClient) call(method, path, version string, params map[string]string) (int, []byte) {
	c.t.Helper()
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = pyQuote(k) + "=" + pyQuote(params[k])
	}
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10) + "." + fmt.Sprintf("%02d", now.Nanosecond()/1e7)
	sum := sha256.Sum256([]byte(strings.Join(parts, "&") + "," + ts))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, sum[:])
	if err != nil {
		c.t.Fatal(err)
	}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	u := c.base + path
	var body io.Reader
	if method == http.MethodGet {
		u += "?" + form.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("AgentNo", c.agentNo)
	req.Header.Set("Signature", base64.StdEncoding.EncodeToString(sig))
	req.Header.Set("Timestamp", ts)
	if version != "" {
		req.Header.Set("Version", version)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// ok calls and decodes data (or the whole answer when data is absent).
func (c *wcClient) ok(method, path, version string, params map[string]string, out any) []byte {
	c.t.Helper()
	status, b := c.call(method, path, version, params)
	var env struct {
		Meta struct {
			Success bool `json:"success"`
		} `json:"meta"`
		Data json.RawMessage `json:"data"`
	}
	if status != 200 || json.Unmarshal(b, &env) != nil || !env.Meta.Success {
		c.t.Fatalf("%s %s: %d %s", method, path, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return b
}

// notifyReceiver is the merchant's notify_url: it verifies each
// notification with the platform public key and acknowledges it.
type notifyReceiver struct {
	mu   sync.Mutex
	pub  *rsa.PublicKey
	got  []url.Values
	errs []string
}

func (n *notifyReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	names := make([]string, 0, len(r.PostForm))
	for k := range r.PostForm {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + r.PostForm.Get(k)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&") + "," + r.Header.Get("Timestamp")))
	sig, _ := base64.StdEncoding.DecodeString(r.Header.Get("Signature"))
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := rsa.VerifyPKCS1v15(n.pub, crypto.SHA256, sum[:], sig); err != nil {
		n.errs = append(n.errs, "signature: "+err.Error())
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	n.got = append(n.got, r.PostForm)
	_, _ = io.WriteString(w, "success")
}

func (n *notifyReceiver) notices() ([]url.Values, []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]url.Values(nil), n.got...), append([]string(nil), n.errs...)
}

func TestWiseCashierEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the real binary and a browser")
	}
	chrome := chromiumPath(t)
	bin := baoguanBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "wc.db")
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--db", "sqlite:"+db)...)
		cmd.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("baoguan %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}

	// The operator: a merchant, an agent with its key, the platform key.
	var cred struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(cli("merchant", "create", "--no", "M-HK", "--name", "Hong Kong shop", "--json")), &cred); err != nil {
		t.Fatal(err)
	}
	agentKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&agentKey.PublicKey)
	pubFile := filepath.Join(dir, "agent_pub.pem")
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cli("agent", "create", "--no", "AG-E2E", "--name", "E2E partner", "--public-key", pubFile)
	cli("agent", "attach", "--agent", "AG-E2E", "--merchant", "M-HK")
	blk, _ := pem.Decode([]byte(cli("platform-cert", "--protocol", "wisecashier")))
	if blk == nil {
		t.Fatal("platform-cert printed no PEM")
	}
	platformPub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	recv := &notifyReceiver{pub: platformPub.(*rsa.PublicKey)}
	hook := httptest.NewServer(recv)
	defer hook.Close()

	p := startServe(t, bin, db)
	wc := &wcClient{t: t, base: p.base + "/wisecashier", agentNo: "AG-E2E", key: agentKey}

	// §4.3: an HKD NATIVE order.
	var created struct {
		CodeURL string `json:"code_url"`
		Order   struct {
			No, Status, Currency, Amount string
			ExchangeRate                 string `json:"exchange_rate"`
		}
	}
	wc.ok("POST", "/order/scanned_pay", "", map[string]string{"merchant_no": "M-HK", "currency": "HKD", "amount": "100.00",
		"product_info": "奶粉 900g", "ip": "127.0.0.1", "agent_order_id": "E2E-1", "notify_url": hook.URL + "/notify"}, &created)
	if created.Order.Status != "INIT" || created.Order.Currency != "HKD" || !strings.HasPrefix(created.CodeURL, p.base+"/wisecashier/sandbox/wallet/") {
		t.Fatalf("scanned_pay: %+v", created)
	}

	// The payer, in Chromium, opens the code and pays.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(filepath.Join(dir, "chrome")),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelT()
	if err := chromedp.Do(ctx, chromedp.Navigate(created.CodeURL), chromedp.WaitVisible(chromedp.CSS(`#pay`))); err != nil {
		t.Fatalf("opening the sandbox wallet page: %v", err)
	}
	amount, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#amount`)))
	if err != nil || !strings.Contains(amount, "100.00 HKD") {
		t.Errorf("the page shows amount %q: %v", amount, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#pay`)), chromedp.WaitVisible(chromedp.CSS(`#result`))); err != nil {
		t.Fatalf("paying: %v", err)
	}
	if res, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#result`))); res != "支付成功" {
		t.Fatalf("the page says %q after paying", res)
	}

	// The notification arrives, verified with the platform public key.
	deadline := time.Now().Add(30 * time.Second)
	var got []url.Values
	for {
		var errs []string
		got, errs = recv.notices()
		if len(errs) > 0 {
			t.Fatalf("notification: %v", errs)
		}
		if len(got) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != 1 || got[0].Get("status") != "PAID" || got[0].Get("no") != created.Order.No || got[0].Get("currency") != "HKD" ||
		got[0].Get("amount") != "100.00" || got[0].Get("pay_amount") != "87.89" || got[0].Get("exchange_rate") != "0.8789" {
		t.Fatalf("notifications: %v", got)
	}

	// §9: declared to GUANGZHOU_HP_GJ in the document's two pushes.
	for _, customs := range []string{"GUANGZHOU_ZS", "GUANGZHOU_HP_GJ"} {
		wc.ok("POST", "/wechatpay/declaration", "", map[string]string{"out_order_no": "E2E-1", "payment_no": created.Order.No,
			"customs": customs, "mch_customs_no": "4403W60123", "cert_id": "510921199308772318", "name": "Lisa"}, nil)
	}
	var decl struct {
		State           string `json:"state"`
		Customs         string `json:"customs"`
		CertCheckResult string `json:"cert_check_result"`
		Declarations    []struct {
			Customs, State string
		} `json:"declarations"`
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		wc.ok("GET", "/wechatpay/declaration", "", map[string]string{"payment_no": created.Order.No}, &decl)
		done := len(decl.Declarations) == 2
		for _, d := range decl.Declarations {
			done = done && d.State == "SUCCESS"
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(decl.Declarations) != 2 || decl.Declarations[0].State != "SUCCESS" || decl.Declarations[1].State != "SUCCESS" || decl.CertCheckResult != "SAME" {
		t.Fatalf("declarations: %+v", decl)
	}
	wc.ok("GET", "/wechatpay/declaration", "", map[string]string{"out_order_no": "E2E-1", "customs": "GUANGZHOU_HP_GJ"}, &decl)
	if decl.State != "SUCCESS" || decl.Customs != "GUANGZHOU_HP_GJ" {
		t.Errorf("GUANGZHOU_HP_GJ: %+v", decl)
	}

	// Part is refunded; Version 2.0's query shows it.
	var refund struct {
		Refund struct {
			No, Status   string
			RefundAmount string `json:"refund_amount"`
		}
	}
	wc.ok("POST", "/refund", "", map[string]string{"order_no": created.Order.No, "refund_amount": "30.00", "outer_refund_no": "E2E-R1"}, &refund)
	if refund.Refund.Status != "SUCCESS" || refund.Refund.RefundAmount != "30.00" {
		t.Fatalf("refund: %+v", refund)
	}
	var v2 struct {
		Order struct {
			Amount       json.Number `json:"amount"`
			RefundStatus string      `json:"refund_status"`
		}
		Refunds []struct {
			No           string      `json:"no"`
			RefundAmount json.Number `json:"refund_amount"`
			Status       string      `json:"status"`
		}
	}
	wc.ok("GET", "/order", "2.0", map[string]string{"order_no": created.Order.No}, &v2)
	if v2.Order.Amount != "100" || v2.Order.RefundStatus != "PART" || len(v2.Refunds) != 1 || v2.Refunds[0].RefundAmount != "30" || v2.Refunds[0].No != refund.Refund.No {
		t.Errorf("Version 2.0 order: %+v", v2)
	}

	// §8: the bill has the payment and the refund.
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	status, bill := wc.call("GET", "/download_bill", "", map[string]string{"agent_no": "AG-E2E", "start_date": today, "end_date": today})
	if status != 200 {
		t.Fatalf("download_bill: %d %s", status, bill)
	}
	var pay, ref bool
	for _, line := range strings.Split(string(bill), "\n") {
		f := strings.Split(line, "\t")
		if len(f) > 13 && f[3] == created.Order.No {
			pay = pay || f[0] == "PAY" && f[10] == "100.00" && f[13] == "87.89"
			ref = ref || f[0] == "REFUND" && f[10] == "30.00" && f[6] == "E2E-R1" && f[13] == "26.37"
		}
	}
	if !pay || !ref {
		t.Errorf("bill lacks the payment (%v) or the refund (%v):\n%s", pay, ref, bill)
	}

	// The native API shows the same order, with its currency facts.
	req, _ := http.NewRequest("GET", p.base+"/v1/orders/E2E-1", nil)
	req.Header.Set("Authorization", "Bearer "+cred.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var native struct {
		Currency  string `json:"currency"`
		Amount    int64  `json:"amount"`
		PayStatus string `json:"pay_status"`
		Refunded  int64  `json:"refunded"`
		Channel   string `json:"channel"`
		Payment   struct {
			ExchangeRate string `json:"exchange_rate"`
			PayAmount    int64  `json:"pay_amount"`
			PayCurrency  string `json:"pay_currency"`
			PSP          string `json:"psp"`
		} `json:"payment"`
		Declarations []struct {
			Customs  string `json:"customs"`
			State    string `json:"state"`
			OrderFee int64  `json:"order_fee"`
		} `json:"declarations"`
		Refunds []struct {
			CNYAmount int64 `json:"cny_amount"`
		} `json:"refunds"`
	}
	if err := json.NewDecoder(res.Body).Decode(&native); err != nil || res.StatusCode != 200 {
		t.Fatalf("/v1/orders/E2E-1: %d %v", res.StatusCode, err)
	}
	if native.Currency != "HKD" || native.Amount != 10000 || native.PayStatus != "PAY_SUCCEED" || native.Refunded != 3000 ||
		native.Channel != "native" || native.Payment.ExchangeRate != "0.8789" || native.Payment.PayAmount != 8789 ||
		native.Payment.PayCurrency != "CNY" || native.Payment.PSP != "WECHAT" || len(native.Refunds) != 1 || native.Refunds[0].CNYAmount != 2637 {
		t.Errorf("/v1 order: %+v", native)
	}
	// Declared in CNY: the 87.89 paid (the refund came after the declarations).
	if len(native.Declarations) != 2 || native.Declarations[0].OrderFee != 8789 || native.Declarations[1].State != "SUCCESS" {
		t.Errorf("/v1 declarations: %+v", native.Declarations)
	}
}
