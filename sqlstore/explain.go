package sqlstore

import (
	"errors"
	"strings"

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
	}
	var plans []Plan
	t.plans = &plans
	defer func() { t.plans = nil }()
	err := fn(t)
	return plans, err
}

// explain plans q for Explain.
func (t *Tx) explain(q string, args []any) error {
	prefix := "EXPLAIN QUERY PLAN "
	if t.d.Numbered {
		prefix = "EXPLAIN "
	}
	rows, err := t.c.Query(t.ctx, t.d.bind(prefix+q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	p := Plan{Query: strings.Join(strings.Fields(q), " ")}
	for rows.Next() {
		var line string
		if t.d.Numbered {
			err = rows.Scan(&line)
		} else {
			var id, parent, unused int64
			err = rows.Scan(&id, &parent, &unused, &line)
		}
		if err != nil {
			return err
		}
		p.Lines = append(p.Lines, line)
	}
	*t.plans = append(*t.plans, p)
	return rows.Err()
}

// noRows is the answer of a query Explain planned.
type noRows struct{}

func (noRows) Next() bool        { return false }
func (noRows) Scan(...any) error { return errors.New("no rows") }
func (noRows) Err() error        { return nil }
func (noRows) Close() error      { return nil }
