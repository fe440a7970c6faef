package postgres_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/postgres"
)

// TestGenericPlans: the store runs its statements on their generic plans,
// planned once a connection. A merchant's failed events listed eight times
// on the store's one connection ran on the generic plan each time, where
// PostgreSQL's default (plan_cache_mode auto) plans a statement for its
// arguments at its first five calls, and at every call while that looks
// cheaper. A URL that sets plan_cache_mode keeps the default.
func TestGenericPlans(t *testing.T) {
	ctx := context.Background()
	const list = "FROM events WHERE merchant_id = $1 AND status = $2"
	for _, c := range []struct {
		mode            string // the URL's plan_cache_mode, "" for none
		generic, custom int64
	}{{"", 8, 0}, {"auto", 3, 5}} {
		u, err := url.Parse(testURL(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("pool_max_conns", "1")
		if c.mode != "" {
			q.Set("plan_cache_mode", c.mode)
		}
		u.RawQuery = q.Encode()
		db := openTest(t, postgres.Options{URL: u.String(), Writers: 1})
		var m baoguan.Merchant
		if err := db.Update(ctx, func(tx baoguan.Tx) error {
			m = baoguan.Merchant{No: "m", Name: "m"}
			return tx.CreateMerchant(&m)
		}); err != nil {
			t.Fatal(err)
		}
		for range 8 {
			if err := db.View(ctx, func(tx baoguan.Tx) error {
				_, err := tx.ListEvents(baoguan.EventFilter{MerchantID: m.ID, Status: baoguan.EventFailed})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		generic, custom, err := db.PlanCounts(ctx, list)
		if err != nil {
			t.Fatal(err)
		}
		if generic != c.generic || custom != c.custom {
			t.Errorf("plan_cache_mode %q: the list ran on %d generic plans and %d custom ones, want %d and %d",
				c.mode, generic, custom, c.generic, c.custom)
		}
		db.Close()
	}
}
