package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baoguan/baoguan/bench"
)

// Preloading: `baoguan bench --preload N` measures over a database that
// already holds N finished orders, as a gateway that has run for a while
// does. Pushing them through the API first would take longer than the
// benchmark; instead one order, the template, is pushed and carried through
// the whole pipeline by the server, and then cloned N times by SQL inside
// the database (orders, declarations, events, attempts and jobs, each with
// fresh ids and natural keys; an order's number is its own column, and the
// clones keep the template's fingerprint), which takes seconds to minutes
// rather than hours. Every row is one the server wrote,
// sealed columns included, so the clones look to the server exactly like
// its own history.

// templateOrderNo is the number of the order the preload clones.
const templateOrderNo = "PRELOAD-TEMPLATE"

// preloadChunk is how many orders one cloning statement writes.
const preloadChunk = 50000

// pushTemplate pushes the template order through t and waits until it is
// declared and every one of its events is delivered.
func pushTemplate(ctx context.Context, t bench.Target) error {
	c := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body string, out any) (int, error) {
		req, err := http.NewRequestWithContext(ctx, method, t.BaseURLs[0]+path, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+t.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil {
			_ = json.Unmarshal(b, out)
		}
		return resp.StatusCode, nil
	}
	st, err := do("POST", "/v1/orders", `{"merchant_order_no":"`+templateOrderNo+`","amount":4023,"subject":"测试商品",`+
		`"items":[{"subject":"测试商品1","link":"http://example.com/1","article_no":"HH00001"}],`+
		`"payer":{"name":"张三","id_number":"110105199001011232","phone":"13800138000"},`+
		`"declarations":[{"customs":"HG014"}]}`, nil)
	if err != nil {
		return fmt.Errorf("--preload: pushing the template order: %w", err)
	}
	if st != http.StatusCreated {
		return fmt.Errorf("--preload: pushing the template order: status %d", st)
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var o struct {
			DeclareStatus string `json:"declare_status"`
		}
		var evs struct {
			Data []struct {
				Type   string `json:"type"`
				Status string `json:"status"`
			} `json:"data"`
		}
		if _, err := do("GET", "/v1/orders/"+templateOrderNo, "", &o); err != nil {
			return err
		}
		if _, err := do("GET", "/v1/events?order_no="+templateOrderNo, "", &evs); err != nil {
			return err
		}
		declared, pending := false, false
		for _, e := range evs.Data {
			declared = declared || e.Type == "declaration.succeeded"
			pending = pending || e.Status == "pending"
		}
		if o.DeclareStatus == "DECLARED" && declared && !pending {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("--preload: the template order was not declared and notified within a minute")
}

// fillDB is the little the preload needs of a database: statements with
// literal values only (every value is a number computed here or a fixed
// string), so that one text serves SQLite and PostgreSQL.
type fillDB interface {
	exec(ctx context.Context, q string) error
	ints(ctx context.Context, q string) ([]int64, error)
	columns(ctx context.Context, table string) ([]string, error)
	// series is a FROM item of one column i running from lo to hi.
	series(lo, hi int) string
	// settle puts what the preload wrote where a gateway's history is:
	// in the database file and on disk.
	settle(ctx context.Context) error
	close()
}

type sqliteFill struct {
	db   *sql.DB
	path string
}

func (f sqliteFill) exec(ctx context.Context, q string) error {
	_, err := f.db.ExecContext(ctx, q)
	return err
}

func (f sqliteFill) ints(ctx context.Context, q string) ([]int64, error) {
	rows, err := f.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v sql.NullInt64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v.Int64)
	}
	return out, rows.Err()
}

func (f sqliteFill) columns(ctx context.Context, table string) ([]string, error) {
	rows, err := f.db.QueryContext(ctx, "SELECT name FROM pragma_table_info('"+table+"')")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (sqliteFill) series(lo, hi int) string {
	return fmt.Sprintf("(WITH RECURSIVE r(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM r WHERE i < %d) SELECT i FROM r) AS s", lo, hi)
}

// settle copies the WAL into the database file and syncs the file. The
// preload writes with synchronous=OFF (its speed is not what is measured),
// which leaves hundreds of MB of the file dirty in the OS page cache; left
// so, the server's first checkpoint (whose fsync of the file, under FULL,
// then writes them all out) stalls the writer for a fraction of a second
// in the measured run, and the run's CPU time includes that writeback: a
// cost of the preload, not of a gateway with history, whose history is on
// disk.
func (f sqliteFill) settle(ctx context.Context) error {
	if _, err := f.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return err
	}
	file, err := os.OpenFile(f.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = file.Sync()
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}

func (f sqliteFill) close() { f.db.Close() }

type pgFill struct{ c *pgx.Conn }

func (f pgFill) exec(ctx context.Context, q string) error {
	_, err := f.c.Exec(ctx, q)
	return err
}

func (f pgFill) ints(ctx context.Context, q string) ([]int64, error) {
	rows, err := f.c.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (int64, error) {
		var v *int64
		err := r.Scan(&v)
		if v == nil {
			return 0, err
		}
		return *v, err
	})
}

