package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
	"github.com/baoguan/baoguan/postgres/pgtest"
	"github.com/baoguan/baoguan/storetest"
)

// TestCopiesSealedAtRest stores personal data in every place a copy of it
// is kept (notification bodies, attempts, saved answers, receipts, the raw
// channel exchange, real-name results) and reads every row of every table
// for the values.
func TestCopiesSealedAtRest(t *testing.T) {
	dbURL := testURL(t)
	db := openTest(t, postgres.Options{URL: dbURL})
	vals := storetest.WritePersonalData(t, db)
	for _, f := range pgtest.FindInTables(t, dbURL, vals) {
		t.Errorf("in clear in %s", f)
	}
}

// TestResealOnOpen: rows an earlier version wrote in plaintext are sealed
// when the store opens and read back unchanged.
func TestResealOnOpen(t *testing.T) {
	dbURL := testURL(t)
	keys := testKeys(t)
	db := openTest(t, postgres.Options{URL: dbURL, Keys: keys})
	storetest.WritePersonalData(t, db)
	db.Close()
	plain := map[string]string{
		"events.body":           `{"payerIdNumber":"` + storetest.IDNumber(9001) + `"}`,
		"attempts.response":     "echo " + storetest.Phone(9002),
		"attempts.error":        "said " + storetest.IDNumber(9003),
		"idempotency.body":      `{"id_number":"` + storetest.IDNumber(9004) + `"}`,
		"customs_receipts.info": "证件号" + storetest.IDNumber(9005),
		"customs_receipts.raw":  "<IdNo>" + storetest.IDNumber(9006) + "</IdNo>",
		"orders.init_request":   "<id>" + storetest.IDNumber(9007) + "</id>",
		"orders.init_response":  storetest.Phone(9008),
		"realname_checks.birth": "1949-OLD-BIRTH",
		"realname_checks.addr":  "OLD-ADDRESS-文三路",
	}
	c := raw(t, dbURL)
	ctx := context.Background()
	vals := []string{}
	for col, v := range plain {
		table, column, _ := strings.Cut(col, ".")
		var arg any = v
		if column == "body" {
			arg = []byte(v)
		}
		if _, err := c.Exec(ctx, "UPDATE "+table+" SET "+column+" = $1", arg); err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
	}
	if _, err := c.Exec(ctx, "DELETE FROM settings WHERE key = 'store.resealed'"); err != nil {
		t.Fatal(err)
	}
	if len(pgtest.FindInTables(t, dbURL, vals)) == 0 {
		t.Fatal("the plaintext rows are not in the tables: the test is not testing anything")
	}
	openTest(t, postgres.Options{URL: dbURL, Keys: keys})
	for _, f := range pgtest.FindInTables(t, dbURL, vals) {
		t.Errorf("after reopening: in clear in %s", f)
	}
	for col := range plain {
		table, column, _ := strings.Cut(col, ".")
		var got []byte
		if err := c.QueryRow(ctx, "SELECT "+column+"::bytea FROM "+table+" LIMIT 1").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !keyring.IsSealed(string(got)) {
			t.Errorf("%s is not sealed after reopening: %q", col, got)
		}
	}
}
