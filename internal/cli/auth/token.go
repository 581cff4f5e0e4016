package auth

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

// TokenOptions are the inputs of `auth token`.
type TokenOptions struct {
	IO         *iostreams.IOStreams
	Credential func() (*cmdutil.Credential, error)
	Getenv     func(string) string
}

// NewCmdToken returns `auth token`: print the credential in use, for
// scripts. It reads the credential only; it sends nothing.
func NewCmdToken(f *cmdutil.Factory, runF func(*TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{IO: f.IOStreams, Credential: f.Credential, Getenv: f.Getenv}
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
				return runF(opts)
			}
			return tokenRun(opts)
		},
	}
}

func tokenRun(o *TokenOptions) error {
	cred, err := o.Credential()
	if err != nil {
		return err
	}
	cmdutil.MaskSecret(o.IO.ErrOut, o.Getenv, cred.Token)
	_, err = fmt.Fprintln(o.IO.Out, cred.Token)
	return err
}
