package admin

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/tokenctl/tokenctl/internal/timespec"
)

func newCmdToken(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token <command>",
		Short: "List, show, revoke and mint any user's tokens",
		Long: `List, show and revoke tokens across users, and mint tokens for service
accounts. list and delete take the same filters; delete previews, asks and
reports like tokenctl token delete.`,
		Example: `  tokenctl admin token list --user alice
  tokenctl admin token delete --expired --yes
  tokenctl admin token create ci --for jenkins -q`,
	}
	cmd.AddCommand(NewCmdTokenList(f, nil), NewCmdTokenShow(f, nil), NewCmdTokenDelete(f, nil), NewCmdTokenCreate(f, nil))
	return cmd
}

// Filters select tokens across users; shared by list and delete.
type Filters struct {
	User           string
	Status         string
	Name           string
	Scopes         []string
	ExpiringWithin string // a duration: 7d
	UnusedSince    string // a date or an age: 90d
	Expired        bool   // delete's shorthand for --status expired

	query client.AdminListQuery
}

func (fl *Filters) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&fl.User, "user", "", "only this `USER`'s tokens")
	f.StringVar(&fl.Status, "status", "", "active, expired or all")
	f.StringVar(&fl.Name, "name", "", "only names matching this `GLOB` (* and ?)")
	f.StringArrayVar(&fl.Scopes, "scope", nil, "only tokens carrying this `SCOPE` (repeatable)")
	f.StringVar(&fl.ExpiringWithin, "expiring-within", "", "only tokens expiring within a `DURATION` (e.g. 7d)")
	f.StringVar(&fl.UnusedSince, "unused-since", "", "only tokens not used since a `DATE` or an age (e.g. 90d)")
}

func (fl *Filters) any() bool {
	return fl.User != "" || fl.Status != "" || fl.Name != "" || len(fl.Scopes) > 0 || fl.ExpiringWithin != "" || fl.UnusedSince != "" || fl.Expired
}

// validate turns the flags into a query before any request.
func (fl *Filters) validate(now time.Time) error {
	q := client.AdminListQuery{User: fl.User}
	q.PageSize = client.PageSize
	switch fl.Status {
	case "", api.StatusActive, api.StatusExpired, api.StatusAll:
		q.Status = fl.Status
	default:
		return cmdutil.UsageErrorf("--status must be active, expired or all, got %q", fl.Status)
	}
	if fl.Expired {
		if fl.Status != "" && fl.Status != api.StatusExpired {
			return cmdutil.UsageErrorf("--expired and --status %s contradict each other", fl.Status)
		}
		q.Status = api.StatusExpired
	}
	q.Name = fl.Name
	q.Scopes = fl.Scopes
	if fl.ExpiringWithin != "" {
		d, err := timespec.ParseDuration(fl.ExpiringWithin)
		if err != nil {
			return cmdutil.UsageErrorf("--expiring-within: %s", err)
		}
		q.ExpiringWithin = d
	}
	if fl.UnusedSince != "" {
		t, err := timespec.ParsePoint(fl.UnusedSince, now, false)
		if err != nil {
			return cmdutil.UsageErrorf("--unused-since: %s", err)
		}
		q.UnusedSince = t
	}
	fl.query = q
	return nil
}

// TokenListOptions are the inputs of `admin token list`.
type TokenListOptions struct {
	IO      *iostreams.IOStreams
	Client  func() (*client.Client, error)
	Now     func() time.Time
	Filters Filters
	Export  output.Exporter
}

// TokenCSVHeader is the header of `admin token list -o csv`.
var TokenCSVHeader = []string{"id", "user", "name", "key_hint", "created_at", "expires_at", "last_used_at", "status", "scopes"}

// NewCmdTokenList builds `admin token list`.
func NewCmdTokenList(f *cmdutil.Factory, runF func(*TokenListOptions) error) *cobra.Command {
	opts := &TokenListOptions{IO: f.IOStreams, Client: f.Client, Now: now(f)}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List every user's tokens",
		Long: `List tokens across users, newest first, with their owners. The filters
combine: --user, --status, --name, --scope, --expiring-within (tokens still
live that expire within a duration) and --unused-since (never used, or last
used before a date or an age).

-o json prints a flat array of token objects with a "user" field, streamed
page by page like -o csv; --jq and --template work on that array.`,
		Example: `  tokenctl admin token list --expiring-within 7d
  tokenctl admin token list --unused-since 90d -o csv
  tokenctl admin token list --user alice --jq '.[].name'`,
		Args: cmdutil.MaxArgs(0, "tokenctl admin token list [flags]"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return tokenListRun(cmd.Context(), opts)
		},
	}
	opts.Filters.add(cmd)
	output.AddFlags(cmd, &opts.Export, output.FormatTable, []string{output.FormatTable, output.FormatJSON, output.FormatYAML, output.FormatCSV}, true)
	return cmd
}

