package auth

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
)

// NewCmdToken returns `auth token`: print the credential in use, for
// scripts. It reads the credential only; it sends nothing.
func NewCmdToken(f *cmdutil.Factory, runF func(*cmdutil.Factory) error) *cobra.Command {
	return &cobra.Command{
		Use:   "token",
		Short: "Print the credential tokenctl uses, for scripts",
		Long: `Print the token tokenctl authenticates with for the selected host, followed by
a newline, and nothing else. Under GitHub Actions (GITHUB_ACTIONS=true) the
token is masked in the job log first.`,
		Example: `  $ curl -H "Authorization: Bearer $(tokenctl auth token)" https://tokens.example.com/v1/user`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(f)
			}
			return tokenRun(f)
		},
	}
}

func tokenRun(f *cmdutil.Factory) error {
	cred, err := f.Credential()
	if err != nil {
		return err
	}
	cmdutil.MaskSecret(f.IOStreams.ErrOut, f.Getenv, cred.Token)
	_, err = fmt.Fprintln(f.IOStreams.Out, cred.Token)
	return err
}
