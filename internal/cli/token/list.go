package token

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// ListOptions are the inputs of `token list`.
type ListOptions struct {
	IO     *iostreams.IOStreams
	Client func() (*client.Client, error)
	Now    func() time.Time

	Status         string
	Name           string
	Scopes         []string
	ExpiringWithin string
	UnusedSince    string
	ExpiresBefore  string
	Export         output.Exporter

	// PageSize is how many tokens each request asks for.
	PageSize int

	within      time.Duration
	unusedSince time.Time
	expBefore   time.Time
	current     string // id of the token tokenctl is logged in with
}

// listItem is a token as `token list` prints it: the token object plus
// whether it is the credential tokenctl is logged in with.
type listItem struct {
	api.Token
	Current bool `json:"current"`
}

// CSVHeader is the header row of `token list -o csv`; the columns are the
// JSON fields in the same order.
// scopes is space-separated in CSV; current stays the last column.
var CSVHeader = []string{"id", "name", "description", "key_hint", "created_at", "expires_at", "last_used_at", "status", "scopes", "current"}

// NewCmdList builds `token list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Client: f.Client, Now: now(f), PageSize: client.PageSize}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List your tokens",
		Long: `List your tokens, newest first: id, name, key hint, creation date, expiry, last
use and scopes. Expired tokens are shown in red on a terminal, and the table
fits the terminal's width: names longer than 40 columns are cut with "…",
SCOPES goes, then CREATED, EXPIRES shows only the time left, LAST USED and KEY
go, and only then are names cut further.
Piped, the table keeps every column and whole names.

--status, --name and --scope are applied by the server (--scope keeps tokens
that carry every scope given); --expiring-within keeps active tokens that
expire within the given time; --unused-since keeps tokens never used, or last
used before a date or an age (90d = 90 days ago); --expires-before keeps
tokens (expired ones too) whose expiry is before a date or a time from now
(7d = 7 days from now).

The token tokenctl is logged in with is marked: "*" before its name in the
table, "current": true in JSON (false on every other token).

-o json prints a flat array of token objects (see docs/json-schema.md); it is
streamed page by page, so any number of tokens lists in constant memory, as
does -o csv. The table, -o yaml, --jq and --template hold the whole list.
--jq and --template work on the JSON array; --jq prints string results raw,
one a line. With nothing to list, a note goes to stderr and stdout stays
empty (or "[]" for -o json).`,
		Example: `  tokenctl token list
  tokenctl token list --status expired
  tokenctl token list --name 'ci-*' -o json
  tokenctl token list --scope tokens:write
  tokenctl token list --expiring-within 7d --jq '.[].name'
  tokenctl token list --unused-since 90d
  tokenctl token list --template '{{range .}}{{.id}} {{.name}}{{"\n"}}{{end}}'`,
		Args: maxArgs(0, "tokenctl token list [flags]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Status, "status", api.StatusAll, "show tokens in this `STATUS`: active, expired or all")
	cmd.Flags().StringVar(&opts.Name, "name", "", "only names matching a `GLOB` (* and ?)")
	addScopeFlag(cmd, f, &opts.Scopes, "only tokens that carry `SCOPE` (repeatable, or a,b: all of them)")
	cmd.Flags().StringVar(&opts.ExpiringWithin, "expiring-within", "", "only active tokens expiring within this `DURATION` (e.g. 7d)")
	cmd.Flags().StringVar(&opts.ExpiresBefore, "expires-before", "", "only tokens expiring before a `DATE` or a time from now (e.g. 7d), expired ones included")
	cmd.Flags().StringVar(&opts.UnusedSince, "unused-since", "", "only tokens never used or last used before a `DATE` or an age (e.g. 90d)")
	output.AddFlags(cmd, &opts.Export, output.FormatTable, []string{output.FormatTable, output.FormatJSON, output.FormatYAML, output.FormatCSV}, true)
	_ = cmd.RegisterFlagCompletionFunc("name", completeTokenNames(f))
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{api.StatusActive, api.StatusExpired, api.StatusAll}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (o *ListOptions) validate() error {
	if err := o.Export.Validate(); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	switch o.Status {
	case api.StatusActive, api.StatusExpired, api.StatusAll:
	case "":
		o.Status = api.StatusAll
	default:
		return cmdutil.UsageErrorf("invalid --status %q: use active, expired or all", o.Status)
	}
	if err := checkGlob("--name", o.Name); err != nil {
		return err
	}
	sc, err := cleanScopes(o.Scopes)
	if err != nil {
		return err
	}
	o.Scopes = sc
	if o.ExpiringWithin != "" {
		d, err := timespec.ParseDuration(o.ExpiringWithin)
		if err != nil {
			return cmdutil.UsageErrorf("--expiring-within: %s", err)
		}
		if o.Status == api.StatusExpired {
			return cmdutil.UsageErrorf("--expiring-within selects active tokens and cannot be combined with --status expired")
		}
		o.within = d
		o.Status = api.StatusActive
	}
	if o.unusedSince, err = pointFlag("--unused-since", o.UnusedSince, o.Now(), false); err != nil {
		return err
	}
	if o.expBefore, err = pointFlag("--expires-before", o.ExpiresBefore, o.Now(), true); err != nil {
		return err
	}
	return nil
}

// pointFlag parses a date flag that also takes an age (or, forward, a time
// from now); an empty value is the zero time (no filter).
func pointFlag(flag, value string, now time.Time, forward bool) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	t, err := timespec.ParsePoint(value, now, forward)
	if err != nil {
		return time.Time{}, cmdutil.UsageErrorf("%s: %s", flag, err)
	}
	return t, nil
}

