package sqlstore

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// What the job runner needs to run a batch of jobs in one transaction:
// savepoints, so that one job's failure undoes its writes alone; reads of
// many rows in one query; the batch's jobs finished or released in one
// statement.

// Savepoint runs fn inside SAVEPOINT job: an error (or a panic, turned
// into an error) rolls back to it, and the transaction goes on. On
// PostgreSQL (a Preceder) the SAVEPOINT and its RELEASE cost no round
// trip of their own: each travels with the transaction's next statement,
// and one that none follows is never sent (a savepoint around no
// statement undoes nothing; COMMIT releases what is left).
func (t *Tx) Savepoint(fn func() error) (err error) {
	if err := t.precede("SAVEPOINT job"); err != nil {
		return err
	}
	created := len(t.created)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: panic in a savepoint: %v\n%s", t.d.Name, r, debug.Stack())
		}
		if err != nil {
			t.forgetImages()
			clear(t.created[created:])
			t.created = t.created[:created]
			if _, rerr := t.exec("ROLLBACK TO job"); rerr != nil {
				err = errors.Join(err, rerr)
				return
			}
		}
		if rerr := t.precede("RELEASE job"); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	return fn()
}

// inIDs is a condition "col is one of ids" with its one argument: an array
// on PostgreSQL (= ANY), a JSON array on SQLite (json_each), so that one
// prepared statement serves every length.
func (t *Tx) inIDs(col string, ids []int64) (string, any) {
	if t.d.Numbered {
		return col + " = ANY(?)", ids
	}
	var sb strings.Builder
	sb.Grow(len(ids)*8 + 2)
	sb.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatInt(id, 10))
	}
	sb.WriteByte(']')
	return col + " IN (SELECT value FROM json_each(?))", sb.String()
}

// OrdersByID reads the orders with the given ids, whatever their
// merchants (the caller checks them), in no particular order.
func (t *Tx) OrdersByID(ids []int64) ([]baoguan.Order, error) {
	out := make([]baoguan.Order, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cond, arg := t.inIDs("id", ids)
	err := t.each(qListOrders+" WHERE "+cond, []any{arg}, func(s Scanner) error {
		out = append(out, baoguan.Order{})
		return t.scanOrder(s, &out[len(out)-1])
	})
	return out, err
}

// OrdersWithDeclarations reads the orders with the given ids, as
// OrdersByID, and every declaration of them, as DeclarationsOfOrders: on
// PostgreSQL both queries in one round trip.
func (t *Tx) OrdersWithDeclarations(ids []int64) ([]baoguan.Order, []baoguan.Declaration, error) {
	os := make([]baoguan.Order, 0, len(ids))
	ds := make([]baoguan.Declaration, 0, len(ids))
	if len(ids) == 0 {
		return os, ds, nil
	}
	cond, arg := t.inIDs("id", ids)
	dcond, darg := t.inIDs("order_id", ids)
	err := t.eachAll([]Stmt{
		{Q: qListOrders + " WHERE " + cond, Args: []any{arg}},
		{Q: `SELECT ` + declarationCols + ` FROM declarations WHERE ` + dcond + ` ORDER BY order_id, id`, Args: []any{darg}},
	}, []func(Scanner) error{
		func(s Scanner) error {
			os = append(os, baoguan.Order{})
			return t.scanOrder(s, &os[len(os)-1])
		},
		func(s Scanner) error {
			ds = append(ds, baoguan.Declaration{})
			return t.scanDeclaration(s, &ds[len(ds)-1])
		},
	})
	return os, ds, err
}

// DeclarationsByID reads the declarations with the given ids, whatever
// their merchants (the caller checks them), in no particular order.
func (t *Tx) DeclarationsByID(ids []int64) ([]baoguan.Declaration, error) {
	return t.declarationsWhere("id", ids)
}

// DeclarationsOfOrders reads every declaration of the given orders,
// ordered by order and id.
func (t *Tx) DeclarationsOfOrders(orderIDs []int64) ([]baoguan.Declaration, error) {
	return t.declarationsWhere("order_id", orderIDs)
}

func (t *Tx) declarationsWhere(col string, ids []int64) ([]baoguan.Declaration, error) {
	out := make([]baoguan.Declaration, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cond, arg := t.inIDs(col, ids)
	err := t.each(`SELECT `+declarationCols+` FROM declarations WHERE `+cond+` ORDER BY order_id, id`, []any{arg}, func(s Scanner) error {
		out = append(out, baoguan.Declaration{})
		return t.scanDeclaration(s, &out[len(out)-1])
	})
	return out, err
}

// FinishJobs marks running jobs done in one statement. The caller claimed
// them in this transaction, so it still holds every lease.
func (t *Tx) FinishJobs(ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	cond, arg := t.inIDs("id", ids)
	n, err := t.exec(`UPDATE jobs SET state = 'done', lease_until = 0, last_error = '', updated_at = ? WHERE state = 'running' AND `+cond,
		ms(t.now), arg)
	if err != nil {
		return err
	}
	if int(n) != len(ids) {
		return &baoguan.Error{Code: baoguan.ECONFLICT, Reason: "lease_lost",
			Message: fmt.Sprintf("%d of %d jobs to finish were no longer running", len(ids)-int(n), len(ids))}
	}
	return nil
}

// ReleaseJobs puts running jobs back in the queue, due at runAt, and
// takes back the attempt their claim counted: the claim ran nothing.
func (t *Tx) ReleaseJobs(ids []int64, runAt time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	cond, arg := t.inIDs("id", ids)
	_, err := t.exec(`UPDATE jobs SET state = 'queued', run_at = ?, lease_until = 0, attempts = attempts - 1, updated_at = ?
WHERE state = 'running' AND `+cond, ms(runAt), ms(t.now), arg)
	return err
}
