package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
)

// jobStates are the states `baoguan jobs` counts, in life order.
var jobStates = []baoguan.JobState{baoguan.JobQueued, baoguan.JobRunning, baoguan.JobDone, baoguan.JobDead}

// deadJobJSON is one exhausted job as `jobs --dead --json` shows it.
type deadJobJSON struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	RefID      int64  `json:"ref_id"`
	MerchantID int64  `json:"merchant_id"`
	Attempts   int    `json:"attempts"`
	LastError  string `json:"last_error"`
	CreatedAt  string `json:"created_at"`
	UpdatedAt  string `json:"updated_at"`
}

func newJobsCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var (
		asJSON bool
		dead   bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Show job counts by state and kind, or the dead jobs with their last error",
		Long: `Show how many jobs (pay, declare, poll, notify, refund) are queued, running,
done and dead. A dead job exhausted its retries or failed permanently; it is
kept, and --dead lists such jobs with their last error so an operator can act.`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&dead, "dead", false, "list dead jobs with their last error")
	cmd.Flags().IntVar(&limit, "limit", 100, "most dead jobs to list")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if limit < 1 {
			return fmt.Errorf("--limit: invalid count %d (want 1 or more)", limit)
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			if dead {
				return listDeadJobs(cmd, svc, limit, asJSON, stdout)
			}
			return countJobs(cmd, svc, asJSON, stdout)
		})
	}
	return cmd
}

func countJobs(cmd *cobra.Command, svc *core.Service, asJSON bool, stdout io.Writer) error {
	counts, err := svc.JobCounts(cmd.Context())
	if err != nil {
		return err
	}
	if asJSON {
		// {"queued": {"pay": 3}, "running": {}, …}: every state present,
		// so scripts need not guess whether a missing key means zero.
		out := map[string]map[string]int{}
		for _, st := range jobStates {
			out[string(st)] = counts[st]
			if out[string(st)] == nil {
				out[string(st)] = map[string]int{}
			}
		}
		return writeJSONOut(stdout, out)
	}
	kinds := []string{baoguan.JobPay, baoguan.JobDeclare, baoguan.JobPoll, baoguan.JobNotify, baoguan.JobRefund}
	for _, st := range jobStates {
		for k := range counts[st] {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "KIND\tQUEUED\tRUNNING\tDONE\tDEAD\t")
	total := map[baoguan.JobState]int{}
	for _, k := range kinds {
		row := []string{k}
		for _, st := range jobStates {
			n := counts[st][k]
			total[st] += n
			row = append(row, strconv.Itoa(n))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t\n", total[baoguan.JobQueued], total[baoguan.JobRunning], total[baoguan.JobDone], total[baoguan.JobDead])
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := total[baoguan.JobDead]; n > 0 {
		fmt.Fprintf(stdout, "\n%d dead job(s): see `baoguan jobs --dead`\n", n)
	}
	return nil
}

func listDeadJobs(cmd *cobra.Command, svc *core.Service, limit int, asJSON bool, stdout io.Writer) error {
	var jobs []baoguan.Job
	f := baoguan.JobFilter{State: baoguan.JobDead}
	for len(jobs) < limit {
		f.Limit = min(limit-len(jobs), 500)
		page, err := svc.Jobs(cmd.Context(), f)
		if err != nil {
			return err
		}
		jobs = append(jobs, page...)
		if len(page) < f.Limit {
			break
		}
		f.Cursor = page[len(page)-1].ID
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	if asJSON {
		out := make([]deadJobJSON, 0, len(jobs))
		for _, j := range jobs {
			out = append(out, deadJobJSON{ID: j.ID, Kind: j.Kind, RefID: j.RefID, MerchantID: j.MerchantID,
				Attempts: j.Attempts, LastError: j.LastError, CreatedAt: stamp(j.CreatedAt), UpdatedAt: stamp(j.UpdatedAt)})
		}
		return writeJSONOut(stdout, out)
	}
	if len(jobs) == 0 {
		fmt.Fprintln(stdout, "No dead jobs.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tREF\tMERCHANT\tATTEMPTS\tDIED\tLAST_ERROR")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%s\t%s\n", j.ID, j.Kind, j.RefID, j.MerchantID, j.Attempts, stamp(j.UpdatedAt), oneLine(j.LastError, 200))
	}
	return tw.Flush()
}

// oneLine fits an error (a panic's, say, with its stack) on a table row;
// --json shows it whole.
func oneLine(s string, width int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > width {
		s = string(r[:width-1]) + "…"
	}
	return dash(s)
}

func newMigrateCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema and print how many migrations ran",
		Long: `Apply the pending schema migrations. serve and the other commands migrate on
open too; run this first to upgrade a database before starting a new version,
or to create one. With PostgreSQL the database must exist; instances that
start together take turns on an advisory lock, so each migration runs once.`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "log-level")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if err := cfg.checkDBDir(); err != nil {
			return err
		}
		if cfg.DBKind == dbSQLite && !dbHasData(cfg.DBPath) && cfg.DataKey == "" {
			// A new database gets its key file now, as on a first serve,
			// so that serving it later does not find a database without keys.
			if _, err := keyring.Load(cfg.KeyFile, ""); err != nil {
				return err
			}
		}
		n, err := migrateDB(cmd.Context(), cfg)
		if err != nil {
			return fmt.Errorf("migrating %s: %w", cfg.dbDisplay(), err)
		}
		where := cfg.DBPath
		if cfg.DBKind == dbPostgres {
			where = cfg.dbDisplay()
		}
		fmt.Fprintf(stdout, "applied %d migration(s) to %s\n", n, where)
		return nil
	}
	return cmd
}
