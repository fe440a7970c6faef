package sqlstore

import (
	"time"

	"github.com/baoguan/baoguan"
)

// The console's tables: users, sessions and retired keys, and the
// dashboard's aggregate queries.

const userCols = `id, login, name, role, merchant_id, password_hash, disabled, created_at, updated_at`

const (
	qInsertUser = `INSERT INTO users (login, name, role, merchant_id, password_hash, disabled, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id`
	qUpdateUser = `UPDATE users SET name = ?, role = ?, merchant_id = ?, password_hash = ?, disabled = ?, updated_at = ?
WHERE id = ?`
	qUser        = `SELECT ` + userCols + ` FROM users WHERE id = ?`
	qUserByLogin = `SELECT ` + userCols + ` FROM users WHERE login = ?`
	qUsers       = `SELECT ` + userCols + ` FROM users ORDER BY id`

	qInsertSession       = `INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`
	qSession             = `SELECT token_hash, user_id, csrf, created_at, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?`
	qDeleteSession       = `DELETE FROM sessions WHERE token_hash = ?`
	qDeleteUserSessions  = `DELETE FROM sessions WHERE user_id = ?`
	qDeleteExpiredSesses = `DELETE FROM sessions WHERE expires_at <= ?`

	qInsertRetired = `INSERT INTO retired_keys (merchant_id, kind, secret, lookup, expires_at, created_at)
VALUES (?, ?, ?, ?, ?, ?) RETURNING id`
	qRetiredKeys = `SELECT id, merchant_id, kind, secret, expires_at, created_at FROM retired_keys
WHERE merchant_id = ? AND kind = ? AND expires_at > ? ORDER BY id`
	qRetiredMerchant = `SELECT merchant_id FROM retired_keys WHERE kind = ? AND lookup = ? AND lookup <> '' AND expires_at > ?
ORDER BY id DESC LIMIT 1`
	qRevokeRetired = `DELETE FROM retired_keys WHERE merchant_id = ? AND kind = ?`

	qRetryJob = `UPDATE jobs SET state = 'queued', attempts = 0, run_at = ?, lease_until = 0, updated_at = ?
WHERE id = ? AND state = 'dead'
RETURNING ` + jobCols
)

// dayMS is a day in milliseconds; chinaOffsetMS moves UTC to UTC+8, where
// the dashboard's days begin.
const (
	dayMS         = 86_400_000
	chinaOffsetMS = 8 * 3_600_000
)

func scanUser(s Scanner, u *baoguan.User) error {
	var role string
	var created, updated int64
	if err := s.Scan(&u.ID, &u.Login, &u.Name, &role, &u.MerchantID, &u.PasswordHash, &u.Disabled, &created, &updated); err != nil {
		return err
	}
	u.Role, u.CreatedAt, u.UpdatedAt = baoguan.Role(role), fromMS(created), fromMS(updated)
	return nil
}