func tokenListRun(ctx context.Context, opts *TokenListOptions) error {
	if err := opts.Export.Validate(); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	now := opts.Now()
	if err := opts.Filters.validate(now); err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ios := opts.IO
	n, err := output.List(ios.Out, ios, &opts.Export, c.AdminListTokens(ctx, opts.Filters.query), tokenListing(now))
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(ios.ErrOut, "No tokens match.")
	}
	return nil
}

func tokenListing(now time.Time) output.Listing[api.AdminToken] {
	return output.Listing[api.AdminToken]{
		Header: []string{"ID", "USER", "NAME", "KEY", "EXPIRES", "LAST USED"},
		Row: func(t api.AdminToken) (output.Style, []string) {
			st := output.StylePlain
			if t.Status == api.StatusExpired {
				st = output.StyleDim
			}
			used := "never"
			if t.LastUsedAt != nil {
				used = timespec.Stamp(*t.LastUsedAt, now, false)
			}
			return st, []string{t.ID, t.User, t.Name, t.KeyHint, timespec.Stamp(t.ExpiresAt, now, true), used}
		},
		// On a terminal, long names go first, then the name is cut.
		Fit: func(tbl *output.Table, width int) {
			tbl.Fit(width, "NAME", 10, output.Cut("NAME", 40), output.Cut("USER", 16))
		},
		CSVHeader: TokenCSVHeader,
		CSVRecord: func(t api.AdminToken) []string {
			used := ""
			if t.LastUsedAt != nil {
				used = t.LastUsedAt.UTC().Format(time.RFC3339)
			}
			return []string{t.ID, t.User, t.Name, t.KeyHint, t.CreatedAt.UTC().Format(time.RFC3339),
				t.ExpiresAt.UTC().Format(time.RFC3339), used, t.Status, strings.Join(t.Scopes, " ")}
		},
		Wrap: func(err error) error { return fmt.Errorf("list tokens: %w", err) },
	}
}

// TokenShowOptions are the inputs of `admin token show`.
type TokenShowOptions struct {
	IO     *iostreams.IOStreams
	Client func() (*client.Client, error)
	Now    func() time.Time
	ID     string
	Export output.Exporter
}

// NewCmdTokenShow builds `admin token show ID`.
func NewCmdTokenShow(f *cmdutil.Factory, runF func(*TokenShowOptions) error) *cobra.Command {
	opts := &TokenShowOptions{IO: f.IOStreams, Client: f.Client, Now: now(f)}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show any user's token",
		Long: `Show one token of any user with its owner: name, key hint, expiry, last
use and scopes. -o json prints the token object with a "user" field.`,
		Example: `  tokenctl admin token show 01jd5x3k9q8w7e6r5t4y3z2a1b -o json`,
		Args:    cmdutil.ExactArgs(1, "tokenctl admin token show ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = strings.ToLower(strings.TrimSpace(args[0]))
			if runF != nil {
				return runF(opts)
			}
			return tokenShowRun(cmd.Context(), opts)
		},
	}
	output.AddFlags(cmd, &opts.Export, output.FormatTable, []string{output.FormatTable, output.FormatJSON, output.FormatYAML}, true)
	return cmd
}

