package main

import (
	"runtime"
	"strconv"
)

// The processors (Ps) Go's scheduler runs goroutines on. Go's default is
// one per CPU. baoguan runs more: with a P for each CPU, both are nearly
// always taken by HTTP goroutines while pushes come in, and the goroutines
// every push waits for in turn — the SQLite writer, the syncer whose fsync
// makes a group durable, the poller that finds the next request — wait for
// one of them to come free (a goroutine back from a system call with no P
// free waits in the scheduler's global queue). Two Ps more than the CPUs
// let them run as soon as the kernel gives their thread a CPU; the kernel
// shares the CPUs among the threads. In `baoguan bench` on two CPUs
// (docs/benchmarks.md, round 16) four Ps answered pushes a quarter faster
// beside the pipeline at the same CPU an order; six were no better.

// extraProcs is how many Ps serve runs beyond the CPUs by default.
const extraProcs = 2

// goProcs is Go's own count of Ps for this process (the CPUs it may use,
// a container's CPU limit considered), read before serve changes it: a
// process that serves more than once (tests, bench --preload) must not
// add extraProcs twice.
var goProcs = runtime.GOMAXPROCS(0)

// serveProcs returns the Ps serve runs with: n when it is above 0, else
// Go's own count (the CPUs the process may use) plus extraProcs; 0 when
// GOMAXPROCS is set in the environment, which wins (Go applies it). The
// count is set once at the start: a container's CPU limit changed later
// is not followed, as Go's default would.
func serveProcs(n int, getenv func(string) string) int {
	if getenv("GOMAXPROCS") != "" {
		return 0
	}
	if n > 0 {
		return n
	}
	return goProcs + extraProcs
}

// startProcs gives the process serveProcs' count of Ps, if any.
func startProcs(n int, getenv func(string) string) {
	if p := serveProcs(n, getenv); p > 0 {
		runtime.GOMAXPROCS(p)
	}
}

// procsUsage is the --procs setting's help.
var procsUsage = "goroutine processors (Go's GOMAXPROCS) the server runs with: 0 the CPUs it may use plus " +
	strconv.Itoa(extraProcs) + " (so that the store's writer and the network poller seldom wait for one); GOMAXPROCS set: ignored"
