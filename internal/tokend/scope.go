package tokend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

func newScopeCmd(e *env) *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "scope",
		Short: "Manage the application scopes tokens may carry",
		Long: `Add, list and delete application scopes.

A scope names something a token may do. tokend's own API has built-in
scopes: tokens:read and tokens:write, tokens:introspect (for a gateway's
POST /v1/introspect), and admin:read and admin:write, which only an
admin's token may carry. Application scopes are yours: a
service behind a proxy that asks tokend's GET /v1/auth/check?scope=NAME lets
in only tokens that carry NAME (see docs/proxy.md). They are kept in the
database, so every replica sees them; these commands work on it directly
and may run while tokend serves it.`,
		Example: `  tokend scope add deploy:write --description "deploy to production"
  tokend scope add deploy:write --max-lifetime 7d
  tokend scope set deploy:write --max-lifetime 1d
  tokend scope list
  tokend scope delete deploy:write`,
		Args: cmdargs.NoArgs, // a mistyped verb: "did you mean …?"
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&database, "database", databaseDefault(e.getenv), databaseUsage)

	var description, maxLife string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Define an application scope",
		Long: fmt.Sprintf(`Define an application scope that tokens may then be created with.

A name is 1 to %d characters: lower-case letters, digits and . _ - in parts
separated by ':' (deploy:write, registry.push, app:*:read). A token made
with a password from now on carries it by default; tokens made earlier do
not gain it.

--max-lifetime caps how long a token carrying the scope may live (create,
rotate and exchange are refused past it with a 400 naming the cap; a
token asking no lifetime gets the cap).`, scope.MaxLen),
		Example: `  tokend scope add deploy:write --description "deploy to production"
  tokend scope add deploy:write --max-lifetime 7d`,
		Args: cmdargs.ExactArgs(1, "tokend scope add NAME [--description TEXT]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := scope.Valid(name); err != nil {
				return usageErrorf("%s", err)
			}
			if scope.IsBuiltin(name) {
				return usageErrorf("%s is built in; it needs no adding", name)
			}
			if len(description) > 1000 {
				return usageErrorf("--description is longer than 1000 characters")
			}
			life, err := parseMaxLifetime(maxLife, false)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			err = st.CreateScope(cmd.Context(), store.Scope{Name: name, Description: description, CreatedAt: time.Now().UTC().Truncate(time.Second), MaxLifetime: life})
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("scope %s already exists; see tokend scope list", name)
			}
			if err != nil {
				return fmt.Errorf("add scope %s: %w", name, err)
			}
			fmt.Fprintf(e.stderr, "Added scope %s.\n", name)
			return nil
		},
	}
	add.Flags().StringVarP(&description, "description", "d", "", "what the scope allows, shown by GET /v1/scopes")
	add.Flags().StringVar(&maxLife, "max-lifetime", "", "longest lifetime of a token carrying the scope (such as 7d; m, h, d, w units)")

	var setLife string
	set := &cobra.Command{
		Use:   "set NAME --max-lifetime DURATION",
		Short: "Change an application scope's lifetime cap",
		Long: `Set (or, with --max-lifetime none, clear) the longest lifetime a token
carrying the scope may have. Tokens already made keep their expiry; a
rotation past the new cap is refused.`,
		Example: `  tokend scope set deploy:write --max-lifetime 1d
  tokend scope set deploy:write --max-lifetime none`,
		Args: cmdargs.ExactArgs(1, "tokend scope set NAME --max-lifetime DURATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if scope.IsBuiltin(name) {
				return usageErrorf("%s is built in; only application scopes take a lifetime cap", name)
			}
			if !cmd.Flags().Changed("max-lifetime") {
				return usageErrorf("give --max-lifetime, such as 7d, or none to clear it")
			}
			life, err := parseMaxLifetime(setLife, true)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			err = st.SetScopeMaxLifetime(cmd.Context(), name, life)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no scope %q; see tokend scope list", name)
			}
			if err != nil {
				return fmt.Errorf("set scope %s: %w", name, err)
			}
			if life == 0 {
				fmt.Fprintf(e.stderr, "Scope %s has no lifetime cap now.\n", name)
			} else {
				fmt.Fprintf(e.stderr, "Tokens carrying %s now live at most %s.\n", name, timespec.FormatDuration(life))
			}
			return nil
		},
	}
	set.Flags().StringVar(&setLife, "max-lifetime", "", "longest lifetime of a token carrying the scope (such as 7d), or none")

	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List scopes (a table on a terminal, one name per line otherwise)",
		Long: `List the scopes tokens may carry: the built-in ones and the application
scopes defined with tokend scope add.

On a terminal this is a table; piped, one name per line; -o json gives
name, description and builtin for each, like GET /v1/scopes.`,
		Example: `  tokend scope list
  tokend scope list -o json`,
		Args: cmdargs.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listNamed(cmd.Context(), e, database, output, namedListing[scopeRow]{
				what:   "scopes",
				fetch:  scopeRows,
				name:   func(r scopeRow) string { return r.Name },
				header: "NAME\tBUILTIN\tMAX LIFETIME\tDESCRIPTION",
				row: func(r scopeRow) string {
					b := "no"
					if r.Builtin {
						b = "yes"
					}
					limit := "-"
					if r.MaxLifetime > 0 {
						limit = timespec.FormatDuration(time.Duration(r.MaxLifetime) * time.Second)
					}
					return fmt.Sprintf("%s\t%s\t%s\t%s", r.Name, b, limit, r.Description)
				},
			})
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "", "output format: table or json (default: table on a terminal, names otherwise)")

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an application scope no live token carries",
		Long: `Delete an application scope.

While unexpired tokens carry the scope it is refused, naming how many:
delete those tokens (or let them expire) first. Deleting a scope never
changes a token.`,
		Example: `  tokend scope delete deploy:write`,
		Args:    cmdargs.ExactArgs(1, "tokend scope delete NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if scope.IsBuiltin(name) {
				return usageErrorf("%s is built in and cannot be deleted", name)
			}
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			err = st.DeleteScope(cmd.Context(), name, time.Now())
			var inUse *store.ScopeInUseError
			switch {
			case errors.As(err, &inUse):
				return inUse
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("no scope %q; see tokend scope list", name)
			case err != nil:
				return fmt.Errorf("delete scope %s: %w", name, err)
			}
			fmt.Fprintf(e.stderr, "Deleted scope %s.\n", name)
			return nil
		},
	}
	cmd.AddCommand(add, set, list, del)
	return cmd
}

