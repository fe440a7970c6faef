package sqlstore

import (
	"fmt"
	"strings"
)

// Rows of one table written together (UpdateOrders, UpdateDeclarations).
//
// On PostgreSQL the rows of a job batch that change the same columns are
// written by one statement: the values as arrays, unnested and joined to
// the table by id, merchant and version, RETURNING the ids it wrote —
// UPDATE orders SET pay_status = v.pay_status, … FROM unnest(…) AS v(…)
// WHERE orders.id = v.k_id AND orders.merchant_id = v.k_merchant AND
// orders.version = v.k_version. One statement's round (binding, executor
// start-up and end, the portal) instead of one a row, each row still
// checked against its version: a row not returned is stale or gone, as a
// row-at-a-time UPDATE that changed nothing. Elsewhere (SQLite, where a
// statement is a function call, and for a row alone) each row has its
// UPDATE.

// setRow is one row of a set update: its key, version and the values of
// the columns in the set's mask, sealed.
type setRow struct {
	id, merchant, version int64
	vals                  []any
}

// setSQLType is the SQL array element type of a column value, "" when a
// set update cannot carry it.
func setSQLType(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case int64, int:
		return "bigint"
	case bool:
		return "boolean"
	}
	return ""
}

// updateSet returns the statement writing rows of tb whose columns in mask
// are of the given SQL types (see the comment above), and its arguments:
// tail (what the table's tail binds before its WHERE: updated_at), then
// the arrays. ok is false when a value's type cannot go in an array.
func (tb *table) updateSet(mask uint64, rows []setRow, tail []any) (q string, args []any, ok bool) {
	types := make([]string, 0, len(rows[0].vals))
	for _, v := range rows[0].vals {
		ty := setSQLType(v)
		if ty == "" {
			return "", nil, false
		}
		types = append(types, ty)
	}
	key := fmt.Sprintf("%x/%s", mask, strings.Join(types, ","))
	if s, found := tb.setShapes.Load(key); found {
		q = s.(string)
	} else {
		q = tb.setText(mask, types)
		tb.setShapes.Store(key, q)
	}
	ids, merchants, versions := make([]int64, len(rows)), make([]int64, len(rows)), make([]int64, len(rows))
	cols := make([]any, len(types))
	for j, ty := range types {
		switch ty {
		case "text":
			cols[j] = make([]string, len(rows))
		case "bigint":
			cols[j] = make([]int64, len(rows))
		case "boolean":
			cols[j] = make([]bool, len(rows))
		}
	}
	for i, r := range rows {
		ids[i], merchants[i], versions[i] = r.id, r.merchant, r.version
		for j, v := range r.vals {
			switch c := cols[j].(type) {
			case []string:
				s, isStr := v.(string)
				if !isStr {
					return "", nil, false
				}
				c[i] = s
			case []int64:
				switch n := v.(type) {
				case int64:
					c[i] = n
				case int:
					c[i] = int64(n)
				default:
					return "", nil, false
				}
			case []bool:
				b, isBool := v.(bool)
				if !isBool {
					return "", nil, false
				}
				c[i] = b
			}
		}
	}
	args = make([]any, 0, len(tail)+4+len(cols))
	args = append(args, tail...)
	args = append(args, ids, merchants, versions)
	args = append(args, cols...)
	args = append(args, ids) // the rows' ids again, for the table's primary key (setText)
	return q, args, true
}

// setText builds updateSet's statement for mask and the columns' types.
// The ids are bound twice: unnested with the values, and as a condition on
// the table's own id (= ANY) that its primary key answers. Without that
// the planner, which cannot see through the unnest, often joined by
// reading the whole table into a hash join (a sequential scan of orders a
// job batch) while the table was small enough for it to look cheaper than
// an index probe a row.
func (tb *table) setText(mask uint64, types []string) string {
	var set, arrays, names strings.Builder
	arrays.WriteString("?::bigint[], ?::bigint[], ?::bigint[]")
	names.WriteString("k_id, k_merchant, k_version")
	j := 0
	for i, c := range tb.cols {
		if mask&(1<<i) == 0 {
			continue
		}
		fmt.Fprintf(&set, "%s = v.%s, ", c, c)
		fmt.Fprintf(&arrays, ", ?::%s[]", types[j])
		fmt.Fprintf(&names, ", %s", c)
		j++
	}
	bump, _, _ := strings.Cut(tb.tail, " WHERE ")
	return fmt.Sprintf("UPDATE %[1]s SET %[2]s%[3]s FROM unnest(%[4]s) AS v(%[5]s)\nWHERE %[1]s.id = v.k_id AND %[1]s.merchant_id = v.k_merchant AND %[1]s.version = v.k_version AND %[1]s.id = ANY(?::bigint[])\nRETURNING %[1]s.id",
		tb.name, set.String(), bump, arrays.String(), names.String())
}

// rowWrite is one row writeRows writes: its key and version, the plain
// values of its table's columns, the arguments of its own UPDATE after the
// SET values (the table's tail: updated_at, id, merchant, version) and
// those of a set update before its arrays (the tail's before its WHERE:
// updated_at).
type rowWrite struct {
	id, merchant, version int64
	vals                  []any
	tail, setTail         []any
}

// writeRows writes rows of tb, each checked against its version, and
// reports per row whether it was written. On PostgreSQL rows that change
// the same columns go by one statement (see above) and a row alone by its
// UPDATE, those in one round trip; elsewhere one UPDATE a row.
func (t *Tx) writeRows(tb *table, rows []rowWrite) ([]bool, error) {
	written := make([]bool, len(rows))
	type group struct {
		mask uint64
		rows []setRow
		idx  []int
	}
	var groups []group
	byMask := map[uint64]int{}
	var stmts []Stmt
	var stmtRow []int
	setOK := t.d.Numbered && t.plans == nil && len(rows) > 1
	for i := range rows {
		r := &rows[i]
		mask := t.changed(tb, r.id, r.version, r.vals)
		sealed, err := t.updateArgs(tb, mask, r.vals)
		if err != nil {
			return nil, err
		}
		if !setOK {
			stmts, stmtRow = append(stmts, Stmt{Q: tb.update(mask), Args: append(sealed, r.tail...)}), append(stmtRow, i)
			continue
		}
		g, ok := byMask[mask]
		if !ok {
			g = len(groups)
			byMask[mask] = g
			groups = append(groups, group{mask: mask})
		}
		groups[g].rows = append(groups[g].rows, setRow{r.id, r.merchant, r.version, sealed})
		groups[g].idx = append(groups[g].idx, i)
	}
	for _, g := range groups {
		if len(g.rows) > 1 {
			if q, args, ok := tb.updateSet(g.mask, g.rows, rows[g.idx[0]].setTail); ok {
				got := make(map[int64]bool, len(g.rows))
				err := t.each(q, args, func(s Scanner) error {
					var id int64
					if err := s.Scan(&id); err != nil {
						return err
					}
					got[id] = true
					return nil
				})
				if err != nil {
					return nil, err
				}
				for _, i := range g.idx {
					written[i] = got[rows[i].id]
				}
				continue
			}
		}
		for k, i := range g.idx {
			stmts = append(stmts, Stmt{Q: tb.update(g.mask), Args: append(g.rows[k].vals, rows[i].tail...)})
			stmtRow = append(stmtRow, i)
		}
	}
	if len(stmts) > 0 {
		ns, err := t.execAll(stmts)
		if err != nil {
			return nil, err
		}
		for k, i := range stmtRow {
			written[i] = ns[k] > 0
		}
	}
	return written, nil
}
