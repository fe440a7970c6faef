package sheet_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sheet"
)

// Fuzz targets for the batch files merchants upload in the console: .csv
// (UTF-8 or GB18030) and .xlsx workbooks, read into core order inputs.
// Their seeds run in every `go test`; fuzz one with
// `go test ./sheet -run '^$' -fuzz '^FuzzReadOrders$' -fuzztime 10m -parallel 1`.

func fileOf(tb testing.TB, f sheet.Format, rows ...[]string) []byte {
	var buf bytes.Buffer
	w, err := sheet.NewWriter(&buf, f, "orders")
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range rows {
		if err := w.WriteRow(r...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var fuzzFormats = []sheet.Format{sheet.CSV, sheet.XLSX}

// FuzzReadOrders: any file either is refused with an error, or reads into
// an upload whose orders and row numbers match one for one, in file order,
// whose problems name rows of the file with a message, and whose orders
// without an amount problem have an amount within MaxAmount. CSV text is
// UTF-8 whatever the file's encoding.
func FuzzReadOrders(f *testing.F) {
	header := []string{"订单号 merchant_order_no", "金额(元) amount", "subject", "payer_name", "payer_id_number", "customs"}
	rows := [][]string{header, {"T1", "199.00", "奶粉", "张三", "110101199003070011", "HG014"}, {}, {"T2", "1.1E+17", "x", "", "1.1E+17", ""},
		{"T3", "", "", "", "", ""}, {"T4", "92233720368547758.07", "x"}}
	for i, ft := range fuzzFormats {
		var tpl bytes.Buffer
		if err := sheet.WriteOrderTemplate(&tpl, ft); err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), tpl.Bytes())
		f.Add(uint8(i), fileOf(f, ft, rows...))
		f.Add(uint8(i), fileOf(f, ft, []string{"bogus", "amount"}))
		f.Add(uint8(i), fileOf(f, ft))
	}
	gbk, err := simplifiedchinese.GB18030.NewEncoder().String("订单号,金额(元),商品描述\nT1,1.00,奶粉\n")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), []byte(gbk))
	f.Add(uint8(0), []byte("merchant_order_no,amount,subject\n\"T1,1.00,x\n"))
	f.Add(uint8(1), []byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		ft := fuzzFormats[int(which)%len(fuzzFormats)]
		r, err := sheet.NewReader(bytes.NewReader(data), ft)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		defer r.Close()
		up, err := sheet.ReadOrders(r, "console")
		if err != nil {
			return
		}
		if len(up.Orders) != len(up.Rows) {
			t.Fatalf("%d orders, %d row numbers", len(up.Orders), len(up.Rows))
		}
		last := r.Line()
		if last < 1 {
			last = 1
		}
		for i, row := range up.Rows {
			if row < 2 || row > last || i > 0 && row <= up.Rows[i-1] {
				t.Fatalf("row numbers %v (last line %d)", up.Rows, last)
			}
		}
		amountBad := map[int]bool{}
		for _, e := range up.Errors {
			if e.Row < 1 || e.Row > last || e.Message == "" || !utf8.ValidString(e.Message) {
				t.Fatalf("problem %+v (last line %d)", e, last)
			}
			if e.Field == "amount" {
				amountBad[e.Row] = true
			}
		}
		for i, in := range up.Orders {
			o := in.Order
			if !amountBad[up.Rows[i]] && (o.Amount < -baoguan.MaxAmount || o.Amount > baoguan.MaxAmount) {
				t.Fatalf("row %d: amount %d", up.Rows[i], o.Amount)
			}
			if o.Protocol != "console" || !o.OrderedAt.IsZero() {
				t.Fatalf("row %d: %+v", up.Rows[i], o)
			}
			if ft == sheet.CSV {
				for _, s := range []string{o.MerchantOrderNo, o.Subject, o.Payer.Name, o.Payer.IDNumber, o.Payer.Phone, o.NotifyURL} {
					if !utf8.ValidString(s) {
						t.Fatalf("row %d: %q is not UTF-8", up.Rows[i], s)
					}
				}
			}
		}
	})
}

// FuzzRoundTrip: cells written to a file of either format read back as
// written, less surrounding spaces (CSV turns a quoted CR LF into LF, as
// RFC 4180 readers do, so carriage returns are left out).
func FuzzRoundTrip(f *testing.F) {
	for i := range fuzzFormats {
		f.Add(uint8(i), "T20250320001", "199.00", "婴儿奶粉 x2")
		f.Add(uint8(i), "110101199003070011", "=1+1", "a,\"b\"\nc")
		f.Add(uint8(i), " ", "", "\t0012 ")
		f.Add(uint8(i), "💄", "1E+17", "\u2028")
	}
	f.Fuzz(func(t *testing.T, which uint8, a, b, c string) {
		ft := fuzzFormats[int(which)%len(fuzzFormats)]
		cells := []string{a, b, c}
		for _, s := range cells {
			if !utf8.ValidString(s) || strings.ContainsRune(s, '\r') || len(s) > 32767 {
				return
			}
			if ft == sheet.XLSX && strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' || r == 0xFFFE || r == 0xFFFF }) {
				return // not characters an XML 1.0 document can hold
			}
		}
		data := fileOf(t, ft, []string{"h1", "h2", "h3"}, cells)
		r, err := sheet.NewReader(bytes.NewReader(data), ft)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var got [][]string
		for r.Next() {
			got = append(got, append([]string(nil), r.Row()...))
		}
		if r.Err() != nil {
			t.Fatalf("%q: %v", cells, r.Err())
		}
		want := []string{strings.TrimSpace(a), strings.TrimSpace(b), strings.TrimSpace(c)}
		// A row may end early where its last cells are empty (xlsx keeps
		// no empty cells).
		if len(got) == 1 && strings.Join(want, "") == "" {
			return // a row of empty cells is no row in a workbook
		}
		if len(got) != 2 || len(got[1]) > 3 {
			t.Fatalf("%q read back as %q", cells, got)
		}
		for i, w := range want {
			g := ""
			if i < len(got[1]) {
				g = got[1][i]
			}
			if g != w {
				t.Fatalf("%q read back as %q", cells, got[1])
			}
		}
	})
}
