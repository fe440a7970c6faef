package sqlite

import (
	"fmt"
	"slices"
	"testing"
)

// TestEmptyLiterals: an INSERT's empty string arguments become literals in its
// VALUES list and leave the arguments, one text per set of empty ones, at
// most maxShapes a statement; a statement whose parameters are not all in
// its VALUES list is left as it is.
func TestEmptyLiterals(t *testing.T) {
	c := newStmtCache(nil)
	q := "INSERT INTO t (a, b, c, d) VALUES (?, ?, 1, ?, ?) ON CONFLICT DO NOTHING"
	got, args := c.emptyLiterals(q, []any{int64(7), "", "x", ""}, nil)
	if want := "INSERT INTO t (a, b, c, d) VALUES (?, '', 1, ?, '') ON CONFLICT DO NOTHING"; got != want || !slices.Equal(args, []any{int64(7), "x"}) {
		t.Errorf("got %q %v, want %q [7 x]", got, args, want)
	}
	if got, args := c.emptyLiterals(q, []any{int64(7), "y", "x", "z"}, nil); got != q || len(args) != 4 {
		t.Errorf("nothing empty: got %q %v", got, args)
	}
	// Past maxShapes texts, empty strings are bound.
	q8 := "INSERT INTO u (a, b, c, d, e, f, g, h, i, j) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for i := range 10 {
		args := make([]any, 10)
		for j := range args {
			args[j] = fmt.Sprint(j)
		}
		args[i] = ""
		got, left := c.emptyLiterals(q8, args, nil)
		if i < maxShapes && (got == q8 || len(left) != 9) || i >= maxShapes && (got != q8 || len(left) != 10) {
			t.Errorf("shape %d: %q %v", i, got, left)
		}
	}
	for _, q := range []string{
		"INSERT INTO t (a, b) VALUES (?, 'x?') ",                           // a quote
		"INSERT INTO t (a, b) SELECT ?, ? FROM s",                          // no VALUES list
		"INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO UPDATE SET b = ?", // a ? after it
	} {
		if got, args := c.emptyLiterals(q, []any{"", ""}, nil); got != q || len(args) != 2 {
			t.Errorf("%q rewritten: %q %v", q, got, args)
		}
	}
}
