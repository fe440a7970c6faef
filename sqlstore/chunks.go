package sqlstore

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/baoguan/baoguan"
)

// Inserting many rows in one statement: a batch upload's chunk stores its
// orders (their numbers and fingerprints with them) and their declarations
// with one statement per table (CreateOrders, CreateDeclarations) instead
// of one per row. A statement per row cost SQLite its parsing-free but still
// per-statement work (binding, the statement journal, resetting) and
// PostgreSQL a round trip per row.
//
//   - SQLite: INSERT … VALUES (…), (…), … with up to maxRowsPerInsert rows.
//     A chunk is split into statements of power-of-two row counts, so the
//     connection's statement cache keeps at most eight texts per table
//     whatever the chunk sizes, and a statement binds far fewer variables
//     than SQLITE_MAX_VARIABLE_NUMBER (32,766).
//   - PostgreSQL: INSERT … SELECT * FROM unnest($1::bigint[], $2::text[], …):
//     one array per column, one statement text whatever the row count, one
//     round trip per table per chunk.
//
// Both keep ON CONFLICT DO NOTHING and RETURNING, so a row skipped by a
// unique key is told apart from the ones inserted, as the one-row inserts do.
//
// On PostgreSQL a chunk of copyMinRows rows or more is first loaded with
// COPY (copyRows): no arrays to unpack, no ON CONFLICT check before each
// row, no RETURNING; the server's CPU for a 10,000-order upload went down
// by about a sixth (BenchmarkCreateBatchPostgres; the indexes and foreign
// keys each row updates and checks are most of what is left). Ids are
// drawn from the table's sequence beforehand. The COPY runs inside a savepoint: when it fails for any
// reason (a row meets a unique key or a missing parent), the transaction
// goes back to where it was and the rows are inserted as above, which
// answers exactly as before (which keys were taken, which order number is
// a duplicate).

// maxRowsPerInsert bounds a SQLite multi-row INSERT: 128 rows of the widest
// table (orders, 44 columns) bind 5,632 variables.
const maxRowsPerInsert = 128

