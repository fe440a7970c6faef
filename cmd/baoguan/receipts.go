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
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
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

// paymentDataJSON is one request as `payment-data --json` shows it.
type paymentDataJSON struct {
	ID         int64  `json:"id"`
	Service    string `json:"service"`
	SessionID  string `json:"session_id"`
	OrderNo    string `json:"order_no"`
	MerchantNo string `json:"merchant_no,omitempty"`
	State      string `json:"state"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	Attempts   int    `json:"attempts"`
	ReceivedAt string `json:"received_at"`
	UpdatedAt  string `json:"updated_at"`
}

func newPaymentDataCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var (
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "payment-data",
		Short: "List customs' requests for payment data (179) and what became of them",
		Long: `List, newest first, the requests customs made at platDataOpen for the raw data
of an order's payment (GACC announcement 2018 No. 179) and their state:
queued, uploaded (customs' code and message), failed (why), unknown_order (no
order or sub-order has the number; nothing uploaded) or ambiguous (several
merchants have the number and customs called the shared address).`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 100, "most requests to list")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if limit < 1 {
			return fmt.Errorf("--limit: invalid count %d (want 1 or more)", limit)
		}
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
			var rs []baoguan.PaymentDataRequest
			p := baoguan.Page{}
			for len(rs) < limit {
				p.Limit = min(limit-len(rs), 500)
				page, err := svc.PaymentDataRequests(cmd.Context(), p)
				if err != nil {
					return err
				}
				rs = append(rs, page...)
				if len(page) < p.Limit {
					break
				}
				p.Cursor = page[len(page)-1].ID
			}
			stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
			if asJSON {
				out := make([]paymentDataJSON, 0, len(rs))
				for _, r := range rs {
					out = append(out, paymentDataJSON{ID: r.ID, Service: r.Service, SessionID: r.SessionID, OrderNo: r.OrderNo,
						MerchantNo: r.MerchantNo, State: r.State, Code: r.Code, Message: r.Message, Attempts: r.Attempts,
						ReceivedAt: stamp(r.ReceivedAt), UpdatedAt: stamp(r.UpdatedAt)})
				}
				return writeJSONOut(stdout, out)
			}
			if len(rs) == 0 {
				fmt.Fprintln(stdout, "No payment data requests.")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRECEIVED\tORDER_NO\tSESSION\tSTATE\tCODE\tATTEMPTS\tMESSAGE")
			for _, r := range rs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, stamp(r.ReceivedAt), r.OrderNo, r.SessionID, r.State, dash(r.Code), r.Attempts, oneLine(r.Message, 120))
			}
			return tw.Flush()
		})
	}
	return cmd
}
