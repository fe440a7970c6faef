package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sqlite"
)

// `baoguan receipts --unmatched` lists the receipts no declaration
// carries, newest first; a port filter narrows them.
func TestReceiptsUnmatchedCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	env := envOf()
	mustRun(t, env, "migrate", "--db", "sqlite:"+db)
	keys, err := keyring.Load(db+".key", "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: db, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(tx baoguan.Tx) error {
		_, err := tx.AddCustomsReceipts([]baoguan.CustomsReceipt{
			{Port: "eport", Ref: "4CDE1CFD-EDED-46B1-946C-B8022E42FC94", Status: "120", Info: "入库", Source: "CEB412_1.xml"},
			{Port: "eport", Ref: "00CF3622-70CE-8F39-A52C-4E17D436395D", Status: "-401009", Info: "参数校验不通过", Source: "CEB412_2.xml"},
			{Port: "other", Ref: "X", Status: "1", Source: "y"},
		})
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var got []receiptJSON
	out := mustRun(t, env, "receipts", "--unmatched", "--db", "sqlite:"+db, "--port", "eport", "--json")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) != 2 || got[0].Status != "-401009" || got[1].Ref != "4CDE1CFD-EDED-46B1-946C-B8022E42FC94" || got[0].Source != "CEB412_2.xml" {
		t.Errorf("unmatched: %+v", got)
	}
	table := mustRun(t, env, "receipts", "--unmatched", "--db", "sqlite:"+db)
	if !strings.Contains(table, "参数校验不通过") || !strings.Contains(table, "other") {
		t.Errorf("table:\n%s", table)
	}
	if _, err := runCmd(t, env, "receipts", "--db", "sqlite:"+db); err == nil || !strings.Contains(err.Error(), "--unmatched") {
		t.Errorf("without --unmatched: %v", err)
	}
}
