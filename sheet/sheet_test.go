package sheet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sheet"
	"github.com/baoguan/baoguan/sqlite"
)

// ValidID returns an 18-character resident ID number with a correct check
// digit, different for each n.
func validID(n int) string {
	body := fmt.Sprintf("11010119900307%03d", n%1000)
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range body {
		sum += int(c-'0') * w[i]
	}
	return body + string("10X98765432"[sum%11])
}

func readAll(t *testing.T, data []byte, f sheet.Format) [][]string {
	t.Helper()
	r, err := sheet.NewReader(bytes.NewReader(data), f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [][]string
	for r.Next() {
		out = append(out, append([]string(nil), r.Row()...))
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	rows := [][]string{{"订单号", "金额"}, {"T1", "1.00"}, {"0012345678901234567", "张三, \"引号\""}}
	for _, f := range []sheet.Format{sheet.XLSX, sheet.CSV} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			w, err := sheet.NewWriter(&buf, f, "orders")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if err := w.WriteRow(r...); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if f == sheet.CSV && !bytes.HasPrefix(buf.Bytes(), []byte{0xEF, 0xBB, 0xBF}) {
				t.Error("CSV export has no UTF-8 byte-order mark; Excel would read it in the system code page")
			}
			got := readAll(t, buf.Bytes(), f)
			if fmt.Sprint(got) != fmt.Sprint(rows) {
				t.Errorf("read back %q, wrote %q (leading zeros and long digit strings must survive)", got, rows)
			}
		})
	}
}

