package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/baoguan/baoguan"
)

// Plan is the query plan of one statement a store method ran.
type Plan struct {
	Query string
	// Lines are the plan as the database prints it: EXPLAIN QUERY PLAN's
	// detail column on SQLite, EXPLAIN's lines on PostgreSQL.
	Lines []string
}

// Explain runs fn with the statements of tx planned instead of run: every
// query fn makes through tx is explained with its arguments and answers
// no rows, every other statement is explained and changes none. On PostgreSQL sequential scans are priced out for the
// transaction (enable_seqscan off), so a plan still scanning a table has
// no index to use. It is for tests that check every list query is
// served by an index; tx must be a View's or an Update's Tx of this
// package.
func Explain(tx baoguan.Tx, fn func(baoguan.Tx) error) ([]Plan, error) {
	t, ok := tx.(*Tx)
	if !ok {
		return nil, errors.New("sqlstore.Explain: not a sqlstore Tx")
	}
	if t.d.Numbered {
		if _, err := t.exec("SET LOCAL enable_seqscan = off"); err != nil {
			return nil, err
		}
		if _, err := t.exec("SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
			return nil, err
		}
	}
	var plans []Plan
	t.plans = &plans
	defer func() { t.plans = nil }()
	err := fn(t)
	return plans, err
}

// explain plans q for Explain.
func (t *Tx) explain(q string, args []any) error {
	p := Plan{Query: strings.Join(strings.Fields(q), " ")}
	var err error
	if t.d.Numbered {
		p.Lines, err = t.explainGeneric(q, args)
	} else {
		p.Lines, err = t.lines("EXPLAIN QUERY PLAN "+q, args, func(s Scanner) (string, error) {
			var id, parent, unused int64
			var line string
			err := s.Scan(&id, &parent, &unused, &line)
			return line, err
		})
	}
	if err != nil {
		return err
	}
	*t.plans = append(*t.plans, p)
	return nil
}

// lines reads every row of q, one string a row.
func (t *Tx) lines(q string, args []any, scan func(Scanner) (string, error)) ([]string, error) {
	rows, err := t.c.Query(t.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return readLines(rows, scan)
}

func readLines(rows Rows, scan func(Scanner) (string, error)) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		l, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func scanLine(s Scanner) (string, error) {
	var l string
	err := s.Scan(&l)
	return l, err
}

// explains numbers explainGeneric's prepared statements.
var explains atomic.Int64

// LiteralQuerier is a Conn that can run a query with its arguments written
// into its text as literals (pgx's simple protocol): Explain's EXPLAIN
// EXECUTE on PostgreSQL, a statement that takes no parameters of its own.
type LiteralQuerier interface {
	QueryLiterals(ctx context.Context, q string, args ...any) (Rows, error)
}

// explainGeneric plans q as the PostgreSQL store runs it: on its generic
// plan (the store's connections set plan_cache_mode = force_generic_plan),
// which knows no argument's value. EXPLAIN of q with its arguments would
// plan it for those values — a custom plan, which may use a partial index
// whose condition is a parameter where the generic plan cannot. So q is
// prepared, its parameters' types read back, and the prepared statement
// explained with the arguments cast to them (Explain set
// force_generic_plan).
func (t *Tx) explainGeneric(q string, args []any) ([]string, error) {
	// A name of its own, so that a statement a failed EXPLAIN left
	// prepared on the connection (DEALLOCATE fails in an aborted
	// transaction) does not fail the next Explain there.
	name := "baoguan_explain_" + itoa(explains.Add(1))
	if _, err := t.c.Exec(t.ctx, "PREPARE "+name+" AS "+t.d.bind(q)); err != nil {
		return nil, err
	}
	types, err := t.lines(`SELECT p.t::text FROM pg_prepared_statements,
unnest(parameter_types) WITH ORDINALITY AS p(t, n) WHERE name = $1 ORDER BY p.n`, []any{name}, scanLine)
	var lines []string
	if err == nil && len(types) != len(args) {
		err = fmt.Errorf("sqlstore.Explain: %d arguments for %d parameters", len(args), len(types))
	}
	if err == nil {
		e := "EXPLAIN EXECUTE " + name
		if len(types) > 0 {
			params := make([]string, len(types))
			for i, typ := range types {
				params[i] = "$" + itoa(int64(i+1)) + "::" + typ
			}
			e += "(" + strings.Join(params, ", ") + ")"
		}
		if lq, ok := t.c.(LiteralQuerier); ok {
			var rows Rows
			if rows, err = lq.QueryLiterals(t.ctx, e, args...); err == nil {
				lines, err = readLines(rows, scanLine)
			}
		} else {
			err = errors.New("sqlstore.Explain: the store's Conn cannot send arguments as literals")
		}
	}
	if _, derr := t.c.Exec(t.ctx, "DEALLOCATE "+name); err == nil {
		err = derr
	}
	return lines, err
}

// noRows is the answer of a query Explain planned.
type noRows struct{}

func (noRows) Next() bool        { return false }
func (noRows) Scan(...any) error { return errors.New("no rows") }
func (noRows) Err() error        { return nil }
func (noRows) Close() error      { return nil }
