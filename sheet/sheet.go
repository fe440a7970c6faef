// Package sheet reads and writes the spreadsheets merchants' operations
// staff work in: Excel workbooks (.xlsx) and CSV files, row by row, so a
// 10,000-row upload or export never holds more than one row of cells at a
// time beyond what the file format forces (the xlsx shared-string table).
//
// CSV is written as UTF-8 with a byte-order mark, which Excel needs to
// open UTF-8 instead of the system code page. CSV is read as UTF-8 (with or
// without the mark) or, when the bytes are not valid UTF-8, as GB18030, the
// superset of GBK that Excel on Chinese Windows saves "CSV (逗号分隔)" in:
// refusing those files would refuse what most merchants' Excel produces.
package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Format is a spreadsheet file format.
type Format string

const (
	XLSX Format = "xlsx"
	CSV  Format = "csv"
)

// ContentType is the MIME type of a format, for downloads.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// FormatOf picks the format by a file name's extension (.xlsx or .csv).
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xlsx":
		return XLSX, nil
	case ".csv":
		return CSV, nil
	}
	return "", fmt.Errorf("%s: not a spreadsheet this gateway reads; use .xlsx or .csv", filepath.Base(name))
}

// ParseFormat reads a format name ("xlsx" or "csv").
func ParseFormat(s string) (Format, error) {
	switch Format(strings.ToLower(s)) {
	case XLSX:
		return XLSX, nil
	case CSV:
		return CSV, nil
	}
	return "", fmt.Errorf("unknown format %q: use xlsx or csv", s)
}

// MaxFileSize bounds an uploaded file (a 10,000-order workbook is about
// 1 MiB; CSV a little more).
const MaxFileSize = 32 << 20

// Reader reads the rows of a file's first sheet, in order. Row numbers are
// the ones a person sees in Excel: the first row is 1, blank rows count.
type Reader struct {
	next  func() ([]string, error)
	close func() error
	row   []string
	n     int
	err   error
}

// NewReader reads a spreadsheet of the given format from r, which may hold
// at most MaxFileSize bytes.
func NewReader(r io.Reader, f Format) (*Reader, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("the file is larger than %d MiB", MaxFileSize>>20)
	}
	switch f {
	case XLSX:
		return newXLSXReader(data)
	case CSV:
		return newCSVReader(data)
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

func newXLSXReader(data []byte) (*Reader, error) {
	// The unzip limits bound what a small hostile file can expand to; past
	// the XML limit excelize spills the sheet to a temporary file instead
	// of memory.
	wb, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: 512 << 20, UnzipXMLSizeLimit: 16 << 20})
	if err != nil {
		return nil, fmt.Errorf("not a readable .xlsx workbook: %w", err)
	}
	sheets := wb.GetSheetList()
	if len(sheets) == 0 {
		wb.Close()
		return nil, errors.New("the workbook has no sheet")
	}
	rows, err := wb.Rows(sheets[0])
	if err != nil {
		wb.Close()
		return nil, err
	}
	return &Reader{
		next: func() ([]string, error) {
			if !rows.Next() {
				if err := rows.Error(); err != nil {
					return nil, err
				}
				return nil, io.EOF
			}
			return rows.Columns()
		},
		close: func() error { return errors.Join(rows.Close(), wb.Close()) },
	}, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func newCSVReader(data []byte) (*Reader, error) {
	var src io.Reader
	switch {
	case bytes.HasPrefix(data, utf8BOM):
		// The mark says UTF-8: bytes that are not are an error, not text
		// to pass on (nor GB18030, which the mark rules out).
		rest := data[len(utf8BOM):]
		if !utf8.Valid(rest) {
			at := 0
			for at < len(rest) {
				r, n := utf8.DecodeRune(rest[at:])
				if r == utf8.RuneError && n <= 1 {
					break
				}
				at += n
			}
			return nil, fmt.Errorf("the file starts with a UTF-8 byte-order mark but byte %d is not UTF-8; save it again as CSV UTF-8", len(utf8BOM)+at+1)
		}
		src = bytes.NewReader(rest)
	case utf8.Valid(data):
		src = bytes.NewReader(data)
	default:
		src = transform.NewReader(bytes.NewReader(data), simplifiedchinese.GB18030.NewDecoder())
	}
	cr := csv.NewReader(bufio.NewReader(src))
	cr.FieldsPerRecord = -1 // short rows are the caller's to report, by field
	cr.ReuseRecord = true
	return &Reader{
		next: func() ([]string, error) {
			rec, err := cr.Read()
			if err != nil {
				return nil, err
			}
			return rec, nil
		},
		close: func() error { return nil },
	}, nil
}

// Next advances to the next row; false at the end or on an error (Err).
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	row, err := r.next()
	if err == io.EOF {
		return false
	}
	if err != nil {
		r.err = fmt.Errorf("row %d: %w", r.n+1, err)
		return false
	}
	r.n++
	r.row = row
	return true
}

// Row returns the current row's cells, trimmed of surrounding spaces. The
// slice is reused by Next.
func (r *Reader) Row() []string {
	for i, c := range r.row {
		r.row[i] = strings.TrimSpace(c)
	}
	return r.row
}

// Line is the current row's number, 1-based.
func (r *Reader) Line() int { return r.n }

// Err is the error that stopped Next, if any.
func (r *Reader) Err() error { return r.err }

// Close releases the reader.
func (r *Reader) Close() error { return r.close() }

// Writer writes rows to a new file of one sheet. Close must be called to
// finish the file.
type Writer struct {
	w     io.Writer
	csv   *csv.Writer
	wb    *excelize.File
	sw    *excelize.StreamWriter
	n     int
	cells []string
	vals  []any
}

// NewWriter starts a file of the given format on w; sheetName names the
// xlsx sheet.
func NewWriter(w io.Writer, f Format, sheetName string) (*Writer, error) {
	switch f {
	case CSV:
		if _, err := w.Write(utf8BOM); err != nil {
			return nil, err
		}
		return &Writer{w: w, csv: csv.NewWriter(w)}, nil
	case XLSX:
		wb := excelize.NewFile()
		if sheetName == "" {
			sheetName = "Sheet1"
		}
		if err := wb.SetSheetName("Sheet1", sheetName); err != nil {
			return nil, err
		}
		sw, err := wb.NewStreamWriter(sheetName)
		if err != nil {
			return nil, err
		}
		return &Writer{w: w, wb: wb, sw: sw}, nil
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

// WriteRow writes one row of text cells. Numbers are written as text too,
// so ID numbers and order numbers keep every digit in Excel.
func (w *Writer) WriteRow(cells ...string) error {
	w.n++
	if w.csv != nil {
		return w.csv.Write(cells)
	}
	w.vals = w.vals[:0]
	for _, c := range cells {
		w.vals = append(w.vals, c)
	}
	cell, err := excelize.CoordinatesToCellName(1, w.n)
	if err != nil {
		return err
	}
	return w.sw.SetRow(cell, w.vals)
}

// Rows is how many rows were written.
func (w *Writer) Rows() int { return w.n }

// Close finishes the file and writes what remains of it.
func (w *Writer) Close() error {
	if w.csv != nil {
		w.csv.Flush()
		return w.csv.Error()
	}
	if err := w.sw.Flush(); err != nil {
		return err
	}
	if _, err := w.wb.WriteTo(w.w); err != nil {
		return err
	}
	return w.wb.Close()
}
