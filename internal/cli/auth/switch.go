package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

// SwitchOptions are the inputs of `auth switch`.
type SwitchOptions struct {
	IO          *iostreams.IOStreams
	Host        func() (string, error)
	Credentials func() (*credential.Service, error)
	Getenv      func(string) string

	User string
}

// NewCmdSwitch returns `auth switch`.
func NewCmdSwitch(f *cmdutil.Factory, runF func(context.Context, *SwitchOptions) error) *cobra.Command {
	opts := &SwitchOptions{IO: f.IOStreams, Host: f.Host, Credentials: f.Credentials, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "switch",
		Short: "Choose which logged-in account is active for a host",
		Long: `Make another account logged in to the selected host the active one: the
account whose credential commands use. Log in to more accounts with
` + "`tokenctl auth login`" + `; ` + "`tokenctl auth status`" + ` lists them.

With --user, that account becomes active. Without it, on a terminal you choose
from a list; off a terminal, a host with exactly two accounts switches to the
other one, and with more --user is needed.

TOKENCTL_TOKEN, when set, still takes precedence over every stored account.`,
		Example: `  $ tokenctl auth switch
  $ tokenctl auth switch --user bob
  $ tokenctl auth switch --host https://tokens.example.com --user alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return switchRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.User, "user", "u", "", "make `USER`'s account the active one")
	return cmd
}

func switchRun(ctx context.Context, o *SwitchOptions) error {
	host, err := o.Host()
	if err != nil {
		return err
	}
	svc, err := o.Credentials()
	if err != nil {
		return err
	}
	accounts := svc.Accounts(host)
	if len(accounts) == 0 {
		return &cmdutil.AuthError{Err: fmt.Errorf("not logged in to %s: run `tokenctl auth login --host %s`", host, host)}
	}
	user := o.User
	switch {
	case user != "":
		if svc.Account(host, user) == nil {
			return cmdutil.UsageErrorf("%s is not logged in to %s%s; log in with `tokenctl auth login --host %s --username %s`", user, host, accountList(accounts), host, user)
		}
	case len(accounts) == 1:
		return fmt.Errorf("%s is the only account logged in to %s: log in as another user first (`tokenctl auth login --username USER`)", accounts[0].Username, host)
	case o.IO.CanPrompt():
		if user, err = o.choose(ctx, host, accounts); err != nil {
			return err
		}
	case len(accounts) == 2:
		// Like `gh auth switch`: with two accounts, switching needs no
		// choice.
		user = accounts[0].Username
		if accounts[0].Active {
			user = accounts[1].Username
		}
	default:
		return cmdutil.UsageErrorf("%d accounts are logged in to %s (%s): pass --user USER", len(accounts), host, strings.TrimPrefix(accountList(accounts), ": logged in are "))
	}
	if err := svc.Switch(host, user); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "Switched the active account for %s to %s\n", host, user)
	if o.Getenv(credential.EnvToken) != "" {
		fmt.Fprintf(o.IO.ErrOut, "note: %s is set and takes precedence over the stored accounts until you unset it\n", credential.EnvToken)
	}
	return nil
}

// choose asks which account to make active, by number.
func (o *SwitchOptions) choose(ctx context.Context, host string, accounts []credential.Account) (string, error) {
	fmt.Fprintf(o.IO.ErrOut, "Accounts logged in to %s:\n", host)
	for i, a := range accounts {
		mark := ""
		if a.Active {
			mark = " (active)"
		}
		fmt.Fprintf(o.IO.ErrOut, "  %d) %s%s\n", i+1, a.Username, mark)
	}
	line, err := o.IO.Prompt(ctx, fmt.Sprintf("Switch to [1-%d]: ", len(accounts)))
	switch {
	case errors.Is(err, iostreams.ErrInterrupted):
		return "", err
	case err != nil:
		return "", cmdutil.UsageErrorf("no choice given: pass --user USER")
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || n < 1 || n > len(accounts) {
		return "", cmdutil.UsageErrorf("invalid choice %q: want a number from 1 to %d", strings.TrimSpace(line), len(accounts))
	}
	return accounts[n-1].Username, nil
}
