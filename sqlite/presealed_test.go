package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
)

// TestPresealedValuesTakenOnce: values sealed before a transaction
// (sqlstore.Tx.Presealed, as core seals a push's payer) are what its
// inserts store, each once — two rows never hold the same sealed text —
// a value with no pair left is sealed in the transaction, and every row
// reads back as the payer.
func TestPresealedValuesTakenOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pre.db")
	db, m := openWithMerchant(t, sqlite.Options{Path: path})
	type presealer interface {
		ValueSealer() func(string) (string, error)
		Presealed(pairs []string)
	}
	id := storetest.PayerIDNumber
	var given []string // the sealed texts handed in
	var os []baoguan.Order
	err := db.Update(context.Background(), func(tx baoguan.Tx) error {
		p := tx.(presealer)
		seal := p.ValueSealer()
		var pairs []string
		given = nil
		for range 2 {
			s, err := seal(id)
			if err != nil {
				return err
			}
			pairs, given = append(pairs, id, s), append(given, s)
		}
		p.Presealed(pairs)
		os = make([]baoguan.Order, 2)
		for i := range os {
			os[i] = baoguan.Order{MerchantID: m.ID, MerchantOrderNo: "PRE" + string(rune('A'+i)), Amount: 100, Currency: "CNY",
				Payer:   baoguan.Payer{Name: storetest.PayerName, IDType: "IDCARD", IDNumber: id},
				Channel: baoguan.ChannelMock, Sandbox: true, Protocol: "native", PayStatus: baoguan.PayNotPayed,
				DeclareStatus: baoguan.DeclarePending, OrderedAt: time.Now()}
			if err := tx.CreateOrder(&os[i]); err != nil {
				return err
			}
		}
		d := baoguan.Declaration{OrderID: os[0].ID, MerchantID: m.ID, Customs: "HENAN", Port: "alipay",
			Payer: os[0].Payer, State: baoguan.DeclUndeclared, IdentityCheck: baoguan.CheckUnchecked}
		return tx.CreateDeclaration(&d)
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var stored []string
	for _, q := range []string{"SELECT payer_id_number FROM orders ORDER BY id", "SELECT payer_id_number FROM declarations"} {
		rows, err := raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			stored = append(stored, s)
		}
		rows.Close()
	}
	if len(stored) != 3 {
		t.Fatalf("%d rows stored, want 3", len(stored))
	}
	if stored[0] != given[0] || stored[1] != given[1] {
		t.Errorf("the orders hold %q, %q; the values sealed beforehand were %q, %q", stored[0], stored[1], given[0], given[1])
	}
	seen := map[string]bool{}
	for _, s := range stored {
		if s == "" || s == id {
			t.Errorf("a row holds %q, not a sealed ID number", s)
		}
		if seen[s] {
			t.Errorf("two rows hold the same sealed text %q", s)
		}
		seen[s] = true
	}
	err = db.View(context.Background(), func(tx baoguan.Tx) error {
		for _, o := range os {
			got, err := tx.Order(m.ID, o.ID)
			if err != nil {
				return err
			}
			if got.Payer.IDNumber != id {
				t.Errorf("order %s reads back with ID number %q", o.MerchantOrderNo, got.Payer.IDNumber)
			}
		}
		ds, err := tx.Declarations(m.ID, os[0].ID)
		if err != nil {
			return err
		}
		if len(ds) != 1 || ds[0].Payer.IDNumber != id {
			t.Errorf("declarations read back as %+v", ds)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
