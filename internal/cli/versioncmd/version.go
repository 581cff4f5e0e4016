// Package versioncmd holds `tokenctl version`.
package versioncmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
)

// NewCmdVersion returns `tokenctl version`. It prints f.Version and touches
// nothing else: no config, no keyring, no network.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tokenctl's version",
		Long:  "Print tokenctl's version, commit and build date. Reads no config and opens no connection.",
		Example: `  $ tokenctl version
  tokenctl v1.2.0 (1a2b3c4d5e6f, 2026-11-23T15:00:00Z)`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(f.IOStreams.Out, "tokenctl %s\n", f.Version)
			return err
		},
	}
}
