package sheet

import (
	"context"
	"io"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Progress reports how far a long import or export is: done of total
// (total 0 when unknown yet), in a named stage.
type Progress func(stage string, done, total int)

// ImportResult is the outcome of an import: either every row problem
// (and nothing written) or the batch created and set paying.
type ImportResult struct {
	Errors []RowError
	Batch  *baoguan.Batch
	Rows   int
	Paying int
}

// Import reads an order file (its format from the file name), checks every
// row with the core's order rules and, if no row has a problem, creates
// the batch and starts paying it. With problems nothing is written and
// every one is returned with its row number and column, in one pass.
// progress may be nil. Errors: EINVALID for an unreadable file, and those
// of core.CreateBatch with Pay (a refused payment stores nothing).
func Import(ctx context.Context, svc *core.Service, m *baoguan.Merchant, r io.Reader, filename, protocol string, progress Progress) (*ImportResult, error) {
	if progress == nil {
		progress = func(string, int, int) {}
	}
	f, err := FormatOf(filename)
	if err != nil {
		return nil, baoguan.FieldError("file", "%v", err)
	}
	progress("read", 0, 0)
	rd, err := NewReader(r, f)
	if err != nil {
		return nil, baoguan.FieldError("file", "%v", err)
	}
	up, err := ReadOrders(rd, protocol)
	rd.Close()
	if err != nil {
		return nil, baoguan.FieldError("file", "%v", err)
	}
	res := &ImportResult{Rows: len(up.Orders)}
	progress("check", 0, len(up.Orders))
	if len(up.Orders) == 0 && len(up.Errors) == 0 {
		res.Errors = []RowError{{Row: 2, Message: "the file has a header but no order"}}
		return res, nil
	}
	ps, err := svc.CheckBatch(ctx, m, up.Orders)
	if err != nil {
		return nil, err
	}
	if res.Errors = up.Problems(ps); len(res.Errors) > 0 {
		return res, nil
	}
	progress("check", len(up.Orders), len(up.Orders))
	progress("store", 0, len(up.Orders))
	// Stored all or nothing (in chunks, hidden until the last, which
	// schedules the payments): a refused payment (funding short) stores
	// nothing, so the upload can simply be made again.
	b, _, err := svc.CreateBatch(ctx, m, core.BatchInput{Orders: up.Orders, Protocol: protocol, Pay: true,
		Progress: func(n, total int) { progress("store", n, total) }})
	if err != nil {
		return nil, err
	}
	progress("store", len(up.Orders), len(up.Orders))
	res.Batch, res.Paying = b, len(up.Orders)
	return res, nil
}

// ExportOrders writes every order the filter selects, newest first, to w,
// page by page, so an export of any size holds one page in memory. The
// filter's cursor and limit are ignored. progress may be nil.
func ExportOrders(ctx context.Context, svc *core.Service, m *baoguan.Merchant, f baoguan.OrderFilter, w io.Writer, format Format, progress Progress) error {
	total := 0
	if progress != nil {
		var err error
		if total, err = svc.CountOrders(ctx, m, f); err != nil {
			return err
		}
	}
	sw, err := NewWriter(w, format, "orders")
	if err != nil {
		return err
	}
	if err := sw.WriteRow(OrderExportHeader...); err != nil {
		return err
	}
	f.Newest, f.Cursor, f.Limit = true, 0, 1000
	n := 0
	for {
		os, err := svc.Orders(ctx, m, f)
		if err != nil {
			return err
		}
		for i := range os {
			if err := sw.WriteRow(OrderRecord(&os[i])...); err != nil {
				return err
			}
		}
		n += len(os)
		if progress != nil {
			progress("export", n, total)
		}
		if len(os) < f.Limit {
			break
		}
		f.Cursor = os[len(os)-1].ID
	}
	return sw.Close()
}
