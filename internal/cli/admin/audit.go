package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/audit"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// AuditOptions are the inputs of `admin audit`.
type AuditOptions struct {
	IO     *iostreams.IOStreams
	Client func() (*client.Client, error)
	Now    func() time.Time
	User   string
	Since  string
	Until  string
	Types  []string
	Export output.Exporter
}

// AuditCSVHeader is the header of `admin audit -o csv`.
// reason and actor_provider came later, so they are last; user is empty
// for an event in no user's trail (a failed SSO sign-in of someone with no
// account, a provider error).
var AuditCSVHeader = []string{"id", "time", "user", "type", "token_id", "token_name", "actor_kind", "actor_user", "detail", "client_address",
	"reason", "actor_provider"}

// NewCmdAudit builds `admin audit`.
func NewCmdAudit(f *cmdutil.Factory, runF func(*AuditOptions) error) *cobra.Command {
	opts := &AuditOptions{IO: f.IOStreams, Client: f.Client, Now: now(f)}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show everyone's audit trail",
		Long: `Show every user's audit trail, newest first: what tokenctl audit shows a
user, for everyone, with whose trail each event is in (USER) and which
admin acted (BY). --since and --until take a date or an age (7d).`,
		Example: `  tokenctl admin audit --since 7d
  tokenctl admin audit --user alice --type user.disabled -o json`,
		Args: cmdutil.MaxArgs(0, "tokenctl admin audit [flags]"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return auditRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.User, "user", "", "only this `USER`'s trail")
	audit.AddFilterFlags(fl, &opts.Since, &opts.Until, &opts.Types)
	output.AddFlags(cmd, &opts.Export, output.FormatTable, []string{output.FormatTable, output.FormatJSON, output.FormatYAML, output.FormatCSV}, true)
	return cmd
}

func auditRun(ctx context.Context, o *AuditOptions) error {
	if err := o.Export.Validate(); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	now := o.Now()
	q := client.AdminEventQuery{User: o.User}
	q.PageSize = client.PageSize
	var err error
	if q.Since, q.Until, err = audit.ParseFilters(o.Since, o.Until, o.Types, now); err != nil {
		return err
	}
	q.Types = o.Types
	c, err := o.Client()
	if err != nil {
		return err
	}
	n, err := output.List(o.IO.Out, o.IO, &o.Export, c.AdminEvents(ctx, q), output.Listing[api.Event]{
		Header: []string{"WHEN", "USER", "WHAT", "TOKEN", "BY"},
		Row: func(ev api.Event) (output.Style, []string) {
			what := ev.Type
			if why := strings.Join(slices.DeleteFunc([]string{ev.Reason, ev.Detail}, func(s string) bool { return s == "" }), ": "); why != "" {
				what += " (" + why + ")"
			}
			tok := ""
			if ev.Token != nil {
				tok = ev.Token.Name
			}
			by := ev.Actor.Kind
			switch {
			case ev.Actor.User != "":
				by = ev.Actor.User
			case ev.Actor.Provider != "":
				by += " " + ev.Actor.Provider
			}
			user := ev.User
			if user == "" {
				user = "-" // in no user's trail
			}
			return output.StylePlain, []string{timespec.Stamp(ev.Time, now, false), user, what, tok, by}
		},
		CSVHeader: AuditCSVHeader,
		CSVRecord: func(ev api.Event) []string {
			var id, name string
			if ev.Token != nil {
				id, name = ev.Token.ID, ev.Token.Name
			}
			return []string{ev.ID, ev.Time.UTC().Format(time.RFC3339), ev.User, ev.Type, id, name, ev.Actor.Kind, ev.Actor.User, ev.Detail, ev.Client.Address,
				ev.Reason, ev.Actor.Provider}
		},
		Wrap: func(err error) error { return fmt.Errorf("list events: %w", err) },
	})
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(o.IO.ErrOut, "No events match.")
	}
	return nil
}