// insertRows inserts rows (each the values of cols, in order) into table,
// with suffix after the values (ON CONFLICT …, RETURNING …), and calls
// scan for every row the statements return. Every row has the same Go
// types column by column.
//
// shared names columns that new rows usually hold the same value in (the
// merchant, the batch, the states and times of a new row, the empty
// payment). On SQLite, where binding a value costs a call into the
// driver, a statement whose rows do agree on all of them binds each once
// (?1, ?2, … for those, numbered parameters for the rest); otherwise, and
// on PostgreSQL, every value is bound. Either way each table has a bounded
// set of statement texts.
func (t *Tx) insertRows(table, cols, suffix string, rows [][]any, shared []int, scan func(Scanner) error) error {
	if len(rows) == 0 {
		return nil
	}
	if t.d.Numbered {
		q, args, err := unnestInsert(table, cols, suffix, rows)
		if err != nil {
			return err
		}
		return t.each(q, args, scan)
	}
	width := len(rows[0])
	for len(rows) > 0 {
		n := maxRowsPerInsert
		for n > len(rows) {
			n /= 2
		}
		share := shared
		if !agree(rows[:n], shared) {
			share = nil
		}
		q := multiRowInsert(table, cols, suffix, width, n, share)
		if err := t.each(q, multiRowArgs(rows[:n], share), scan); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertRowIDs inserts rows (each the values of cols, in order) into
// table on SQLite, with suffix (ON CONFLICT DO NOTHING) after the values
// and no RETURNING, which SQLite runs through a temporary table (see
// Inserter): multi-row INSERT … VALUES statements of power-of-two row
// counts, as insertRows. It returns each row's id. table must have an
// INTEGER PRIMARY KEY id without AUTOINCREMENT: SQLite then gives each new
// row the largest rowid plus one, in the order of the VALUES, and with one
// writer nothing else inserts between, so the n rows of a statement that
// wrote all n have the ids last-n+1 … last.
//
// A statement that skipped rows (a unique key met) ends the insert: the
// ids of its rows and of the rows after it are 0, and from is the first
// id it wrote (math.MaxInt64 if none), so that a row already in the table
// is told by an id below from. The caller then fails its function.
func (t *Tx) insertRowIDs(ri RowsInserter, table, cols, suffix string, rows [][]any, shared []int) (ids []int64, from int64, err error) {
	if t.done {
		return nil, 0, errTxDone
	}
	ids = make([]int64, len(rows))
	if len(rows) == 0 {
		return ids, 0, nil
	}
	width := len(rows[0])
	for done := 0; done < len(rows); {
		n := maxRowsPerInsert
		for n > len(rows)-done {
			n /= 2
		}
		share := shared
		if !agree(rows[done:done+n], shared) {
			share = nil
		}
		q := multiRowInsert(table, cols, suffix, width, n, share)
		last, wrote, err := ri.InsertRows(t.ctx, q, multiRowArgs(rows[done:done+n], share)...)
		if err != nil {
			return nil, 0, err
		}
		if wrote != int64(n) {
			if wrote == 0 {
				return ids, math.MaxInt64, nil
			}
			return ids, last - wrote + 1, nil
		}
		for i := 0; i < n; i++ {
			ids[done+i] = last - int64(n-1-i)
		}
		done += n
	}
	return ids, 0, nil
}

// multiRowArgs are the values multiRowInsert's statement for rows binds:
// with share, the shared columns' values once (the first row's), then each
// row's others; without, every value of every row.
func multiRowArgs(rows [][]any, share []int) []any {
	width := len(rows[0])
	if share == nil {
		if args, ok := adjacent(rows, width); ok {
			return args
		}
	}
	args := make([]any, 0, len(share)+len(rows)*(width-len(share)))
	if share == nil {
		for _, r := range rows {
			args = append(args, r...)
		}
		return args
	}
	own := make([]int, 0, width-len(share)) // the columns each row binds
	for c := range width {
		if !slices.Contains(share, c) {
			own = append(own, c)
		}
	}
	for _, c := range share {
		args = append(args, rows[0][c])
	}
	for _, r := range rows {
		for _, c := range own {
			args = append(args, r[c])
		}
	}
	return args
}

// adjacent returns rows' values as one slice when they lie one after the
// other in one array (CreateSealedEvents makes them so), so that no copy
// of them is made; its capacity ends with them.
func adjacent(rows [][]any, width int) ([]any, bool) {
	all := rows[0][:cap(rows[0])]
	if width == 0 || len(all) < len(rows)*width {
		return nil, false
	}
	for i, r := range rows {
		if len(r) != width || &r[0] != &all[i*width] {
			return nil, false
		}
	}
	return all[: len(rows)*width : len(rows)*width], true
}

// skippedRow finds the first row insertRowIDs skipped (a unique key met),
// as the RETURNING of insertRows tells it: ids and from are what
// insertRowIDs returned, key(i) row i's unique key, and lookup with
// args(i) reads the id of the row holding row i's key. Row i was skipped
// when its key is an earlier row's, or is held by a row older than from
// (in the table before the statement that skipped rows). If no row is
// found so (another unique key), the first row without an id is named.
func (t *Tx) skippedRow(ids []int64, from int64, key func(int) any, lookup string, args func(int) []any) (int, error) {
	seen := make(map[any]bool, len(ids))
	first := -1
	for i, id := range ids {
		k := key(i)
		if id != 0 {
			seen[k] = true
			continue
		}
		if first < 0 {
			first = i
		}
		if seen[k] {
			return i, nil
		}
		seen[k] = true
		var held int64
		found, err := t.one(lookup, args(i), func(s Scanner) error { return s.Scan(&held) })
		if err != nil {
			return 0, err
		}
		if found && held < from {
			return i, nil
		}
	}
	return first, nil
}

// RowsInserter is a Conn that tells how many rows a multi-row INSERT
// wrote and the rowid of the last one (SQLite), from which insertRowIDs
// tells every row's id.
type RowsInserter interface {
	InsertRows(ctx context.Context, q string, args ...any) (last, n int64, err error)
}

// agree reports whether rows hold equal values in every column of cols
// (values of comparable kinds only: a []byte never agrees).
func agree(rows [][]any, cols []int) bool {
	for _, c := range cols {
		v := rows[0][c]
		if _, ok := v.([]byte); ok {
			return false
		}
		for _, r := range rows[1:] {
			if r[c] != v {
				return false
			}
		}
	}
	return true
}

// multiRowText caches the SQLite statements of insertRows: a table has at
// most sixteen (eight row counts, shared values or not).
var multiRowText sync.Map // multiRowKey → string

type multiRowKey struct {
	table, suffix string
	n             int
	shared        bool
}

// multiRowInsert is INSERT INTO table (cols) with n rows of width values.
// Without shared columns: VALUES (?, …), (?, …), …. With them: the shared
// values bound once in a one-row subquery, the others in VALUES rows,
// joined: INSERT … SELECT s.c1, v.column1, … FROM (SELECT ? AS c1, …) AS s,
// (VALUES (?, …), …) AS v. (Numbered parameters, ?1 repeated in every row,
// would say the same, but SQLite's parser looks each number up in a list,
// which made preparing a statement of thousands of them take a tenth of a
// second.)
func multiRowInsert(table, cols, suffix string, width, n int, shared []int) string {
	key := multiRowKey{table, suffix, n, shared != nil}
	if q, ok := multiRowText.Load(key); ok {
		return q.(string)
	}
	var sb strings.Builder
	sb.Grow(len(table) + len(cols) + len(suffix) + n*(3*width+4) + 16*width + 64)
	sb.WriteString("INSERT INTO ")
	sb.WriteString(table)
	sb.WriteString(" (")
	sb.WriteString(cols)
	sb.WriteString(") ")
	row := "(" + placeholders(width-len(shared)) + ")"
	if shared != nil {
		sb.WriteString("SELECT ")
		k := 0
		for c := 0; c < width; c++ {
			if c > 0 {
				sb.WriteString(", ")
			}
			if slices.Contains(shared, c) {
				sb.WriteString("s.c" + strconv.Itoa(c))
			} else {
				k++
				sb.WriteString("v.column" + strconv.Itoa(k))
			}
		}
		sb.WriteString(" FROM (SELECT ")
		for i, c := range shared {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("? AS c" + strconv.Itoa(c))
		}
		sb.WriteString(") AS s, (")
	}
	sb.WriteString("VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(row)
	}
	if shared != nil {
		// WHERE true: SQLite reads ON CONFLICT after a bare FROM as a join
		// constraint.
		sb.WriteString(") AS v WHERE true")
	}
	sb.WriteString("\n")
	sb.WriteString(suffix)
	q, _ := multiRowText.LoadOrStore(key, sb.String())
	return q.(string)
}

// unnestInsert builds PostgreSQL's INSERT … SELECT * FROM unnest(…): each
// column's values as one typed array, the type taken from the first row's
// value (int kinds bigint, strings text, bool boolean, []byte bytea).
func unnestInsert(table, cols, suffix string, rows [][]any) (string, []any, error) {
	args, casts, err := unnestArrays(table, rows)
	if err != nil {
		return "", nil, err
	}
	var sb strings.Builder
	sb.WriteString("INSERT INTO ")
	sb.WriteString(table)
	sb.WriteString(" (")
	sb.WriteString(cols)
	sb.WriteString(") SELECT * FROM unnest(")
	writeCasts(&sb, casts)
	sb.WriteString(")\n")
	sb.WriteString(suffix)
	return sb.String(), args, nil
}

// writeCasts writes the parameters of unnest's arrays: ?::bigint[], ….
func writeCasts(sb *strings.Builder, casts []string) {
	for c := range casts {
		if c > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("?::")
		sb.WriteString(casts[c])
	}
}

// unnestArrays turns rows into one typed array a column for unnest, and
// the arrays' types.
func unnestArrays(table string, rows [][]any) ([]any, []string, error) {
	width := len(rows[0])
	args := make([]any, width)
	casts := make([]string, width)
	for c := 0; c < width; c++ {
		v := reflect.ValueOf(rows[0][c])
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			a := make([]int64, len(rows))
			for r := range rows {
				a[r] = reflect.ValueOf(rows[r][c]).Int()
			}
			args[c], casts[c] = a, "bigint[]"
		case reflect.String:
			a := make([]string, len(rows))
			for r := range rows {
				a[r] = reflect.ValueOf(rows[r][c]).String()
			}
			args[c], casts[c] = a, "text[]"
		case reflect.Bool:
			a := make([]bool, len(rows))
			for r := range rows {
				a[r] = reflect.ValueOf(rows[r][c]).Bool()
			}
			args[c], casts[c] = a, "boolean[]"
		case reflect.Slice:
			if v.Type().Elem().Kind() != reflect.Uint8 {
				return nil, nil, fmt.Errorf("postgres: insert into %s: column %d: cannot send %T as an array", table, c, rows[0][c])
			}
			a := make([][]byte, len(rows))
			for r := range rows {
				a[r] = reflect.ValueOf(rows[r][c]).Bytes()
				if a[r] == nil {
					a[r] = []byte{} // the columns are NOT NULL; nil binds as NULL
				}
			}
			args[c], casts[c] = a, "bytea[]"
		default:
			return nil, nil, fmt.Errorf("postgres: insert into %s: column %d: cannot send %T as an array", table, c, rows[0][c])
		}
	}
	return args, casts, nil
}

// copyMinRows is the fewest rows copyRows loads with COPY: below it the
// savepoint and the COPY's own round trips cost more than the INSERT.
const copyMinRows = 32

// Copier is a Conn that loads rows with COPY (PostgreSQL). CopyRows loads
// rows, each the values of cols (int64, string, bool or []byte), into
// table, in a savepoint of its own; with ids, the rows get ids drawn from
// the table's id sequence first (or given, one a row, drawn before: see
// baoguan.IDReserver), in the rows' order, as an id column before cols,
// and got returns them. When anything fails, the transaction is rolled
// back to the savepoint, as it was before the call, and copied is false
// with no error. err is set only when the transaction could not be brought
// back.
type Copier interface {
	CopyRows(ctx context.Context, table string, cols []string, rows [][]any, ids bool, given []int64) (got []int64, copied bool, err error)
}

// copyRows loads rows (each the values of cols, in order) into table with
// COPY on a Conn that is a Copier, when there are copyMinRows of them or
// more. With ids, the rows get ids drawn from the table's id sequence
// first, in the rows' order, or given ones (one a row, drawn before), and
// returned. copied is false when the rows
// were not loaded (not a Copier, too few rows, or the COPY failed and was
// undone): the caller then inserts them another way. The rows' values are
// made plain (plainValues) in place, which the other ways take as well.
func (t *Tx) copyRows(table, cols string, rows [][]any, ids bool, given []int64) (got []int64, copied bool, err error) {
	cp, ok := t.c.(Copier)
	if !ok || len(rows) < copyMinRows || t.done || t.plans != nil {
		return nil, false, nil
	}
	for r := range rows {
		if err := plainValues(table, rows[r]); err != nil {
			return nil, false, err
		}
	}
	got, copied, err = cp.CopyRows(t.ctx, table, copyColumns(cols), rows, ids, given)
	if err == nil && copied && ids && len(got) != len(rows) {
		err = fmt.Errorf("%s: %d ids drawn for %d rows of %s", t.d.Name, len(got), len(rows), table)
	}
	if !copied || err != nil {
		got = nil
	}
	return got, copied, err
}

// givenIDs is the ids of n rows, id(i) for row i, when every row has one
// (drawn before the transaction: baoguan.IDReserver), and nil otherwise.
func givenIDs(n int, id func(i int) int64) []int64 {
	if n == 0 || id(0) == 0 {
		return nil
	}
	ids := make([]int64, n)
	for i := range ids {
		if ids[i] = id(i); ids[i] == 0 {
			return nil
		}
	}
	return ids
}

// copyColumns splits a column list (orderInsertCols…) into names.
var copyColumnLists sync.Map // cols → []string

func copyColumns(cols string) []string {
	if v, ok := copyColumnLists.Load(cols); ok {
		return v.([]string)
	}
	var names []string
	for _, c := range strings.Split(cols, ",") {
		names = append(names, strings.TrimSpace(c))
	}
	copyColumnLists.Store(cols, names)
	return names
}

// plainValues makes a row's values the plain Go types COPY encodes, in
// place: int kinds int64, string kinds string, []byte never nil (the
// columns are NOT NULL); bool and values plain already stay as they are.
func plainValues(table string, row []any) error {
	for c, x := range row {
		switch x.(type) {
		case int64, string, bool:
			continue
		}
		v := reflect.ValueOf(x)
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			row[c] = v.Int()
		case reflect.String:
			row[c] = v.String()
		case reflect.Bool:
			row[c] = v.Bool()
		case reflect.Slice:
			if v.Type().Elem().Kind() != reflect.Uint8 {
				return fmt.Errorf("copy into %s: column %d: cannot send %T", table, c, x)
			}
			b := v.Bytes()
			if b == nil {
				b = []byte{}
			}
			row[c] = b
		default:
			return fmt.Errorf("copy into %s: column %d: cannot send %T", table, c, x)
		}
	}
	return nil
}

