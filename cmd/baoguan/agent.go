package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/wisecashier"
)

// agentKeySetting is where an agent's request-signing public keys live in
// its sealed settings; the wisecashier front-end reads them.
const agentKeySetting = wisecashier.SettingPublicKey

func newAgentCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Manage agents (服务商): parties that act for several merchants with one key",
		Long: `An agent (WiseCashier's AgentNo) signs requests for any merchant attached to
it, and for no other: a request naming another merchant is refused (403) and
writes nothing. Create the agent, attach its merchants, and register the RSA
public key it signs with; give it the platform public key
(baoguan platform-cert --protocol wisecashier) to verify notifications.`,
	}
	cmd.AddCommand(newAgentCreateCmd(getenv, stdout, stderr), newAgentListCmd(getenv, stdout, stderr),
		newAgentAttachCmd(getenv, stdout, stderr), newAgentDetachCmd(getenv, stdout, stderr),
		newAgentKeyCmd(getenv, stdout, stderr))
	return cmd
}

type agentJSON struct {
	AgentNo   string   `json:"agent_no"`
	Name      string   `json:"name"`
	Key       bool     `json:"public_key_registered"`
	Merchants []string `json:"merchants"`
	CreatedAt string   `json:"created_at"`
}

func newAgentCreateCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var in core.AgentInput
	var keyFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "create --no AGENT_NO [--name NAME] [--public-key FILE]",
		Short:   "Create an agent",
		Example: `  baoguan agent create --no AG001 --name "Shop Partners" --public-key agent_pub.pem`,
		Args:    cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	f := cmd.Flags()
	f.StringVar(&in.No, "no", "", "the agent's number (AgentNo), unique (required)")
	f.StringVar(&in.Name, "name", "", "name, unique (default: the number)")
	f.StringVar(&keyFile, "public-key", "", "a PEM file of the RSA public key(s) the agent signs with")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if in.No == "" {
			return errors.New("--no is required")
		}
		var key string
		if keyFile != "" {
			if key, err = readAgentKey(keyFile); err != nil {
				return err
			}
		}
		return withService(cmd.Context(), cfg, stderr, false, func(svc *core.Service) error {
			a, err := svc.CreateAgent(cmd.Context(), in)
			if err != nil {
				return agentCLIError(err)
			}
			if key != "" {
				if a, err = svc.UpdateAgent(cmd.Context(), a.No, func(a *baoguan.Agent) error {
					a.Settings[agentKeySetting] = key
					return nil
				}); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSONOut(stdout, toAgentJSON(a, nil))
			}
			fmt.Fprintf(stdout, "Created agent %s (%s).\n", a.No, a.Name)
			if key == "" {
				fmt.Fprintf(stdout, "  Its requests are refused (401) until its key is registered:\n    baoguan agent key --agent %s --public-key agent_pub.pem\n", a.No)
			}
			fmt.Fprintf(stdout, "  Attach its merchants with: baoguan agent attach --agent %s --merchant MERCHANT_NO\n", a.No)
			return nil
		})
	}
	return cmd
}

func toAgentJSON(a *baoguan.Agent, ms []baoguan.Merchant) agentJSON {
	j := agentJSON{AgentNo: a.No, Name: a.Name, Key: a.Settings[agentKeySetting] != "", Merchants: []string{},
		CreatedAt: a.CreatedAt.UTC().Format(time.RFC3339)}
	for _, m := range ms {
		j.Merchants = append(j.Merchants, m.No)
	}
	return j
}

func newAgentListCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: "list", Short: "List agents and their merchants", Args: cobra.NoArgs}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return s.withService(cmd.Context(), stderr, func(svc *core.Service) error {
			as, err := svc.Agents(cmd.Context())
			if err != nil {
				return err
			}
			out := make([]agentJSON, 0, len(as))
			for i := range as {
				ms, err := svc.AgentMerchants(cmd.Context(), &as[i])
				if err != nil {
					return err
				}
				out = append(out, toAgentJSON(&as[i], ms))
			}
			if asJSON {
				return writeJSONOut(stdout, out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "AGENT_NO\tNAME\tKEY\tMERCHANTS")
			for _, a := range out {
				key := "none"
				if a.Key {
					key = "registered"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", a.AgentNo, a.Name, key, len(a.Merchants))
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newAgentAttachCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var agent string
	var merchants []string
	var move bool
	cmd := &cobra.Command{
		Use:     "attach --agent AGENT_NO --merchant MERCHANT_NO [--merchant ...]",
		Short:   "Make an agent act for merchants",
		Example: `  baoguan agent attach --agent AG001 --merchant M1 --merchant M2`,
		Args:    cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&agent, "agent", "", "the agent's number (required)")
	cmd.Flags().StringArrayVar(&merchants, "merchant", nil, "merchant_no (repeatable, required)")
	cmd.Flags().BoolVar(&move, "move", false, "move merchants that belong to another agent")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if agent == "" || len(merchants) == 0 {
			return errors.New("--agent and --merchant are required")
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			for _, no := range merchants {
				if _, err := svc.AttachMerchant(cmd.Context(), agent, no, move); err != nil {
					if baoguan.ErrorReason(err) == "other_agent" {
						return fmt.Errorf("--merchant %s: %s (add --move)", no, baoguan.ErrorMessage(err))
					}
					return fmt.Errorf("%s: %s", no, baoguan.ErrorMessage(err))
				}
				fmt.Fprintf(stdout, "merchant %s: agent %s\n", no, agent)
			}
			return nil
		})
	}
	return cmd
}

func newAgentDetachCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var no string
	cmd := &cobra.Command{Use: "detach --merchant MERCHANT_NO", Short: "Leave a merchant without an agent", Args: cobra.NoArgs}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&no, "merchant", "", "merchant_no (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if no == "" {
			return errors.New("--merchant is required")
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			if _, err := svc.DetachMerchant(cmd.Context(), no); err != nil {
				return fmt.Errorf("--merchant: %s", baoguan.ErrorMessage(err))
			}
			fmt.Fprintf(stdout, "merchant %s: no agent\n", no)
			return nil
		})
	}
	return cmd
}

func newAgentKeyCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var agent, keyFile string
	cmd := &cobra.Command{
		Use:   "key --agent AGENT_NO --public-key FILE",
		Short: "Register the RSA public key(s) an agent signs requests with",
		Long: `Register the agent's RSA public key: a PEM file holding one or more keys
(PUBLIC KEY or RSA PUBLIC KEY blocks, or certificates). A request verifies
with any of them, so during a key rotation put the old and the new key in
the file, and register the new one alone once the agent has switched.`,
		Example: `  baoguan agent key --agent AG001 --public-key agent_pub.pem`,
		Args:    cobra.NoArgs,
	}
	s := bindSettings(cmd.Flags(), getenv, "db", "sync", "log-level")
	cmd.Flags().StringVar(&agent, "agent", "", "the agent's number (required)")
	cmd.Flags().StringVar(&keyFile, "public-key", "", "PEM file (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		if agent == "" || keyFile == "" {
			return errors.New("--agent and --public-key are required")
		}
		key, err := readAgentKey(keyFile)
		if err != nil {
			return err
		}
		return withService(cmd.Context(), cfg, stderr, true, func(svc *core.Service) error {
			_, err := svc.UpdateAgent(cmd.Context(), agent, func(a *baoguan.Agent) error {
				a.Settings[agentKeySetting] = key
				return nil
			})
			if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
				return fmt.Errorf("--agent: no agent %q", agent)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "agent %s: public key registered\n", agent)
			return nil
		})
	}
	return cmd
}

// readAgentKey reads a PEM file of the agent's RSA public keys (or
// certificates holding them), refusing anything else — a private key,
// above all — before it is stored.
func readAgentKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--public-key: %w", err)
	}
	if _, err := wisecashier.ParsePublicKeys(b); err != nil {
		return "", fmt.Errorf("--public-key: %s: %w", path, err)
	}
	return string(b), nil
}

func agentCLIError(err error) error {
	switch baoguan.ErrorField(err) {
	case "agent_no":
		return fmt.Errorf("--no: %s", baoguan.ErrorMessage(err))
	case "name":
		return fmt.Errorf("--name: %s", baoguan.ErrorMessage(err))
	}
	return cliError(err)
}
