package token

import (
	"context"
	"fmt"
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

// ShowOptions are the inputs of `token show`.
type ShowOptions struct {
	IO     *iostreams.IOStreams
	Client func() (*client.Client, error)
	Now    func() time.Time

	ID     string // an id or a name, as given
	Export output.Exporter
}

// NewCmdShow builds `token show`.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, Client: f.Client, Now: now(f)}
	cmd := &cobra.Command{
		Use:     "show ID|NAME",
		Aliases: []string{"view", "get"},
		Short:   "Show one token's details",
		Long: `Show one token's metadata: name, description, key hint, scopes, status,
creation, expiry and last use. The secret is never shown again after create or rotate.

The token is given by its id or by its exact name; a name that several
tokens share is refused (exit 2) with their ids.

-o json prints the same object as one element of ` + "`token list -o json`" + `.`,
		Example: `  tokenctl token show 01jd8k2m4n5p6q7r8s9t0v1w2x
  tokenctl token show deploy-key
  tokenctl token show deploy-key --jq .expires_at`,
		Args:              exactArgs(1, "tokenctl token show ID|NAME"),
		ValidArgsFunction: completeTokenIDs(f, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(opts)
			}
			return showRun(cmd.Context(), opts)
		},
	}
	output.AddFlags(cmd, &opts.Export, output.FormatText, []string{output.FormatText, output.FormatJSON, output.FormatYAML}, true)
	return cmd
}

func showRun(ctx context.Context, opts *ShowOptions) error {
	if err := opts.Export.Validate(); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	r, err := parseRef(opts.ID)
	if err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	id, t, err := r.resolve(ctx, c)
	if err != nil {
		return err
	}
	if t == nil {
		if t, err = c.GetToken(ctx, id); err != nil {
			if client.IsStatus(err, 404) {
				return fmt.Errorf("no token with id %s: see `tokenctl token list`", id)
			}
			return fmt.Errorf("show token %s: %w", id, err)
		}
	}
	tok := utc(*t)
	if opts.Export.Kind() != output.KindDefault {
		return opts.Export.Write(opts.IO.Out, tok, opts.IO.IsStdoutTTY())
	}
	return printTokenBlock(opts.IO, tok, opts.Now())
}

func printTokenBlock(ios *iostreams.IOStreams, t api.Token, now time.Time) error {
	color := ios.ColorEnabled()
	status := t.Status
	if status == "" {
		status = api.StatusActive
		if !t.ExpiresAt.After(now) {
			status = api.StatusExpired
		}
	}
	if status == api.StatusExpired {
		status = output.Colorize(color, output.StyleAlert, status)
	} else {
		status = output.Colorize(color, output.StyleGood, status)
	}
	lastUsed := "never"
	if t.LastUsedAt != nil {
		lastUsed = timespec.Date(*t.LastUsedAt) + " (" + usedAgo(*t.LastUsedAt, now) + ")"
	}
	desc := t.Description
	if desc == "" {
		desc = "-"
	}
	var b strings.Builder
	// Pad before colouring: the escape codes take no columns on screen,
	// so padding a coloured label would leave the values misaligned.
	row := func(k, v string) {
		fmt.Fprintf(&b, "%s %s\n", output.Colorize(color, output.StyleBold, fmt.Sprintf("%-12s", k+":")), v)
	}
	row("ID", t.ID)
	row("Name", output.Sanitize(t.Name))
	row("Description", output.Sanitize(desc))
	row("Key", t.KeyHint)
	row("Scopes", output.Sanitize(scopeList(t.Scopes)))
	row("Status", status)
	row("Created", timespec.Stamp(t.CreatedAt, now, false))
	row("Expires", timespec.Stamp(t.ExpiresAt, now, true))
	row("Last used", lastUsed)
	_, err := fmt.Fprint(ios.Out, b.String())
	return err
}

// The argument checks every command shares (exit 2, with the usage line).
var (
	exactArgs = cmdutil.ExactArgs
	maxArgs   = cmdutil.MaxArgs
)