const (
	orderInsertCols = `merchant_id, merchant_order_no, amount, currency, subject, items,
	payer_name, payer_id_type, payer_id_number, payer_phone, ordered_at, batch_id, notify_url,
	need_declare, channel, sandbox, protocol, capital_name, extra, pay_status, declare_status,
	payment_no, psp, psp_name, psp_code, paid_at, ver_dept, pay_type, init_request, init_response,
	fail_reason, fail_code, paid_by_name, paid_by_id, exchange_rate, pay_cny, settle_rate, pay_attempts, refunded,
	pay_due_at, version, created_at, updated_at, fingerprint`
	declarationInsertCols = `order_id, merchant_id, customs, sub_order_no, port, route, extras,
	sub_order_id, merchant_customs_no, order_fee, transport_fee, product_fee, duty, strategy, identity_check,
	payer_name, payer_id_type, payer_id_number, payer_phone, state, retrying, explanation,
	verify_department, verify_department_trade_id, receipt_code, port_ref, attempts, submitted_at,
	modified_at, created_at, version`
)

// The columns of orderInsertCols and declarationInsertCols a chunk's new
// rows usually agree on (see insertRows): the merchant, the
// batch, a new row's states, counters and times, an unpaid order's empty
// payment, a new declaration's empty outcome.
var (
	orderShared = []int{0, 11, 13, 15, 16, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36,
		37, 38, 39, 40, 41, 42}
	declarationShared = []int{1, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30}
)

