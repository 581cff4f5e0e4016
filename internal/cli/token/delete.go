package token

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
	"github.com/tokenctl/tokenctl/internal/text"
	"github.com/tokenctl/tokenctl/internal/timespec"
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
	CreatedBefore  string
	All            bool
	DryRun         bool
	Yes            bool
	IgnoreNotFound bool
	IncludeCurrent bool

	// BatchSize is how many ids go in one bulk request (at most 1000).
	BatchSize int

	createdBefore time.Time
	named         map[string]bool // ids the user typed or piped
}

// confirmThreshold is the selection size above which the user must type
// the count instead of "y".
const confirmThreshold = 10

// NewCmdDelete builds `token delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IOStreams, Client: f.Client, Credential: f.Credential, RemoveCredential: f.RemoveCredential, Now: now(f), BatchSize: api.MaxBulkDelete}
	cmd := &cobra.Command{
		Use:     "delete [ID... | -]",
		Aliases: []string{"rm", "revoke"},
		Short:   "Delete tokens by id or by filter",
		Long: `Delete tokens. They stop working at once.

Select tokens by id (arguments, or - to read them from stdin: the first field
of each line, skipping blank lines and # comments), or with filters, which
combine: --expired, --name GLOB, --created-before DATE, or --all.

tokenctl resolves the selection first and shows it. On a terminal it asks for
confirmation (for more than 10 tokens or --all you type the count); without a
terminal it refuses unless --yes is given. --dry-run prints the selected ids
and names on stdout and deletes nothing.

Tokens go in batches of up to 1000, with a progress bar on a terminal, and a
summary ends the run: deleted, not found, failed. Unknown ids make the exit
code 3 unless --ignore-not-found; any failure makes it 3.

The token tokenctl is logged in with is skipped unless you name its id or pass
--include-current; deleting it logs you out.`,
		Example: `  tokenctl token delete 01jd8k2m4n5p6q7r8s9t0v1w2x
  tokenctl token delete --expired --yes
  tokenctl token delete --name 'ci-*' --dry-run
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
	fl.StringVar(&opts.CreatedBefore, "created-before", "", "select tokens created before a `DATE` (YYYY-MM-DD or RFC 3339)")
	fl.BoolVar(&opts.All, "all", false, "select every token")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "show what would be deleted and delete nothing")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fl.BoolVar(&opts.IgnoreNotFound, "ignore-not-found", false, "do not fail on ids that do not exist")
	fl.BoolVar(&opts.IncludeCurrent, "include-current", false, "also delete the token tokenctl is logged in with (logs you out)")
	return cmd
}

func (o *DeleteOptions) hasFilter() bool {
	return o.Expired || o.Name != "" || o.CreatedBefore != "" || o.All
}

// validate checks everything that can be checked without the server,
// including reading and checking ids from stdin.
func (o *DeleteOptions) validate() error {
	byID := len(o.IDs) > 0 || o.FromStdin
	switch {
	case byID && o.All:
		return cmdutil.UsageErrorf("--all cannot be combined with token ids")
	case byID && o.hasFilter():
		return cmdutil.UsageErrorf("give token ids or filters (--expired, --name, --created-before), not both")
	case !byID && !o.hasFilter():
		return cmdutil.UsageErrorf("nothing selected: give token ids, - to read ids from stdin, or a filter (--expired, --name GLOB, --created-before DATE, --all)")
	case o.All && (o.Expired || o.Name != "" || o.CreatedBefore != ""):
		return cmdutil.UsageErrorf("--all selects every token and cannot be combined with other filters")
	}
	if o.BatchSize <= 0 || o.BatchSize > api.MaxBulkDelete {
		o.BatchSize = api.MaxBulkDelete
	}
	if err := checkGlob("--name", o.Name); err != nil {
		return err
	}
	if o.CreatedBefore != "" {
		t, err := timespec.ParseDate(o.CreatedBefore)
		if err != nil {
			return cmdutil.UsageErrorf("--created-before: %s", err)
		}
		o.createdBefore = t
	}
	for i, id := range o.IDs {
		o.IDs[i] = strings.ToLower(id)
		if err := checkID(id); err != nil {
			return err
		}
	}
	if o.FromStdin {
		ids, err := readIDs(o.IO.In)
		if err != nil {
			return err
		}
		o.IDs = ids
		if len(ids) == 0 {
			return cmdutil.UsageErrorf("no token ids on stdin: write one id per line")
		}
	}
	o.IDs = dedupe(o.IDs)
	o.named = make(map[string]bool, len(o.IDs))
	for _, id := range o.IDs {
		o.named[id] = true
	}
	return nil
}

// readIDs reads one id per line: the first whitespace-separated field, so
// `token list` output or "id name" lines can be piped in. Blank lines and
// lines starting with # are skipped; anything else that is not an id is an
// error naming its line.
func readIDs(r io.Reader) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// ULIDs are case-insensitive; the server stores them lower case.
		field := strings.Fields(line)[0]
		id := strings.ToLower(field)
		if !api.ValidID(id) {
			return nil, cmdutil.UsageErrorf("stdin line %d: %s is not a token id (want one 26-character id per line; # starts a comment)", n, quoteNotID(field))
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, cmdutil.UsageErrorf("reading ids from stdin: %s", err)
	}
	return ids, nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// target is one selected token; name is empty when it was selected by id.
type target struct{ id, name string }

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
	// Never cut the branch tokenctl sits on unless asked to by name.
	includesCurrent := false
	if current != "" {
		i := slices.IndexFunc(targets, func(t target) bool { return t.id == current })
		if i >= 0 {
			if opts.IncludeCurrent || opts.named[current] {
				includesCurrent = true
			} else {
				targets = slices.Delete(targets, i, i+1)
				fmt.Fprintf(ios.ErrOut, "Skipping %s, the token tokenctl is logged in with (pass --include-current or name its id to delete it)\n", current)
			}
		}
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
	if err := opts.confirm(targets); err != nil {
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

// resolve turns the selection into the list of tokens to delete. Ids are
// taken as given (the server reports unknown ones); filters walk the full
// listing, which the server narrows by status and name.
func (o *DeleteOptions) resolve(ctx context.Context, c *client.Client) ([]target, error) {
	if len(o.IDs) > 0 {
		out := make([]target, len(o.IDs))
		for i, id := range o.IDs {
			out[i] = target{id: id}
		}
		return out, nil
	}
	q := client.ListQuery{Status: api.StatusAll, Name: o.Name, PageSize: api.MaxPageSize}
	if o.Expired {
		q.Status = api.StatusExpired
	}
	var out []target
	for t, err := range c.ListTokens(ctx, q) {
		if err != nil {
			return nil, fmt.Errorf("list tokens to delete: %w", err)
		}
		if !o.createdBefore.IsZero() && !t.CreatedAt.Before(o.createdBefore) {
			continue
		}
		// Defence in depth: the server filtered by name already, but a
		// delete must never widen the user's selection.
		if o.Name != "" {
			if ok, _ := path.Match(o.Name, t.Name); !ok {
				continue
			}
		}
		out = append(out, target{id: t.ID, name: t.Name})
	}
	return out, nil
}

// confirm shows the selection and asks, or refuses without a terminal.
// With --yes it only shows it: the whole preview on a terminal, the count
// otherwise.
func (o *DeleteOptions) confirm(targets []target) error {
	n := len(targets)
	w := o.IO.ErrOut
	if o.Yes {
		if o.IO.IsStderrTTY() {
			o.preview(targets)
		} else {
			fmt.Fprintf(w, "Deleting %s\n", plural(n, "token", "tokens"))
		}
		return nil
	}
	if !o.IO.CanPrompt() || o.FromStdin {
		return cmdutil.UsageErrorf("refusing to delete %s without confirmation: pass --yes to delete them or --dry-run to list them", plural(n, "token", "tokens"))
	}
	o.preview(targets)
	r := bufio.NewReader(o.IO.In)
	if n > confirmThreshold || o.All {
		fmt.Fprintf(w, "Type %d to delete them: ", n)
		line, _ := r.ReadString('\n')
		if strings.TrimSpace(line) != strconv.Itoa(n) {
			return errors.New("not confirmed: nothing was deleted")
		}
		return nil
	}
	fmt.Fprint(w, "Delete them? [y/N] ")
	line, _ := r.ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not confirmed: nothing was deleted")
}

// preview prints the count and the first few tokens on stderr.
func (o *DeleteOptions) preview(targets []target) {
	w := o.IO.ErrOut
	n := len(targets)
	fmt.Fprintf(w, "About to delete %s:\n", plural(n, "token", "tokens"))
	tbl := output.NewTable("ID", "NAME")
	for i, t := range targets {
		if i == 5 {
			break
		}
		tbl.AddRow(output.StylePlain, t.id, t.name)
	}
	_ = tbl.Render(w, false)
	if n > 5 {
		fmt.Fprintf(w, "… and %d more\n", n-5)
	}
}

type deleteResult struct {
	deleted    int
	deletedSet map[string]bool
	notFound   []string
	failed     int
	err        error // the first failure
}

// deleteBatches sends the selection in bulk requests. A failed batch is
// counted and the next one still tried, unless the credential was rejected
// or the command interrupted, which would fail every later batch too.
func (o *DeleteOptions) deleteBatches(ctx context.Context, c *client.Client, targets []target) deleteResult {
	res := deleteResult{deletedSet: make(map[string]bool)}
	var bar *progressbar.ProgressBar
	if o.IO.IsStderrTTY() {
		bar = progressbar.NewOptions(len(targets),
			progressbar.OptionSetWriter(o.IO.ErrOut),
			progressbar.OptionSetDescription("Deleting"),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
		// Show the empty bar at once: a single batch would otherwise
		// finish (and be cleared) before it was ever drawn.
		_ = bar.RenderBlank()
	}
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.id
	}
	for batch := range slices.Chunk(ids, o.BatchSize) {
		if res.err != nil && isAuthOrCancel(res.err) {
			res.failed += len(batch)
			continue
		}
		r, err := c.DeleteTokens(ctx, batch)
		if err != nil {
			res.failed += len(batch)
			if res.err == nil {
				res.err = err
			}
		} else {
			res.deleted += len(r.Deleted)
			for _, id := range r.Deleted {
				res.deletedSet[id] = true
			}
			res.notFound = append(res.notFound, r.NotFound...)
		}
		if bar != nil {
			_ = bar.Add(len(batch))
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return res
}

// logout forgets the credential that was just deleted, so the next command
// says "not logged in" instead of "credential rejected".
func (o *DeleteOptions) logout() {
	w := o.IO.ErrOut
	if o.Credential == nil || o.RemoveCredential == nil {
		fmt.Fprintln(w, "Deleted the token tokenctl was logged in with: run `tokenctl auth login` to log in again")
		return
	}
	cred, err := o.Credential()
	if err != nil {
		fmt.Fprintf(w, "Deleted the token tokenctl was logged in with: run `tokenctl auth login` to log in again\n")
		return
	}
	if err := o.RemoveCredential(cred); err != nil {
		fmt.Fprintf(w, "Deleted the token tokenctl was logged in with, but could not remove it from the %s: %s\n", cred.Source, text.OneLine(err.Error()))
		return
	}
	fmt.Fprintf(w, "Deleted the token tokenctl was logged in with: logged out of %s (run `tokenctl auth login` to log in again)\n", cred.Host)
}