func tokenShowRun(ctx context.Context, opts *TokenShowOptions) error {
	if err := opts.Export.Validate(); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	if !api.ValidID(opts.ID) {
		return cmdutil.UsageErrorf("%q is not a token id (26 letters and digits, from tokenctl admin token list)", opts.ID)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	t, err := c.AdminGetToken(ctx, opts.ID)
	if err != nil {
		return fmt.Errorf("show token: %w", err)
	}
	if opts.Export.Structured() {
		return opts.Export.Write(opts.IO.Out, t, opts.IO.IsStdoutTTY())
	}
	one := func(yield func(api.AdminToken, error) bool) { yield(*t, nil) }
	_, err = output.List(opts.IO.Out, opts.IO, &opts.Export, one, tokenListing(opts.Now()))
	return err
}

// TokenDeleteOptions are the inputs of `admin token delete`.
type TokenDeleteOptions struct {
	IO      *iostreams.IOStreams
	Client  func() (*client.Client, error)
	Now     func() time.Time
	IDs     []string
	Filters Filters
	All     bool
	DryRun  bool
	Yes     bool

	fromStdin bool
}

// NewCmdTokenDelete builds `admin token delete`.
func NewCmdTokenDelete(f *cmdutil.Factory, runF func(*TokenDeleteOptions) error) *cobra.Command {
	opts := &TokenDeleteOptions{IO: f.IOStreams, Client: f.Client, Now: now(f)}
	cmd := &cobra.Command{
		Use:     "delete [ID... | -]",
		Aliases: []string{"rm", "revoke"},
		Short:   "Revoke any users' tokens, by id or by filter",
		Long: `Revoke tokens across users: the ids given (or read from stdin with -), or
every token the filters select (the filters of admin token list, plus
--expired). --all with no filter selects every token of every user (of
--user's, with it).

It shows what it will revoke and asks; without a terminal it needs --yes,
or --dry-run to only list the selection. Tokens go in batches of 1000,
each in its owner's audit trail with you as the actor; a summary follows.
Exit 3 when some could not be revoked.`,
		Example: `  tokenctl admin token delete --unused-since 90d --dry-run
  tokenctl admin token delete --user alice --all --yes
  tokenctl admin token list --expiring-within 1d --jq '.[].id' | tokenctl admin token delete - --yes`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IDs = args
			if runF != nil {
				return runF(opts)
			}
			return tokenDeleteRun(cmd.Context(), opts)
		},
	}
	opts.Filters.add(cmd)
	cmd.Flags().BoolVar(&opts.Filters.Expired, "expired", false, "only expired tokens")
	cmd.Flags().BoolVar(&opts.All, "all", false, "with no filter, every token (of --user's, with it)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list what would be revoked; revoke nothing")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "revoke without asking")
	return cmd
}

func (o *TokenDeleteOptions) validate() error {
	if len(o.IDs) == 1 && o.IDs[0] == "-" {
		o.fromStdin = true
		o.IDs = nil
	}
	if (len(o.IDs) > 0 || o.fromStdin) && (o.Filters.any() || o.All) {
		return cmdutil.UsageErrorf("give token ids or filters, not both")
	}
	for _, id := range o.IDs {
		if !api.ValidID(strings.ToLower(id)) {
			return cmdutil.UsageErrorf("%q is not a token id (26 letters and digits, from tokenctl admin token list)", id)
		}
	}
	if len(o.IDs) == 0 && !o.fromStdin && !o.Filters.any() && !o.All {
		return cmdutil.UsageErrorf("say which tokens: ids, - for stdin, filters (--user, --expired, --expiring-within, --unused-since, --name, --scope), or --all")
	}
	if o.Filters.any() && !o.All && o.Filters.User != "" && o.Filters.Status == "" && o.Filters.Name == "" && len(o.Filters.Scopes) == 0 &&
		o.Filters.ExpiringWithin == "" && o.Filters.UnusedSince == "" && !o.Filters.Expired {
		return cmdutil.UsageErrorf("--user alone would revoke every token of %s: add --all to mean that", o.Filters.User)
	}
	return o.Filters.validate(o.Now())
}

