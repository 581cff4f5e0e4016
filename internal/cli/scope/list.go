package scope

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
)

// ListOptions are the inputs of `scope list`.
type ListOptions struct {
	IO     *iostreams.IOStreams
	Client func() (*client.Client, error)
	Export output.Exporter
}

// CSVHeader is the header row of `scope list -o csv`: the JSON fields.
var CSVHeader = []string{"name", "description", "builtin"}

// NewCmdList builds `scope list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the scopes the server defines",
		Long: `List the scopes the server defines, by name: the ones --scope accepts on
token create and exec, and filters by on token list and delete.

-o json prints a flat array of scope objects: name, description and builtin
(true for tokend's own: admin:read, admin:write, tokens:introspect,
tokens:read and tokens:write). --jq and --template work on that
array; --jq prints string results raw, one a line.`,
		Example: `  tokenctl scope list
  tokenctl scope list -o json
  tokenctl scope list --jq '.[] | select(.builtin | not) | .name'`,
		Args: cmdutil.MaxArgs(0, "tokenctl scope list [flags]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	output.AddFlags(cmd, &opts.Export, output.FormatTable, []string{output.FormatTable, output.FormatJSON, output.FormatYAML, output.FormatCSV}, true)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	if err := opts.Export.Validate(); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	scopes := func(yield func(api.Scope, error) bool) {
		list, err := c.Scopes(ctx)
		if err != nil {
			yield(api.Scope{}, err)
			return
		}
		for _, s := range list {
			if !yield(s, nil) {
				return
			}
		}
	}
	ios := opts.IO
	n, err := output.List(ios.Out, ios, &opts.Export, scopes, output.Listing[api.Scope]{
		Header: []string{"NAME", "KIND", "DESCRIPTION"},
		Row: func(s api.Scope) (output.Style, []string) {
			return output.StylePlain, []string{s.Name, kind(s), s.Description}
		},
		Fit: func(t *output.Table, width int) {
			t.Fit(width, "DESCRIPTION", 10, output.Drop("KIND"))
		},
		CSVHeader: CSVHeader,
		CSVRecord: func(s api.Scope) []string {
			return []string{s.Name, s.Description, strconv.FormatBool(s.Builtin)}
		},
		Wrap: func(err error) error { return fmt.Errorf("list scopes: %w", err) },
	})
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(ios.ErrOut, "This server defines no scopes.")
	}
	return nil
}

// kind says where a scope comes from, for people.
func kind(s api.Scope) string {
	if s.Builtin {
		return "built in"
	}
	return "application"
}
