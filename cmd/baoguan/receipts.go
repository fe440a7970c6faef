package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// receiptJSON is one receipt as `receipts --json` shows it.
type receiptJSON struct {
	ID         int64  `json:"id"`
	Port       string `json:"port"`
	Ref        string `json:"ref"`
	Status     string `json:"status"`
	Info       string `json:"info"`
	ReturnTime string `json:"return_time,omitempty"`
	Source     string `json:"source"`
	ReceivedAt string `json:"received_at"`
}

func newReceiptsCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var (
		asJSON    bool
		unmatched bool
		port      string
		limit     int
	)
	cmd := &cobra.Command{
		Use:   "receipts --unmatched",
		Short: "List customs receipts that match no declaration",
		Long: `List, newest first, the customs receipts a port received on its own (E-Port
receipt files) whose reference (CEB guid) no declaration of this installation
carries: receipts of messages baoguan did not send, or sent by another
installation. They are kept, never dropped; each also gave a warning in the
log and counts in baoguan_customs_receipts_total{match="unmatched"}.`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&unmatched, "unmatched", false, "list receipts that match no declaration (required)")
	cmd.Flags().StringVar(&port, "port", "", "only this port's receipts (eport)")
	cmd.Flags().IntVar(&limit, "limit", 100, "most receipts to list")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if !unmatched {
			return fmt.Errorf("--unmatched: say which receipts to list (only --unmatched exists; a declaration's receipts show with the declaration)")
		}
		if limit < 1 {
			return fmt.Errorf("--limit: invalid count %d (want 1 or more)", limit)
		}
		cfg, err := s.load()
		if err != nil {
			return err
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			var rs []baoguan.CustomsReceipt
			p := baoguan.Page{}
			for len(rs) < limit {
				p.Limit = min(limit-len(rs), 500)
				page, err := svc.UnmatchedReceipts(cmd.Context(), port, p)
				if err != nil {
					return err
				}
				rs = append(rs, page...)
				if len(page) < p.Limit {
					break
				}
				p.Cursor = page[len(page)-1].ID
			}
			return printReceipts(stdout, rs, asJSON)
		})
	}
	return cmd
}

func printReceipts(stdout io.Writer, rs []baoguan.CustomsReceipt, asJSON bool) error {
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	if asJSON {
		out := make([]receiptJSON, 0, len(rs))
		for _, r := range rs {
			out = append(out, receiptJSON{ID: r.ID, Port: r.Port, Ref: r.Ref, Status: r.Status, Info: r.Info,
				ReturnTime: stamp(r.ReturnTime), Source: r.Source, ReceivedAt: stamp(r.ReceivedAt)})
		}
		return writeJSONOut(stdout, out)
	}
	if len(rs) == 0 {
		fmt.Fprintln(stdout, "No unmatched receipts.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPORT\tREF\tSTATUS\tRECEIVED\tSOURCE\tINFO")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Port, r.Ref, r.Status, stamp(r.ReceivedAt), dash(r.Source), oneLine(r.Info, 120))
	}
	return tw.Flush()
}
