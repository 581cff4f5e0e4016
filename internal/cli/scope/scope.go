// Package scope holds the `tokenctl scope` command group: what scopes the
// server lets a token carry (GET /v1/scopes), for --scope on token create,
// exec, list and delete.
package scope

import (
	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
)

// NewCmdScope returns the `scope` command group.
func NewCmdScope(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scope <command>",
		Short: "See the scopes a token may carry",
		Long: `See the scopes the server defines: the built-in tokens:read,
tokens:write and tokens:introspect, admin:read and admin:write (only an
admin's token carries them), and the application scopes its operator
added (tokend scope add). A token made with --scope carries only the
scopes named; one made without carries all of yours.`,
		Example: `  tokenctl scope list
  tokenctl token create deployer --scope deploy:write`,
	}
	cmd.AddCommand(NewCmdList(f, nil))
	return cmd
}