// CreateUser inserts u; a taken login is ECONFLICT on field login.
func (t *Tx) CreateUser(u *baoguan.User) error {
	id, inserted, err := t.insertID(qInsertUser, []any{u.Login, u.Name, string(u.Role), u.MerchantID, u.PasswordHash,
		u.Disabled, ms(t.now), ms(t.now)})
	switch {
	case err != nil:
		return err
	case !inserted:
		return duplicate("login", "a user with login %s exists", quote(u.Login))
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, t.now, t.now
	return nil
}

// UpdateUser writes u's name, role, merchant, password hash and disabled
// flag; the login never changes. ENOTFOUND.
func (t *Tx) UpdateUser(u *baoguan.User) error {
	n, err := t.exec(qUpdateUser, u.Name, string(u.Role), u.MerchantID, u.PasswordHash, u.Disabled, ms(t.now), u.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("user %d not found", u.ID)
	}
	u.UpdatedAt = t.now
	return nil
}

func (t *Tx) userBy(q string, arg any, what string) (*baoguan.User, error) {
	u := new(baoguan.User)
	found, err := t.one(q, []any{arg}, func(s Scanner) error { return scanUser(s, u) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("user %s not found", what)
	}
	return u, nil
}

// User reads a user by id; ENOTFOUND.
func (t *Tx) User(id int64) (*baoguan.User, error) { return t.userBy(qUser, id, itoa(id)) }

// UserByLogin reads a user by login; ENOTFOUND.
func (t *Tx) UserByLogin(login string) (*baoguan.User, error) {
	return t.userBy(qUserByLogin, login, quote(login))
}

// Users lists every user, oldest first.
func (t *Tx) Users() ([]baoguan.User, error) {
	out := []baoguan.User{}
	err := t.each(qUsers, nil, func(s Scanner) error {
		out = append(out, baoguan.User{})
		return scanUser(s, &out[len(out)-1])
	})
	return out, err
}

// CreateSession inserts a session; a missing user is ENOTFOUND.
func (t *Tx) CreateSession(s *baoguan.Session) error {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = t.now
	}
	_, err := t.exec(qInsertSession, s.TokenHash, s.UserID, s.CSRF, ms(s.CreatedAt), ms(s.ExpiresAt))
	if t.isForeignKey(err) {
		return notFound("user %d not found", s.UserID)
	}
	if t.isUnique(err) {
		return duplicate("session", "session exists")
	}
	return err
}

// Session reads an unexpired session by its token hash; ENOTFOUND.
func (t *Tx) Session(tokenHash string) (*baoguan.Session, error) {
	s := new(baoguan.Session)
	found, err := t.one(qSession, []any{tokenHash, ms(t.now)}, func(sc Scanner) error {
		var created, expires int64
		if err := sc.Scan(&s.TokenHash, &s.UserID, &s.CSRF, &created, &expires); err != nil {
			return err
		}
		s.CreatedAt, s.ExpiresAt = fromMS(created), fromMS(expires)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("session not found or expired")
	}
	return s, nil
}

// DeleteSession ends one session; an unknown one is not an error (logging
// out twice is fine).
func (t *Tx) DeleteSession(tokenHash string) error {
	_, err := t.exec(qDeleteSession, tokenHash)
	return err
}

// DeleteSessions ends every session of a user, or with userID 0 removes
// every expired session.
func (t *Tx) DeleteSessions(userID int64) error {
	if userID == 0 {
		_, err := t.exec(qDeleteExpiredSesses, ms(t.now))
		return err
	}
	_, err := t.exec(qDeleteUserSessions, userID)
	return err
}

// checkedKind reports whether a key kind is stored as a hash (checked
// secrets) rather than sealed (secrets baoguan signs with).
func checkedKind(kind string) bool { return kind == baoguan.KeyAPI || kind == baoguan.KeyApp }

// RetireKey stores a replaced secret until k.ExpiresAt. Hashes of checked
// secrets are stored as they are, and indexed for MerchantByRetiredKey;
// signing secrets are sealed.
func (t *Tx) RetireKey(k *baoguan.RetiredKey) error {
	secret, lookup := k.Secret, ""
	if checkedKind(k.Kind) {
		lookup = k.Secret
	} else {
		s := t.sealer()
		secret = s.seal(k.Secret)
		if s.err != nil {
			return s.err
		}
	}
	id, _, err := t.insertID(qInsertRetired, []any{k.MerchantID, k.Kind, secret, lookup, ms(k.ExpiresAt), ms(t.now)})
	if t.isForeignKey(err) {
		return notFound("merchant %d not found", k.MerchantID)
	}
	if err != nil {
		return err
	}
	k.ID, k.CreatedAt = id, t.now
	return nil
}

// RetiredKeys lists the merchant's unexpired retired secrets of a kind,
// signing secrets opened.
func (t *Tx) RetiredKeys(merchantID int64, kind string) ([]baoguan.RetiredKey, error) {
	out := []baoguan.RetiredKey{}
	s := t.sealer()
	err := t.each(qRetiredKeys, []any{merchantID, kind, ms(t.now)}, func(sc Scanner) error {
		var k baoguan.RetiredKey
		var exp, created int64
		if err := sc.Scan(&k.ID, &k.MerchantID, &k.Kind, &k.Secret, &exp, &created); err != nil {
			return err
		}
		if !checkedKind(kind) {
			k.Secret = s.open(k.Secret)
		}
		k.ExpiresAt, k.CreatedAt = fromMS(exp), fromMS(created)
		out = append(out, k)
		return s.err
	})
	return out, err
}

// MerchantByRetiredKey finds the merchant of an unexpired retired checked
// secret (by its hash); ENOTFOUND.
func (t *Tx) MerchantByRetiredKey(kind, secret string) (*baoguan.Merchant, error) {
	var id int64
	found, err := t.one(qRetiredMerchant, []any{kind, secret, ms(t.now)}, func(s Scanner) error { return s.Scan(&id) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no merchant with that retired %s", kind)
	}
	return t.Merchant(id)
}

// RevokeRetiredKeys drops every retired secret of a kind at once.
func (t *Tx) RevokeRetiredKeys(merchantID int64, kind string) error {
	_, err := t.exec(qRevokeRetired, merchantID, kind)
	return err
}

// statsWhere bounds a dashboard query by merchant and creation time.
func statsWhere(f baoguan.StatsFilter) *where {
	w := new(where)
	if f.MerchantID != 0 {
		w.add("merchant_id = ?", f.MerchantID)
	}
	if !f.From.IsZero() {
		w.add("created_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		w.add("created_at < ?", ms(f.To))
	}
	return w
}

// OrderDays counts orders by day of creation (China time), oldest first;
// days without orders are absent.
func (t *Tx) OrderDays(f baoguan.StatsFilter) ([]baoguan.DayCount, error) {
	w := statsWhere(f)
	q := `SELECT (created_at + ` + itoa(chinaOffsetMS) + `) / ` + itoa(dayMS) + ` AS day, COUNT(*),
	SUM(CASE WHEN pay_status = 'PAY_SUCCEED' THEN 1 ELSE 0 END),
	CAST(SUM(CASE WHEN pay_status = 'PAY_SUCCEED' THEN amount ELSE 0 END) AS BIGINT),
	SUM(CASE WHEN pay_status = 'PAY_FAILED' THEN 1 ELSE 0 END)
FROM orders` + w.String() + ` GROUP BY day ORDER BY day`
	out := []baoguan.DayCount{}
	err := t.each(q, w.args, func(s Scanner) error {
		var d baoguan.DayCount
		var day int64
		if err := s.Scan(&day, &d.Orders, &d.Paid, &d.PaidAmount, &d.PayFailed); err != nil {
			return err
		}
		d.Day = time.UnixMilli(day*dayMS - chinaOffsetMS).UTC()
		out = append(out, d)
		return nil
	})
	return out, err
}

// DeclarationPorts counts declarations by port and outcome.
func (t *Tx) DeclarationPorts(f baoguan.StatsFilter) ([]baoguan.PortCount, error) {
	w := statsWhere(f)
	args := append([]any{false}, w.args...)
	q := `SELECT port,
	SUM(CASE WHEN state = 'SUCCESS' THEN 1 ELSE 0 END),
	SUM(CASE WHEN state = 'FAIL' OR state = 'EXCEPT' AND retrying = ? THEN 1 ELSE 0 END),
	COUNT(*)
FROM declarations` + w.String() + ` GROUP BY port ORDER BY port`
	out := []baoguan.PortCount{}
	err := t.each(q, args, func(s Scanner) error {
		var p baoguan.PortCount
		var total int
		if err := s.Scan(&p.Port, &p.Success, &p.Failed, &total); err != nil {
			return err
		}
		p.Waiting = total - p.Success - p.Failed
		out = append(out, p)
		return nil
	})
	return out, err
}

// DeclarationFailures groups failed declarations by port and explanation,
// most frequent first.
func (t *Tx) DeclarationFailures(f baoguan.StatsFilter, n int) ([]baoguan.FailureCount, error) {
	w := statsWhere(f)
	w.add("(state = 'FAIL' OR state = 'EXCEPT' AND retrying = ?)", false)
	q := `SELECT port, explanation, COUNT(*), MAX(modified_at) FROM declarations` + w.String() +
		` GROUP BY port, explanation ORDER BY COUNT(*) DESC, port, explanation LIMIT ?`
	out := []baoguan.FailureCount{}
	err := t.each(q, append(w.args, limit(n)), func(s Scanner) error {
		var c baoguan.FailureCount
		var last int64
		if err := s.Scan(&c.Port, &c.Explanation, &c.Count, &last); err != nil {
			return err
		}
		c.Last = fromMS(last)
		out = append(out, c)
		return nil
	})
	return out, err
}

// RetryJob queues a dead job now with its attempts reset, so it gets its
// kind's whole retry schedule again. ENOTFOUND; ESTATE if not dead.
func (t *Tx) RetryJob(id int64) (*baoguan.Job, error) {
	j := new(baoguan.Job)
	found, err := t.one(qRetryJob, []any{ms(t.now), ms(t.now), id}, func(s Scanner) error { return scanJob(s, j) })
	if err != nil {
		return nil, err
	}
	if !found {
		ok, err := t.exists(qJobExists, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, notFound("job %d not found", id)
		}
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "job_not_dead", Message: "job " + itoa(id) + " is not dead; only dead jobs are retried"}
	}
	if t.write {
		t.enqueued++
	}
	return j, nil
}
