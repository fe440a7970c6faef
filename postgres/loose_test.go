package postgres

import "testing"

// TestPlainSelect: a LooseView runs alone only a SELECT that locks and
// writes nothing; anything else keeps its READ ONLY transaction, which
// refuses a write.
func TestPlainSelect(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT CASE WHEN a > 1 THEN 1 ELSE 2 END\nFROM rate_buckets WHERE bucket_key = $1": true,
		"  select id from orders where id = $1":                                             true,
		"SELECT id FROM jobs WHERE state = 'queued'\nFOR UPDATE SKIP LOCKED":                false,
		"SELECT id FROM jobs FOR\tSHARE":                                                    false,
		"SELECT nextval('orders_id_seq')":                                                   false,
		"SELECT pg_notify($1, $2)":                                                          false,
		"WITH x AS (UPDATE jobs SET state = 'done' RETURNING id) SELECT id FROM x":          false,
		"UPDATE rate_buckets SET tokens = 1 RETURNING tokens":                               false,
		"": false,
	} {
		if got := plainSelect(q); got != want {
			t.Errorf("plainSelect(%q) = %v, want %v", q, got, want)
		}
	}
}
