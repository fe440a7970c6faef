package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
)

// blockingSync is a syncWAL for tests: once armed, the next fsync tells
// entered it has begun and waits for release, which may make it fail.
type blockingSync struct {
	armed   atomic.Bool
	calls   atomic.Int64
	entered chan struct{}
	release chan error
	ended   chan struct{} // closed when the test ends: no fsync waits any more
}

func (b *blockingSync) sync(f *os.File) error {
	b.calls.Add(1)
	if b.armed.CompareAndSwap(true, false) {
		b.entered <- struct{}{}
		select {
		case err := <-b.release:
			if err != nil {
				return err
			}
		case <-b.ended:
		}
	}
	return syncData(f)
}

// openSync opens a store whose fsyncs of the WAL go through a
// blockingSync.
func openSync(t *testing.T, sync string) (*DB, *blockingSync) {
	t.Helper()
	bs := &blockingSync{entered: make(chan struct{}, 1), release: make(chan error), ended: make(chan struct{})}
	k, _ := keyring.New(make([]byte, keyring.KeySize))
	db, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "d.db"), Keys: k, Synchronous: sync, syncWAL: bs.sync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	t.Cleanup(func() { close(bs.ended) }) // first, so that Close does not wait for a blocked fsync
	return db, bs
}

func createMerchant(db *DB, no string) error {
	return db.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.CreateMerchant(&baoguan.Merchant{No: no, Name: no})
	})
}

// merchantsSeen runs a View that reports which of nos it sees.
func merchantsSeen(db *DB, nos ...string) ([]string, error) {
	var seen []string
	err := db.View(context.Background(), func(tx baoguan.Tx) error {
		for _, no := range nos {
			_, err := tx.MerchantByNo(no)
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			seen = append(seen, no)
		}
		return nil
	})
	return seen, err
}

