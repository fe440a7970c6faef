package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Encoding a COPY's rows. pgx's CopyFrom encodes each value through its
// type map (a plan looked up per value), which cost the Go side of a
// 10,000-order batch upload about as much as building the rows. The
// columns a chunk copies are BIGINT, TEXT and BOOLEAN (BYTEA would do),
// and the values sqlstore hands over are int64, string, bool and []byte
// already (sqlstore.Copier), so copyFrom writes PostgreSQL's binary COPY
// format for those itself: a length and the bytes, big-endian integers. The
// column types come from the server, described once per connection (pgx
// keeps the description with the connection's prepared statements). A
// column of any other type, or a value that does not match its column's
// type, leaves the rows to pgx's CopyFrom, as before.

// Type OIDs copyFrom encodes itself.
const (
	oidBool  = 16
	oidBytea = 17
	oidInt8  = 20
	oidText  = 25
)

// copyFrom loads rows (each the values of cols) into table with COPY …
// FROM STDIN BINARY; with ids, an id column comes first, ids[r] for row r.
// prefix, statements that bind nothing, each ending in "; ", is sent in the
// COPY's simple query before it (or, when pgx encodes the rows, in a
// simple query of its own first).
func (c *conn) copyFrom(ctx context.Context, prefix, table string, cols []string, ids []int64, rows [][]any) error {
	if ids != nil {
		cols = append([]string{"id"}, cols...)
	}
	quoted := make([]string, len(cols))
	for i, col := range cols {
		quoted[i] = pgx.Identifier{col}.Sanitize()
	}
	list := strings.Join(quoted, ", ")
	name := pgx.Identifier{table}.Sanitize()
	// The statement pgx's CopyFrom describes too; Prepare with the text
	// as its name is answered from the connection's cache after the first.
	q := "select " + list + " from " + name
	sd, err := c.c.Conn().Prepare(ctx, q, q)
	if err != nil {
		return err
	}
	oids := make([]uint32, len(sd.Fields))
	for i, f := range sd.Fields {
		oids[i] = f.DataTypeOID
	}
	buf, ok := encodeCopy(oids, ids, rows)
	if !ok {
		src := rows
		if ids != nil {
			src = make([][]any, len(rows))
			for r := range rows {
				src[r] = append([]any{ids[r]}, rows[r]...)
			}
		}
		if prefix != "" {
			if _, err := c.c.Conn().PgConn().Exec(ctx, prefix).ReadAll(); err != nil {
				return err
			}
		}
		_, err := c.c.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(src))
		return err
	}
	_, err = c.c.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf), prefix+"copy "+name+" ( "+list+" ) from stdin binary")
	return err
}

// encodeCopy writes rows in COPY's binary format for columns of types
// oids (with ids, an id column first, ids[r] for row r); ok is false when
// a column's type or a value is not one it encodes.
func encodeCopy(oids []uint32, ids []int64, rows [][]any) (buf []byte, ok bool) {
	for _, oid := range oids {
		switch oid {
		case oidBool, oidBytea, oidInt8, oidText:
		default:
			return nil, false
		}
	}
	first := 0 // the column of rows' first value
	if ids != nil {
		if len(ids) != len(rows) || len(oids) == 0 || oids[0] != oidInt8 {
			return nil, false
		}
		first = 1
	}
	size := 19 + 2
	for _, r := range rows {
		size += 2 + 4*len(oids) + 8*first
		for _, v := range r {
			switch v := v.(type) {
			case string:
				size += len(v)
			case []byte:
				size += len(v)
			default:
				size += 8
			}
		}
	}
	buf = make([]byte, 0, size)
	buf = append(buf, "PGCOPY\n\377\r\n\000"...)
	buf = binary.BigEndian.AppendUint32(buf, 0) // flags
	buf = binary.BigEndian.AppendUint32(buf, 0) // header extension
	for n, r := range rows {
		if first+len(r) != len(oids) {
			return nil, false
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(oids)))
		if first == 1 {
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, uint64(ids[n]))
		}
		for i, v := range r {
			switch oids[first+i] {
			case oidInt8:
				n, ok := v.(int64)
				if !ok {
					return nil, false
				}
				buf = binary.BigEndian.AppendUint32(buf, 8)
				buf = binary.BigEndian.AppendUint64(buf, uint64(n))
			case oidText:
				s, ok := v.(string)
				if !ok {
					return nil, false
				}
				buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
				buf = append(buf, s...)
			case oidBool:
				b, ok := v.(bool)
				if !ok {
					return nil, false
				}
				buf = binary.BigEndian.AppendUint32(buf, 1)
				if b {
					buf = append(buf, 1)
				} else {
					buf = append(buf, 0)
				}
			case oidBytea:
				b, ok := v.([]byte)
				if !ok {
					return nil, false
				}
				buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
				buf = append(buf, b...)
			}
		}
	}
	buf = binary.BigEndian.AppendUint16(buf, 0xffff) // the trailer: -1
	return buf, true
}
