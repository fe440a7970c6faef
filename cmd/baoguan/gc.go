package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The garbage collector's pace. With GOGC's default of 100 the collector
// runs whenever the heap has doubled since the last collection; a gateway
// keeps little live (a few megabytes between requests) and allocates a lot
// per request (JSON, SQL rows, sealed values), so it would collect several
// dozen times a second under load, each collection costing about the same
// however little it frees — a tenth of the CPU in `baoguan bench`.
// gcHeapMin lets the heap grow to at least min bytes before a collection:
// after each one, GOGC is set for the next to start at the larger of
// GOGC=100's goal (twice what is live) and min. A heap that holds more
// than min/2 live is collected exactly as by default, so the floor adds at
// most about min to the process's memory and never multiplies a large
// heap. It does nothing when GOGC or GOMEMLIMIT is set in the environment:
// the operator's choice wins.

// gcTuner is the process's one floor; serve starts it (tests run several
// servers in one process, which share it).
var gcTuner struct {
	once sync.Once
	min  uint64
}

// startGCHeapMin starts the floor of min bytes (0: none) unless the
// environment sets the collector's pace; the first call in a process wins.
func startGCHeapMin(min uint64, getenv func(string) string) {
	if min == 0 || getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	gcTuner.once.Do(func() {
		gcTuner.min = min
		tuneGC()
	})
}

// tuneGC sets GOGC for the next collection and runs again after it.
func tuneGC() {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	live := uint64(0)
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = s[0].Value.Uint64()
	}
	debug.SetGCPercent(gcPercent(live, gcTuner.min))
	// A cleanup runs once the collector has found its object unreachable:
	// after the next collection.
	runtime.AddCleanup(new([16]uintptr), func(struct{}) { tuneGC() }, struct{}{})
}

// gcPercent is the GOGC that makes the heap goal of a heap with live bytes
// live max(2×live, min).
// Before the first collection nothing is live as far as the runtime
// knows, and GOGC scales its 4 MiB starting goal instead (a floor-sized
// percent there let the heap reach about 120 MiB before the first
// collection): Go's default until a collection has measured the live heap.
func gcPercent(live, min uint64) int {
	if live == 0 || 2*live >= min {
		return 100
	}
	return int((min - live) * 100 / live)
}
