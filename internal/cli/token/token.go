// Package token holds the `tokenctl token` command group: create, list,
// show, delete, rotate and exec. Each verb has an options struct, a
// constructor that wires flags into it and a run function that does the
// work, so tests drive the run functions with hand-built streams and a
// client pointed at a real tokend.
package token

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/secret"
)

// NewCmdToken returns the `token` command group.
func NewCmdToken(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "token <command>",
		Aliases: []string{"tokens"},
		Short:   "Create, list, show, rotate and delete personal access tokens",
		Long: `Manage the personal access tokens of the account tokenctl is logged in with.

A token's secret is shown exactly once, when it is created or rotated. Lists
show only its key hint (prefix, first and last four characters).`,
		Example: `  tokenctl token create ci-deploy --expires-in 30d --scope deploy:write
  tokenctl token list --status active
  tokenctl token delete --expired --yes
  tokenctl token exec --expires-in 10m -- ./deploy.sh`,
	}
	cmd.AddCommand(
		NewCmdCreate(f, nil),
		NewCmdList(f, nil),
		NewCmdShow(f, nil),
		NewCmdDelete(f, nil),
		NewCmdRotate(f, nil),
		NewCmdExec(f, nil),
		NewCmdRevokeLeaked(f, nil),
	)
	return cmd
}

// now returns the factory's clock, or the real one.
func now(f *cmdutil.Factory) func() time.Time {
	if f.Now != nil {
		return f.Now
	}
	return time.Now
}

// getenv is how commands read the environment (GITHUB_ACTIONS): the
// factory's, so tests can pass their own, or the process's.
func getenv(f *cmdutil.Factory) func(string) string {
	if f.Getenv != nil {
		return f.Getenv
	}
	return os.Getenv
}

// looksLikeSecret is deliberately generous: a valid token, one with a typo
// in it, or anything longer than an id that starts with a token prefix.
func looksLikeSecret(s string) bool {
	if _, err := secret.Parse(s); err == nil || errors.Is(err, secret.ErrChecksum) {
		return true
	}
	i := strings.IndexByte(s, '_')
	return len(s) > 26 && i > 0 && secret.ValidPrefix(s[:i+1]) == nil
}

// quoteNotID quotes what was given where an id was expected, for an error
// message, unless it is a token secret: a secret pasted by mistake must not
// be echoed to a terminal or a CI log.
func quoteNotID(s string) string {
	if looksLikeSecret(s) {
		return "(a token secret, not shown)"
	}
	r := []rune(s)
	if len(r) > 40 {
		return fmt.Sprintf("%q…", string(r[:40]))
	}
	return fmt.Sprintf("%q", s)
}

// currentTokenID returns the id of the token tokenctl is authenticated
// with, or "" when it is not a token (or the server does not say).
func currentTokenID(ctx context.Context, c *client.Client) (string, error) {
	u, err := c.User(ctx)
	if err != nil {
		return "", err
	}
	if u.Token == nil {
		return "", nil
	}
	return u.Token.ID, nil
}

// completeTokenIDs offers the caller's token ids, with names as
// descriptions, for show, delete and rotate.
func completeTokenIDs(f *cmdutil.Factory, multi bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if !multi && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		seen := make(map[string]bool, len(args))
		for _, a := range args {
			seen[a] = true
		}
		return completeFromTokens(f, func(t api.Token) (cobra.Completion, bool) {
			if seen[t.ID] || !strings.HasPrefix(t.ID, toComplete) {
				return "", false
			}
			return cobra.CompletionWithDesc(t.ID, completionDesc(t)), true
		})
	}
}

// completeTokenNames offers the caller's token names for --name (list and
// delete take a glob; a whole name is the common case). Names with control
// characters are left out: they cannot be typed and would break the
// completion protocol's lines.
func completeTokenNames(f *cmdutil.Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		seen := make(map[string]bool)
		return completeFromTokens(f, func(t api.Token) (cobra.Completion, bool) {
			if seen[t.Name] || !strings.HasPrefix(t.Name, toComplete) || strings.ContainsFunc(t.Name, unicode.IsControl) {
				return "", false
			}
			seen[t.Name] = true
			return t.Name, true
		})
	}
}

// completionTimeout bounds the listing behind a completion: the shell
// waits on it. maxCompletions caps what one offers.
const (
	completionTimeout = 5 * time.Second
	maxCompletions    = 1000
)

// completeFromTokens lists the caller's tokens and offers what pick makes
// of each it accepts. Any failure (not logged in, server down) quietly
// offers nothing: completion must never print errors into the user's
// command line.
func completeFromTokens(f *cmdutil.Factory, pick func(api.Token) (cobra.Completion, bool)) ([]cobra.Completion, cobra.ShellCompDirective) {
	if f.Client == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := f.Client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	var out []cobra.Completion
	for t, err := range c.ListTokens(ctx, client.ListQuery{Status: api.StatusAll, PageSize: client.PageSize}) {
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if comp, ok := pick(t); ok {
			out = append(out, comp)
		}
		if len(out) >= maxCompletions {
			break
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completionDesc(t api.Token) string {
	d := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, t.Name)
	if t.Status == api.StatusExpired {
		d += " (expired)"
	}
	return d
}

// isAuthOrCancel reports errors after which further requests are
// pointless: a rejected credential, one that lacks the scope, or an
// interrupted command.
func isAuthOrCancel(err error) bool {
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Code() == api.CodeInsufficientScope {
		return true
	}
	return client.IsStatus(err, 401) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