// TestFullAnswersOnceDurable: with FULL, an Update's caller is answered
// only once the fsync after its COMMIT has ended, and a View started
// after that COMMIT neither sees its writes nor even begins before. The
// writer meanwhile runs the calls that arrive, in one group it commits
// once that fsync has ended, which the next fsync covers.
func TestFullAnswersOnceDurable(t *testing.T) {
	db, bs := openSync(t, "FULL")
	bs.armed.Store(true)
	a := make(chan error, 1)
	go func() { a <- createMerchant(db, "a") }()
	<-bs.entered // the syncer is in the fsync that covers a's group
	st0 := db.Stats()
	ran := make(chan string, 2)
	b, c := make(chan error, 1), make(chan error, 1)
	for _, call := range []struct {
		no  string
		out chan error
	}{{"b", b}, {"c", c}} {
		go func() {
			call.out <- db.Update(context.Background(), func(tx baoguan.Tx) error {
				ran <- call.no
				return tx.CreateMerchant(&baoguan.Merchant{No: call.no, Name: call.no})
			})
		}()
		<-ran // the writer went on: the call has run
	}
	type view struct {
		seen []string
		err  error
	}
	v := make(chan view, 1)
	go func() {
		seen, err := merchantsSeen(db, "a", "b", "c")
		v <- view{seen, err}
	}()
	time.Sleep(50 * time.Millisecond) // time for a wrong answer to show
	select {
	case err := <-a:
		t.Fatalf("a's Update returned %v before its fsync ended", err)
	case err := <-b:
		t.Fatalf("b's Update returned %v before any fsync covered it", err)
	case err := <-c:
		t.Fatalf("c's Update returned %v before any fsync covered it", err)
	case got := <-v:
		t.Fatalf("a View ran before the fsync ended: saw %v (%v)", got.seen, got.err)
	default:
	}
	if st := db.Stats(); st.Groups != st0.Groups {
		t.Errorf("Stats: %d groups committed during the fsync, want none (b and c wait in one group)", st.Groups-st0.Groups)
	}
	bs.release <- nil
	for name, ch := range map[string]chan error{"a": a, "b": b, "c": c} {
		if err := <-ch; err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// The View began before b's and c's group committed: it sees a, and
	// b and c both or neither (one group), as it took its snapshot.
	if got := <-v; got.err != nil || len(got.seen) != 1 && len(got.seen) != 3 || got.seen[0] != "a" {
		t.Fatalf("the View saw %v (%v), want a, and b and c both or neither", got.seen, got.err)
	}
	if seen, err := merchantsSeen(db, "a", "b", "c"); err != nil || len(seen) != 3 {
		t.Fatalf("a View after the Updates returned saw %v (%v), want a, b and c", seen, err)
	}
	st := db.Stats()
	if st.Groups-st0.Groups != 1 || st.Calls-st0.Calls != 2 {
		t.Errorf("Stats: b and c committed in %d groups (%d calls), want one group of both", st.Groups-st0.Groups, st.Calls-st0.Calls)
	}
	if st.Syncs < 2 {
		t.Errorf("Stats: %d syncs, want one for a's group and one for b's and c's", st.Syncs)
	}
}

// TestSnapshotAtFirstRead: SQLite takes a read transaction's snapshot at
// its first read, not at BEGIN, which is why View reads (txn.snapshot)
// before it waits for the groups its snapshot may hold.
func TestSnapshotAtFirstRead(t *testing.T) {
	db, _ := openSync(t, "FULL")
	ctx := context.Background()
	begun, err := db.r.BeginTx(ctx, nil) // begun, nothing read
	if err != nil {
		t.Fatal(err)
	}
	defer begun.Rollback()
	snap, err := db.r.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Rollback()
	if err := (&txn{tx: snap, stmts: map[string]*sql.Stmt{}}).snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if err := createMerchant(db, "late"); err != nil {
		t.Fatal(err)
	}
	count := func(tx *sql.Tx) int {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM merchants WHERE merchant_no = 'late'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(snap); n != 0 {
		t.Error("a transaction that had read before the commit sees it")
	}
	if n := count(begun); n != 1 {
		t.Error("a transaction begun but not read before the commit does not see it: BEGIN took the snapshot after all")
	}
}

// TestSyncFailureStopsStore: an fsync that fails answers every caller of
// the groups it was to cover with ErrSyncFailed, as well as a View
// waiting for them, and the store then refuses every call.
func TestSyncFailureStopsStore(t *testing.T) {
	db, bs := openSync(t, "FULL")
	bs.armed.Store(true)
	a := make(chan error, 1)
	go func() { a <- createMerchant(db, "a") }()
	<-bs.entered
	b := make(chan error, 1)
	ran := make(chan struct{})
	go func() {
		b <- db.Update(context.Background(), func(tx baoguan.Tx) error {
			close(ran)
			return tx.CreateMerchant(&baoguan.Merchant{No: "b", Name: "b"})
		})
	}()
	<-ran // b's group waits for the fsync to end
	v := make(chan error, 1)
	go func() {
		_, err := merchantsSeen(db, "a")
		v <- err
	}()
	bs.release <- errors.New("input/output error")
	for name, ch := range map[string]chan error{"a's Update": a, "b's Update": b, "the waiting View": v} {
		if err := <-ch; !errors.Is(err, ErrSyncFailed) {
			t.Errorf("%s returned %v, want ErrSyncFailed", name, err)
		}
	}
	if err := createMerchant(db, "c"); !errors.Is(err, ErrSyncFailed) {
		t.Errorf("an Update after the failure returned %v", err)
	}
	if _, err := merchantsSeen(db, "a"); !errors.Is(err, ErrSyncFailed) {
		t.Errorf("a View after the failure returned %v", err)
	}
}

// TestNormalNeverSyncs: NORMAL answers at COMMIT, without an fsync.
func TestNormalNeverSyncs(t *testing.T) {
	db, bs := openSync(t, "NORMAL")
	if err := createMerchant(db, "a"); err != nil {
		t.Fatal(err)
	}
	if seen, err := merchantsSeen(db, "a"); err != nil || len(seen) != 1 {
		t.Fatalf("View saw %v, %v", seen, err)
	}
	if n := bs.calls.Load(); n != 0 || db.Stats().Syncs != 0 {
		t.Errorf("NORMAL synced the WAL %d times (Stats: %d)", n, db.Stats().Syncs)
	}
}