// unusedBefore reports whether t was never used or last used before cut;
// a zero cut keeps every token.
func unusedBefore(t api.Token, cut time.Time) bool {
	return cut.IsZero() || t.LastUsedAt == nil || t.LastUsedAt.Before(cut)
}

// checkGlob rejects a pattern path.Match cannot read, so the server is not
// asked a question it will refuse anyway.
func checkGlob(flag, g string) error {
	if _, err := path.Match(g, ""); err != nil {
		return cmdutil.UsageErrorf("invalid %s pattern %q: use * for any run of characters and ? for one", flag, g)
	}
	return nil
}

// tokens streams the listing with the client-side filters applied.
func (o *ListOptions) tokens(ctx context.Context, c *client.Client) func(yield func(listItem, error) bool) {
	now := o.Now()
	deadline := now.Add(o.within)
	return func(yield func(listItem, error) bool) {
		q := client.ListQuery{Status: o.Status, Name: o.Name, Scopes: o.Scopes, PageSize: o.PageSize, UnusedSince: o.unusedSince}
		for t, err := range c.ListTokens(ctx, q) {
			if err == nil && o.within > 0 && (!t.ExpiresAt.After(now) || !t.ExpiresAt.Before(deadline)) {
				continue
			}
			if err == nil && (!unusedBefore(t, o.unusedSince) || !o.expBefore.IsZero() && !t.ExpiresAt.Before(o.expBefore)) {
				continue
			}
			if !yield(listItem{Token: utc(t), Current: err == nil && t.ID == o.current}, err) || err != nil {
				return
			}
		}
	}
}

func listRun(ctx context.Context, opts *ListOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	// The marker is a courtesy: only errors the listing would meet too
	// (a rejected credential, an interrupt) stop it.
	if opts.current, err = currentTokenID(ctx, c); err != nil && isAuthOrCancel(err) {
		return listTokensError(err)
	}
	ios := opts.IO
	now := opts.Now()
	n, err := output.List(ios.Out, ios, &opts.Export, opts.tokens(ctx, c), output.Listing[listItem]{
		Header: []string{"ID", "NAME", "KEY", "CREATED", "EXPIRES", "LAST USED", "SCOPES"},
		Row: func(t listItem) (output.Style, []string) {
			st := output.StylePlain
			if !t.ExpiresAt.After(now) {
				st = output.StyleAlert
			}
			row := tableRow(t.Token, now)
			if t.Current {
				row[1] = "* " + row[1]
			}
			return st, row
		},
		Fit:       fitTable,
		CSVHeader: CSVHeader,
		CSVRecord: csvRecord,
		Wrap:      listTokensError,
	})
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(ios.ErrOut, emptyMessage(opts))
	}
	return nil
}

