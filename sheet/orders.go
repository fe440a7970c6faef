package sheet

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Column is one column of the order upload template.
type Column struct {
	Key      string // English key, also accepted as the header
	Label    string // Chinese header
	Required bool
	Example  string
}

// OrderColumns are the columns of an order upload, in template order. A
// header cell may hold the key, the Chinese label, or both ("订单号
// merchant_order_no"); columns may come in any order; unknown columns are
// refused so that a typo does not silently drop data.
var OrderColumns = []Column{
	{"merchant_order_no", "订单号", true, "T20250320001"},
	{"amount", "金额(元)", true, "199.00"},
	{"subject", "商品描述", true, "婴儿奶粉 x2"},
	{"payer_name", "订购人姓名", false, "张三"},
	{"payer_id_type", "证件类型", false, "IDCARD"},
	{"payer_id_number", "订购人证件号", false, "110101199003070011"},
	{"payer_phone", "订购人电话", false, "13800138000"},
	{"customs", "海关", false, "HANGZHOU_ZS"},
	{"channel", "支付方式", false, "mock"},
	{"merchant_customs_no", "商户海关备案号", false, ""},
	{"notify_url", "通知地址", false, ""},
}

// RowError is a problem with one row of an upload: the row number a person
// sees in Excel, the column key and what is wrong.
type RowError struct {
	Row     int    `json:"row"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("row %d, %s: %s", e.Row, e.Field, e.Message)
}

// WriteOrderTemplate writes the upload template: the header and one
// example row.
func WriteOrderTemplate(w io.Writer, f Format) error {
	sw, err := NewWriter(w, f, "orders")
	if err != nil {
		return err
	}
	head := make([]string, len(OrderColumns))
	ex := make([]string, len(OrderColumns))
	for i, c := range OrderColumns {
		head[i] = c.Label + " " + c.Key
		ex[i] = c.Example
	}
	if err := sw.WriteRow(head...); err != nil {
		return err
	}
	if err := sw.WriteRow(ex...); err != nil {
		return err
	}
	return sw.Close()
}

// headerKey finds the column a header cell names.
func headerKey(cell string) (string, bool) {
	cell = strings.TrimSpace(cell)
	for _, c := range OrderColumns {
		if strings.EqualFold(cell, c.Key) || cell == c.Label || strings.HasSuffix(strings.ToLower(cell), " "+c.Key) ||
			strings.HasPrefix(cell, c.Label+" ") {
			return c.Key, true
		}
	}
	return "", false
}

// Upload is an order file read into core inputs: the orders, the row
// number each came from, and every problem found in the cells.
type Upload struct {
	Orders []core.OrderInput
	Rows   []int
	Errors []RowError
}

// ReadOrders reads an order upload: a header row, then one order per row
// (blank rows are skipped). It reports cell problems (a missing required
// cell, an amount that is not yuan) for every row in one pass; the order
// rules proper are checked by core.CheckBatch, whose problems Problems
// turns into row errors. protocol is stamped on every order.
func ReadOrders(r *Reader, protocol string) (*Upload, error) {
	up := &Upload{}
	var cols []string
	for r.Next() {
		row := r.Row()
		if blank(row) {
			continue
		}
		if cols == nil {
			cols = make([]string, len(row))
			have := map[string]bool{}
			for i, cell := range row {
				if cell == "" {
					continue
				}
				key, ok := headerKey(cell)
				if !ok {
					up.Errors = append(up.Errors, RowError{Row: r.Line(), Field: cell, Message: "unknown column; see the template"})
					continue
				}
				cols[i], have[key] = key, true
			}
			for _, c := range OrderColumns {
				if c.Required && !have[c.Key] {
					up.Errors = append(up.Errors, RowError{Row: r.Line(), Field: c.Key, Message: "the header has no " + c.Key + " (" + c.Label + ") column"})
				}
			}
			if len(up.Errors) > 0 {
				return up, nil
			}
			continue
		}
		in, errs := orderOf(cols, row, r.Line(), protocol)
		up.Errors = append(up.Errors, errs...)
		up.Orders = append(up.Orders, in)
		up.Rows = append(up.Rows, r.Line())
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if cols == nil {
		up.Errors = append(up.Errors, RowError{Row: 1, Message: "the file is empty; start from the template"})
	}
	return up, nil
}

func blank(row []string) bool {
	for _, c := range row {
		if c != "" {
			return false
		}
	}
	return true
}

func orderOf(cols, row []string, line int, protocol string) (core.OrderInput, []RowError) {
	var errs []RowError
	cell := map[string]string{}
	for i, key := range cols {
		if key != "" && i < len(row) {
			cell[key] = row[i]
		}
	}
	o := baoguan.Order{MerchantOrderNo: cell["merchant_order_no"], Subject: cell["subject"], Currency: "CNY",
		Channel: baoguan.Channel(strings.ToLower(cell["channel"])), NotifyURL: cell["notify_url"], Protocol: protocol,
		Payer: baoguan.Payer{Name: cell["payer_name"], IDType: strings.ToUpper(cell["payer_id_type"]),
			IDNumber: cell["payer_id_number"], Phone: cell["payer_phone"]}}
	for _, c := range OrderColumns {
		if c.Required && cell[c.Key] == "" {
			errs = append(errs, RowError{Row: line, Field: c.Key, Message: c.Key + " (" + c.Label + ") is required"})
		}
	}
	if a := cell["amount"]; a != "" {
		fen, err := baoguan.ParseYuan("amount", a)
		if err != nil {
			errs = append(errs, RowError{Row: line, Field: "amount", Message: "amount must be yuan with at most two decimals, e.g. 199.00"})
		}
		o.Amount = fen
	}
	for _, k := range []string{"payer_id_number", "payer_phone"} {
		// Excel turns a long number typed into a General cell into 1.1E+17,
		// losing digits: say so rather than "bad format".
		if v := cell[k]; strings.ContainsAny(v, "Ee+") && strings.Contains(v, ".") {
			errs = append(errs, RowError{Row: line, Field: k, Message: k + " was stored by Excel as a rounded number (" + v + "); format the column as text and type it again"})
		}
	}
	in := core.OrderInput{Order: o}
	if cell["customs"] != "" {
		in.Declarations = []baoguan.DeclarationSpec{{Customs: cell["customs"], MerchantCustomsNo: cell["merchant_customs_no"]}}
	}
	in.Order.OrderedAt = time.Time{}
	return in, errs
}

// fieldColumn maps a core field name to the upload column it comes from.
func fieldColumn(field string) string {
	switch field {
	case "payer.name":
		return "payer_name"
	case "payer.id_type":
		return "payer_id_type"
	case "payer.id_number":
		return "payer_id_number"
	case "payer.phone":
		return "payer_phone"
	case "payment_no":
		return "channel"
	}
	return field
}

// Problems turns core.CheckBatch's problems into row errors, adds them to
// the upload's own and sorts them by row, so that one list tells every
// row and field to fix.
func (up *Upload) Problems(ps []core.Problem) []RowError {
	out := append([]RowError(nil), up.Errors...)
	type cellKey struct {
		row   int
		field string
	}
	bad := map[cellKey]bool{}
	for _, e := range up.Errors {
		bad[cellKey{e.Row, e.Field}] = true
	}
	for _, p := range ps {
		row := 0
		if p.Index < len(up.Rows) {
			row = up.Rows[p.Index]
		}
		col := fieldColumn(p.Field)
		if bad[cellKey{row, col}] {
			// The cell check already explained this cell (a missing amount
			// also fails the amount rule); one message per cause is enough.
			continue
		}
		out = append(out, RowError{Row: row, Field: col, Message: p.Message})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Row < out[b].Row })
	return out
}

// OrderExportHeader is the header of an order export.
var OrderExportHeader = []string{"merchant_order_no", "amount", "currency", "subject", "pay_status", "declare_status",
	"payment_no", "paid_at", "payer_name", "payer_id_number", "payer_phone", "channel", "batch_id", "created_at"}

// OrderRecord is one order as an export row. Personal data is masked as on
// the console's pages: an export is a file that travels by e-mail, and
// nobody reconciling payments needs a whole ID number.
func OrderRecord(o *baoguan.Order) []string {
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(core.ChinaTime).Format("2006-01-02 15:04:05")
	}
	batch := ""
	if o.BatchID != 0 {
		batch = fmt.Sprint(o.BatchID)
	}
	return []string{o.MerchantOrderNo, baoguan.FormatYuan(o.Amount), o.Currency, o.Subject, string(o.PayStatus),
		string(o.DeclareStatus), o.Payment.No, stamp(o.Payment.PaidAt), baoguan.MaskName(o.Payer.Name),
		baoguan.MaskID(o.Payer.IDNumber), baoguan.MaskPhone(o.Payer.Phone), string(o.Channel), batch, stamp(o.CreatedAt)}
}
