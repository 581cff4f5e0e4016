// Package token holds the `tokenctl token` command group.
package token

import (
	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
)

// NewCmdToken returns the `token` command group.
func NewCmdToken(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token <command>",
		Short: "Create, list, show, rotate and delete personal access tokens",
	}
	return cmd
}
