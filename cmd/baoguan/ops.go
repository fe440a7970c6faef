package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/console"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sheet"
)

// Operator commands that work on one merchant's data without its API key:
// console users, order lookup, redelivery, batch import and export, key
// reissue. They open the database directly, like `merchant` and `jobs`.

func newUserCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Create and list console users", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(newUserCreateCmd(getenv, stdout, stderr), newUserListCmd(getenv, stdout, stderr), newUserPasswordCmd(getenv, stdout, stderr))
	return cmd
}

// readPassword takes the password from BAOGUAN_PASSWORD, else from the
// terminal without echo, else from the first line of standard input; never
// from a flag, which any user could read in the process list.
func readPassword(getenv func(string) string, stderr io.Writer) (string, error) {
	if p := getenv("BAOGUAN_PASSWORD"); p != "" {
		return p, nil
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	var line string
	_, err := fmt.Fscanln(os.Stdin, &line)
	if err != nil {
		return "", errors.New("no password: set BAOGUAN_PASSWORD or type it on a terminal")
	}
	return line, nil
}

type userJSON struct {
	Login      string `json:"login"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	MerchantID int64  `json:"merchant_id,omitempty"`
	Disabled   bool   `json:"disabled"`
	CreatedAt  string `json:"created_at"`
}

func toUserJSON(u *baoguan.User) userJSON {
	return userJSON{Login: u.Login, Name: u.Name, Role: string(u.Role), MerchantID: u.MerchantID, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339)}
}

func newUserCreateCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var in core.UserInput
	var role string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create --login LOGIN (--operator | --merchant NO)",
		Short: "Create a console user; the password comes from BAOGUAN_PASSWORD or the terminal",
		Example: `  BAOGUAN_PASSWORD='a long passphrase' baoguan user create --login ops@example.com --operator
  baoguan user create --login clerk@shop1 --merchant shop1 --name "Shop 1 clerk"`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&in.Login, "login", "", "login name (required)")
	f.StringVar(&in.Name, "name", "", "name shown in the console (default: the login)")
	f.StringVar(&in.MerchantNo, "merchant", "", "merchant_no: a merchant user sees this merchant only")
	operator := f.Bool("operator", false, "an operator sees every merchant")
	f.BoolVar(&asJSON, "json", false, "print the user as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		switch {
		case *operator && in.MerchantNo != "":
			return errors.New("--operator and --merchant: choose one")
		case *operator:
			role = string(baoguan.RoleOperator)
		case in.MerchantNo != "":
			role = string(baoguan.RoleMerchant)
		default:
			return errors.New("give --operator or --merchant NO")
		}
		in.Role = baoguan.Role(role)
		pw, err := readPassword(getenv, stderr)
		if err != nil {
			return err
		}
		in.Password = pw
		return withService(cmd.Context(), cfg, stderr, false, func(svc *core.Service) error {
			u, err := svc.CreateUser(cmd.Context(), in)
			if err != nil {
				return flagError(err, map[string]string{"login": "--login", "merchant": "--merchant", "password": "BAOGUAN_PASSWORD"})
			}
			if asJSON {
				return writeJSONOut(stdout, toUserJSON(u))
			}
			fmt.Fprintf(stdout, "Created %s user %q. Sign in at /console/login.\n", u.Role, u.Login)
			return nil
		})
	}
	return cmd
}

func newUserListCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: "list", Short: "List console users", Args: cobra.NoArgs}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
			us, err := svc.Users(cmd.Context())
			if err != nil {
				return err
			}
			out := make([]userJSON, 0, len(us))
			for i := range us {
				out = append(out, toUserJSON(&us[i]))
			}
			if asJSON {
				return writeJSONOut(stdout, out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "LOGIN\tNAME\tROLE\tMERCHANT_ID\tCREATED")
			for _, u := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", u.Login, u.Name, u.Role, u.MerchantID, u.CreatedAt)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newUserPasswordCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var login string
	cmd := &cobra.Command{Use: "password --login LOGIN", Short: "Set a console user's password and sign them out everywhere", Args: cobra.NoArgs}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&login, "login", "", "login name (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		pw, err := readPassword(getenv, stderr)
		if err != nil {
			return err
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			if err := svc.SetPassword(cmd.Context(), login, pw); err != nil {
				return flagError(err, map[string]string{"password": "BAOGUAN_PASSWORD"})
			}
			fmt.Fprintf(stdout, "Password of %q changed; its sessions were ended.\n", login)
			return nil
		})
	}
	return cmd
}

// flagError turns a domain error into a message naming the flag of its
// field.
func flagError(err error, flags map[string]string) error {
	var e *baoguan.Error
	if !errors.As(err, &e) {
		return err
	}
	if f := flags[e.Field]; f != "" {
		return fmt.Errorf("%s: %s", f, e.Message)
	}
	return errors.New(e.Message)
}

// merchantFlag resolves --merchant.
func merchantFlag(ctx context.Context, svc *core.Service, no string) (*baoguan.Merchant, error) {
	if no == "" {
		return nil, errors.New("--merchant is required")
	}
	m, err := svc.MerchantByNo(ctx, no)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return nil, fmt.Errorf("--merchant: no merchant %q", no)
	}
	return m, err
}

// ---- orders ----

type orderShowJSON struct {
	MerchantNo      string            `json:"merchant_no"`
	MerchantOrderNo string            `json:"merchant_order_no"`
	Amount          string            `json:"amount"`
	Subject         string            `json:"subject"`
	PayStatus       string            `json:"pay_status"`
	DeclareStatus   string            `json:"declare_status"`
	PaymentNo       string            `json:"payment_no"`
	PayFailReason   string            `json:"pay_fail_reason,omitempty"`
	Payer           map[string]string `json:"payer"`
	Declarations    []declShowJSON    `json:"declarations"`
	Refunds         []refundShowJSON  `json:"refunds"`
	Events          []eventShowJSON   `json:"events"`
	CreatedAt       string            `json:"created_at"`
}

type declShowJSON struct {
	Customs       string `json:"customs"`
	SubOrderNo    string `json:"sub_order_no,omitempty"`
	State         string `json:"state"`
	IdentityCheck string `json:"identity_check"`
	ReceiptCode   string `json:"receipt_code,omitempty"`
	Explanation   string `json:"explanation,omitempty"`
	Attempts      int    `json:"attempts"`
}

type refundShowJSON struct {
	MerchantRefundNo string `json:"merchant_refund_no"`
	Amount           string `json:"amount"`
	Status           string `json:"status"`
}

type eventShowJSON struct {
	ID       int64  `json:"id"`
	PublicID string `json:"public_id"` // the webhook-id the receiver saw
	Type     string `json:"type"`
	Status   string `json:"status"`
	URL      string `json:"url"`
	Attempts int    `json:"attempts"`
}

func newOrderCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "order", Short: "Look an order up", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(newOrderShowCmd(getenv, stdout, stderr))
	return cmd
}

func newOrderShowCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show ORDER_NO --merchant NO",
		Short:   "Show an order (by order or payment number) with its declarations, refunds and notifications; personal data masked",
		Example: `  baoguan order show T20250320001 --merchant demo --json`,
		Args:    cobra.ExactArgs(1),
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&no, "merchant", "", "merchant_no (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
			m, err := merchantFlag(cmd.Context(), svc, no)
			if err != nil {
				return err
			}
			o, err := svc.FindOrder(cmd.Context(), m, args[0])
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				return fmt.Errorf("merchant %s has no order %q", m.No, args[0])
			}
			if err != nil {
				return err
			}
			a, err := svc.OrderActivity(cmd.Context(), m, o.MerchantOrderNo)
			if err != nil {
				return err
			}
			j := orderShow(m, a)
			if asJSON {
				return writeJSONOut(stdout, j)
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "order\t%s (merchant %s)\n", j.MerchantOrderNo, j.MerchantNo)
			fmt.Fprintf(tw, "amount\t%s CNY\t%s\n", j.Amount, j.Subject)
			fmt.Fprintf(tw, "payment\t%s\t%s\t%s\n", j.PayStatus, dash(j.PaymentNo), j.PayFailReason)
			fmt.Fprintf(tw, "payer\t%s %s %s\n", j.Payer["name"], j.Payer["id_number"], j.Payer["phone"])
			fmt.Fprintf(tw, "declare_status\t%s\n", j.DeclareStatus)
			for _, d := range j.Declarations {
				fmt.Fprintf(tw, "declaration\t%s\t%s\t%s\t%s\n", d.Customs, d.State, d.IdentityCheck, oneLine(d.Explanation, 120))
			}
			for _, r := range j.Refunds {
				fmt.Fprintf(tw, "refund\t%s\t%s\t%s\n", r.MerchantRefundNo, r.Amount, r.Status)
			}
			for _, e := range j.Events {
				fmt.Fprintf(tw, "event %d\t%s\t%s\t%s\t%d attempt(s)\t%s\n", e.ID, e.PublicID, e.Type, e.Status, e.Attempts, dash(e.URL))
			}
			return tw.Flush()
		})
	}
	return cmd
}

func orderShow(m *baoguan.Merchant, a *core.OrderActivity) orderShowJSON {
	o := a.Order
	j := orderShowJSON{MerchantNo: m.No, MerchantOrderNo: o.MerchantOrderNo, Amount: baoguan.FormatYuan(o.Amount), Subject: o.Subject,
		PayStatus: string(o.PayStatus), DeclareStatus: string(o.DeclareStatus), PaymentNo: o.Payment.No, PayFailReason: o.Payment.FailReason,
		Payer: map[string]string{"name": baoguan.MaskName(o.Payer.Name), "id_type": o.Payer.IDType,
			"id_number": baoguan.MaskID(o.Payer.IDNumber), "phone": baoguan.MaskPhone(o.Payer.Phone)},
		Declarations: []declShowJSON{}, Refunds: []refundShowJSON{}, Events: []eventShowJSON{},
		CreatedAt: o.CreatedAt.UTC().Format(time.RFC3339)}
	for _, d := range a.Declarations {
		j.Declarations = append(j.Declarations, declShowJSON{Customs: d.Customs, SubOrderNo: d.SubOrderNo, State: string(d.State),
			IdentityCheck: d.IdentityCheck, ReceiptCode: d.ReceiptCode, Explanation: d.Explanation, Attempts: d.Attempts})
	}
	for _, r := range a.Refunds {
		j.Refunds = append(j.Refunds, refundShowJSON{MerchantRefundNo: r.MerchantRefundNo, Amount: baoguan.FormatYuan(r.Amount), Status: string(r.Status)})
	}
	for _, e := range a.Events {
		j.Events = append(j.Events, eventShowJSON{ID: e.Event.ID, PublicID: e.Event.PublicID, Type: e.Event.Type, Status: string(e.Event.Status), URL: e.Event.URL, Attempts: e.Event.Attempts})
	}
	return j
}

func newOrdersCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "orders", Short: "Export orders", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(newOrdersExportCmd(getenv, stdout, stderr))
	return cmd
}

func newOrdersExportCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no, out, pay, declare, from, to string
	var batch int64
	cmd := &cobra.Command{
		Use:     "export --merchant NO --out FILE.xlsx|FILE.csv",
		Short:   "Export a merchant's orders, filtered, to .xlsx or .csv (personal data masked)",
		Example: `  baoguan orders export --merchant demo --declare DECLARE_FAILED --from 2025-03-01 --out failed.xlsx`,
		Args:    cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&no, "merchant", "", "merchant_no (required)")
	f.StringVar(&out, "out", "", "file to write, .xlsx or .csv (required; - writes CSV to standard output)")
	f.StringVar(&pay, "pay", "", "only this pay_status")
	f.StringVar(&declare, "declare", "", "only this declare_status")
	f.StringVar(&from, "from", "", "created on or after this day, YYYY-MM-DD (China time)")
	f.StringVar(&to, "to", "", "created on or before this day, YYYY-MM-DD (China time)")
	f.Int64Var(&batch, "batch", 0, "only this batch id")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if out == "" {
			return errors.New("--out is required")
		}
		format := sheet.CSV
		if out != "-" {
			if format, err = sheet.FormatOf(out); err != nil {
				return fmt.Errorf("--out: %v", err)
			}
		}
		flt := baoguan.OrderFilter{PayStatus: baoguan.PayStatus(pay), DeclareStatus: baoguan.DeclareStatus(declare), BatchID: batch}
		if pay != "" && !flt.PayStatus.Valid() {
			return fmt.Errorf("--pay: unknown pay status %q", pay)
		}
		if declare != "" && !flt.DeclareStatus.Valid() {
			return fmt.Errorf("--declare: unknown declare status %q", declare)
		}
		for _, d := range []struct {
			flag, v string
			into    *time.Time
			days    int
		}{{"--from", from, &flt.From, 0}, {"--to", to, &flt.To, 1}} {
			if d.v != "" {
				t, err := time.ParseInLocation("2006-01-02", d.v, core.ChinaTime)
				if err != nil {
					return fmt.Errorf("%s: want a day, YYYY-MM-DD", d.flag)
				}
				*d.into = t.AddDate(0, 0, d.days)
			}
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			m, err := merchantFlag(cmd.Context(), svc, no)
			if err != nil {
				return err
			}
			var w io.Writer = stdout
			var file *os.File
			if out != "-" {
				if file, err = os.Create(out); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer file.Close()
				w = file
			}
			bar := newProgress(stderr)
			if err := sheet.ExportOrders(cmd.Context(), svc, m, flt, w, format, bar.update); err != nil {
				return err
			}
			bar.done()
			if file != nil {
				if err := file.Close(); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "wrote %s\n", out)
			}
			return nil
		})
	}
	return cmd
}

// ---- events ----

func newEventsCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Redeliver notifications", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(newEventsRedeliverCmd(getenv, stdout, stderr))
	return cmd
}

func newEventsRedeliverCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "redeliver EVENT_ID",
		Short: "Send a notification again now, with a fresh retry schedule (the running server delivers it)",
		Args:  cobra.ExactArgs(1),
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("EVENT_ID: %q is not an event id (the number in `order show`)", args[0])
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			m, err := svc.EventMerchant(cmd.Context(), id)
			if err != nil {
				return cliError(err)
			}
			e, err := svc.Redeliver(cmd.Context(), m, id)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return writeJSONOut(stdout, eventShowJSON{ID: e.ID, PublicID: e.PublicID, Type: e.Type, Status: string(e.Status), URL: e.URL, Attempts: e.Attempts})
			}
			fmt.Fprintf(stdout, "Event %d (%s) queued for delivery to %s\n", e.ID, e.Type, e.URL)
			return nil
		})
	}
	return cmd
}

// ---- batches ----

func newBatchCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "batch", Short: "Import a batch of orders from a spreadsheet", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(newBatchImportCmd(getenv, stdout, stderr), newBatchTemplateCmd(stdout))
	return cmd
}

type importJSON struct {
	OK       bool             `json:"ok"`
	Rows     int              `json:"rows"`
	Errors   []sheet.RowError `json:"errors"`
	BatchID  int64            `json:"batch_id,omitempty"`
	BatchNo  string           `json:"batch_no,omitempty"`
	Paying   int              `json:"paying,omitempty"`
	Finished int              `json:"finished,omitempty"`
}

func newBatchImportCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no string
	var asJSON, wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "import FILE.xlsx|FILE.csv --merchant NO",
		Short: "Check every row of an order file, then store it as a batch and start paying it",
		Long: `Read an order file (the console's template: baoguan batch template), check
every row with the same rules as the API and report every bad row with its
row number and column; nothing is stored unless every row is good. Then the
batch is stored and set paying; the running server pays and declares it.
With --wait the command follows the batch until every order is finished.
Exits non-zero when a row is bad.`,
		Example: `  baoguan batch import orders.xlsx --merchant demo --wait`,
		Args:    cobra.ExactArgs(1),
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&no, "merchant", "", "merchant_no (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the outcome as JSON")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the batch until every order is paid and declared (needs a running server)")
	cmd.Flags().DurationVar(&timeout, "wait-timeout", 30*time.Minute, "give up following after this long")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			// The checks need to know the adapters exist; this process
			// runs no job, the server does.
			svc.Sandbox = core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)}
			m, err := merchantFlag(cmd.Context(), svc, no)
			if err != nil {
				return err
			}
			bar := newProgress(stderr)
			res, err := sheet.Import(cmd.Context(), svc, m, f, args[0], console.Protocol, bar.update)
			if err != nil {
				return cliError(err)
			}
			bar.done()
			j := importJSON{OK: len(res.Errors) == 0, Rows: res.Rows, Errors: res.Errors}
			if j.Errors == nil {
				j.Errors = []sheet.RowError{}
			}
			if res.Batch != nil {
				j.BatchID, j.BatchNo, j.Paying = res.Batch.ID, res.Batch.No, res.Paying
			}
			if !j.OK {
				if asJSON {
					_ = writeJSONOut(stdout, j)
				} else {
					tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "ROW\tFIELD\tPROBLEM")
					for _, e := range res.Errors {
						fmt.Fprintf(tw, "%d\t%s\t%s\n", e.Row, dash(e.Field), e.Message)
					}
					tw.Flush()
				}
				return fmt.Errorf("%d problem(s) in %s; nothing was stored", len(res.Errors), args[0])
			}
			if !asJSON {
				fmt.Fprintf(stdout, "Stored batch %s (id %d): %d orders, %d set paying.\n", res.Batch.No, res.Batch.ID, res.Rows, res.Paying)
			}
			if wait {
				ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
				defer cancel()
				fin, err := followBatch(ctx, svc, m, res.Batch.ID, stderr)
				j.Finished = fin
				if err != nil {
					return err
				}
				if !asJSON {
					fmt.Fprintf(stdout, "Batch %s finished: %d of %d orders.\n", res.Batch.No, fin, res.Rows)
				}
			}
			if asJSON {
				return writeJSONOut(stdout, j)
			}
			return nil
		})
	}
	return cmd
}

// followBatch polls a batch's progress until every order is finished.
func followBatch(ctx context.Context, svc *core.Service, m *baoguan.Merchant, id int64, stderr io.Writer) (int, error) {
	bar := newProgress(stderr)
	for {
		_, sum, err := svc.Batch(ctx, m, id)
		if err != nil {
			return 0, err
		}
		bar.update(fmt.Sprintf("paid %d, declared %d", sum.PaySucceed, sum.DeclareSucceed), sum.Finished, sum.Total)
		if sum.Finished >= sum.Total {
			bar.done()
			return sum.Finished, nil
		}
		select {
		case <-ctx.Done():
			bar.done()
			return sum.Finished, fmt.Errorf("batch not finished (%d of %d orders) after --wait-timeout; is `baoguan serve` running on this database?", sum.Finished, sum.Total)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func newBatchTemplateCmd(stdout io.Writer) *cobra.Command {
	var out string
	cmd := &cobra.Command{Use: "template --out FILE.xlsx|FILE.csv", Short: "Write the order upload template", Args: cobra.NoArgs}
	cmd.Flags().StringVar(&out, "out", "", "file to write (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		f, err := sheet.FormatOf(out)
		if err != nil {
			return fmt.Errorf("--out: %v", err)
		}
		file, err := os.Create(out)
		if err != nil {
			return err
		}
		defer file.Close()
		if err := sheet.WriteOrderTemplate(file, f); err != nil {
			return err
		}
		return file.Close()
	}
	return cmd
}

// ---- keys ----

func newMerchantReissueCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no, kind string
	var grace time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "reissue --merchant NO --kind api_key|app_key|webhook_secret [--grace 24h]",
		Short: "Replace a merchant secret; the new one is printed once, the old one stays valid for --grace (0: revoked at once)",
		Example: `  baoguan merchant reissue --merchant demo --kind api_key --grace 24h
  baoguan merchant reissue --merchant demo --kind webhook_secret --grace 0`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&no, "merchant", "", "merchant_no (required)")
	cmd.Flags().StringVar(&kind, "kind", "", "api_key, app_key or webhook_secret (required)")
	cmd.Flags().DurationVar(&grace, "grace", 0, "how long the old secret stays valid (at most 720h; 0 revokes it at once)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
			if _, err := merchantFlag(cmd.Context(), svc, no); err != nil {
				return err
			}
			key, err := svc.ReissueKey(cmd.Context(), no, kind, grace)
			if err != nil {
				return flagError(err, map[string]string{"kind": "--kind", "grace": "--grace"})
			}
			until := ""
			if grace > 0 {
				until = svc.Now().Add(grace).UTC().Format(time.RFC3339)
			}
			if asJSON {
				return writeJSONOut(stdout, map[string]string{"merchant_no": no, "kind": kind, "key": key, "old_valid_until": until})
			}
			fmt.Fprintf(stdout, "New %s of %s (shown only now):\n  %s\n", kind, no, key)
			if until != "" {
				fmt.Fprintf(stdout, "The old one stays valid until %s; `baoguan merchant revoke` ends that earlier.\n", until)
			} else {
				fmt.Fprintln(stdout, "The old one no longer works.")
			}
			return nil
		})
	}
	return cmd
}

func newMerchantRevokeCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no, kind string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "revoke --merchant NO --kind api_key|app_key|webhook_secret|setting:PROTOCOL.NAME",
		Short: "End the grace period of reissued secrets now (the current secret stays)",
		Args:  cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&no, "merchant", "", "merchant_no (required)")
	cmd.Flags().StringVar(&kind, "kind", "", "the kind of secret (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
			if _, err := merchantFlag(cmd.Context(), svc, no); err != nil {
				return err
			}
			if err := svc.RevokeKeys(cmd.Context(), no, kind); err != nil {
				return flagError(err, map[string]string{"kind": "--kind"})
			}
			if asJSON {
				return writeJSONOut(stdout, map[string]any{"merchant_no": no, "kind": kind, "revoked": true})
			}
			fmt.Fprintf(stdout, "Old %s of %s revoked.\n", kind, no)
			return nil
		})
	}
	return cmd
}

// ---- progress ----

// progress draws a bar on a terminal and plain lines elsewhere (a log, a
// pipe): one per stage and every tenth of the way.
type progress struct {
	w         io.Writer
	tty       bool
	stage     string
	lastTenth int
	drawn     bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, lastTenth: -1}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) update(stage string, done, total int) {
	tenth := -1
	if total > 0 {
		tenth = done * 10 / total
	}
	if p.tty {
		bar := strings.Repeat(" ", 30)
		pct := ""
		if total > 0 {
			n := done * 30 / total
			bar = strings.Repeat("█", n) + strings.Repeat("░", 30-n)
			pct = fmt.Sprintf("%3d%% %d/%d", done*100/total, done, total)
		}
		fmt.Fprintf(p.w, "\r\033[K%-8s [%s] %s", stage, bar, pct)
		p.drawn = true
		return
	}
	if stage != p.stage || tenth != p.lastTenth {
		if total > 0 {
			fmt.Fprintf(p.w, "%s: %d/%d (%d%%)\n", stage, done, total, done*100/total)
		} else {
			fmt.Fprintf(p.w, "%s…\n", stage)
		}
	}
	p.stage, p.lastTenth = stage, tenth
}

func (p *progress) done() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