func tokenDeleteRun(ctx context.Context, opts *TokenDeleteOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	var targets []api.AdminToken
	switch {
	case opts.fromStdin:
		ids, err := readIDs(opts.IO.In)
		if err != nil {
			return err
		}
		for _, id := range ids {
			targets = append(targets, api.AdminToken{Token: api.Token{ID: id}})
		}
	case len(opts.IDs) > 0:
		for _, id := range slices.Compact(slices.Sorted(slices.Values(opts.IDs))) {
			targets = append(targets, api.AdminToken{Token: api.Token{ID: strings.ToLower(id)}})
		}
	default:
		// A selection by filter spares the credential doing the revoking
		// (as token delete does), so the later batches still go through;
		// name its id to revoke it.
		current := ""
		if u, err := c.User(ctx); err == nil && u.Token != nil {
			current = u.Token.ID
		}
		spared := false
		for t, err := range c.AdminListTokens(ctx, opts.Filters.query) {
			if err != nil {
				return fmt.Errorf("list tokens: %w", err)
			}
			if t.ID == current {
				spared = true
				continue
			}
			targets = append(targets, t)
		}
		if spared {
			fmt.Fprintln(opts.IO.ErrOut, "Sparing the token this command runs with; name its id to revoke it.")
		}
	}
	ios := opts.IO
	if len(targets) == 0 {
		fmt.Fprintln(ios.ErrOut, "No tokens match; nothing to revoke.")
		return nil
	}
	if opts.DryRun {
		for _, t := range targets {
			fmt.Fprintf(ios.Out, "%s\t%s\t%s\n", t.ID, t.User, t.Name)
		}
		fmt.Fprintf(ios.ErrOut, "Would revoke %s (dry run: nothing revoked).\n", plural(len(targets), "token", "tokens"))
		return nil
	}
	if err := opts.confirm(ctx, targets); err != nil {
		return err
	}
	var deleted, gone, failed int
	var firstErr error
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.ID
	}
	var bar *progressbar.ProgressBar
	if ios.IsStderrTTY() {
		bar = progressbar.NewOptions(len(ids),
			progressbar.OptionSetWriter(ios.ErrOut),
			progressbar.OptionSetDescription("Revoking"),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
		_ = bar.RenderBlank()
	}
	for batch := range slices.Chunk(ids, api.MaxBulkDelete) {
		res, err := c.AdminDeleteTokens(ctx, batch)
		if bar != nil {
			_ = bar.Add(len(batch))
		}
		if err != nil {
			failed += len(batch)
			if firstErr == nil {
				firstErr = err
			}
			var ae *client.APIError
			if errors.As(err, &ae) && (ae.Status == 401 || ae.Status == 403) || ctx.Err() != nil {
				failed = len(ids) - deleted - gone
				break
			}
			continue
		}
		deleted += len(res.Deleted)
		gone += len(res.NotFound)
	}
	if bar != nil {
		_ = bar.Finish()
	}
	if firstErr != nil && deleted == 0 && gone == 0 {
		return fmt.Errorf("revoke tokens: %w", firstErr)
	}
	fmt.Fprintf(ios.ErrOut, "Revoked %s; already gone %d; failed %d.\n", plural(deleted, "token", "tokens"), gone, failed)
	if failed > 0 {
		fmt.Fprintf(ios.ErrOut, "tokenctl: revoke tokens: %s\n", firstErr)
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitPartial}
	}
	if gone > 0 {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitPartial}
	}
	return nil
}

// confirmThreshold: more tokens than this are confirmed by typing the count.
const confirmThreshold = 10

func (o *TokenDeleteOptions) confirm(ctx context.Context, targets []api.AdminToken) error {
	n := len(targets)
	w := o.IO.ErrOut
	if o.Yes {
		fmt.Fprintf(w, "Revoking %s\n", plural(n, "token", "tokens"))
		return nil
	}
	if !o.IO.CanPrompt() || o.fromStdin {
		return cmdutil.UsageErrorf("refusing to revoke %s without confirmation: pass --yes to revoke them or --dry-run to list them", plural(n, "token", "tokens"))
	}
	fmt.Fprintf(w, "About to revoke %s:\n", plural(n, "token", "tokens"))
	rows := max(o.IO.TerminalHeight()-5, 3)
	tbl := output.NewTable("ID", "USER", "NAME")
	for i, t := range targets {
		if i == rows {
			break
		}
		tbl.AddRow(output.StylePlain, t.ID, t.User, t.Name)
	}
	_ = tbl.Render(w, false)
	if n > rows {
		fmt.Fprintf(w, "… and %d more\n", n-rows)
	}
	question, want := "Revoke them? [y/N] ", []string{"y", "yes"}
	if n > confirmThreshold || o.All {
		question, want = fmt.Sprintf("Type %d to revoke them: ", n), []string{strconv.Itoa(n)}
	}
	answer, err := o.IO.Prompt(ctx, question)
	if errors.Is(err, iostreams.ErrInterrupted) {
		return err
	}
	if !slices.Contains(want, strings.ToLower(answer)) {
		return errors.New("not confirmed: nothing was revoked")
	}
	return nil
}