// CreateOrders inserts new orders at version 1, with their fingerprints,
// one statement for all of them (see above), and sets their ids. When
// every order has an id already (drawn before, baoguan.IDReserver), a COPY
// inserts them with those ids; any other way of inserting them gives them
// new ones. An order number the merchant
// already used is ECONFLICT reason duplicate naming merchant_order_no and
// the number; the caller must then not commit (the other orders were
// inserted). A missing merchant is ENOTFOUND.
func (t *Tx) CreateOrders(os []baoguan.Order) error {
	rows, index, err := t.newOrderRows(os)
	if err != nil {
		return err
	}
	ids, copied, err := t.copyRows("orders", orderInsertCols, rows, true, givenIDs(len(os), func(i int) int64 { return os[i].ID }))
	if err != nil {
		return err
	}
	if copied {
		for i := range os {
			os[i].ID, os[i].Version, os[i].CreatedAt, os[i].UpdatedAt = ids[i], 1, t.now, t.now
		}
		t.announcePays(os)
		return t.orderedMerchantsExist(os)
	}
	if ri, ok := t.c.(RowsInserter); ok && !t.d.Numbered && t.plans == nil {
		ids, from, err := t.insertRowIDs(ri, "orders", orderInsertCols, "ON CONFLICT DO NOTHING", rows, orderShared)
		switch {
		case t.isForeignKey(err):
			return notFound("merchant %d not found", os[0].MerchantID)
		case err != nil:
			return err
		case from != 0:
			if err := t.orderedMerchantsExist(os); err != nil {
				return err
			}
			i, err := t.skippedRow(ids, from, func(i int) any { return orderNumber{os[i].MerchantID, os[i].MerchantOrderNo} },
				`SELECT id FROM orders WHERE merchant_id = ? AND merchant_order_no = ?`,
				func(i int) []any { return []any{os[i].MerchantID, os[i].MerchantOrderNo} })
			if err != nil {
				return err
			}
			return duplicate("merchant_order_no", "order %s already exists", quote(os[i].MerchantOrderNo))
		}
		for i := range os {
			os[i].ID, os[i].Version, os[i].CreatedAt, os[i].UpdatedAt = ids[i], 1, t.now, t.now
		}
		t.announcePays(os)
		return t.orderedMerchantsExist(os)
	}
	for i := range os {
		os[i].ID = 0 // set below for each order inserted
	}
	got := 0
	err = t.insertRows("orders", orderInsertCols, "ON CONFLICT DO NOTHING\nRETURNING id, merchant_id, merchant_order_no", rows, orderShared, func(s Scanner) error {
		var id int64
		var k orderNumber
		if err := s.Scan(&id, &k.merchant, &k.no); err != nil {
			return err
		}
		i, ok := index[k]
		if !ok {
			return fmt.Errorf("%s: insert orders: returned order %s was not inserted", t.d.Name, quote(k.no))
		}
		o := &os[i]
		o.ID, o.Version, o.CreatedAt, o.UpdatedAt = id, 1, t.now, t.now
		got++
		return nil
	})
	switch {
	case t.isForeignKey(err):
		return notFound("merchant %d not found", os[0].MerchantID)
	case err != nil:
		return err
	case got < len(os):
		if err := t.orderedMerchantsExist(os); err != nil {
			return err
		}
		for i := range os {
			if os[i].ID == 0 {
				return duplicate("merchant_order_no", "order %s already exists", quote(os[i].MerchantOrderNo))
			}
		}
	}
	t.announcePays(os)
	return t.orderedMerchantsExist(os)
}

