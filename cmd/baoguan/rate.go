package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
)

func newRateCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rate",
		Short: "Set and list the exchange rates to CNY orders in other currencies are paid at",
		Long: `An order priced in another currency than CNY (WiseCashier) is paid at the rate
of the moment, which its payment records for good. The rate is the operator's
(set here, kept in the database and used by every instance), else the rate
source of the merchant's mode: for sandbox merchants a fixed table
(docs/sandbox.md). Rates are CNY per unit of the currency, exact decimals.`,
	}
	cmd.AddCommand(newRateSetCmd(getenv, stdout, stderr), newRateListCmd(getenv, stdout, stderr), newRateDeleteCmd(getenv, stdout, stderr))
	return cmd
}

func newRateSetCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "set CURRENCY RATE",
		Short:   "Set the rate of a currency to CNY (CNY per unit)",
		Example: `  baoguan rate set USD 6.8575`,
		Args:    cobra.ExactArgs(2),
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		rate, err := baoguan.ParseRate("rate", args[1])
		if err != nil {
			return errors.New(baoguan.ErrorMessage(err))
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			r, err := svc.SetRate(cmd.Context(), args[0], rate)
			if err != nil {
				return errors.New(baoguan.ErrorMessage(err))
			}
			fmt.Fprintf(stdout, "1 %s = %s CNY\n", r.Currency, r.Rate)
			return nil
		})
	}
	return cmd
}

func newRateDeleteCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete CURRENCY",
		Short: "Remove the operator's rate of a currency (the rate source's is used again)",
		Args:  cobra.ExactArgs(1),
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
			gone, err := svc.DeleteRate(cmd.Context(), args[0])
			if err != nil {
				return errors.New(baoguan.ErrorMessage(err))
			}
			if !gone {
				fmt.Fprintf(stdout, "%s had no operator's rate\n", args[0])
				return nil
			}
			fmt.Fprintf(stdout, "%s: operator's rate removed\n", args[0])
			return nil
		})
	}
	return cmd
}

func newRateListCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the rate of every currency: the operator's, else the sandbox table's",
		Args:  cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
			set, err := svc.Rates(cmd.Context())
			if err != nil {
				return err
			}
			type rateJSON struct {
				Currency  string `json:"currency"`
				Rate      string `json:"rate"`
				Source    string `json:"source"` // operator or sandbox
				UpdatedAt string `json:"updated_at,omitempty"`
			}
			out := []rateJSON{}
			for _, cur := range baoguan.Currencies() {
				j := rateJSON{Currency: cur.Code, Rate: sandbox.Rates[cur.Code].String(), Source: "sandbox"}
				for _, r := range set {
					if r.Currency == cur.Code {
						j = rateJSON{Currency: cur.Code, Rate: r.Rate.String(), Source: "operator", UpdatedAt: r.UpdatedAt.UTC().Format(time.RFC3339)}
					}
				}
				out = append(out, j)
			}
			if asJSON {
				return writeJSONOut(stdout, out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CURRENCY\tCNY PER UNIT\tSOURCE")
			for _, r := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Currency, r.Rate, r.Source)
			}
			return tw.Flush()
		})
	}
	return cmd
}