// readIDs reads token ids, one a line (blank lines and # comments skipped).
func readIDs(r interface{ Read([]byte) (int, error) }) ([]string, error) {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if b.Len() > 64<<20 {
			return nil, cmdutil.UsageErrorf("stdin holds more than 64 MiB of ids")
		}
		if err != nil {
			break
		}
	}
	var ids []string
	for i, line := range strings.Split(b.String(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id := strings.ToLower(strings.Fields(line)[0])
		if !api.ValidID(id) {
			return nil, cmdutil.UsageErrorf("stdin line %d: %q is not a token id", i+1, line)
		}
		ids = append(ids, id)
	}
	return slices.Compact(slices.Sorted(slices.Values(ids))), nil
}

// TokenCreateOptions are the inputs of `admin token create --for`.
type TokenCreateOptions struct {
	IO        *iostreams.IOStreams
	Client    func() (*client.Client, error)
	Name      string
	For       string
	Desc      string
	ExpiresIn string
	Scopes    []string
	Quiet     bool
	Export    output.Exporter
}

// NewCmdTokenCreate builds `admin token create NAME --for SERVICE_ACCOUNT`.
func NewCmdTokenCreate(f *cmdutil.Factory, runF func(*TokenCreateOptions) error) *cobra.Command {
	opts := &TokenCreateOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "create NAME --for SERVICE_ACCOUNT",
		Short: "Mint a token for a service account",
		Long: `Mint a token for a service account, "on behalf of" it: the token belongs to
the account, is bounded by the account's power (not by your token), and is
recorded in the account's audit trail with you as the actor, so it keeps
working whoever leaves. Only service accounts: people make their own.

The secret is printed once: -q prints it bare, for a script to store.`,
		Example: `  tokenctl admin token create jenkins-deploy --for jenkins --scope deploy:write --expires-in 90d
  tokenctl admin token create ci --for jenkins -q > jenkins.token`,
		Args: cmdutil.ExactArgs(1, "tokenctl admin token create NAME --for SERVICE_ACCOUNT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return tokenCreateRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.For, "for", "", "the service `ACCOUNT` the token belongs to (required)")
	fl.StringVarP(&opts.Desc, "description", "d", "", "what the token is for")
	fl.StringVar(&opts.ExpiresIn, "expires-in", "", "lifetime, such as 90d (default: the server's)")
	fl.StringArrayVar(&opts.Scopes, "scope", nil, "a `SCOPE` the token carries (repeatable; default: all the account's)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print only the secret")
	output.AddFlags(cmd, &opts.Export, output.FormatTable, []string{output.FormatTable, output.FormatJSON, output.FormatYAML}, false)
	return cmd
}

func tokenCreateRun(ctx context.Context, opts *TokenCreateOptions) error {
	if err := opts.Export.Validate(); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	if opts.For == "" {
		return cmdutil.UsageErrorf("--for is required: name the service account the token is for")
	}
	if err := api.ValidUsername(opts.For); err != nil {
		return cmdutil.UsageErrorf("--for: %s", err)
	}
	req := api.CreateTokenRequest{Name: opts.Name, Description: opts.Desc}
	if opts.ExpiresIn != "" {
		d, err := timespec.ParseDuration(opts.ExpiresIn)
		if err != nil {
			return cmdutil.UsageErrorf("--expires-in: %s", err)
		}
		req.ExpiresInSeconds = client.ExpiresIn(d)
	}
	if opts.Scopes != nil {
		req.Scopes = splitScopes(opts.Scopes)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ct, err := c.AdminCreateToken(ctx, opts.For, req, "")
	if err != nil {
		return fmt.Errorf("create token for %s: %w", opts.For, err)
	}
	if opts.Quiet {
		fmt.Fprintln(opts.IO.Out, ct.Secret)
		return nil
	}
	if opts.Export.Structured() {
		return opts.Export.Write(opts.IO.Out, ct, opts.IO.IsStdoutTTY())
	}
	fmt.Fprintf(opts.IO.Out, "%s\n", ct.Secret)
	fmt.Fprintf(opts.IO.ErrOut, "Created token %s (%s) for %s, expires %s. The secret above is shown once: store it now.\n",
		ct.Name, ct.ID, opts.For, ct.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}

// splitScopes accepts repeated flags and comma-separated lists.
func splitScopes(flags []string) []string {
	out := []string{}
	for _, f := range flags {
		for _, s := range strings.Split(f, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