// announcePays counts the new orders whose payment is due now, queued on
// the order (a push's PayDueAt), as enqueued jobs, as CreateOrder does.
func (t *Tx) announcePays(os []baoguan.Order) {
	for i := range os {
		if !os[i].PayDueAt.IsZero() && !os[i].PayDueAt.After(t.now) {
			t.enqueued++
		}
	}
}

// orderNumber is an order's number within its merchant.
type orderNumber struct {
	merchant int64
	no       string
}

// newOrderRows are the rows (orderInsertCols) of new orders at version 1,
// with their fingerprints, and where each order's number is in os.
func (t *Tx) newOrderRows(os []baoguan.Order) ([][]any, map[orderNumber]int, error) {
	rows := make([][]any, len(os))
	index := make(map[orderNumber]int, len(os))
	for i := range os {
		o := &os[i]
		r, _, err := t.orderRow(o, 4)
		if err != nil {
			return nil, nil, err
		}
		rows[i] = append(r, int64(1), ms(t.now), ms(t.now), o.Fingerprint)
		index[orderNumber{o.MerchantID, o.MerchantOrderNo}] = i
	}
	return rows, index, nil
}

// orderedMerchantsExist is ENOTFOUND when a merchant of os does not exist,
// where orders name their merchant without a foreign key
// (Dialect.CheckedRefs): one read for the call, after its insert (the
// caller must not commit a call that failed). Merchants are never deleted.
func (t *Tx) orderedMerchantsExist(os []baoguan.Order) error {
	if !t.d.CheckedRefs || len(os) == 0 {
		return nil
	}
	ids := make([]int64, len(os))
	for i := range os {
		ids[i] = os[i].MerchantID
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var n int
	if err := t.each(`SELECT id FROM merchants WHERE id = ANY(?::bigint[])`, []any{ids}, func(Scanner) error { n++; return nil }); err != nil {
		return err
	}
	if n < len(ids) {
		return notFound("merchant %d not found", os[0].MerchantID)
	}
	return nil
}

// CreateDeclarations inserts new declarations, one statement for all of
// them, and sets their ids (given ones kept as CreateOrders keeps them). A target (order, customs, sub-order) declared
// already is ECONFLICT reason duplicate; the caller must then not commit.
// A missing order is ENOTFOUND.
func (t *Tx) CreateDeclarations(ds []baoguan.Declaration) error {
	type target struct {
		order             int64
		customs, subOrder string
	}
	rows := make([][]any, len(ds))
	index := make(map[target]int, len(ds))
	for i := range ds {
		d := &ds[i]
		r, _, err := t.declarationRow(d, 2)
		if err != nil {
			return err
		}
		rows[i] = append(r, ms(t.now), int64(1))
		index[target{d.OrderID, d.Customs, d.SubOrderNo}] = i
	}
	ids, copied, err := t.copyRows("declarations", declarationInsertCols, rows, true, givenIDs(len(ds), func(i int) int64 { return ds[i].ID }))
	if err != nil {
		return err
	}
	if copied {
		for i := range ds {
			ds[i].ID, ds[i].Version, ds[i].CreatedAt = ids[i], 1, t.now
		}
		return t.declaredOrdersExist(ds)
	}
	if ri, ok := t.c.(RowsInserter); ok && !t.d.Numbered && t.plans == nil {
		ids, from, err := t.insertRowIDs(ri, "declarations", declarationInsertCols, "ON CONFLICT DO NOTHING", rows, declarationShared)
		switch {
		case t.isForeignKey(err):
			return notFound("order of a declaration not found")
		case err != nil:
			return err
		case from != 0:
			if err := t.declaredOrdersExist(ds); err != nil {
				return err
			}
			i, err := t.skippedRow(ids, from, func(i int) any { return target{ds[i].OrderID, ds[i].Customs, ds[i].SubOrderNo} },
				`SELECT id FROM declarations WHERE order_id = ? AND customs = ? AND sub_order_no = ?`,
				func(i int) []any { return []any{ds[i].OrderID, ds[i].Customs, ds[i].SubOrderNo} })
			if err != nil {
				return err
			}
			return duplicate("customs", "order %d is already declared to %s", ds[i].OrderID, ds[i].Customs)
		}
		for i := range ds {
			ds[i].ID, ds[i].Version, ds[i].CreatedAt = ids[i], 1, t.now
		}
		return t.declaredOrdersExist(ds)
	}
	for i := range ds {
		ds[i].ID = 0 // set below for each declaration inserted
	}
	got := 0
	err = t.insertRows("declarations", declarationInsertCols, "ON CONFLICT DO NOTHING\nRETURNING id, order_id, customs, sub_order_no", rows, declarationShared, func(s Scanner) error {
		var id int64
		var k target
		if err := s.Scan(&id, &k.order, &k.customs, &k.subOrder); err != nil {
			return err
		}
		i, ok := index[k]
		if !ok {
			return fmt.Errorf("%s: insert declarations: returned declaration of order %d was not inserted", t.d.Name, k.order)
		}
		ds[i].ID, ds[i].Version, ds[i].CreatedAt = id, 1, t.now
		got++
		return nil
	})
	switch {
	case t.isForeignKey(err):
		return notFound("order of a declaration not found")
	case err != nil:
		return err
	case got < len(ds):
		if err := t.declaredOrdersExist(ds); err != nil {
			return err
		}
		for i := range ds {
			if ds[i].ID == 0 {
				return duplicate("customs", "order %d is already declared to %s", ds[i].OrderID, ds[i].Customs)
			}
		}
	}
	return t.declaredOrdersExist(ds)
}

// declaredOrdersExist is ENOTFOUND when an order of ds does not exist,
// where declarations name their order without a foreign key
// (Dialect.CheckedRefs): one read for the call, after its insert (the
// caller must not commit a call that failed).
func (t *Tx) declaredOrdersExist(ds []baoguan.Declaration) error {
	if !t.d.CheckedRefs {
		return nil
	}
	ids := make([]int64, len(ds))
	for i := range ds {
		ids[i] = ds[i].OrderID
	}
	var err error
	if !t.ordersExist(ids, &err) {
		if err != nil {
			return err
		}
		return notFound("order of a declaration not found")
	}
	return nil
}

// qEnqueuePayJobs inserts a batch's pay jobs from its orders, so that a
// 10,000-order batch paid with its upload costs its last transaction one
// statement, with nothing bound per order. The dedupe key is core's key of
// a payment round (core.schedulePay).
const qEnqueuePayJobs = `INSERT INTO jobs (kind, dedupe_key, ref_id, merchant_id, state, attempts, max_attempts,
	run_at, lease_until, last_error, created_at, updated_at)
SELECT 'pay', 'pay:' || id || ':' || pay_attempts, id, merchant_id, 'queued', 0, ?, ?, 0, '', ?, ?
FROM orders WHERE batch_id = ? AND batch_id <> 0 AND merchant_id = ? AND pay_status = 'NOT_PAYED' AND pay_due_at = 0 ORDER BY id
ON CONFLICT DO NOTHING`

// EnqueuePayJobs queues the pay job of each NOT_PAYED order of the batch
// not queued on the order itself (pay_due_at, see QueueOrderPays; see
// baoguan.Tx) and returns how many it queued.
func (t *Tx) EnqueuePayJobs(merchantID, batchID int64, maxAttempts int) (int, error) {
	now := ms(t.now)
	n, err := t.exec(qEnqueuePayJobs, maxAttempts, now, now, now, batchID, merchantID)
	t.enqueued += int(n)
	return int(n), err
}

const qUnpaidBatchOrders = `SELECT id, amount, channel, pay_status FROM orders
WHERE batch_id = ? AND batch_id <> 0 AND merchant_id = ? AND pay_status IN ('NOT_PAYED', 'PAY_FAILED') ORDER BY id`

// UnpaidBatchOrders lists the batch's orders waiting for a payment or
// whose payment failed, reading four columns and opening nothing, so that
// paying a 10,000-order batch reads it in a few milliseconds.
func (t *Tx) UnpaidBatchOrders(merchantID, batchID int64) ([]baoguan.UnpaidOrder, error) {
	var out []baoguan.UnpaidOrder
	err := t.each(qUnpaidBatchOrders, []any{batchID, merchantID}, func(s Scanner) error {
		var u baoguan.UnpaidOrder
		var ch, st string
		if err := s.Scan(&u.ID, &u.Amount, &ch, &st); err != nil {
			return err
		}
		u.Channel, u.PayStatus = baoguan.Channel(ch), baoguan.PayStatus(st)
		out = append(out, u)
		return nil
	})
	return out, err
}