func (f pgFill) columns(ctx context.Context, table string) ([]string, error) {
	rows, err := f.c.Query(ctx, `SELECT column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (pgFill) series(lo, hi int) string {
	return fmt.Sprintf("generate_series(%d, %d) AS s(i)", lo, hi)
}

// settle does nothing on PostgreSQL: its checkpointer writes the
// preload's pages out as it writes everyone's (the bench reports its CPU
// apart).
func (pgFill) settle(context.Context) error { return nil }

func (f pgFill) close() { f.c.Close(context.Background()) }

func openFill(ctx context.Context, cfg *Config) (fillDB, error) {
	if cfg.DBKind == dbPostgres {
		c, err := connect(ctx, cfg.DB)
		if err != nil {
			return nil, err
		}
		return pgFill{c}, nil
	}
	db, err := sql.Open("sqlite", cfg.DBPath+"?_pragma=busy_timeout(5000)&_pragma=synchronous(OFF)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return sqliteFill{db, cfg.DBPath}, nil
}

// cloneTable describes how one table's rows of the template are cloned.
type cloneTable struct {
	name  string
	where string            // selects the template's rows (src is the table)
	set   map[string]string // column → expression over src and s.i (the clone's number)
}

// preloadOrders clones the template order n times. The server must not be
// running on the database meanwhile.
func preloadOrders(ctx context.Context, cfg *Config, n int, progress io.Writer) error {
	db, err := openFill(ctx, cfg)
	if err != nil {
		return fmt.Errorf("--preload: %w", err)
	}
	defer db.close()
	one := func(q string) (int64, error) {
		v, err := db.ints(ctx, q)
		if err != nil {
			return 0, err
		}
		if len(v) != 1 {
			return 0, fmt.Errorf("%q: %d rows", q, len(v))
		}
		return v[0], nil
	}
	list := func(ids []int64) string {
		if len(ids) == 0 {
			return "NULL"
		}
		s := make([]string, len(ids))
		for i, v := range ids {
			s[i] = strconv.FormatInt(v, 10)
		}
		return strings.Join(s, ", ")
	}
	oid, err := one("SELECT id FROM orders WHERE merchant_order_no = '" + templateOrderNo + "'")
	if err != nil {
		return fmt.Errorf("--preload: the template order: %w", err)
	}
	tmpl := map[string][]int64{"orders": {oid}}
	queries := map[string]string{
		"declarations": fmt.Sprintf("SELECT id FROM declarations WHERE order_id = %d ORDER BY id", oid),
		"events":       fmt.Sprintf("SELECT id FROM events WHERE order_id = %d ORDER BY id", oid),
	}
	for t, q := range queries {
		if tmpl[t], err = db.ints(ctx, q); err != nil {
			return fmt.Errorf("--preload: %w", err)
		}
	}
	if tmpl["attempts"], err = db.ints(ctx, "SELECT id FROM attempts WHERE event_id IN ("+list(tmpl["events"])+") ORDER BY id"); err != nil {
		return fmt.Errorf("--preload: %w", err)
	}
	jobsWhere := fmt.Sprintf("(src.kind = 'pay' AND src.ref_id = %d) OR (src.kind IN ('declare', 'poll') AND src.ref_id IN (%s)) OR (src.kind = 'notify' AND src.ref_id IN (%s))",
		oid, list(tmpl["declarations"]), list(tmpl["events"]))
	if tmpl["jobs"], err = db.ints(ctx, "SELECT id FROM jobs AS src WHERE "+jobsWhere+" ORDER BY id"); err != nil {
		return fmt.Errorf("--preload: %w", err)
	}
	// On SQLite an event's body is a row of event_bodies with the event's
	// id (migration 0026); PostgreSQL keeps it in the event's row.
	if cols, err := db.columns(ctx, "event_bodies"); err != nil {
		return fmt.Errorf("--preload: columns of event_bodies: %w", err)
	} else if len(cols) > 0 {
		tmpl["event_bodies"] = tmpl["events"]
	}
	base := map[string]int64{}
	for t := range tmpl {
		if base[t], err = one("SELECT MAX(id) FROM " + t); err != nil {
			return fmt.Errorf("--preload: %w", err)
		}
	}
	// remap turns a template id (expr) of table t into the id of the same
	// row in clone s.i: clones take consecutive ids after the table's
	// highest, len(tmpl[t]) per clone.
	remap := func(t, expr string) string {
		if len(tmpl[t]) == 0 {
			return "NULL" // nothing of t is cloned (the table is skipped below)
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "(%d + (s.i - 1) * %d + CASE %s", base[t], len(tmpl[t]), expr)
		for i, id := range tmpl[t] {
			fmt.Fprintf(&sb, " WHEN %d THEN %d", id, i+1)
		}
		sb.WriteString(" END)")
		return sb.String()
	}
	tables := []cloneTable{
		{"orders", fmt.Sprintf("src.id = %d", oid), map[string]string{
			"id": remap("orders", "src.id"), "merchant_order_no": "'PRE' || s.i",
			// The sandbox's rule (sandbox paymentNo): 1, the order's id in
			// 13 digits, then the template's round and check digits, so that
			// the history's payment numbers grow with the orders as the
			// sandbox's do (10000000000000 + id is 1 and the id in 13
			// digits, on both stores).
			"payment_no": "CASE WHEN src.payment_no = '' THEN '' ELSE CAST(10000000000000 + " + remap("orders", "src.id") +
				" AS TEXT) || substr(src.payment_no, 15) END"}},
		{"declarations", "src.order_id = " + strconv.FormatInt(oid, 10), map[string]string{
			"id": remap("declarations", "src.id"), "order_id": remap("orders", "src.order_id")}},
		{"events", "src.order_id = " + strconv.FormatInt(oid, 10), map[string]string{
			"id": remap("events", "src.id"), "order_id": remap("orders", "src.order_id"), "public_id": "src.public_id || '_' || s.i"}},
		{"event_bodies", "src.id IN (" + list(tmpl["event_bodies"]) + ")", map[string]string{
			"id": remap("events", "src.id")}},
		{"attempts", "src.event_id IN (" + list(tmpl["events"]) + ")", map[string]string{
			"id": remap("attempts", "src.id"), "event_id": remap("events", "src.event_id")}},
		{"jobs", jobsWhere, map[string]string{
			"id": remap("jobs", "src.id"), "dedupe_key": "src.dedupe_key || ':pre' || s.i",
			"ref_id": "CASE src.kind WHEN 'pay' THEN " + remap("orders", "src.ref_id") +
				" WHEN 'notify' THEN " + remap("events", "src.ref_id") +
				" WHEN 'declare' THEN " + remap("declarations", "src.ref_id") +
				" WHEN 'poll' THEN " + remap("declarations", "src.ref_id") + " ELSE src.ref_id END"}},
	}
	// A table the template has no row in (the jobs, when the order's
	// payment went through the order pay queue and its declaration ran in
	// the same batch) has nothing to clone.
	tables = slices.DeleteFunc(tables, func(t cloneTable) bool { return len(tmpl[t.name]) == 0 })
	stmts := make([]string, len(tables))
	for i, t := range tables {
		cols, err := db.columns(ctx, t.name)
		if err != nil {
			return fmt.Errorf("--preload: columns of %s: %w", t.name, err)
		}
		exprs := make([]string, len(cols))
		for j, c := range cols {
			if e, ok := t.set[c]; ok {
				exprs[j] = e
			} else {
				exprs[j] = `src."` + c + `"`
			}
			cols[j] = `"` + c + `"`
		}
		stmts[i] = "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(exprs, ", ") +
			" FROM " + t.name + " AS src, %s WHERE " + t.where
	}
	start := time.Now()
	for lo := 1; lo <= n; lo += preloadChunk {
		hi := min(lo+preloadChunk-1, n)
		// Each chunk is one transaction, so an interrupted preload leaves
		// whole orders only.
		if err := db.exec(ctx, "BEGIN"); err != nil {
			return fmt.Errorf("--preload: %w", err)
		}
		for _, q := range stmts {
			if err := db.exec(ctx, fmt.Sprintf(q, db.series(lo, hi))); err != nil {
				_ = db.exec(ctx, "ROLLBACK")
				return fmt.Errorf("--preload: %w", err)
			}
		}
		if err := db.exec(ctx, "COMMIT"); err != nil {
			return fmt.Errorf("--preload: %w", err)
		}
		fmt.Fprintf(progress, "preload: %d of %d orders (%.0f s)\n", hi, n, time.Since(start).Seconds())
	}
	if cfg.DBKind == dbPostgres {
		// Ids were given explicitly: move each identity past them, and
		// give the planner statistics of the tables as they now are.
		for t := range tmpl {
			if err := db.exec(ctx, "SELECT setval(pg_get_serial_sequence('"+t+"', 'id'), (SELECT MAX(id) FROM "+t+"))"); err != nil {
				return fmt.Errorf("--preload: %w", err)
			}
		}
		if err := db.exec(ctx, "ANALYZE"); err != nil {
			return fmt.Errorf("--preload: %w", err)
		}
	}
	if err := db.settle(ctx); err != nil {
		return fmt.Errorf("--preload: %w", err)
	}
	fmt.Fprintf(progress, "preload: on disk (%.0f s)\n", time.Since(start).Seconds())
	return nil
}
