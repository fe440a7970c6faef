package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// The operator commands for going live through an upstream service
// (docs/live.md): a merchant's credentials per kind, its customs
// registrations per code, and route pins per code. Everything goes
// through core, which keeps it sealed in the merchant's settings.

func newMerchantRouteCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no, customs, port string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "route --merchant NO [--customs CODE --port eport|wechatpay|alipay|sandbox|auto]",
		Short: "Pin the customs port a merchant's declarations to a customs code go through, or list the pins",
		Long: `Without --customs, lists the merchant's pins. With --customs and --port, pins
declarations created from now on to that port; --port auto removes the pin
(baoguan then chooses: the wallet that took the payment, else E-Port).`,
		Example: `  baoguan merchant route --merchant M1 --customs HG014 --port eport
  baoguan merchant route --merchant M1 --customs HG014 --port auto
  baoguan merchant route --merchant M1 --json`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&no, "merchant", "", "merchant_no (required)")
	f.StringVar(&customs, "customs", "", "customs code of the catalogue (HG014, SHANGHAI_ZS, ZONGSHU…)")
	f.StringVar(&port, "port", "", "eport, wechatpay, alipay, sandbox, or auto to remove the pin")
	f.BoolVar(&asJSON, "json", false, "print the pins as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if no == "" {
			return errors.New("--merchant is required")
		}
		if (customs == "") != (port == "") {
			return errors.New("--customs and --port go together")
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			var m *baoguan.Merchant
			var err error
			if customs != "" {
				m, err = svc.PinRoute(cmd.Context(), no, customs, port)
			} else {
				m, err = svc.MerchantByNo(cmd.Context(), no)
			}
			if err != nil {
				return upstreamCLIError(err, no)
			}
			pins := svc.RoutePins(m)
			if asJSON {
				return writeJSONOut(stdout, pins)
			}
			if customs != "" {
				fmt.Fprintf(stdout, "Merchant %s: declarations to %s go through %s\n", m.No, strings.ToUpper(customs), port)
				return nil
			}
			if len(pins) == 0 {
				fmt.Fprintf(stdout, "Merchant %s has no route pins: baoguan chooses each declaration's route\n", m.No)
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CUSTOMS\tROUTE")
			for _, code := range sortedStrings(pins) {
				fmt.Fprintf(tw, "%s\t%s\n", code, pins[code])
			}
			return tw.Flush()
		})
	}
	return cmd
}

func sortedStrings[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func upstreamCLIError(err error, no string) error {
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return fmt.Errorf("--merchant: no merchant %q", no)
	}
	var e *baoguan.Error
	if errors.As(err, &e) && e.Field != "" {
		flag := map[string]string{"customs": "--customs", "route": "--port", "kind": "--kind", "no": "--no", "name": "--name",
			"credentials": "--file"}[e.Field]
		if flag != "" {
			return fmt.Errorf("%s: %s", flag, e.Message)
		}
	}
	return cliError(err)
}

// credentialCheckers validate a kind's credentials JSON before it is
// stored, with the adapter's own parser, so that a typo is caught by the
// operator rather than by the first declaration.
var credentialCheckers = map[string]func(raw string) error{}

func newMerchantCredentialsCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no, kind, file string
	var remove, asJSON bool
	cmd := &cobra.Command{
		Use:   "credentials --merchant NO [--kind wechatpay|alipay --file creds.json | --delete]",
		Short: "Set a merchant's credentials for an upstream service, or list them masked",
		Long: `Credentials are a JSON object, read from --file (or standard input with
--file -), never from the command line. A string value "@PATH" is replaced
by the contents of the file PATH (relative to the JSON file), so PEM keys
can stay in their own files. The fields of each kind are in docs/live.md.
Without --kind, lists the merchant's credentials with secrets masked.`,
		Example: `  baoguan merchant credentials --merchant M1 --kind wechatpay --file wechatpay.json
  baoguan merchant credentials --merchant M1 --kind alipay --file - < alipay.json
  baoguan merchant credentials --merchant M1 --kind alipay --delete
  baoguan merchant credentials --merchant M1 --json`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&no, "merchant", "", "merchant_no (required)")
	f.StringVar(&kind, "kind", "", "wechatpay or alipay")
	f.StringVar(&file, "file", "", "the credentials JSON file, or - for standard input")
	f.BoolVar(&remove, "delete", false, "remove the merchant's credentials of --kind")
	f.BoolVar(&asJSON, "json", false, "print the (masked) credentials as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if no == "" {
			return errors.New("--merchant is required")
		}
		value := ""
		switch {
		case kind == "" && (file != "" || remove):
			return errors.New("--kind is required with --file or --delete")
		case kind != "" && file == "" && !remove:
			return errors.New("give --file (or --file - for standard input) or --delete")
		case file != "" && remove:
			return errors.New("--file and --delete exclude each other")
		case file != "":
			if value, err = readCredentialFile(file, cmd.InOrStdin()); err != nil {
				return fmt.Errorf("--file: %w", err)
			}
			if check := credentialCheckers[kind]; check != nil {
				if err := check(value); err != nil {
					return fmt.Errorf("--file: %s credentials: %w", kind, err)
				}
			}
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			if kind != "" {
				if _, err := svc.SetUpstreamCredential(cmd.Context(), no, kind, value); err != nil {
					return upstreamCLIError(err, no)
				}
			}
			list, err := svc.UpstreamCredentials(cmd.Context(), no)
			if err != nil {
				return upstreamCLIError(err, no)
			}
			if asJSON {
				return writeJSONOut(stdout, list)
			}
			switch {
			case remove:
				fmt.Fprintf(stdout, "Removed merchant %s's %s credentials\n", no, kind)
			case kind != "":
				fmt.Fprintf(stdout, "Stored merchant %s's %s credentials (sealed)\n", no, kind)
			}
			if len(list) == 0 {
				fmt.Fprintf(stdout, "Merchant %s has no upstream credentials\n", no)
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tFIELD\tVALUE")
			for _, c := range list {
				for _, k := range sortedStrings(c.Fields) {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Kind, k, dash(c.Fields[k]))
				}
			}
			return tw.Flush()
		})
	}
	return cmd
}

// readCredentialFile reads a credentials JSON object and replaces "@PATH"
// string values with the named files' contents.
func readCredentialFile(name string, stdin io.Reader) (string, error) {
	var raw []byte
	var err error
	dir := "."
	if name == "-" {
		raw, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		raw, err = os.ReadFile(name)
		dir = filepath.Dir(name)
	}
	if err != nil {
		return "", err
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return "", errors.New("not a JSON object")
	}
	var resolve func(v any) (any, error)
	resolve = func(v any) (any, error) {
		switch x := v.(type) {
		case string:
			if p, ok := strings.CutPrefix(x, "@"); ok && p != "" {
				if !filepath.IsAbs(p) {
					p = filepath.Join(dir, p)
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return nil, err
				}
				return string(b), nil
			}
		case []any:
			for i := range x {
				r, err := resolve(x[i])
				if err != nil {
					return nil, err
				}
				x[i] = r
			}
		}
		return v, nil
	}
	for k, v := range obj {
		r, err := resolve(v)
		if err != nil {
			return "", fmt.Errorf("%s: %w", k, err)
		}
		obj[k] = r
	}
	out, err := json.Marshal(obj)
	return string(out), err
}

func newMerchantCustomsCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no, customs, regNo, name string
	var remove, asJSON bool
	cmd := &cobra.Command{
		Use:   "customs --merchant NO [--customs CODE --no REGNO --name NAME | --customs CODE --delete]",
		Short: "Record a merchant's customs registration for a customs code, or list them",
		Long: `A wallet declares with the merchant's registration for the customs code:
the number (mch_customs_no, merchant_customs_code) and the name
(merchant_customs_name), exactly as recorded with customs and entered on the
wallet's merchant platform.`,
		Example: `  baoguan merchant customs --merchant M1 --customs SHANGHAI_ZS --no 3101960A01 --name "上海某商贸有限公司"
  baoguan merchant customs --merchant M1 --json`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&no, "merchant", "", "merchant_no (required)")
	f.StringVar(&customs, "customs", "", "customs code of the catalogue")
	f.StringVar(&regNo, "no", "", "customs registration number")
	f.StringVar(&name, "name", "", "customs registration name")
	f.BoolVar(&remove, "delete", false, "remove the registration for --customs")
	f.BoolVar(&asJSON, "json", false, "print the registrations as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if no == "" {
			return errors.New("--merchant is required")
		}
		if customs == "" && (regNo != "" || name != "" || remove) {
			return errors.New("--customs is required with --no, --name or --delete")
		}
		if customs != "" && !remove && (regNo == "" || name == "") {
			return errors.New("give --no and --name (or --delete)")
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			var m *baoguan.Merchant
			var err error
			if customs != "" {
				reg := core.CustomsRegistration{No: regNo, Name: name}
				if remove {
					reg = core.CustomsRegistration{}
				}
				m, err = svc.SetCustomsRegistration(cmd.Context(), no, customs, reg)
			} else {
				m, err = svc.MerchantByNo(cmd.Context(), no)
			}
			if err != nil {
				return upstreamCLIError(err, no)
			}
			regs := svc.CustomsRegistrations(m)
			if asJSON {
				return writeJSONOut(stdout, regs)
			}
			if len(regs) == 0 {
				fmt.Fprintf(stdout, "Merchant %s has no customs registrations\n", m.No)
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CUSTOMS\tNO\tNAME")
			for _, code := range sortedStrings(regs) {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", code, regs[code].No, regs[code].Name)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newCallsCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no, orderNo string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "calls [--merchant NO [--order ORDER_NO]] [--limit N]",
		Short: "List the calls made to upstream services (wallet customs APIs, E-Port), newest first",
		Long: `Every call baoguan makes on a merchant's behalf is recorded with its time,
service, operation, HTTP status, latency, the far side's code and masked
message, and its outcome (ok, retry, fail).`,
		Example: `  baoguan calls --limit 50
  baoguan calls --merchant M1 --order ORDER-1 --json`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&no, "merchant", "", "only this merchant's calls")
	f.StringVar(&orderNo, "order", "", "only the calls of this order (needs --merchant)")
	f.IntVar(&limit, "limit", 20, "how many, at most 500")
	f.BoolVar(&asJSON, "json", false, "print the calls as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if orderNo != "" && no == "" {
			return errors.New("--order needs --merchant")
		}
		if limit <= 0 || limit > 500 {
			return errors.New("--limit: between 1 and 500")
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			fl := baoguan.UpstreamCallFilter{Page: baoguan.Page{Limit: limit}}
			if no != "" {
				m, err := svc.MerchantByNo(cmd.Context(), no)
				if err != nil {
					return upstreamCLIError(err, no)
				}
				fl.MerchantID = m.ID
				if orderNo != "" {
					o, err := svc.Order(cmd.Context(), m, orderNo)
					if err != nil {
						return fmt.Errorf("--order: %s", baoguan.ErrorMessage(err))
					}
					fl.OrderID = o.ID
				}
			}
			cs, err := svc.UpstreamCallLog(cmd.Context(), fl)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONOut(stdout, cs)
			}
			if len(cs) == 0 {
				fmt.Fprintln(stdout, "No upstream calls recorded")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tMERCHANT\tDECLARATION\tSERVICE\tOP\tATTEMPT\tSTATUS\tMS\tCODE\tOUTCOME\tMESSAGE")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", c.At.UTC().Format("2006-01-02T15:04:05Z"),
					c.MerchantID, c.DeclarationID, c.Service, c.Operation, c.Attempt, c.HTTPStatus, c.LatencyMS, c.Code, c.Outcome, dash(c.Message))
			}
			return tw.Flush()
		})
	}
	return cmd
}
