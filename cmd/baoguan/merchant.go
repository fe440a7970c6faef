package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

func newMerchantCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "merchant",
		Short: "Create, list and change merchants",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newMerchantCreateCmd(getenv, stdout, stderr),
		newMerchantListCmd(getenv, stdout, stderr),
		newMerchantSetCmd(getenv, stdout, stderr),
		newMerchantKeyCmd(getenv, stdout, stderr),
		newMerchantCardsCmd(getenv, stdout, stderr),
		newMerchantReissueCmd(getenv, stdout, stderr),
		newMerchantRevokeCmd(getenv, stdout, stderr),
		newMerchantRouteCmd(getenv, stdout, stderr),
		newMerchantCredentialsCmd(getenv, stdout, stderr),
		newMerchantCustomsCmd(getenv, stdout, stderr),
	)
	return cmd
}

// withService loads the command's settings and runs fn with a service on
// the existing database (withService with mustExist), as most operator
// commands do.
func (s *settings) withService(ctx context.Context, stderr io.Writer, fn func(*core.Service) error) error {
	cfg, err := s.load()
	if err != nil {
		return err
	}
	return withService(ctx, cfg, stderr, true, fn)
}

// withService opens the store, builds a core.Service on it for operator
// commands (no runner, no adapters) and closes the store afterwards.
// mustExist refuses to create a missing database.
func withService(ctx context.Context, cfg *Config, stderr io.Writer, mustExist bool, fn func(*core.Service) error) (err error) {
	if mustExist {
		if err := cfg.checkDBExists(); err != nil {
			return err
		}
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the database: %w", cerr))
		}
	}()
	svc := core.New(&core.Service{Store: store, Log: newLogger(stderr, cfg.LogLevel)})
	return fn(svc)
}

// merchantJSON is how the CLI shows a merchant. Secrets appear only in
// the output of create (credentialsJSON), never in list or set.
type merchantJSON struct {
	MerchantNo string `json:"merchant_no"`
	Name       string `json:"name"`
	Mode       string `json:"mode"`
	Status     string `json:"status"`
	NotifyURL  string `json:"notify_url"`
	AppID      string `json:"app_id"`
	Funding    string `json:"funding_balance"` // yuan, "1000000.00"
	CreatedAt  string `json:"created_at"`
}

func toMerchantJSON(m *baoguan.Merchant) merchantJSON {
	return merchantJSON{
		MerchantNo: m.No, Name: m.Name, Mode: string(m.Mode), Status: string(m.Status),
		NotifyURL: m.NotifyURL, AppID: m.AppID, Funding: baoguan.FormatYuan(m.FundingBalance),
		CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339),
	}
}

// createdJSON is the one object `merchant create --json` prints: the
// merchant and its secrets, which nothing can show again.
type createdJSON struct {
	MerchantNo    string `json:"merchant_no"`
	Name          string `json:"name"`
	Mode          string `json:"mode"`
	Status        string `json:"status"`
	NotifyURL     string `json:"notify_url"`
	Funding       string `json:"funding_balance"`
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret"`
	AppID         string `json:"app_id"`
	AppKey        string `json:"app_key"`
	SignToken     string `json:"sign_token"`
	CreatedAt     string `json:"created_at"`
}

func toCreatedJSON(m *baoguan.Merchant, cr core.Credentials) createdJSON {
	j := toMerchantJSON(m)
	return createdJSON{MerchantNo: j.MerchantNo, Name: j.Name, Mode: j.Mode, Status: j.Status, NotifyURL: j.NotifyURL,
		Funding: j.Funding, APIKey: cr.APIKey, WebhookSecret: cr.WebhookSecret, AppID: cr.AppID, AppKey: cr.AppKey,
		SignToken: cr.SignToken, CreatedAt: j.CreatedAt}
}

// printCredentials shows a new merchant and its secrets for a person.
func printCredentials(w io.Writer, m *baoguan.Merchant, cr core.Credentials) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  merchant_no:\t%s\n", m.No)
	fmt.Fprintf(tw, "  name:\t%s\n", m.Name)
	fmt.Fprintf(tw, "  mode:\t%s\n", m.Mode)
	fmt.Fprintf(tw, "  api_key:\t%s\t(native API: Authorization: Bearer …)\n", cr.APIKey)
	fmt.Fprintf(tw, "  webhook_secret:\t%s\t(verifies native notifications)\n", cr.WebhookSecret)
	fmt.Fprintf(tw, "  app_id:\t%s\t(payzero login)\n", cr.AppID)
	fmt.Fprintf(tw, "  app_key:\t%s\t(payzero login)\n", cr.AppKey)
	fmt.Fprintf(tw, "  sign_token:\t%s\t(payzero notification signatures)\n", cr.SignToken)
	_ = tw.Flush()
	// The other protocols need a key or an access rule the operator gives;
	// without it their requests are refused, which is easy to mistake for
	// a wrong request.
	fmt.Fprintf(w, "  pushorder access is not set up: requests are refused (9912) until you run\n")
	fmt.Fprintf(w, "    baoguan merchant key --merchant %s --protocol pushorder --access-token \"$(openssl rand -hex 16)\" [--allow-net CIDR]\n", m.No)
	fmt.Fprintf(w, "  accp and wechatv3 need the merchant's public key or certificate: baoguan merchant key --protocol accp|wechatv3\n")
}

func newMerchantCreateCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var (
		in      core.MerchantInput
		mode    string
		funding string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:     "create --name NAME",
		Short:   "Create a merchant and print its credentials (shown only once)",
		Example: `  baoguan merchant create --db sqlite:./baoguan.db --name shop1 --notify-url https://shop1.example/hooks --json`,
		Args:    cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&in.Name, "name", "", "merchant name, unique (required)")
	f.StringVar(&in.No, "no", "", "merchant_no, unique (default: generated)")
	f.StringVar(&in.NotifyURL, "notify-url", "", "default notification URL")
	f.StringVar(&mode, "mode", "sandbox", "sandbox or live")
	f.StringVar(&funding, "funding", "", "sandbox funding balance in yuan (default 1000000.00 for sandbox merchants)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if in.Name == "" {
			return errors.New("--name is required")
		}
		switch baoguan.Mode(mode) {
		case baoguan.ModeSandbox, baoguan.ModeLive:
			in.Mode = baoguan.Mode(mode)
		default:
			return fmt.Errorf("--mode: invalid mode %q (use sandbox or live)", mode)
		}
		if funding != "" {
			fen, err := baoguan.ParseYuan("funding", funding)
			if err != nil || fen < 0 {
				return fmt.Errorf("--funding: invalid amount %q (want yuan, e.g. 5000.00)", funding)
			}
			in.FundingBalance = fen
		}
		return withService(cmd.Context(), cfg, stderr, false, func(svc *core.Service) error {
			m, cr, err := svc.CreateMerchant(cmd.Context(), in)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return writeJSONOut(stdout, toCreatedJSON(m, cr))
			}
			fmt.Fprintf(stdout, "Created %s merchant %q. Its secrets are shown only now:\n\n", m.Mode, m.Name)
			printCredentials(stdout, m, cr)
			return nil
		})
	}
	return cmd
}

func newMerchantListCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List merchants",
		Args:  cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
			ms, err := svc.Merchants(cmd.Context())
			if err != nil {
				return err
			}
			out := make([]merchantJSON, 0, len(ms))
			for i := range ms {
				out = append(out, toMerchantJSON(&ms[i]))
			}
			if asJSON {
				return writeJSONOut(stdout, out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "MERCHANT_NO\tNAME\tMODE\tSTATUS\tFUNDING\tNOTIFY_URL\tCREATED")
			for _, m := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.MerchantNo, m.Name, m.Mode, m.Status, m.Funding, dash(m.NotifyURL), m.CreatedAt)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newMerchantSetCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var (
		no, notifyURL, status, funding, mode string
		asJSON                               bool
	)
	cmd := &cobra.Command{
		Use:   "set --merchant NO",
		Short: "Change a merchant's notify URL, status, mode or sandbox funding",
		Example: `  baoguan merchant set --merchant demo --status arrears
  baoguan merchant set --merchant M1 --mode live`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&no, "merchant", "", "merchant_no of the merchant to change (required)")
	f.StringVar(&notifyURL, "notify-url", "", `default notification URL ("" clears it)`)
	f.StringVar(&status, "status", "", "active, arrears or unsigned")
	f.StringVar(&funding, "funding", "", "sandbox funding balance, in yuan")
	f.StringVar(&mode, "mode", "", "sandbox or live: where the merchant's production requests go (docs/live.md)")
	f.BoolVar(&asJSON, "json", false, "print the merchant as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if no == "" {
			return errors.New("--merchant is required")
		}
		setURL, setStatus, setFunding, setMode := f.Changed("notify-url"), f.Changed("status"), f.Changed("funding"), f.Changed("mode")
		if !setURL && !setStatus && !setFunding && !setMode {
			return errors.New("nothing to change: give --notify-url, --status, --mode or --funding")
		}
		if setMode && mode != string(baoguan.ModeSandbox) && mode != string(baoguan.ModeLive) {
			return fmt.Errorf("--mode: invalid mode %q (use sandbox or live)", mode)
		}
		var st baoguan.MerchantStatus
		if setStatus {
			switch st = baoguan.MerchantStatus(status); st {
			case baoguan.MerchantActive, baoguan.MerchantArrears, baoguan.MerchantUnsigned:
			default:
				return fmt.Errorf("--status: invalid status %q (use active, arrears or unsigned)", status)
			}
		}
		var fen int64
		if setFunding {
			fen, err = baoguan.ParseYuan("funding", funding)
			if err != nil || fen < 0 {
				return fmt.Errorf("--funding: invalid amount %q (want yuan, e.g. 5000.00)", funding)
			}
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			m, err := svc.UpdateMerchant(cmd.Context(), no, func(m *baoguan.Merchant) error {
				if setURL {
					m.NotifyURL = notifyURL
				}
				if setStatus {
					m.Status = st
				}
				if setFunding {
					m.FundingBalance = fen
				}
				if setMode {
					m.Mode = baoguan.Mode(mode)
				}
				return nil
			})
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				return fmt.Errorf("--merchant: no merchant %q", no)
			}
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return writeJSONOut(stdout, toMerchantJSON(m))
			}
			fmt.Fprintf(stdout, "Updated merchant %s: status %s, mode %s, funding %s, notify_url %s\n",
				m.No, m.Status, m.Mode, baoguan.FormatYuan(m.FundingBalance), dash(m.NotifyURL))
			return nil
		})
	}
	return cmd
}

// cliError turns a domain error into a message naming the flag concerned:
// "--name: a merchant named shop1 exists".
func cliError(err error) error {
	var e *baoguan.Error
	if !errors.As(err, &e) {
		return err
	}
	if field := e.Field; field != "" {
		flag := map[string]string{"name": "--name", "merchant_no": "--no", "notify_url": "--notify-url", "mode": "--mode"}[field]
		if flag != "" {
			return fmt.Errorf("%s: %s", flag, e.Message)
		}
	}
	return errors.New(e.Message)
}

func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
