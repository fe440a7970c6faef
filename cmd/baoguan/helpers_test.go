package main

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// jobCounts runs `baoguan jobs --json` with the built binary and returns
// the number of jobs in each state, all kinds together (kill_test.go).
func jobCounts(t *testing.T, bin, db string) map[string]int {
	t.Helper()
	out, err := exec.Command(bin, "jobs", "--db", "sqlite:"+db, "--json").Output()
	if err != nil {
		t.Fatalf("baoguan jobs: %v", err)
	}
	var byState map[string]map[string]int
	if err := json.Unmarshal(out, &byState); err != nil {
		t.Fatalf("baoguan jobs printed %q: %v", out, err)
	}
	counts := map[string]int{}
	for state, kinds := range byState {
		for _, n := range kinds {
			counts[state] += n
		}
	}
	return counts
}
