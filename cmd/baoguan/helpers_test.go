package main

import (
	"encoding/json"
	"net/http"
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

// storedOrders lists a merchant's orders through GET /v1/orders, every
// page, and returns how often each merchant_order_no is listed: after a
// crash, the orders stored include those whose answer the kill cut off.
func storedOrders(t *testing.T, client *http.Client, base, apiKey string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := ""
	for {
		u := base + "/v1/orders?limit=1000"
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Data []struct {
				No string `json:"merchant_order_no"`
			} `json:"data"`
			Next *string `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Data {
			seen[o.No]++
		}
		if page.Next == nil {
			return seen
		}
		cursor = *page.Next
	}
}
