// Package root builds the `tokenctl` command tree and holds the process's
// real main (Main), so cmd/tokenctl and the end-to-end tests run the same
// code.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/admin"
	"github.com/tokenctl/tokenctl/internal/cli/audit"
	"github.com/tokenctl/tokenctl/internal/cli/auth"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/cli/configcmd"
	"github.com/tokenctl/tokenctl/internal/cli/factory"
	"github.com/tokenctl/tokenctl/internal/cli/scope"
	"github.com/tokenctl/tokenctl/internal/cli/token"
	"github.com/tokenctl/tokenctl/internal/cli/versioncmd"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

// Main runs tokenctl with the process's arguments and streams and returns
// the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ios := iostreams.System()
	return Run(ctx, os.Args[1:], ios, os.Getenv)
}

// Run executes one tokenctl command line and returns its exit code, having
// printed any error as one line on stderr.
func Run(ctx context.Context, args []string, ios *iostreams.IOStreams, getenv func(string) string) int {
	g := &factory.Globals{}
	f := factory.New(ios, getenv, g)
	cmd := NewCmdRoot(f, g)
	cmd.SetArgs(args)
	cmd.SetIn(ios.In)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	if errors.Is(err, iostreams.ErrInterrupted) || errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// Ctrl-C, at a prompt or during a request: the shell convention is
		// 128+SIGINT.
		fmt.Fprintln(ios.ErrOut, "tokenctl: interrupted")
		return cmdutil.ExitInterrupted
	}
	msg, code := cmdutil.Explain(err, f)
	if msg != "" {
		fmt.Fprintln(ios.ErrOut, "tokenctl: "+msg)
	}
	return code
}

// NewCmdRoot returns the `tokenctl` command with every group attached.
func NewCmdRoot(f *cmdutil.Factory, g *factory.Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokenctl <command> <subcommand> [flags]",
		Short: "Manage personal access tokens from the terminal, scripts and CI",
		Long: `tokenctl creates, lists, rotates and deletes personal access tokens through a
token API server (such as tokend). Your own credential lives in the OS keyring.

Exit codes: 0 ok, 1 error, 2 usage, 3 partial failure of a bulk operation,
4 not logged in or credential rejected, 5 "auth status --fail-within" found the
credential expiring soon, 126/127 "token exec" could not run / find the command,
130 interrupted.`,
		Example: `  $ tokenctl auth login --host https://tokens.example.com --username alice
  $ tokenctl token create ci-deploy --expires-in 30d
  $ tokenctl token list --expiring-within 7d`,
		Version:       f.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cmdutil.NoArgs, // a mistyped command: "did you mean …?"
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(f.IOStreams.Out, `tokenctl manages personal access tokens.

Usage:  tokenctl <command> <subcommand> [flags]

Start here:
  tokenctl auth login --host URL    log in and keep a token in the OS keyring
  tokenctl token create NAME        mint a token (the secret is shown once)
  tokenctl token list               list your tokens

Run 'tokenctl --help' for every command.
`)
			return nil
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("timeout") && g.Timeout <= 0 {
				return cmdutil.UsageErrorf("invalid --timeout %s: want a positive duration like 30s", g.Timeout)
			}
			if g.NoColor || f.Getenv("NO_COLOR") != "" {
				f.IOStreams.SetColorEnabled(false)
			}
			g.NoExpiryWarning = cmdutil.ReportsExpiry(cmd)
			return nil
		},
	}
	cmd.SetVersionTemplate("tokenctl {{.Version}}\n") // as `tokenctl version` prints it
	// Defined here so cobra adds no -v shorthand.
	cmd.Flags().Bool("version", false, "print tokenctl's version")
	pf := cmd.PersistentFlags()
	pf.StringVar(&g.Host, "host", "", "token API server `URL` (default: TOKENCTL_HOST, then the profile's host)")
	pf.StringVar(&g.Profile, "profile", "", "config profile `NAME` (default: TOKENCTL_PROFILE, then current_profile)")
	pf.StringVar(&g.CAFile, "ca-file", "", "also trust the CA certificates in this PEM `FILE` for the server's TLS certificate (default: TOKENCTL_CA_FILE, then the profile's ca_file)")
	pf.BoolVar(&g.NoColor, "no-color", false, "disable colour output")
	pf.BoolVar(&g.Debug, "debug", false, "trace HTTP requests and responses to stderr (secrets redacted)")
	pf.DurationVar(&g.Timeout, "timeout", 0, "time limit for all of the command's requests to the server, retries included; time at a prompt does not count (default: TOKENCTL_TIMEOUT, then the profile's timeout, then "+client.DefaultTimeout.String()+")")

	cmd.AddCommand(
		auth.NewCmdAuth(f),
		token.NewCmdToken(f),
		scope.NewCmdScope(f),
		audit.NewCmdAudit(f, nil),
		admin.NewCmdAdmin(f),
		configcmd.NewCmdConfig(f),
		versioncmd.NewCmdVersion(f),
	)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.UsageError{Err: fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())}
	})
	cmd.SetHelpCommand(&cobra.Command{
		Use:    "help [command]",
		Short:  "Help about any command",
		Hidden: true,
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				return unknownHelpTopic(c.Root(), args)
			}
			return target.Help()
		},
	})
	cmdargs.Harden(cmd)
	return cmd
}

// unknownHelpTopic says that args name no command, suggesting what the
// first unknown word may have meant, as a mistyped command does.
func unknownHelpTopic(root *cobra.Command, args []string) error {
	cur := root
	for _, word := range args {
		next := subcommand(cur, word)
		if next == nil {
			return cmdutil.UsageErrorf("unknown help topic %q%s (see `%s --help`)", strings.Join(args, " "), cmdargs.DidYouMean(cur, word), cur.CommandPath())
		}
		cur = next
	}
	return cmdutil.UsageErrorf("unknown help topic %q (see `tokenctl --help`)", strings.Join(args, " "))
}

// subcommand is cmd's subcommand called word (by name or alias), or nil.
func subcommand(cmd *cobra.Command, word string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == word || c.HasAlias(word) {
			return c
		}
	}
	return nil
}
