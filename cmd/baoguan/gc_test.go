package main

import "testing"

// TestGCPercent: the next collection starts at max(2×live, min): GOGC=100
// once the live heap is half the floor or more, higher below it.
func TestGCPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, min uint64
		want      int
	}{
		{6 * mib, 32 * mib, 433},  // goal 6 + 6×4.33 ≈ 32 MiB
		{16 * mib, 32 * mib, 100}, // twice live is the floor
		{100 * mib, 32 * mib, 100},
		{0, 32 * mib, 100}, // nothing measured yet: the default until a collection has
	} {
		got := gcPercent(c.live, c.min)
		if got != c.want {
			t.Errorf("gcPercent(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.min/mib, got, c.want)
		}
		if goal := c.live + c.live*uint64(got)/100; c.live > 0 && goal < min(c.min, 2*c.live) {
			t.Errorf("gcPercent(%d MiB, %d MiB): goal %d MiB under the floor", c.live/mib, c.min/mib, goal/mib)
		}
	}
}
