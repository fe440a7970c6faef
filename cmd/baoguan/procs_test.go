package main

import (
	"runtime"
	"testing"
)

// TestServeProcs: serve runs with two processors more than Go's own
// count unless told a count, and leaves GOMAXPROCS set in the environment
// alone; serving again does not add them twice.
func TestServeProcs(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	none := env(nil)
	if got, want := serveProcs(0, none), goProcs+2; got != want {
		t.Errorf("default: %d Ps, want %d (Go's %d + 2)", got, want, goProcs)
	}
	if got := serveProcs(3, none); got != 3 {
		t.Errorf("--procs 3: %d Ps", got)
	}
	if got := serveProcs(3, env(map[string]string{"GOMAXPROCS": "1"})); got != 0 {
		t.Errorf("GOMAXPROCS set: serveProcs %d, want 0 (leave it)", got)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	startProcs(0, none)
	startProcs(0, none)
	if got, want := runtime.GOMAXPROCS(0), goProcs+2; got != want {
		t.Errorf("after serving twice: GOMAXPROCS %d, want %d", got, want)
	}
}
