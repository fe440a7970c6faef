package sqlstore

import "testing"

// TestRowListKeepsNothing: an insert's argument list goes back to rowLists
// with its array, for the next insert, and without the values it held (an
// order's payer, sealed or not, is not kept alive by a pool).
func TestRowListKeepsNothing(t *testing.T) {
	buf := new([]any)
	row := append((*buf)[:0], int64(7), "BENCH1", "张三", "v1.k1.sealed", int64(1_765_000_000_000))
	putRowList(buf, row)
	if len(*buf) != 0 || cap(*buf) != cap(row) {
		t.Fatalf("list given back: len %d cap %d, want 0 and the row's %d", len(*buf), cap(*buf), cap(row))
	}
	for i, v := range (*buf)[:cap(*buf)] {
		if v != nil {
			t.Errorf("value %d kept: %v", i, v)
		}
	}
	// A failed insert that built no row gives the list back as it was.
	putRowList(buf, nil)
	if cap(*buf) != cap(row) {
		t.Errorf("list given back after no row: cap %d, want %d", cap(*buf), cap(row))
	}
}
