package main

import (
	"testing"

	"github.com/baoguan/baoguan"
)

type writersStore struct {
	baoguan.Store
	n int
}

func (s writersStore) Writers() int { return s.n }

// TestBatchChunksAtOnce: a batch upload's chunks run side by side only on
// a store with several writers, and always leave one writer free (an
// upload holds the writers of the chunks writing, of the one committing
// and of the one waiting for its turn).
func TestBatchChunksAtOnce(t *testing.T) {
	for _, c := range []struct {
		store baoguan.Store
		want  int
	}{{nil, 1}, {writersStore{n: 1}, 1}, {writersStore{n: 2}, 1}, {writersStore{n: 3}, 1}, {writersStore{n: 4}, 1},
		{writersStore{n: 5}, 2}, {writersStore{n: 16}, postgresBatchChunks}} {
		if got := batchChunksAtOnce(c.store); got != c.want {
			t.Errorf("batchChunksAtOnce(%v) = %d, want %d", c.store, got, c.want)
		}
	}
}
