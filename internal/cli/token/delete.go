// token delete: the command and its run. Selecting the tokens is in
// delete_select.go, asking the user in delete_confirm.go and sending the
// deletes in delete_exec.go.

package token

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
)

// DeleteOptions are the inputs of `token delete`.
type DeleteOptions struct {
	IO               *iostreams.IOStreams
	Client           func() (*client.Client, error)
	Credential       func() (*cmdutil.Credential, error)
	RemoveCredential func(*cmdutil.Credential) error
	Now              func() time.Time

	IDs            []string
	FromStdin      bool
	Expired        bool
	Name           string
	Scopes         []string
	CreatedBefore  string
	UnusedSince    string
	ExpiresBefore  string
	All            bool
	DryRun         bool
	Yes            bool
	IgnoreNotFound bool
	IncludeCurrent bool

	// BatchSize is how many ids go in one bulk request (at most 1000).
	BatchSize int

	createdBefore time.Time
	unusedSince   time.Time
	expBefore     time.Time
	named         map[string]bool // ids the user typed or piped, or named
	names         []ref           // arguments that are names, not ids
}

// confirmThreshold is the selection size above which the user must type
// the count instead of "y".
const confirmThreshold = 10

// NewCmdDelete builds `token delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IOStreams, Client: f.Client, Credential: f.Credential, RemoveCredential: f.RemoveCredential, Now: now(f), BatchSize: api.MaxBulkDelete}
	cmd := &cobra.Command{
		Use:     "delete [ID|NAME... | -]",
		Aliases: []string{"rm", "revoke"},
		Short:   "Delete tokens by id or by filter",
		Long: `Delete tokens. They stop working at once.

Select tokens by id or exact name (arguments; a name several tokens share
is refused with their ids), by id from stdin (- : the first field of each
line, skipping blank lines and # comments), or with filters, which
combine: --expired, --name GLOB, --scope SCOPE (tokens that carry it),
--created-before DATE|AGE, --unused-since DATE|AGE (never used, or last used
before then), --expires-before DATE|IN (expired ones included), or --all. An
age counts back from now (--unused-since 90d is 90 days ago); in
--expires-before a duration counts forward (7d is 7 days from now).

tokenctl resolves the selection first and shows it. On a terminal it asks for
confirmation, listing as many of the tokens as fit the terminal, then the
count (for more than 10 tokens or --all you type the count); without a
terminal it refuses unless --yes is given. --dry-run prints the selected ids
and names on stdout and deletes nothing.

Tokens go in batches of up to 1000, with a progress bar on a terminal, and a
summary ends the run: deleted, not found, failed. Unknown ids make the exit
code 3 unless --ignore-not-found; any failure makes it 3.

The token tokenctl is logged in with is skipped unless you name its id or pass
--include-current; deleting it logs you out.`,
		Example: `  tokenctl token delete 01jd8k2m4n5p6q7r8s9t0v1w2x
  tokenctl token delete deploy-key
  tokenctl token delete --expired --yes
  tokenctl token delete --expired --unused-since 90d --yes
  tokenctl token delete --name 'ci-*' --dry-run
  tokenctl token delete --scope deploy:write --expired --yes
  tokenctl token list --status expired --jq '.[].id' | tokenctl token delete - --yes`,
		ValidArgsFunction: completeTokenIDs(f, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if a == "-" {
					if len(args) > 1 {
						return cmdutil.UsageErrorf("- reads ids from stdin and cannot be combined with ids as arguments")
					}
					opts.FromStdin = true
				}
			}
			if !opts.FromStdin {
				opts.IDs = args
			}
			if runF != nil {
				return runF(opts)
			}
			return deleteRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Expired, "expired", false, "select expired tokens")
	fl.StringVar(&opts.Name, "name", "", "select tokens whose name matches a `GLOB` (* and ?)")
	addScopeFlag(cmd, f, &opts.Scopes, "select tokens that carry `SCOPE` (repeatable, or a,b: all of them)")
	fl.StringVar(&opts.CreatedBefore, "created-before", "", "select tokens created before a `DATE` (YYYY-MM-DD or RFC 3339) or an age (30d = 30 days ago)")
	fl.StringVar(&opts.ExpiresBefore, "expires-before", "", "select tokens expiring before a `DATE` or a time from now (e.g. 7d), expired ones included")
	fl.StringVar(&opts.UnusedSince, "unused-since", "", "select tokens never used or last used before a `DATE` or an age (e.g. 90d)")
	fl.BoolVar(&opts.All, "all", false, "select every token")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "show what would be deleted and delete nothing")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fl.BoolVar(&opts.IgnoreNotFound, "ignore-not-found", false, "do not fail on ids that do not exist")
	fl.BoolVar(&opts.IncludeCurrent, "include-current", false, "also delete the token tokenctl is logged in with (logs you out)")
	_ = cmd.RegisterFlagCompletionFunc("name", completeTokenNames(f))
	return cmd
}

func deleteRun(ctx context.Context, opts *DeleteOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ios := opts.IO

	current, err := currentTokenID(ctx, c)
	if err != nil {
		return fmt.Errorf("delete tokens: %w", err)
	}
	targets, err := opts.resolve(ctx, c)
	if err != nil {
		return err
	}
	targets, includesCurrent, err := opts.spareCurrent(targets, current)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		fmt.Fprintln(ios.ErrOut, "No tokens match: nothing to delete.")
		return nil
	}

	if opts.DryRun {
		for _, t := range targets {
			if t.name != "" {
				fmt.Fprintf(ios.Out, "%s\t%s\n", t.id, output.Sanitize(t.name))
			} else {
				fmt.Fprintln(ios.Out, t.id)
			}
		}
		fmt.Fprintf(ios.ErrOut, "Dry run: would delete %s; nothing was deleted.\n", plural(len(targets), "token", "tokens"))
		return nil
	}
	if err := opts.confirm(ctx, targets); err != nil {
		return err
	}

	res := opts.deleteBatches(ctx, c, targets)
	fmt.Fprintf(ios.ErrOut, "Deleted %d, not found %d, failed %d\n", res.deleted, len(res.notFound), res.failed)
	for i, id := range res.notFound {
		if i == 10 {
			fmt.Fprintf(ios.ErrOut, "  … and %d more not found\n", len(res.notFound)-10)
			break
		}
		fmt.Fprintf(ios.ErrOut, "  not found: %s\n", id)
	}
	if includesCurrent && res.deletedSet[current] {
		opts.logout()
	}
	switch {
	case res.err != nil && res.deleted == 0 && len(res.notFound) == 0:
		return fmt.Errorf("delete tokens: %w", res.err)
	case res.failed > 0:
		return &cmdutil.PartialError{Err: fmt.Errorf("%s could not be deleted: %w", plural(res.failed, "token", "tokens"), res.err)}
	case len(res.notFound) > 0 && !opts.IgnoreNotFound:
		return &cmdutil.PartialError{Err: fmt.Errorf("%s not found (pass --ignore-not-found to accept that)", plural(len(res.notFound), "token was", "tokens were"))}
	}
	return nil
}
