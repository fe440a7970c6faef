package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sqlite"
)

// TestCheckpointBeside: the checkpointer copies the WAL into the database
// file beside the writer, and what was written reads back the same, from
// the open store and after it is reopened.
func TestCheckpointBeside(t *testing.T) {
	// A run once 50 frames wait, so that a few hundred writes make some.
	defer sqlite.SetCheckpointAt(50)()
	for _, sync := range []string{"FULL", "NORMAL"} {
		t.Run(sync, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "baoguan.db")
			keys := testKeys(t)
			db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path, Keys: keys, Synchronous: sync})
			if err != nil {
				t.Fatal(err)
			}
			const n = 200
			for i := range n {
				m := baoguan.Merchant{No: fmt.Sprintf("m%03d", i), Name: fmt.Sprintf("merchant %03d %s", i, strings.Repeat("x", 1000))}
				if err := db.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) }); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for db.Stats().CheckpointFrames == 0 {
				if time.Now().After(deadline) {
					db.Close()
					t.Fatalf("no frames copied by the checkpointer: %+v", db.Stats())
				}
				// Each commit asks for a run; the last may have come
				// before the checkpointer's wait ended.
				m := baoguan.Merchant{No: fmt.Sprintf("x%d", time.Now().UnixNano()), Name: fmt.Sprintf("x%d", time.Now().UnixNano())}
				if err := db.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) }); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			check := func(db *sqlite.DB) {
				t.Helper()
				err := db.View(context.Background(), func(tx baoguan.Tx) error {
					for i := range n {
						m, err := tx.MerchantByNo(fmt.Sprintf("m%03d", i))
						if err != nil {
							return err
						}
						if !strings.HasPrefix(m.Name, fmt.Sprintf("merchant %03d x", i)) {
							return fmt.Errorf("merchant %d: name %.20q", i, m.Name)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			check(db)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Errorf("the WAL is left after Close")
			}
			db, err = sqlite.Open(context.Background(), sqlite.Options{Path: path, Keys: keys, Synchronous: sync})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			check(db)
		})
	}
}

// TestCheckpointWaitsForFrames: the checkpointer runs only once enough
// frames of the WAL wait to be copied, which it reads from the WAL's
// index; were the index unreadable it would run on a timer instead.
func TestCheckpointWaitsForFrames(t *testing.T) {
	// Set back after the store closes (a cleanup registered first runs
	// last), not while its checkpointer still reads it.
	t.Cleanup(sqlite.SetCheckpointAt(1 << 30))
	db := openTest(t, sqlite.Options{})
	for i := range 200 {
		m := baoguan.Merchant{No: fmt.Sprintf("m%03d", i), Name: fmt.Sprintf("merchant %03d %s", i, strings.Repeat("x", 1000))}
		if err := db.Update(context.Background(), func(tx baoguan.Tx) error { return tx.CreateMerchant(&m) }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := db.Stats().Checkpoints; n != 0 {
		t.Errorf("%d checkpoints with fewer frames waiting than the threshold", n)
	}
}
