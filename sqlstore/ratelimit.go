package sqlstore

import "time"

// The bucket is refilled and debited in one statement: the update runs only
// when, refilled, it holds a whole token, so a refused request changes
// nothing and returns no row. CASE keeps the SQL the same in both dialects
// (SQLite's scalar MIN is PostgreSQL's LEAST).
const qTakeToken = `INSERT INTO rate_buckets (bucket_key, tokens, at) VALUES (?, CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT))
ON CONFLICT (bucket_key) DO UPDATE SET
  tokens = (CASE WHEN ` + refilled + ` > CAST(? AS DOUBLE PRECISION) THEN CAST(? AS DOUBLE PRECISION) ELSE ` + refilled + ` END) - 1,
  at = CAST(? AS BIGINT)
WHERE (CASE WHEN ` + refilled + ` > CAST(? AS DOUBLE PRECISION) THEN CAST(? AS DOUBLE PRECISION) ELSE ` + refilled + ` END) >= 1
RETURNING tokens`

// refilled is the bucket's content now: what it held plus the refill since
// its last change (parameters: now in ms, rate per ms). Casts make the
// parameter types explicit for PostgreSQL; SQLite reads them as affinities.
const refilled = `(rate_buckets.tokens + (CAST(? AS BIGINT) - rate_buckets.at) * CAST(? AS DOUBLE PRECISION))`

// TakeToken takes a token from the named bucket; see baoguan.Tx.
func (t *Tx) TakeToken(key string, rate float64, burst int) (bool, error) {
	now := ms(t.now)
	perMS := rate / 1000
	b := float64(burst)
	var left float64
	found, err := t.one(qTakeToken, []any{key, b - 1, now,
		now, perMS, b, b, now, perMS,
		now,
		now, perMS, b, b, now, perMS}, func(s Scanner) error { return s.Scan(&left) })
	if err != nil {
		return false, err
	}
	return found, nil
}

// qTokens reads a bucket's content refilled to now, capped at its burst
// (parameters: now in ms, rate per ms, burst, key).
const qTokens = `SELECT CASE WHEN ` + refilled + ` > CAST(? AS DOUBLE PRECISION) THEN CAST(? AS DOUBLE PRECISION) ELSE ` + refilled + ` END
FROM rate_buckets WHERE bucket_key = ?`

// Tokens reads what a bucket holds; see baoguan.Tx.
func (t *Tx) Tokens(key string, rate float64, burst int) (float64, error) {
	now := ms(t.now)
	perMS := rate / 1000
	b := float64(burst)
	left := b
	_, err := t.one(qTokens, []any{now, perMS, b, b, now, perMS, key}, func(s Scanner) error { return s.Scan(&left) })
	return left, err
}

// DeleteIdleBuckets deletes buckets unchanged since before; see baoguan.Tx.
func (t *Tx) DeleteIdleBuckets(before time.Time, limit int) (int, error) {
	n, err := t.exec(`DELETE FROM rate_buckets WHERE bucket_key IN
  (SELECT bucket_key FROM rate_buckets WHERE at < CAST(? AS BIGINT) LIMIT CAST(? AS BIGINT))`, ms(before), limit)
	return int(n), err
}