// scopeRow is one scope in `tokend scope list`, and with -o json, like
// GET /v1/scopes, its fields and their order are stable.
type scopeRow struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Builtin     bool   `json:"builtin"`
	// MaxLifetime in seconds; 0 for no cap of its own.
	MaxLifetime int64 `json:"max_lifetime_seconds"`
}

// scopeRows is every scope a token may carry, built-in and application,
// by name. The store comes first, as namedListing.fetch takes it.
func scopeRows(st store.Store, ctx context.Context) ([]scopeRow, error) {
	app, err := st.ListScopes(ctx)
	if err != nil {
		return nil, err
	}
	var rows []scopeRow
	for _, sc := range scope.Builtins() {
		rows = append(rows, scopeRow{sc.Name, sc.Description, true, 0})
	}
	for _, sc := range app {
		rows = append(rows, scopeRow{sc.Name, sc.Description, false, int64(sc.MaxLifetime / time.Second)})
	}
	slices.SortFunc(rows, func(a, b scopeRow) int { return strings.Compare(a.Name, b.Name) })
	return rows, nil
}

// parseMaxLifetime reads --max-lifetime: "" is no cap, and so is "none"
// when clearing is allowed.
func parseMaxLifetime(v string, clear bool) (time.Duration, error) {
	if v == "" || (clear && v == "none") {
		return 0, nil
	}
	d, err := timespec.ParseDuration(v)
	if err != nil {
		return 0, usageErrorf("--max-lifetime: %s", err)
	}
	if d < time.Minute {
		return 0, usageErrorf("--max-lifetime must be at least 1m, got %s", v)
	}
	return d, nil
}
