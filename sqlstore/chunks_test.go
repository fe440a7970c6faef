package sqlstore

import "testing"

// A multi-row INSERT binds the values its rows agree on once, in a
// one-row subquery joined to the VALUES rows of the others.
func TestMultiRowInsertShared(t *testing.T) {
	got := multiRowInsert("t_shared", "a, b, c", "RETURNING id", 3, 2, []int{0, 2})
	want := "INSERT INTO t_shared (a, b, c) SELECT s.c0, v.column1, s.c2 FROM (SELECT ? AS c0, ? AS c2) AS s, (VALUES (?), (?)) AS v WHERE true\nRETURNING id"
	if got != want {
		t.Errorf("shared:\n got %q\nwant %q", got, want)
	}
	got = multiRowInsert("t_shared", "a, b, c", "RETURNING id", 3, 2, nil)
	want = "INSERT INTO t_shared (a, b, c) VALUES (?, ?, ?), (?, ?, ?)\nRETURNING id"
	if got != want {
		t.Errorf("not shared:\n got %q\nwant %q", got, want)
	}
	rows := [][]any{{int64(1), "x", "", []byte("b")}, {int64(1), "y", "", []byte("b")}}
	if !agree(rows, []int{0, 2}) || agree(rows, []int{1}) || agree(rows, []int{3}) {
		t.Error("agree is wrong")
	}
}
