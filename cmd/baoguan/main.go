// Command baoguan runs the payment customs declaration gateway and its
// operator tools: `baoguan serve` starts the HTTP gateway and the job
// runner; `merchant`, `jobs`, `migrate` and `version` are for operators.
//
// Everything is wired by hand here, in run, from one Config read from flags
// and BAOGUAN_* environment variables. main only calls run, so tests run
// the whole program in-process (see main_test.go).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx := context.Background()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "baoguan:", err)
		os.Exit(1)
	}
}

// run is the whole program. args are the command-line arguments after the
// program name; getenv reads the environment (BAOGUAN_* settings and
// BAOGUAN_DATA_KEY). Output meant for people and scripts goes to stdout,
// logs to stderr. run returns when the command is done or, for serve, when
// ctx ends or the process receives SIGINT or SIGTERM.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	root := newRootCmd(getenv, stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// newRootCmd builds the command tree. Commands are built per call so that
// nothing (flag values above all) is shared between runs.
func newRootCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "baoguan",
		Short: "Payment customs declaration gateway",
		Long: `baoguan is a payment customs declaration gateway: merchants push orders,
baoguan pays them through a payment channel, declares the payments to customs
and notifies the merchant of every outcome.

Settings come from flags or BAOGUAN_* environment variables; a flag wins over
its variable. Personal data is encrypted with keys from BAOGUAN_DATA_KEY or,
when it is unset, from the key file PATH.key beside the database.`,
		Version:       versionString(),
		SilenceUsage:  true, // a failed start-up prints its reason, not the usage
		SilenceErrors: true, // main prints the error once
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(
		newServeCmd(getenv, stdout, stderr),
		newMerchantCmd(getenv, stdout, stderr),
		newAgentCmd(getenv, stdout, stderr),
		newRateCmd(getenv, stdout, stderr),
		newJobsCmd(getenv, stdout, stderr),
		newCallsCmd(getenv, stdout, stderr),
		newReceiptsCmd(getenv, stdout, stderr),
		newPaymentDataCmd(getenv, stdout, stderr),
		newMigrateCmd(getenv, stdout, stderr),
		newBenchCmd(getenv, stdout, stderr),
		newPlatformCertCmd(getenv, stdout, stderr),
		newDataKeyCmd(getenv, stdout, stderr),
		newUserCmd(getenv, stdout, stderr),
		newOrderCmd(getenv, stdout, stderr),
		newOrdersCmd(getenv, stdout, stderr),
		newEventsCmd(getenv, stdout, stderr),
		newBatchCmd(getenv, stdout, stderr),
		newVersionCmd(stdout),
	)
	return root
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, Go version, source revision and licence",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				return writeJSONOut(stdout, map[string]string{"version": versionString(), "license": "Apache-2.0", "license_text": licence})
			}
			_, err := fmt.Fprintln(stdout, versionString()+"\n"+licence)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: version, license (an SPDX identifier)")
	return cmd
}

// licence is what `baoguan version` says of the terms the binary is
// distributed under (the LICENSE file at the repository root).
const licence = "Licensed under the Apache License, Version 2.0: https://www.apache.org/licenses/LICENSE-2.0"

// versionString is "baoguan VERSION (GOVERSION, rev REVISION[, modified])",
// the revision coming from the build info Go stamps into binaries built
// from a VCS checkout.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "baoguan " + version
	}
	parts := []string{info.GoVersion}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		parts = append(parts, "rev "+rev)
		if modified == "true" {
			parts = append(parts, "modified")
		}
	}
	v := version
	if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version // installed with go install module@version
	}
	return "baoguan " + v + " (" + strings.Join(parts, ", ") + ")"
}
