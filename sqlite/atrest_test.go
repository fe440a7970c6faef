package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
)

// TestCopiesSealedAtRest stores personal data in every place a copy of it
// is kept (notification bodies, attempts, saved answers, receipts, the raw
// channel exchange, real-name results) and searches the database file and
// its WAL, while the store is open and after it is closed, for the values.
func TestCopiesSealedAtRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "copies.db")
	db := openTest(t, sqlite.Options{Path: path})
	vals := storetest.WritePersonalData(t, db)
	for _, when := range []string{"open", "closed"} {
		if when == "closed" {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
		found, err := storetest.FindInFiles(path, vals)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			t.Errorf("store %s: in clear in %s", when, f)
		}
	}
}

// TestResealOnOpen: rows an earlier version wrote in plaintext are sealed
// when the store opens, read back unchanged, and leave no plaintext in the
// database file or its WAL.
func TestResealOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	keys := testKeys(t)
	db := openTest(t, sqlite.Options{Path: path, Keys: keys})
	storetest.WritePersonalData(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// What an earlier version left: the same columns in plaintext, and no
	// record that they were sealed.
	plain := map[string]string{
		"event_bodies.body":     `{"payerIdNumber":"` + storetest.IDNumber(9001) + `"}`,
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
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for col, v := range plain {
		table, c, _ := cut(col)
		var arg any = v
		if c == "body" {
			arg = []byte(v)
		}
		if _, err := raw.Exec("UPDATE "+table+" SET "+c+" = ?", arg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec("DELETE FROM settings WHERE key = 'store.resealed'"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	vals := make([]string, 0, len(plain))
	for _, v := range plain {
		vals = append(vals, v)
	}
	if found, _ := storetest.FindInFiles(path, vals); len(found) == 0 {
		t.Fatal("the plaintext rows are not in the file: the test is not testing anything")
	}

	db = openTest(t, sqlite.Options{Path: path, Keys: keys})
	found, err := storetest.FindInFiles(path, vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("after reopening: in clear in %s", f)
	}
	// Read back through the store: the values as they were written.
	r2, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for col := range plain {
		table, c, _ := cut(col)
		var got []byte
		if err := r2.QueryRow("SELECT " + c + " FROM " + table + " LIMIT 1").Scan(&got); err != nil {
			t.Fatal(err)
		}
		sealed := keyring.IsSealed(string(got))
		if c == "body" { // a BLOB/BYTEA: the binary form
			sealed = keyring.IsSealedBinary(got)
		}
		if !sealed {
			t.Errorf("%s is not sealed after reopening: %q", col, got)
		}
	}
	err = db.View(context.Background(), func(tx baoguan.Tx) error {
		es, err := tx.ListEvents(baoguan.EventFilter{})
		if err != nil {
			return err
		}
		if len(es) != 1 || string(es[0].Body) != plain["event_bodies.body"] {
			t.Errorf("events read back as %+v", es)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func cut(col string) (string, string, bool) {
	for i := range col {
		if col[i] == '.' {
			return col[:i], col[i+1:], true
		}
	}
	return col, "", false
}

// TestCopiesFollowDataKeyRotation: after `data-key rotate` (a new primary
// key in the key file, picked up by Reload as a running server does), the
// copies sealed before still open, and new ones are sealed with the new
// key.
func TestCopiesFollowDataKeyRotation(t *testing.T) {
	dir := t.TempDir()
	path, keyPath := filepath.Join(dir, "rot.db"), filepath.Join(dir, "rot.key")
	ring, err := keyring.Load(keyPath, "")
	if err != nil {
		t.Fatal(err)
	}
	db := openTest(t, sqlite.Options{Path: path, Keys: ring})
	vals := storetest.WritePersonalData(t, db)
	oldID := ring.PrimaryID()
	newID, err := keyring.Rotate(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Reload(); err != nil || ring.PrimaryID() != newID || newID == oldID {
		t.Fatalf("reload: %v; primary %s, rotated to %s from %s", err, ring.PrimaryID(), newID, oldID)
	}
	body := `{"payerIdNumber":"` + storetest.IDNumber(4242) + `"}`
	vals = append(vals, storetest.IDNumber(4242), storetest.Phone(4242))
	err = db.Update(context.Background(), func(tx baoguan.Tx) error {
		es, err := tx.ListEvents(baoguan.EventFilter{})
		if err != nil {
			return err
		}
		if len(es) != 1 || !strings.Contains(string(es[0].Body), vals[0]) {
			t.Errorf("the body sealed before the rotation reads %q", es[0].Body)
		}
		e := &baoguan.Event{MerchantID: es[0].MerchantID, OrderID: es[0].OrderID, Type: "order.paid", Protocol: "payzero",
			URL: "https://shop.example/n", Body: []byte(body), Status: baoguan.EventPending}
		if err := tx.CreateEvent(e); err != nil {
			return err
		}
		return tx.AddAttempt(&baoguan.Attempt{EventID: e.ID, Status: 500, Response: "echo " + storetest.Phone(4242)})
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{"SELECT body FROM event_bodies ORDER BY id", "SELECT response FROM attempts ORDER BY id"} {
		var ids []string
		rows, err := raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			parts := strings.SplitN(string(b), ".", 3)
			if len(parts) != 3 {
				t.Fatalf("%s: not sealed: %q", q, b)
			}
			ids = append(ids, parts[1])
		}
		rows.Close()
		if len(ids) != 2 || ids[0] != oldID || ids[1] != newID {
			t.Errorf("%s: sealed with keys %v, want [%s %s]", q, ids, oldID, newID)
		}
	}
	found, err := storetest.FindInFiles(path, vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("in clear: %s", f)
	}
}

// TestSealedTextBodiesRead: a notification body an earlier version sealed
// as text (k1., base64) still opens, beside the binary form this one
// writes, and Reseal leaves both forms as they are (they are sealed).
func TestSealedTextBodiesRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.db")
	keys := testKeys(t)
	db := openTest(t, sqlite.Options{Path: path, Keys: keys})
	storetest.WritePersonalData(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	body := `{"payerIdNumber":"` + storetest.IDNumber(9101) + `"}`
	old, err := keys.SealBytes([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("UPDATE event_bodies SET body = ?", old); err != nil {
		t.Fatal(err)
	}
	var idem []byte // a saved answer, in the binary form
	if err := raw.QueryRow("SELECT body FROM idempotency").Scan(&idem); err != nil {
		t.Fatal(err)
	}
	if !keyring.IsSealedBinary(idem) {
		t.Fatalf("a saved answer is not in the binary form: %q", idem)
	}
	if _, err := raw.Exec("DELETE FROM settings WHERE key = 'store.resealed'"); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, sqlite.Options{Path: path, Keys: keys})
	err = db.View(context.Background(), func(tx baoguan.Tx) error {
		es, err := tx.ListEvents(baoguan.EventFilter{})
		if err != nil {
			return err
		}
		if len(es) != 1 || string(es[0].Body) != body {
			t.Errorf("events read back as %+v", es)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := raw.QueryRow("SELECT body FROM event_bodies").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(old) {
		t.Errorf("the sealed text was written again: %q", got)
	}
	if err := raw.QueryRow("SELECT body FROM idempotency").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(idem) {
		t.Errorf("the saved answer's binary form was sealed again: %q", got)
	}
}