func TestCSVEncodings(t *testing.T) {
	want := [][]string{{"订单号", "订购人姓名"}, {"T1", "张三"}}
	plain := "订单号,订购人姓名\nT1,张三\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(plain)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"utf8": plain, "utf8 with BOM": "\uFEFF" + plain, "gbk (Excel on Chinese Windows)": gbk} {
		if got := readAll(t, []byte(data), sheet.CSV); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: read %q, want %q", name, got, want)
		}
	}
	// A byte-order mark says UTF-8: GB bytes after it are refused, never
	// passed on as text that is not UTF-8 (found by FuzzReadOrders).
	_, err = sheet.NewReader(strings.NewReader("\uFEFF"+gbk), sheet.CSV)
	if err == nil || !strings.Contains(err.Error(), "byte 4 is not UTF-8") {
		t.Errorf("BOM then GBK: %v", err)
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]sheet.Format{"a.xlsx": sheet.XLSX, "B.CSV": sheet.CSV, "c.xls": "", "d": ""} {
		got, err := sheet.FormatOf(name)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestTemplateReadsBack(t *testing.T) {
	for _, f := range []sheet.Format{sheet.XLSX, sheet.CSV} {
		var buf bytes.Buffer
		if err := sheet.WriteOrderTemplate(&buf, f); err != nil {
			t.Fatal(err)
		}
		r, err := sheet.NewReader(&buf, f)
		if err != nil {
			t.Fatal(err)
		}
		up, err := sheet.ReadOrders(r, "console")
		if err != nil {
			t.Fatal(err)
		}
		if len(up.Errors) != 0 || len(up.Orders) != 1 || up.Orders[0].Order.Amount != 19900 || up.Rows[0] != 2 {
			t.Errorf("%s template: errors %v, orders %+v", f, up.Errors, up.Orders)
		}
	}
}

// newService is a core on a real SQLite file with the sandbox, and one
// merchant.
func newService(t testing.TB, dir string) (*core.Service, *baoguan.Merchant) {
	k := make([]byte, keyring.KeySize)
	rand.Read(k)
	keys, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(dir, "baoguan.db"), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := core.New(&core.Service{Store: db, Sandbox: core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)}})
	m, _, err := svc.CreateMerchant(context.Background(), core.MerchantInput{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	return svc, m
}

// badRows are the rows of the big upload that are wrong, by row number,
// with the column each must be reported on.
var badRows = map[int]string{
	7:     "amount",          // "12.345"
	500:   "subject",         // empty
	2001:  "payer_id_number", // too short
	4000:  "merchant_order_no",
	6666:  "customs", // unknown code
	9999:  "payer_phone",
	10001: "merchant_order_no", // the same number as row 3
}

// writeBig writes a 10,000-order workbook (rows 2..10001), with badRows
// broken when bad is set.
func writeBig(t *testing.T, path string, bad bool) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sheet.NewWriter(f, sheet.XLSX, "orders")
	if err != nil {
		t.Fatal(err)
	}
	w.WriteRow("merchant_order_no", "amount", "subject", "payer_name", "payer_id_number", "payer_phone", "customs")
	for row := 2; row <= 10001; row++ {
		no, amount, subject, id, phone, customs := fmt.Sprintf("B%06d", row), "199.00", "奶粉", validID(row), "13800138000", "HANGZHOU_ZS"
		if bad {
			switch badRows[row] {
			case "amount":
				amount = "12.345"
			case "subject":
				subject = ""
			case "payer_id_number":
				id = "12345"
			case "merchant_order_no":
				if row == 4000 {
					no = "has space"
				} else {
					no = "B000003"
				}
			case "customs":
				customs = "ATLANTIS"
			case "payer_phone":
				phone = "call me"
			}
		}
		if err := w.WriteRow(no, amount, subject, "张三", id, phone, customs); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// importResult is what the child process reports.
type importResult struct {
	Errors  []sheet.RowError
	Created int
}

// TestImportChild is the import run in a child process, so that its peak
// RSS is the import's alone: sheet.Import, as the console and `baoguan
// batch import` call it (read, check every row, store in chunks and set
// paying). It does nothing unless SHEET_IMPORT_FILE is set.
func TestImportChild(t *testing.T) {
	path := os.Getenv("SHEET_IMPORT_FILE")
	if path == "" {
		t.Skip("run by TestImport10kRSS")
	}
	ctx := context.Background()
	svc, m := newService(t, filepath.Dir(path))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := sheet.Import(ctx, svc, m, f, path, "console", nil)
	if err != nil {
		t.Fatal(err)
	}
	res := importResult{Errors: r.Errors}
	if r.Batch != nil {
		res.Created = r.Batch.Total
		if os, _ := svc.Orders(ctx, m, baoguan.OrderFilter{Page: baoguan.Page{Limit: 1}, Newest: true}); len(os) != 1 || os[0].PayStatus == "" {
			t.Fatalf("orders after the import: %+v", os)
		}
	}
	out, _ := json.Marshal(res)
	fmt.Println("RESULT " + string(out))
}

// TestImport10kRSS imports 10,000-row workbooks in a child process: one
// with bad rows, whose every problem must be reported with its row and
// column in one pass, and a clean one, which must be stored whole; the
// child's peak resident set must stay under 200 MB.
func TestImport10kRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 10,000 orders")
	}
	for _, bad := range []bool{true, false} {
		dir := t.TempDir()
		path := filepath.Join(dir, "orders.xlsx")
		writeBig(t, path, bad)
		cmd := exec.Command(os.Args[0], "-test.run=^TestImportChild$", "-test.v")
		cmd.Env = append(os.Environ(), "SHEET_IMPORT_FILE="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var res importResult
		for _, line := range strings.Split(string(out), "\n") {
			if s, ok := strings.CutPrefix(line, "RESULT "); ok {
				if err := json.Unmarshal([]byte(s), &res); err != nil {
					t.Fatal(err)
				}
			}
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss / 1024 // KiB → MiB
		t.Logf("import of 10,000 rows (bad rows: %v): peak RSS %d MiB", bad, rss)
		if rss >= 200 {
			t.Errorf("peak RSS %d MiB, want under 200", rss)
		}
		if !bad {
			if len(res.Errors) != 0 || res.Created != 10000 {
				t.Errorf("clean file: errors %v, created %d orders, want 10000", res.Errors, res.Created)
			}
			continue
		}
		got := map[int]string{}
		for _, e := range res.Errors {
			if _, dup := got[e.Row]; dup {
				t.Errorf("row %d reported twice: %v", e.Row, res.Errors)
			}
			got[e.Row] = e.Field
		}
		if fmt.Sprint(got) != fmt.Sprint(badRows) {
			t.Errorf("reported %v\nwant     %v", got, badRows)
		}
	}
}
