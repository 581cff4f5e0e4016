// Scopes on the command line: the --scope flag that create, exec, list and
// delete share, its completion, and the errors a scoped token meets.

package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/text"
)

// addScopeFlag registers a repeatable, comma-separating --scope flag with
// completion from GET /v1/scopes.
func addScopeFlag(cmd *cobra.Command, f *cmdutil.Factory, p *[]string, usage string) {
	cmd.Flags().StringSliceVar(p, "scope", nil, usage)
	_ = cmd.RegisterFlagCompletionFunc("scope", completeScopes(f))
}

// cleanScopes trims and checks the --scope values (package scope's
// grammar, the server's own) and makes them a Set. Empty items (--scope ”
// or a trailing comma) are dropped, so `--scope ”` asks for no scopes at
// all: an empty, non-nil Set.
func cleanScopes(in []string) (scope.Set, error) {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if err := scope.Valid(s); err != nil {
			hint := ""
			if strings.ContainsFunc(s, unicode.IsSpace) {
				hint = "; give several as --scope a,b or repeat --scope"
			}
			return nil, cmdutil.UsageErrorf("invalid --scope: %s%s", err, hint)
		}
		out = append(out, s)
	}
	return scope.NewSet(out...), nil
}

// hasScopes reports whether t carries every scope in want.
func hasScopes(t api.Token, want []string) bool {
	for _, w := range want {
		if !slices.Contains(t.Scopes, w) {
			return false
		}
	}
	return true
}

// scopeList is how a person reads a token's scopes: space-separated, or
// "none".
func scopeList(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}

// completeScopes offers the scopes the server knows, with their
// descriptions. In a comma-separated value it completes the last item and
// leaves out the ones already given.
func completeScopes(f *cmdutil.Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if f.Client == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		scopes, err := c.Scopes(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		head, last := "", toComplete
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			head, last = toComplete[:i+1], toComplete[i+1:]
		}
		given := strings.Split(head, ",")
		var out []cobra.Completion
		for _, s := range scopes {
			if !strings.HasPrefix(s.Name, last) || slices.Contains(given, s.Name) || strings.ContainsFunc(s.Name, unicode.IsSpace) {
				continue
			}
			desc := s.Description
			if s.Builtin && desc == "" {
				desc = "built in"
			}
			out = append(out, cobra.CompletionWithDesc(head+s.Name, text.OneLine(desc)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// explainScopeError turns the refusals a scoped token meets into one line
// that says what to do. Lacking a scope and asking a child for more than
// its parent holds are both "this credential may not do that": exit 4,
// like a rejected credential, since the remedy is another credential.
// The token limit and an expired token keep exit 1.
func explainScopeError(err error) error {
	var ae *client.APIError
	if err == nil || !errors.As(err, &ae) || ae.Problem == nil {
		return err
	}
	switch ae.Problem.Code {
	case api.CodeInsufficientScope:
		// Name what is missing, not everything the operation needs.
		var missing []string
		for _, r := range ae.Problem.RequiredScopes {
			if !slices.Contains(ae.Problem.TokenScopes, r) {
				missing = append(missing, r)
			}
		}
		if len(missing) == 0 {
			missing = ae.Problem.RequiredScopes
		}
		need, ask := strings.Join(missing, " "), strings.Join(missing, ",")
		if need == "" {
			need, ask = "the scope this needs", "SCOPE"
		}
		made := "no scopes"
		if len(ae.Problem.TokenScopes) > 0 {
			made = strings.Join(ae.Problem.TokenScopes, " ")
		}
		return &cmdutil.AuthError{Err: fmt.Errorf("this token lacks %s (it was made with: %s); log in with a broader one or ask for --scope %s", need, made, ask)}
	case api.CodeExceedsParent:
		// The server's detail names the extra scopes or the expiry.
		why := "a token can only mint tokens with its own scopes that expire no later than itself"
		if ae.Problem.Detail != "" {
			why = text.OneLine(ae.Problem.Detail)
		}
		return &cmdutil.AuthError{Err: fmt.Errorf("%s refused: %s", ae.Host, why)}
	case api.CodeTokenLimitReached:
		return fmt.Errorf("%s refused: %s; delete tokens you no longer need (tokenctl token delete --expired)", ae.Host, detail(ae))
	case api.CodeTokenExpired:
		return fmt.Errorf("%s refused: %s; an expired token cannot be rotated: create a new one with tokenctl token create", ae.Host, detail(ae))
	}
	return err
}

func detail(ae *client.APIError) string {
	if ae.Problem.Detail != "" {
		return text.OneLine(ae.Problem.Detail)
	}
	return ae.Problem.Code
}

// explainScopes wraps the run of every verb of the group with
// explainScopeError.
func explainScopes(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		if run := sub.RunE; run != nil {
			sub.RunE = func(c *cobra.Command, args []string) error {
				return explainScopeError(run(c, args))
			}
		}
	}
}
