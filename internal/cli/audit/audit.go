// Package audit holds `tokenctl audit`: the account's audit trail (tokens
// created, rotated, deleted, revoked as leaked; failed sign-ins), read from
// GET /v1/events.
package audit

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// Options are the inputs of `tokenctl audit`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (*client.Client, error)
	Now    func() time.Time

	Token  string // an id, or a name
	Since  string
	Until  string
	Types  []string
	Export output.Exporter

	// PageSize is how many events each request asks for.
	PageSize int

	tokenID, tokenName string
	since, until       time.Time
}

// Types are the event types, in the order --type's help lists them.
var Types = api.EventTypes

// CSVHeader is the header row of `audit -o csv`: the JSON fields, nested
// objects flattened with "_". New columns go at the end, so scripts that
// read columns by position keep working.
var CSVHeader = []string{"id", "time", "type", "token_id", "token_name", "token_key_hint",
	"actor_kind", "actor_token_id", "actor_token_name", "client_address", "client_user_agent", "source", "reason",
	"actor_trust_policy", "actor_claims_sub", "actor_user", "detail", "actor_provider"}

// NewCmdAudit builds `tokenctl audit`.
func NewCmdAudit(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client, Now: f.Now, PageSize: client.PageSize}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show what happened to your tokens and account",
		Long: `Show your account's audit trail, newest first: tokens created, rotated,
deleted and revoked as leaked, and failed sign-ins, with who did it (your
password, which token, a leak report, the server's operator) and from which
address. Events outlive the tokens they describe; the server keeps them for
its retention period (400 days by default).

--token takes a token id, or a name: a name matches every token that had it,
deleted ones included. --since and --until take a date (YYYY-MM-DD or RFC
3339) or an age (7d = 7 days ago). --type may be repeated.

The table is for people. -o json prints a flat array of event objects (see
docs/json-schema.md), streamed page by page like -o csv, so any number of
events lists in constant memory; --jq and --template work on that array.`,
		Example: `  tokenctl audit --since 7d
  tokenctl audit --token ci-deploy
  tokenctl audit --type auth.failed --type token.revoked_leaked -o json
  tokenctl audit --since 30d --jq '.[] | select(.actor.kind == "leak_report") | .source'`,
		Args: cmdutil.MaxArgs(0, "tokenctl audit [flags]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Token, "token", "", "only events about this token (`ID or NAME`)")
	AddFilterFlags(fl, &opts.Since, &opts.Until, &opts.Types)
	output.AddFlags(cmd, &opts.Export, output.FormatTable, []string{output.FormatTable, output.FormatJSON, output.FormatYAML, output.FormatCSV}, true)
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(Types, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (o *Options) validate() error {
	if err := o.Export.Validate(); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	var err error
	if o.since, o.until, err = ParseFilters(o.Since, o.Until, o.Types, o.Now()); err != nil {
		return err
	}
	if !o.since.IsZero() && !o.until.IsZero() && !o.since.Before(o.until) {
		return cmdutil.UsageErrorf("--since must be before --until")
	}
	o.Types = slices.Compact(slices.Sorted(slices.Values(o.Types)))
	if tok := strings.TrimSpace(o.Token); tok != "" {
		if id := strings.ToLower(tok); api.ValidID(id) {
			o.tokenID = id
		} else {
			o.tokenName = tok
		}
	}
	return nil
}

// AddFilterFlags adds --since, --until and --type, the filters tokenctl
// audit and tokenctl admin audit share.
func AddFilterFlags(fl *pflag.FlagSet, since, until *string, types *[]string) {
	fl.StringVar(since, "since", "", "only events at or after a `DATE` or an age (e.g. 7d)")
	fl.StringVar(until, "until", "", "only events before a `DATE` or an age")
	fl.StringArrayVar(types, "type", nil, "only events of this `TYPE` (repeatable): "+strings.Join(Types, ", "))
}

// ParseFilters checks the flags AddFilterFlags adds and returns the times
// --since and --until name (zero when not given). Every refusal is a usage
// error.
func ParseFilters(since, until string, types []string, now time.Time) (from, to time.Time, err error) {
	if since != "" {
		if from, err = timespec.ParsePoint(since, now, false); err != nil {
			return from, to, cmdutil.UsageErrorf("--since: %s", err)
		}
	}
	if until != "" {
		if to, err = timespec.ParsePoint(until, now, false); err != nil {
			return from, to, cmdutil.UsageErrorf("--until: %s", err)
		}
	}
	for _, t := range types {
		if !slices.Contains(Types, t) {
			return from, to, cmdutil.UsageErrorf("invalid --type %q: use %s", t, strings.Join(Types, ", "))
		}
	}
	return from, to, nil
}

// events streams the trail with the filters applied. A name filter is
// applied here, on the name each event recorded, so events of deleted
// tokens (which the token list no longer knows) are found too.
func (o *Options) events(ctx context.Context, c *client.Client) func(yield func(api.Event, error) bool) {
	q := client.EventQuery{TokenID: o.tokenID, Types: o.Types, Since: o.since, Until: o.until, PageSize: o.PageSize}
	return func(yield func(api.Event, error) bool) {
		for ev, err := range c.Events(ctx, q) {
			if err == nil && o.tokenName != "" && (ev.Token == nil || ev.Token.Name != o.tokenName) {
				continue
			}
			ev.Time = ev.Time.UTC().Truncate(time.Second)
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

func run(ctx context.Context, opts *Options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ios := opts.IO
	now := opts.Now()
	n, err := output.List(ios.Out, ios, &opts.Export, opts.events(ctx, c), output.Listing[api.Event]{
		Header: []string{"WHEN", "WHAT", "TOKEN", "BY", "FROM"},
		Row: func(ev api.Event) (output.Style, []string) {
			st := output.StylePlain
			if ev.Type == api.EventAuthFailed || ev.Type == api.EventTokenRevokedLeaked {
				st = output.StyleAlert
			}
			return st, tableRow(ev, now)
		},
		Fit: func(tbl *output.Table, width int) {
			// Narrower, step by step: long names, absolute times, key
			// hints, failure reasons, long actors; then names are cut.
			tbl.Fit(width, "TOKEN", 10,
				output.Cut("TOKEN", 40),
				output.Shorten("WHEN", relativePart),
				output.Shorten("TOKEN", beforeLastSpace),
				output.Shorten("WHAT", withoutReason),
				output.Cut("BY", 16),
			)
		},
		CSVHeader: CSVHeader,
		CSVRecord: csvRecord,
		Wrap:      listError,
	})
	if err != nil {
		return err
	}
	if n == 0 {
		if opts.Token != "" || len(opts.Types) > 0 || opts.Since != "" || opts.Until != "" {
			fmt.Fprintln(ios.ErrOut, "No events match the filters.")
		} else {
			fmt.Fprintln(ios.ErrOut, "No events yet.")
		}
	}
	return nil
}

// listError says what a 404 from /v1/events means: a server from before
// the audit trail.
func listError(err error) error {
	if client.IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("list events: %w; this server has no audit trail yet (tokend before issue 13): upgrade it", err)
	}
	return fmt.Errorf("list events: %w", err)
}

// relativePart turns "2026-12-23 15:04 UTC (3d ago)" into "3d ago".
func relativePart(s string) string {
	i := strings.LastIndex(s, " (")
	if i < 0 || !strings.HasSuffix(s, ")") {
		return s
	}
	return s[i+2 : len(s)-1]
}

// withoutReason drops the "(wrong password)" after an event type.
func withoutReason(s string) string {
	if i := strings.Index(s, " ("); i > 0 {
		return s[:i]
	}
	return s
}

// beforeLastSpace drops the key hint after a token's name (hints hold no
// space).
func beforeLastSpace(s string) string {
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}

func tableRow(ev api.Event, now time.Time) []string {
	what := ev.Type
	if ev.Reason != "" {
		what += " (" + ev.Reason + ")"
	}
	if ev.Detail != "" {
		what += " (" + ev.Detail + ")"
	}
	tok := "-"
	if ev.Token != nil {
		tok = ev.Token.Name + " " + ev.Token.KeyHint
	}
	return []string{timespec.Stamp(ev.Time, now, false), what, tok, actor(ev), ev.Client.Address}
}

// actor says who did it, for people: an admin acting on your account by
// name first.
func actor(ev api.Event) string {
	if ev.Actor.User != "" {
		return "admin " + ev.Actor.User
	}
	switch ev.Actor.Kind {
	case api.ActorToken:
		if ev.Actor.TokenName != "" {
			return "token " + ev.Actor.TokenName
		}
		return "token " + ev.Actor.TokenID
	case api.ActorOIDC:
		// The policy that let the CI identity in, and who that was.
		who := "oidc " + ev.Actor.TrustPolicy
		if sub := ev.Actor.Claims["sub"]; sub != "" {
			who += " (" + sub + ")"
		}
		return who
	case api.ActorLeakReport:
		if ev.Source != "" {
			return "leak report: " + ev.Source
		}
		return "leak report"
	case "":
		return "-"
	}
	return ev.Actor.Kind
}

func csvRecord(ev api.Event) []string {
	var id, name, hint string
	if ev.Token != nil {
		id, name, hint = ev.Token.ID, ev.Token.Name, ev.Token.KeyHint
	}
	return []string{ev.ID, ev.Time.UTC().Format(time.RFC3339), ev.Type, id, name, hint,
		ev.Actor.Kind, ev.Actor.TokenID, ev.Actor.TokenName, ev.Client.Address, ev.Client.UserAgent, ev.Source, ev.Reason,
		ev.Actor.TrustPolicy, ev.Actor.Claims["sub"], ev.Actor.User, ev.Detail, ev.Actor.Provider}
}
