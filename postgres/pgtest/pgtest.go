// Package pgtest gives each test a PostgreSQL database of its own, on the
// server named by BAOGUAN_TEST_POSTGRES, so PostgreSQL tests run in
// parallel and leave nothing behind.
//
// Without the variable PostgreSQL tests are skipped, except in CI (CI set
// to a true value), where a skipped PostgreSQL test would hide that the
// PostgreSQL store went untested, so they fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the server for tests: a URL of a database on it that the
// user can connect to, with the right to create databases, e.g.
// postgres://root@127.0.0.1:5432/postgres?sslmode=disable.
const EnvVar = "BAOGUAN_TEST_POSTGRES"

// Server returns the URL in BAOGUAN_TEST_POSTGRES, skipping the test when
// it is unset outside CI and failing it in CI.
func Server(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (see .ci/run)", EnvVar)
		}
		t.Skipf("%s is not set; PostgreSQL tests skipped", EnvVar)
	}
	return u
}

// URL creates an empty database named baoguan_test_<random> on the test
// server and returns its URL; the database is dropped, with any session
// still on it, when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	server := Server(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "baoguan_test_" + hex.EncodeToString(b[:])
	admin(t, server, "CREATE DATABASE "+name)
	t.Cleanup(func() { admin(t, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s: %v", EnvVar, err)
	}
	u.Path = "/" + name
	return u.String()
}

// admin runs one statement on the server's own database.
func admin(t testing.TB, server, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connecting to %s: %v", EnvVar, err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// FindInTables reads every row of every table of the database at dbURL,
// each column as the bytes PostgreSQL returns (BYTEA as its bytes, other
// types as text), and returns "table.column: value" for each value found
// in clear.
func FindInTables(t testing.TB, dbURL string, values []string) []string {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	var found []string
	for _, table := range tables {
		rows, err := c.Query(ctx, `SELECT * FROM "`+table+`"`, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Fatalf("pgtest: %s: %v", table, err)
		}
		for rows.Next() {
			raw := rows.RawValues() // text format: BYTEA comes as \x<hex>
			for i, b := range raw {
				s := string(b)
				if strings.HasPrefix(s, `\x`) {
					if d, err := hex.DecodeString(s[2:]); err == nil {
						s = string(d)
					}
				}
				for _, v := range values {
					if v != "" && strings.Contains(s, v) {
						found = append(found, table+"."+rows.FieldDescriptions()[i].Name+": "+v)
					}
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatalf("pgtest: %s: %v", table, err)
		}
	}
	return found
}

// BackendCPU is the CPU time (user and system, from /proc) the PostgreSQL
// backends connected to c's database have used, c's own left out. It skips
// the benchmark when none of them can be read: the server is not on this
// machine.
func BackendCPU(tb testing.TB, c *pgx.Conn) time.Duration {
	tb.Helper()
	ctx := context.Background()
	rows, err := c.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	if err != nil {
		tb.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		tb.Fatal(err)
	}
	var ticks int64
	read := 0
	for _, pid := range pids {
		s, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
		if err != nil {
			continue // ended since, or not on this machine
		}
		read++
		// The fields after the command name, which is in parentheses and
		// may hold spaces: utime and stime are the 12th and 13th of them.
		f := strings.Fields(string(s[strings.LastIndexByte(string(s), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += ut + st
	}
	if read == 0 && len(pids) > 0 {
		tb.Skip("the database's backends are not on this machine")
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ 100
}
