package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/platform"
)

// protocolKeyFlags are the per-protocol merchant settings `merchant key`
// records: flag name → whether its value names a file to read. They are
// stored in Merchant.Settings as "<protocol>.<flag>", sealed with the rest of
// the merchant's settings; each front-end reads and checks its own.
var protocolKeyFlags = map[string]map[string]bool{
	"accp":      {"public-key": true},
	"wechatv3":  {"mchid": false, "cert": true, "public-key": true, "serial": false, "apiv3-key": false},
	"pushorder": {"access-token": false, "allow-net": false, "callback-url": false},
	"payzero":   {"notify-url": false},
	// wisecashier keys belong to agents (baoguan agent key); a merchant
	// has its notification URL.
	"wisecashier": {"notify-url": false},
}

func newMerchantKeyCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no, protocol string
	var grace time.Duration
	values := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "key --merchant NO --protocol P [settings]",
		Short: "Register a merchant's keys and settings for one vendor protocol",
		Example: `  baoguan merchant key --merchant M1 --protocol accp --public-key merchant_pub.pem
  baoguan merchant key --merchant M1 --protocol wechatv3 --mchid 1900000109 --cert apiclient_cert.pem --apiv3-key KEY
  baoguan merchant key --merchant M1 --protocol pushorder --access-token TOKEN --allow-net 203.0.113.0/24
  baoguan merchant key --merchant M1 --protocol accp --public-key new_pub.pem --grace 72h`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&no, "merchant", "", "merchant_no (required)")
	f.StringVar(&protocol, "protocol", "", "accp, wechatv3, pushorder, payzero or wisecashier (required)")
	f.DurationVar(&grace, "grace", 0, "how long the values replaced stay valid, so clients can switch keys (at most 720h; 0 replaces them at once)")
	names := map[string]bool{}
	for _, flags := range protocolKeyFlags {
		for name, file := range flags {
			if names[name] {
				continue
			}
			names[name] = true
			v := new(string)
			values[name] = v
			usage := "setting " + name
			if file {
				usage += " (a file to read)"
			}
			f.StringVar(v, name, "", usage)
		}
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if no == "" {
			return errors.New("--merchant is required")
		}
		allowed, ok := protocolKeyFlags[protocol]
		if !ok {
			return fmt.Errorf("--protocol: unknown protocol %q (use accp, wechatv3, pushorder, payzero or wisecashier)", protocol)
		}
		set := map[string]string{}
		for name, v := range values {
			if !f.Changed(name) {
				continue
			}
			file, ok := allowed[name]
			if !ok {
				return fmt.Errorf("--%s: not a setting of protocol %s", name, protocol)
			}
			val := *v
			if file && val != "" {
				b, err := os.ReadFile(val)
				if err != nil {
					return fmt.Errorf("--%s: %w", name, err)
				}
				val = string(b)
			}
			set[protocol+"."+name] = val
		}
		if len(set) == 0 {
			return fmt.Errorf("nothing to set for %s: give one of --%s", protocol, strings.Join(sortedKeys(allowed), ", --"))
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			err := svc.RotateSettings(cmd.Context(), no, set, grace)
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				return fmt.Errorf("--merchant: no merchant %q", no)
			}
			if err != nil {
				flags := map[string]string{"grace": "--grace"}
				for name := range set {
					flags[name] = "--" + strings.TrimPrefix(name, protocol+".")
				}
				return flagError(err, flags)
			}
			fmt.Fprintf(stdout, "merchant %s: %s set for %s\n", no, strings.Join(sortedKeys(set), ", "), protocol)
			if grace > 0 {
				fmt.Fprintf(stdout, "The values replaced stay valid until %s; `baoguan merchant revoke --kind setting:NAME` ends that earlier.\n",
					svc.Now().Add(grace).UTC().Format(time.RFC3339))
			}
			return nil
		})
	}
	return cmd
}

func newPlatformCertCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var protocol string
	cmd := &cobra.Command{
		Use:   "platform-cert --protocol P",
		Short: "Print the installation's platform certificate (wechatv3) or public key (accp, wisecashier) that merchants install",
		Long: `Print the platform signing key a merchant needs to verify baoguan's responses
and notifications: for wechatv3 the platform certificate PEM (its serial is
printed to stderr), for accp and wisecashier the platform public key PEM. The
key is generated on first use and kept, sealed, in the database.`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&protocol, "protocol", "", "wechatv3, accp or wisecashier (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if protocol != "wechatv3" && protocol != "accp" && protocol != "wisecashier" {
			return fmt.Errorf("--protocol: want wechatv3, accp or wisecashier, got %q", protocol)
		}
		store, err := openStore(cmd.Context(), cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		k, err := platform.Load(cmd.Context(), store, protocol)
		if err != nil {
			return err
		}
		if protocol == "wechatv3" {
			fmt.Fprintf(stderr, "serial %s\n", k.Serial)
			_, err = stdout.Write(k.CertPEM)
			return err
		}
		_, err = stdout.Write(k.PublicPEM())
		return err
	}
	return cmd
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func newDataKeyCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data-key",
		Short: "Manage the keys that encrypt personal data at rest",
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new primary data key; older keys keep decrypting what they sealed",
		Long: `Add a new primary key to the key file beside the database (PATH.key). Running
servers notice the new file within a second and seal new data with the new
key, without a restart; what other processes sealed with it opens at once.
Data sealed with older keys still opens, because they stay in the file. With
BAOGUAN_DATA_KEY, rotate by putting a new base64 key first in the
comma-separated list, keeping the old ones, and restarting the servers.`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(rotate.Flags(), getenv, "db", "log-level")
	rotate.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if cfg.DataKey != "" {
			return errors.New("BAOGUAN_DATA_KEY is set: rotate by putting a new key first in that list (keep the old ones after it)")
		}
		if cfg.DBKind == dbPostgres {
			return errors.New("with PostgreSQL the keys come from BAOGUAN_DATA_KEY on every instance: rotate by putting a new key first in that list " +
				"(keep the old ones after it) and restarting the instances")
		}
		id, err := keyring.Rotate(cfg.KeyFile)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new primary data key %s in %s; running servers seal with it within a second\n", id, cfg.KeyFile)
		return nil
	}
	cmd.AddCommand(rotate)
	return cmd
}

func newMerchantCardsCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no string
	var cards []string
	var clear, asJSON bool
	cmd := &cobra.Command{
		Use:   "cards --merchant NO [--card BANK:NAME:NUMBER:signed|unsigned:BALANCE ... | --clear]",
		Short: "List or record the bank cards a merchant funds automatic payments from (payzero 2.2, appendix B.1)",
		Long: `Without --card or --clear, list the merchant's funding cards, numbers masked.

With --card, record the merchant's bound bank cards and their current balances
(yuan), which automatic payment checks before paying a batch (payzero errors
50001, 50010, 50056). The cards given replace the earlier list, whole. --clear
records that the merchant has no card (automatic payment then answers 50001).
Card numbers are stored encrypted and shown masked.

A sandbox merchant that never recorded cards pays from its sandbox funding
account, listed as one signed card of the test bank 999.`,
		Example: `  baoguan merchant cards --merchant M1
  baoguan merchant cards --merchant M1 --card 0308:张三:6225880137001234:signed:50000.00
  baoguan merchant cards --merchant M1 --clear`,
		Args: cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&no, "merchant", "", "merchant_no (required)")
	cmd.Flags().StringArrayVar(&cards, "card", nil, "BANK:NAME:NUMBER:signed|unsigned:BALANCE (repeatable); replaces the list")
	cmd.Flags().BoolVar(&clear, "clear", false, "record that the merchant has no card")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the cards as JSON (numbers masked)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if no == "" {
			return errors.New("--merchant is required")
		}
		if clear && len(cards) > 0 {
			return errors.New("--clear and --card cannot be used together: --card replaces the list, --clear empties it")
		}
		var list []baoguan.FundingCard
		for i, c := range cards {
			f := strings.Split(c, ":")
			if len(f) != 5 || (f[3] != "signed" && f[3] != "unsigned") {
				return fmt.Errorf("--card %d: want BANK:NAME:NUMBER:signed|unsigned:BALANCE, got %q", i+1, c)
			}
			bal, err := baoguan.ParseYuan("balance", f[4])
			if err != nil {
				return fmt.Errorf("--card %d: %v", i+1, baoguan.ErrorMessage(err))
			}
			list = append(list, baoguan.FundingCard{BankCode: f[0], AcctName: f[1], AcctNo: f[2], Signed: f[3] == "signed", Balance: bal})
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			m, err := svc.MerchantByNo(cmd.Context(), no)
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				return fmt.Errorf("--merchant: no merchant %q", no)
			}
			if err != nil {
				return err
			}
			var f baoguan.FundingCards
			if clear || len(list) > 0 {
				f, err = svc.ReplaceFundingCards(cmd.Context(), m, list)
			} else {
				f, err = svc.FundingCards(cmd.Context(), m)
			}
			if err != nil {
				return fmt.Errorf("%s: %s", baoguan.ErrorField(err), baoguan.ErrorMessage(err))
			}
			return printCards(stdout, f, asJSON)
		})
	}
	return cmd
}

// printCards lists funding cards, numbers masked.
func printCards(w io.Writer, f baoguan.FundingCards, asJSON bool) error {
	type cardJSON struct {
		BankCode string `json:"bank_code"`
		AcctName string `json:"acct_name"`
		AcctNo   string `json:"acct_no"` // masked
		Signed   bool   `json:"signed"`
		Balance  string `json:"balance"` // yuan
	}
	if asJSON {
		out := struct {
			Recorded bool       `json:"recorded"`
			Cards    []cardJSON `json:"cards"`
		}{Recorded: f.Recorded, Cards: []cardJSON{}}
		for _, c := range f.Cards {
			out.Cards = append(out.Cards, cardJSON{c.BankCode, c.AcctName, baoguan.MaskCard(c.AcctNo), c.Signed, baoguan.FormatYuan(c.Balance)})
		}
		return writeJSONOut(w, out)
	}
	for _, c := range f.Cards {
		state := "unsigned"
		if c.Signed {
			state = "signed"
		}
		fmt.Fprintf(w, "%s %s %s %s %s\n", c.BankCode, c.AcctName, baoguan.MaskCard(c.AcctNo), state, baoguan.FormatYuan(c.Balance))
	}
	switch {
	case len(f.Cards) == 0:
		fmt.Fprintln(w, "no cards recorded")
	case !f.Recorded:
		fmt.Fprintln(w, "(sandbox funding account; no cards recorded)")
	}
	return nil
}
