// Scopes on the command line: the --scope flag that create, exec, list and
// delete share, and its completion. (The errors a scoped token meets are
// explained for every command by cmdutil.Explain.)

package token

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
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