func emptyMessage(o *ListOptions) string {
	if o.Name != "" || len(o.Scopes) > 0 || o.within > 0 || o.Status != api.StatusAll || !o.unusedSince.IsZero() || !o.expBefore.IsZero() {
		return "No tokens match the filters."
	}
	return "You have no tokens. Create one with: tokenctl token create NAME"
}

// Names are cut to fit a terminal: first to nameWidth, and only when
// dropping columns was not enough, down to minNameWidth.
const (
	nameWidth    = 40
	minNameWidth = 10
)

// fitTable narrows the list table to a terminal of the given width: long
// names are cut to 40 columns, SCOPES goes (a long list would cost every
// other column; `token show` and --scope have them), CREATED goes (the id
// already encodes it and `token show` has it), EXPIRES keeps only its
// relative part, LAST USED and KEY go, and only then are names cut
// further. ID and NAME always stay.
func fitTable(tbl *output.Table, width int) {
	tbl.Fit(width, "NAME", minNameWidth,
		output.Cut("NAME", nameWidth),
		output.Drop("SCOPES"),
		output.Drop("CREATED"),
		output.Shorten("EXPIRES", relativePart),
		output.Drop("LAST USED"),
		output.Drop("KEY"),
	)
}

// relativePart turns "2026-12-23 15:04 UTC (in 30d)" into "in 30d".
func relativePart(s string) string {
	i := strings.LastIndex(s, " (")
	if i < 0 || !strings.HasSuffix(s, ")") {
		return s
	}
	return s[i+2 : len(s)-1]
}

func tableRow(t api.Token, now time.Time) []string {
	lastUsed := "never"
	if t.LastUsedAt != nil {
		lastUsed = usedAgo(*t.LastUsedAt, now)
	}
	return []string{
		t.ID,
		t.Name,
		t.KeyHint,
		timespec.Date(t.CreatedAt),
		timespec.Stamp(t.ExpiresAt, now, true),
		lastUsed,
		scopeList(t.Scopes),
	}
}

func csvRecord(t listItem) []string {
	lastUsed := ""
	if t.LastUsedAt != nil {
		lastUsed = t.LastUsedAt.UTC().Format(time.RFC3339)
	}
	return []string{
		t.ID, t.Name, t.Description, t.KeyHint,
		t.CreatedAt.UTC().Format(time.RFC3339),
		t.ExpiresAt.UTC().Format(time.RFC3339),
		lastUsed, t.Status,
		strings.Join(t.Scopes, " "),
		strconv.FormatBool(t.Current),
	}
}

// utc normalises a token's times to whole seconds in UTC, as the JSON
// schema promises ("2026-11-23T15:04:05Z"), whatever offset or precision
// the server wrote them with. Scopes is never null.
func utc(t api.Token) api.Token {
	if t.Scopes == nil {
		t.Scopes = []string{} // always an array in JSON, never null
	}
	t.CreatedAt = t.CreatedAt.UTC().Truncate(time.Second)
	t.ExpiresAt = t.ExpiresAt.UTC().Truncate(time.Second)
	if t.LastUsedAt != nil {
		u := t.LastUsedAt.UTC().Truncate(time.Second)
		t.LastUsedAt = &u
	}
	return t
}

// usedAgo is "3h ago", or "just now" within the minute (last_used_at is
// only updated once a minute, so seconds would be false precision).
func usedAgo(t, now time.Time) string {
	if d := now.Sub(t); d < time.Minute && d > -time.Minute {
		return "just now"
	}
	return timespec.Relative(t, now, false)
}

func listTokensError(err error) error { return fmt.Errorf("list tokens: %w", err) }
