package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestFramesWrittenWhole: the writer's WAL file writes each frame's header
// with its page (walframes.go), and what it wrote is a WAL SQLite
// recovers: the database file and the WAL copied while the store is open,
// as a crash would leave them (nothing checkpointed), open elsewhere with
// every order the store answered, the file intact.
func TestFramesWrittenWhole(t *testing.T) {
	defer SetCheckpointBeside(false)()
	ctx := context.Background()
	keys, err := keyring.New(make([]byte, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "w.db")
	db, err := Open(ctx, Options{Path: path, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := baoguan.Merchant{No: "m", Name: "m"}
	if err := db.Update(ctx, func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) }); err != nil {
		t.Fatal(err)
	}
	// Groups of several Updates, some of several orders: frames of every
	// b-tree, pages written again by later groups.
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	const callers, calls, per = 16, 8, 3
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range calls {
				if err := db.Update(ctx, func(tx baoguan.Tx) error {
					for j := range per {
						o := baoguan.Order{MerchantID: m.ID, MerchantOrderNo: fmt.Sprintf("F%d-%d-%d", c, i, j), Amount: 4023, Currency: "CNY", Subject: "测试商品",
							Items: []baoguan.Item{{Subject: "测试商品1", Quantity: 1, UnitAmount: 4023}}, Payer: baoguan.Payer{Name: "张三", IDType: "IDCARD", IDNumber: "110101199003071232", Phone: "13800000000"},
							OrderedAt: now, NeedDeclare: true, Channel: baoguan.ChannelMock, Sandbox: true, Protocol: "native",
							PayStatus: baoguan.PayNotPayed, DeclareStatus: baoguan.DeclareNone, PayDueAt: now}
						if err := tx.CreateOrder(&o); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	c, err := db.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Raw(func(dc any) error {
		h, tls, _ := driverHandles(dc)
		f := walFile(tls, h)
		if f == 0 {
			t.Fatal("the write connection has no WAL file")
		}
		file := (*sqlite3.Tsqlite3_file)(unsafe.Add(nil, f))
		methods := (*sqlite3.Tsqlite3_io_methods)(unsafe.Add(nil, file.FpMethods))
		if methods.FxWrite != cfunc(frameWrite) {
			t.Error("the writer's WAL file writes with SQLite's own methods")
		}
		return nil
	})
	c.Close()

	copyDir := t.TempDir()
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if suffix == "-wal" && len(b) < 32+100*(24+4096) {
			t.Fatalf("the WAL holds %d bytes: the groups were checkpointed", len(b))
		}
		if err := os.WriteFile(filepath.Join(copyDir, "w.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := sql.Open("sqlite", filepath.Join(copyDir, "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var n int
	if err := cp.QueryRow("SELECT count(*) FROM orders WHERE merchant_id = ?", m.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != callers*calls*per {
		t.Errorf("the copy holds %d orders, want %d", n, callers*calls*per)
	}
	var check string
	if err := cp.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
}
