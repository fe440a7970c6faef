package postgres

import "testing"

// TestMaintenanceDue: the thresholds at which a server without autovacuum
// has the store analyze and vacuum a table: autovacuum's (a tenth changed,
// a fifth dead), and within a minute of the last ANALYZE or VACUUM as many
// rows changed or dead as the table holds.
func TestMaintenanceDue(t *testing.T) {
	for _, c := range []struct {
		what                    string
		live, dead, since       int64
		analyzed, vacuumed      float64
		wantAnalyze, wantVacuum bool
	}{
		{"new table, nothing yet", 0, 0, 40, -1, -1, false, false},
		{"new table, first rows", 0, 0, 60, -1, -1, true, false},
		{"a fifth dead, never vacuumed", 1000, 260, 0, 3600, -1, false, true},
		{"a fifth dead, vacuumed an hour ago", 1000, 260, 0, 3600, 3600, false, true},
		{"a fifth dead, vacuumed 10 s ago", 1000, 260, 0, 3600, 10, false, false},
		{"as many dead as live, vacuumed 10 s ago", 1000, 1060, 0, 3600, 10, false, true},
		{"a queue's few live rows, vacuumed 10 s ago", 20, 80, 0, 3600, 10, false, true},
		{"a tenth changed, analyzed 10 s ago", 1000, 0, 160, 10, -1, false, false},
		{"a tenth changed, analyzed two minutes ago", 1000, 0, 160, 120, -1, true, false},
		{"doubled, analyzed 10 s ago", 1000, 0, 1060, 10, -1, true, false},
	} {
		a, v := maintenanceDue(c.live, c.dead, c.since, c.analyzed, c.vacuumed)
		if a != c.wantAnalyze || v != c.wantVacuum {
			t.Errorf("%s: analyze %v, vacuum %v; want %v, %v", c.what, a, v, c.wantAnalyze, c.wantVacuum)
		}
	}
}
